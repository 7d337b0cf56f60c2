#include "pipeline/prejudge.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include <nlohmann/json.hpp>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/verdicts.hpp"
#include "pipeline/stage.hpp"

namespace weipian {

namespace {

// Rule labels as parcels.gpkg (cp_rule) shows them: the number of ENFORCEMENT.md §3, whatever
// the configured order.
constexpr const char* kRuleApproval = "1 合法·批文";
constexpr const char* kRuleSupply = "2 合法·供地手续";
constexpr const char* kRuleTitle = "3 合法·登记发证";
constexpr const char* kRuleFacility = "4 设施农用地";
constexpr const char* kRuleRoad = "5 农村道路";
constexpr const char* kRuleOther = "6 其他";
constexpr const char* kRuleViolation = "7 非农违法（疑似）";

constexpr const char* kMissingApprovalLayers = "审批图层（批准用地/供地/不动产登记）未配置";
constexpr const char* kMissingLandLayer = "三调地类图层（overlay.cultivated）未配置，";

// A share (0..1) in tenths of a percent, rounded down: 0.9496 shows 94.9 %, never 95.0 %.
std::int64_t share_permille(double share) { return static_cast<std::int64_t>(std::floor(share * 1000.0 + 1e-7)); }

std::string permille_text(std::int64_t permille) {
    return std::to_string(permille / 10) + "." + std::to_string(permille % 10) + "%";
}

std::string share_text(double share) { return permille_text(share_permille(share)); }

// A configured fraction (0.95, 0.15, 0.125) as a percent without trailing ".0": 95%, 15%, 12.5%.
std::string level_text(double fraction) {
    const auto permille = std::llround(fraction * 1000.0);
    return std::to_string(permille / 10) + (permille % 10 ? "." + std::to_string(permille % 10) : std::string()) + "%";
}

std::string mu_setting_text(double mu) { return format_mu(std::llround(mu * 100.0)); }

std::string metres_text(double m) {
    const auto tenths = std::llround(m * 10.0);
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

std::string cover_label(const ApprovalCover& c) { return c.name.empty() ? c.kind : c.name; }

std::string numbers_text(const std::vector<std::string>& numbers) {
    if (numbers.empty()) return "（无文号）";
    std::string out;
    for (const auto& n : numbers) out += (out.empty() ? "" : "、") + n;
    return out;
}

// "农转用批文 晋政地〔2022〕15号 覆盖 98.5%"
std::string cover_text(const ApprovalCover& c) { return cover_label(c) + " " + numbers_text(c.numbers) + " 覆盖 " + share_text(c.share); }

double part_share(double part_m2, double area_m2) { return area_m2 > 0 ? part_m2 / area_m2 : 0.0; }

struct Doubt {
    std::string rule;
    std::string missing;
};

// What the rules found on their way: doubts (存疑 unless a later rule decides), notes for the
// evidence of the final suggestion, and what could not be checked.
struct Trail {
    std::vector<Doubt> doubts;
    std::vector<std::string> notes;
    std::vector<std::string> unchecked;
};

// The coverage gate of ENFORCEMENT.md §3 applied to one layer's cover.
struct Gate {
    bool passes = false;
    std::string evidence;  // pass: cover text (+ uncovered 耕地); fail: what falls short
};

Gate coverage_gate(const Parcel& p, const ApprovalCover& c, const PrejudgeConfig& cfg) {
    Gate g;
    const std::int64_t area_centimu = to_centimu(p.area_m2);
    const bool large = area_centimu > std::llround(cfg.large_parcel_mu * 100.0);
    const double gate = large ? cfg.cover_share_large : cfg.cover_share_small;
    // The cover is a share of the whole parcel; where inside it the 耕地 lies is not known, so
    // the uncovered 耕地 is bounded from above: min(耕地, 地块 − 覆盖). A 合法 suggestion never
    // rests on the guess that the uncovered rest misses the 耕地.
    const double uncovered_m2 = std::max(0.0, p.area_m2 - c.covered_m2);
    const std::int64_t uncovered_cultivated = to_centimu(std::min(p.cultivated_m2, uncovered_m2));
    const bool share_ok = c.share + 1e-9 >= gate;
    const bool cultivated_ok = uncovered_cultivated < std::llround(cfg.uncovered_cultivated_max_mu * 100.0);
    g.evidence = cover_text(c);
    if (!share_ok) {
        g.evidence += "，未达覆盖门槛 " + level_text(gate) + "（地块 " + format_mu(area_centimu) + " 亩，" +
                      (large ? "大于 " : "不大于 ") + mu_setting_text(cfg.large_parcel_mu) + " 亩）";
        return g;
    }
    if (uncovered_cultivated > 0) g.evidence += "，未覆盖部分至多占耕地 " + format_mu(uncovered_cultivated) + " 亩";
    if (!cultivated_ok) {
        g.evidence += "，未低于 " + mu_setting_text(cfg.uncovered_cultivated_max_mu) + " 亩";
        return g;
    }
    g.passes = true;
    return g;
}

bool kind_in(const ApprovalCover& c, std::initializer_list<const char*> kinds) {
    return std::any_of(kinds.begin(), kinds.end(), [&](const char* k) { return c.kind == k; });
}

// Rules 1–3 (and the filing part of rule 4): the covering layer with the largest share that
// passes the gate decides; a partial cover (share > 0, gate not passed) is a doubt naming the
// layer, its numbers, share and the gate.
bool cover_rule(const Parcel& p, const PrejudgeConfig& cfg, std::initializer_list<const char*> kinds, const char* rule,
                const std::string& missing_suffix, Trail& trail, std::string& evidence) {
    const ApprovalCover* best_pass = nullptr;
    const ApprovalCover* best_partial = nullptr;
    std::string pass_text, partial_text;
    for (const auto& c : p.overlay.approvals) {
        if (!kind_in(c, kinds) || !(c.share > 0)) continue;
        const Gate g = coverage_gate(p, c, cfg);
        if (g.passes && (!best_pass || c.share > best_pass->share)) {
            best_pass = &c;
            pass_text = g.evidence;
        } else if (!g.passes && (!best_partial || c.share > best_partial->share)) {
            best_partial = &c;
            partial_text = g.evidence;
        }
    }
    if (best_pass) {
        evidence = pass_text;
        return true;
    }
    if (best_partial) trail.doubts.push_back({rule, partial_text + missing_suffix});
    return false;
}

bool any_layer(const Parcel& p, std::initializer_list<const char*> kinds) {
    return std::any_of(p.overlay.approvals.begin(), p.overlay.approvals.end(), [&](const ApprovalCover& c) { return kind_in(c, kinds); });
}

std::string land_text(const char* what, double share) { return std::string("三调") + what + " 占 " + share_text(share); }

Prejudgement decided(const char* verdict, const char* category, const char* rule, std::string evidence, const Trail& trail) {
    Prejudgement out;
    out.verdict = verdict;
    out.category = category;
    out.rule = rule;
    out.evidence = std::move(evidence);
    for (const auto& n : trail.notes) out.evidence += (out.evidence.empty() ? "" : "；") + n;
    return out;
}

}  // namespace

std::string prejudge_rules_text() {
    std::string out;
    for (const auto& r : PrejudgeConfig().rules) out += (out.empty() ? "" : ", ") + r;
    return out;
}

std::string violation_category(const std::string& tblx) {
    if (tblx == "20" || tblx == "YH" || tblx == "GF") return "工矿商服";
    if (tblx == "DL" || tblx == "DL1" || tblx == "DL2" || tblx == "DL3") return "道路交通";
    if (tblx == "DT" || tblx == "TD" || tblx == "TP" || tblx == "QT") return "圈占堆放等其他用地";
    return "";
}

double strip_width_m(const OGRGeometry& geometry) {
    const auto* surface = dynamic_cast<const OGRSurface*>(&geometry);
    const auto* multi = dynamic_cast<const OGRMultiSurface*>(&geometry);
    double area = 0, perimeter = 0;
    if (surface) {
        area = surface->get_Area();
    } else if (multi) {
        area = multi->get_Area();
    }
    OGRGeometryUniquePtr boundary(geometry.Boundary());
    if (boundary) {
        if (const auto* curve = dynamic_cast<const OGRCurve*>(boundary.get()))
            perimeter = curve->get_Length();
        else if (const auto* curves = dynamic_cast<const OGRMultiCurve*>(boundary.get()))
            for (const OGRCurve* part : curves) perimeter += part->get_Length();
    }
    if (!(area > 0)) return 0.0;
    const double disc = perimeter * perimeter - 16.0 * area;
    if (disc < 0) return std::sqrt(area);
    return (perimeter - std::sqrt(disc)) / 4.0;
}

Prejudgement prejudge_parcel(const Parcel& p, const PrejudgeConfig& cfg, const std::string& after_date, double width_m) {
    Trail trail;
    const LandParts& land = p.overlay.land;
    const bool land_assessed = p.overlay.land_assessed;
    std::string evidence;
    bool approval_rules = false;
    for (const auto& name : cfg.rules) {
        if (name == "批文") {
            approval_rules = true;
            if (cover_rule(p, cfg, {"批准用地", "增减挂钩"}, kRuleApproval, "：核实批文范围", trail, evidence))
                return decided("合法", "批文", kRuleApproval, evidence, trail);
        } else if (name == "供地手续") {
            approval_rules = true;
            if (cover_rule(p, cfg, {"供地"}, kRuleSupply, "：核实供地范围", trail, evidence))
                return decided("合法", "供地手续", kRuleSupply, evidence, trail);
        } else if (name == "登记发证") {
            approval_rules = true;
            if (cover_rule(p, cfg, {"不动产登记"}, kRuleTitle, "：核实登记范围", trail, evidence))
                return decided("合法", "登记发证", kRuleTitle, evidence, trail);
        } else if (name == "设施农用地") {
            const std::size_t doubts_before = trail.doubts.size();
            if (cover_rule(p, cfg, {"设施农用地"}, kRuleFacility, "：核对设施农用地备案", trail, evidence))
                return decided("设施农用地", "", kRuleFacility, evidence, trail);
            const double share = part_share(land.facility_m2, p.area_m2);
            if (land_assessed && share + 1e-9 >= cfg.class_share)
                return decided("设施农用地", "", kRuleFacility, land_text("地类 1202 设施农用地", share), trail);
            if (!land_assessed) trail.unchecked.push_back("设施农用地（1202）");
            // Greenhouses are checked against the filing layer, never flagged (ENFORCEMENT.md §3).
            if (p.tblx == "DP" && trail.doubts.size() == doubts_before)
                trail.doubts.push_back({kRuleFacility, any_layer(p, {"设施农用地"})
                                                           ? "设施农用地备案：大棚（DP）未被备案覆盖，核对备案"
                                                           : "设施农用地备案：大棚（DP）须核对备案，未配置设施农用地图层"});
        } else if (name == "农村道路") {
            if (!land_assessed) {
                trail.unchecked.push_back("农村道路（1006）");
                continue;
            }
            const double share = part_share(land.rural_road_m2, p.area_m2);
            if (share + 1e-9 < cfg.class_share) continue;
            const double width = width_m >= 0 ? width_m : (p.geometry ? strip_width_m(*p.geometry) : 0.0);
            const std::string text = land_text("地类 1006 农村道路", share) + "，宽约 " + metres_text(width) + " 米";
            if (width + 1e-9 >= cfg.road_width_min_m && width <= cfg.road_width_max_m + 1e-9)
                return decided("农村道路", "", kRuleRoad, text, trail);
            trail.notes.push_back(text + "，不在 " + metres_text(cfg.road_width_min_m) + "–" + metres_text(cfg.road_width_max_m) +
                                  " 米");
        } else if (name == "其他") {
            if (land_assessed) {
                const double village = part_share(land.urban_village_m2, p.area_m2);
                if (village + 1e-9 >= cfg.class_share)
                    return decided("其他", "203范围及开天窗", kRuleOther, land_text("城镇村属性 203", village), trail);
                const double homestead = part_share(land.homestead_m2, p.area_m2);
                if (homestead + 1e-9 >= cfg.class_share)
                    return decided("其他", "农村宅基地", kRuleOther, land_text("地类 0702 农村宅基地", homestead), trail);
            } else {
                trail.unchecked.push_back("203范围、农村宅基地（0702）");
            }
            // 临时用地 (自然资规〔2021〕2号): past its end date or carrying buildings it is a lead
            // (the later rules go on, the fact in the evidence); valid and unbuilt it is 存疑:
            // the field check tells temporary use from construction.
            for (const auto& c : p.overlay.approvals) {
                if (c.kind != "临时用地" || !(c.share > 0)) continue;
                const std::string text = cover_text(c);
                if (c.end_date.empty())
                    trail.doubts.push_back({kRuleOther, text + "，无到期日期：核实临时用地期限"});
                else if (after_date.empty())
                    trail.doubts.push_back({kRuleOther, text + "，有效至 " + c.end_date + "，后时相日期未注明：核实是否到期"});
                else if (c.end_date < after_date)
                    trail.notes.push_back(text + "，已于 " + c.end_date + " 到期");
                else if (p.tblx == "20")
                    trail.notes.push_back(text + "，有效至 " + c.end_date + "，但已建房（20）");
                else
                    trail.doubts.push_back({kRuleOther, text + "，有效至 " + c.end_date + "：核实是否临时使用"});
            }
        } else {
            throw InternalError("prejudge: unknown rule '" + name + "' passed validation");
        }
    }
    // Rule 7. A greenhouse never ends as a violation, whatever the order.
    if (p.tblx == "DP" && trail.doubts.empty())
        trail.doubts.push_back({kRuleFacility, "设施农用地备案：大棚（DP）须核对备案"});
    std::vector<std::string> missing;
    for (const auto& d : trail.doubts) missing.push_back(d.missing);
    const bool approval_layers = any_layer(p, {"批准用地", "增减挂钩", "供地", "不动产登记"});
    if (approval_rules && !approval_layers) missing.push_back(kMissingApprovalLayers);
    if (!trail.unchecked.empty()) {
        std::string text = kMissingLandLayer;
        for (std::size_t i = 0; i < trail.unchecked.size(); ++i) text += (i ? "、" : "") + trail.unchecked[i];
        missing.push_back(text + "未核");
    }
    if (!missing.empty()) {
        Prejudgement out;
        out.verdict = kDoubtful;
        out.rule = trail.doubts.empty() ? kRuleViolation : trail.doubts.front().rule;
        for (const auto& n : trail.notes) out.evidence += (out.evidence.empty() ? "" : "；") + n;
        for (const auto& m : missing) out.missing += (out.missing.empty() ? "" : "；") + m;
        return out;
    }
    std::string basis = approval_rules ? "未见审批、供地、登记覆盖" : "未核审批（prejudge.rules 未列）";
    if (!p.tblx.empty()) basis += "；图斑类型 " + p.tblx;
    return decided("非农违法", violation_category(p.tblx).c_str(), kRuleViolation, basis, trail);
}

// ---- the 15 % rule

std::int64_t CultivatedRatio::permille() const {
    if (cultivated_centimu <= 0) return -1;
    return illegal_centimu * 1000 / cultivated_centimu;  // integers: rounded down
}

std::int64_t CultivatedRatio::permille_with_doubtful() const {
    if (cultivated_centimu <= 0) return -1;
    return (illegal_centimu + doubtful_centimu) * 1000 / cultivated_centimu;
}

namespace {

RatioLevel level_of(const CultivatedRatio& r, const PrejudgeConfig& cfg) {
    if (r.cultivated_centimu <= 0) return RatioLevel::Below;
    const double share = static_cast<double>(r.illegal_centimu) / static_cast<double>(r.cultivated_centimu);
    if (share + 1e-12 >= cfg.ratio_limit) return RatioLevel::Limit;
    if (share + 1e-12 >= cfg.ratio_warning) return RatioLevel::Warning;
    return RatioLevel::Below;
}

const char* const kVerdictOrder[] = {"非农违法", kDoubtful, "合法", "其他", "设施农用地", "农村道路"};

std::string ratio_body(const CultivatedRatio& r, const std::string& who) {
    return who + "初判非农违法占用耕地 " + format_mu(r.illegal_centimu) + " 亩，占新增建设占用耕地 " + format_mu(r.cultivated_centimu) +
           " 亩的 " + permille_text(r.permille());
}

std::string level_suffix(const CultivatedRatio& r, const PrejudgeSummary& s) {
    switch (r.level) {
        case RatioLevel::Limit: return "，已达" + level_text(s.ratio_limit);
        case RatioLevel::Warning: return "，预警（预警线 " + level_text(s.ratio_warning) + "）";
        case RatioLevel::Below: break;
    }
    return "";
}

}  // namespace

PrejudgeSummary summarize_prejudgement(const std::vector<Parcel>& parcels, const std::vector<TownshipSummary>& rows,
                                       const PrejudgeConfig& config, bool cultivated_assessed) {
    PrejudgeSummary s;
    s.enabled = config.enabled;
    s.cultivated_assessed = cultivated_assessed;
    s.ratio_warning = config.ratio_warning;
    s.ratio_limit = config.ratio_limit;
    s.county.name = "全县";
    std::map<std::pair<std::string, std::string>, CultivatedRatio> by_township;
    for (const auto& p : parcels) {
        const std::int64_t cultivated = to_centimu(p.cultivated_m2);
        auto& r = by_township[{p.township_code, p.township_name}];
        r.name = p.township_name;
        r.code = p.township_code;
        r.cultivated_centimu += cultivated;
        s.county.cultivated_centimu += cultivated;
        if (p.prejudgement.empty()) continue;
        auto& count = s.by_verdict[p.prejudgement.verdict];
        ++count.parcels;
        count.area_centimu += to_centimu(p.area_m2);
        count.cultivated_centimu += cultivated;
        if (p.prejudgement.verdict == "非农违法") {
            r.illegal_centimu += cultivated;
            s.county.illegal_centimu += cultivated;
        } else if (p.prejudgement.verdict == kDoubtful) {
            r.doubtful_centimu += cultivated;
            s.county.doubtful_centimu += cultivated;
        }
    }
    s.county.level = level_of(s.county, config);
    for (const auto& row : rows) {
        if (row.code.empty() && row.name == kUnassignedTownship) continue;  // not a township
        auto it = by_township.find({row.code, row.name});
        if (it == by_township.end()) continue;
        it->second.level = level_of(it->second, config);
        s.townships.push_back(it->second);
    }
    return s;
}

std::string format_prejudge_lines(const PrejudgeSummary& s) {
    if (!s.enabled || s.by_verdict.empty()) return "";
    std::string out = "初判建议（仅供参考，以外业核查为准）：";
    bool first = true;
    for (const char* verdict : kVerdictOrder) {
        auto it = s.by_verdict.find(verdict);
        if (it == s.by_verdict.end()) continue;
        out += (first ? "" : "；") + std::string(verdict) + " " + std::to_string(it->second.parcels) + " 宗，面积 " +
               format_mu(it->second.area_centimu) + " 亩（耕地 " + format_mu(it->second.cultivated_centimu) + " 亩）";
        first = false;
    }
    out += "。\n";
    if (!s.cultivated_assessed) {
        out += "耕地占用比例（15%）未计算：本次未配置耕地图层（overlay.cultivated）。\n";
        return out;
    }
    if (s.county.cultivated_centimu <= 0) {
        out += "耕地占用比例（15%）：本期新增建设图斑不涉及耕地。\n";
        return out;
    }
    out += "耕地占用比例（15%，按初判建议）：" + ratio_body(s.county, "全县") + level_suffix(s.county, s);
    if (s.county.doubtful_centimu > 0)
        out += "；另有存疑图斑耕地 " + format_mu(s.county.doubtful_centimu) + " 亩未计入，若均属违法则为 " +
               permille_text(s.county.permille_with_doubtful());
    out += "。\n";
    for (const auto& t : s.townships)
        if (t.level != RatioLevel::Below) out += "  " + ratio_body(t, t.name) + level_suffix(t, s) + "。\n";
    return out;
}

nlohmann::json prejudge_json(const PrejudgeSummary& s) {
    nlohmann::json counts = nlohmann::json::object();
    for (const auto& [verdict, c] : s.by_verdict) counts[verdict] = c.parcels;
    const auto ratio = [](const CultivatedRatio& r) {
        nlohmann::json j = {{"name", r.name},
                            {"code", r.code},
                            {"illegal_cultivated_mu", format_mu(r.illegal_centimu)},
                            {"doubtful_cultivated_mu", format_mu(r.doubtful_centimu)},
                            {"cultivated_mu", format_mu(r.cultivated_centimu)},
                            {"level", r.level == RatioLevel::Limit ? "limit" : r.level == RatioLevel::Warning ? "warning" : "below"}};
        j["percent"] = r.permille() < 0 ? nlohmann::json(nullptr) : nlohmann::json(static_cast<double>(r.permille()) / 10.0);
        j["percent_with_doubtful"] =
            r.permille() < 0 ? nlohmann::json(nullptr) : nlohmann::json(static_cast<double>(r.permille_with_doubtful()) / 10.0);
        return j;
    };
    nlohmann::json townships = nlohmann::json::array();
    for (const auto& t : s.townships) townships.push_back(ratio(t));
    nlohmann::json out = {{"counts", counts}};
    if (s.cultivated_assessed)
        out["ratio"] = {{"note", "初判建议，仅供参考，以外业核查为准"},
                        {"warning", s.ratio_warning},
                        {"limit", s.ratio_limit},
                        {"county", ratio(s.county)},
                        {"townships", townships}};
    else
        out["ratio"] = nullptr;
    return out;
}

// ---- stage

static_assert(Stage<PrejudgeStage>);

PrejudgeStage::Options PrejudgeStage::Options::from(const Config& config) {
    Options o;
    o.prejudge = config.prejudge;
    o.after_date = config.after.date;
    return o;
}

void PrejudgeStage::validate() const { options_.prejudge.validate("config: "); }

void PrejudgeStage::run(std::vector<Parcel>& parcels, const OGRSpatialReference* image_srs,
                        const OGRSpatialReference* area_srs) const {
    if (!options_.prejudge.enabled) return;
    std::unique_ptr<OGRCoordinateTransformation, void (*)(OGRCoordinateTransformation*)> to_area(
        nullptr, [](OGRCoordinateTransformation* ct) { OGRCoordinateTransformation::DestroyCT(ct); });
    std::unique_ptr<OGRSpatialReference> from, to;
    if (image_srs && area_srs) {
        from = clone_traditional(*image_srs);
        to = clone_traditional(*area_srs);
        to_area.reset(OGRCreateCoordinateTransformation(from.get(), to.get()));
        if (!to_area) throw InternalError("prejudge: no transformation from the image CRS to the area CRS");
    }
    for (auto& p : parcels) {
        double width = -1;
        if (p.geometry && to_area) {
            OGRGeometryUniquePtr metric(p.geometry->clone());
            width = metric->transform(to_area.get()) == OGRERR_NONE ? strip_width_m(*metric) : 0.0;
        }
        p.prejudgement = prejudge_parcel(p, options_.prejudge, options_.after_date, width);
    }
}

}  // namespace weipian
