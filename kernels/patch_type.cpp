#include "kernels/patch_type.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace weipian::kernels {

namespace {

void check_band(const cv::Mat& band, const cv::Size& size, const char* name, bool required) {
    if (band.empty()) {
        if (required) throw std::invalid_argument(std::string("patch_statistics: band ") + name + " is missing");
        return;
    }
    if (band.size() != size || band.type() != CV_32FC1)
        throw std::invalid_argument(std::string("patch_statistics: band ") + name + " is not CV_32FC1 of the mask's size");
}

// Profile of `value` across lines of direction `direction_deg` (0: rows, 45, 90: columns, 135),
// over the pixels of `inside`: the mean per line, lines with fewer than 3 pixels dropped.
std::vector<double> profile_across(const cv::Mat& value, const cv::Mat& inside, int direction_deg) {
    const int rows = value.rows, cols = value.cols;
    const int bins = direction_deg == 0 ? rows : direction_deg == 90 ? cols : rows + cols - 1;
    std::vector<double> sum(static_cast<std::size_t>(bins), 0.0);
    std::vector<int> count(static_cast<std::size_t>(bins), 0);
    for (int y = 0; y < rows; ++y) {
        const float* v = value.ptr<float>(y);
        const std::uint8_t* m = inside.ptr<std::uint8_t>(y);
        for (int x = 0; x < cols; ++x) {
            if (!m[x]) continue;
            // Lines along the rows (0°) are indexed by y, along the columns (90°) by x; the
            // diagonals: 45° (up-right in the image, y decreasing as x grows) by x + y, 135° by
            // x − y.
            const int bin = direction_deg == 0 ? y : direction_deg == 90 ? x : direction_deg == 45 ? x + y : x - y + rows - 1;
            sum[static_cast<std::size_t>(bin)] += v[x];
            ++count[static_cast<std::size_t>(bin)];
        }
    }
    std::vector<double> profile;
    for (int i = 0; i < bins; ++i)
        if (count[static_cast<std::size_t>(i)] >= 3) profile.push_back(sum[static_cast<std::size_t>(i)] / count[static_cast<std::size_t>(i)]);
    return profile;
}

// Period (lag of the first autocorrelation peak after its first zero crossing, at most half the
// profile) and the autocorrelation there; {0, 0} when there is none.
std::pair<double, double> period_of(std::vector<double> profile) {
    const std::size_t n = profile.size();
    if (n < 8) return {0.0, 0.0};
    double mean = 0;
    for (const double v : profile) mean += v;
    mean /= static_cast<double>(n);
    double energy = 0;
    for (auto& v : profile) {
        v -= mean;
        energy += v * v;
    }
    if (energy <= 0) return {0.0, 0.0};
    const auto r = [&](std::size_t lag) {
        double s = 0;
        for (std::size_t i = 0; i + lag < n; ++i) s += profile[i] * profile[i + lag];
        // Normalised by the pairs used, so a lag near n/2 is not penalised for its fewer pairs.
        return s / energy * static_cast<double>(n) / static_cast<double>(n - lag);
    };
    std::size_t lag = 1;
    while (lag <= n / 2 && r(lag) > 0) ++lag;
    if (lag > n / 2) return {0.0, 0.0};
    std::vector<double> values(n / 2 + 2, -2.0);
    double best = -2;
    for (std::size_t k = lag; k <= n / 2; ++k) best = std::max(best, values[k] = r(k));
    if (best <= 0) return {0.0, 0.0};
    // The first local peak within 10 % of the highest: the fundamental, not a multiple of it.
    for (std::size_t k = lag; k <= n / 2; ++k)
        if (values[k] >= 0.9 * best && values[k] >= values[k - 1] && values[k] >= values[k + 1])
            return {static_cast<double>(k), std::min(values[k], 1.0)};
    return {0.0, 0.0};
}

}  // namespace

