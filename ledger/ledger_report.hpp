#pragma once
// `weipian ledger report`: the county plan's tables from the ledger, as of a date.
//
// Every figure is of the ledger as it stood on the as-of date: each case's status and result
// are replayed from its history entries dated on or before it (cases first seen later are left
// out). Sections:
//  1. per cohort of years, the plan's summary (稷政办函〔2023〕18号 二): the county line and the
//     township ranking of report.hpp, noun 违法用地, counting the cases judged illegal (result
//     违法: statuses 违法, 整改中, 已整改, and 销号 after them);
//  2. rectification progress against each milestone (config ledger.milestones) and, from
//     ledger.annual_clearance_from on, 年清 (year Y: 100 % by Y-12-31): per township the
//     illegal cases, those rectified (counts_as_rectified) by the milestone date (or the
//     as-of date if earlier), the rate; a township is behind (落后) when the date has passed
//     and the rate is under the milestone;
//  3. cases whose year has ended and that still need work (待核查, 违法, 整改中), with their
//     rectification plan (measures, deadline, responsible person) or flagged as missing one;
//  4. cases a later epoch still shows as built after they were reported 已整改 (整改不到位：
//     影像仍显示建设): the flags standing now whose epoch is on or before the as-of date;
//  5. 整改率 as the province counts it (ENFORCEMENT.md §5), per milestone (cohort) and township:
//     by count, by 亩 and by 耕地亩 side by side, with the identity checks printed and verified
//     (total = rectified + not rectified; rectified = 拆除 + 补办, count, 亩 and 耕地亩). A failing
//     check is a line beginning "！核对不符" (also in identity_failures). Then the cases counted on
//     their status alone (no quantities) and the 已整改 cases that do not count, with why;
//  6. the 15 % ratio (ENFORCEMENT.md §4) per year, township and county: 耕地 of cases judged
//     违法 (result 违法, or verdict 非农违法/非粮违法) ÷ 耕地 of all that year's cases except 误报 and
//     伪变化; "suspected" (not yet verified, pre-judged 非农违法) shown apart and added in a second
//     figure; a line "！预警" at or above ratio_warning and "！警告" at or above ratio_limit.
// "Rectified" is counts_as_rectified (ledger/ledger.hpp) everywhere, sections 2 and 5 alike:
// 剩余未整改面积 0 and review ended by the evaluation date, or — cases without quantities — the
// status 已整改/销号 as before. Rectification plans (section 3) and rectification quantities are
// shown as they stand now.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/core/config.hpp"
#include "ledger/ledger.hpp"
#include "pipeline/core/township_summary.hpp"

