#pragma once
// The township summary: per-township counts and 亩 ranked as the county plan ranks them, and
// its text in the plan's own wording (稷政办函〔2023〕18号, section 二).
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/core/parcel.hpp"
#include "pipeline/core/units.hpp"

namespace weipian {

// One township's line. Areas are kept in hundredths of a 亩 (integers), each case rounded
// half away from zero first, so that rows and totals add up exactly as printed.
struct TownshipSummary {
    std::string name;
    std::string code;
    std::int64_t cases = 0;
    std::int64_t area_centimu = 0;
    std::int64_t cultivated_cases = 0;  // cases with cultivated area > 0 (after rounding to 0.01 亩)
    std::int64_t cultivated_centimu = 0;
};

// How format_township_line names the "unassigned" row (kUnassignedTownship, empty code).
inline constexpr const char* kUnassignedTownshipLabel = "乡镇界外";

// to_centimu and format_mu are in pipeline/core/units.hpp.

// Groups parcels by township, counting a case once per parcel. Ranked by cultivated area
// (descending), then total area (descending), then township code and name. The "unassigned"
// row (parcels outside every township) is always last, so the rows still sum to the county.
std::vector<TownshipSummary> summarize_by_township(const std::vector<Parcel>& parcels);

// Sum of the rows (exactly the sum of the printed values).
TownshipSummary total_of(const std::vector<TownshipSummary>& rows);

// "1. 稷峰镇违法用地 35 宗，总面积 141.31 亩，涉及耕地 8 宗，面积 29.88 亩。" — `noun` is the
// case noun ("违法用地" in the plan, "疑似违法用地" for unverified candidates).
std::string format_township_line(int rank, const TownshipSummary& row, const std::string& noun);

// The county line that heads a ranking:
// "<prefix>共发现各类<noun> 118 宗，总面积 661.51 亩（其中：耕地 23 宗，面积 43.17 亩）。"
std::string format_county_line(const std::string& prefix, const TownshipSummary& total,
                               const std::string& noun);

}  // namespace weipian
