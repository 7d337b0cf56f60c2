#include "pipeline/core/geo.hpp"

#include <cpl_error.h>

#include <cmath>

#include "pipeline/core/errors.hpp"

namespace weipian {

namespace {

// EPSG:4534 is the CGCS2000 3-degree Gauss–Krüger zone with central meridian 75°E; each
// following code moves the meridian 3° east, up to EPSG:4554 at 135°E (zones 25–45, no zone
// prefix in the easting).
constexpr int kFirstCgcs2000GkEpsg = 4534;
constexpr int kFirstCgcs2000GkMeridian = 75;
constexpr int kLastCgcs2000GkMeridian = 135;

bool inside_china(double lon, double lat) { return lon >= 73.0 && lon <= 136.0 && lat >= 3.0 && lat <= 54.0; }

std::unique_ptr<OGRSpatialReference> from_epsg(int code) {
    auto srs = std::make_unique<OGRSpatialReference>();
    if (srs->importFromEPSG(code) != OGRERR_NONE) {
        throw InternalError("geo: PROJ has no definition for EPSG:" + std::to_string(code) +
                            "; check that the PROJ database (proj.db) is installed");
    }
    srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

}  // namespace

std::unique_ptr<OGRSpatialReference> parse_crs(const std::string& definition, const std::string& what) {
    auto srs = std::make_unique<OGRSpatialReference>();
    OGRErr err = OGRERR_CORRUPT_DATA;
    if (!definition.empty()) {
        // PROJ/GDAL report their own error for a bad definition; ours replaces it.
        CPLPushErrorHandler(CPLQuietErrorHandler);
        err = srs->SetFromUserInput(definition.c_str());
        CPLPopErrorHandler();
        CPLErrorReset();
    }
    if (err != OGRERR_NONE || srs->IsEmpty()) {
        throw ConfigError("config: " + what + ": cannot parse '" + definition +
                          "' as a CRS; give an EPSG code such as EPSG:4546 or a WKT");
    }
    srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

std::unique_ptr<OGRSpatialReference> default_area_crs(double lon, double lat) {
    if (!std::isfinite(lon) || !std::isfinite(lat) || lat < -90.0 || lat > 90.0) {
        throw InternalError("geo: default_area_crs called with lon=" + std::to_string(lon) +
                            ", lat=" + std::to_string(lat));
    }
    if (inside_china(lon, lat)) {
        int meridian = static_cast<int>(std::lround(lon / 3.0)) * 3;
        if (meridian < kFirstCgcs2000GkMeridian) meridian = kFirstCgcs2000GkMeridian;
        if (meridian > kLastCgcs2000GkMeridian) meridian = kLastCgcs2000GkMeridian;
        return from_epsg(kFirstCgcs2000GkEpsg + (meridian - kFirstCgcs2000GkMeridian) / 3);
    }
    double wrapped = std::fmod(lon + 180.0, 360.0);
    if (wrapped < 0) wrapped += 360.0;
    int zone = static_cast<int>(std::floor(wrapped / 6.0)) + 1;
    if (zone > 60) zone = 60;
    return from_epsg((lat >= 0 ? 32600 : 32700) + zone);
}

std::unique_ptr<OGRSpatialReference> clone_traditional(const OGRSpatialReference& srs) {
    std::unique_ptr<OGRSpatialReference> copy(srs.Clone());
    copy->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return copy;
}

}  // namespace weipian
