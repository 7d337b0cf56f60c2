// `weipian ledger import` with the county's form (核查填报, ENFORCEMENT.md §2, §5): verdicts and
// 分类 with their spelling variants set the lifecycle through the usual transitions, the areas,
// evidence and rectification quantities land on the case, and every refusal (values outside the
// lists, broken identities, negative areas, bad dates) names its line and leaves the ledger
// unchanged — also for the rows that were fine. CSV and XLSX (libxlsxwriter, as Excel writes).
#include <gtest/gtest.h>

#include <xlsxwriter.h>

#include <string>
#include <vector>

#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

double m2_of(std::int64_t centimu) { return static_cast<double>(centimu) * 20.0 / 3.0; }

class LedgerFormImport : public test::LedgerFixture {
protected:
    // Five cases of 2023: 0001 3.20 亩 (耕地 1.10), 0002 2.00 亩 (耕地 1.00), 0003 1.50 亩,
    // 0004 0.90 亩, 0005 0.60 亩.
    void SetUp() override {
        test::LedgerFixture::SetUp();
        if (IsSkipped()) return;
        std::vector<Parcel> parcels;
        const std::pair<std::int64_t, std::int64_t> areas[] = {{320, 110}, {200, 100}, {150, 0}, {90, 0}, {60, 0}};
        double x = 0;
        for (const auto& [area, cultivated] : areas) {
            Parcel p = test::rectangle_parcel(x, 0, 40, m2_of(area) / 40, "稷峰镇", "140824100", m2_of(cultivated));
            p.area_m2 = m2_of(area);
            parcels.push_back(std::move(p));
            x += 200;
        }
        feed_ledger(test::ledger_options(location()), parcels, test::gk_zone_37(),
                    test::jishan_context("2023-06-18", "run-A", "2023-04-10"));
    }
    ImportSummary import(const std::vector<ImportRow>& rows) {
        return import_verification(location(), rows, {"张三", "2023-12-31", "form.csv"});
    }
    static ImportRow row(const std::string& where, const std::string& id, const std::string& verdict, const std::string& category = "",
                         const std::string& date = "2023-07-01") {
        ImportRow r;
        r.where = where;
        r.case_id = id;
        r.date = date;
        r.at(FormField::Verdict) = verdict;
        r.at(FormField::Category) = category;
        return r;
    }
    // Imports `bad` (refused) after a good row: the message of `bad`'s line, and nothing applied.
    std::string refusal_of(ImportRow bad) {
        ImportRow good = row("line 2", "140824-2023-0005", "伪变化");
        const auto summary = import({good, bad});
        EXPECT_EQ(summary.form_refused, 1u);
        EXPECT_EQ(summary.applied, 0u);
        EXPECT_EQ(case_of("140824-2023-0005").status, CaseStatus::ToVerify) << "the good row must not be applied either";
        EXPECT_NE(summary.text().find("the ledger is unchanged: 1 row breaks the form (lists or area identities); correct it and "
                                      "import the whole sheet again\n"),
                  std::string::npos)
            << summary.text();
        for (const auto& issue : summary.issues)
            if (issue.where == bad.where) return issue.where + ": " + issue.message;
        return "(no refusal)";
    }
};

