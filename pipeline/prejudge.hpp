#pragma once
// Pre-judgement stage (初判): the rules of ENFORCEMENT.md §3 tried in the configured order
// (PrejudgeConfig::rules), suggesting a 核实认定意见 + 分类 (pipeline/core/verdicts.hpp) per
// parcel with the rule that fired and its evidence, or 存疑 naming what is missing. A
// suggestion, never a verdict: every output labels it 建议. Also the 15 % rule's ratio
// (ENFORCEMENT.md §4) per township and county, from the suggestions.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <ogr_spatialref.h>

#include "pipeline/core/config.hpp"
#include "pipeline/core/parcel.hpp"
#include "pipeline/core/township_summary.hpp"

namespace weipian {

// The rule names prejudge.rules accepts, in the order of ENFORCEMENT.md §3 (the default list,
// PrejudgeConfig::rules; rule 7, 非农违法, always closes and is not named): "批文, 供地手续, 登记发证,
// 设施农用地, 农村道路, 其他".
std::string prejudge_rules_text();

// The 非农违法 分类 suggested from the patch type (TBLX, pipeline/patch_type.hpp): 20, YH, GF →
// 工矿商服 (buildings, hardened ground, solar: 厂房类/硬化/光伏 in ENFORCEMENT.md §2); DL, DL1–DL3 →
// 道路交通; DT, TD, TP, QT → 圈占堆放等其他用地 (earthworks and the rest: nothing built that names
// a use); anything else (empty, DP) → "" (no 分类 suggested).
std::string violation_category(const std::string& tblx);

// Width of a strip-shaped polygon in metres: the width w of the rectangle with the same area A
// and perimeter P (w = (P − √(P² − 16A)) / 4, exact for rectangles and close for bent strips,
// where a minimum rotated rectangle would take the bend for width); √A when P² < 16A (compact
// shapes: no rectangle has them). `geometry` in metres (area CRS).
double strip_width_m(const OGRGeometry& geometry);

// The suggestion for one parcel (after overlay and patch typing). `after_date` is the HSX date
// (YYYY-MM-DD; empty = unknown) that 临时用地 end dates are compared with. `width_m` is the
// parcel's strip width (strip_width_m of its geometry in the area CRS); negative = compute it
// from parcel.geometry taken as metres. Rules and texts: README "Pre-judgement".
Prejudgement prejudge_parcel(const Parcel& parcel, const PrejudgeConfig& config, const std::string& after_date,
                             double width_m = -1);

// Share levels of the 15 % rule.
enum class RatioLevel { Below, Warning, Limit };

// The 15 % rule's figures for a township or the county, in hundredths of a 亩 as the tables
// print them (to_centimu per parcel, then summed): 耕地 of parcels suggested 非农违法 over 耕地
// of all parcels (new construction taking 耕地), and the 耕地 of parcels suggested 存疑 (not in
// the ratio; with it the ratio could rise to (illegal + doubtful) / all).
struct CultivatedRatio {
    std::string name;  // township name; "全县" for the county
    std::string code;
    std::int64_t illegal_centimu = 0;
    std::int64_t doubtful_centimu = 0;
    std::int64_t cultivated_centimu = 0;
    RatioLevel level = RatioLevel::Below;
    // Share in tenths of a percent, rounded down (so 15.0 % shown means 15 % reached); -1 when
    // no 耕地 was taken.
    std::int64_t permille() const;
    std::int64_t permille_with_doubtful() const;
};

// Counts and 亩 of the suggestions, and the ratios: what summary.txt and run.json print.
struct PrejudgeSummary {
    bool enabled = false;              // prejudge.enabled
    bool cultivated_assessed = false;  // DLTB configured: the ratio can be computed
    double ratio_warning = 0.10, ratio_limit = 0.15;
    struct Count {
        std::int64_t parcels = 0, area_centimu = 0, cultivated_centimu = 0;
    };
    std::map<std::string, Count> by_verdict;   // verdict (or 存疑) → counts
    CultivatedRatio county;                    // name "全县"
    std::vector<CultivatedRatio> townships;    // in the order of `rows` (the ranking), unassigned left out
};

// Sums the parcels' suggestions per verdict and the ratios per township (in the order of `rows`,
// summarize_by_township) and for the county; levels from config.ratio_warning / ratio_limit.
PrejudgeSummary summarize_prejudgement(const std::vector<Parcel>& parcels, const std::vector<TownshipSummary>& rows,
                                       const PrejudgeConfig& config, bool cultivated_assessed);

// summary.txt lines (each ends in '\n'; empty when the pre-judgement is off or there are no
// parcels): the 初判建议 counts, then the 耕地 ratio of the county and of each township at or
// above the warning level. Wording: README "Pre-judgement".
std::string format_prejudge_lines(const PrejudgeSummary& summary);

// run.json figures: {"counts": {"非农违法": n, "存疑": n, …}, "ratio": {"note", "warning", "limit",
// "county": {name, code, illegal_cultivated_mu, doubtful_cultivated_mu, cultivated_mu, level
// (below|warning|limit), percent, percent_with_doubtful}, "townships": [...]}} ("ratio" null
// when 耕地 was not assessed). main_job writes them as run.json "prejudgement" (the counts)
// and "prejudgement_ratio".
nlohmann::json prejudge_json(const PrejudgeSummary& summary);

class PrejudgeStage {
public:
    static constexpr std::string_view name = "prejudge";
    struct Options {
        PrejudgeConfig prejudge;
        std::string after_date;  // epochs.after.date (HSX)
        static Options from(const Config& config);
    };

    explicit PrejudgeStage(Options options) : options_(std::move(options)) {}

    // Rule names known, no duplicates, road width and ratio ranges ordered. Throws ConfigError.
    void validate() const;

    // Fills parcel.prejudgement of every parcel (nothing when prejudge.enabled is false).
    // `image_srs`/`area_srs`: the parcels' geometry CRS and the metric CRS the road width is
    // measured in; null = geometry taken as metres (tests).
    void run(std::vector<Parcel>& parcels, const OGRSpatialReference* image_srs = nullptr,
             const OGRSpatialReference* area_srs = nullptr) const;

private:
    Options options_;
};

}  // namespace weipian
