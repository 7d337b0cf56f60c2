// Pre-judgement (初判): the rules of ENFORCEMENT.md §3 in order on hand-made parcels, the coverage
// gates at their boundaries, 存疑 texts, the 15 % ratio and its summary.txt lines, the config keys.
#include "pipeline/prejudge.hpp"

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <ogrsf_frmts.h>

#include <cmath>
#include <string>
#include <vector>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/verdicts.hpp"
#include "pipeline/emit.hpp"
#include "pipeline/main_job.hpp"
#include "tests/support/config_support.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

constexpr double kM2PerMu = 2000.0 / 3.0;  // 1 亩 = 10000/15 m²

OGRGeometryUniquePtr rectangle(double width, double height) {
    auto ring = std::make_unique<OGRLinearRing>();
    ring->addPoint(0, 0);
    ring->addPoint(width, 0);
    ring->addPoint(width, height);
    ring->addPoint(0, height);
    ring->addPoint(0, 0);
    auto polygon = std::make_unique<OGRPolygon>();
    polygon->addRingDirectly(ring.release());
    return OGRGeometryUniquePtr(polygon.release());
}

// A parcel of `mu` 亩 (a 100 m-long rectangle), `cultivated_mu` of it 耕地, DLTB assessed.
Parcel parcel(double mu, double cultivated_mu = 0, const std::string& tblx = "20") {
    Parcel p;
    p.id = 1;
    p.area_m2 = mu * kM2PerMu;
    p.cultivated_m2 = cultivated_mu * kM2PerMu;
    p.geometry = rectangle(100, p.area_m2 / 100);
    p.tblx = tblx;
    p.overlay.land_assessed = true;
    return p;
}

void cover(Parcel& p, const std::string& kind, const std::string& name, double share, std::vector<std::string> numbers = {},
           const std::string& end_date = "") {
    ApprovalCover c;
    c.kind = kind;
    c.name = name;
    c.share = share;
    c.covered_m2 = share * p.area_m2;
    c.numbers = std::move(numbers);
    c.end_date = end_date;
    p.overlay.approvals.push_back(c);
}

// A parcel under a configured 批准用地 layer that does not cover it (so rules 1–3 are checkable).
Parcel checked(double mu, double cultivated_mu = 0, const std::string& tblx = "20") {
    Parcel p = parcel(mu, cultivated_mu, tblx);
    cover(p, "批准用地", "农转用批文", 0.0);
    return p;
}

Prejudgement judge(const Parcel& p, const PrejudgeConfig& config = {}, const std::string& after_date = "2023-04-20") {
    return prejudge_parcel(p, config, after_date);
}

// ---- rules 1–3

TEST(Prejudge, ApprovalFiresWithLayerNumberAndShare) {
    Parcel p = parcel(10);
    cover(p, "批准用地", "农转用批文", 0.985, {"晋政地〔2022〕15号"});
    const auto j = judge(p);
    EXPECT_EQ(j.verdict, "合法");
    EXPECT_EQ(j.category, "批文");
    EXPECT_EQ(j.rule, "1 合法·批文");
    EXPECT_EQ(j.evidence, "农转用批文 晋政地〔2022〕15号 覆盖 98.5%");
    EXPECT_EQ(j.missing, "");
}

TEST(Prejudge, LinkageCountsAsApproval) {
    Parcel p = parcel(10);
    cover(p, "增减挂钩", "", 1.0, {"运增减〔2021〕3号", "运增减〔2021〕4号"});
    const auto j = judge(p);
    EXPECT_EQ(j.rule, "1 合法·批文");
    EXPECT_EQ(j.evidence, "增减挂钩 运增减〔2021〕3号、运增减〔2021〕4号 覆盖 100.0%");
}

TEST(Prejudge, SupplyAndTitleFire) {
    Parcel p = checked(10);
    cover(p, "供地", "供地", 0.97, {"稷供〔2022〕7号"});
    auto j = judge(p);
    EXPECT_EQ(j.verdict + "·" + j.category, "合法·供地手续");
    EXPECT_EQ(j.rule, "2 合法·供地手续");
    EXPECT_EQ(j.evidence, "供地 稷供〔2022〕7号 覆盖 97.0%");

    Parcel q = checked(10);
    cover(q, "不动产登记", "不动产登记", 1.0, {"晋(2021)稷山县不动产权第0001234号"});
    j = judge(q);
    EXPECT_EQ(j.verdict + "·" + j.category, "合法·登记发证");
    EXPECT_EQ(j.rule, "3 合法·登记发证");
    EXPECT_EQ(j.evidence, "不动产登记 晋(2021)稷山县不动产权第0001234号 覆盖 100.0%");
}