TEST_P(LedgerFormImport, CsvFormSetsVerdictStatusAndFields) {
    test::write_text(dir_ / "form.csv",
                     "图斑编号,核实认定意见,分类,用途分类细化,项目名称,建设时间,项目主体,现场核查描述,地块面积（亩）,占耕地面积,"
                     "占基本农田面积,占非耕农用地面积,占未利用地面积,占生态红线面积,建设用地面积,设施农用地上图入库号,"
                     "设施农用地上图入库号占比,日期\n"
                     "140824-2023-0001,非农违法,工矿商服,厂房类,某厂房,2023年5月,某公司,现场为厂房,3.20,1.10,0.60,0.50,0,0.10,1.60,,,"
                     "2023-07-01\n"
                     "140824-2023-0002,实地为设施,,,,,,大棚,,,,,,,,140824-SS-001,100,2023-07-02\n"
                     "140824-2023-0003,其他,203范围,,,,,,,,,,,,,,,2023-07-03\n"
                     "140824-2023-0004,其他,边坡治理地块,,,,,,,,,,,,,,,2023-07-03\n"
                     "140824-2023-0005,伪变化,,,,,,,,,,,,,,,,2023-07-04\n");
    const auto rows = read_import_file(dir_ / "form.csv");
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0].at(FormField::Area), "3.20");
    const auto summary = import(rows);
    EXPECT_EQ(summary.refused, 0u) << summary.text();
    EXPECT_EQ(summary.applied, 5u);
    EXPECT_EQ(summary.status_changes, 5u);

    const auto all = cases();
    const LedgerCase* a = find(all, "140824-2023-0001");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, CaseStatus::Illegal);
    EXPECT_EQ(a->result, CaseStatus::Illegal);
    EXPECT_EQ(a->verdict, "非农违法");
    EXPECT_EQ(a->category, "工矿商服");
    EXPECT_EQ(a->use_detail, "厂房类");
    EXPECT_EQ(a->project, "某厂房");
    EXPECT_EQ(a->built_at, "2023-05");
    EXPECT_EQ(a->developer, "某公司");
    EXPECT_EQ(a->field_notes, "现场为厂房");
    EXPECT_EQ(a->area_centimu, 320);
    EXPECT_EQ(a->cultivated_centimu, 110);
    EXPECT_EQ(a->permanent_farmland_centimu, 60);
    EXPECT_EQ(a->other_agricultural_centimu, 50);
    EXPECT_EQ(a->unused_centimu, 0);
    EXPECT_EQ(a->redline_centimu, 10);
    EXPECT_EQ(a->construction_centimu, 160);
    EXPECT_EQ(a->unsurveyed_centimu, 0);
    EXPECT_EQ(to_centimu(a->area_m2), 320);

    const LedgerCase* b = find(all, "140824-2023-0002");
    EXPECT_EQ(b->verdict, "设施农用地");  // 实地为设施
    EXPECT_EQ(b->status, CaseStatus::Legal);
    EXPECT_EQ(b->facility_no, "140824-SS-001");
    EXPECT_DOUBLE_EQ(b->facility_share, 100.0);
    EXPECT_EQ(find(all, "140824-2023-0003")->category, "203范围及开天窗");
    EXPECT_EQ(find(all, "140824-2023-0003")->status, CaseStatus::Legal);
    EXPECT_EQ(find(all, "140824-2023-0004")->category, "边坡治理");
    EXPECT_EQ(find(all, "140824-2023-0005")->status, CaseStatus::FalseAlarm);

    // History: the transition, then the fields, each with the line it came from.
    std::vector<HistoryEntry> of_a;
    for (const auto& e : history())
        if (e.case_id == "140824-2023-0001" && e.from_status) of_a.push_back(e);
    ASSERT_EQ(of_a.size(), 2u);
    EXPECT_EQ(of_a[0].what, "核查结果：违法");
    EXPECT_EQ(of_a[0].to_status, CaseStatus::Illegal);
    EXPECT_EQ(of_a[0].at, "2023-07-01");
    EXPECT_EQ(of_a[0].source, "import form.csv line 2");
    EXPECT_NE(of_a[1].what.find("核实认定意见：（空） → 非农违法；分类：（空） → 工矿商服"), std::string::npos) << of_a[1].what;
    EXPECT_EQ(of_a[1].what.find("地块面积："), std::string::npos) << of_a[1].what;  // unchanged figures are not listed
    EXPECT_NE(of_a[1].what.find("建设用地面积：0.00 亩 → 1.60 亩"), std::string::npos) << of_a[1].what;

    // The same sheet again changes nothing.
    const auto again = import(rows);
    EXPECT_EQ(again.applied, 0u);
    EXPECT_EQ(again.unchanged, 5u);
}

TEST_P(LedgerFormImport, LedgerColumnNamesAreReadToo) {
    test::write_text(dir_ / "names.csv",
                     "case_id,verdict,category,area_mu,cultivated_mu,jsyd_mu,zgfs,cc_mu,cc_gd_mu,sy_mu,review_ended_at,pzwh_share,date\n"
                     "140824-2023-0002,非农违法,道路交通,2.00,1.00,1.00,拆除,2.00,1.00,0,2023-09-01,35%,2023-07-01\n");
    const auto rows = read_import_file(dir_ / "names.csv");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].at(FormField::Construction), "1.00");
    EXPECT_EQ(rows[0].at(FormField::RectifyMethod), "拆除");
    EXPECT_EQ(rows[0].at(FormField::ApprovalShare), "35%");
    ASSERT_EQ(import(rows).applied, 1u);
    const LedgerCase c = case_of("140824-2023-0002");
    EXPECT_EQ(c.construction_centimu, 100);
    EXPECT_EQ(c.demolished_cultivated_centimu, 100);
    EXPECT_EQ(c.remaining_centimu, 0);
    EXPECT_EQ(c.review_ended_at, "2023-09-01");
    EXPECT_DOUBLE_EQ(c.approval_share, 35.0);
}

