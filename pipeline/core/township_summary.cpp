#include "pipeline/core/township_summary.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>

#include "pipeline/core/errors.hpp"

namespace weipian {

namespace {

bool is_unassigned(const TownshipSummary& row) { return row.code.empty() && row.name == kUnassignedTownship; }

// The unassigned row is not a township: its Chinese label reads "outside every township".
std::string township_label(const TownshipSummary& row) {
    return is_unassigned(row) ? std::string(kUnassignedTownshipLabel) : row.name;
}

}  // namespace

std::vector<TownshipSummary> summarize_by_township(const std::vector<Parcel>& parcels) {
    std::map<std::pair<std::string, std::string>, TownshipSummary> groups;  // (code, name)
    for (const auto& parcel : parcels) {
        auto& row = groups[{parcel.township_code, parcel.township_name}];
        row.code = parcel.township_code;
        row.name = parcel.township_name;
        const auto cultivated = to_centimu(parcel.cultivated_m2);
        ++row.cases;
        row.area_centimu += to_centimu(parcel.area_m2);
        if (cultivated > 0) {
            ++row.cultivated_cases;
            row.cultivated_centimu += cultivated;
        }
    }
    std::vector<TownshipSummary> rows;
    rows.reserve(groups.size());
    for (auto& [key, row] : groups) rows.push_back(std::move(row));
    std::stable_sort(rows.begin(), rows.end(), [](const TownshipSummary& a, const TownshipSummary& b) {
        // Parcels outside every township come last whatever their area: they are not a township
        // that can be ranked, but they stay in the table so the rows add up to the county total.
        const bool a_out = is_unassigned(a);
        const bool b_out = is_unassigned(b);
        return std::make_tuple(a_out, -a.cultivated_centimu, -a.area_centimu, std::cref(a.code), std::cref(a.name)) <
               std::make_tuple(b_out, -b.cultivated_centimu, -b.area_centimu, std::cref(b.code), std::cref(b.name));
    });
    return rows;
}

TownshipSummary total_of(const std::vector<TownshipSummary>& rows) {
    TownshipSummary total;
    for (const auto& row : rows) {
        total.cases += row.cases;
        total.area_centimu += row.area_centimu;
        total.cultivated_cases += row.cultivated_cases;
        total.cultivated_centimu += row.cultivated_centimu;
    }
    return total;
}

std::string format_township_line(int rank, const TownshipSummary& row, const std::string& noun) {
    std::string line = std::to_string(rank) + ". " + township_label(row) + noun + " " + std::to_string(row.cases) +
                       " 宗，总面积 " + format_mu(row.area_centimu) + " 亩，";
    if (row.cultivated_cases > 0 || row.cultivated_centimu > 0) {
        line += "涉及耕地 " + std::to_string(row.cultivated_cases) + " 宗，面积 " + format_mu(row.cultivated_centimu) +
                " 亩。";
    } else {
        line += "不涉及耕地。";
    }
    return line;
}

std::string format_county_line(const std::string& prefix, const TownshipSummary& total, const std::string& noun) {
    return prefix + "共发现各类" + noun + " " + std::to_string(total.cases) + " 宗，总面积 " +
           format_mu(total.area_centimu) + " 亩（其中：耕地 " + std::to_string(total.cultivated_cases) + " 宗，面积 " +
           format_mu(total.cultivated_centimu) + " 亩）。";
}

}  // namespace weipian
