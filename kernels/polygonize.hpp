#pragma once
// Raster-to-vector for binary change masks: connected-component labelling first, so that the
// size filter is decided before any geometry exists, then boundary tracing of the kept
// components only, with holes attached to their outer ring directly.
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "kernels/connectivity.hpp"

namespace weipian::kernels {

// A closed ring of pixel-corner coordinates: (x, y) = (column, row) of a pixel's top-left
// corner, so pixel (c, r) spans [c, c+1] x [r, r+1]. First vertex == last vertex. Only the
// corners where the boundary turns are kept (no collinear vertices).
using Ring = std::vector<cv::Point>;

// One connected component of foreground pixels as a polygon with holes.
// Invariant: |area(outer)| - sum |area(holes)| == pixel_count (in pixel units).
struct PixelPolygon {
    Ring outer;               // clockwise in image coordinates (y down) = counter-clockwise on a map
    std::vector<Ring> holes;  // counter-clockwise in image coordinates
    std::int64_t pixel_count = 0;
    cv::Point first_pixel;    // top-most, then left-most pixel of the component
};

// Polygonizes the nonzero pixels of `mask` (CV_8UC1, any size, may be a ROI view).
// Components with fewer than `min_pixels` pixels are dropped before any boundary is traced.
// Output is ordered by `first_pixel` in raster order (row, then column), so it is deterministic.
// The polygons equal GDALPolygonize's on the same mask with the same connectivity: same count,
// same outline and holes, same area for each.
// Where two pixels of one component touch only at a corner, a ring turns there to keep to the
// background pixel, which is how GDALPolygonize (3.6) splits rings: with 8-connectivity a
// diagonal pair is one figure-eight outer ring, and a background pixel cut off at a corner is
// a hole touching the outer ring (or another hole) at that vertex. Where the corner-touching
// pixel belongs to another component (4-connectivity), the ring keeps to its own pixel.
// Work is O(pixels + boundary length); extra memory is O(runs) plus one bit per pixel.
// Throws std::invalid_argument when `mask` is not CV_8UC1 (or not 2-D), or `connectivity` is
// not Four or Eight; std::length_error beyond 2^32 runs of foreground pixels.
std::vector<PixelPolygon> polygonize(const cv::Mat& mask, Connectivity connectivity,
                                     std::int64_t min_pixels = 1);

// Signed shoelace area of a ring in pixel units (positive when clockwise in image coordinates).
double ring_area(const Ring& ring);

}  // namespace weipian::kernels
