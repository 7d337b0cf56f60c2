#pragma once
// Construction-change detection from two co-registered epochs, one block at a time.
//
// Method ("construction", after the bi-temporal index-differencing family reviewed by
// Lu, Mausel, Brondízio & Moran, "Change detection techniques", Int. J. Remote Sensing 25(12),
// 2004, §3.1 image differencing / vegetation-index differencing):
//   V  = NDVI = (NIR − R)/(NIR + R)                 (Rouse et al. 1974), or, without a NIR band,
//        NGRDI = (G − R)/(G + R)                    (Tucker 1979);
//   Br = mean of the visible bands (B, G, R; G, R when there is no blue);
//   score = (V_before − V_after) + w · (Br_after − Br_before)/(Br_after + Br_before)
// A normalised difference (a − b)/(a + b) is 0 where a + b == 0. The mean's 1/3 (or 1/2) cancels
// in the brightness ratio, so the kernel takes it over the band sums.
// New construction takes vegetation or bare land to roofs, hardened ground or earthworks: the
// vegetation index falls and the surface brightens. A pixel is flagged when
//   score > threshold  and  V_after < after_vegetation_max  (the after state is not vegetated)
// and both epochs hold valid data there. Both terms are ratios, so the score is independent of
// the sensor's gain (uint8 stretch, uint16 DN or float reflectance give the same score).
// Seasonal change that keeps vegetation (green-up, ripening) fails the second test; a harvest
// to bare soil is spectrally an earthwork and is left to the field check.
#include <cstdint>

#include <opencv2/core.hpp>

namespace weipian::kernels {

// Detector parameters. All dimensionless.
struct ConstructionParams {
    float threshold = 0.15f;            // score above which a pixel is new construction
    float brightness_weight = 1.0f;     // w above
    float after_vegetation_max = 0.3f;  // V_after at or above this is still vegetation
};

// One epoch's block: one single-channel view per role, all the same size and all of one pixel
// type, CV_8UC1, CV_16UC1, CV_16SC1 or CV_32FC1 (uint8 stretch, uint16 DN, int16 DN or float
// reflectance); the role bands of the two epochs passed to detect_construction share that type.
// Views may be ROIs (any row step). `blue` and `nir` may be empty (absent role; then absent in
// both epochs); `green` and `red` are required. `valid` is CV_8UC1 (nonzero = data) or empty
// (all valid).
struct EpochBlock {
    cv::Mat blue, green, red, nir;
    cv::Mat valid;
};

// Instruction set of the detection kernel. Every path computes the same IEEE single-precision
// operations in the same order (true division, no FMA), so all paths give bit-identical scores
// and identical masks. Auto is the process-wide choice reported by detect_kernel_path().
enum class KernelPath { Auto, Scalar, Sse2, Avx2 };

// "auto", "scalar", "sse2" or "avx2".
const char* kernel_path_name(KernelPath path);

// What the dispatch decision depends on: which vector units this build and CPU offer.
struct CpuFeatures {
    bool sse2 = false;  // the SSE2 unit is built (x86-64 with GCC/Clang); every x86-64 CPU has SSE2
    bool avx2 = false;  // the AVX2 unit is built and the CPU reports both AVX2 and FMA
};

// The features of this build on this CPU (read once from CPUID).
CpuFeatures host_cpu_features();

// Whether `path` can run given `cpu`: Auto and Scalar always, Sse2 and Avx2 when `cpu` has them.
bool kernel_path_available(KernelPath path, const CpuFeatures& cpu);
// The same for this build and CPU.
bool kernel_path_available(KernelPath path);

// Throws std::invalid_argument ("detect: kernel path 'avx2' is not available on this build or
// CPU (available: scalar, sse2); ...") unless kernel_path_available(path, cpu).
void require_kernel_path(KernelPath path, const CpuFeatures& cpu);

// The path a WEIPIAN_SIMD value selects given `cpu`, never Auto: the best available path
// (Avx2, then Sse2, then Scalar) for nullptr, "" or "auto"; Scalar, Sse2 or Avx2 for "scalar",
// "sse2" or "avx2". Throws std::invalid_argument naming WEIPIAN_SIMD and the value when the
// value is none of these (exact, lower case), or names a path `cpu` cannot run.
KernelPath resolve_kernel_path(const char* request, const CpuFeatures& cpu);
// The same for this build and CPU.
KernelPath resolve_kernel_path(const char* request);

// Name of the path KernelPath::Auto runs: resolve_kernel_path(getenv("WEIPIAN_SIMD")), decided
// on first use (the only process-wide state of the kernels). Throws what resolve_kernel_path
// throws, on every call, for an invalid WEIPIAN_SIMD; call it at start-up to report that early.
const char* detect_kernel_path();

// Computes the score (CV_32FC1) and the raw mask (CV_8UC1: 1 = new construction, 0 = not) of a
// block in one pass over the native pixels (no temporaries). `score` is 0 where either epoch is
// invalid. Outputs are (re)allocated to the block size only when their size or type differ, so
// buffers (and row-range views of larger buffers) are written in place and nothing is allocated.
// `path` picks the instruction set (tests and benchmarks); Auto uses detect_kernel_path().
// Throws std::invalid_argument when views are missing, of an unsupported or differing type,
// differ in size, when the epochs have different band roles, when `path` is not available
// (require_kernel_path), or for Auto when WEIPIAN_SIMD is invalid (resolve_kernel_path).
void detect_construction(const EpochBlock& before, const EpochBlock& after,
                         const ConstructionParams& params, cv::Mat& score, cv::Mat& mask,
                         KernelPath path = KernelPath::Auto);

// The vegetation index of an epoch block (NDVI, or NGRDI without NIR) as CV_32FC1, from bands of
// any type EpochBlock allows; 0 where the denominator is 0. Same values as detect_construction's V.
void vegetation_index(const EpochBlock& epoch, cv::Mat& index);

}  // namespace weipian::kernels