TEST_P(LedgerFormImport, VerdictMovesThroughTheLifecycle) {
    // 违法 → 整改中 by 整改状态, then a corrected verdict 合法 is a transition the lifecycle refuses
    // from 整改中 (per row, as for 核查结果), while 非农违法 again changes nothing.
    ImportRow first = row("line 2", "140824-2023-0001", "非农违法", "圈占堆放");
    first.rectification = "整改中";
    ASSERT_EQ(import({first}).applied, 1u);
    EXPECT_EQ(case_of("140824-2023-0001").status, CaseStatus::Rectifying);
    EXPECT_EQ(case_of("140824-2023-0001").category, "圈占堆放等其他用地");
    const auto summary = import({row("line 3", "140824-2023-0001", "合法", "批文", "2023-08-01")});
    EXPECT_EQ(summary.refused, 1u);
    EXPECT_EQ(summary.form_refused, 0u);
    EXPECT_EQ(summary.issues.at(0).message,
              "case 140824-2023-0001: 整改中 → 合法 is not allowed; from 整改中 the allowed next statuses are 已整改");
    EXPECT_EQ(import({row("line 4", "140824-2023-0001", "非农违法", "", "2023-08-01")}).unchanged, 1u);

    // A verified 合法 case corrected to 非粮违法: 合法 → 违法, its 分类 批文 cleared (it has none then).
    ASSERT_EQ(import({row("line 5", "140824-2023-0002", "合法", "批准文号")}).applied, 1u);
    EXPECT_EQ(case_of("140824-2023-0002").category, "批文");
    ASSERT_EQ(import({row("line 6", "140824-2023-0002", "非粮违法", "", "2023-08-02")}).applied, 1u);
    const LedgerCase b = case_of("140824-2023-0002");
    EXPECT_EQ(b.status, CaseStatus::Illegal);
    EXPECT_EQ(b.verdict, "非粮违法");
    EXPECT_EQ(b.category, "");
}

TEST_P(LedgerFormImport, RectificationQuantitiesAndReviewEnd) {
    ImportRow r = row("line 2", "140824-2023-0001", "非农违法", "工矿商服");
    r.rectification = "整改中";
    r.at(FormField::RectifyMethod) = "拆除+补办";
    r.at(FormField::Demolished) = "2.00";
    r.at(FormField::DemolishedCultivated) = "1.10";
    r.at(FormField::Regularised) = "1.2";
    r.at(FormField::RegularisedCultivated) = "0";
    r.at(FormField::Remaining) = "0";
    r.at(FormField::ReviewEnded) = "2023年9月30日";
    const auto summary = import({r});
    ASSERT_EQ(summary.applied, 1u) << summary.text();
    const LedgerCase c = case_of("140824-2023-0001");
    EXPECT_EQ(c.rectify_method, "拆补组合");
    EXPECT_EQ(c.demolished_centimu, 200);
    EXPECT_EQ(c.demolished_cultivated_centimu, 110);
    EXPECT_EQ(c.regularised_centimu, 120);
    EXPECT_EQ(c.regularised_cultivated_centimu, 0);
    EXPECT_EQ(c.remaining_centimu, 0);
    EXPECT_EQ(c.review_ended_at, "2023-09-30");
    EXPECT_TRUE(counts_as_rectified(c));  // still 整改中, but nothing remains and review has ended
    EXPECT_FALSE(counts_as_rectified(c, c.status, c.result, "2023-09-29"));
}

