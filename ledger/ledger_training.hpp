#pragma once
// Training labels from the case ledger (台账): every verified case is a label on its own
// imagery. The county's verdicts (核查结果) say which detections were real change and which were
// not; `weipian train --ledger L --config C` learns from them.
//
// The verdicts that count are declared once, in training_verdict_table():
//   word      ledger status   class     why
//   违法      Illegal         positive  verified illegal construction: the change is real
//   合法      Legal           positive  legal (approved) construction: the change is real
//   整改中    Rectifying      positive  reached only from 违法
//   已整改    Rectified       positive  reached only from 违法 via 整改中 (the change was real on
//                                       the epochs it was found on)
//   销号      Closed          (result)  closed: counts as the result it was verified with (合法 or
//                                       违法 positive, 误报 negative, none ignored)
//   误报      FalseAlarm      negative  no real change (false alarm)
//   待核查    ToVerify        ignored   not verified yet
// and the platform's words (ENFORCEMENT.md §2) that this ledger cannot store yet (import refuses
// them; ledger.hpp's results are 合法, 误报, 违法), declared so that a ledger that gains them
// needs no second table: 其他, 非农违法, 农村道路, 设施农用地 positive (real change, judged under
// another class); 伪变化 negative; 存疑 ignored (evidence missing).
//
// A case's class is the table's class for its verification result (LedgerCase::result), else
// for its status. Labels: 1 positive, 0 negative, 255 unknown, on the epochs' grid.
//
// Depends on weipian_ledger and weipian_pipeline (the epochs' grid): built as its own target
// (weipian_ledger_training) so that weipian_ledger stays free of the pipeline stages.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

#include "ledger/ledger.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/ingest.hpp"

namespace weipian {

// The unit of training is pipeline/train.hpp's LabelledScene (helper train); until that header
// is on this branch, the same fields are declared here.
#if __has_include("pipeline/train.hpp")
}  // namespace weipian
#include "pipeline/train.hpp"
namespace weipian {
#else
struct LabelledScene {
    std::string name;  // in progress and CV lines
    Config config;     // the epochs
    IngestOptions ingest;
    std::filesystem::path label_path;  // unused for ledger labels (`label` is set)
    // CV_8UC1 on the epochs' grid: 1 changed, 0 unchanged, 255 unknown (sparse labels).
    cv::Mat label;
};
#endif

enum class TrainingClass { Positive, Negative, Ignored };

// "positive", "negative", "ignored".
const char* training_class_name(TrainingClass c);

// One row of the verdict table. `status` is the ledger status the word is stored as (empty for
// the platform words this ledger cannot store); `by_result` marks 销号, whose class is that of
// the case's result.
struct VerdictRule {
    const char* word;
    std::optional<CaseStatus> status;
    TrainingClass training_class;
    bool by_result;
    const char* why;
};

// The one declared table (see the top of this file).
const std::vector<VerdictRule>& training_verdict_table();

// The class of a verdict word (surrounding blanks ignored); empty for a word not in the table.
std::optional<TrainingClass> verdict_class(const std::string& word);

// The class of a case: by its result when it has one, else by its status (销号 without a
// result: ignored).
TrainingClass training_class(const LedgerCase& c);

struct LedgerTrainingOptions {
    // Pixels within this many metres of any case of the ledger (any verdict, any epochs) are
    // never background: an unverified or other-epoch case may be real change.
    double buffer_m = 20.0;
    // Background negatives sampled away from all cases: this many per positive pixel (at most
    // all the pixels beyond the buffer).
    double background_per_positive = 4.0;
    std::uint64_t seed = 1;
};

// What the ledger gave, per class and per reason a case was left out.
struct LedgerLabelCounts {
    std::string ledger;  // redacted location
    std::string qsx, hsx;
    std::int64_t cases = 0;             // in the ledger
    std::int64_t other_epochs = 0;      // QSX/HSX differ from the config's: skipped
    std::int64_t unverified = 0;        // on these epochs, class ignored (待核查, 销号 without result)
    std::int64_t positive_cases = 0;    // on these epochs and on the grid
    std::int64_t negative_cases = 0;
    std::int64_t off_grid = 0;          // on these epochs with a class, but no pixel on the grid
    std::map<std::string, std::int64_t> by_verdict;  // cases on these epochs per verdict word
    std::int64_t positive_pixels = 0;   // label 1
    std::int64_t negative_case_pixels = 0;  // label 0 from 误报 cases
    std::int64_t background_pixels = 0;     // label 0 sampled away from all cases
    std::int64_t conflict_pixels = 0;       // inside a positive and a negative case: left 255
    std::int64_t unknown_pixels = 0;        // label 255
    nlohmann::json to_json() const;
    // One line: "ledger L, epochs QSX→HSX: P positive cases (p px), N negative (n px), b background
    // px; skipped: u 待核查, o on other epochs, g off the grid".
    std::string text() const;
};

struct LedgerLabels {
    LabelledScene scene;
    LedgerLabelCounts counts;
};

// Labels for `config`'s epochs from the ledger at `ledger` (GeoPackage path or PostgreSQL):
// reads the cases; keeps those whose QSX/HSX equal config.before.date/config.after.date (the
// others are counted); rasterizes the kept cases' outlines (ledger CRS, reprojected to the
// grid's CRS; a pixel is inside when its centre is) as 1 (positive) / 0 (negative), pixels in
// both a positive and a negative case left 255; then samples background negatives, seeded,
// among the pixels farther than options.buffer_m from every case of the ledger.
// Throws ConfigError (exit 2) when the config has no epoch dates or the options are out of
// range; InputError (exit 3) when the ledger cannot be opened (LedgerStore's messages), holds no
// case with a verdict that counts on these epochs, or no positive one on the grid. Nothing is
// written.
LedgerLabels ledger_labelled_scene(const std::string& ledger, const Config& config, const AlignedEpochs& epochs,
                                   const LedgerTrainingOptions& options = {});

// `weipian train --ledger L --config C`: loads the config C (Config::load's errors), checks
// that it names both epoch dates, opens the ledger (LedgerStore's errors), ingests the epochs
// (ingest_epochs' errors) and returns ledger_labelled_scene. Nothing is written.
LedgerLabels ledger_labels_for_config(const std::string& ledger, const std::filesystem::path& config_path,
                                      const LedgerTrainingOptions& options = {});

}  // namespace weipian
