#include "kernels/threshold.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <stdexcept>

namespace weipian::kernels {

void ScoreHistogram::add(const float* values, const std::uint8_t* valid, std::size_t n) {
    const int bins = static_cast<int>(counts.size());
    const float scale = static_cast<float>(bins) / (hi - lo);
    for (std::size_t i = 0; i < n; ++i) {
        if (valid && !valid[i]) continue;
        const int bin = static_cast<int>((values[i] - lo) * scale);
        ++counts[static_cast<std::size_t>(std::clamp(bin, 0, bins - 1))];
    }
}

void ScoreHistogram::merge(const ScoreHistogram& other) {
    if (other.counts.size() != counts.size() || other.lo != lo || other.hi != hi)
        throw std::invalid_argument("ScoreHistogram::merge: histograms differ in range or bins");
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
}

std::int64_t ScoreHistogram::total() const {
    std::int64_t n = 0;
    for (auto c : counts) n += c;
    return n;
}

float otsu_threshold(const ScoreHistogram& histogram) {
    const auto& h = histogram.counts;
    const double total = static_cast<double>(histogram.total());
    if (total <= 0) throw std::invalid_argument("otsu_threshold: the histogram is empty");
    double sum_all = 0;
    for (std::size_t i = 0; i < h.size(); ++i) sum_all += static_cast<double>(i) * static_cast<double>(h[i]);
    double w0 = 0, sum0 = 0, best = -1;
    std::size_t best_bin = 0;
    for (std::size_t i = 0; i + 1 < h.size(); ++i) {
        w0 += static_cast<double>(h[i]);
        sum0 += static_cast<double>(i) * static_cast<double>(h[i]);
        const double w1 = total - w0;
        if (w0 <= 0 || w1 <= 0) continue;
        const double m0 = sum0 / w0, m1 = (sum_all - sum0) / w1;
        const double between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if (between > best) {
            best = between;
            best_bin = i;
        }
    }
    const float width = (histogram.hi - histogram.lo) / static_cast<float>(h.size());
    return histogram.lo + width * static_cast<float>(best_bin + 1);
}

namespace {

// Weighted median of `values` (ascending) with `weights`.
double weighted_median(const std::vector<std::pair<double, std::int64_t>>& sorted, std::int64_t total) {
    std::int64_t seen = 0;
    for (const auto& [value, weight] : sorted) {
        seen += weight;
        if (2 * seen >= total) return value;
    }
    return sorted.empty() ? 0.0 : sorted.back().first;
}

}  // namespace

float robust_threshold(const ScoreHistogram& histogram, float k) {
    const std::int64_t total = histogram.total();
    if (total <= 0) throw std::invalid_argument("robust_threshold: the histogram is empty");
    const double width = (histogram.hi - histogram.lo) / static_cast<double>(histogram.counts.size());
    std::vector<std::pair<double, std::int64_t>> bins;
    for (std::size_t i = 0; i < histogram.counts.size(); ++i)
        if (histogram.counts[i]) bins.emplace_back(histogram.lo + (static_cast<double>(i) + 0.5) * width, histogram.counts[i]);
    const double median = weighted_median(bins, total);
    std::vector<std::pair<double, std::int64_t>> deviations;
    for (const auto& [value, weight] : bins) deviations.emplace_back(std::abs(value - median), weight);
    std::sort(deviations.begin(), deviations.end());
    const double mad = weighted_median(deviations, total);
    return static_cast<float>(median + k * 1.4826 * mad);
}

}  // namespace weipian::kernels