TEST(Prejudge, FirstRuleInTheConfiguredOrderWins) {
    Parcel p = parcel(10);
    cover(p, "批准用地", "农转用批文", 1.0, {"A"});
    cover(p, "供地", "供地", 1.0, {"B"});
    p.overlay.land.homestead_m2 = 0.7 * p.area_m2;
    EXPECT_EQ(judge(p).rule, "1 合法·批文");
    PrejudgeConfig supply_first;
    supply_first.rules = {"供地手续", "批文", "登记发证", "设施农用地", "农村道路", "其他"};
    EXPECT_EQ(judge(p, supply_first).rule, "2 合法·供地手续");
    PrejudgeConfig other_first;
    other_first.rules = {"其他", "批文"};
    const auto j = judge(p, other_first);
    EXPECT_EQ(j.verdict + "·" + j.category, "其他·农村宅基地");
    EXPECT_EQ(j.rule, "6 其他");
}

// ---- the coverage gates

TEST(Prejudge, LargeParcelGateIsNinetyFivePercentInclusive) {
    Parcel p = parcel(3);
    cover(p, "批准用地", "农转用批文", 0.95, {"A"});
    EXPECT_EQ(judge(p).verdict, "合法");
    Parcel q = parcel(3);
    cover(q, "批准用地", "农转用批文", 0.949, {"A"});
    const auto j = judge(q);
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.category, "");
    EXPECT_EQ(j.rule, "1 合法·批文");
    EXPECT_EQ(j.missing, "农转用批文 A 覆盖 94.9%，未达覆盖门槛 95%（地块 3 亩，大于 2 亩）：核实批文范围");
}

TEST(Prejudge, TwoMuIsASmallParcelWithTheNinetyPercentGate) {
    Parcel at = parcel(2);
    cover(at, "批准用地", "农转用批文", 0.90, {"A"});
    EXPECT_EQ(judge(at).verdict, "合法");
    Parcel below = parcel(2);
    cover(below, "批准用地", "农转用批文", 0.899, {"A"});
    EXPECT_EQ(judge(below).missing, "农转用批文 A 覆盖 89.9%，未达覆盖门槛 90%（地块 2 亩，不大于 2 亩）：核实批文范围");
    Parcel above = parcel(2.01);
    cover(above, "批准用地", "农转用批文", 0.90, {"A"});
    const auto j = judge(above);
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.missing, "农转用批文 A 覆盖 90.0%，未达覆盖门槛 95%（地块 2.01 亩，大于 2 亩）：核实批文范围");
}

TEST(Prejudge, UncoveredCultivatedMustStayBelowHalfAMu) {
    // 20 亩 all 耕地: 97.5 % covered leaves 0.5 亩 uncovered, 98 % leaves 0.4 亩.
    Parcel at = parcel(20, 20);
    cover(at, "批准用地", "农转用批文", 0.975, {"A"});
    const auto j = judge(at);
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.missing, "农转用批文 A 覆盖 97.5%，未覆盖部分至多占耕地 0.5 亩，未低于 0.5 亩：核实批文范围");
    Parcel below = parcel(20, 20);
    cover(below, "批准用地", "农转用批文", 0.98, {"A"});
    const auto k = judge(below);
    EXPECT_EQ(k.verdict, "合法");
    EXPECT_EQ(k.evidence, "农转用批文 A 覆盖 98.0%，未覆盖部分至多占耕地 0.4 亩");
    // The bound is min(耕地, 地块 − 覆盖): 0.3 亩 耕地 cannot leave more than 0.3 亩 uncovered.
    Parcel little = parcel(20, 0.3);
    cover(little, "批准用地", "农转用批文", 0.95, {"A"});
    EXPECT_EQ(judge(little).evidence, "农转用批文 A 覆盖 95.0%，未覆盖部分至多占耕地 0.3 亩");
}

TEST(Prejudge, PartialCoverGivesWayToALaterRule) {
    Parcel p = parcel(10, 0, "DP");
    cover(p, "批准用地", "农转用批文", 0.5, {"A"});
    cover(p, "设施农用地", "设施农用地备案", 1.0, {"140824202300012"});
    const auto j = judge(p);
    EXPECT_EQ(j.verdict, "设施农用地");
    EXPECT_EQ(j.rule, "4 设施农用地");
}

// ---- rule 4: facility agriculture and greenhouses

TEST(Prejudge, GreenhouseUnderAFilingIsFacilityAgriculture) {
    Parcel p = checked(3, 3, "DP");
    cover(p, "设施农用地", "设施农用地备案", 1.0, {"140824202300012"});
    const auto j = judge(p);
    EXPECT_EQ(j.verdict, "设施农用地");
    EXPECT_EQ(j.category, "");
    EXPECT_EQ(j.rule, "4 设施农用地");
    EXPECT_EQ(j.evidence, "设施农用地备案 140824202300012 覆盖 100.0%");
}

