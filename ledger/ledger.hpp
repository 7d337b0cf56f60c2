#pragma once
// The case ledger (台账): every candidate parcel a run emits becomes a case that is tracked to
// closure (核查 → 整改 → 销号). This header holds the model, the lifecycle and the feed that
// `weipian run` calls; storage is in ledger_store.hpp, import/export in ledger_io.hpp, the
// plan's tables in ledger_report.hpp.
//
// Lifecycle (a transition not listed is refused, naming the case, both statuses and the
// allowed ones; every change is a history row with who, when and what):
//
//   from      allowed next             why
//   (new)     待核查                    a run found a parcel that matches no open case
//   待核查    合法, 误报, 违法          field verification (核查结果)
//   合法      销号, 误报, 违法          closed, or the verification is corrected
//   误报      销号, 合法, 违法          closed, or the verification is corrected
//   违法      整改中, 合法, 误报        rectification starts, or the verification is corrected
//   整改中    已整改                    rectification done (demolished and restored, or regularised)
//   已整改    销号, 整改中              closed, or rectification found inadequate (整改不到位)
//   销号      —                         closed for good
//   (split)   the parent's status      a piece of `ledger split` (ledger_split.hpp): it starts with
//                                      the parent's status and result, then lives on its own
//   any open  已拆分                    split into pieces (`ledger split` only, never an import)
//   any open  已合并                    merged into another case (`ledger merge` only)
//   已拆分    —                         closed for good: the pieces are the cases now
//   已合并    —                         closed for good: the surviving case is the case now
//
// Terms used by the report: a case is "judged illegal" (违法用地) when its latest verification
// result is 违法 — statuses 违法, 整改中, 已整改 and 销号 reached through 已整改; it is
// "rectified" (整改到位) as counts_as_rectified says (ENFORCEMENT.md §5); it is "open" until
// 销号; it "needs work" in 待核查, 违法 and 整改中. A case that was split (已拆分)
// or merged into another (已合并) is superseded: it stays in the ledger with its history, but the
// report and the export's counts leave it out (its pieces or its survivor carry its area).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>

#include "pipeline/core/config.hpp"
#include "pipeline/core/dates.hpp"
#include "pipeline/core/location.hpp"
#include "pipeline/core/parcel.hpp"
#include "pipeline/core/text.hpp"

namespace weipian {

// ---- text ------------------------------------------------------------------------------------

// `text` without surrounding blanks (pipeline/core/text.hpp trim); the ledger's historical name.
inline std::string trim_cell(const std::string& text) { return trim(text); }

// How a case's township is printed: its name, or 乡镇界外 for parcels outside every township.
std::string township_label(const std::string& name, const std::string& code);

// Dates (parse_ledger_date, today_date, now_utc, parse_year_range) are in pipeline/core/dates.hpp,
// ledger locations (is_postgres_ledger, redact_ledger_location) in pipeline/core/location.hpp.

// ---- lifecycle ------------------------------------------------------------------------------

enum class CaseStatus { ToVerify, Legal, FalseAlarm, Illegal, Rectifying, Rectified, Closed, Split, Merged };

// 已拆分 or 已合并: the case lives on in its pieces or in the case it was merged into.
inline bool superseded(CaseStatus status) { return status == CaseStatus::Split || status == CaseStatus::Merged; }

// The Chinese word stored in the ledger and printed: 待核查, 合法, 误报, 违法, 整改中, 已整改, 销号,
// 已拆分, 已合并.
const char* status_label(CaseStatus status);

// Reads a status from its Chinese word or English name (to_verify, legal, false_alarm, illegal,
// rectifying, rectified, closed, split, merged; case-insensitive, surrounding blanks ignored).
std::optional<CaseStatus> parse_status(const std::string& text);

// The statuses a case may move to from `from` (the table above).
const std::vector<CaseStatus>& allowed_next(CaseStatus from);
bool transition_allowed(CaseStatus from, CaseStatus to);

// "case 140824-2023-0007: 待核查 → 已整改 is not allowed; from 待核查 the allowed next statuses
// are 合法, 误报, 违法"
std::string refused_transition_message(const std::string& case_id, CaseStatus from, CaseStatus to);

// ---- records --------------------------------------------------------------------------------

// LedgerCase::source: found by weipian (自主发现) or delivered from above (下发线索).
inline constexpr const char* kSourceSelfFound = "自主发现";
inline constexpr const char* kSourceDelivered = "下发线索";

// What the plan requires of a case that cannot be closed within its year (年清).
struct RectificationPlan {
    std::string measures;     // 整改措施
    std::string deadline;     // 整改时限, YYYY-MM-DD
    std::string responsible;  // 责任人
    // Chinese names of the missing parts (整改措施, 整改时限, 责任人); empty when complete.
    std::vector<std::string> missing() const;
};

// One case (宗). Areas are stored as the run reported them: m² to 0.01 and the 亩 figures
// as whole hundredths (to_centimu of the parcel's area), so a GeoPackage and a PostgreSQL
// ledger hold and report the same numbers.
struct LedgerCase {
    std::int64_t fid = -1;  // storage row id; -1 until stored
    // <county code>-<year>-<seq>, e.g. 140824-2023-0007; a lead case: the lead id as delivered,
    // e.g. 140824SJBG23210001_2 (never parsed: nothing reads year or seq out of an id).
    std::string case_id;
    std::string county_code;
    int year = 0;  // the HSX year of the run that first found it (a lead: its HSX year, else 0)
    int seq = 0;   // 1, 2, … per county and year; 0 for a lead case
    std::string township_name = kUnassignedTownship;
    std::string township_code;
    double area_m2 = 0;
    double cultivated_m2 = 0;
    std::int64_t area_centimu = 0;
    std::int64_t cultivated_centimu = 0;
    double centroid_x = 0;  // area CRS of the run (XZB)
    double centroid_y = 0;  // (YZB)
    std::string qsx, hsx;   // epoch dates of the run that first found it
    std::string first_seen_run, last_seen_run;
    CaseStatus status = CaseStatus::ToVerify;
    std::optional<CaseStatus> result;  // 合法, 误报 or 违法 once verified
    RectificationPlan plan;
    std::string notes;
    // "rectification not visible": a later epoch still shows construction on a 已整改 case.
    std::string flag;       // empty = none
    std::string flag_date;  // HSX date of the epoch that raised it
    std::string updated_at;  // UTC time of the last change
    // Patch type (图斑类型 TBLX) of the parcel the case took its outline from; empty in cases
    // fed before patch types existed.
    std::string tblx;

