#pragma once
// A parcel's figures in the county's form (核查填报, ENFORCEMENT.md §2): the area parts in
// hundredths of a 亩 that add up exactly, the five evidence columns, the 永农/红线 flags and the
// criminal-threshold exposure. One definition used by parcels.gpkg, the ledger and its exports.
#include <array>
#include <cstdint>
#include <string>

#include "pipeline/core/parcel.hpp"

namespace weipian {

// Hundredths of a 亩 of a parcel's parts. total = to_centimu(area_m2) and
// total = cultivated + other_agricultural + unused + construction + unsurveyed exactly: each
// part is floored and the remaining hundredths go to the parts with the largest remainders
// (Hamilton's largest-remainder method; ties to the earlier part in this order). The overlays
// (permanent_farmland, redline) are rounded on their own and clamped to the 耕地 part and the
// total respectively.
struct LandPartsMu {
    std::int64_t total = 0;
    std::int64_t cultivated = 0;          // 占耕地面积
    std::int64_t other_agricultural = 0;  // 占非耕农用地面积
    std::int64_t unused = 0;              // 占未利用地面积
    std::int64_t construction = 0;        // 建设用地面积
    std::int64_t unsurveyed = 0;          // 未调查 (no DLTB polygon)
    std::int64_t permanent_farmland = 0;  // 占基本农田面积
    std::int64_t redline = 0;             // 占生态红线面积
};
LandPartsMu land_parts_centimu(const Parcel& parcel);

// The form's five evidence columns, in form order.
enum class EvidenceColumn { Approval = 0, Supply, Title, Temporary, Facility };
inline constexpr int kEvidenceColumns = 5;
// Column names in files (pzwh, gdwh, bdcqzh, lsydwh, ssnydh) and the form's headings
// (用地审批批准文号, 土地供应批准文号, 不动产权证号, 临时用地批准文号, 设施农用地上图入库号).
const char* evidence_field(EvidenceColumn column);
const char* evidence_heading(EvidenceColumn column);
// Which column an approval layer kind fills: 批准用地 and 增减挂钩 → Approval, 供地 → Supply,
// 不动产登记 → Title, 临时用地 → Temporary, 设施农用地 → Facility. Throws InternalError for
// another kind (config validation refuses those).
EvidenceColumn evidence_column_of(const std::string& kind);

struct FormEvidence {
    std::array<std::string, kEvidenceColumns> numbers;  // "、"-joined document numbers
    std::array<double, kEvidenceColumns> share_percent{};  // largest covered share among the column's layers, %
};
FormEvidence form_evidence(const ParcelOverlay& overlay);

// 是 when the layer covers at least kTouchMinimumM2 of the parcel (1 cm², the overlay's sliver
// limit), 否 below, 未评估 when the layer was not configured.
inline constexpr double kTouchMinimumM2 = 1e-4;
std::string touches_text(bool assessed, double area_m2);

// Criminal-threshold exposure (法释〔2000〕14号): "基本农田≥5亩" when the 永久基本农田 part
// reaches 5 亩, "耕地≥10亩" when the other 耕地 reaches 10 亩 (both joined by "；"), else empty.
std::string criminal_exposure(const LandPartsMu& parts);

}  // namespace weipian