TEST(Prejudge, GreenhouseWithoutFilingIsDoubtfulNeverViolation) {
    Parcel p = checked(3, 3, "DP");
    cover(p, "设施农用地", "设施农用地备案", 0.0);
    auto j = judge(p);
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.rule, "4 设施农用地");
    EXPECT_EQ(j.missing, "设施农用地备案：大棚（DP）未被备案覆盖，核对备案");

    Parcel no_layer = checked(3, 3, "DP");
    j = judge(no_layer);
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.missing, "设施农用地备案：大棚（DP）须核对备案，未配置设施农用地图层");

    // Even when the rule is left out of prejudge.rules.
    PrejudgeConfig no_facility_rule;
    no_facility_rule.rules = {"批文", "供地手续", "登记发证"};
    j = judge(no_layer, no_facility_rule);
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.missing, "设施农用地备案：大棚（DP）须核对备案");
}

TEST(Prejudge, PartlyFiledGreenhouseNamesTheFiling) {
    Parcel p = checked(3, 3, "DP");
    cover(p, "设施农用地", "设施农用地备案", 0.6, {"140824202300012"});
    const auto j = judge(p);
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.missing, "设施农用地备案 140824202300012 覆盖 60.0%，未达覆盖门槛 95%（地块 3 亩，大于 2 亩）：核对设施农用地备案");
}

TEST(Prejudge, Class1202IsFacilityAgriculture) {
    Parcel p = checked(3);
    p.overlay.land.facility_m2 = 0.6 * p.area_m2;
    const auto j = judge(p);
    EXPECT_EQ(j.verdict, "设施农用地");
    EXPECT_EQ(j.evidence, "三调地类 1202 设施农用地 占 60.0%");
}

// ---- rule 5: rural roads

TEST(Prejudge, StripWidthIsTheEquivalentRectangleWidth) {
    EXPECT_DOUBLE_EQ(strip_width_m(*rectangle(500, 5)), 5.0);
    EXPECT_DOUBLE_EQ(strip_width_m(*rectangle(500, 8)), 8.0);
    EXPECT_DOUBLE_EQ(strip_width_m(*rectangle(20, 20)), 20.0);  // P² = 16A: a square is its own strip
    // A road in two parts (a MultiPolygon, 100 m apart): both outlines count.
    OGRMultiPolygon two;
    auto near = rectangle(500, 5);
    auto far = rectangle(500, 5);
    OGRLinearRing* ring = far->toPolygon()->getExteriorRing();
    for (int i = 0; i < ring->getNumPoints(); ++i) ring->setPoint(i, ring->getX(i), ring->getY(i) + 100);
    two.addGeometry(near.get());
    two.addGeometry(far.get());
    EXPECT_NEAR(strip_width_m(two), 4.975, 0.001);
    // A disc (P² < 16A) is no strip: its width is √A.
    OGRLinearRing circle;
    for (int deg = 0; deg <= 360; ++deg) circle.addPoint(10 * std::cos(deg * M_PI / 180), 10 * std::sin(deg * M_PI / 180));
    OGRPolygon disc;
    disc.addRing(&circle);
    EXPECT_NEAR(strip_width_m(disc), std::sqrt(disc.get_Area()), 1e-9);
}

Parcel road(double width_m, const std::string& tblx = "DL") {
    Parcel p = checked(1);
    p.area_m2 = 500 * width_m;
    p.geometry = rectangle(500, width_m);
    p.overlay.land.rural_road_m2 = p.area_m2;
    p.tblx = tblx;
    return p;
}

TEST(Prejudge, RuralRoadTwoToEightMetresWide) {
    auto j = judge(road(5));
    EXPECT_EQ(j.verdict, "农村道路");
    EXPECT_EQ(j.rule, "5 农村道路");
    EXPECT_EQ(j.evidence, "三调地类 1006 农村道路 占 100.0%，宽约 5.0 米");
    EXPECT_EQ(judge(road(8)).verdict, "农村道路");
    EXPECT_EQ(judge(road(2)).verdict, "农村道路");
    j = judge(road(12));
    EXPECT_EQ(j.verdict, "非农违法");
    EXPECT_EQ(j.category, "道路交通");
    EXPECT_EQ(j.rule, "7 非农违法（疑似）");
    EXPECT_EQ(j.evidence, "未见审批、供地、登记覆盖；图斑类型 DL；三调地类 1006 农村道路 占 100.0%，宽约 12.0 米，不在 2.0–8.0 米");
    EXPECT_EQ(judge(road(1.5)).verdict, "非农违法");
}

