// `weipian ledger report` sections 5 and 6 on a hand-built ledger: 整改率 by count, 亩 and 耕地亩
// as the province counts it (ENFORCEMENT.md §5: 剩余未整改面积 0 and review ended), the identity
// checks (printed, verified, loud when they fail), the cases resting on their status alone, and
// the 15 % ratio (§4) below, at the warning and at the limit — exact figures.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_report.hpp"
#include "ledger/ledger_store.hpp"
#include "tests/ledger/ledger_test_support.hpp"

namespace weipian {
namespace {

double m2_of(std::int64_t centimu) { return static_cast<double>(centimu) * 20.0 / 3.0; }

struct Seed {
    const char* township;
    const char* code;
    std::int64_t area, cultivated;  // hundredths of a 亩
};

// 2022 (ids 2022-0001…0007):
//   A 稷峰镇 3.00 (耕地 1.00)  拆除 3.00/1.00, 剩余 0, review ended          → rectified
//   B 稷峰镇 2.00 (0.50)       补办 2.00/0.50, 剩余 0, review ended          → rectified
//   C 稷峰镇 4.00 (1.50)       拆补组合 拆除 1.00/0.50 + 补办 3.00/1.00      → rectified (count: 补办)
//   D 化峪镇 1.00 (1.00)       拆除 0.60/0.60, 剩余 0.40, review ended, 已整改 → not (remaining)
//   E 化峪镇 2.50 (0)          拆除 2.50, 剩余 0, no review, 已整改          → not (review)
//   F 化峪镇 1.50 (0.30)       已整改, no quantities                          → by status
//   L 稷峰镇 17.00 (17.00)     合法
// 2023 (ids 2023-0001…0005): G 稷峰镇 2.00 (2.00) 违法; H 稷峰镇 20.00 (18.00) 合法;
//   I 化峪镇 1.00 (1.00) 待核查, pre-judged 非农违法; K 化峪镇 9.00 (9.00) 合法; J 化峪镇 4.00 (4.00) 伪变化.
const std::vector<Seed> k2022 = {{"稷峰镇", "140824100", 300, 100}, {"稷峰镇", "140824100", 200, 50},
                                 {"稷峰镇", "140824100", 400, 150}, {"化峪镇", "140824101", 100, 100},
                                 {"化峪镇", "140824101", 250, 0},   {"化峪镇", "140824101", 150, 30},
                                 {"稷峰镇", "140824100", 1700, 1700}};
const std::vector<Seed> k2023 = {{"稷峰镇", "140824100", 200, 200},
                                 {"稷峰镇", "140824100", 2000, 1800},
                                 {"化峪镇", "140824101", 100, 100},
                                 {"化峪镇", "140824101", 900, 900},
                                 {"化峪镇", "140824101", 400, 400}};

ImportRow form_row(const std::string& id, const std::string& verdict, const std::string& rectification, const std::string& date) {
    ImportRow r;
    r.where = "line ?";
    r.case_id = id;
    r.rectification = rectification;
    r.date = date;
    r.at(FormField::Verdict) = verdict;
    return r;
}

ImportRow quantities(const std::string& id, const std::string& d, const std::string& dc, const std::string& r, const std::string& rc,
                     const std::string& remaining, const std::string& review, const std::string& date = "2023-04-01") {
    ImportRow row = form_row(id, "", "已整改", date);
    row.at(FormField::Demolished) = d;
    row.at(FormField::DemolishedCultivated) = dc;
    row.at(FormField::Regularised) = r;
    row.at(FormField::RegularisedCultivated) = rc;
    row.at(FormField::Remaining) = remaining;
    row.at(FormField::ReviewEnded) = review;
    return row;
}

class LedgerRectificationReport : public test::LedgerFixture {
protected:
    void SetUp() override {
        test::LedgerFixture::SetUp();
        if (IsSkipped()) return;
        feed(k2022, "2022-09-30", 0);
        feed(k2023, "2023-06-30", 50);
        const std::string y22 = "140824-2022-000", y23 = "140824-2023-000";
        std::vector<ImportRow> rows;
        for (const char n : {'1', '2', '3', '4', '5', '6'}) rows.push_back(form_row(y22 + n, "非农违法", "整改中", "2023-01-10"));
        rows.push_back(form_row(y22 + "7", "合法", "", "2023-01-10"));
        rows.push_back(quantities(y22 + "1", "3.00", "1.00", "", "", "0", "2023-05-01"));
        rows.push_back(quantities(y22 + "2", "", "", "2.00", "0.50", "0", "2023-05-01"));
        rows.push_back(quantities(y22 + "3", "1.00", "0.50", "3.00", "1.00", "0", "2023-06-01"));
        rows.push_back(quantities(y22 + "4", "0.60", "0.60", "", "", "0.40", "2023-05-01"));
        rows.push_back(quantities(y22 + "5", "2.50", "", "", "", "0", ""));
        rows.push_back(form_row(y22 + "6", "", "已整改", "2023-04-01"));
        rows.push_back(form_row(y23 + "1", "非农违法", "", "2023-08-01"));
        rows.push_back(form_row(y23 + "2", "合法", "", "2023-08-01"));
        rows.push_back(form_row(y23 + "4", "合法", "", "2023-08-01"));
        rows.push_back(form_row(y23 + "5", "伪变化", "", "2023-08-01"));
        const auto summary = import_verification(location(), rows, {"县卫片办", "2023-12-31", "form.csv"});
        ASSERT_EQ(summary.refused, 0u) << summary.text();
        edit("140824-2023-0003", [](LedgerCase& c) { c.cp_verdict = "非农违法"; });
    }

