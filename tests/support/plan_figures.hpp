#pragma once
// The county plan's township figures (稷政办函〔2023〕18号, 二(一) 2018—2021 and 二(二) 2022),
// shared by the report and ledger golden tests. Listed out of the plan's order on purpose, so
// the tests show that the ranking comes from the code. Township codes are illustrative.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/core/parcel.hpp"

namespace weipian::test {

// A township of the plan: counts and hundredths of a 亩.
struct PlanRow {
    const char* name;
    const char* code;
    std::int64_t cases;
    std::int64_t area_centimu;
    std::int64_t cultivated_cases;
    std::int64_t cultivated_centimu;
};

inline const std::vector<PlanRow> kPlanCohort2018 = {
    {"蔡村乡", "140824200", 4, 1557, 0, 0},    {"西社镇", "140824103", 34, 33943, 3, 99},
    {"清河镇", "140824104", 12, 1950, 2, 116}, {"稷峰镇", "140824100", 35, 14131, 8, 2988},
    {"翟店镇", "140824102", 11, 3096, 2, 155}, {"太阳乡", "140824201", 7, 1881, 4, 397},
    {"化峪镇", "140824101", 15, 9593, 4, 562},
};

inline const std::vector<PlanRow> kPlanCohort2022 = {
    {"清河镇", "140824104", 1, 112, 0, 0},       {"稷峰镇", "140824100", 5, 941, 0, 0},
    {"西社镇", "140824103", 33, 16783, 3, 1218}, {"太阳乡", "140824201", 2, 327, 0, 0},
    {"翟店镇", "140824102", 10, 2250, 0, 0},     {"化峪镇", "140824101", 18, 6331, 5, 1349},
    {"蔡村乡", "140824200", 2, 3041, 0, 0},
};

// Parcels, the plan's report lines and the helpers that build them (the report and emit tests).
// m² whose to_centimu() is exactly `centimu` (亩 = m² × 0.0015).
inline double m2_of(std::int64_t centimu) { return static_cast<double>(centimu) * 20.0 / 3.0; }

// Parcels whose per-parcel rounded areas add up to the row's figures, shuffled.
inline std::vector<Parcel> parcels_for(const std::vector<test::PlanRow>& rows, unsigned seed) {
    std::vector<Parcel> parcels;
    for (const auto& row : rows) {
        for (std::int64_t i = 0; i < row.cases; ++i) {
            Parcel parcel;
            parcel.patch_id = static_cast<std::int64_t>(parcels.size()) + 1;
            parcel.township_name = row.name;
            parcel.township_code = row.code;
            const std::int64_t area = row.area_centimu / row.cases + (i < row.area_centimu % row.cases ? 1 : 0);
            std::int64_t cultivated = 0;
            if (i < row.cultivated_cases) {
                cultivated = row.cultivated_centimu / row.cultivated_cases +
                             (i < row.cultivated_centimu % row.cultivated_cases ? 1 : 0);
            }
            parcel.area_m2 = m2_of(area);
            parcel.cultivated_m2 = m2_of(cultivated);
            parcels.push_back(std::move(parcel));
        }
    }
    std::mt19937 random(seed);
    std::shuffle(parcels.begin(), parcels.end(), random);
    return parcels;
}


inline const std::vector<std::string> kPlan2018Lines = {
    "1. 稷峰镇违法用地 35 宗，总面积 141.31 亩，涉及耕地 8 宗，面积 29.88 亩。",
    "2. 化峪镇违法用地 15 宗，总面积 95.93 亩，涉及耕地 4 宗，面积 5.62 亩。",
    "3. 太阳乡违法用地 7 宗，总面积 18.81 亩，涉及耕地 4 宗，面积 3.97 亩。",
    "4. 翟店镇违法用地 11 宗，总面积 30.96 亩，涉及耕地 2 宗，面积 1.55 亩。",
    "5. 清河镇违法用地 12 宗，总面积 19.5 亩，涉及耕地 2 宗，面积 1.16 亩。",
    "6. 西社镇违法用地 34 宗，总面积 339.43 亩，涉及耕地 3 宗，面积 0.99 亩。",
    "7. 蔡村乡违法用地 4 宗，总面积 15.57 亩，不涉及耕地。",
};


inline const std::vector<std::string> kPlan2022Lines = {
    "1. 化峪镇违法用地 18 宗，总面积 63.31 亩，涉及耕地 5 宗，面积 13.49 亩。",
    "2. 西社镇违法用地 33 宗，总面积 167.83 亩，涉及耕地 3 宗，面积 12.18 亩。",
    "3. 蔡村乡违法用地 2 宗，总面积 30.41 亩，不涉及耕地。",
    "4. 翟店镇违法用地 10 宗，总面积 22.5 亩，不涉及耕地。",
    "5. 稷峰镇违法用地 5 宗，总面积 9.41 亩，不涉及耕地。",
    "6. 太阳乡违法用地 2 宗，总面积 3.27 亩，不涉及耕地。",
    "7. 清河镇违法用地 1 宗，总面积 1.12 亩，不涉及耕地。",
};

inline Parcel parcel_in(const std::string& name, const std::string& code, double area_m2, double cultivated_m2 = 0) {
    Parcel parcel;
    parcel.township_name = name;
    parcel.township_code = code;
    parcel.area_m2 = area_m2;
    parcel.cultivated_m2 = cultivated_m2;
    return parcel;
}

// Parcels are move-only, so a braced list cannot hold them.
template <typename... P>
std::vector<Parcel> parcels_of(P&&... parcels) {
    std::vector<Parcel> out;
    (out.push_back(std::forward<P>(parcels)), ...);
    return out;
}

}  // namespace weipian::test
