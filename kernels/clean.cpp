#include "kernels/clean.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

namespace weipian::kernels {

void open_close(cv::Mat& mask, int open_radius_px, int close_radius_px, const cv::Mat& valid) {
    MorphologyWorkspace workspace;
    open_close(mask, open_radius_px, close_radius_px, valid, workspace);
}

void open_close(cv::Mat& mask, int open_radius_px, int close_radius_px, const cv::Mat& valid,
                MorphologyWorkspace& workspace) {
    if (mask.type() != CV_8UC1) throw std::invalid_argument("open_close: mask must be CV_8UC1");
    if (!valid.empty() && (valid.type() != CV_8UC1 || valid.size() != mask.size()))
        throw std::invalid_argument("open_close: valid mask must be CV_8UC1 of the mask's size");
    cv::threshold(mask, mask, 0, 1, cv::THRESH_BINARY);
    // Erosion replicates the border (outside never erodes), dilation pads with background
    // (outside never dilates in), so shapes cut by the scene edge keep their edge pixels.
    const cv::Scalar outside = cv::Scalar::all(0);
    if (open_radius_px > 0) {
        const cv::Mat element = cv::getStructuringElement(
            cv::MORPH_RECT, cv::Size(2 * open_radius_px + 1, 2 * open_radius_px + 1));
        cv::erode(mask, workspace.a, element, {-1, -1}, 1, cv::BORDER_REPLICATE);
        cv::dilate(workspace.a, mask, element, {-1, -1}, 1, cv::BORDER_CONSTANT, outside);
    }
    if (close_radius_px > 0) {
        // Closing on a copy padded with r background pixels: dilation may reach into the pad and
        // erosion then takes it back, so nothing is glued to the frame and cut shapes keep their
        // edge pixels (padding the same r with replicated values would glue both).
        const int r = close_radius_px;
        const cv::Mat element = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(2 * r + 1, 2 * r + 1));
        cv::copyMakeBorder(mask, workspace.a, r, r, r, r, cv::BORDER_CONSTANT, outside);
        cv::dilate(workspace.a, workspace.b, element, {-1, -1}, 1, cv::BORDER_CONSTANT, outside);
        cv::erode(workspace.b, workspace.a, element, {-1, -1}, 1, cv::BORDER_REPLICATE);
        workspace.a(cv::Rect(r, r, mask.cols, mask.rows)).copyTo(mask);
    }
    if (!valid.empty()) cv::min(mask, valid, mask);  // mask holds 0/1; valid is nonzero where data
}

Components remove_small_components(cv::Mat& mask, std::int64_t min_pixels, Connectivity connectivity) {
    if (mask.type() != CV_8UC1) throw std::invalid_argument("remove_small_components: mask must be CV_8UC1");
    Components out;
    cv::Mat stats, centroids;
    const int n = cv::connectedComponentsWithStats(mask, out.labels, stats, centroids,
                                                   static_cast<int>(connectivity), CV_32S);
    // Old label -> new label (0 = removed); kept labels stay in OpenCV's raster order.
    std::vector<int> remap(static_cast<std::size_t>(n), 0);
    out.areas.assign(1, 0);
    for (int label = 1; label < n; ++label) {
        const std::int64_t area = stats.at<int>(label, cv::CC_STAT_AREA);
        if (area >= min_pixels) {
            remap[static_cast<std::size_t>(label)] = static_cast<int>(out.areas.size());
            out.areas.push_back(area);
        }
    }
    for (int y = 0; y < mask.rows; ++y) {
        int* l = out.labels.ptr<int>(y);
        std::uint8_t* m = mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < mask.cols; ++x) {
            const int kept = remap[static_cast<std::size_t>(l[x])];
            l[x] = kept;
            m[x] = kept ? 1 : 0;
        }
    }
    return out;
}

int radius_in_pixels(double radius_m, double pixel_size_m) {
    if (!(pixel_size_m > 0)) throw std::invalid_argument("radius_in_pixels: pixel size must be > 0");
    return static_cast<int>(std::lround(radius_m / pixel_size_m));
}

std::int64_t area_in_pixels(double min_area_m2, double pixel_area_m2) {
    if (!(pixel_area_m2 > 0)) throw std::invalid_argument("area_in_pixels: pixel area must be > 0");
    // A small epsilon so 200 m² at 1 m² pixels is 200, not 201, after floating error.
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(min_area_m2 / pixel_area_m2 - 1e-9)));
}

}  // namespace weipian::kernels