TEST(CountsAsRectified, TheProvincesRuleAndTheOldOne) {
    LedgerCase c;
    c.result = CaseStatus::Illegal;
    c.status = CaseStatus::Rectified;
    EXPECT_TRUE(counted_by_status_only(c));
    EXPECT_TRUE(counts_as_rectified(c));  // no quantities: 已整改 counts, as before
    c.status = CaseStatus::Rectifying;
    EXPECT_FALSE(counts_as_rectified(c));
    c.remaining_centimu = 0;  // quantities recorded: the province's rule
    EXPECT_FALSE(counted_by_status_only(c));
    EXPECT_FALSE(counts_as_rectified(c));  // review not ended
    c.status = CaseStatus::Rectified;
    EXPECT_FALSE(counts_as_rectified(c));  // 已整改 alone is not the end of review
    c.status = CaseStatus::Closed;
    EXPECT_TRUE(counts_as_rectified(c));  // 销号 after 已整改 ends it
    c.status = CaseStatus::Rectified;
    c.review_ended_at = "2023-10-01";
    EXPECT_TRUE(counts_as_rectified(c));
    EXPECT_FALSE(counts_as_rectified(c, c.status, c.result, "2023-09-30"));
    c.remaining_centimu = 5;
    EXPECT_FALSE(counts_as_rectified(c));  // 0.05 亩 left
    c.remaining_centimu = 0;
    c.result = CaseStatus::Legal;
    EXPECT_FALSE(counts_as_rectified(c));  // never judged illegal
}

// ---- refusals: one line each, with the line, and the ledger unchanged ---------------------

TEST_P(LedgerFormImport, VerdictOutsideTheList) {
    EXPECT_EQ(refusal_of(row("line 7", "140824-2023-0001", "违建")),
              "line 7: 核实认定意见 '违建' is not in the list; allowed: 合法, 其他, 非农违法, 农村道路, 设施农用地, 非粮违法, 伪变化");
}

TEST_P(LedgerFormImport, CategoryOutsideItsVerdictsList) {
    EXPECT_EQ(refusal_of(row("line 4", "140824-2023-0001", "非农违法", "工厂")),
              "line 4: 分类 '工厂' is not in the list of 核实认定意见 非农违法; allowed: 工矿商服, 民生公益, 道路交通, 圈占堆放等其他用地");
    EXPECT_EQ(refusal_of(row("line 5", "140824-2023-0001", "农村道路", "村道")),
              "line 5: 分类 '村道' is not in the list of 核实认定意见 农村道路; allowed: (none)");
}

TEST_P(LedgerFormImport, CategoryWithoutVerdict) {
    EXPECT_EQ(refusal_of(row("line 3", "140824-2023-0001", "", "批文")),
              "line 3: 分类 '批文' has no 核实认定意见 to belong to; fill in 核实认定意见 in the same row");
}

TEST_P(LedgerFormImport, ResultContradictingTheVerdict) {
    ImportRow r = row("line 6", "140824-2023-0001", "非农违法", "工矿商服");
    r.result = "合法";
    EXPECT_EQ(refusal_of(r), "line 6: 核查结果 合法 contradicts 核实认定意见 非农违法, which means 违法; correct one of them (or leave 核查结果 blank)");
}

TEST_P(LedgerFormImport, AreasBreakingTheIdentity) {
    ImportRow r = row("line 5", "140824-2023-0001", "非农违法", "工矿商服");
    r.at(FormField::Area) = "3.20";
    r.at(FormField::Cultivated) = "1.10";
    r.at(FormField::OtherAgricultural) = "0.50";
    r.at(FormField::Construction) = "1.50";
    EXPECT_EQ(refusal_of(r), "line 5: 地块面积 3.20 ≠ 耕地 1.10 + 非耕农用地 0.50 + 未利用地 0.00 + 建设用地 1.50 = 3.10 (亩)");
    r.at(FormField::Area) = "";
    EXPECT_EQ(refusal_of(r),
              "line 5: 地块面积 is blank; give it with its parts (占耕地面积, 占非耕农用地面积, 占未利用地面积, 建设用地面积)");
}

TEST_P(LedgerFormImport, PermanentFarmlandAboveCultivatedAndRedlineAboveArea) {
    ImportRow r = row("line 8", "140824-2023-0001", "非农违法", "工矿商服");
    r.at(FormField::PermanentFarmland) = "1.2";  // the case's 耕地 is 1.10
    EXPECT_EQ(refusal_of(r), "line 8: 占基本农田面积 1.20 > 占耕地面积 1.10 (亩); 基本农田 lies inside 耕地");
    r.at(FormField::PermanentFarmland) = "";
    r.at(FormField::Redline) = "3.21";
    EXPECT_EQ(refusal_of(r), "line 8: 占生态红线面积 3.21 > 地块面积 3.20 (亩)");
}

