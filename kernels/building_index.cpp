#include "kernels/building_index.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace weipian::kernels {
namespace {

void check_pair(const cv::Mat& marker, const cv::Mat& mask, const char* who) {
    if (marker.empty() || mask.empty()) throw std::invalid_argument(std::string(who) + ": marker and mask must not be empty");
    if (marker.type() != mask.type() || (mask.type() != CV_8UC1 && mask.type() != CV_32FC1))
        throw std::invalid_argument(std::string(who) + ": marker and mask must both be CV_8UC1 or both CV_32FC1");
    if (marker.size() != mask.size()) throw std::invalid_argument(std::string(who) + ": marker and mask differ in size");
    if (mask.type() == CV_32FC1) {
        for (const cv::Mat* m : {&marker, &mask})
            if (cv::countNonZero(*m != *m) > 0)
                throw std::invalid_argument(std::string(who) + ": marker and mask must not hold NaN");
    }
}

// Vincent's hybrid algorithm on images padded by one pixel of `lowest` in both J and I: a padded
// pixel has J == I == lowest, so it never raises a neighbour and is never queued.
template <class T>
void hybrid_reconstruction(const cv::Mat& marker, const cv::Mat& mask, cv::Mat& out, Connectivity connectivity) {
    const T lowest = std::numeric_limits<T>::lowest();
    const int h = mask.rows, w = mask.cols, pw = w + 2;
    std::vector<T> j(static_cast<std::size_t>(pw) * (h + 2), lowest), m(j.size(), lowest);
    for (int y = 0; y < h; ++y) {
        const T* a = marker.ptr<T>(y);
        const T* b = mask.ptr<T>(y);
        T* jr = j.data() + static_cast<std::size_t>(y + 1) * pw + 1;
        T* mr = m.data() + static_cast<std::size_t>(y + 1) * pw + 1;
        for (int x = 0; x < w; ++x) {
            mr[x] = b[x];
            jr[x] = std::min(a[x], b[x]);
        }
    }
    // N+ (already visited in raster order) and N− (its mirror).
    std::vector<std::ptrdiff_t> before;
    if (connectivity == Connectivity::Eight)
        before = {-pw - 1, -pw, -pw + 1, -1};
    else
        before = {-pw, -1};
    T* J = j.data();
    const T* I = m.data();
    for (int y = 1; y <= h; ++y) {
        for (std::ptrdiff_t p = static_cast<std::ptrdiff_t>(y) * pw + 1, end = p + w; p < end; ++p) {
            T v = J[p];
            for (const std::ptrdiff_t d : before) v = std::max(v, J[p + d]);
            J[p] = std::min(v, I[p]);
        }
    }
    std::vector<std::int32_t> fifo;
    for (int y = h; y >= 1; --y) {
        for (std::ptrdiff_t end = static_cast<std::ptrdiff_t>(y) * pw + 1, p = end + w - 1; p >= end; --p) {
            T v = J[p];
            for (const std::ptrdiff_t d : before) v = std::max(v, J[p - d]);
            v = std::min(v, I[p]);
            J[p] = v;
            for (const std::ptrdiff_t d : before) {
                const std::ptrdiff_t q = p - d;
                if (J[q] < v && J[q] < I[q]) {
                    fifo.push_back(static_cast<std::int32_t>(p));
                    break;
                }
            }
        }
    }
    std::vector<std::ptrdiff_t> all = before;
    for (const std::ptrdiff_t d : before) all.push_back(-d);
    for (std::size_t head = 0; head < fifo.size(); ++head) {
        const std::ptrdiff_t p = fifo[head];
        const T v = J[p];
        for (const std::ptrdiff_t d : all) {
            const std::ptrdiff_t q = p + d;
            if (J[q] < v && J[q] != I[q]) {
                J[q] = std::min(v, I[q]);
                fifo.push_back(static_cast<std::int32_t>(q));
            }
        }
    }
    out.create(h, w, mask.type());
    for (int y = 0; y < h; ++y) {
        const T* jr = J + static_cast<std::size_t>(y + 1) * pw + 1;
        std::copy(jr, jr + w, out.ptr<T>(y));
    }
}

// A line of `length` pixels at `direction_deg` as a structuring element, anchored at its middle.
cv::Mat line_element(int length, int direction_deg) {
    switch (direction_deg) {
        case 0: return cv::Mat::ones(1, length, CV_8UC1);
        case 90: return cv::Mat::ones(length, 1, CV_8UC1);
        case 45: {  // up-right: from the lower left to the upper right
            cv::Mat k = cv::Mat::zeros(length, length, CV_8UC1);
            for (int i = 0; i < length; ++i) k.at<std::uint8_t>(length - 1 - i, i) = 1;
            return k;
        }
        default: {  // 135: from the upper left to the lower right
            cv::Mat k = cv::Mat::zeros(length, length, CV_8UC1);
            for (int i = 0; i < length; ++i) k.at<std::uint8_t>(i, i) = 1;
            return k;
        }
    }
}

void check_params(const BuildingIndexParams& p) {
    if (p.min_length < 1 || p.step < 1 || p.min_length + p.step > p.max_length)
        throw std::invalid_argument("building_index: line lengths need min_length ≥ 1, step ≥ 1 and min_length + step ≤ "
                                    "max_length (got " + std::to_string(p.min_length) + ".." + std::to_string(p.max_length) +
                                    " by " + std::to_string(p.step) + ")");
}

// b = max of the visible bands as CV_32FC1; invalid pixels set to the minimum over valid ones.
void brightness_max(const EpochBlock& e, cv::Mat& b) {
    if (e.red.empty() || e.green.empty()) throw std::invalid_argument("building_index: the epoch has no green or red band");
    const int type = e.red.type();
    if (type != CV_8UC1 && type != CV_16UC1 && type != CV_16SC1 && type != CV_32FC1)
        throw std::invalid_argument("building_index: bands must be CV_8UC1, CV_16UC1, CV_16SC1 or CV_32FC1");
    for (const cv::Mat* m : {&e.green, &e.blue})
        if (!m->empty() && (m->type() != type || m->size() != e.red.size()))
            throw std::invalid_argument("building_index: every band must have the red band's size and type");
    if (!e.valid.empty() && (e.valid.type() != CV_8UC1 || e.valid.size() != e.red.size()))
        throw std::invalid_argument("building_index: validity must be CV_8UC1 of the bands' size or empty");
    e.red.convertTo(b, CV_32F);
    cv::Mat band;
    e.green.convertTo(band, CV_32F);
    cv::max(b, band, b);
    if (!e.blue.empty()) {
        e.blue.convertTo(band, CV_32F);
        cv::max(b, band, b);
    }
    if (!e.valid.empty()) {
        double lowest = 0;
        if (cv::countNonZero(e.valid) > 0) cv::minMaxLoc(b, &lowest, nullptr, nullptr, nullptr, e.valid);
        b.setTo(lowest, e.valid == 0);
    }
}

void mbi_of_brightness(const cv::Mat& b, const BuildingIndexParams& p, cv::Mat& mbi) {
    mbi = cv::Mat::zeros(b.size(), CV_32FC1);
    cv::Mat previous, current, diff;
    int terms = 0;
    for (const int direction : {0, 45, 90, 135}) {
        top_hat_by_reconstruction(b, p.min_length, direction, previous);
        for (int s = p.min_length; s + p.step <= p.max_length; s += p.step) {
            top_hat_by_reconstruction(b, s + p.step, direction, current);
            cv::absdiff(current, previous, diff);
            mbi += diff;
            std::swap(previous, current);
            ++terms;
        }
    }
    mbi /= static_cast<double>(terms);
}

}  // namespace