    // ---- delivered leads (ledger/ledger_leads.hpp, ENFORCEMENT.md §1) -------------------------
    std::string source;        // kSourceSelfFound or kSourceDelivered; empty (older ledgers) reads as self-found
    std::string lead_id;       // the delivered lead id (线索编号) this case is (lead cases) or is linked to
    std::string linked_case;   // the other side of a lead ↔ detection link (case id); empty = none
    std::string batch;         // 批次 of a lead, e.g. 七月一批
    std::string delivered_at;  // 下发日期, YYYY-MM-DD
    std::string earlier_id;    // 往期图斑编号: the case or lead at the same place in an earlier period
    std::string detected_run;  // lead cases: the run whose parcel matched it; empty = not detected

    // ---- the county's form (核查填报, ENFORCEMENT.md §2; pipeline/core/verdicts.hpp) ----------
    std::string verdict;      // 核实认定意见; empty until verified through the form
    std::string category;     // 分类
    std::string use_detail;   // 用途分类细化
    std::string project;      // 项目名称
    std::string developer;    // 项目主体
    std::string built_at;     // 建设时间 as given (YYYY-MM or YYYY-MM-DD)
    std::string field_notes;  // 现场核查描述
    // Area parts in hundredths of a 亩 (cultivated_centimu is 耕地): from the run's overlay,
    // replaced by the form's verified figures. area = 耕地 + 非耕农用地 + 未利用地 + 建设用地 + 未调查.
    std::int64_t other_agricultural_centimu = 0;  // 占非耕农用地面积
    std::int64_t unused_centimu = 0;              // 占未利用地面积
    std::int64_t construction_centimu = 0;        // 建设用地面积
    std::int64_t unsurveyed_centimu = 0;          // under no DLTB polygon (not a form part)
    std::int64_t permanent_farmland_centimu = 0;  // 占基本农田面积 (inside 耕地)
    std::int64_t redline_centimu = 0;             // 占生态红线面积 (overlay)
    // Evidence per form column: document numbers ("、"-joined) and covered share in percent.
    std::string approval_no;   double approval_share = 0;   // 用地审批批准文号 (批准用地, 增减挂钩)
    std::string supply_no;     double supply_share = 0;     // 土地供应批准文号
    std::string title_no;      double title_share = 0;      // 不动产权证号
    std::string temporary_no;  double temporary_share = 0;  // 临时用地批准文号
    std::string facility_no;   double facility_share = 0;   // 设施农用地上图入库号
    // The run's pre-judgement (初判, a suggestion), copied when the case takes a parcel's outline.
    std::string cp_verdict, cp_category, cp_rule;