TEST_P(LedgerFormImport, NegativeAndNonNumericAreas) {
    ImportRow r = row("line 9", "140824-2023-0001", "非农违法", "工矿商服");
    r.at(FormField::Demolished) = "-1";
    r.at(FormField::Remaining) = "0";
    EXPECT_EQ(refusal_of(r), "line 9: 拆除面积 '-1' is negative; areas are 亩 ≥ 0");
    r.at(FormField::Demolished) = "两亩";
    EXPECT_EQ(refusal_of(r), "line 9: 拆除面积 '两亩' is not a number of 亩; write e.g. 1.25");
    r = row("line 9", "140824-2023-0001", "合法", "批文");
    r.at(FormField::ApprovalShare) = "120";
    EXPECT_EQ(refusal_of(r), "line 9: 用地审批批准文号占比 '120' is not a share in percent (0–100)");
}

TEST_P(LedgerFormImport, RectificationIdentities) {
    const auto rectified = [&](const std::string& d, const std::string& dc, const std::string& r, const std::string& rc,
                               const std::string& remaining, const std::string& method = "") {
        ImportRow row_ = row("line 10", "140824-2023-0001", "非农违法", "工矿商服");
        row_.at(FormField::Demolished) = d;
        row_.at(FormField::DemolishedCultivated) = dc;
        row_.at(FormField::Regularised) = r;
        row_.at(FormField::RegularisedCultivated) = rc;
        row_.at(FormField::Remaining) = remaining;
        row_.at(FormField::RectifyMethod) = method;
        return refusal_of(row_);
    };
    // The case: 地块面积 3.20, 耕地 1.10.
    EXPECT_EQ(rectified("0.50", "0.80", "2.70", "0.30", "0"), "line 10: 拆除耕地面积 0.80 > 拆除面积 0.50 (亩)");
    EXPECT_EQ(rectified("2.60", "0.50", "0.50", "0.60", "0.10"), "line 10: 补办耕地面积 0.60 > 补办面积 0.50 (亩)");
    EXPECT_EQ(rectified("1.00", "0.50", "0.50", "", "0.20"),
              "line 10: 拆除面积 1.00 + 补办面积 0.50 + 剩余未整改面积 0.20 = 1.70 ≠ 地块面积 3.20 (亩)");
    EXPECT_EQ(rectified("2.00", "1.00", "1.00", "0.50", "0.20"),
              "line 10: 拆除耕地面积 1.00 + 补办耕地面积 0.50 = 1.50 > 占耕地面积 1.10 (亩)");
    EXPECT_EQ(rectified("2.00", "0.50", "1.20", "0.50", "0"),
              "line 10: 拆除耕地面积 0.50 + 补办耕地面积 0.50 = 1.00 ≠ 占耕地面积 1.10 (亩) while 剩余未整改面积 is 0; all the 耕地 "
              "is demolished or regularised then");
    EXPECT_EQ(rectified("2.00", "1.10", "", "", ""),
              "line 10: 剩余未整改面积 is blank; give it with the other rectification quantities (0 when rectification is complete)");
    EXPECT_EQ(rectified("2.00", "1.10", "1.20", "", "0", "拆除"),
              "line 10: 整改方式 拆除 does not match 拆除面积 2.00 and 补办面积 1.20 (拆除: 拆除面积 only; 补办: 补办面积 only; "
              "拆补组合: both; 未整改: neither)");
    EXPECT_EQ(rectified("", "", "", "", "3.20", "已整改"),
              "line 10: 整改方式 '已整改' is not in the list; allowed: 拆除, 补办, 拆补组合, 未整改");
}

