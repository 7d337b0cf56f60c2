#pragma once
// Coordinate helpers shared by the stages: CRS parsing with the traditional GIS axis order,
// the default projected CRS for areas, and geotransforms.
#include <array>
#include <memory>
#include <string>

#include <ogr_spatialref.h>

#include "pipeline/core/gdal.hpp"  // ensure_gdal_registered, last_gdal_error

namespace weipian {

using GeoTransform = std::array<double, 6>;  // GDAL order: x0, dx, rx, y0, ry, dy

// Parses any CRS definition PROJ/GDAL understands (EPSG:4546, WKT, PROJ string) and sets
// OAMS_TRADITIONAL_GIS_ORDER, so EPSG:4490/45xx take (x=easting/lon, y=northing/lat).
// `what` names the setting in the message. Throws ConfigError when it cannot be parsed.
std::unique_ptr<OGRSpatialReference> parse_crs(const std::string& definition, const std::string& what);

// The projected CRS used for areas when none is configured: inside China (73–136°E, 3–54°N)
// the CGCS2000 3-degree Gauss–Krüger zone with its central meridian nearest to `lon`
// (EPSG:4534–4554, no zone prefix in the easting); elsewhere the WGS 84 UTM zone (EPSG:326xx/327xx).
// lon, lat in degrees.
std::unique_ptr<OGRSpatialReference> default_area_crs(double lon, double lat);

// A copy of `srs` with the traditional GIS axis order.
std::unique_ptr<OGRSpatialReference> clone_traditional(const OGRSpatialReference& srs);

// Applies a geotransform to a pixel-corner coordinate (col, row).
inline void pixel_to_geo(const GeoTransform& gt, double col, double row, double& x, double& y) {
    x = gt[0] + col * gt[1] + row * gt[2];
    y = gt[3] + col * gt[4] + row * gt[5];
}

}  // namespace weipian