namespace weipian {

struct LedgerReportOptions {
    std::string as_of;                               // YYYY-MM-DD; empty = today
    std::optional<std::pair<int, int>> cohort;       // only these years; empty = every cohort
    std::vector<LedgerMilestone> milestones = LedgerConfig{}.milestones;
    int annual_clearance_from = LedgerConfig{}.annual_clearance_from;
    double ratio_warning = PrejudgeConfig{}.ratio_warning;  // config prejudge.ratio_warning (share, 0.10)
    double ratio_limit = PrejudgeConfig{}.ratio_limit;      // config prejudge.ratio_limit (share, 0.15)
};

// A count of cases with their 亩 and 耕地亩 (hundredths of a 亩).
struct CaseFigures {
    std::int64_t cases = 0, centimu = 0, cultivated_centimu = 0;
    void add(std::int64_t n, std::int64_t area, std::int64_t cultivated) {
        cases += n;
        centimu += area;
        cultivated_centimu += cultivated;
    }
};

// Section 5 for one township (or the county) and one milestone. Of the cases judged illegal:
// total; rectified (counts_as_rectified by the evaluation date) and not; the rectified split by
// way: demolished (拆除) and regularised (补办) from the recorded quantities — areas are the
// 拆除/补办 (耕地) figures; in the count a 拆补组合 case counts once, under the larger of its
// 拆除面积 and 补办面积 (拆除 on a tie) — and by_status: rectified cases without quantities,
// whose area and 耕地 are the case's.
struct RectificationFigures {
    CaseFigures total, rectified, not_rectified;
    CaseFigures demolished, regularised, by_status;
    std::int64_t combined = 0;  // 拆补组合 cases among the rectified
};

// Section 1 for one cohort.
struct CohortSummary {
    int first_year = 0, last_year = 0;
    std::vector<TownshipSummary> rows;  // ranked as summarize_by_township ranks them
    TownshipSummary total;
    std::int64_t cultivated_not_assessed = 0;  // cases found by runs without a cultivated layer
};

// One township (or the county) against one milestone.
struct MilestoneProgress {
    std::string township_name, township_code;
    std::int64_t cases = 0;      // judged illegal
    std::int64_t rectified = 0;  // rectified by the evaluation date
    std::int64_t required = 0;   // ceil(percent × cases / 100)
    bool due = false;            // the milestone date is on or before the as-of date
    RectificationFigures figures;  // section 5
    bool behind() const { return due && rectified < required; }
};

struct MilestoneReport {
    LedgerMilestone milestone;
    bool annual_clearance = false;  // a 年清 year rather than a configured milestone
    std::string evaluated_on;       // min(deadline, as-of)
    std::vector<MilestoneProgress> townships;  // worst rate first
    MilestoneProgress county;
};

// Section 3: a case past its year that still needs work.
struct OverdueCase {
    std::string case_id, township;
    int year = 0;
    CaseStatus status = CaseStatus::ToVerify;
    std::int64_t area_centimu = 0;
    RectificationPlan plan;              // as it stands now
    std::vector<std::string> missing;    // parts of the plan not given
    bool deadline_passed = false;        // the plan's deadline is before the as-of date
};

// Section 4.
struct FlaggedCase {
    std::string case_id, township, flag, flag_date;
    CaseStatus status = CaseStatus::Rectified;
};

// Section 5's lists: cases judged illegal (in the report's cohorts) whose rectification rests on
// the status alone, and 已整改/销号 cases that do not count, with why (Chinese, e.g.
// "剩余未整改 0.5 亩", "审核未结束").
struct RectificationNote {
    std::string case_id, township, why;
};

// Section 6: one township (or the county) in one year.
struct RatioRow {
    std::string township_name, township_code;
    std::int64_t base_centimu = 0;       // 耕地 of the year's cases except 误报/伪变化
    std::int64_t illegal_centimu = 0;    // of those judged 违法
    std::int64_t suspected_centimu = 0;  // not verified, pre-judged 非农违法
    int level = 0;                       // 0, 1 = at/above the warning, 2 = at/above the limit (judged 违法 only)
    int level_with_suspected = 0;        // the same counting the suspected too
};

struct RatioYear {
    int year = 0;
    RatioRow county;
    std::vector<RatioRow> townships;  // highest ratio first
};

struct LedgerReport {
    std::string ledger;  // redacted location
    std::string as_of;
    std::int64_t cases = 0;  // on the ledger by the as-of date
    std::vector<CohortSummary> cohorts;
    std::vector<MilestoneReport> milestones;
    std::vector<OverdueCase> overdue;
    std::vector<FlaggedCase> flagged;
    std::vector<RectificationNote> by_status_only;  // section 5
    std::vector<RectificationNote> not_counted;     // section 5
    std::vector<std::string> identity_failures;     // section 5's failing checks, as printed
    double ratio_warning = 0.10, ratio_limit = 0.15;
    std::vector<RatioYear> ratios;                  // section 6
    // The six sections in the plan's wording (UTF-8 text).
    std::string text() const;
};

// "2018—2021年" for a range, "2022 年" for one year: the plan's own spellings.
std::string cohort_label(int first_year, int last_year);

// Builds the report. Throws ConfigError for a bad as-of date, InputError when the ledger cannot
// be read.
LedgerReport build_ledger_report(const std::string& ledger, const LedgerReportOptions& options);

}  // namespace weipian
