#include "kernels/detect.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include <opencv2/core/check.hpp>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "kernels/detect_rows_impl.hpp"

namespace weipian::kernels {
namespace {

namespace rows = detect_rows;

bool supported_type(int type) {
    return type == CV_8UC1 || type == CV_16UC1 || type == CV_16SC1 || type == CV_32FC1;
}

std::string band_name(const char* epoch, const char* what) {
    return std::string("band '") + what + "' of the " + epoch + " epoch";
}

// Checks one role view against the after epoch's red band (size and pixel type). Messages are
// built only when throwing: a valid call allocates nothing.
void check_view(const cv::Mat& view, const cv::Mat& reference, const char* epoch, const char* what, bool required) {
    if (view.empty()) {
        if (required) throw std::invalid_argument("detect: " + band_name(epoch, what) + " is required");
        return;
    }
    if (!supported_type(view.type()))
        throw std::invalid_argument("detect: " + band_name(epoch, what) + " is " + cv::typeToString(view.type()) +
                                    "; use CV_8UC1, CV_16UC1, CV_16SC1 or CV_32FC1");
    if (view.type() != reference.type())
        throw std::invalid_argument("detect: " + band_name(epoch, what) + " is " + cv::typeToString(view.type()) +
                                    " but 'red' of the after epoch is " + cv::typeToString(reference.type()) +
                                    "; all role bands of both epochs must share one type");
    if (view.size() != reference.size())
        throw std::invalid_argument("detect: " + band_name(epoch, what) + " differs in size from 'red' of the after epoch");
}

void check_epoch(const EpochBlock& e, const cv::Mat& reference, const char* epoch) {
    check_view(e.red, reference, epoch, "red", true);
    check_view(e.green, reference, epoch, "green", true);
    check_view(e.blue, reference, epoch, "blue", false);
    check_view(e.nir, reference, epoch, "nir", false);
    if (!e.valid.empty() && (e.valid.type() != CV_8UC1 || e.valid.size() != reference.size()))
        throw std::invalid_argument(std::string("detect: valid mask of the ") + epoch +
                                    " epoch must be CV_8UC1 of the block's size");
}

rows::Depth depth_of(int type) {
    switch (type) {
        case CV_8UC1: return rows::Depth::U8;
        case CV_16UC1: return rows::Depth::U16;
        case CV_16SC1: return rows::Depth::S16;
        default: return rows::Depth::F32;
    }
}

rows::Plane plane_of(const cv::Mat& m) {
    if (m.empty()) return {};
    return {m.data, m.step[0]};
}

#if WEIPIAN_DETECT_X86_SIMD
bool cpu_has_avx2() {
    __builtin_cpu_init();  // idempotent; needed if the first detection runs during static initialisation
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

KernelPath best_path(const CpuFeatures& cpu) {
    if (kernel_path_available(KernelPath::Avx2, cpu)) return KernelPath::Avx2;
    if (kernel_path_available(KernelPath::Sse2, cpu)) return KernelPath::Sse2;
    return KernelPath::Scalar;
}

std::string available_paths(const CpuFeatures& cpu) {
    std::string names;
    for (KernelPath p : {KernelPath::Scalar, KernelPath::Sse2, KernelPath::Avx2})
        if (kernel_path_available(p, cpu)) names += std::string(names.empty() ? "" : ", ") + kernel_path_name(p);
    return names;
}

// The one process-wide state: WEIPIAN_SIMD is read on first use and never again (an invalid
// value throws, and throws again on the next use: the static is only set on success).
KernelPath auto_path() {
    static const KernelPath path = resolve_kernel_path(std::getenv("WEIPIAN_SIMD"));
    return path;
}

rows::RowsFn rows_for(KernelPath path, rows::Depth depth, bool nir, bool blue) {
    switch (path) {
#if WEIPIAN_DETECT_X86_SIMD
        case KernelPath::Avx2: return rows::avx2_rows(depth, nir, blue);
        case KernelPath::Sse2: return rows::sse2_rows(depth, nir, blue);
#endif
        default: return rows::scalar_rows(depth, nir, blue);
    }
}

// Scheduling. Rows are independent; a task takes at least kGrainPixels pixels (whole rows) and a
// block below two grains runs on the calling thread, so a caller that already runs blocks in
// parallel pays no task overhead for small blocks. 64 Ki px is ~35 µs of AVX2 work (~0.7 ms
// scalar) per task, well above TBB's few-µs spawn/steal cost; auto_partitioner splits further
// only when a thread steals. Measured (bench/detect_bench.cpp, 2-core EPYC VM shared with other
// builds, load average ~7, uint16 AVX2, best of 10, Mpx/s wall): grain 8 Ki / 32 Ki / 128 Ki /
// serial: 256×256 924 / 937 / 932 / 930; 4096×256 669 / 723 / 744 / 800. Within noise: with the
// second core busy, TBB had nothing to gain; re-measure scaling on an idle machine.
constexpr std::int64_t kGrainPixels = 64 * 1024;

template <class T>
void vegetation_rows(const EpochBlock& e, cv::Mat& index) {
    for (int y = 0; y < index.rows; ++y) {
        const T* red = e.red.ptr<T>(y);
        const T* other = e.nir.empty() ? e.green.ptr<T>(y) : e.nir.ptr<T>(y);
        float* out = index.ptr<float>(y);
        for (int x = 0; x < index.cols; ++x)
            out[x] = rows::normalized_difference(static_cast<float>(other[x]), static_cast<float>(red[x]));
    }
}

}  // namespace

namespace detect_rows {
RowsFn scalar_rows(Depth depth, bool nir, bool blue) { return pick<ScalarRows>(depth, nir, blue); }
}  // namespace detect_rows

const char* kernel_path_name(KernelPath path) {
    switch (path) {
        case KernelPath::Auto: return "auto";
        case KernelPath::Scalar: return "scalar";
        case KernelPath::Sse2: return "sse2";
        case KernelPath::Avx2: return "avx2";
    }
    return "unknown";
}

CpuFeatures host_cpu_features() {
    static const CpuFeatures features = [] {
        CpuFeatures f;
#if WEIPIAN_DETECT_X86_SIMD
        f.sse2 = true;
        f.avx2 = cpu_has_avx2();
#endif
        return f;
    }();
    return features;
}

bool kernel_path_available(KernelPath path, const CpuFeatures& cpu) {
    switch (path) {
        case KernelPath::Auto:
        case KernelPath::Scalar: return true;
        case KernelPath::Sse2: return cpu.sse2;
        case KernelPath::Avx2: return cpu.avx2;
    }
    return false;
}

bool kernel_path_available(KernelPath path) { return kernel_path_available(path, host_cpu_features()); }

void require_kernel_path(KernelPath path, const CpuFeatures& cpu) {
    if (!kernel_path_available(path, cpu))
        throw std::invalid_argument(std::string("detect: kernel path '") + kernel_path_name(path) +
                                    "' is not available on this build or CPU (available: " + available_paths(cpu) +
                                    "); choose one of those");
}

KernelPath resolve_kernel_path(const char* request, const CpuFeatures& cpu) {
    if (request == nullptr || *request == '\0' || std::strcmp(request, "auto") == 0) return best_path(cpu);
    for (KernelPath p : {KernelPath::Scalar, KernelPath::Sse2, KernelPath::Avx2}) {
        if (std::strcmp(request, kernel_path_name(p)) != 0) continue;
        if (!kernel_path_available(p, cpu))
            throw std::invalid_argument(std::string("WEIPIAN_SIMD: '") + request +
                                        "' is not available on this build or CPU (available: " + available_paths(cpu) +
                                        "); unset WEIPIAN_SIMD or set it to one of those");
        return p;
    }
    throw std::invalid_argument(std::string("WEIPIAN_SIMD: '") + request +
                                "' is not one of auto, scalar, sse2, avx2; unset WEIPIAN_SIMD or set it to one of those");
}

KernelPath resolve_kernel_path(const char* request) { return resolve_kernel_path(request, host_cpu_features()); }

const char* detect_kernel_path() { return kernel_path_name(auto_path()); }

void detect_construction(const EpochBlock& before, const EpochBlock& after, const ConstructionParams& params,
                         cv::Mat& score, cv::Mat& mask, KernelPath path) {
    const cv::Mat& reference = after.red;
    check_epoch(after, reference, "after");
    check_epoch(before, reference, "before");
    if (before.nir.empty() != after.nir.empty() || before.blue.empty() != after.blue.empty())
        throw std::invalid_argument("detect: both epochs must have the same band roles");
    if (path == KernelPath::Auto) path = auto_path();
    require_kernel_path(path, host_cpu_features());
    const cv::Size size = reference.size();
    score.create(size, CV_32FC1);  // no-ops for buffers (or views) of the right size and type
    mask.create(size, CV_8UC1);

    rows::Block block;
    const cv::Mat* const before_roles[4] = {&before.blue, &before.green, &before.red, &before.nir};
    const cv::Mat* const after_roles[4] = {&after.blue, &after.green, &after.red, &after.nir};
    for (int r = 0; r < 4; ++r) {
        block.before[r] = plane_of(*before_roles[r]);
        block.after[r] = plane_of(*after_roles[r]);
    }
    block.valid_before = plane_of(before.valid);
    block.valid_after = plane_of(after.valid);
    block.score = score.data;
    block.score_step = score.step[0];
    block.mask = mask.data;
    block.mask_step = mask.step[0];
    block.width = size.width;
    block.threshold = params.threshold;
    block.brightness_weight = params.brightness_weight;
    block.after_vegetation_max = params.after_vegetation_max;
    const rows::RowsFn run = rows_for(path, depth_of(reference.type()), !after.nir.empty(), !after.blue.empty());

    const std::int64_t pixels = static_cast<std::int64_t>(size.width) * size.height;
    if (pixels < 2 * kGrainPixels) {
        run(block, 0, size.height);
        return;
    }
    const int grain_rows = static_cast<int>(std::max<std::int64_t>(1, kGrainPixels / std::max(1, size.width)));
    tbb::parallel_for(tbb::blocked_range<int>(0, size.height, grain_rows),
                      [&](const tbb::blocked_range<int>& r) { run(block, r.begin(), r.end()); });
}

void vegetation_index(const EpochBlock& epoch, cv::Mat& index) {
    check_epoch(epoch, epoch.red, "given");
    index.create(epoch.red.size(), CV_32FC1);
    switch (epoch.red.type()) {
        case CV_8UC1: vegetation_rows<std::uint8_t>(epoch, index); break;
        case CV_16UC1: vegetation_rows<std::uint16_t>(epoch, index); break;
        case CV_16SC1: vegetation_rows<std::int16_t>(epoch, index); break;
        default: vegetation_rows<float>(epoch, index); break;
    }
}

}  // namespace weipian::kernels