void reconstruct_by_dilation(const cv::Mat& marker, const cv::Mat& mask, cv::Mat& out, Connectivity connectivity) {
    check_pair(marker, mask, "reconstruct_by_dilation");
    if (mask.type() == CV_8UC1)
        hybrid_reconstruction<std::uint8_t>(marker, mask, out, connectivity);
    else
        hybrid_reconstruction<float>(marker, mask, out, connectivity);
}

void reconstruct_by_dilation_naive(const cv::Mat& marker, const cv::Mat& mask, cv::Mat& out, Connectivity connectivity) {
    check_pair(marker, mask, "reconstruct_by_dilation_naive");
    const cv::Mat element = cv::getStructuringElement(
        connectivity == Connectivity::Eight ? cv::MORPH_RECT : cv::MORPH_CROSS, cv::Size(3, 3));
    cv::Mat j, next;
    cv::min(marker, mask, j);
    for (;;) {
        // Outside pixels take no part: dilation pads with the lowest value (OpenCV's default).
        cv::dilate(j, next, element);
        cv::min(next, mask, next);
        if (cv::norm(next, j, cv::NORM_INF) == 0) break;
        std::swap(j, next);
    }
    j.copyTo(out);
}

void top_hat_by_reconstruction(const cv::Mat& image, int length, int direction_deg, cv::Mat& out) {
    if (image.empty() || image.type() != CV_32FC1)
        throw std::invalid_argument("top_hat_by_reconstruction: the image must be a non-empty CV_32FC1 plane");
    if (length < 1) throw std::invalid_argument("top_hat_by_reconstruction: the line length must be ≥ 1");
    if (direction_deg != 0 && direction_deg != 45 && direction_deg != 90 && direction_deg != 135)
        throw std::invalid_argument("top_hat_by_reconstruction: the direction must be 0, 45, 90 or 135 degrees (got " +
                                    std::to_string(direction_deg) + ")");
    const cv::Mat element = line_element(length, direction_deg);
    cv::Mat opened, reconstructed;
    // Erosion pads with +∞ and dilation with −∞ (OpenCV's morphology defaults).
    cv::morphologyEx(image, opened, cv::MORPH_OPEN, element);
    reconstruct_by_dilation(opened, image, reconstructed, Connectivity::Eight);
    cv::subtract(image, reconstructed, out);
}

void building_index(const EpochBlock& epoch, const BuildingIndexParams& params, cv::Mat& mbi) {
    check_params(params);
    cv::Mat b;
    brightness_max(epoch, b);
    mbi_of_brightness(b, params, mbi);
    if (!epoch.valid.empty()) mbi.setTo(0, epoch.valid == 0);
}

void building_index_change(const EpochBlock& before, const EpochBlock& after, const BuildingIndexParams& params,
                           cv::Mat& change) {
    check_params(params);
    if (!before.red.empty() && !after.red.empty() && before.red.size() != after.red.size())
        throw std::invalid_argument("building_index: the epochs differ in size");
    cv::Mat mbi_before, mbi_after;
    building_index(before, params, mbi_before);
    building_index(after, params, mbi_after);
    cv::subtract(mbi_after, mbi_before, change);
    if (!before.valid.empty()) change.setTo(0, before.valid == 0);
    if (!after.valid.empty()) change.setTo(0, after.valid == 0);
}

}  // namespace weipian::kernels