// ---- rule 6: 203, homesteads, temporary use

TEST(Prejudge, UrbanVillageAndHomesteadAreOther) {
    Parcel v = checked(3);
    v.overlay.land.urban_village_m2 = v.area_m2;
    auto j = judge(v);
    EXPECT_EQ(j.verdict + "·" + j.category, "其他·203范围及开天窗");
    EXPECT_EQ(j.rule, "6 其他");
    EXPECT_EQ(j.evidence, "三调城镇村属性 203 占 100.0%");
    Parcel h = checked(0.5);
    h.overlay.land.homestead_m2 = 0.7 * h.area_m2;
    j = judge(h);
    EXPECT_EQ(j.verdict + "·" + j.category, "其他·农村宅基地");
    EXPECT_EQ(j.evidence, "三调地类 0702 农村宅基地 占 70.0%");
    Parcel little = checked(0.5);
    little.overlay.land.homestead_m2 = 0.4 * little.area_m2;
    EXPECT_EQ(judge(little).verdict, "非农违法");
}

TEST(Prejudge, TemporaryUse) {
    Parcel valid = checked(3, 1, "DT");
    cover(valid, "临时用地", "临时用地", 1.0, {"稷临〔2023〕2号"}, "2024-06-30");
    auto j = judge(valid);
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.rule, "6 其他");
    EXPECT_EQ(j.missing, "临时用地 稷临〔2023〕2号 覆盖 100.0%，有效至 2024-06-30：核实是否临时使用");

    Parcel expired = checked(3, 1, "DT");
    cover(expired, "临时用地", "临时用地", 1.0, {"稷临〔2021〕1号"}, "2023-01-31");
    j = judge(expired);
    EXPECT_EQ(j.verdict + "·" + j.category, "非农违法·圈占堆放等其他用地");
    EXPECT_EQ(j.evidence, "未见审批、供地、登记覆盖；图斑类型 DT；临时用地 稷临〔2021〕1号 覆盖 100.0%，已于 2023-01-31 到期");

    Parcel built = checked(3, 1, "20");
    cover(built, "临时用地", "临时用地", 1.0, {"稷临〔2023〕2号"}, "2024-06-30");
    j = judge(built);
    EXPECT_EQ(j.verdict + "·" + j.category, "非农违法·工矿商服");
    EXPECT_EQ(j.evidence, "未见审批、供地、登记覆盖；图斑类型 20；临时用地 稷临〔2023〕2号 覆盖 100.0%，有效至 2024-06-30，但已建房（20）");

    Parcel undated = checked(3, 1, "DT");
    cover(undated, "临时用地", "临时用地", 1.0, {"稷临〔2023〕2号"});
    EXPECT_EQ(judge(undated).missing, "临时用地 稷临〔2023〕2号 覆盖 100.0%，无到期日期：核实临时用地期限");
    EXPECT_EQ(judge(valid, {}, "").missing, "临时用地 稷临〔2023〕2号 覆盖 100.0%，有效至 2024-06-30，后时相日期未注明：核实是否到期");
}

// ---- rule 7 and what is missing

TEST(Prejudge, ViolationCategoryFromThePatchType) {
    EXPECT_EQ(violation_category("20"), "工矿商服");
    EXPECT_EQ(violation_category("YH"), "工矿商服");
    EXPECT_EQ(violation_category("GF"), "工矿商服");
    EXPECT_EQ(violation_category("DL"), "道路交通");
    EXPECT_EQ(violation_category("DT"), "圈占堆放等其他用地");
    EXPECT_EQ(violation_category("QT"), "圈占堆放等其他用地");
    EXPECT_EQ(violation_category("DP"), "");
    const auto j = judge(checked(3, 2, "GF"));
    EXPECT_EQ(j.verdict + "·" + j.category, "非农违法·工矿商服");
    EXPECT_EQ(j.evidence, "未见审批、供地、登记覆盖；图斑类型 GF");
    EXPECT_EQ(j.missing, "");
}

TEST(Prejudge, SuggestionsUseThePlatformVocabulary) {
    for (const auto& t : {"20", "YH", "GF", "DL", "DT", "QT"}) {
        const auto c = violation_category(t);
        ASSERT_TRUE(normalize_category("非农违法", c).has_value()) << c;
        EXPECT_EQ(*normalize_category("非农违法", c), c);
    }
    for (const auto& [v, c] : {std::pair<const char*, const char*>{"合法", "批文"}, {"合法", "供地手续"}, {"合法", "登记发证"},
                                {"其他", "203范围及开天窗"}, {"其他", "农村宅基地"}, {"设施农用地", ""}, {"农村道路", ""}}) {
        ASSERT_TRUE(normalize_verdict(v).has_value()) << v;
        EXPECT_EQ(normalize_category(v, c).value_or("?"), c);
    }
}

