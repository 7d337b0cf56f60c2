#pragma once
// Bilinear enlargement of a small 8-bit image to a chip: the image-chip kernel of
// pipeline/chips.cpp, where a parcel's few source pixels become a 320² picture.
#include <opencv2/core.hpp>

namespace weipian::kernels {

// Fills `dst` (CV_8UC3, allocated by the caller, may be a ROI) from `src` (CV_8UC3, at least
// 1 × 1): dst pixel (i, j) takes src at the pixel-centre coordinates (x0 + i·dx, y0 + j·dy) by
// bilinear interpolation, coordinates outside [0, cols − 1] × [0, rows − 1] clamped (edges
// replicated, as cv::BORDER_REPLICATE). Values are rounded to nearest. Meant for enlarging
// (dx, dy ≤ 1); reducing works but skips source pixels (no averaging).
//
// Separable: each source row is interpolated to the destination's columns once, then each
// destination row is one blend of two such rows with a weight constant along it, a loop the
// compiler vectorises. cv::warpAffine with WARP_INVERSE_MAP gives the same picture (weights
// quantised to 1/32 px) at about 6× the cost for a 320² chip: it computes and clamps
// coordinates per pixel (bench/chips_bench.cpp, BM_Enlarge). Throws cv::Exception
// (StsBadArg) for types other than CV_8UC3 or an empty `src`.
void enlarge_bilinear(const cv::Mat& src, double x0, double dx, double y0, double dy, cv::Mat& dst);

}  // namespace weipian::kernels
