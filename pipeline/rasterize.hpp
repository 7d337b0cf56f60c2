#pragma once
// Polygons burnt into a raster window held by a cv::Mat, through GDAL's rasterizer
// (GDALRasterizeGeometries: a pixel is inside when its centre is).
#include <vector>

#include <ogr_geometry.h>
#include <opencv2/core.hpp>

#include "pipeline/core/geo.hpp"

namespace weipian {

// Burns `value` into `target` (CV_8UC1, modified in place) at the pixels whose centres lie
// inside any of `geometries`. `window_gt` is the geotransform of target's pixel (0, 0) corner;
// the geometries are in the same CRS (their attached CRS is ignored). Throws InternalError when
// GDAL refuses (a bug: the MEM driver cannot fail on valid input).
void rasterize_into(cv::Mat& target, const GeoTransform& window_gt, const std::vector<const OGRGeometry*>& geometries,
                    unsigned char value);

// The geotransform of the window whose pixel (0, 0) is pixel (col, row) of `gt`.
GeoTransform window_geotransform(const GeoTransform& gt, int col, int row);

}  // namespace weipian
