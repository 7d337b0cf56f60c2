#pragma once
// Cleaning of a raw change mask: morphological opening and closing, then the minimum mapping
// unit (components smaller than it are removed).
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "kernels/connectivity.hpp"

namespace weipian::kernels {

// Opening then closing of a CV_8UC1 mask (nonzero = foreground) with square structuring
// elements of side 2r+1 (r in pixels; r = 0 skips that step). Pixels outside `valid` (CV_8UC1,
// or empty = all valid) are 0 afterwards, so closing never grows into nodata. In place; the
// output holds 0/1. Outside the image neither erodes nor dilates: a shape cut by the scene edge
// keeps its edge pixels and closing does not glue shapes to the frame.
// `workspace` holds scratch buffers that are reused when the same workspace serves the next
// block (streaming calls pass one per worker, so nothing is allocated per block).
struct MorphologyWorkspace {
    cv::Mat a, b;
};
void open_close(cv::Mat& mask, int open_radius_px, int close_radius_px, const cv::Mat& valid = {});
void open_close(cv::Mat& mask, int open_radius_px, int close_radius_px, const cv::Mat& valid,
                MorphologyWorkspace& workspace);

// Result of labelling a mask: labels (CV_32SC1, 0 = background, 1..n components) and, per
// label, its pixel count (index 0 unused).
struct Components {
    cv::Mat labels;
    std::vector<std::int64_t> areas;
    int count() const { return static_cast<int>(areas.size()) - 1; }
};

// Labels the nonzero pixels of `mask` and removes (sets to 0 in `mask`, and relabels) every
// component with fewer than `min_pixels` pixels. Returns the kept components, numbered 1..n.
Components remove_small_components(cv::Mat& mask, std::int64_t min_pixels, Connectivity connectivity);

// Minimum-mapping-unit and morphology sizes in pixels for a given pixel area.
// `radius_m` / `pixel_size_m` rounded to nearest; `min_area_m2` / `pixel_area_m2` rounded up.
int radius_in_pixels(double radius_m, double pixel_size_m);
std::int64_t area_in_pixels(double min_area_m2, double pixel_area_m2);

}  // namespace weipian::kernels
