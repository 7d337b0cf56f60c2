// The case ledger: lifecycle, dates, configuration, feeding from runs, imports and exports,
// on a GeoPackage and on PostgreSQL/PostGIS (the *Backends/* tests run on both).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "pipeline/core/errors.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_report.hpp"
#include "ledger/ledger_store.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/ledger/xlsx_test_support.hpp"

namespace weipian {
namespace {

using test::jishan_context;
using test::ledger_options;
using test::LedgerBackend;
using test::rectangle_parcel;
namespace fs = std::filesystem;

template <typename E, typename F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(no exception)";
}

// ---- lifecycle, dates, names ----------------------------------------------------------------

TEST(LedgerLifecycle, AllowedTransitionsFollowTheTable) {
    using S = CaseStatus;
    const std::map<S, std::vector<S>> table = {
        {S::ToVerify, {S::Legal, S::FalseAlarm, S::Illegal}},  {S::Legal, {S::Closed, S::FalseAlarm, S::Illegal}},
        {S::FalseAlarm, {S::Closed, S::Legal, S::Illegal}},    {S::Illegal, {S::Rectifying, S::Legal, S::FalseAlarm}},
        {S::Rectifying, {S::Rectified}},                       {S::Rectified, {S::Closed, S::Rectifying}},
        {S::Closed, {}},
    };
    const std::vector<S> all = {S::ToVerify, S::Legal, S::FalseAlarm, S::Illegal, S::Rectifying, S::Rectified, S::Closed};
    int allowed = 0;
    for (const S from : all)
        for (const S to : all) {
            const auto& next = table.at(from);
            const bool expected = std::find(next.begin(), next.end(), to) != next.end();
            EXPECT_EQ(transition_allowed(from, to), expected) << status_label(from) << " → " << status_label(to);
            allowed += expected;
        }
    EXPECT_EQ(allowed, 15);
}

TEST(LedgerLifecycle, RefusalNamesTheCaseBothStatusesAndTheAllowedOnes) {
    EXPECT_EQ(refused_transition_message("140824-2023-0007", CaseStatus::ToVerify, CaseStatus::Rectified),
              "case 140824-2023-0007: 待核查 → 已整改 is not allowed; from 待核查 the allowed next statuses are 合法, 误报, 违法");
    EXPECT_EQ(refused_transition_message("140824-2023-0008", CaseStatus::Closed, CaseStatus::Rectifying),
              "case 140824-2023-0008: 销号 → 整改中 is not allowed; 销号 is final, no status may follow it");
}

TEST(LedgerLifecycle, StatusesReadInChineseOrEnglish) {
    EXPECT_EQ(parse_status(" 已整改 "), CaseStatus::Rectified);
    EXPECT_EQ(parse_status("False_Alarm"), CaseStatus::FalseAlarm);
    EXPECT_EQ(parse_status("销号"), CaseStatus::Closed);
    EXPECT_FALSE(parse_status("拆除"));
    EXPECT_STREQ(status_label(CaseStatus::ToVerify), "待核查");
}

TEST(LedgerDates, YearRanges) {
    EXPECT_EQ(parse_year_range("2018-2021"), std::make_pair(2018, 2021));
    EXPECT_EQ(parse_year_range("2018—2021"), std::make_pair(2018, 2021));
    EXPECT_EQ(parse_year_range("2022"), std::make_pair(2022, 2022));
    EXPECT_FALSE(parse_year_range("2021-2018"));
    EXPECT_FALSE(parse_year_range("18-21"));
    EXPECT_EQ(cohort_label(2018, 2021), "2018—2021年");
    EXPECT_EQ(cohort_label(2022, 2022), "2022 年");
}

TEST(LedgerNames, CaseIdsLocationsAndPasswords) {
    EXPECT_EQ(format_case_id("140824", 2023, 7), "140824-2023-0007");
    EXPECT_EQ(format_case_id("140824", 2023, 12345), "140824-2023-12345");
    EXPECT_TRUE(is_postgres_ledger("PG:dbname=x"));
    EXPECT_TRUE(is_postgres_ledger("postgresql://u@h/db"));
    EXPECT_FALSE(is_postgres_ledger("ledger.gpkg"));
    EXPECT_EQ(redact_ledger_location("PG:dbname=x user=u password=secret host=h"), "PG:dbname=x user=u password=*** host=h");
    EXPECT_EQ(redact_ledger_location("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
    EXPECT_EQ(redact_ledger_location("out/ledger.gpkg"), "out/ledger.gpkg");
}

// ---- configuration --------------------------------------------------------------------------

TEST(LedgerConfiguration, SectionIsReadAndValidated) {
    test::TempDir dir;
    const std::string head = "county: {name: 稷山县, code: \"140824\"}\nepochs: {after: {date: \"2023-09-18\"}}\n";
    const Config config = Config::parse(head +
                                            "ledger:\n  path: data/ledger.gpkg\n  match_rule: iou\n  match_threshold: 0.5\n"
                                            "  milestones: [\"2019-2020 60% by 2023-10-31\", \"2022 100% by 2023-11-30\"]\n"
                                            "  annual_clearance_from: 2024\n",
                                        dir / "weipian.yaml");
    EXPECT_EQ(config.ledger.path, (dir.path() / "data/ledger.gpkg").lexically_normal().string());
    EXPECT_EQ(config.ledger.match_rule, "iou");
    EXPECT_DOUBLE_EQ(config.ledger.match_threshold, 0.5);
    ASSERT_EQ(config.ledger.milestones.size(), 2u);
    EXPECT_EQ(config.ledger.milestones[0].first_year, 2019);
    EXPECT_EQ(config.ledger.milestones[0].last_year, 2020);
    EXPECT_EQ(config.ledger.milestones[0].percent, 60);
    EXPECT_EQ(config.ledger.milestones[0].deadline, "2023-10-31");
    EXPECT_EQ(config.ledger.annual_clearance_from, 2024);
    EXPECT_EQ(config.to_json()["ledger"]["milestones"][1], "2022 100% by 2023-11-30");

    const Config pg = Config::parse(head + "ledger: {path: \"PG:dbname=ledger password=secret\"}\n", dir / "w.yaml");
    EXPECT_EQ(pg.ledger.path, "PG:dbname=ledger password=secret");  // not taken for a relative path
    EXPECT_EQ(pg.to_json()["ledger"]["path"], "PG:dbname=ledger password=***");

    const Config defaults;
    ASSERT_EQ(defaults.ledger.milestones.size(), 3u);
    EXPECT_EQ(defaults.ledger.milestones[0].text(), "2018-2021 50% by 2023-09-30");
    EXPECT_EQ(defaults.ledger.milestones[1].text(), "2018-2021 70% by 2023-11-30");
    EXPECT_EQ(defaults.ledger.milestones[2].text(), "2022 100% by 2023-11-30");
    EXPECT_FALSE(defaults.ledger.configured());
}

TEST(LedgerConfiguration, ErrorsNameTheKey) {
    test::TempDir dir;
    const auto parse = [&](const std::string& yaml) { return message_of<ConfigError>([&] { Config::parse(yaml, dir / "w.yaml"); }); };
    EXPECT_NE(parse("ledger: {milestones: [\"2018-2021 50 by 2023-09-30\"]}").find(
                  "key 'ledger.milestones': '2018-2021 50 by 2023-09-30' has no percentage such as 50%"),
              std::string::npos);
    EXPECT_NE(parse("ledger: {milestones: [\"2018-2021 50% by 2023-09-31\"]}").find("has a deadline that is not a date YYYY-MM-DD"),
              std::string::npos);
    EXPECT_NE(parse("ledger: {match_rule: area}").find("key 'ledger.match_rule': 'area' is not one of: overlap_ratio, iou"),
              std::string::npos);
    EXPECT_NE(parse("ledger: {match_threshold: 1.5}").find("key 'ledger.match_threshold': value 1.5 is out of range [0, 1]"),
              std::string::npos);
    EXPECT_NE(parse("ledger: {path: l.gpkg}\nepochs: {after: {date: \"2023-09-18\"}}\n").find("key 'county.code' must be the 6-digit county code"),
              std::string::npos);
    EXPECT_NE(parse("ledger: {path: l.gpkg}\ncounty: {code: \"140824\"}\n").find("key 'epochs.after.date' must be a date YYYY-MM-DD when a ledger is set"),
              std::string::npos);
}

TEST(LedgerConfiguration, CommandLineLedgerOverridesTheConfig) {
    test::TempDir dir;
    Config config = Config::parse("county: {code: \"140824\"}\nepochs: {after: {date: \"2023-09-18\"}}\nledger: {path: a.gpkg}\n",
                                  dir / "w.yaml");
    apply_ledger_override(config, "PG:dbname=county");
    EXPECT_EQ(config.ledger.path, "PG:dbname=county");
    apply_ledger_override(config, "");
    EXPECT_EQ(config.ledger.path, "PG:dbname=county");
    Config without_date;
    EXPECT_NE(message_of<ConfigError>([&] { apply_ledger_override(without_date, "b.gpkg"); }).find("county.code"), std::string::npos);
    const FeedContext context = feed_context_for(config, "run-1");
    EXPECT_EQ(context.county_code, "140824");
    EXPECT_EQ(context.hsx, "2023-09-18");
    EXPECT_EQ(context.run_id, "run-1");
    EXPECT_FALSE(context.cultivated_assessed);
}

// ---- feeding --------------------------------------------------------------------------------

class LedgerFeed : public test::LedgerFixture {
protected:
    LedgerFeedSummary feed(const std::vector<Parcel>& parcels, const std::string& hsx, const std::string& run,
                           LedgerConfig options = {}) {
        options.path = location();
        return feed_ledger(options, parcels, test::gk_zone_37(), jishan_context(hsx, run, "2023-04-10"));
    }
    ImportSummary import(const std::vector<ImportRow>& rows, const std::string& today = "2023-12-31") {
        return import_verification(location(), rows, {"张三", today, "sheet.csv"});
    }
    static ImportRow row(const std::string& id, const std::string& result, const std::string& rectification,
                         const std::string& date) {
        ImportRow r;
        r.where = "line ?";
        r.case_id = id;
        r.result = result;
        r.rectification = rectification;
        r.date = date;
        return r;
    }
};

std::vector<Parcel> one(Parcel p) {
    std::vector<Parcel> parcels;
    parcels.push_back(std::move(p));
    return parcels;
}

std::vector<Parcel> three_parcels() {
    std::vector<Parcel> parcels;
    parcels.push_back(rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100", 100));
    parcels.back().tblx = "20";
    parcels.push_back(rectangle_parcel(100, 0, 30, 10, "稷峰镇", "140824100"));
    parcels.push_back(rectangle_parcel(0, 100, 15, 20, "化峪镇", "140824101", 300));
    return parcels;
}

TEST_P(LedgerFeed, NewParcelsBecomeCasesWithStableIds) {
    const auto summary = feed(three_parcels(), "2023-09-18", "run-A");
    EXPECT_FALSE(summary.already_fed);
    EXPECT_EQ(summary.new_cases, 3);
    EXPECT_EQ(summary.updated_cases, 0);
    EXPECT_EQ(summary.new_case_ids, (std::vector<std::string>{"140824-2023-0001", "140824-2023-0002", "140824-2023-0003"}));
    const auto all = cases(true);
    ASSERT_EQ(all.size(), 3u);
    const LedgerCase* first = find(all, "140824-2023-0001");
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status, CaseStatus::ToVerify);
    EXPECT_FALSE(first->result);
    EXPECT_EQ(first->township_name, "稷峰镇");
    EXPECT_EQ(first->township_code, "140824100");
    EXPECT_EQ(first->year, 2023);
    EXPECT_EQ(first->seq, 1);
    EXPECT_DOUBLE_EQ(first->area_m2, 400.0);
    EXPECT_EQ(first->area_centimu, 60);  // 400 m² = 0.6 亩
    EXPECT_EQ(first->cultivated_centimu, 15);
    EXPECT_EQ(first->qsx, "2023-04-10");
    EXPECT_EQ(first->hsx, "2023-09-18");
    EXPECT_EQ(first->first_seen_run, "run-A");
    EXPECT_EQ(first->last_seen_run, "run-A");
    ASSERT_TRUE(first->geometry);
    EXPECT_DOUBLE_EQ(OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(first->geometry.get()))), 400.0);
    EXPECT_EQ(find(all, "140824-2023-0003")->township_name, "化峪镇");

    const auto entries = history();
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].case_id, "140824-2023-0001");
    EXPECT_FALSE(entries[0].from_status);
    EXPECT_EQ(entries[0].to_status, CaseStatus::ToVerify);
    EXPECT_EQ(entries[0].at, "2023-09-18");
    EXPECT_EQ(entries[0].who, "weipian run");
    EXPECT_EQ(entries[0].what, "新图斑：面积 0.6 亩，耕地 0.15 亩");
    EXPECT_EQ(entries[0].source, "run run-A");
    const auto fed = runs();
    ASSERT_EQ(fed.size(), 1u);
    EXPECT_EQ(fed[0].run_id, "run-A");
    EXPECT_EQ(fed[0].digest.size(), 64u);
    EXPECT_EQ(fed[0].new_cases, 3);
    EXPECT_EQ(fed[0].parcels, 3);
}

