#pragma once
// Geometries for tests from WKT: an axis-parallel rectangle, a parsed geometry, a patch.
#include <gtest/gtest.h>
#include <ogr_geometry.h>

#include <cstdio>
#include <string>

#include "pipeline/core/parcel.hpp"

namespace weipian::test {

// POLYGON WKT of the rectangle x0..x1 × y0..y1 (millimetre precision).
inline std::string rect_wkt(double x0, double y0, double x1, double y1) {
    char buffer[256];
    std::snprintf(buffer, sizeof buffer, "POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))", x0, y0, x1, y0,
                  x1, y1, x0, y1, x0, y0);
    return buffer;
}

// The geometry of `wkt` (a test failure when it does not parse).
inline OGRGeometryUniquePtr geometry_from_wkt(const std::string& wkt) {
    OGRGeometry* geometry = nullptr;
    EXPECT_EQ(OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &geometry), OGRERR_NONE) << wkt;
    return OGRGeometryUniquePtr(geometry);
}

// A change patch as the overlay receives it: id = patch_id = `id`, 100 pixels.
inline Parcel patch_from_wkt(std::int64_t id, const std::string& wkt) {
    Parcel parcel;
    parcel.id = id;
    parcel.patch_id = id;
    parcel.geometry = geometry_from_wkt(wkt);
    parcel.pixel_count = 100;
    return parcel;
}

}  // namespace weipian::test