TEST(Prejudge, NoApprovalLayerMeansDoubtfulNotViolation) {
    const auto j = judge(parcel(3, 2, "20"));
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.rule, "7 非农违法（疑似）");
    EXPECT_EQ(j.missing, "审批图层（批准用地/供地/不动产登记）未配置");
    // A facility filing or temporary-use layer is no approval layer.
    Parcel p = parcel(3, 2, "20");
    cover(p, "设施农用地", "设施农用地备案", 0.0);
    EXPECT_EQ(judge(p).missing, "审批图层（批准用地/供地/不动产登记）未配置");
    // Leaving rules 1–3 out is the county's choice: no approval is needed then.
    PrejudgeConfig land_only;
    land_only.rules = {"设施农用地", "农村道路", "其他"};
    const auto k = judge(parcel(3, 2, "20"), land_only);
    EXPECT_EQ(k.verdict, "非农违法");
    EXPECT_EQ(k.evidence, "未核审批（prejudge.rules 未列）；图斑类型 20");
}

TEST(Prejudge, NoLandSurveyMeansDoubtful) {
    Parcel p = checked(3, 0, "20");
    p.overlay.land_assessed = false;
    const auto j = judge(p);
    EXPECT_EQ(j.verdict, kDoubtful);
    EXPECT_EQ(j.rule, "7 非农违法（疑似）");
    EXPECT_EQ(j.missing, "三调地类图层（overlay.cultivated）未配置，设施农用地（1202）、农村道路（1006）、203范围、农村宅基地（0702）未核");
    Parcel q = parcel(3, 0, "20");
    q.overlay.land_assessed = false;
    EXPECT_EQ(judge(q).missing,
              "审批图层（批准用地/供地/不动产登记）未配置；三调地类图层（overlay.cultivated）未配置，设施农用地（1202）、农村道路（1006）、"
              "203范围、农村宅基地（0702）未核");
}

TEST(Prejudge, StageFillsEveryParcelOrNoneWhenOff) {
    std::vector<Parcel> parcels;
    parcels.push_back(checked(3, 1, "20"));
    parcels.push_back(road(5));
    Config config;
    config.after.date = "2023-04-20";
    PrejudgeStage(PrejudgeStage::Options::from(config)).run(parcels);
    EXPECT_EQ(parcels[0].prejudgement.verdict, "非农违法");
    EXPECT_EQ(parcels[1].prejudgement.verdict, "农村道路");
    for (auto& p : parcels) p.prejudgement = {};
    config.prejudge.enabled = false;
    PrejudgeStage(PrejudgeStage::Options::from(config)).run(parcels);
    EXPECT_TRUE(parcels[0].prejudgement.empty());
    EXPECT_TRUE(parcels[1].prejudgement.empty());
}

// ---- the 15 % ratio

Parcel judged(const std::string& township, const std::string& code, const std::string& verdict, double mu, double cultivated_mu) {
    Parcel p = parcel(mu, cultivated_mu);
    p.township_name = township;
    p.township_code = code;
    p.prejudgement.verdict = verdict;
    return p;
}

// 甲镇 1.5 of 10 亩 (15.0 %), 乙镇 1 of 10 (10.0 %), 丙镇 0.5 of 10 (5.0 %, 2 亩 存疑); county 3 of 30.
std::vector<Parcel> ratio_parcels(double jia_illegal = 1.5) {
    std::vector<Parcel> v;
    v.push_back(judged("甲镇", "001", "非农违法", 2, jia_illegal));
    v.push_back(judged("甲镇", "001", "合法", 9, 10 - jia_illegal));
    v.push_back(judged("乙镇", "002", "非农违法", 1, 1));
    v.push_back(judged("乙镇", "002", "其他", 10, 9));
    v.push_back(judged("丙镇", "003", "非农违法", 0.5, 0.5));
    v.push_back(judged("丙镇", "003", kDoubtful, 3, 2));
    v.push_back(judged("丙镇", "003", "设施农用地", 8, 7.5));
    return v;
}

std::string lines_for(const std::vector<Parcel>& parcels, const PrejudgeConfig& config = {}, bool cultivated = true) {
    return format_prejudge_lines(summarize_prejudgement(parcels, summarize_by_township(parcels), config, cultivated));
}

