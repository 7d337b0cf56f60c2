// `weipian ledger report`: the county plan's two summaries reproduced word for word from a ledger
// seeded with exactly the plan's cases (稷政办函〔2023〕18号 二(一), 二(二)), progress against the
// milestones, overdue cases, and the `weipian ledger` command line — on both backends.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "pipeline/core/errors.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_report.hpp"
#include "pipeline/core/township_summary.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/plan_figures.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::LedgerBackend;



// The plan's text (its PDF line breaks inside a sentence removed).
const std::string kPlanSection2018 =
    "（一）2018—2021年新增建设违法违规用地情况\n\n"
    "2018—2021年，全县土地卫片执法共发现各类违法用地 118 宗，总面积 661.51 亩（其中：耕地 23 宗，面积 43.17 亩）。"
    "各乡镇违法占用耕地面积从大到小依次排名如下。\n\n"
    "1. 稷峰镇违法用地 35 宗，总面积 141.31 亩，涉及耕地 8 宗，面积 29.88 亩。\n"
    "2. 化峪镇违法用地 15 宗，总面积 95.93 亩，涉及耕地 4 宗，面积 5.62 亩。\n"
    "3. 太阳乡违法用地 7 宗，总面积 18.81 亩，涉及耕地 4 宗，面积 3.97 亩。\n"
    "4. 翟店镇违法用地 11 宗，总面积 30.96 亩，涉及耕地 2 宗，面积 1.55 亩。\n"
    "5. 清河镇违法用地 12 宗，总面积 19.5 亩，涉及耕地 2 宗，面积 1.16 亩。\n"
    "6. 西社镇违法用地 34 宗，总面积 339.43 亩，涉及耕地 3 宗，面积 0.99 亩。\n"
    "7. 蔡村乡违法用地 4 宗，总面积 15.57 亩，不涉及耕地。\n";
const std::string kPlanSection2022 =
    "（二）2022 年新增建设违法违规用地情况\n\n"
    "2022 年全县土地卫片执法共发现各类违法用地 71 宗，总面积 297.85 亩（其中：耕地 8 宗，面积 25.67 亩）。"
    "各乡镇违法占用耕地面积从大到小依次排名如下。\n\n"
    "1. 化峪镇违法用地 18 宗，总面积 63.31 亩，涉及耕地 5 宗，面积 13.49 亩。\n"
    "2. 西社镇违法用地 33 宗，总面积 167.83 亩，涉及耕地 3 宗，面积 12.18 亩。\n"
    "3. 蔡村乡违法用地 2 宗，总面积 30.41 亩，不涉及耕地。\n"
    "4. 翟店镇违法用地 10 宗，总面积 22.5 亩，不涉及耕地。\n"
    "5. 稷峰镇违法用地 5 宗，总面积 9.41 亩，不涉及耕地。\n"
    "6. 太阳乡违法用地 2 宗，总面积 3.27 亩，不涉及耕地。\n"
    "7. 清河镇违法用地 1 宗，总面积 1.12 亩，不涉及耕地。\n";

std::string without_whitespace(const std::string& text) {
    std::string out;
    for (const char ch : text)
        if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') out += ch;
    return out;
}

double m2_of(std::int64_t centimu) {
    return static_cast<double>(centimu) * 20.0 / 3.0;
}

// Feeds parcels for one run: `n` parcels per call, placed on their own grid cells.
class Seeder {
public:
    explicit Seeder(std::string location) : location_(std::move(location)) {}

    // Parcels for the township rows of one cohort, spread over `years` (one run each); the first
    // cultivated_cases of each township are on cultivated land; figures add up exactly.
    std::vector<std::string> seed(const std::vector<test::PlanRow>& rows, const std::vector<int>& years) {
        std::map<int, std::vector<Parcel>> by_year;
        std::size_t k = 0;
        for (const auto& row : rows)
            for (std::int64_t i = 0; i < row.cases; ++i, ++k) {
                const std::int64_t area = row.area_centimu / row.cases + (i < row.area_centimu % row.cases ? 1 : 0);
                std::int64_t cultivated = 0;
                if (i < row.cultivated_cases)
                    cultivated = row.cultivated_centimu / row.cultivated_cases + (i < row.cultivated_centimu % row.cultivated_cases ? 1 : 0);
                by_year[years[k % years.size()]].push_back(parcel(row.name, row.code, area, cultivated));
            }
        std::vector<std::string> ids;
        for (auto& [year, parcels] : by_year) {
            const auto fed = feed(parcels, std::to_string(year) + "-09-30");
            ids.insert(ids.end(), fed.begin(), fed.end());
        }
        return ids;
    }

