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
//     illegal cases, those rectified (已整改, or 销号 after it) by the milestone date (or the
//     as-of date if earlier), the rate; a township is behind (落后) when the date has passed
//     and the rate is under the milestone;
//  3. cases whose year has ended and that still need work (待核查, 违法, 整改中), with their
//     rectification plan (measures, deadline, responsible person) or flagged as missing one;
//  4. cases a later epoch still shows as built after they were reported 已整改 (整改不到位：
//     影像仍显示建设): the flags standing now whose epoch is on or before the as-of date.
// Rectification plans (section 3) are shown as they stand now.
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

struct LedgerReport {
    std::string ledger;  // redacted location
    std::string as_of;
    std::int64_t cases = 0;  // on the ledger by the as-of date
    std::vector<CohortSummary> cohorts;
    std::vector<MilestoneReport> milestones;
    std::vector<OverdueCase> overdue;
    std::vector<FlaggedCase> flagged;
    // The four sections in the plan's wording (UTF-8 text).
    std::string text() const;
};

// "2018—2021年" for a range, "2022 年" for one year: the plan's own spellings.
std::string cohort_label(int first_year, int last_year);

// Builds the report. Throws ConfigError for a bad as-of date, InputError when the ledger cannot
// be read.
LedgerReport build_ledger_report(const std::string& ledger, const LedgerReportOptions& options);

}  // namespace weipian