TEST_P(LedgerFormImport, NewAreasMustStillMatchRecordedQuantities) {
    ImportRow r = row("line 2", "140824-2023-0003", "非农违法", "工矿商服");
    r.at(FormField::Demolished) = "1.50";
    r.at(FormField::Remaining) = "0";
    ASSERT_EQ(import({r}).applied, 1u);
    ImportRow later = row("line 12", "140824-2023-0003", "", "", "2023-08-01");
    later.at(FormField::Area) = "1.60";
    later.at(FormField::Construction) = "1.60";
    EXPECT_EQ(refusal_of(later), "line 12: 地块面积 1.60 no longer matches the recorded 拆除面积 + 补办面积 + 剩余未整改面积 = 1.50 (亩); give "
                                 "the rectification quantities again in the same row");
    later.at(FormField::Demolished) = "1.60";
    later.at(FormField::Remaining) = "0";
    EXPECT_EQ(import({later}).applied, 1u);
    EXPECT_EQ(case_of("140824-2023-0003").demolished_centimu, 160);
}

TEST_P(LedgerFormImport, BadDates) {
    ImportRow r = row("line 11", "140824-2023-0001", "非农违法", "工矿商服");
    r.at(FormField::BuiltAt) = "去年";
    EXPECT_EQ(refusal_of(r), "line 11: 建设时间 '去年' is not a date; write YYYY-MM or YYYY-MM-DD, e.g. 2023-05");
    r.at(FormField::BuiltAt) = "2024-02";
    EXPECT_EQ(refusal_of(r), "line 11: 建设时间 2024-02 is in the future (today is 2023-12-31)");
    r.at(FormField::BuiltAt) = "";
    r.at(FormField::ReviewEnded) = "2023-02-30";
    EXPECT_EQ(refusal_of(r), "line 11: 审核结束日期 '2023-02-30' is not a date; write YYYY-MM-DD, e.g. 2023-09-30");
    r.at(FormField::ReviewEnded) = "2024-01-05";
    EXPECT_EQ(refusal_of(r), "line 11: 审核结束日期 2024-01-05 is in the future (today is 2023-12-31)");
}

TEST_P(LedgerFormImport, SeveralBadRowsAreAllListed) {
    const auto summary = import({row("line 2", "140824-2023-0001", "违建"), row("line 3", "140824-2023-0002", "合法", "批文"),
                                 row("line 4", "140824-2023-0003", "其他", "坟地")});
    EXPECT_EQ(summary.form_refused, 2u);
    EXPECT_EQ(summary.refused, 2u);
    EXPECT_EQ(summary.applied, 0u);
    EXPECT_NE(summary.text().find("the ledger is unchanged: 2 rows break the form (lists or area identities); correct them and import "
                                  "the whole sheet again\n"),
              std::string::npos)
        << summary.text();
    EXPECT_EQ(case_of("140824-2023-0002").status, CaseStatus::ToVerify);
}

TEST_P(LedgerFormImport, ExportedFiguresReadBackUnchangedPass) {
    // A case whose run figures include an unsurveyed part: the sheet repeats them (no 未调查 column),
    // which is no new input and is not checked against the identity.
    ImportRow r = row("line 2", "140824-2023-0003", "其他", "边角细缝");
    r.at(FormField::Area) = "1.50";
    r.at(FormField::Cultivated) = "0";
    EXPECT_EQ(import({r}).form_refused, 0u);  // 1.50 ≠ 0 + 0 + 0 + 0 but the ledger holds exactly that
    EXPECT_EQ(case_of("140824-2023-0003").status, CaseStatus::Legal);
}

