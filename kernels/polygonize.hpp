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

// One 4-connected piece of a component: an outer ring and its holes. Its rings are simple (no
// ring passes a vertex twice) and meet one another at single vertices at most, with the piece's
// pixels forming a connected interior, so it is a valid OGC polygon.
struct PolygonPart {
    Ring outer;               // clockwise in image coordinates (y down) = counter-clockwise on a map
    std::vector<Ring> holes;  // counter-clockwise in image coordinates
    bool operator==(const PolygonPart&) const = default;
};

// One connected component of foreground pixels.
// With 4-connectivity a component is one part. With 8-connectivity it is its 4-connected pieces,
// one part each, which meet one another only at corners (diagonal pinches): a valid OGC
// MultiPolygon (or Polygon when there is one part), where GDALPolygonize (3.6) gives a single
// polygon whose rings touch themselves at the pinches (invalid). The area is the same.
// Invariant: sum over parts of (|area(outer)| - sum |area(holes)|) == pixel_count (pixel units).
struct PixelPolygon {
    std::vector<PolygonPart> parts;  // >= 1; ordered by their first pixel in raster order, so
                                     // parts[0] holds first_pixel
    std::int64_t pixel_count = 0;
    cv::Point first_pixel;           // top-most, then left-most pixel of the component
};

// Polygonizes the nonzero pixels of `mask` (CV_8UC1, any size, may be a ROI view), one
// PixelPolygon per component under `connectivity`.
// Components with fewer than `min_pixels` pixels are dropped before any boundary is traced.
// Output is ordered by `first_pixel` in raster order (row, then column), so it is deterministic.
// With 4-connectivity the polygons equal GDALPolygonize's on the same mask: same count, same
// outline and holes, same area for each. With 8-connectivity the components, their pixel counts
// and bounding boxes equal GDALPolygonize's with "8CONNECTED=8"; each is split into valid parts
// at its diagonal pinches (see PixelPolygon).
// Rings keep to the component's own pixels where a pixel of another component or of another
// part touches them at a corner; where two pixels of one part touch only at a corner (the part
// joins them some other way), the ring turns to keep to the background pixel, so the background
// pixel cut off at that corner is a hole touching the outer ring (or another hole) at that
// vertex, as GDALPolygonize makes it, rather than a fold of a self-touching outer ring.
// Work is O(pixels + boundary length); extra memory is O(runs) plus one bit per pixel.
// Throws std::invalid_argument when `mask` is not CV_8UC1 (or not 2-D), or `connectivity` is
// not Four or Eight; std::length_error beyond 2^32 runs of foreground pixels.
std::vector<PixelPolygon> polygonize(const cv::Mat& mask, Connectivity connectivity,
                                     std::int64_t min_pixels = 1);

// Signed shoelace area of a ring in pixel units (positive when clockwise in image coordinates).
double ring_area(const Ring& ring);

}  // namespace weipian::kernels
