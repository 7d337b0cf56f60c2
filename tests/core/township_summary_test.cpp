// Township summary: the county plan's wording (稷政办函〔2023〕18号, section 二) reproduced line
// for line, ranking, rounding per case and totals that equal the sum of the rows.
#include "pipeline/core/township_summary.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/emit.hpp"
#include "tests/support/plan_figures.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;


using test::m2_of;
using test::parcel_in;
using test::parcels_for;
using test::parcels_of;
using test::kPlan2018Lines;
using test::kPlan2022Lines;

// ---------------------------------------------------------------------------------------------
// numbers

TEST(ReportTest, CultivatedCaseNeedsRoundedCultivatedAreaAboveZero) {
    auto parcels = parcels_of(parcel_in("稷峰镇", "1", 1000, 3.3),   // 0.495 centimu -> 0: not a case
                              parcel_in("稷峰镇", "1", 1000, 3.4));  // 0.51 -> 1: a case
    const auto rows = summarize_by_township(parcels);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].cases, 2);
    EXPECT_EQ(rows[0].cultivated_cases, 1);
    EXPECT_EQ(rows[0].cultivated_centimu, 1);
}

TEST(ReportTest, RowsSumPerParcelRoundedValues) {
    // Three parcels of 4 m² (0.6 centimu each): printed 0.01 亩 each, so the row says 0.03 亩
    // although 12 m² alone would round to 0.02.
    auto parcels = parcels_of(parcel_in("清河镇", "4", 4), parcel_in("清河镇", "4", 4), parcel_in("清河镇", "4", 4));
    const auto rows = summarize_by_township(parcels);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].area_centimu, 3);
    EXPECT_EQ(total_of(rows).area_centimu, 3);
}

TEST(ReportTest, TotalsEqualTheSumOfTheRows) {
    const auto rows = summarize_by_township(parcels_for(test::kPlanCohort2018, 1));
    const auto total = total_of(rows);
    std::int64_t cases = 0, area = 0, cultivated_cases = 0, cultivated = 0;
    for (const auto& row : rows) {
        cases += row.cases;
        area += row.area_centimu;
        cultivated_cases += row.cultivated_cases;
        cultivated += row.cultivated_centimu;
    }
    EXPECT_EQ(total.cases, cases);
    EXPECT_EQ(total.area_centimu, area);
    EXPECT_EQ(total.cultivated_cases, cultivated_cases);
    EXPECT_EQ(total.cultivated_centimu, cultivated);
    EXPECT_EQ(total.cases, 118);
    EXPECT_EQ(total.area_centimu, 66151);
}

// ---------------------------------------------------------------------------------------------
// the plan's wording

TEST(ReportTest, ReproducesThePlan2018To2021TableWordForWord) {
    for (unsigned seed : {1u, 2u, 3u}) {
        const auto rows = summarize_by_township(parcels_for(test::kPlanCohort2018, seed));
        ASSERT_EQ(rows.size(), kPlan2018Lines.size());
        for (std::size_t i = 0; i < rows.size(); ++i) {
            EXPECT_EQ(format_township_line(static_cast<int>(i) + 1, rows[i], "违法用地"), kPlan2018Lines[i]);
        }
        EXPECT_EQ(format_county_line("2018—2021年，全县土地卫片执法", total_of(rows), "违法用地"),
                  "2018—2021年，全县土地卫片执法共发现各类违法用地 118 宗，总面积 661.51 亩（其中：耕地 23 宗，面积 "
                  "43.17 亩）。");
    }
}

TEST(ReportTest, ReproducesThePlan2022TableWordForWord) {
    const auto rows = summarize_by_township(parcels_for(test::kPlanCohort2022, 7));
    ASSERT_EQ(rows.size(), kPlan2022Lines.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(format_township_line(static_cast<int>(i) + 1, rows[i], "违法用地"), kPlan2022Lines[i]);
    }
    EXPECT_EQ(format_county_line("2022 年全县土地卫片执法", total_of(rows), "违法用地"),
              "2022 年全县土地卫片执法共发现各类违法用地 71 宗，总面积 297.85 亩（其中：耕地 8 宗，面积 25.67 亩）。");
}

TEST(ReportTest, RankingBreaksTiesByTotalAreaThenCode) {
    auto parcels = parcels_of(
        parcel_in("乙镇", "140824102", m2_of(500), m2_of(100)), parcel_in("甲镇", "140824101", m2_of(500), m2_of(100)),
        parcel_in("丙镇", "140824103", m2_of(900), m2_of(100)), parcel_in("丁镇", "140824104", m2_of(100), m2_of(200)));
    const auto rows = summarize_by_township(parcels);
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].name, "丁镇");  // most cultivated
    EXPECT_EQ(rows[1].name, "丙镇");  // same cultivated, larger total
    EXPECT_EQ(rows[2].name, "甲镇");  // same both: smaller code first
    EXPECT_EQ(rows[3].name, "乙镇");
}

TEST(ReportTest, UnassignedRowComesLastAndReadsOutsideEveryTownship) {
    auto parcels = parcels_of(parcel_in(kUnassignedTownship, "", m2_of(90000), m2_of(9000)),
                              parcel_in("蔡村乡", "140824200", m2_of(100)));
    const auto rows = summarize_by_township(parcels);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].name, "蔡村乡");
    EXPECT_EQ(rows[1].name, kUnassignedTownship);
    EXPECT_EQ(format_township_line(2, rows[1], "疑似违法用地"),
              "2. 乡镇界外疑似违法用地 1 宗，总面积 900 亩，涉及耕地 1 宗，面积 90 亩。");
    EXPECT_EQ(total_of(rows).area_centimu, 90100);
}

// ---------------------------------------------------------------------------------------------
// output files

}  // namespace
}  // namespace weipian