    Parcel parcel(const std::string& township, const std::string& code, std::int64_t area_centimu, std::int64_t cultivated_centimu) {
        const double area = m2_of(area_centimu);
        const double side = std::sqrt(area);
        const std::size_t cell = next_cell_++;
        Parcel p = test::rectangle_parcel(static_cast<double>(cell % 40) * 300.0, static_cast<double>(cell / 40) * 300.0, side, side,
                                          township, code, m2_of(cultivated_centimu));
        p.area_m2 = area;  // exact figures; the outline is within rounding of it
        return p;
    }

    std::vector<std::string> feed(const std::vector<Parcel>& parcels, const std::string& hsx) {
        const auto summary = feed_ledger(test::ledger_options(location_), parcels, test::gk_zone_37(),
                                         test::jishan_context(hsx, "run-" + hsx + "-" + std::to_string(runs_++)));
        return summary.new_case_ids;
    }

private:
    std::string location_;
    std::size_t next_cell_ = 0;
    int runs_ = 0;
};

template <typename F>
std::string message_of_config(F&& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no exception)";
}

ImportRow verdict(const std::string& id, const std::string& result, const std::string& rectification, const std::string& date) {
    ImportRow row;
    row.where = "line ?";
    row.case_id = id;
    row.result = result;
    row.rectification = rectification;
    row.date = date;
    return row;
}

void apply_verdicts(const std::string& location, const std::vector<ImportRow>& rows) {
    const auto summary = import_verification(location, rows, {"县卫片办", "2023-12-31", "test"});
    ASSERT_EQ(summary.refused, 0u) << summary.text();
}

class LedgerReportTest : public test::LedgerFixture {};

TEST_P(LedgerReportTest, PlanSummariesReproducedWordForWord) {
    Seeder seeder(location());
    const auto ids2018 = seeder.seed(test::kPlanCohort2018, {2018, 2019, 2020, 2021});
    const auto ids2022 = seeder.seed(test::kPlanCohort2022, {2022});
    ASSERT_EQ(ids2018.size(), 118u);
    ASSERT_EQ(ids2022.size(), 71u);
    // Cases that are not judged illegal stay out of the summaries.
    std::vector<Parcel> others;
    others.push_back(seeder.parcel("稷峰镇", "140824100", 500, 100));
    others.push_back(seeder.parcel("化峪镇", "140824101", 700, 0));
    others.push_back(seeder.parcel("西社镇", "140824103", 900, 0));
    const auto other_ids = seeder.feed(others, "2020-10-30");
    std::vector<ImportRow> rows;
    for (const auto& id : ids2018) rows.push_back(verdict(id, "违法", "", "2023-03-01"));
    for (const auto& id : ids2022) rows.push_back(verdict(id, "违法", "", "2023-03-01"));
    rows.push_back(verdict(other_ids[0], "合法", "", "2023-03-01"));
    rows.push_back(verdict(other_ids[1], "误报", "销号", "2023-03-01"));  // [2] stays 待核查
    // Judged after the plan's date: not in a report as of 2023-07-06.
    apply_verdicts(location(), rows);

    LedgerReportOptions options;
    options.as_of = "2023-07-06";
    const LedgerReport report = build_ledger_report(location(), options);
    EXPECT_EQ(report.cases, 192);
    ASSERT_EQ(report.cohorts.size(), 2u);
    EXPECT_EQ(report.cohorts[0].total.cases, 118);
    EXPECT_EQ(report.cohorts[0].total.area_centimu, 66151);
    EXPECT_EQ(report.cohorts[0].total.cultivated_cases, 23);
    EXPECT_EQ(report.cohorts[0].total.cultivated_centimu, 4317);
    EXPECT_EQ(report.cohorts[1].total.cases, 71);
    EXPECT_EQ(report.cohorts[1].total.area_centimu, 29785);
    const std::string text = report.text();
    EXPECT_NE(text.find(kPlanSection2018), std::string::npos) << text;
    EXPECT_NE(text.find(kPlanSection2022), std::string::npos) << text;

    // Before the verdicts nothing was judged illegal.
    options.as_of = "2023-02-28";
    const LedgerReport earlier = build_ledger_report(location(), options);
    EXPECT_EQ(earlier.cohorts[0].total.cases, 0);
    EXPECT_NE(earlier.text().find("2018—2021年，全县土地卫片执法未发现违法用地。"), std::string::npos);

    // One cohort only.
    options.as_of = "2023-07-06";
    options.cohort = std::make_pair(2022, 2022);
    const LedgerReport only2022 = build_ledger_report(location(), options);
    ASSERT_EQ(only2022.cohorts.size(), 1u);
    EXPECT_NE(only2022.text().find(kPlanSection2022.substr(kPlanSection2022.find("\n") + 2)), std::string::npos);
}

