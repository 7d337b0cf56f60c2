#pragma once
// Pixel polygons (kernels/polygonize) to map geometry in the image CRS.
#include <ogr_geometry.h>

#include "kernels/polygonize.hpp"
#include "pipeline/core/geo.hpp"

namespace weipian {

// An OGRPolygon whose rings are the pixel edges of `polygon`, placed by the geotransform
// (pixel corner (c, r) -> gt). Exact: no smoothing, holes kept. Never null.
OGRGeometryUniquePtr to_geometry(const kernels::PixelPolygon& polygon, const GeoTransform& gt);

}  // namespace weipian