TEST(PrejudgeRatio, FiguresPerTownshipAndCounty) {
    const auto parcels = ratio_parcels();
    const auto s = summarize_prejudgement(parcels, summarize_by_township(parcels), {}, true);
    EXPECT_EQ(s.county.illegal_centimu, 300);
    EXPECT_EQ(s.county.doubtful_centimu, 200);
    EXPECT_EQ(s.county.cultivated_centimu, 3000);
    EXPECT_EQ(s.county.permille(), 100);
    EXPECT_EQ(s.county.permille_with_doubtful(), 166);
    EXPECT_EQ(s.county.level, RatioLevel::Warning);
    ASSERT_EQ(s.townships.size(), 3u);
    EXPECT_EQ(s.townships[0].name, "丙镇");  // the ranking's order
    EXPECT_EQ(s.townships[0].level, RatioLevel::Below);
    EXPECT_EQ(s.townships[1].name, "甲镇");
    EXPECT_EQ(s.townships[1].permille(), 150);
    EXPECT_EQ(s.townships[1].level, RatioLevel::Limit);
    EXPECT_EQ(s.townships[2].level, RatioLevel::Warning);
    EXPECT_EQ(s.by_verdict.at("非农违法").parcels, 3);
    const auto j = prejudge_json(s);
    EXPECT_EQ(j["counts"]["非农违法"], 3);
    EXPECT_EQ(j["counts"]["存疑"], 1);
    EXPECT_EQ(j["ratio"]["county"]["level"], "warning");
    EXPECT_DOUBLE_EQ(j["ratio"]["county"]["percent"].get<double>(), 10.0);
    EXPECT_EQ(j["ratio"]["townships"][1]["level"], "limit");
}

TEST(PrejudgeRatio, SummaryLinesAtWarningAndLimit) {
    EXPECT_EQ(lines_for(ratio_parcels()),
              "初判建议（仅供参考，以外业核查为准）：非农违法 3 宗，面积 3.5 亩（耕地 3 亩）；存疑 1 宗，面积 3 亩（耕地 2 亩）；"
              "合法 1 宗，面积 9 亩（耕地 8.5 亩）；其他 1 宗，面积 10 亩（耕地 9 亩）；设施农用地 1 宗，面积 8 亩（耕地 7.5 亩）。\n"
              "耕地占用比例（15%，按初判建议）：全县初判非农违法占用耕地 3 亩，占新增建设占用耕地 30 亩的 10.0%，预警（预警线 10%）；"
              "另有存疑图斑耕地 2 亩未计入，若均属违法则为 16.6%。\n"
              "  甲镇初判非农违法占用耕地 1.5 亩，占新增建设占用耕地 10 亩的 15.0%，已达15%。\n"
              "  乙镇初判非农违法占用耕地 1 亩，占新增建设占用耕地 10 亩的 10.0%，预警（预警线 10%）。\n");
}

TEST(PrejudgeRatio, SummaryLinesAtTheCountyLimitAndBelow) {
    // 甲镇 6 of 10: county 7.5 of 30 = 25.0 %.
    const std::string limit = lines_for(ratio_parcels(6));
    EXPECT_CONTAINS(limit, "耕地占用比例（15%，按初判建议）：全县初判非农违法占用耕地 7.5 亩，占新增建设占用耕地 30 亩的 25.0%，已达15%；");
    EXPECT_CONTAINS(limit, "\n  甲镇初判非农违法占用耕地 6 亩，占新增建设占用耕地 10 亩的 60.0%，已达15%。\n");
    // 14.96 % shows 14.9 %, not a rounded-up 15.0 % that has not reached 15 %.
    std::vector<Parcel> near;
    near.push_back(judged("甲镇", "001", "非农违法", 2, 1.87));
    near.push_back(judged("甲镇", "001", "合法", 12, 10.63));
    EXPECT_CONTAINS(lines_for(near), "的 14.9%，预警（预警线 10%）。\n");
    // Below the warning: the county line without a level, no township line.
    std::vector<Parcel> low;
    low.push_back(judged("甲镇", "001", "非农违法", 1, 0.5));
    low.push_back(judged("甲镇", "001", "合法", 10, 9.5));
    EXPECT_EQ(lines_for(low),
              "初判建议（仅供参考，以外业核查为准）：非农违法 1 宗，面积 1 亩（耕地 0.5 亩）；合法 1 宗，面积 10 亩（耕地 9.5 亩）。\n"
              "耕地占用比例（15%，按初判建议）：全县初判非农违法占用耕地 0.5 亩，占新增建设占用耕地 10 亩的 5.0%。\n");
    PrejudgeConfig strict;
    strict.ratio_warning = 0.05;
    strict.ratio_limit = 0.125;
    EXPECT_CONTAINS(lines_for(low, strict), "的 5.0%，预警（预警线 5%）。\n");
}

