#pragma once
// A parcel (图斑): one polygon of new construction, as emitted for field verification.
#include <cstdint>
#include <string>

#include <ogr_geometry.h>

#include "pipeline/core/units.hpp"

namespace weipian {

// The patch type codes (图斑类型 TBLX, DOMAIN.md) a parcel or case may carry: 20 building, YH
// hardened ground, DT/TD/TP earthworks, GF solar, DP greenhouse (weipian's code: DOMAIN.md has
// none), DL and DL1–DL3 roads, QT other. weipian assigns 20, YH, DT, GF, DP, DL and QT
// (pipeline/patch_type.hpp); the field check may refine them (ledger import, 图斑类型).
inline constexpr const char* kPatchTypeCodes[] = {"20", "YH", "DT", "TD", "TP", "GF", "DP", "DL", "DL1", "DL2", "DL3", "QT"};

// Name given to parcels outside every township polygon, or when no township layer is set.
inline constexpr const char* kUnassignedTownship = "unassigned";

struct Parcel {
    std::int64_t id = 0;        // 1-based, unique in a run, in output order
    std::int64_t patch_id = 0;  // the change patch it came from (a patch split by a township
                                // boundary gives one parcel per township)
    OGRGeometryUniquePtr geometry;  // Polygon or MultiPolygon in the image CRS
    std::string township_name = kUnassignedTownship;
    std::string township_code;
    double area_m2 = 0;             // planar area in the area CRS
    double cultivated_m2 = 0;       // part of area_m2 on cultivated land
    double centroid_x = 0;          // centroid in the area CRS (easting, m)
    double centroid_y = 0;          // centroid in the area CRS (northing, m)
    double change_score = 0;        // mean detector score over the parcel's pixels
    std::int64_t pixel_count = 0;   // mask pixels of the patch part
    // Patch type (图斑类型 TBLX: 20, YH, DT, GF, DP, DL, QT; pipeline/patch_type.hpp), empty
    // until typed.
    std::string tblx;
    // Remarks (BZ), e.g. 设施农用地：核对备案 for a greenhouse (checked against the filings).
    std::string remarks;

    double area_mu() const { return area_m2 * kMuPerSquareMetre; }
    double cultivated_mu() const { return cultivated_m2 * kMuPerSquareMetre; }
};

}  // namespace weipian
