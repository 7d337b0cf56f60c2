#pragma once
// The county plan's township figures (稷政办函〔2023〕18号, 二(一) 2018—2021 and 二(二) 2022),
// shared by the report and ledger golden tests. Listed out of the plan's order on purpose, so
// the tests show that the ranking comes from the code. Township codes are illustrative.
#include <cstdint>
#include <vector>

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

}  // namespace weipian::test
