#pragma once
// Patch type (图斑类型, field TBLX) of each parcel from the after epoch's pixels, by documented
// rules over the statistics of kernels/patch_type.hpp. A suggestion for the field check, never a
// finding: the checker corrects it on site.
//
// Codes (DOMAIN.md "TBLX"; 大棚 has no code there or in ENFORCEMENT.md, so weipian uses DP):
//   20  building (建筑)            DL  road (道路; the grade DL1–DL3 is left to the checker)
//   YH  hardened ground (硬化)      GF  solar farm (光伏)
//   DT  earthworks (动土/堆土; TD/TP are refinements the checker makes)
//   DP  greenhouse (大棚, facility agriculture 设施农业)   QT  other (其他)
//
// Rules, first match wins (rel = parcel brightness / surroundings' brightness; widths in metres
// from the pixel size):
//   1. QT  fewer than kMinPixels pixels: too small to type;
//   2. DL  elongation ≥ 6 and width 2–30 m (a road is long and narrow; 30 m covers a divided
//          highway, 2 m a field track);
//   3. GF  rel ≤ 0.8, not vegetated (vi < 0.3), regular stripes (anisotropy ≥ 0.3 and stripe
//          regularity ≥ 0.3): dark blue/black panel rows;
//   4. DP  rel ≥ 1.15, saturation ≤ 0.2, regular stripes with a period of 2–30 m, on cultivated
//          land (≥ half of it, or cultivated land not assessed): bright white plastic bays;
//   5. 20  blue steel-sheet roof (彩钢瓦): ≥ half the pixels B > G > R and saturation ≥ 0.15;
//   6. DT  brown/bare: saturation ≥ 0.18, not bluish, vi < 0.2, textured (brightness sd / mean ≥
//          0.03 or edge density ≥ 0.1);
//   7. 20  compact (compactness ≥ 0.45) and either high edge density (≥ 0.15) or a shadow along
//          the outline (≥ 15 % of the ring): roofs show ridges, skylights and cast shadows;
//   8. YH  rel ≥ 1.1 and saturation < 0.18: bright, grey, smooth (concrete, asphalt, gravel);
//   9. 20  brown but smooth and compact (red clay tiles);
//  10. QT  anything else.
// Greenhouses (DP) get the remark kFacilityCheckRemark (BZ) and are not buildings: they are
// checked against the facility-agriculture filings (ENFORCEMENT.md §3), not flagged as violations.
#include <optional>
#include <string>
#include <vector>

#include "kernels/patch_type.hpp"
#include "pipeline/core/parcel.hpp"

namespace weipian {

class AlignedEpochs;

inline constexpr const char* kFacilityCheckRemark = "设施农用地：核对备案";
inline constexpr long long kPatchTypeMinPixels = 16;

// One code of the TBLX vocabulary: code, Chinese name, what it means here.
struct PatchTypeCode {
    const char* code;
    const char* name;
    const char* meaning;
};

// The codes weipian assigns, in the order above: 20, YH, DT, GF, DP, DL, QT.
const std::vector<PatchTypeCode>& patch_type_codes();

struct PatchType {
    std::string code;    // one of patch_type_codes()
    std::string reason;  // the rule that decided, e.g. "rule 2: elongation 40.0, width 5.5 m"
    bool filing_check = false;  // greenhouse: check the facility-agriculture filing
};

// The type of a parcel with statistics `stats` on pixels of `pixel_size_m` metres;
// `cultivated_share` is the parcel's share on cultivated land (empty: not assessed).
PatchType classify_patch(const kernels::PatchStats& stats, double pixel_size_m, std::optional<double> cultivated_share);

// Sets tblx (and, for greenhouses, remarks) of every parcel from the after epoch of `epochs`:
// each parcel's outline (image CRS) is rasterized onto its window of the grid (with a margin of
// kPatchTypeMarginPx), the window read, the statistics taken and the rules applied. Parcels whose
// windows share rows are read together (one strip per group). `cultivated_assessed` false: the
// parcels' cultivated areas are unknown. Throws InputError when the imagery cannot be read.
inline constexpr int kPatchTypeMarginPx = 8;
void assign_patch_types(std::vector<Parcel>& parcels, const AlignedEpochs& epochs, bool cultivated_assessed);

}  // namespace weipian
