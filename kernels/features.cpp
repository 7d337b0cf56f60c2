#include "kernels/features.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <opencv2/imgproc.hpp>

namespace weipian::kernels {
namespace {

// Largest window radius: the 21×21 box means (std15: 7, cv11: 5, lbp7: 1 + 3, grad2: 2 + 1).
constexpr int kHalo = 10;
constexpr int kBorder = cv::BORDER_REFLECT_101;

// The per-epoch planes after the band values, in order; each also has a diff.<name>.
constexpr const char* kEpochPlanes[] = {"brightness", "vi",    "sat",         "hue",          "grad1",
                                        "grad2",      "std3",  "std7",        "std15",        "bright_box5",
                                        "bright_box11", "bright_box21", "vi_box5", "vi_box11", "vi_box21",
                                        "lbp7"};
constexpr int kEpochPlaneCount = static_cast<int>(sizeof(kEpochPlanes) / sizeof(kEpochPlanes[0]));
enum EpochPlane { kBrightness, kVi, kSat, kHue, kGrad1, kGrad2, kStd3, kStd7, kStd15, kBrightBox5, kBrightBox11,
                  kBrightBox21, kViBox5, kViBox11, kViBox21, kLbp7 };

std::vector<const char*> band_names(const FeatureSpec& spec) {
    std::vector<const char*> names;
    if (spec.blue) names.push_back("blue");
    names.push_back("green");
    names.push_back("red");
    if (spec.nir) names.push_back("nir");
    return names;
}

// Scratch buffers of compute_features, by index into FeatureWorkspace::scratch.
enum Scratch { kBright, kVeg, kBox5, kLbp, kGx, kGy, kBandBefore, kSmooth = kBandBefore + 8,
               kDiff, kMask = kDiff + 4, kScratchCount };

// (a − b)/(a + b), 0 when a + b == 0; the division never sees 0, so the loops vectorise.
float normalized_difference(float a, float b) {
    const float s = a + b;
    const float q = (a - b) / (s != 0.0f ? s : 1.0f);
    return s != 0.0f ? q : 0.0f;
}

// Reflect-101 index of i in [0, n), folding as often as needed (cv::borderInterpolate's rule),
// so windows wider than the block stay inside it.
int reflect101(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
}

void check_role(const cv::Mat& band, const cv::Size& size, const char* epoch, const char* role) {
    if (band.type() != CV_32FC1 || band.size() != size)
        throw std::invalid_argument(std::string("compute_features: the ") + epoch + " epoch's " + role +
                                    " plane must be CV_32FC1 of the red plane's size");
}

void check_feature_epoch(const FeatureEpoch& e, const FeatureSpec& spec, const cv::Size& size, const char* epoch) {
    if (e.red.empty() || e.green.empty())
        throw std::invalid_argument(std::string("compute_features: the ") + epoch + " epoch has no green or red plane");
    if (e.blue.empty() == spec.blue || e.nir.empty() == spec.nir)
        throw std::invalid_argument(std::string("compute_features: the ") + epoch +
                                    " epoch's band roles (blue, nir) differ from the feature spec's");
    check_role(e.red, size, epoch, "red");
    check_role(e.green, size, epoch, "green");
    if (spec.blue) check_role(e.blue, size, epoch, "blue");
    if (spec.nir) check_role(e.nir, size, epoch, "nir");
    if (!e.valid.empty() && (e.valid.type() != CV_8UC1 || e.valid.size() != size))
        throw std::invalid_argument(std::string("compute_features: the ") + epoch +
                                    " epoch's validity must be CV_8UC1 of the bands' size or empty");
}

// Band planes of an epoch in feature_names order.
std::vector<const cv::Mat*> bands_of(const FeatureEpoch& e, const FeatureSpec& spec) {
    std::vector<const cv::Mat*> bands;
    if (spec.blue) bands.push_back(&e.blue);
    bands.push_back(&e.green);
    bands.push_back(&e.red);
    if (spec.nir) bands.push_back(&e.nir);
    return bands;
}

// Band values (0 where invalid) of rows [lo, hi) into `masked` (one plane per band), brightness
// and vegetation index of those rows into `bright`/`veg`, and for the output rows [top, top +
// rows) the raw band, saturation and hue planes starting at `out`.
void epoch_pixels(const FeatureEpoch& e, const FeatureSpec& spec, int lo, int hi, int top, int rows,
                  std::vector<cv::Mat>& scratch, int masked_index, cv::Mat& bright, cv::Mat& veg,
                  std::vector<cv::Mat>& planes, int out) {
    const std::vector<const cv::Mat*> bands = bands_of(e, spec);
    const int nb = static_cast<int>(bands.size());
    const int width = e.red.cols;
    for (int b = 0; b < nb; ++b) scratch[static_cast<std::size_t>(masked_index + b)].create(hi - lo, width, CV_32FC1);
    bright.create(hi - lo, width, CV_32FC1);
    veg.create(hi - lo, width, CV_32FC1);
    const int green_i = spec.blue ? 1 : 0, red_i = green_i + 1, blue_i = 0, nir_i = red_i + 1;
    for (int y = lo; y < hi; ++y) {
        const std::uint8_t* valid = e.valid.empty() ? nullptr : e.valid.ptr<std::uint8_t>(y);
        float* m[4] = {nullptr, nullptr, nullptr, nullptr};
        for (int b = 0; b < nb; ++b) {
            const float* src = bands[static_cast<std::size_t>(b)]->ptr<float>(y);
            float* dst = scratch[static_cast<std::size_t>(masked_index + b)].ptr<float>(y - lo);
            m[b] = dst;
            if (valid) {
                for (int x = 0; x < width; ++x) dst[x] = valid[x] ? src[x] : 0.0f;
            } else {
                std::copy(src, src + width, dst);
            }
        }
        const float* green = m[green_i];
        const float* red = m[red_i];
        const float* blue = spec.blue ? m[blue_i] : nullptr;
        const float* nir = spec.nir ? m[nir_i] : nullptr;
        float* br = bright.ptr<float>(y - lo);
        float* vi = veg.ptr<float>(y - lo);
        if (blue) {
            for (int x = 0; x < width; ++x) br[x] = ((blue[x] + green[x]) + red[x]) / 3.0f;
        } else {
            for (int x = 0; x < width; ++x) br[x] = (green[x] + red[x]) / 2.0f;
        }
        const float* upper = nir ? nir : green;
        for (int x = 0; x < width; ++x) vi[x] = normalized_difference(upper[x], red[x]);

        if (y < top || y >= top + rows) continue;
        const int oy = y - top;
        for (int b = 0; b < nb; ++b) std::copy(m[b], m[b] + width, planes[static_cast<std::size_t>(out + b)].ptr<float>(oy));
        float* sat = planes[static_cast<std::size_t>(out + nb + kSat)].ptr<float>(oy);
        float* hue = planes[static_cast<std::size_t>(out + nb + kHue)].ptr<float>(oy);
        const float* bl = blue ? blue : green;  // (R, G, G) without blue
        for (int x = 0; x < width; ++x) {  // branch-free (selects), so that it vectorises
            const float r = red[x], g = green[x], b = bl[x];
            const float mx = std::max(r, std::max(g, b));
            const float mn = std::min(r, std::min(g, b));
            const float d = mx - mn;
            sat[x] = mx > 0.0f ? d / (mx > 0.0f ? mx : 1.0f) : 0.0f;
            const float dd = d > 0.0f ? d : 1.0f;
            const float sector = mx == r ? (g - b) / dd : (mx == g ? 2.0f + (b - r) / dd : 4.0f + (r - g) / dd);
            float h = sector / 6.0f;
            h = h < 0.0f ? h + 1.0f : h;
            h = h >= 1.0f ? 0.0f : h;
            hue[x] = d > 0.0f ? h : 0.0f;
        }
    }
}

// 1 where the 8-neighbour LBP code of `src` (bit = neighbour ≥ centre) has exactly two 0/1
// transitions around the circle, else 0; neighbours beyond the edges reflect (101).
void uniform_edges(const cv::Mat& src, cv::Mat& dst) {
    dst.create(src.size(), CV_32FC1);
    const int h = src.rows, w = src.cols;
    for (int y = 0; y < h; ++y) {
        const float* up = src.ptr<float>(reflect101(y - 1, h));
        const float* mid = src.ptr<float>(y);
        const float* dn = src.ptr<float>(reflect101(y + 1, h));
        float* out = dst.ptr<float>(y);
        auto at = [&](int x) {
            const int xl = reflect101(x - 1, w), xr = reflect101(x + 1, w);
            const float c = mid[x];
            const int b0 = up[xl] >= c, b1 = up[x] >= c, b2 = up[xr] >= c, b3 = mid[xr] >= c, b4 = dn[xr] >= c,
                      b5 = dn[x] >= c, b6 = dn[xl] >= c, b7 = mid[xl] >= c;
            const int t = (b0 ^ b1) + (b1 ^ b2) + (b2 ^ b3) + (b3 ^ b4) + (b4 ^ b5) + (b5 ^ b6) + (b6 ^ b7) + (b7 ^ b0);
            return t == 2 ? 1.0f : 0.0f;
        };
        out[0] = at(0);
        for (int x = 1; x < w - 1; ++x) {
            const float c = mid[x];
            const int b0 = up[x - 1] >= c, b1 = up[x] >= c, b2 = up[x + 1] >= c, b3 = mid[x + 1] >= c,
                      b4 = dn[x + 1] >= c, b5 = dn[x] >= c, b6 = dn[x - 1] >= c, b7 = mid[x - 1] >= c;
            const int t = (b0 ^ b1) + (b1 ^ b2) + (b2 ^ b3) + (b3 ^ b4) + (b4 ^ b5) + (b5 ^ b6) + (b6 ^ b7) + (b7 ^ b0);
            out[x] = t == 2 ? 1.0f : 0.0f;
        }
        if (w > 1) out[w - 1] = at(w - 1);
    }
}

// std3, std7, std15 of rows [off, off + out rows) of `bright` (whose other rows are context;
// rows beyond its edges reflect, 101): √max(0, E[x²] − E[x]²) over k × k windows, moments in
// double. Each window sum is a fixed expression of its pixels (vertical sums added row by row,
// horizontal running sums restarted every 64 columns), so a row's values do not depend on which
// rows the block holds beyond the window: strips give the same values as the whole image.
void local_std(const cv::Mat& bright, int off, cv::Mat* const (&out)[3], std::vector<double>& buffer) {
    constexpr int kR[3] = {1, 3, 7};
    constexpr int kPad = 7;
    constexpr int kRestart = 64;
    const int h = bright.rows, w = bright.cols, rows = out[0]->rows;
    const int padded = w + 2 * kPad;
    buffer.resize(static_cast<std::size_t>(6 * padded + 2 * w));
    double* sums_v = buffer.data() + static_cast<std::size_t>(6 * padded);
    double* sums_q = sums_v + w;
    double* v[3];
    double* q[3];
    for (int i = 0; i < 3; ++i) {
        v[i] = buffer.data() + static_cast<std::size_t>(2 * i) * padded + kPad;
        q[i] = buffer.data() + static_cast<std::size_t>(2 * i + 1) * padded + kPad;
    }
    for (int j = 0; j < rows; ++j) {
        const int y = off + j;
        std::fill(v[0], v[0] + w, 0.0);
        std::fill(q[0], q[0] + w, 0.0);
        int d = 0;
        for (int i = 0; i < 3; ++i) {
            if (i > 0) {
                std::copy(v[i - 1], v[i - 1] + w, v[i]);
                std::copy(q[i - 1], q[i - 1] + w, q[i]);
            }
            for (; d <= kR[i]; ++d) {
                for (int sign : {-1, 1}) {
                    if (d == 0 && sign == 1) continue;
                    const float* src = bright.ptr<float>(reflect101(y + sign * d, h));
                    double* vi = v[i];
                    double* qi = q[i];
                    for (int x = 0; x < w; ++x) {
                        const double a = src[x];
                        vi[x] += a;
                        qi[x] += a * a;
                    }
                }
            }
        }
        for (int i = 0; i < 3; ++i) {
            const int r = kR[i];
            double* vi = v[i];
            double* qi = q[i];
            for (int k = 1; k <= r; ++k) {  // reflect-101 padding of the column sums
                vi[-k] = vi[reflect101(-k, w)];
                qi[-k] = qi[reflect101(-k, w)];
                vi[w - 1 + k] = vi[reflect101(w - 1 + k, w)];
                qi[w - 1 + k] = qi[reflect101(w - 1 + k, w)];
            }
            const double inv_n = 1.0 / static_cast<double>((2 * r + 1) * (2 * r + 1));
            double sv = 0, sq = 0;
            for (int x = 0; x < w; ++x) {  // window sums into sums_v / sums_q (sequential)
                if (x % kRestart == 0) {
                    sv = 0;
                    sq = 0;
                    for (int k = -r; k <= r; ++k) {
                        sv += vi[x + k];
                        sq += qi[x + k];
                    }
                } else {
                    sv += vi[x + r] - vi[x - r - 1];
                    sq += qi[x + r] - qi[x - r - 1];
                }
                sums_v[x] = sv;
                sums_q[x] = sq;
            }
            float* o = out[i]->ptr<float>(j);
            for (int x = 0; x < w; ++x) {  // moments to the deviation (vectorisable)
                const double mean = sums_v[x] * inv_n;
                const double var = sums_q[x] * inv_n - mean * mean;
                o[x] = std::sqrt(static_cast<float>(var > 0.0 ? var : 0.0));
            }
        }
    }
}

void gradient_magnitude(const cv::Mat& roi, cv::Mat& gx, cv::Mat& gy, cv::Mat& out) {
    cv::Sobel(roi, gx, CV_32F, 1, 0, 3, 1.0, 0.0, kBorder);
    cv::Sobel(roi, gy, CV_32F, 0, 1, 3, 1.0, 0.0, kBorder);
    cv::magnitude(gx, gy, out);
}

void box_mean(const cv::Mat& roi, int k, cv::Mat& out) {
    cv::boxFilter(roi, out, CV_32F, cv::Size(k, k), cv::Point(-1, -1), true, kBorder);
}

}  // namespace

std::vector<std::string> feature_names(const FeatureSpec& spec) {
    std::vector<std::string> epoch;
    for (const char* b : band_names(spec)) epoch.emplace_back(b);
    for (const char* p : kEpochPlanes) epoch.emplace_back(p);
    std::vector<std::string> names;
    for (const char* prefix : {"before.", "after.", "diff."})
        for (const std::string& p : epoch) names.push_back(prefix + p);
    for (const char* p : {"cv1", "cv5", "cv11", "construction"}) names.emplace_back(p);
    return names;
}

int feature_count(const FeatureSpec& spec) {
    const int epoch = static_cast<int>(band_names(spec).size()) + kEpochPlaneCount;
    return 3 * epoch + 4;
}

int feature_halo(const FeatureSpec&) { return kHalo; }

namespace {

template <class T>
void average_cells(const cv::Mat& in, const cv::Mat& valid, int stride, cv::Mat& out) {
    const int cols = in.cols / stride;
    const float area = static_cast<float>(stride * stride);
    for (int cy = 0; cy < out.rows; ++cy) {
        float* o = out.ptr<float>(cy);
        const std::uint8_t* v = valid.ptr<std::uint8_t>(cy);
        std::fill(o, o + cols, 0.0f);
        for (int dy = 0; dy < stride; ++dy) {
            const T* row = in.ptr<T>(cy * stride + dy);
            for (int cx = 0; cx < cols; ++cx) {
                float s = 0.0f;
                for (int dx = 0; dx < stride; ++dx) s += static_cast<float>(row[cx * stride + dx]);
                o[cx] += s;
            }
        }
        for (int cx = 0; cx < cols; ++cx) o[cx] = v[cx] ? o[cx] / area : 0.0f;
    }
}

}  // namespace

void to_feature_grid(const EpochBlock& in, int stride, FeatureEpoch& out) {
    if (stride < 1 || stride > 8)
        throw std::invalid_argument("to_feature_grid: stride must be 1..8 (got " + std::to_string(stride) + ")");
    if (in.red.empty() || in.green.empty()) throw std::invalid_argument("to_feature_grid: the epoch has no green or red band");
    const cv::Size size = in.red.size();
    const int type = in.red.type();
    if (type != CV_8UC1 && type != CV_16UC1 && type != CV_16SC1 && type != CV_32FC1)
        throw std::invalid_argument("to_feature_grid: bands must be CV_8UC1, CV_16UC1, CV_16SC1 or CV_32FC1");
    for (const cv::Mat* b : {&in.blue, &in.green, &in.nir})
        if (!b->empty() && (b->type() != type || b->size() != size))
            throw std::invalid_argument("to_feature_grid: every band must have the red band's size and type");
    if (!in.valid.empty() && (in.valid.type() != CV_8UC1 || in.valid.size() != size))
        throw std::invalid_argument("to_feature_grid: validity must be CV_8UC1 of the bands' size or empty");
    if (size.width % stride != 0 || size.height % stride != 0)
        throw std::invalid_argument("to_feature_grid: the block's " + std::to_string(size.width) + " × " +
                                    std::to_string(size.height) + " pixels are not a multiple of the stride " +
                                    std::to_string(stride));
    const cv::Size grid(size.width / stride, size.height / stride);
    // Validity first: a cell is valid when all its pixels are.
    out.valid.create(grid, CV_8UC1);
    for (int cy = 0; cy < grid.height; ++cy) {
        std::uint8_t* v = out.valid.ptr<std::uint8_t>(cy);
        std::fill(v, v + grid.width, std::uint8_t{1});
        if (in.valid.empty()) continue;
        for (int dy = 0; dy < stride; ++dy) {
            const std::uint8_t* src = in.valid.ptr<std::uint8_t>(cy * stride + dy);
            for (int cx = 0; cx < grid.width; ++cx)
                for (int dx = 0; dx < stride; ++dx)
                    if (src[cx * stride + dx] == 0) v[cx] = 0;
        }
    }
    const std::pair<const cv::Mat*, cv::Mat*> roles[] = {
        {&in.blue, &out.blue}, {&in.green, &out.green}, {&in.red, &out.red}, {&in.nir, &out.nir}};
    for (const auto& [src, dst] : roles) {
        if (src->empty()) {
            dst->release();
            continue;
        }
        dst->create(grid, CV_32FC1);
        switch (type) {
            case CV_8UC1: average_cells<std::uint8_t>(*src, out.valid, stride, *dst); break;
            case CV_16UC1: average_cells<std::uint16_t>(*src, out.valid, stride, *dst); break;
            case CV_16SC1: average_cells<std::int16_t>(*src, out.valid, stride, *dst); break;
            default: average_cells<float>(*src, out.valid, stride, *dst); break;
        }
    }
}

void compute_features(const FeatureEpoch& before, const FeatureEpoch& after, int top, int rows,
                      const FeatureSpec& spec, std::vector<cv::Mat>& planes, FeatureWorkspace& workspace) {
    if (after.red.empty()) throw std::invalid_argument("compute_features: the after epoch has no green or red plane");
    const cv::Size size = after.red.size();
    check_feature_epoch(after, spec, size, "after");
    check_feature_epoch(before, spec, size, "before");
    if (top < 0 || rows < 1 || top + rows > size.height)
        throw std::invalid_argument("compute_features: rows [" + std::to_string(top) + ", " + std::to_string(top + rows) +
                                    ") are not a non-empty range inside the block's " + std::to_string(size.height) +
                                    " rows");
    const int width = size.width;
    const int nb = static_cast<int>(band_names(spec).size());
    const int per_epoch = nb + kEpochPlaneCount;
    const int count = feature_count(spec);
    planes.resize(static_cast<std::size_t>(count));
    for (cv::Mat& p : planes) p.create(rows, width, CV_32FC1);
    std::vector<cv::Mat>& s = workspace.scratch;
    if (s.size() < kScratchCount) s.resize(kScratchCount);

    // Rows [lo, hi) are all that the output rows can see (kHalo each side); the row range of
    // the scratch planes that holds the output rows is [off, off + rows).
    const int lo = std::max(0, top - kHalo), hi = std::min(size.height, top + rows + kHalo);
    const int off = top - lo;
    auto plane = [&](int i) -> cv::Mat& { return planes[static_cast<std::size_t>(i)]; };

    const FeatureEpoch* epochs[2] = {&before, &after};
    for (int e = 0; e < 2; ++e) {
        const int out = e * per_epoch;
        const int masked = kBandBefore + 4 * e;
        cv::Mat& bright = s[kBright];
        cv::Mat& veg = s[kVeg];
        epoch_pixels(*epochs[e], spec, lo, hi, top, rows, s, masked, bright, veg, planes, out);
        const int p = out + nb;
        const cv::Mat b_roi = bright.rowRange(off, off + rows);
        const cv::Mat v_roi = veg.rowRange(off, off + rows);
        b_roi.copyTo(plane(p + kBrightness));
        v_roi.copyTo(plane(p + kVi));
        gradient_magnitude(b_roi, s[kGx], s[kGy], plane(p + kGrad1));
        box_mean(bright, 5, s[kBox5]);  // whole scratch range: the Sobel of grad2 reads 1 row beyond
        gradient_magnitude(s[kBox5].rowRange(off, off + rows), s[kGx], s[kGy], plane(p + kGrad2));
        cv::Mat* const std_planes[3] = {&plane(p + kStd3), &plane(p + kStd7), &plane(p + kStd15)};
        local_std(bright, off, std_planes, workspace.moments);
        s[kBox5].rowRange(off, off + rows).copyTo(plane(p + kBrightBox5));
        box_mean(b_roi, 11, plane(p + kBrightBox11));
        box_mean(b_roi, 21, plane(p + kBrightBox21));
        box_mean(v_roi, 5, plane(p + kViBox5));
        box_mean(v_roi, 11, plane(p + kViBox11));
        box_mean(v_roi, 21, plane(p + kViBox21));
        uniform_edges(bright, s[kLbp]);
        box_mean(s[kLbp].rowRange(off, off + rows), 7, plane(p + kLbp7));
    }

    // Differences after − before; hue wraps to [−0.5, 0.5) (turns).
    const int diff = 2 * per_epoch;
    for (int i = 0; i < per_epoch; ++i) {
        if (i == nb + kHue) {
            for (int y = 0; y < rows; ++y) {
                const float* a = plane(per_epoch + i).ptr<float>(y);
                const float* b = plane(i).ptr<float>(y);
                float* d = plane(diff + i).ptr<float>(y);
                for (int x = 0; x < width; ++x) {
                    float v = a[x] - b[x];
                    if (v >= 0.5f) v -= 1.0f;
                    if (v < -0.5f) v += 1.0f;
                    d[x] = v;
                }
            }
        } else if (i >= nb) {
            cv::subtract(plane(per_epoch + i), plane(i), plane(diff + i));
        }
    }
    // Band differences over the scratch rows (the change vectors), their output rows as diff.<band>.
    for (int b = 0; b < nb; ++b) {
        cv::subtract(s[static_cast<std::size_t>(kBandBefore + 4 + b)], s[static_cast<std::size_t>(kBandBefore + b)],
                     s[static_cast<std::size_t>(kDiff + b)]);
        s[static_cast<std::size_t>(kDiff + b)].rowRange(off, off + rows).copyTo(plane(diff + b));
    }
    // Change-vector magnitudes: raw, and of the 5×5 and 11×11 box means of the band differences.
    const int cv_index = 3 * per_epoch;
    const int kernel_sizes[3] = {1, 5, 11};
    for (int k = 0; k < 3; ++k) {
        cv::Mat& mag = plane(cv_index + k);
        mag.setTo(0);
        for (int b = 0; b < nb; ++b) {
            const cv::Mat d = s[static_cast<std::size_t>(kDiff + b)].rowRange(off, off + rows);
            const cv::Mat* src = &d;
            if (kernel_sizes[k] > 1) {
                box_mean(d, kernel_sizes[k], s[kSmooth]);
                src = &s[kSmooth];
            }
            for (int y = 0; y < rows; ++y) {
                const float* v = src->ptr<float>(y);
                float* m = mag.ptr<float>(y);
                for (int x = 0; x < width; ++x) m[x] += v[x] * v[x];
            }
        }
        cv::sqrt(mag, mag);
    }
    // The construction score of kernels/detect.hpp with the default brightness weight (1).
    auto rows_of = [&](const FeatureEpoch& f) {
        EpochBlock block;
        const cv::Range r(top, top + rows);
        if (!f.blue.empty()) block.blue = f.blue.rowRange(r);
        block.green = f.green.rowRange(r);
        block.red = f.red.rowRange(r);
        if (!f.nir.empty()) block.nir = f.nir.rowRange(r);
        if (!f.valid.empty()) block.valid = f.valid.rowRange(r);
        return block;
    };
    detect_construction(rows_of(before), rows_of(after), ConstructionParams{}, plane(cv_index + 3), s[kMask]);
}

}  // namespace weipian::kernels
