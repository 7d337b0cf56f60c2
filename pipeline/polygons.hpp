#pragma once
// Pixel polygons (kernels/polygonize) to map geometry in the image CRS.
#include <ogr_geometry.h>

#include "kernels/polygonize.hpp"
#include "pipeline/geo.hpp"

namespace weipian {

// The geometry whose rings are the pixel edges of `polygon`, placed by the geotransform
// (pixel corner (c, r) -> gt). Exact: no smoothing, holes kept. An OGRPolygon when the polygon
// has one part (always so with 4-connectivity), an OGRMultiPolygon of its parts otherwise
// (8-connected components with diagonal pinches); valid OGC geometry either way. Never null.
OGRGeometryUniquePtr to_geometry(const kernels::PixelPolygon& polygon, const GeoTransform& gt);

}  // namespace weipian