    // ---- rectification (整改, ENFORCEMENT.md §5); hundredths of a 亩, -1 = not recorded ------
    std::string rectify_method;  // 整改方式: 拆除, 补办, 拆补组合, 未整改
    std::int64_t demolished_centimu = -1;             // 拆除面积
    std::int64_t demolished_cultivated_centimu = -1;  // 拆除耕地面积
    std::int64_t regularised_centimu = -1;            // 补办面积
    std::int64_t regularised_cultivated_centimu = -1; // 补办耕地面积
    std::int64_t remaining_centimu = -1;              // 剩余未整改面积
    std::string review_ended_at;                      // date the review ended (审核通过); empty = not ended

    // ---- pictures and the rectification check on new imagery (issue 10) ------------------------
    // Absolute paths of the latest chips of the case (pipeline/chips.hpp): the run that fed it
    // (before/after) and the last rectification check (three dates); empty = none.
    std::string chip_before, chip_after;
    std::string chip_check_qsx, chip_check_hsx, chip_check_new;
    std::string check_state;        // last check on new imagery: 已恢复, 部分恢复, 仍有建设, 无法判断
    std::string check_date;         // the new image's date
    double check_built_share = -1;  // 0..1; -1 = never checked

    // MultiPolygon in the ledger CRS (no CRS object attached); shared and never modified in
    // place, so cases copy cheaply.
    std::shared_ptr<const OGRGeometry> geometry;