TEST_P(LedgerFeed, SameImageryAgainChangesNothing) {
    feed(three_parcels(), "2023-09-18", "run-A");
    const auto before = cases();
    const auto again = feed(three_parcels(), "2023-09-18", "run-B");
    EXPECT_TRUE(again.already_fed);
    EXPECT_EQ(again.run_id, "run-A");
    EXPECT_EQ(again.new_cases, 0);
    const auto after = cases();
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(after[i].case_id, before[i].case_id);
        EXPECT_EQ(after[i].last_seen_run, "run-A");
        EXPECT_EQ(after[i].updated_at, before[i].updated_at);
    }
    EXPECT_EQ(history().size(), 3u);
    EXPECT_EQ(runs().size(), 1u);
}

TEST_P(LedgerFeed, OverlappingParcelUpdatesTheOpenCaseInsteadOfADuplicate) {
    feed(three_parcels(), "2023-09-18", "run-A");
    std::vector<Parcel> later;
    later.push_back(rectangle_parcel(10, 0, 20, 25, "稷峰镇", "140824100", 50));  // half of case 0001, larger
    later.push_back(rectangle_parcel(126, 0, 10, 10, "稷峰镇", "140824100"));    // 40 m² of 100 m²: 0.4 ≥ 0.3 → 0002
    later.push_back(rectangle_parcel(12, 100, 10, 10, "化峪镇", "140824101"));   // 30 m² of 100 m²: 0.3 → 0003
    later.push_back(rectangle_parcel(0, 118, 10, 10, "化峪镇", "140824101"));    // 20 m² of 100 m²: 0.2 → new
    const auto summary = feed(later, "2023-10-18", "run-B");
    EXPECT_EQ(summary.updated_cases, 3);
    EXPECT_EQ(summary.new_cases, 1);
    EXPECT_EQ(summary.new_case_ids, std::vector<std::string>{"140824-2023-0004"});
    const auto all = cases(true);
    ASSERT_EQ(all.size(), 4u);
    const LedgerCase* grown = find(all, "140824-2023-0001");
    EXPECT_DOUBLE_EQ(grown->area_m2, 500.0);  // took the larger outline while still 待核查
    EXPECT_EQ(grown->area_centimu, 75);
    EXPECT_EQ(grown->cultivated_centimu, 8);
    EXPECT_EQ(grown->last_seen_run, "run-B");
    EXPECT_EQ(grown->first_seen_run, "run-A");
    EXPECT_EQ(grown->hsx, "2023-09-18");
    const LedgerCase* kept = find(all, "140824-2023-0002");
    EXPECT_DOUBLE_EQ(kept->area_m2, 300.0);  // the parcel was smaller
    EXPECT_EQ(kept->last_seen_run, "run-B");
    const auto entries = history();
    ASSERT_EQ(entries.size(), 5u);
    EXPECT_EQ(entries[3].what, "再次发现，范围扩大：0.6 亩 → 0.75 亩");
    EXPECT_EQ(entries[3].at, "2023-10-18");
}