    void feed(const std::vector<Seed>& seeds, const std::string& hsx, double y) {
        std::vector<Parcel> parcels;
        double x = 0;
        for (const auto& s : seeds) {
            Parcel p = test::rectangle_parcel(x, y * 100, 40, m2_of(s.area) / 40, s.township, s.code, m2_of(s.cultivated));
            p.area_m2 = m2_of(s.area);
            parcels.push_back(std::move(p));
            x += 300;
        }
        feed_ledger(test::ledger_options(location()), parcels, test::gk_zone_37(), test::jishan_context(hsx, "run-" + hsx));
    }

    template <typename F>
    void edit(const std::string& id, F&& change) {
        auto store = LedgerStore::open(location(), LedgerStore::Mode::Update);
        auto transaction = store->begin();
        for (auto c : store->load_cases())
            if (c.case_id == id) {
                change(c);
                store->update_case(c);
            }
        transaction.commit();
    }

    LedgerReport report() {
        LedgerReportOptions options;
        options.as_of = "2023-12-31";
        options.milestones = {LedgerMilestone{2022, 2022, 100, "2023-12-31"}};
        options.annual_clearance_from = 2023;
        return build_ledger_report(location(), options);
    }
};

TEST_P(LedgerRectificationReport, RatesThreeWaysWithTheirIdentities) {
    const LedgerReport r = report();
    ASSERT_EQ(r.milestones.size(), 2u);  // 2022, 年清 2023
    const RectificationFigures& f = r.milestones[0].county.figures;
    EXPECT_EQ(f.total.cases, 6);
    EXPECT_EQ(f.total.centimu, 1400);
    EXPECT_EQ(f.total.cultivated_centimu, 430);
    EXPECT_EQ(f.rectified.cases, 4);  // A, B, C and F (status only); D has 0.40 left, E no review
    EXPECT_EQ(f.rectified.centimu, 1050);
    EXPECT_EQ(f.rectified.cultivated_centimu, 330);
    EXPECT_EQ(f.not_rectified.cases, 2);
    EXPECT_EQ(f.demolished.cases, 1);  // A; C counts under 补办 (3.00 > 1.00)
    EXPECT_EQ(f.demolished.centimu, 400);
    EXPECT_EQ(f.demolished.cultivated_centimu, 150);
    EXPECT_EQ(f.regularised.cases, 2);
    EXPECT_EQ(f.regularised.centimu, 500);
    EXPECT_EQ(f.regularised.cultivated_centimu, 150);
    EXPECT_EQ(f.by_status.cases, 1);
    EXPECT_EQ(f.combined, 1);
    EXPECT_EQ(r.milestones[0].county.rectified, 4);  // section 2 counts the same way
    EXPECT_TRUE(r.identity_failures.empty());

    const std::string text = r.text();
    EXPECT_NE(text.find("五、整改率（省口径：剩余未整改面积为 0 且审核结束方计为整改到位；按宗数、亩、耕地亩）\n\n"
                        "（一）2022 年违法用地（2023-12-31 前全部整改到位，按 2023-12-31 计）\n\n"
                        "全县违法用地 6 宗 14 亩（耕地 4.3 亩），整改到位 4 宗 10.5 亩（耕地 3.3 亩）；整改率：按宗数 66.7%，按亩 75.0%，"
                        "按耕地亩 76.7%。\n"
                        "  核对：合计 6 宗 = 整改到位 4 宗 + 未整改到位 2 宗；14 亩 = 10.5 + 3.5；耕地 4.3 亩 = 3.3 + 1，相符。\n"
                        "  核对：整改到位 4 宗 = 拆除 1 宗 + 补办 2 宗 + 按整改状态计 1 宗；10.5 亩 = 4 + 5 + 1.5；耕地 3.3 亩 = 1.5 + 1.5 + "
                        "0.3（拆补组合 1 宗按拆除、补办面积较大的一项计数；按整改状态计的未填整改数量，面积按图斑计），相符。\n"
                        "1. 化峪镇违法用地 3 宗 5 亩（耕地 1.3 亩），整改到位 1 宗 1.5 亩（耕地 0.3 亩）；整改率：按宗数 33.3%，按亩 30.0%，"
                        "按耕地亩 23.1%。\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("2. 稷峰镇违法用地 3 宗 9 亩（耕地 3 亩），整改到位 3 宗 9 亩（耕地 3 亩）；整改率：按宗数 100.0%，按亩 100.0%，"
                        "按耕地亩 100.0%。\n"
                        "  核对：合计 3 宗 = 整改到位 3 宗 + 未整改到位 0 宗；9 亩 = 9 + 0；耕地 3 亩 = 3 + 0，相符。\n"
                        "  核对：整改到位 3 宗 = 拆除 1 宗 + 补办 2 宗；9 亩 = 4 + 5；耕地 3 亩 = 1.5 + 1.5（拆补组合 1 宗按拆除、补办面积较大的"
                        "一项计数），相符。\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("（二）2023 年违法用地年清（2023-12-31 前全部整改到位，按 2023-12-31 计）\n\n"
                        "全县违法用地 1 宗 2 亩（耕地 2 亩），整改到位 0 宗 0 亩（耕地 0 亩）；整改率：按宗数 0.0%，按亩 0.0%，按耕地亩 0.0%。\n"),
              std::string::npos)
        << text;
    // Section 2 uses the same rule.
    EXPECT_NE(text.find("全县违法用地 6 宗，已整改 4 宗，整改率 66.7%，应整改 6 宗，差 2 宗，未达标（落后）。\n"), std::string::npos) << text;
    // Which cases rest on their status, which 已整改 cases do not count and why.
    EXPECT_NE(text.find("注：以下 1 宗未填整改数量（剩余未整改面积），按整改状态（已整改、销号）计为整改到位，面积按图斑计；补填整改数量后按省口径计："
                        "140824-2022-0006（化峪镇，未填整改数量）。\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("注：以下 2 宗状态为已整改或销号，但按省口径不计为整改到位：140824-2022-0004（化峪镇，剩余未整改 0.4 亩）、"
                        "140824-2022-0005（化峪镇，审核未结束）。\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("核对不符"), std::string::npos);
}

TEST_P(LedgerRectificationReport, ReviewEndedAfterTheEvaluationDateDoesNotCountYet) {
    LedgerReportOptions options;
    options.as_of = "2023-05-15";  // C's review ends on 06-01
    options.milestones = {LedgerMilestone{2022, 2022, 100, "2023-12-31"}};
    options.annual_clearance_from = 0;
    const LedgerReport r = build_ledger_report(location(), options);
    ASSERT_EQ(r.milestones.size(), 1u);
    EXPECT_EQ(r.milestones[0].county.figures.rectified.cases, 3);  // A, B, F
    EXPECT_EQ(r.milestones[0].county.figures.rectified.centimu, 650);
}

TEST_P(LedgerRectificationReport, AFailingIdentityIsALoudLine) {
    // C's 拆除面积 edited to 1.50 in the ledger: 1.50 + 3.00 + 0 ≠ 4.00.
    edit("140824-2022-0003", [](LedgerCase& c) { c.demolished_centimu = 150; });
    const LedgerReport r = report();
    ASSERT_FALSE(r.identity_failures.empty());
    const std::string expected =
        "！核对不符：2022 年 全县 整改到位 4 宗 = 拆除 1 宗 + 补办 2 宗 + 按整改状态计 1 宗；10.5 亩 = 4.5 + 5 + 1.5；耕地 3.3 亩 = 1.5 + "
        "1.5 + 0.3（拆补组合 1 宗按拆除、补办面积较大的一项计数；按整改状态计的未填整改数量，面积按图斑计） 不成立，请核对拆除面积、补办面积与地块面积。";
    EXPECT_EQ(r.identity_failures.front(), expected);
    const std::string text = r.text();
    EXPECT_NE(text.find("  " + expected + "\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\n！共 2 项核对不符，见上。\n"), std::string::npos) << text;  // the county and 稷峰镇

    // The command line prints it to standard error even when the report goes to a file.
    const auto cli = test::run_cli("ledger report --ledger '" + location() + "' --as-of 2023-12-31 --out '" +
                                       (dir_ / "report.txt").string() + "'",
                                   dir_.path());
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    EXPECT_NE(cli.err.find("weipian: report: ！核对不符：2022 年 全县 整改到位"), std::string::npos) << cli.err;
}

TEST_P(LedgerRectificationReport, FifteenPercentRatio) {
    const LedgerReport r = report();
    ASSERT_EQ(r.ratios.size(), 2u);
    const RatioYear& y2022 = r.ratios[0];
    EXPECT_EQ(y2022.county.base_centimu, 2130);
    EXPECT_EQ(y2022.county.illegal_centimu, 430);
    EXPECT_EQ(y2022.county.level, 2);
    ASSERT_EQ(y2022.townships.size(), 2u);
    EXPECT_EQ(y2022.townships[1].township_name, "稷峰镇");
    EXPECT_EQ(y2022.townships[1].base_centimu, 2000);
    EXPECT_EQ(y2022.townships[1].illegal_centimu, 300);
    EXPECT_EQ(y2022.townships[1].level, 2);  // exactly 15 %
    const RatioYear& y2023 = r.ratios[1];
    EXPECT_EQ(y2023.county.base_centimu, 3000);  // J (伪变化) left out
    EXPECT_EQ(y2023.county.illegal_centimu, 200);
    EXPECT_EQ(y2023.county.suspected_centimu, 100);
    EXPECT_EQ(y2023.county.level, 0);
    EXPECT_EQ(y2023.county.level_with_suspected, 1);

    const std::string text = r.text();
    EXPECT_NE(text.find("六、违法占用耕地比例（占当年新增建设占用耕地，预警线 10%，红线 15%）\n\n"
                        "（一）2022 年\n\n"
                        "全县新增建设占用耕地 21.3 亩，其中违法占用 4.3 亩，占 20.2%。\n"
                        "！警告：2022 年全县违法占用耕地比例 20.2%，已达 15% 红线。\n"
                        "1. 化峪镇新增建设占用耕地 1.3 亩，其中违法占用 1.3 亩，占 100.0%。\n"
                        "！警告：2022 年化峪镇违法占用耕地比例 100.0%，已达 15% 红线。\n"
                        "2. 稷峰镇新增建设占用耕地 20 亩，其中违法占用 3 亩，占 15.0%。\n"
                        "！警告：2022 年稷峰镇违法占用耕地比例 15.0%，已达 15% 红线。\n"
                        "\n（二）2023 年\n\n"
                        "全县新增建设占用耕地 30 亩，其中违法占用 2 亩，占 6.7%；另有疑似违法（初判非农违法，尚未核查）1 亩，计入后占 10.0%。\n"
                        "！预警：2023 年全县计入疑似违法后比例 10.0%，达到预警线 10%，请尽快核查疑似图斑。\n"
                        "1. 稷峰镇新增建设占用耕地 20 亩，其中违法占用 2 亩，占 10.0%。\n"
                        "！预警：2023 年稷峰镇违法占用耕地比例 10.0%，已达预警线 10%（红线 15%）。\n"
                        "2. 化峪镇新增建设占用耕地 10 亩，其中违法占用 0 亩，占 0.0%；另有疑似违法（初判非农违法，尚未核查）1 亩，计入后占 10.0%。\n"
                        "！预警：2023 年化峪镇计入疑似违法后比例 10.0%，达到预警线 10%，请尽快核查疑似图斑。\n"),
              std::string::npos)
        << text;

    // Configured levels (config prejudge.ratio_warning / ratio_limit).
    LedgerReportOptions options;
    options.as_of = "2023-12-31";
    options.ratio_warning = 0.2;
    options.ratio_limit = 0.25;
    const LedgerReport other = build_ledger_report(location(), options);
    EXPECT_EQ(other.ratios[0].county.level, 1);                           // 20.2 % ≥ 20 %
    EXPECT_EQ(other.ratios[0].townships[1].level, 0);                     // 稷峰镇 15 % below the warning
    EXPECT_EQ(other.ratios[1].townships[0].level, 0);
    EXPECT_NE(other.text().find("预警线 20%，红线 25%"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerRectificationReport,
                         ::testing::Values(test::LedgerBackend::GeoPackage, test::LedgerBackend::PostgreSQL), test::backend_name);

}  // namespace
}  // namespace weipian