    bool open() const { return status != CaseStatus::Closed && !superseded(status); }
};

// One change of one case. `at` is the date the change happened in the field (import) or the
// HSX date of the run that saw it; `recorded_at` is when it was written (UTC).
struct HistoryEntry {
    std::int64_t fid = -1;
    std::string case_id;
    std::string at;
    std::string recorded_at;
    std::string who;
    std::optional<CaseStatus> from_status;  // empty for the entry that creates the case
    CaseStatus to_status = CaseStatus::ToVerify;
    std::string what;
    std::string source;  // "run <id>" or "import <file> line <n>"
};

// One run that fed the ledger. The digest identifies its parcels: a run with a digest already
// present is the same imagery again and changes nothing.
struct RunRecord {
    std::string run_id;
    std::string digest;  // SHA-256 (hex) of the parcels and epoch dates
    std::string fed_at;  // UTC
    std::string qsx, hsx;
    int year = 0;
    std::string county_code;
    bool cultivated_assessed = true;
    std::int64_t parcels = 0, new_cases = 0, updated_cases = 0, flagged_cases = 0;
    std::string version;
};

// ---- rectified, as the province counts it (ENFORCEMENT.md §5) ------------------------------
//
// A case judged illegal counts as rectified (整改到位) only when
//  - its rectification quantities are recorded (remaining_centimu ≥ 0, from the form's
//    剩余未整改面积) and 剩余未整改面积 = 0, AND
//  - review has ended by `on`: review_ended_at (审核结束日期, the form's review-ended column) is
//    set and on or before `on`, or the case's status on `on` is 销号 — which a case judged
//    illegal reaches only through 已整改, i.e. the rectification was accepted and closed.
// Cases with no recorded quantities (remaining_centimu = -1: ledgers kept before the form was
// imported, or sheets without the quantities) keep the earlier rule so that their figures do not
// change silently: they count when their status on `on` is 已整改 or 销号. The report counts
// them apart (counted_by_status_only) and names them, so that a reader sees which figures rest
// on the status alone; filling in the quantities moves them onto the province's rule.
// `status` and `result` are the case's as of `on` (the report replays them from the history);
// `on` empty = no date limit. The rectification quantities are those recorded now.
bool counts_as_rectified(const LedgerCase& c, CaseStatus status, std::optional<CaseStatus> result, const std::string& on);
// The same for the case as it stands now (its status, result; any review date).
bool counts_as_rectified(const LedgerCase& c);
// True when the case's figures rest on its status alone (no 剩余未整改面积 recorded): see above.
bool counted_by_status_only(const LedgerCase& c);
// Review ended (审核结束) by `on` (empty = ever): review_ended_at ≤ on, or 销号 after a verdict 违法.
bool review_ended(const LedgerCase& c, CaseStatus status, std::optional<CaseStatus> result, const std::string& on);

// "140824-2023-0007" (the sequence has at least 4 digits).
std::string format_case_id(const std::string& county_code, int year, int seq);

// Takes ownership of `geometry` (from OGR) as a case outline.
std::shared_ptr<const OGRGeometry> share_geometry(OGRGeometry* geometry);

// ---- feeding the ledger from a run ----------------------------------------------------------

// What a run tells the ledger besides its parcels.
struct FeedContext {
    std::string county_code;  // 6 digits
    std::string qsx;          // YYYY-MM-DD (may be empty)
    std::string hsx;          // YYYY-MM-DD, required
    int year = 0;             // case year; 0 = the HSX year
    std::string run_id;       // empty = now in UTC
    bool cultivated_assessed = true;
    std::string who = "weipian run";
    // Where the run's chips will be (absolute; <output.dir>/chips when output.chips is on, see
    // LedgerSink); empty = no chips. Each case the feed creates or updates gets chip_before /
    // chip_after = <chips_dir>/<parcel id>_qsx.jpg / _hsx.jpg of its (largest) parcel, the names
    // of chip_files_for (pipeline/chips.hpp).
    std::string chips_dir;
};

// The context for `config`'s run: county code, epoch dates, the HSX year, and `run_id`.
FeedContext feed_context_for(const Config& config, std::string run_id = {});

// What one feed did. already_fed: the same parcels were fed before (by run `run_id`), nothing
// changed.
struct LedgerFeedSummary {
    std::string ledger;  // redacted location
    std::string run_id;
    bool already_fed = false;
    std::int64_t parcels = 0;
    std::int64_t new_cases = 0;
    std::int64_t updated_cases = 0;  // open cases a parcel matched (seen again)
    std::int64_t flagged_cases = 0;  // 已整改 cases that still look built (整改不到位)
    std::int64_t lead_parcels = 0;   // parcels that fed a lead case or a case linked to a lead
    std::int64_t detected_leads = 0; // lead cases this run detected for the first time
    std::vector<std::string> new_case_ids;
    nlohmann::json to_json() const;
};

// Feeds a run's parcels (after the overlay: township, areas, centroid set; geometry in
// `parcel_srs`) into the ledger `options.path`, creating it (GeoPackage file, or the tables in
// the PostgreSQL schema) on first use with `parcel_srs` as its CRS. All in one transaction.
//  - A parcel matches the open case (not 销号) of the same township with the highest ratio
//    (options.match_rule) if that reaches options.match_threshold: the case's last_seen_run
//    becomes this run; while the case is still 待核查 and the parcel is larger, the case takes
//    the parcel's outline, areas and centroid (verified figures are never changed by a run).
//  - A matched 已整改 case whose rectification is dated before this HSX is flagged
//    "rectification not visible" (整改不到位：影像仍显示建设).
//  - Any other parcel opens a new case <county>-<year>-<seq> in 待核查.
//  - Delivered leads (下发线索, ledger/ledger_leads.hpp): an open lead case is a candidate for
//    every parcel whatever its township (ties go to the lead). A matched lead case keeps its
//    delivered outline and area; detected_run becomes this run (when empty) and an unassigned
//    lead takes the parcel's township. So a place is one case: a parcel on a lead opens no
//    self-found case. A lead linked at import to a self-found case (found before the lead
//    arrived) hands its parcels to that open case, which is fed as before.
//  - Any other parcel opens a new case <county>-<year>-<seq> in 待核查, source 自主发现; its
//    earlier_id is the case at the same place (ratio ≥ threshold) that is closed (销号) or of an
//    earlier year or HSX (cross-period linkage, ENFORCEMENT.md §1).
//  - A case that takes a parcel's outline (a new case, a 待核查 case growing) takes its figures:
//    areas, area parts (land_parts_centimu: 耕地 is its part when DLTB was assessed), the five
//    evidence columns (form_evidence) and the pre-judgement (cp_verdict/category/rule).
//  - The same parcels again (same digest) change nothing.
// Throws ConfigError for a bad context or rule, InputError when the ledger cannot be opened
// or written (nothing is written then).
LedgerFeedSummary feed_ledger(const LedgerConfig& options, const std::vector<Parcel>& parcels,
                              const OGRSpatialReference& parcel_srs, const FeedContext& context);

// The same, and each parcel's case_id (the case it fed or opened) and lead_id (the delivered lead
// of that case: its own id for a lead case, the linked lead of a self-found case; empty when none)
// are set, also when the parcels were fed before (looked up again, the ledger unchanged).
LedgerFeedSummary feed_ledger(const LedgerConfig& options, std::vector<Parcel>& parcels,
                              const OGRSpatialReference& parcel_srs, const FeedContext& context);

// True for a delivered lead's case (source 下发线索).
bool is_lead_case(const LedgerCase& c);

// `weipian run … --ledger LEDGER`: replaces config.ledger.path (a path is kept as given, i.e.
// relative to the working directory) and re-validates. No-op for an empty `ledger`.
void apply_ledger_override(Config& config, const std::string& ledger);

}  // namespace weipian
