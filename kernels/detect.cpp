#include "kernels/detect.hpp"

#include <stdexcept>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace weipian::kernels {
namespace {

void check_view(const cv::Mat& view, const cv::Size& size, const char* what, bool required) {
    if (view.empty()) {
        if (required) throw std::invalid_argument(std::string("detect: band '") + what + "' is required");
        return;
    }
    if (view.type() != CV_32FC1)
        throw std::invalid_argument(std::string("detect: band '") + what + "' must be CV_32FC1");
    if (view.size() != size)
        throw std::invalid_argument(std::string("detect: band '") + what + "' differs in size from 'red'");
}

void check_epoch(const EpochBlock& e, const cv::Size& size) {
    check_view(e.red, size, "red", true);
    check_view(e.green, size, "green", true);
    check_view(e.blue, size, "blue", false);
    check_view(e.nir, size, "nir", false);
    if (!e.valid.empty() && (e.valid.type() != CV_8UC1 || e.valid.size() != size))
        throw std::invalid_argument("detect: valid mask must be CV_8UC1 of the block's size");
}

// Normalised difference (a − b)/(a + b), 0 when a + b == 0.
inline float normalized_difference(float a, float b) {
    const float s = a + b;
    return s != 0.0f ? (a - b) / s : 0.0f;
}

struct RowPointers {
    const float *blue, *green, *red, *nir;
    const std::uint8_t* valid;
};

inline RowPointers row_of(const EpochBlock& e, int y) {
    return {e.blue.empty() ? nullptr : e.blue.ptr<float>(y), e.green.ptr<float>(y), e.red.ptr<float>(y),
            e.nir.empty() ? nullptr : e.nir.ptr<float>(y), e.valid.empty() ? nullptr : e.valid.ptr<std::uint8_t>(y)};
}

inline float vegetation_at(const RowPointers& r, int x) {
    return r.nir ? normalized_difference(r.nir[x], r.red[x]) : normalized_difference(r.green[x], r.red[x]);
}

inline float brightness_at(const RowPointers& r, int x) {
    return r.blue ? (r.blue[x] + r.green[x] + r.red[x]) * (1.0f / 3.0f) : (r.green[x] + r.red[x]) * 0.5f;
}

}  // namespace

void detect_construction(const EpochBlock& before, const EpochBlock& after,
                         const ConstructionParams& params, cv::Mat& score, cv::Mat& mask) {
    const cv::Size size = after.red.size();
    check_epoch(after, size);
    check_epoch(before, size);
    if (before.nir.empty() != after.nir.empty() || before.blue.empty() != after.blue.empty())
        throw std::invalid_argument("detect: both epochs must have the same band roles");
    score.create(size, CV_32FC1);
    mask.create(size, CV_8UC1);

    // Rows are independent; TBB splits them across cores (a strip of 256 rows × 8192 columns is
    // ~2 M pixels, far above the grain where scheduling overhead shows).
    tbb::parallel_for(tbb::blocked_range<int>(0, size.height), [&](const tbb::blocked_range<int>& rows) {
        for (int y = rows.begin(); y < rows.end(); ++y) {
            const RowPointers b = row_of(before, y);
            const RowPointers a = row_of(after, y);
            float* s = score.ptr<float>(y);
            std::uint8_t* m = mask.ptr<std::uint8_t>(y);
            for (int x = 0; x < size.width; ++x) {
                const bool ok = (!b.valid || b.valid[x]) && (!a.valid || a.valid[x]);
                const float va = vegetation_at(a, x);
                const float value = (vegetation_at(b, x) - va) +
                                    params.brightness_weight * normalized_difference(brightness_at(a, x), brightness_at(b, x));
                s[x] = ok ? value : 0.0f;
                m[x] = (ok && value > params.threshold && va < params.after_vegetation_max) ? 1 : 0;
            }
        }
    });
}

void vegetation_index(const EpochBlock& epoch, cv::Mat& index) {
    const cv::Size size = epoch.red.size();
    check_epoch(epoch, size);
    index.create(size, CV_32FC1);
    for (int y = 0; y < size.height; ++y) {
        const RowPointers r = row_of(epoch, y);
        float* out = index.ptr<float>(y);
        for (int x = 0; x < size.width; ++x) out[x] = vegetation_at(r, x);
    }
}

void threshold_score(const cv::Mat& score, const cv::Mat& after_vegetation, const cv::Mat& valid,
                     const ConstructionParams& params, cv::Mat& mask) {
    if (score.type() != CV_32FC1 || after_vegetation.type() != CV_32FC1 || score.size() != after_vegetation.size())
        throw std::invalid_argument("threshold_score: score and vegetation must be CV_32FC1 of one size");
    if (!valid.empty() && (valid.type() != CV_8UC1 || valid.size() != score.size()))
        throw std::invalid_argument("threshold_score: valid mask must be CV_8UC1 of the score's size");
    mask.create(score.size(), CV_8UC1);
    for (int y = 0; y < score.rows; ++y) {
        const float* s = score.ptr<float>(y);
        const float* v = after_vegetation.ptr<float>(y);
        const std::uint8_t* ok = valid.empty() ? nullptr : valid.ptr<std::uint8_t>(y);
        std::uint8_t* m = mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < score.cols; ++x)
            m[x] = ((!ok || ok[x]) && s[x] > params.threshold && v[x] < params.after_vegetation_max) ? 1 : 0;
    }
}

}  // namespace weipian::kernels
