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

// One epoch's block: one CV_32FC1 view per role, all the same size. `blue` and `nir` may be
// empty (absent role); `green` and `red` are required. `valid` is CV_8UC1 (nonzero = data) or
// empty (all valid).
struct EpochBlock {
    cv::Mat blue, green, red, nir;
    cv::Mat valid;
};

// Computes the score (CV_32FC1) and the raw mask (CV_8UC1: 1 = new construction, 0 = not) of a
// block. `score` is 0 where either epoch is invalid. Outputs are (re)allocated to the block size
// only when their size or type differ, so buffers are reused across blocks.
// Throws std::invalid_argument when views are missing, of another type, or differ in size.
void detect_construction(const EpochBlock& before, const EpochBlock& after,
                         const ConstructionParams& params, cv::Mat& score, cv::Mat& mask);

// Thresholds a score block into a mask with the same vegetation test as detect_construction
// (used when the threshold is chosen after the scores are known). `after_vegetation` is V_after
// (CV_32FC1) and `valid` CV_8UC1 or empty.
void threshold_score(const cv::Mat& score, const cv::Mat& after_vegetation, const cv::Mat& valid,
                     const ConstructionParams& params, cv::Mat& mask);

// The vegetation index of an epoch block (NDVI, or NGRDI without NIR), CV_32FC1; 0 where the
// denominator is 0.
void vegetation_index(const EpochBlock& epoch, cv::Mat& index);

}  // namespace weipian::kernels