TEST_P(LedgerFormImport, CommandLineExitsThreeAndChangesNothing) {
    test::write_text(dir_ / "form.csv",
                     "图斑编号,核实认定意见,分类,日期\n"
                     "140824-2023-0001,非农违法,工矿商服,2023-07-01\n"
                     "140824-2023-0002,违建,,2023-07-01\n");
    const auto r = test::run_cli("ledger import '" + (dir_ / "form.csv").string() + "' --ledger '" + location() + "'", dir_.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.out.find("line 3: 核实认定意见 '违建' is not in the list; allowed: 合法, 其他, 非农违法, 农村道路, 设施农用地, 非粮违法, 伪变化\n"
                         "the ledger is unchanged: 1 row breaks the form"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("2 rows: 0 applied (0 status changes, 0 field changes), 0 unchanged, 1 refused"), std::string::npos) << r.out;
    EXPECT_EQ(case_of("140824-2023-0001").status, CaseStatus::ToVerify);
    EXPECT_EQ(case_of("140824-2023-0001").verdict, "");
}

// ---- XLSX ---------------------------------------------------------------------------------

TEST_P(LedgerFormImport, XlsxFormWithNumberCells) {
    const fs::path book = dir_ / "核查填报.xlsx";
    lxw_workbook* workbook = workbook_new(book.c_str());
    lxw_worksheet* sheet = workbook_add_worksheet(workbook, "核查填报");
    const std::vector<std::string> header = {"图斑编号", "核实认定意见", "分类",     "地块面积(亩)",   "占耕地面积", "建设用地面积",
                                             "占非耕农用地面积", "整改方式", "拆除面积", "拆除耕地面积", "补办面积", "补办耕地面积",
                                             "剩余未整改面积",   "审核通过时间", "日期"};
    for (std::size_t c = 0; c < header.size(); ++c)
        ASSERT_EQ(worksheet_write_string(sheet, 0, static_cast<lxw_col_t>(c), header[c].c_str(), nullptr), LXW_NO_ERROR);
    worksheet_write_string(sheet, 1, 0, "140824-2023-0001", nullptr);
    worksheet_write_string(sheet, 1, 1, "非农违法", nullptr);
    worksheet_write_string(sheet, 1, 2, "工矿商服", nullptr);
    const double numbers[] = {3.2, 1.1, 2.1, 0, 0, 0, 0, 0, 0};  // 3.2 = 1.1 + 0 + 2.1 (+ 未利用地 0)
    worksheet_write_number(sheet, 1, 3, numbers[0], nullptr);
    worksheet_write_number(sheet, 1, 4, numbers[1], nullptr);
    worksheet_write_number(sheet, 1, 5, numbers[2], nullptr);
    worksheet_write_number(sheet, 1, 6, 0, nullptr);
    worksheet_write_string(sheet, 1, 7, "拆除", nullptr);
    worksheet_write_number(sheet, 1, 8, 3.2, nullptr);
    worksheet_write_number(sheet, 1, 9, 1.1, nullptr);
    worksheet_write_number(sheet, 1, 10, 0, nullptr);
    worksheet_write_number(sheet, 1, 11, 0, nullptr);
    worksheet_write_number(sheet, 1, 12, 0, nullptr);
    worksheet_write_string(sheet, 1, 13, "2023-10-08 15:30:00", nullptr);
    worksheet_write_string(sheet, 1, 14, "2023-07-01", nullptr);
    // A second row breaking the identity: nothing of the sheet is applied.
    worksheet_write_string(sheet, 2, 0, "140824-2023-0002", nullptr);
    worksheet_write_string(sheet, 2, 1, "非农违法", nullptr);
    worksheet_write_number(sheet, 2, 3, 2.5, nullptr);
    worksheet_write_number(sheet, 2, 4, 1.0, nullptr);
    worksheet_write_string(sheet, 2, 14, "2023-07-01", nullptr);
    ASSERT_EQ(workbook_close(workbook), LXW_NO_ERROR);

    auto rows = read_import_file(book);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].at(FormField::ReviewEnded), "2023-10-08 15:30:00");
    auto summary = import(rows);
    ASSERT_EQ(summary.issues.size(), 1u) << summary.text();
    EXPECT_EQ(summary.issues[0].where + ": " + summary.issues[0].message,
              "sheet 核查填报 line 3: 地块面积 2.50 ≠ 耕地 1.00 + 非耕农用地 0.00 + 未利用地 0.00 + 建设用地 0.00 = 1.00 (亩)");
    EXPECT_EQ(case_of("140824-2023-0001").status, CaseStatus::ToVerify);

    rows.pop_back();
    summary = import(rows);
    ASSERT_EQ(summary.applied, 1u) << summary.text();
    const LedgerCase c = case_of("140824-2023-0001");
    EXPECT_EQ(c.status, CaseStatus::Illegal);
    EXPECT_EQ(c.construction_centimu, 210);
    EXPECT_EQ(c.demolished_centimu, 320);
    EXPECT_EQ(c.demolished_cultivated_centimu, 110);
    EXPECT_EQ(c.remaining_centimu, 0);
    EXPECT_EQ(c.rectify_method, "拆除");
    EXPECT_EQ(c.review_ended_at, "2023-10-08");
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerFormImport, ::testing::Values(test::LedgerBackend::GeoPackage, test::LedgerBackend::PostgreSQL),
                         test::backend_name);

}  // namespace
}  // namespace weipian
