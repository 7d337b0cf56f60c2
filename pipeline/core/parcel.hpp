#pragma once
// A parcel (图斑): one polygon of new construction, as emitted for field verification.
#include <cstdint>
#include <string>
#include <vector>

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

// The area split of a parcel by the land-use survey (三调 DLTB) classes, in the GB/T 21010
// groups of the national form (ENFORCEMENT.md §2), declared once in pipeline/land_class.hpp.
// The four parts of the form plus `unsurveyed_m2` (land under no DLTB polygon, or every part
// when DLTB is not configured) add up to Parcel::area_m2; Parcel::cultivated_m2 is the 耕地
// part. land_parts_centimu (pipeline/land_class.hpp) rounds them so that the hundredths of a
// 亩 add up exactly (地块面积 = 耕地 + 非耕农用地 + 未利用地 + 建设用地 [+ 未调查]).
struct LandParts {
    double other_agricultural_m2 = 0;  // 非耕农用地: 园地, 林地, 牧草地, 1006, 1104, 1107, 1202, 1203, …
    double unused_m2 = 0;              // 未利用地: 0404, natural water and wetland, bare land (12xx)
    double construction_m2 = 0;        // 建设用地: 05–10 except 1006, 1109, 1201
    double unsurveyed_m2 = 0;          // under no DLTB polygon
    // Inside the parts above (kept apart where the pre-judgement rules need them):
    double facility_m2 = 0;       // DLBM 1202 设施农用地 (inside other_agricultural_m2)
    double rural_road_m2 = 0;     // DLBM 1006 农村道路 (inside other_agricultural_m2)
    double homestead_m2 = 0;      // DLBM 0702 农村宅基地 (inside construction_m2)
    double urban_village_m2 = 0;  // DLTB urban-village attribute (CZCSXM) 203 村庄 (any class)
    std::string dominant_class;   // DLBM with the largest area inside the parcel; empty = none
};

// What one approval layer (批准用地, 增减挂钩, 供地, 不动产登记, 临时用地, 设施农用地) says
// about a parcel: the part of the parcel its features cover and their document numbers.
struct ApprovalCover {
    std::string kind;        // ApprovalLayerConfig::kind, e.g. 批准用地
    std::string name;        // ApprovalLayerConfig::name (label in outputs)
    double covered_m2 = 0;   // parcel ∩ union of the layer's features, area CRS
    double share = 0;        // covered_m2 / area_m2 in [0, 1]
    std::vector<std::string> numbers;  // document numbers of the features that cover part of it, sorted, unique
    std::string end_date;    // 临时用地: the latest end date (YYYY-MM-DD) of those features; else empty
};

// The enforcement overlay of a parcel (pipeline/overlay.hpp). `*_assessed` are false when the
// layer was not configured, so "0 m²" is not read as "not inside".
struct ParcelOverlay {
    LandParts land;
    bool land_assessed = false;               // DLTB configured
    double permanent_farmland_m2 = 0;         // 永久基本农田 (YJJBNTTB) inside the parcel
    bool permanent_farmland_assessed = false;
    double redline_m2 = 0;                    // 生态保护红线 inside the parcel
    bool redline_assessed = false;
    double urban_boundary_m2 = 0;             // 城镇开发边界 inside the parcel
    bool urban_boundary_assessed = false;
    std::string village_name, village_code;   // the village (村) holding most of the parcel
    std::vector<ApprovalCover> approvals;     // one per configured approval layer, config order
};

// The pre-judgement (初判) of a parcel: a suggestion, never a verdict (pipeline/prejudge.hpp,
// ENFORCEMENT.md §3). Every output labels it as a suggestion (建议).
struct Prejudgement {
    std::string verdict;   // suggested 核实认定意见: 合法, 其他, 非农违法, 农村道路, 设施农用地, or 存疑
    std::string category;  // suggested 分类 (批文, 供地手续, 农村宅基地, 工矿商服, …); may be empty
    std::string rule;      // the rule that fired, e.g. "1 合法·批文"; for 存疑 the rule that could not decide
    std::string evidence;  // e.g. "批准用地 晋政地〔2022〕15号 覆盖 98.5%"; empty when none
    std::string missing;   // 存疑: what is missing to decide (e.g. "无审批图层"); else empty
    bool empty() const { return verdict.empty(); }
};

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
    // Enforcement overlay (永农, 红线, villages, approvals, DLTB parts), filled by OverlayStage.
    ParcelOverlay overlay;
    // Pre-judgement, filled by the prejudge stage after patch typing; empty when off.
    Prejudgement prejudgement;
    // Set by the ledger sink before the outputs are written: the case the parcel fed and the
    // delivered lead (线索编号, e.g. 140824SJBG23210183_2) it matches; empty without a ledger.
    std::string case_id;
    std::string lead_id;

    double area_mu() const { return area_m2 * kMuPerSquareMetre; }
    double cultivated_mu() const { return cultivated_m2 * kMuPerSquareMetre; }
};

}  // namespace weipian
