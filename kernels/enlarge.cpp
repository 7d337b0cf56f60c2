#include "kernels/enlarge.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace weipian::kernels {

namespace {

// The two source indices around coordinate u (clamped) and the weight of the second.
void taps(double u, int n, int& a, int& b, float& w) {
    u = std::clamp(u, 0.0, static_cast<double>(n - 1));
    a = std::min(static_cast<int>(u), n - 1);
    b = std::min(a + 1, n - 1);
    w = static_cast<float>(u - a);
}

}  // namespace

void enlarge_bilinear(const cv::Mat& src, double x0, double dx, double y0, double dy, cv::Mat& dst) {
    CV_Assert(src.type() == CV_8UC3 && !src.empty() && dst.type() == CV_8UC3);
    const int sw = src.cols, sh = src.rows, dw = dst.cols, dh = dst.rows;
    if (dw == 0 || dh == 0) return;
    thread_local std::vector<int> left, right;
    thread_local std::vector<float> wx, columns;
    left.resize(static_cast<std::size_t>(dw));
    right.resize(static_cast<std::size_t>(dw));
    wx.resize(static_cast<std::size_t>(dw));
    for (int i = 0; i < dw; ++i) taps(x0 + i * dx, sw, left[i], right[i], wx[i]);
    // Pass 1: every source row at the destination's columns (float, 3 channels).
    const std::size_t stride = static_cast<std::size_t>(dw) * 3;
    columns.resize(stride * static_cast<std::size_t>(sh));
    for (int r = 0; r < sh; ++r) {
        const auto* in = src.ptr<cv::Vec3b>(r);
        float* out = columns.data() + stride * static_cast<std::size_t>(r);
        for (int i = 0; i < dw; ++i)
            for (int c = 0; c < 3; ++c) {
                const float a = in[left[i]][c], b = in[right[i]][c];
                out[3 * i + c] = a + (b - a) * wx[i];
            }
    }
    // Pass 2: every destination row from two of them.
    for (int j = 0; j < dh; ++j) {
        int a = 0, b = 0;
        float w = 0;
        taps(y0 + j * dy, sh, a, b, w);
        const float* ra = columns.data() + stride * static_cast<std::size_t>(a);
        const float* rb = columns.data() + stride * static_cast<std::size_t>(b);
        std::uint8_t* out = dst.ptr<std::uint8_t>(j);
        // In [0, 255] by construction: + 0.5 and truncation round to nearest.
        for (std::size_t k = 0; k < stride; ++k) out[k] = static_cast<std::uint8_t>(ra[k] + (rb[k] - ra[k]) * w + 0.5f);
    }
}

}  // namespace weipian::kernels