TEST(LedgerReportGolden, ExpectedTextIsThePlansOwn) {
    // The literals above against the plan itself (../shared/seed), ignoring its PDF line breaks.
    const fs::path seed = fs::path(WEIPIAN_SOURCE_DIR) / ".." / "shared" / "seed" / "000_eb5929936699135c.txt";
    if (!fs::exists(seed)) GTEST_SKIP() << "the county plan is not at " << seed << "; the literals were copied from it";
    const std::string plan = without_whitespace(test::read_text(seed));
    for (const std::string& section : {kPlanSection2018, kPlanSection2022}) {
        std::size_t start = 0;
        while (start < section.size()) {
            const auto end = section.find('\n', start);
            const std::string line = section.substr(start, end - start);
            if (!line.empty()) {
                // The plan numbers its headings （一）（二） the same way.
                EXPECT_NE(plan.find(without_whitespace(line)), std::string::npos) << line;
            }
            start = end + 1;
        }
    }
}

TEST_P(LedgerReportTest, ProgressAgainstMilestonesMarksWhoIsBehind) {
    Seeder seeder(location());
    std::vector<Parcel> parcels;
    for (int i = 0; i < 4; ++i) parcels.push_back(seeder.parcel("稷峰镇", "140824100", 100, 0));
    for (int i = 0; i < 2; ++i) parcels.push_back(seeder.parcel("化峪镇", "140824101", 200, 0));
    const auto a = seeder.feed(parcels, "2021-09-30");  // 0001–0004 稷峰镇, 0005–0006 化峪镇
    parcels.clear();
    parcels.push_back(seeder.parcel("稷峰镇", "140824100", 300, 0));
    const auto b = seeder.feed(parcels, "2022-09-30");
    parcels.clear();
    parcels.push_back(seeder.parcel("化峪镇", "140824101", 400, 0));
    const auto c = seeder.feed(parcels, "2023-03-30");
    std::vector<ImportRow> rows;
    for (const auto& id : a) rows.push_back(verdict(id, "违法", "整改中", "2023-01-10"));
    rows.push_back(verdict(b[0], "违法", "", "2023-01-10"));
    rows.push_back(verdict(c[0], "违法", "", "2023-04-10"));
    rows.push_back(verdict(a[0], "", "已整改", "2023-08-01"));
    rows.push_back(verdict(a[1], "", "已整改", "2023-09-01"));
    rows.push_back(verdict(a[1], "", "销号", "2023-09-20"));
    rows.push_back(verdict(a[4], "", "已整改", "2023-10-15"));  // 化峪镇, after 09-30
    apply_verdicts(location(), rows);

    LedgerReportOptions options;
    options.as_of = "2023-10-20";
    const LedgerReport report = build_ledger_report(location(), options);
    ASSERT_EQ(report.milestones.size(), 4u);  // three configured, 年清 2023
    const MilestoneReport& first = report.milestones[0];
    EXPECT_EQ(first.evaluated_on, "2023-09-30");
    EXPECT_EQ(first.county.cases, 6);
    EXPECT_EQ(first.county.rectified, 2);
    EXPECT_EQ(first.county.required, 3);
    EXPECT_TRUE(first.county.behind());
    ASSERT_EQ(first.townships.size(), 2u);
    EXPECT_EQ(first.townships[0].township_name, "化峪镇");  // worst first
    EXPECT_EQ(first.townships[0].rectified, 0);
    EXPECT_TRUE(first.townships[0].behind());
    EXPECT_EQ(first.townships[1].township_name, "稷峰镇");
    EXPECT_EQ(first.townships[1].rectified, 2);
    EXPECT_FALSE(first.townships[1].behind());
    const MilestoneReport& second = report.milestones[1];  // 70 % by 2023-11-30: not due yet
    EXPECT_EQ(second.evaluated_on, "2023-10-20");
    EXPECT_EQ(second.county.rectified, 3);
    EXPECT_EQ(second.county.required, 5);
    EXPECT_FALSE(second.county.behind());
    EXPECT_TRUE(report.milestones[3].annual_clearance);
    EXPECT_EQ(report.milestones[3].milestone.deadline, "2023-12-31");
    EXPECT_EQ(report.milestones[3].county.cases, 1);

    const std::string text = report.text();
    EXPECT_NE(text.find("（一）2018—2021年违法用地 2023-09-30 前整改率不低于 50%（已到期）\n\n"
                        "全县违法用地 6 宗，已整改 2 宗，整改率 33.3%，应整改 3 宗，差 1 宗，未达标（落后）。\n"
                        "1. 化峪镇违法用地 2 宗，已整改 0 宗，整改率 0.0%，应整改 1 宗，差 1 宗，未达标（落后）。\n"
                        "2. 稷峰镇违法用地 4 宗，已整改 2 宗，整改率 50.0%，达标。\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("（二）2018—2021年违法用地 2023-11-30 前整改率不低于 70%（未到期，按 2023-10-20 计）\n\n"
                        "全县违法用地 6 宗，已整改 3 宗，整改率 50.0%，尚差 2 宗。\n"
                        "1. 稷峰镇违法用地 4 宗，已整改 2 宗，整改率 50.0%，尚差 1 宗。\n"
                        "2. 化峪镇违法用地 2 宗，已整改 1 宗，整改率 50.0%，尚差 1 宗。\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("（三）2022 年违法用地 2023-11-30 前全部整改到位（未到期，按 2023-10-20 计）"), std::string::npos);
    EXPECT_NE(text.find("（四）2023 年违法用地年清：2023-12-31 前全部整改到位（未到期，按 2023-10-20 计）"), std::string::npos);

    // As of 2023-09-15 the 稷峰镇 closure on 09-20 and 化峪镇's rectification have not happened.
    options.as_of = "2023-09-15";
    const LedgerReport earlier = build_ledger_report(location(), options);
    EXPECT_EQ(earlier.milestones[0].county.rectified, 2);
    EXPECT_EQ(earlier.milestones[1].county.rectified, 2);
    EXPECT_FALSE(earlier.milestones[0].county.behind());  // not due yet
}

TEST_P(LedgerReportTest, CasesOpenPastTheirYearShowTheirPlanOrItsAbsence) {
    Seeder seeder(location());
    std::vector<Parcel> parcels;
    for (int i = 0; i < 4; ++i) parcels.push_back(seeder.parcel("稷峰镇", "140824100", 120, 0));
    const auto ids = seeder.feed(parcels, "2022-09-30");
    parcels.clear();
    parcels.push_back(seeder.parcel("化峪镇", "140824101", 80, 0));
    const auto current = seeder.feed(parcels, "2023-05-30");
    std::vector<ImportRow> rows = {verdict(ids[0], "违法", "整改中", "2023-01-10"), verdict(ids[1], "违法", "", "2023-01-10"),
                                   verdict(ids[2], "违法", "整改中", "2023-01-10"), verdict(current[0], "违法", "", "2023-06-10")};
    rows[0].measures = "拆除复耕";
    rows[0].deadline = "2023-10-01";
    rows[0].responsible = "张三";
    rows[2].responsible = "李四";
    apply_verdicts(location(), rows);  // ids[3] stays 待核查

    LedgerReportOptions options;
    options.as_of = "2023-10-20";
    const LedgerReport report = build_ledger_report(location(), options);
    ASSERT_EQ(report.overdue.size(), 4u);  // the 2023 case is not past its year
    EXPECT_EQ(report.overdue[0].case_id, ids[0]);
    EXPECT_TRUE(report.overdue[0].missing.empty());
    EXPECT_TRUE(report.overdue[0].deadline_passed);
    EXPECT_EQ(report.overdue[1].missing.size(), 3u);
    EXPECT_EQ(report.overdue[2].missing, (std::vector<std::string>{"整改措施", "整改时限"}));
    EXPECT_EQ(report.overdue[3].status, CaseStatus::ToVerify);
    const std::string text = report.text();
    EXPECT_NE(text.find("1. " + ids[0] + "（稷峰镇，2022 年，整改中，1.2 亩）：整改措施：拆除复耕；整改时限：2023-10-01（已过期）；责任人：张三。\n"
                        "2. " + ids[1] + "（稷峰镇，2022 年，违法，1.2 亩）：缺整改方案（整改措施、整改时限、责任人）。\n"
                        "3. " + ids[2] + "（稷峰镇，2022 年，整改中，1.2 亩）：责任人：李四；整改方案不全（缺整改措施、整改时限）。\n"
                        "4. " + ids[3] + "（稷峰镇，2022 年，待核查，1.2 亩）：尚未核查；缺整改方案（整改措施、整改时限、责任人）。\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("四、影像复核：整改不到位（已整改图斑在新一期影像上仍显示建设）\n\n无。\n"), std::string::npos);
    EXPECT_EQ(message_of_config([&] {
                  LedgerReportOptions bad;
                  bad.as_of = "2023/10/20";
                  build_ledger_report(location(), bad);
              }),
              "report: --as-of '2023/10/20' is not a date YYYY-MM-DD");
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerReportTest, ::testing::Values(LedgerBackend::GeoPackage, LedgerBackend::PostgreSQL),
                         test::backend_name);

// ---- the command line -----------------------------------------------------------------------

class LedgerCli : public test::LedgerFixture {
protected:
    std::string quoted(const std::string& text) { return "'" + text + "'"; }
};

TEST_P(LedgerCli, ImportExportReport) {
    Seeder seeder(location());
    std::vector<Parcel> parcels;
    parcels.push_back(seeder.parcel("稷峰镇", "140824100", 150, 50));
    parcels.push_back(seeder.parcel("化峪镇", "140824101", 250, 0));
    seeder.feed(parcels, "2022-09-30");
    test::write_text(dir_ / "核查.csv",
                     "图斑编号,核查结果,整改状态,日期,责任人\n"
                     "140824-2022-0001,违法,整改中,2023-01-05,张三\n"
                     "140824-2022-0009,违法,,2023-01-05,\n"
                     "140824-2022-0002,违法,,2023-01-05,\n");
    auto r = test::run_cli("ledger import " + quoted((dir_ / "核查.csv").string()) + " --ledger " + quoted(location()) + " --who 李四",
                           dir_.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.out.find("line 3: unknown case id '140824-2022-0009'\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("3 rows: 2 applied (3 status changes, 1 field changes), 0 unchanged, 1 refused"), std::string::npos) << r.out;
    const auto entries = history();
    EXPECT_EQ(entries.back().who, "李四");
    EXPECT_EQ(entries.back().source, "import 核查.csv line 4");

    r = test::run_cli("ledger report --ledger " + quoted(location()) + " --as-of 2023-07-06 --cohort 2022 --out " +
                          quoted((dir_ / "report" / "2022.txt").string()),
                      dir_.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string report = test::read_text(dir_ / "report" / "2022.txt");
    EXPECT_NE(report.find("2022 年全县土地卫片执法共发现各类违法用地 2 宗，总面积 4 亩（其中：耕地 1 宗，面积 0.5 亩）。"), std::string::npos)
        << report;
    EXPECT_NE(report.find("1. 稷峰镇违法用地 1 宗，总面积 1.5 亩，涉及耕地 1 宗，面积 0.5 亩。\n2. 化峪镇违法用地 1 宗，总面积 2.5 亩，不涉及耕地。\n"),
              std::string::npos);

    r = test::run_cli("ledger export --ledger " + quoted(location()) + " --out " + quoted((dir_ / "cases.kml").string()), dir_.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("weipian: 2 cases of 2 townships written to"), std::string::npos);
    EXPECT_TRUE(fs::exists(dir_ / "cases.kml"));

    r = test::run_cli("ledger report --as-of 2023-07-06", dir_.path());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("ledger: no ledger given; pass --ledger LEDGER"), std::string::npos) << r.err;
    r = test::run_cli("ledger export --ledger " + quoted(location()) + " --out " + quoted((dir_ / "cases.txt").string()), dir_.path());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("export: cannot tell the format of"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerCli, ::testing::Values(LedgerBackend::GeoPackage, LedgerBackend::PostgreSQL),
                         test::backend_name);

}  // namespace
}  // namespace weipian