TEST_P(LedgerFeed, MatchingStaysInTheTownshipAndSkipsClosedCases) {
    feed(three_parcels(), "2023-09-18", "run-A");
    ASSERT_EQ(import({row("140824-2023-0002", "误报", "销号", "2023-09-20")}).applied, 1u);
    std::vector<Parcel> later;
    later.push_back(rectangle_parcel(0, 0, 20, 20, "化峪镇", "140824101"));    // case 0001's outline, other township
    later.push_back(rectangle_parcel(100, 0, 30, 10, "稷峰镇", "140824100"));  // case 0002's outline, but 0002 is closed
    const auto summary = feed(later, "2023-10-18", "run-B");
    EXPECT_EQ(summary.new_cases, 2);
    EXPECT_EQ(summary.updated_cases, 0);
    EXPECT_EQ(cases().size(), 5u);
}

TEST_P(LedgerFeed, NumbersContinuePerYear) {
    feed(one(rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100")), "2023-09-18", "run-A");
    feed(one(rectangle_parcel(100, 0, 20, 20, "稷峰镇", "140824100")), "2023-12-18", "run-B");
    const auto summary = feed(one(rectangle_parcel(200, 0, 20, 20, "稷峰镇", "140824100")), "2024-01-18", "run-C");
    EXPECT_EQ(summary.new_case_ids, std::vector<std::string>{"140824-2024-0001"});
    const auto all = cases();
    ASSERT_TRUE(find(all, "140824-2023-0002"));
    EXPECT_EQ(find(all, "140824-2024-0001")->year, 2024);
}

TEST_P(LedgerFeed, RunsNeverChangeVerifiedFigures) {
    feed(three_parcels(), "2023-09-18", "run-A");
    ASSERT_EQ(import({row("140824-2023-0001", "违法", "", "2023-09-25")}).applied, 1u);
    const auto summary = feed(one(rectangle_parcel(0, 0, 30, 30, "稷峰镇", "140824100")), "2023-10-18", "run-B");
    EXPECT_EQ(summary.updated_cases, 1);
    const auto all = cases();
    const LedgerCase* c = find(all, "140824-2023-0001");
    EXPECT_DOUBLE_EQ(c->area_m2, 400.0);
    EXPECT_EQ(c->last_seen_run, "run-B");
    EXPECT_EQ(c->status, CaseStatus::Illegal);
}

TEST_P(LedgerFeed, RectifiedCaseStillBuiltOnALaterEpochIsFlagged) {
    feed(three_parcels(), "2023-06-18", "run-A");
    ASSERT_EQ(import({row("140824-2023-0001", "违法", "整改中", "2023-07-01"), row("140824-2023-0001", "", "已整改", "2023-08-01"),
                      row("140824-2023-0003", "违法", "整改中", "2023-07-01"), row("140824-2023-0003", "", "已整改", "2023-08-01")})
                  .applied,
              4u);
    // Imagery from before the rectification proves nothing.
    auto summary = feed(one(rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100")), "2023-07-20", "run-B");
    EXPECT_EQ(summary.flagged_cases, 0);
    EXPECT_TRUE(case_of("140824-2023-0001").flag.empty());
    // A later epoch that still shows construction on 0001 (0003 is clean).
    summary = feed(one(rectangle_parcel(2, 2, 18, 18, "稷峰镇", "140824100")), "2023-10-01", "run-C");
    EXPECT_EQ(summary.flagged_cases, 1);
    EXPECT_EQ(summary.new_cases, 0);
    const auto all = cases();
    const LedgerCase* c = find(all, "140824-2023-0001");
    EXPECT_EQ(c->status, CaseStatus::Rectified);
    EXPECT_EQ(c->flag, "整改不到位：后时相 2023-10-01 影像仍显示建设（运行 run-C）");
    EXPECT_EQ(c->flag_date, "2023-10-01");
    EXPECT_TRUE(find(all, "140824-2023-0003")->flag.empty());
    const auto entries = history();
    EXPECT_EQ(entries.back().what, c->flag);
    EXPECT_EQ(entries.back().from_status, CaseStatus::Rectified);
    EXPECT_EQ(entries.back().to_status, CaseStatus::Rectified);

    LedgerReportOptions options;
    options.as_of = "2023-10-15";
    const auto report = build_ledger_report(location(), options);
    ASSERT_EQ(report.flagged.size(), 1u);
    EXPECT_EQ(report.flagged[0].case_id, "140824-2023-0001");
    EXPECT_NE(report.text().find("1. 140824-2023-0001（稷峰镇，已整改）：整改不到位：后时相 2023-10-01 影像仍显示建设（运行 run-C）。"),
              std::string::npos);
    // Reworking answers the flag.
    ASSERT_EQ(import({row("140824-2023-0001", "", "整改中", "2023-10-05")}).applied, 1u);
    EXPECT_TRUE(case_of("140824-2023-0001").flag.empty());
}

TEST_P(LedgerFeed, IouRuleIsStricterThanOverlapRatio) {
    feed(one(rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100")), "2023-09-18", "run-A");
    // Shifted by half: ∩ = 200 m², ∩ / min = 0.5, ∩ / ∪ = 1/3.
    LedgerConfig iou;
    iou.match_rule = "iou";
    iou.match_threshold = 0.4;
    EXPECT_EQ(feed(one(rectangle_parcel(10, 0, 20, 20, "稷峰镇", "140824100")), "2023-10-18", "run-B", iou).new_cases, 1);
    LedgerConfig ratio;
    ratio.match_threshold = 0.5;
    EXPECT_EQ(feed(one(rectangle_parcel(10, 1, 20, 19, "稷峰镇", "140824100")), "2023-11-18", "run-C", ratio).updated_cases, 1);
}

TEST_P(LedgerFeed, ParcelsInAnotherCrsAreMatchedInTheLedgerCrs) {
    feed(one(rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100")), "2023-09-18", "run-A");
    // The same outline in CGCS2000 longitude/latitude.
    Parcel lonlat = rectangle_parcel(1, 1, 18, 18, "稷峰镇", "140824100");
    OGRSpatialReference gk = test::gk_zone_37(), geographic;
    geographic.importFromEPSG(4490);
    geographic.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> to_geographic(OGRCreateCoordinateTransformation(&gk, &geographic));
    ASSERT_EQ(lonlat.geometry->transform(to_geographic.get()), OGRERR_NONE);
    OGREnvelope envelope;
    lonlat.geometry->getEnvelope(&envelope);
    ASSERT_NEAR(envelope.MinX, 111.0, 0.01);  // longitude first
    LedgerConfig options;
    options.path = location();
    std::vector<Parcel> parcels;
    parcels.push_back(std::move(lonlat));
    const auto summary = feed_ledger(options, parcels, geographic, jishan_context("2023-10-18", "run-B"));
    EXPECT_EQ(summary.updated_cases, 1);
    EXPECT_EQ(summary.new_cases, 0);
}

TEST_P(LedgerFeed, BadContextAndForeignFilesAreRefused) {
    LedgerConfig options;
    options.path = location();
    FeedContext context = jishan_context("2023-09-18", "run-A");
    context.county_code = "1408";
    EXPECT_EQ(message_of<ConfigError>([&] { feed_ledger(options, three_parcels(), test::gk_zone_37(), context); }),
              "ledger: county code '1408' is not 6 digits; set county.code (e.g. \"140824\"): case ids start with it");
    context = jishan_context("2023-9-18", "run-A");
    EXPECT_EQ(message_of<ConfigError>([&] { feed_ledger(options, three_parcels(), test::gk_zone_37(), context); }),
              "ledger: HSX date '2023-9-18' is not YYYY-MM-DD; set epochs.after.date");
    EXPECT_NE(message_of<InputError>([&] { LedgerStore::open(location(), LedgerStore::Mode::Read); }).find("ledger"),
              std::string::npos);
}

TEST(LedgerStoreFiles, AGeoPackageThatIsNotALedgerIsRefused) {
    test::TempDir dir;
    const fs::path other = dir / "parcels.gpkg";
    {
        ensure_gdal_registered();
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GPKG")->Create(other.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRSpatialReference srs = test::gk_zone_37();
        ds->CreateLayer("parcels", &srs, wkbMultiPolygon, nullptr);
    }
    EXPECT_EQ(message_of<InputError>([&] { LedgerStore::open(other.string(), LedgerStore::Mode::Update); }),
              "ledger '" + other.string() + "' is not a weipian ledger: it has no table 'cases'; give the ledger a run created, or a new path");
    EXPECT_EQ(message_of<InputError>([&] { LedgerStore::open((dir / "none.gpkg").string(), LedgerStore::Mode::Read); }),
              "ledger '" + (dir / "none.gpkg").string() + "' does not exist; a run with this ledger creates it (weipian run --ledger " +
                  (dir / "none.gpkg").string() + ")");
}

TEST_P(LedgerFeed, PatchTypeAndGreenhouseRemarkTravelIntoCases) {
    Parcel greenhouse = rectangle_parcel(300, 0, 40, 20, "稷峰镇", "140824100", 800);
    greenhouse.tblx = "DP";
    greenhouse.remarks = "设施农用地：核对备案";
    feed(one(std::move(greenhouse)), "2023-06-18", "run-A");
    LedgerCase c = case_of("140824-2023-0001");
    EXPECT_EQ(c.tblx, "DP");
    EXPECT_EQ(c.notes, "设施农用地：核对备案");
    // Seen again larger while 待核查: the case takes the larger parcel's outline and type.
    Parcel larger = rectangle_parcel(300, 0, 40, 30, "稷峰镇", "140824100", 1200);
    larger.tblx = "20";
    feed(one(std::move(larger)), "2023-09-18", "run-B");
    c = case_of("140824-2023-0001");
    EXPECT_EQ(c.tblx, "20");
    EXPECT_EQ(c.notes, "设施农用地：核对备案");  // remarks are the checkers' once written
}

// A ledger written before patch types existed has no column tblx: read-only it reads as empty,
// the first write adds the column and keeps every row.
TEST(LedgerMigration, MissingTblxColumnIsAddedAndRowsKept) {
    ensure_gdal_registered();
    test::TempDir dir;
    const std::string ledger = (dir / "old.gpkg").string();
    LedgerConfig options;
    options.path = ledger;
    feed_ledger(options, three_parcels(), test::gk_zone_37(), jishan_context("2023-06-18", "run-A", "2023-04-10"));
    ImportRow verdict;
    verdict.where = "line 2";
    verdict.case_id = "140824-2023-0002";
    verdict.result = "违法";
    verdict.date = "2023-07-01";
    ASSERT_EQ(import_verification(ledger, {verdict}, {"qa", "2023-12-31", "s.csv"}).applied, 1u);
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(ledger.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE));
        ASSERT_TRUE(ds);
        OGRLayer* cases = ds->GetLayerByName("cases");
        ASSERT_EQ(cases->DeleteField(cases->GetLayerDefn()->GetFieldIndex("tblx")), OGRERR_NONE);
    }
    const auto column_present = [&] {
        GDALDatasetUniquePtr ds(GDALDataset::Open(ledger.c_str(), GDAL_OF_VECTOR));
        return ds->GetLayerByName("cases")->GetLayerDefn()->GetFieldIndex("tblx") >= 0;
    };
    ASSERT_FALSE(column_present());
    const auto before = LedgerStore::open(ledger, LedgerStore::Mode::Read)->load_cases(false);
    ASSERT_EQ(before.size(), 3u);
    for (const auto& c : before) EXPECT_EQ(c.tblx, "");
    EXPECT_FALSE(column_present());  // reading changes nothing
    LedgerStore::open(ledger, LedgerStore::Mode::Update);
    EXPECT_TRUE(column_present());
    auto store = LedgerStore::open(ledger, LedgerStore::Mode::Read);
    const auto after = store->load_cases(true);
    ASSERT_EQ(after.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(after[i].case_id, before[i].case_id);
        EXPECT_EQ(after[i].status, before[i].status);
        EXPECT_EQ(after[i].area_centimu, before[i].area_centimu);
        EXPECT_EQ(after[i].tblx, "");
        ASSERT_TRUE(after[i].geometry);
    }
    EXPECT_EQ(after[1].status, CaseStatus::Illegal);
    EXPECT_EQ(store->load_history().size(), 4u);
    // A later feed writes types into the migrated ledger.
    Parcel p = rectangle_parcel(500, 500, 20, 20, "稷峰镇", "140824100");
    p.tblx = "YH";
    feed_ledger(options, one(std::move(p)), test::gk_zone_37(), jishan_context("2023-09-18", "run-B", "2023-06-18"));
    const auto fed = LedgerStore::open(ledger, LedgerStore::Mode::Read)->load_cases(false);
    ASSERT_EQ(fed.size(), 4u);
    EXPECT_EQ(fed[3].tblx, "YH");
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerFeed, ::testing::Values(LedgerBackend::GeoPackage, LedgerBackend::PostgreSQL),
                         test::backend_name);

// ---- import ---------------------------------------------------------------------------------

class LedgerImport : public LedgerFeed {
protected:
    void SetUp() override {
        LedgerFeed::SetUp();
        if (IsSkipped()) return;
        feed(three_parcels(), "2023-06-18", "run-A");
    }
};

TEST_P(LedgerImport, ChineseSheetAppliesResultsAndRectification) {
    const fs::path sheet = dir_ / "核查结果.csv";
    test::write_text(sheet,
                     "\xEF\xBB\xBF图斑编号,核查结果,整改状态,日期,责任人,备注,整改措施,整改时限\n"
                     "140824-2023-0001,违法,整改中,2023/7/1,李四,\"农户建房，未批\",拆除复耕,2023-12-31\n"
                     "140824-2023-0002,误报,,2023年7月2日,,大棚,,\n"
                     "\n"
                     "140824-2023-0003,合法,销号,2023-07-03,,,,\n");
    const auto rows = read_import_file(sheet);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].where, "line 2");
    EXPECT_EQ(rows[2].where, "line 5");
    EXPECT_EQ(rows[0].notes, "农户建房，未批");
    const auto summary = import_verification(location(), rows, {"王五", "2023-12-31", "核查结果.csv"});
    EXPECT_EQ(summary.rows, 3u);
    EXPECT_EQ(summary.applied, 3u);
    EXPECT_EQ(summary.refused, 0u);
    EXPECT_EQ(summary.status_changes, 5u);
    EXPECT_EQ(summary.field_changes, 5u);
    const auto all = cases();
    const LedgerCase* c = find(all, "140824-2023-0001");
    EXPECT_EQ(c->status, CaseStatus::Rectifying);
    EXPECT_EQ(c->result, CaseStatus::Illegal);
    EXPECT_EQ(c->plan.responsible, "李四");
    EXPECT_EQ(c->plan.measures, "拆除复耕");
    EXPECT_EQ(c->plan.deadline, "2023-12-31");
    EXPECT_EQ(c->notes, "农户建房，未批");
    EXPECT_EQ(find(all, "140824-2023-0002")->status, CaseStatus::FalseAlarm);
    EXPECT_EQ(find(all, "140824-2023-0003")->status, CaseStatus::Closed);
    EXPECT_EQ(find(all, "140824-2023-0003")->result, CaseStatus::Legal);

    const auto entries = history();
    ASSERT_EQ(entries.size(), 3u + 5u + 2u);
    const HistoryEntry& first = entries[3];
    EXPECT_EQ(first.case_id, "140824-2023-0001");
    EXPECT_EQ(first.who, "王五");
    EXPECT_EQ(first.at, "2023-07-01");
    EXPECT_EQ(first.from_status, CaseStatus::ToVerify);
    EXPECT_EQ(first.to_status, CaseStatus::Illegal);
    EXPECT_EQ(first.what, "核查结果：违法");
    EXPECT_EQ(first.source, "import 核查结果.csv line 2");
    EXPECT_EQ(entries[4].what, "整改状态：整改中");
    EXPECT_EQ(entries[5].what, "责任人：（空） → 李四；整改措施：（空） → 拆除复耕；整改时限：（空） → 2023-12-31；备注：（空） → 农户建房，未批");
    EXPECT_EQ(entries[5].from_status, CaseStatus::Rectifying);
}

TEST_P(LedgerImport, BadRowsAreReportedByLineAndTheRestApplied) {
    const fs::path sheet = dir_ / "results.csv";
    test::write_text(sheet,
                     "case_id,result,status,date,responsible,notes\n"
                     "140824-2023-0001,illegal,,2023-07-01,,\n"
                     "140824-2023-0099,违法,,2023-07-01,,\n"
                     "140824-2023-0002,违法,,2023-02-30,,\n"
                     "140824-2023-0003,,已整改,2023-07-05,,\n"
                     "140824-2023-0002,拆除,,2023-07-05,,\n"
                     "140824-2023-0002,违法,,,,\n"
                     "140824-2023-0002,违法,,2031-01-01,,\n"
                     "140824-2023-0002,违法,,2023-06-01,,\n"
                     "140824-2023-0001,,整改中,2023-07-02,,\n");
    const auto summary = import_verification(location(), read_import_file(sheet), {"qa", "2023-12-31", "results.csv"});
    EXPECT_EQ(summary.rows, 9u);
    EXPECT_EQ(summary.applied, 2u);
    EXPECT_EQ(summary.refused, 7u);
    ASSERT_EQ(summary.issues.size(), 7u);
    EXPECT_EQ(summary.issues[0].where, "line 3");
    EXPECT_EQ(summary.issues[0].message, "unknown case id '140824-2023-0099'");
    EXPECT_EQ(summary.issues[1].where, "line 4");
    EXPECT_EQ(summary.issues[1].message, "bad date '2023-02-30' (日期); write YYYY-MM-DD, e.g. 2023-09-30");
    EXPECT_EQ(summary.issues[2].where, "line 5");
    EXPECT_EQ(summary.issues[2].message,
              "case 140824-2023-0003: 待核查 → 已整改 is not allowed; from 待核查 the allowed next statuses are 合法, 误报, 违法");
    EXPECT_EQ(summary.issues[3].message, "result (核查结果) '拆除' is not one of 合法, 误报, 违法");
    EXPECT_EQ(summary.issues[4].message, "no date (日期) for the change; fill in when it happened");
    EXPECT_EQ(summary.issues[5].message, "date 2031-01-01 is in the future (today is 2023-12-31)");
    EXPECT_EQ(summary.issues[6].where, "line 9");
    EXPECT_EQ(summary.issues[6].message, "date 2023-06-01 is before the case's last recorded change on 2023-06-18");
    const std::string text = summary.text();
    EXPECT_NE(text.find("line 3: unknown case id '140824-2023-0099'\n"), std::string::npos);
    EXPECT_NE(text.find(": 9 rows: 2 applied (2 status changes, 0 field changes), 0 unchanged, 7 refused\n"), std::string::npos);
    const auto all = cases();
    EXPECT_EQ(find(all, "140824-2023-0001")->status, CaseStatus::Rectifying);
    EXPECT_EQ(find(all, "140824-2023-0002")->status, CaseStatus::ToVerify);
    EXPECT_EQ(find(all, "140824-2023-0003")->status, CaseStatus::ToVerify);
}

TEST_P(LedgerImport, PatchTypesCheckedInTheFieldAreRecorded) {
    const fs::path sheet = dir_ / "types.csv";
    test::write_text(sheet,
                     "图斑编号,核查结果,日期,图斑类型\n"
                     "140824-2023-0001,违法,2023-07-01,dp\n"
                     "140824-2023-0002,,2023-07-01, DL2 \n"
                     "140824-2023-0003,,2023-07-01,大棚\n");
    const auto summary = import_verification(location(), read_import_file(sheet), {"qa", "2023-12-31", "types.csv"});
    EXPECT_EQ(summary.applied, 2u);
    EXPECT_EQ(summary.refused, 1u);
    ASSERT_EQ(summary.issues.size(), 1u);
    EXPECT_EQ(summary.issues[0].where, "line 4");
    EXPECT_EQ(summary.issues[0].message,
              "patch type (图斑类型) '大棚' is not one of 20, YH, DT, TD, TP, GF, DP, DL, DL1, DL2, DL3, QT");
    EXPECT_EQ(case_of("140824-2023-0001").tblx, "DP");  // was 20 from the run
    EXPECT_EQ(case_of("140824-2023-0002").tblx, "DL2");
    EXPECT_EQ(case_of("140824-2023-0003").tblx, "");
    bool recorded = false;
    for (const auto& e : history())
        if (e.case_id == "140824-2023-0001" && e.what == "图斑类型：20 → DP") recorded = true;
    EXPECT_TRUE(recorded);
}

TEST_P(LedgerImport, TheSameSheetTwiceChangesNothingTheSecondTime) {
    const std::vector<ImportRow> rows = {row("140824-2023-0001", "违法", "整改中", "2023-07-01"),
                                         row("140824-2023-0002", "合法", "", "2023-07-01")};
    EXPECT_EQ(import(rows).applied, 2u);
    const auto again = import(rows);
    EXPECT_EQ(again.applied, 0u);
    EXPECT_EQ(again.unchanged, 2u);
    EXPECT_EQ(again.refused, 0u);
    EXPECT_EQ(history().size(), 3u + 3u);
}

TEST_P(LedgerImport, XlsxSheetsWithEnglishHeadersAndExcelDates) {
    // A workbook written through GDAL's XLSX driver: a summary sheet without ids, a result sheet.
    const fs::path book = dir_ / "results.xlsx";
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("XLSX")->Create(book.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRLayer* summary = ds->CreateLayer("汇总", nullptr, wkbNone, nullptr);
        OGRFieldDefn township("乡镇", OFTString);
        summary->CreateField(&township);
        OGRFeatureUniquePtr s(OGRFeature::CreateFeature(summary->GetLayerDefn()));
        s->SetField(0, "稷峰镇");
        ASSERT_EQ(summary->CreateFeature(s.get()), OGRERR_NONE);
        OGRLayer* sheet = ds->CreateLayer("check", nullptr, wkbNone, nullptr);
        for (const char* name : {"JCBH", "Result", "Date"}) {
            OGRFieldDefn field(name, std::string(name) == "Date" ? OFTInteger : OFTString);
            sheet->CreateField(&field);
        }
        const std::vector<std::tuple<const char*, const char*, int>> values = {{"140824-2023-0001", "illegal", 45199},
                                                                               {"140824-2023-0002", "false_alarm", 45200}};
        for (const auto& [id, result, date] : values) {
            OGRFeatureUniquePtr f(OGRFeature::CreateFeature(sheet->GetLayerDefn()));
            f->SetField(0, id);
            f->SetField(1, result);
            f->SetField(2, date);
            ASSERT_EQ(sheet->CreateFeature(f.get()), OGRERR_NONE);
        }
    }
    const auto rows = read_import_file(book);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].where, "sheet check line 2");
    EXPECT_EQ(rows[1].where, "sheet check line 3");
    const auto summary = import(rows);
    EXPECT_EQ(summary.applied, 2u);
    const auto entries = history();
    EXPECT_EQ(entries[3].at, "2023-09-30");
    EXPECT_EQ(entries[4].at, "2023-10-01");
    EXPECT_EQ(case_of("140824-2023-0002").status, CaseStatus::FalseAlarm);
}

TEST_P(LedgerImport, GbkCsvAsExcelSavesIt) {
    const std::string utf8 = "图斑编号\t核查结果\t日期\n140824-2023-0003\t违法\t2023-07-09\n";
    char* gbk = CPLRecode(utf8.c_str(), CPL_ENC_UTF8, "GB18030");
    const std::string bytes = gbk;
    CPLFree(gbk);
    ASSERT_NE(bytes, utf8);
    test::write_text(dir_ / "gbk.csv", bytes);
    EXPECT_EQ(import(read_import_file(dir_ / "gbk.csv")).applied, 1u);
    EXPECT_EQ(case_of("140824-2023-0003").status, CaseStatus::Illegal);
}

TEST_P(LedgerImport, FilesWithoutACaseIdColumnAreRefused) {
    test::write_text(dir_ / "x.csv", "编码,结果\n1,违法\n");
    EXPECT_EQ(message_of<InputError>([&] { read_import_file(dir_ / "x.csv"); }),
              "import: '" + (dir_ / "x.csv").string() + "' has no case-id column in its first line; name one 图斑编号 (or JCBH, case_id)");
    test::write_text(dir_ / "x.ods", "");
    EXPECT_EQ(message_of<InputError>([&] { read_import_file(dir_ / "x.ods"); }),
              "import: '" + (dir_ / "x.ods").string() + "' is neither .csv nor .xlsx; save the sheet as one of them");
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerImport, ::testing::Values(LedgerBackend::GeoPackage, LedgerBackend::PostgreSQL),
                         test::backend_name);

// ---- export ---------------------------------------------------------------------------------

class LedgerExport : public LedgerImport {
protected:
    void SetUp() override {
        LedgerImport::SetUp();
        if (IsSkipped()) return;
        ASSERT_EQ(import({row("140824-2023-0001", "违法", "整改中", "2023-07-01"), row("140824-2023-0002", "误报", "", "2023-07-02")})
                      .applied,
                  2u);
    }
    // Files left in the output folder besides `keep`.
    std::set<std::string> leftovers(const fs::path& folder) {
        std::set<std::string> names;
        for (const auto& entry : fs::directory_iterator(folder)) names.insert(entry.path().filename().string());
        return names;
    }
};

TEST_P(LedgerExport, XlsxHasASummarySheetAndOneSheetPerTownship) {
    const fs::path out = dir_ / "out" / "cases.xlsx";
    const auto summary = export_ledger(location(), ExportFormat::Xlsx, out);
    EXPECT_EQ(summary.cases, 3u);
    EXPECT_EQ(summary.townships, 2u);
    EXPECT_EQ(leftovers(out.parent_path()), std::set<std::string>{"cases.xlsx"});
    // Row 1 is the title, row 2 the header (tests/ledger/xlsx_test_support.hpp).
    std::string name;
    const auto totals = test::sheet_rows(out, 0, &name);
    EXPECT_EQ(name, "汇总");
    ASSERT_EQ(totals.size(), 5u);  // title, header, two townships and 合计
    // Ranked like `ledger report`: 耕地 亩 first (化峪镇 0.45 before 稷峰镇 0.15).
    EXPECT_EQ(test::cell(totals, 0, "乡镇名称"), "化峪镇");
    EXPECT_EQ(test::cell(totals, 1, "乡镇名称"), "稷峰镇");
    EXPECT_EQ(test::cell(totals, 2, "乡镇名称"), "合计");
    EXPECT_EQ(test::cell(totals, 1, "图斑（宗）"), "2");
    EXPECT_EQ(test::cell(totals, 1, "监测面积（亩）"), "1.05");
    EXPECT_EQ(test::cell(totals, 1, "整改中"), "1");
    const auto township = test::sheet_rows(out, 1, &name);
    EXPECT_EQ(name, "稷峰镇");
    EXPECT_TRUE(test::sheet_rows(out, 2, &name).size() > 2 && name == "化峪镇") << name;
    EXPECT_TRUE(test::sheet_rows(out, 3).empty());  // three sheets
    ASSERT_GE(township.size(), 2u);
    for (const char* header : {"图斑编号", "核查结果", "整改状态", "日期", "责任人", "备注", "地块面积（亩）", "占耕地面积（亩）", "整改措施", "整改时限"})
        EXPECT_NE(std::find(township[1].begin(), township[1].end(), header), township[1].end()) << header;
    EXPECT_EQ(test::cell(township, 0, "图斑编号"), "140824-2023-0001");
    EXPECT_EQ(test::cell(township, 0, "状态"), "整改中");
    EXPECT_EQ(test::cell(township, 0, "核查结果"), "违法");
    EXPECT_EQ(test::cell(township, 0, "整改状态"), "整改中");
    EXPECT_EQ(test::cell(township, 0, "日期"), "2023/07/01");  // an Excel date
    EXPECT_EQ(test::cell(township, 0, "图斑类型"), "20");
    // A filled-in copy goes back in: unchanged rows are recognised as such.
    const auto again = import(read_import_file(out));
    EXPECT_EQ(again.rows, 3u);
    EXPECT_EQ(again.unchanged, 3u);
    EXPECT_EQ(again.refused, 0u);
}

TEST_P(LedgerExport, ShapefileInGbkWithCpgAndShortFieldNames) {
    const fs::path out = dir_ / "shp" / "cases.shp";
    export_ledger(location(), ExportFormat::Shapefile, out);
    EXPECT_EQ(leftovers(out.parent_path()), (std::set<std::string>{"cases.cpg", "cases.dbf", "cases.prj", "cases.shp", "cases.shx"}));
    EXPECT_EQ(test::read_text(dir_ / "shp" / "cases.cpg"), "GBK");
    char* gbk = CPLRecode("稷峰镇", CPL_ENC_UTF8, "GB18030");
    const std::string township_gbk = gbk;
    CPLFree(gbk);
    const std::string dbf = test::read_text(dir_ / "shp" / "cases.dbf");
    EXPECT_NE(dbf.find(township_gbk), std::string::npos);
    EXPECT_EQ(dbf.find("稷峰镇"), std::string::npos);  // not UTF-8
    GDALDatasetUniquePtr ds(GDALDataset::Open(out.c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    OGRLayer* layer = ds->GetLayer(0);
    EXPECT_EQ(layer->GetFeatureCount(), 3);
    OGRFeatureDefn* defn = layer->GetLayerDefn();
    std::vector<std::string> names;
    for (int i = 0; i < defn->GetFieldCount(); ++i) {
        names.push_back(defn->GetFieldDefn(i)->GetNameRef());
        EXPECT_LE(names.back().size(), 10u);
    }
    for (const char* name : {"JCBH", "XZQDM", "XZMC", "QSX", "HSX", "XZB", "YZB", "JCMJ", "GDMJ", "TBLX", "ZT", "HFXSC", "ZRR", "BZ"})
        EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    OGRFeatureUniquePtr f(layer->GetNextFeature());
    EXPECT_STREQ(f->GetFieldAsString("JCBH"), "140824-2023-0001");
    EXPECT_STREQ(f->GetFieldAsString("XZMC"), "稷峰镇");
    EXPECT_STREQ(f->GetFieldAsString("ZT"), "整改中");
    EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("JCMJ"), 0.6);
    EXPECT_STREQ(f->GetFieldAsString("TBLX"), "20");
    EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("XZB"), 500010.0);
    EXPECT_NEAR(OGR_G_Area(OGRGeometry::ToHandle(f->GetGeometryRef())), 400.0, 1e-6);
}

TEST_P(LedgerExport, GeoPackageCopyIsItselfALedger) {
    const fs::path out = dir_ / "copy.gpkg";
    export_ledger(location(), ExportFormat::GeoPackage, out);
    auto copy = LedgerStore::open(out.string(), LedgerStore::Mode::Read);
    const auto copied = copy->load_cases(true);
    ASSERT_EQ(copied.size(), 3u);
    EXPECT_EQ(copied[0].case_id, "140824-2023-0001");
    EXPECT_EQ(copied[0].status, CaseStatus::Rectifying);
    EXPECT_EQ(copy->load_history().size(), history().size());
    EXPECT_EQ(copy->load_runs().size(), 1u);
    EXPECT_EQ(copy->srs().GetAuthorityCode(nullptr), std::string("4546"));
}

TEST_P(LedgerExport, KmlInLongitudeLatitude) {
    const fs::path out = dir_ / "field" / "cases.kml";
    export_ledger(location(), ExportFormat::Kml, out);
    const std::string kml = test::read_text(out);
    EXPECT_NE(kml.find("<name>140824-2023-0001</name>"), std::string::npos);
    EXPECT_NE(kml.find("<name>稷峰镇</name>"), std::string::npos);  // a folder per township
    const auto at = kml.find("<coordinates>");
    ASSERT_NE(at, std::string::npos);
    const double lon = std::stod(kml.substr(at + 13, 20));
    const double lat = std::stod(kml.substr(kml.find(',', at) + 1, 20));
    EXPECT_NEAR(lon, 111.0, 0.01);  // EPSG:4546's central meridian; easting 500010 m is 0.0001° east
    EXPECT_NEAR(lat, 35.6, 0.1);
}

TEST_P(LedgerExport, WrongExtensionIsRefused) {
    EXPECT_EQ(message_of<ConfigError>([&] { export_ledger(location(), ExportFormat::Shapefile, dir_ / "cases.dbf"); }),
              "export: --out '" + (dir_ / "cases.dbf").string() + "' does not end in .shp; give a path ending in .shp");
    EXPECT_EQ(export_format_of("a/b.KML"), ExportFormat::Kml);
    EXPECT_EQ(parse_export_format("shp"), ExportFormat::Shapefile);
    EXPECT_FALSE(parse_export_format("csv"));
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerExport, ::testing::Values(LedgerBackend::GeoPackage, LedgerBackend::PostgreSQL),
                         test::backend_name);

}  // namespace
}  // namespace weipian