TEST(PrejudgeRatio, NoRatioWithoutCultivatedLandOrWhenOff) {
    EXPECT_CONTAINS(lines_for(ratio_parcels(), {}, false), "\n耕地占用比例（15%）未计算：本次未配置耕地图层（overlay.cultivated）。\n");
    std::vector<Parcel> none;
    none.push_back(judged("甲镇", "001", "非农违法", 1, 0));
    EXPECT_CONTAINS(lines_for(none), "\n耕地占用比例（15%）：本期新增建设图斑不涉及耕地。\n");
    PrejudgeConfig off;
    off.enabled = false;
    EXPECT_EQ(lines_for(ratio_parcels(), off), "");
}

TEST(PrejudgeRatio, SummaryTxtCarriesTheLinesAfterTheGreenhouses) {
    test::TempDir temp;
    const auto parcels = ratio_parcels();
    const auto rows = summarize_by_township(parcels);
    const auto s = summarize_prejudgement(parcels, rows, {}, true);
    const auto path = temp.path() / "summary.txt";
    write_summary_txt(path, "稷山县", {"2023-01-15", "2023-04-20"}, rows, {1, 800}, &s);
    const std::string text = test::read_text(path);
    const auto greenhouse = text.find("须核对设施农用地备案，不按建筑统计。\n");
    const auto suggestion = text.find("\n\n初判建议（仅供参考，以外业核查为准）：非农违法 3 宗");
    const auto note = text.find("\n说明：以上图斑由卫片自动提取");
    ASSERT_NE(greenhouse, std::string::npos) << text;
    ASSERT_NE(suggestion, std::string::npos) << text;
    ASSERT_NE(note, std::string::npos) << text;
    EXPECT_LT(greenhouse, suggestion);
    EXPECT_LT(suggestion, note);
    write_summary_txt(path, "稷山县", {"2023-01-15", "2023-04-20"}, rows, {1, 800});
    EXPECT_EQ(test::read_text(path).find("初判建议"), std::string::npos);
}

// ---- the main job: every parcel judged, run.json and summary.txt carry the suggestions

TEST(PrejudgeRun, SampleWithoutApprovalLayersIsAllDoubtful) {
    test::TempDir dir;
    const std::filesystem::path sample = std::filesystem::path(WEIPIAN_SOURCE_DIR) / "configs" / "sample.yaml";
    Config config = Config::parse(test::read_text(sample), sample);
    config.overlay.approvals.clear();  // whatever the sample configures: no approval layer at all
    config.output_dir = (dir / "out").string();
    run_main_job(config);
    const auto report = nlohmann::json::parse(test::read_text(dir / "out" / "run.json"));
    const auto parcels = report["counts"]["parcels"].get<long long>();
    ASSERT_GT(parcels, 0);
    EXPECT_EQ(report["prejudgement"], (nlohmann::json{{"存疑", parcels}}));
    EXPECT_EQ(report["prejudgement_ratio"]["county"]["illegal_cultivated_mu"], "0");
    EXPECT_EQ(report["prejudgement_ratio"]["county"]["doubtful_cultivated_mu"], report["counts"]["cultivated_mu"]);
    EXPECT_TRUE(report["timings_s"].contains("prejudge"));
    const std::string summary = test::read_text(dir / "out" / "summary.txt");
    EXPECT_CONTAINS(summary, "\n初判建议（仅供参考，以外业核查为准）：存疑 " + std::to_string(parcels) + " 宗，面积 " +
                                 report["counts"]["area_mu"].get<std::string>() + " 亩（耕地 " +
                                 report["counts"]["cultivated_mu"].get<std::string>() + " 亩）。\n");
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "out" / "parcels.gpkg").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    for (auto& f : *ds->GetLayerByName("parcels")) {
        EXPECT_STREQ(f->GetFieldAsString("cp_yj"), "存疑");
        EXPECT_CONTAINS(std::string(f->GetFieldAsString("cp_missing")), "审批图层（批准用地/供地/不动产登记）未配置");
    }

    config.prejudge.enabled = false;
    config.output_dir = (dir / "off").string();
    run_main_job(config);
    const auto off = nlohmann::json::parse(test::read_text(dir / "off" / "run.json"));
    EXPECT_TRUE(off["prejudgement"].is_null());
    EXPECT_EQ(test::read_text(dir / "off" / "summary.txt").find("初判建议"), std::string::npos);
}

// ---- configuration

