#pragma once
// Units of the county's tables: the 亩 (mu) and its hundredths, and the two-decimal figures
// written to files. One copy each, used by the outputs and the ledger alike.
#include <cstdint>
#include <string>

namespace weipian {

inline constexpr double kMuPerSquareMetre = 0.0015;  // 1 亩 = 10000/15 m² exactly

// Hundredths of a 亩 for an area in m², rounded half away from zero.
std::int64_t to_centimu(double area_m2);

// Formats hundredths of a 亩 as the plan prints them: two decimals, trailing zeros dropped
// (1950 -> "19.5", 14131 -> "141.31", 2000 -> "20").
std::string format_mu(std::int64_t centimu);

// Hundredths of a 亩 with two decimals always, as a spreadsheet column ("141.31", "19.50", "0.00").
std::string format_mu_fixed2(std::int64_t centimu);

// `value` rounded to two decimals (m² and coordinates as written to files).
double round2(double value);

}  // namespace weipian