PatchStats patch_statistics(const PatchWindow& w) {
    if (w.mask.empty() || w.mask.type() != CV_8UC1) throw std::invalid_argument("patch_statistics: mask is not CV_8UC1");
    const cv::Size size = w.mask.size();
    check_band(w.green, size, "green", true);
    check_band(w.red, size, "red", true);
    check_band(w.blue, size, "blue", false);
    check_band(w.nir, size, "nir", false);
    if (!w.valid.empty() && (w.valid.size() != size || w.valid.type() != CV_8UC1))
        throw std::invalid_argument("patch_statistics: valid is not CV_8UC1 of the mask's size");

    PatchStats s;
    cv::Mat inside = w.mask != 0;
    if (!w.valid.empty()) inside &= (w.valid != 0);
    s.pixels = cv::countNonZero(inside);
    if (s.pixels == 0) return s;

    // Brightness, saturation, blue pixels, vegetation index.
    cv::Mat brightness(size, CV_32FC1);
    double sum_b = 0, sum_b2 = 0, sum_sat = 0, sum_vi = 0;
    long long bluish = 0;
    for (int y = 0; y < size.height; ++y) {
        const float* g = w.green.ptr<float>(y);
        const float* r = w.red.ptr<float>(y);
        const float* b = w.blue.empty() ? nullptr : w.blue.ptr<float>(y);
        const float* n = w.nir.empty() ? nullptr : w.nir.ptr<float>(y);
        const std::uint8_t* m = inside.ptr<std::uint8_t>(y);
        float* out = brightness.ptr<float>(y);
        for (int x = 0; x < size.width; ++x) {
            const float blue = b ? b[x] : g[x];
            out[x] = b ? (blue + g[x] + r[x]) / 3.0f : (g[x] + r[x]) / 2.0f;
            if (!m[x]) continue;
            sum_b += out[x];
            sum_b2 += static_cast<double>(out[x]) * out[x];
            const float hi = std::max({blue, g[x], r[x]}), lo = std::min({blue, g[x], r[x]});
            sum_sat += hi > 0 ? (hi - lo) / hi : 0.0;
            if (b && blue > g[x] && g[x] > r[x]) ++bluish;
            const float a = n ? n[x] : g[x];
            const float d = a + r[x];
            sum_vi += d != 0 ? (a - r[x]) / d : 0.0;
        }
    }
    const double count = static_cast<double>(s.pixels);
    s.brightness = sum_b / count;
    s.brightness_sd = std::sqrt(std::max(0.0, sum_b2 / count - s.brightness * s.brightness));
    s.saturation = sum_sat / count;
    s.blue_share = static_cast<double>(bluish) / count;
    s.vi = sum_vi / count;

    // Surroundings and the shadow ring.
    cv::Mat outside = w.mask == 0;
    if (!w.valid.empty()) outside &= (w.valid != 0);
    if (cv::countNonZero(outside) > 0) {
        s.surround_brightness = cv::mean(brightness, outside)[0];
        cv::Mat grown;
        cv::dilate(w.mask != 0, grown, cv::getStructuringElement(cv::MORPH_RECT, {2 * kShadowRingPx + 1, 2 * kShadowRingPx + 1}));
        const cv::Mat ring = grown & outside;
        const int ring_pixels = cv::countNonZero(ring);
        if (ring_pixels > 0 && s.surround_brightness > 0) {
            const cv::Mat dark = (brightness < kShadowRelative * s.surround_brightness) & ring;
            s.shadow_share = static_cast<double>(cv::countNonZero(dark)) / ring_pixels;
        }
    }

    // Texture on the interior (pixels whose 3×3 neighbourhood is inside), so that the outline
    // itself is not counted; the whole parcel when it has no interior.
    cv::Mat interior;
    cv::erode(inside, interior, cv::getStructuringElement(cv::MORPH_RECT, {3, 3}), {-1, -1}, 1, cv::BORDER_CONSTANT, 0);
    if (cv::countNonZero(interior) == 0) interior = inside;
    cv::Mat gx, gy;
    cv::Sobel(brightness, gx, CV_32F, 1, 0, 3, 1.0 / 8.0, 0, cv::BORDER_REPLICATE);
    cv::Sobel(brightness, gy, CV_32F, 0, 1, 3, 1.0 / 8.0, 0, cv::BORDER_REPLICATE);
    const double edge_level = kEdgeRelative * s.brightness;
    double energy[4] = {0, 0, 0, 0};  // gradient direction 0°, 45°, 90°, 135°
    long long edges = 0, interior_pixels = 0;
    const double h = std::sqrt(0.5);
    for (int y = 0; y < size.height; ++y) {
        const float* ax = gx.ptr<float>(y);
        const float* ay = gy.ptr<float>(y);
        const std::uint8_t* m = interior.ptr<std::uint8_t>(y);
        for (int x = 0; x < size.width; ++x) {
            if (!m[x]) continue;
            ++interior_pixels;
            const double dx = ax[x], dy = ay[x];
            if (std::hypot(dx, dy) > edge_level) ++edges;
            // Image y grows downwards: the 45° gradient points up-right, (dx − dy) / √2.
            energy[0] += dx * dx;
            energy[2] += dy * dy;
            energy[1] += (dx - dy) * (dx - dy) * h * h;
            energy[3] += (dx + dy) * (dx + dy) * h * h;
        }
    }
    s.edge_density = interior_pixels ? static_cast<double>(edges) / static_cast<double>(interior_pixels) : 0.0;
    const int strongest = static_cast<int>(std::max_element(energy, energy + 4) - energy);
    const double e_max = *std::max_element(energy, energy + 4), e_min = *std::min_element(energy, energy + 4);
    s.anisotropy = e_max + e_min > 0 ? (e_max - e_min) / (e_max + e_min) : 0.0;
    // The stripes run across the strongest gradient.
    s.stripe_direction_deg = (strongest * 45 + 90) % 180;
    const auto [period, regularity] = period_of(profile_across(brightness, interior, s.stripe_direction_deg));
    s.stripe_period_px = period;
    s.stripe_regularity = regularity;

    // Shape: width from the distance to the outline (a zero border so that the window edge is an
    // outline too), elongation, compactness.
    cv::Mat padded;
    cv::copyMakeBorder(inside, padded, 1, 1, 1, 1, cv::BORDER_CONSTANT, 0);
    cv::Mat distance;
    cv::distanceTransform(padded, distance, cv::DIST_L2, cv::DIST_MASK_PRECISE);
    std::vector<float> depths;
    depths.reserve(static_cast<std::size_t>(s.pixels));
    for (int y = 0; y < distance.rows; ++y) {
        const float* d = distance.ptr<float>(y);
        const std::uint8_t* m = padded.ptr<std::uint8_t>(y);
        for (int x = 0; x < distance.cols; ++x)
            if (m[x]) depths.push_back(d[x]);
    }
    const auto p95 = depths.begin() + static_cast<std::ptrdiff_t>(0.95 * static_cast<double>(depths.size() - 1));
    std::nth_element(depths.begin(), p95, depths.end());
    // Pixel centres of a strip W px wide lie 1..⌈W/2⌉ from the outside: 2·max − 0.5 is W ± 0.5.
    s.width_px = std::max(1.0, 2.0 * static_cast<double>(*p95) - 0.5);
    s.elongation = count / (s.width_px * s.width_px);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(padded, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
    double perimeter = 0;
    for (const auto& c : contours) perimeter += cv::arcLength(c, true) + 4.0;  // centre line → pixel edges
    s.compactness = perimeter > 0 ? std::min(1.0, 4.0 * M_PI * count / (perimeter * perimeter)) : 0.0;
    return s;
}

}  // namespace weipian::kernels