TEST(PrejudgeConfigKeys, ReadAndShown) {
    const Config c = Config::parse(
        "prejudge: {enabled: false, rules: [其他, 批文], large_parcel_mu: 3, cover_share_large: 0.9, cover_share_small: 0.85,\n"
        "  uncovered_cultivated_max_mu: 0.3, class_share: 0.6, road_width_min_m: 3, road_width_max_m: 6,\n"
        "  ratio_warning: 0.12, ratio_limit: 0.2}\n",
        "/data/jishan.yaml");
    EXPECT_FALSE(c.prejudge.enabled);
    EXPECT_EQ(c.prejudge.rules, (std::vector<std::string>{"其他", "批文"}));
    EXPECT_DOUBLE_EQ(c.prejudge.large_parcel_mu, 3);
    EXPECT_DOUBLE_EQ(c.prejudge.cover_share_large, 0.9);
    EXPECT_DOUBLE_EQ(c.prejudge.cover_share_small, 0.85);
    EXPECT_DOUBLE_EQ(c.prejudge.uncovered_cultivated_max_mu, 0.3);
    EXPECT_DOUBLE_EQ(c.prejudge.class_share, 0.6);
    EXPECT_DOUBLE_EQ(c.prejudge.road_width_min_m, 3);
    EXPECT_DOUBLE_EQ(c.prejudge.road_width_max_m, 6);
    EXPECT_DOUBLE_EQ(c.prejudge.ratio_warning, 0.12);
    EXPECT_DOUBLE_EQ(c.prejudge.ratio_limit, 0.2);
    EXPECT_EQ(c.to_json()["prejudge"]["enabled"], false);
    const std::string keys = describe_config_keys();
    for (const auto& k : {"prejudge.enabled", "prejudge.rules", "prejudge.large_parcel_mu", "prejudge.cover_share_large",
                          "prejudge.cover_share_small", "prejudge.uncovered_cultivated_max_mu", "prejudge.class_share",
                          "prejudge.road_width_min_m", "prejudge.road_width_max_m", "prejudge.ratio_warning", "prejudge.ratio_limit"})
        EXPECT_CONTAINS(keys, k);
    EXPECT_CONTAINS(keys, "prejudge.rules  (default [批文, 供地手续, 登记发证, 设施农用地, 农村道路, 其他]; list)");
    EXPECT_EQ(prejudge_rules_text(), "批文, 供地手续, 登记发证, 设施农用地, 农村道路, 其他");
}

TEST(PrejudgeConfigKeys, Messages) {
    const auto refusal = [](const std::string& yaml) { return test::config_refusal(yaml, "/data/cfg/jishan.yaml"); };
    EXPECT_EQ(refusal("prejudge: {enabled: maybe}\n"), "config '/data/cfg/jishan.yaml': key 'prejudge.enabled': 'maybe' is not true or false");
    EXPECT_EQ(refusal("prejudge: {rules: [批文, 拆除]}\n"),
              "config '/data/cfg/jishan.yaml': key 'prejudge.rules': unknown rule '拆除'; known rules: 批文, 供地手续, 登记发证, 设施农用地, "
              "农村道路, 其他");
    EXPECT_EQ(refusal("prejudge: {rules: [批文, 非农违法]}\n"),
              "config '/data/cfg/jishan.yaml': key 'prejudge.rules': '非农违法' always closes the rules and is not listed; remove it");
    EXPECT_EQ(refusal("prejudge: {rules: [批文, 其他, 批文]}\n"),
              "config '/data/cfg/jishan.yaml': key 'prejudge.rules': rule '批文' is listed twice; list each rule once");
    EXPECT_EQ(refusal("prejudge: {rules: []}\n"),
              "config '/data/cfg/jishan.yaml': key 'prejudge.rules' is empty; list the rules to try (批文, 供地手续, 登记发证, 设施农用地, "
              "农村道路, 其他), or set prejudge.enabled: false to turn the pre-judgement off");
    EXPECT_EQ(refusal("prejudge: {road_width_min_m: 9}\n"),
              "config '/data/cfg/jishan.yaml': keys 'prejudge.road_width_min_m' (9) and 'prejudge.road_width_max_m' (8): the minimum is "
              "above the maximum; give min ≤ max");
    EXPECT_EQ(refusal("prejudge: {ratio_warning: 0.2}\n"),
              "config '/data/cfg/jishan.yaml': keys 'prejudge.ratio_warning' (0.2) and 'prejudge.ratio_limit' (0.15): the warning level is "
              "above the limit; give warning ≤ limit");
    EXPECT_EQ(refusal("prejudge: {class_share: 0}\n"),
              "config '/data/cfg/jishan.yaml': key 'prejudge.class_share': value 0 is out of range [0.01, 1]");
    // The stage checks a configuration built in code the same way.
    Config c;
    c.prejudge.rules = {"批文", "拆除"};
    EXPECT_CONTAINS(test::message_of<ConfigError>([&] { PrejudgeStage(PrejudgeStage::Options::from(c)).validate(); }),
                    "config: key 'prejudge.rules': unknown rule '拆除'");
}

}  // namespace
}  // namespace weipian
