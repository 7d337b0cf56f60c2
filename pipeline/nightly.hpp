#pragma once
// `weipian nightly` (issue 10): whatever imagery arrived in the inbox since the last night is
// registered in the imagery catalog (pipeline/catalog.hpp) and run through the main job
// (pipeline/main_job.hpp) against the most recent earlier coverage of the same place, into one
// dated folder per night under output.dir, with output.dir/latest pointing at the newest.
//
// A night, step by step (run_nightly):
//   1. the lock output.dir/.weipian-nightly.lock (flock; JSON pid, host, county, started, config):
//      held by another process → NightlyLockedError (exit code 75); written by another county's
//      config → InputError (3);
//   2. the catalog (catalog_location); a night recorded as running (killed) is redone first:
//      the same tiles into the same folder, with the same result;
//   3. register_base (nightly.base), scan (nightly.inbox); each file the catalog refuses is one
//      warning line and an entry of the night's "skipped";
//   4. the pending tiles, grouped by acquisition date, oldest first. Each date is its own night
//      folder: the first output.dir/NIGHT (NIGHT = --night, default today), the following
//      NIGHT-2, NIGHT-3 … (also when NIGHT already holds a finished night). For one date:
//        later epoch  = the new tiles + registered tiles of the same date whose footprint meets
//                       the new footprint buffered by nightly.margin_m (neighbouring coverage);
//        earlier epoch = registered tiles dated before it meeting that region, oldest first so
//                       the most recent is drawn on top (the base is the earliest coverage);
//        region       = buffered new footprint ∩ later coverage ∩ earlier coverage, the run's AOI
//                       (a GeoPackage in output.dir/.weipian-nightly/NIGHT-region.gpkg);
//        HSX          = the tiles' date; QSX = the OLDEST date among the earlier tiles used (where
//                       newer earlier imagery does not cover, the older shows through, so only the
//                       oldest date is true for every parcel; night.json lists all earlier dates);
//      a new tile whose footprint no earlier tile covers is skipped ("missing earlier coverage",
//      stays pending until nightly.base covers it);
//   5. the main job with RunOptions::select keeping the patches that overlap tonight's new
//      footprint (with area); of those that come within 1.5 pixels of the region's edge where
//      registered coverage extends beyond it:
//        - into coverage whose new imagery has not arrived (the base alone there): DEFERRED, a
//          neighbouring delivery completes it;
//        - else into imagery delivered separately that tonight does not read (non-base tiles of
//          another date, or beyond nightly.margin_m): it can never be found whole, so it is
//          REPORTED with tonight's part, the remark (bz) "影像接边：图斑延伸到 <dates> 的相邻影像，
//          只含本次影像部分，外业核查时请核对完整范围", and listed in night.json "edge_reported";
//      a patch split by a township boundary is kept, reported or deferred whole;
//   6. night.json / night.txt (Chinese summary line) added to the night's folder (and its
//      marker), the night recorded done in the catalog, then output.dir/latest → the folder
//      (a symlink made under a temporary name and renamed over the old one).
// Nothing new → no folder, nothing recorded; the message "nightly: nothing new in …".
// A night whose main job refuses its input (no valid pixels, an unreadable tile …) is recorded
// "failed" with the error (one error line), its tiles stay pending for the next start, the other
// dates still run, and the start ends with that error's exit code.
//
// Killed nights are tested at the test points "nightly:begun", "nightly:select", "nightly:run",
// "nightly:summary" and "nightly:done" (pipeline/core/test_point.hpp), inert in the installed
// `weipian`.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <cpl_progress.h>
#include <nlohmann/json.hpp>

#include "pipeline/catalog.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/parcel_sink.hpp"
#include "pipeline/main_job.hpp"

namespace weipian {

// Exit code of `weipian nightly` when another run holds the lock (sysexits EX_TEMPFAIL: try
// again later). Documented in the README's exit-code table.
inline constexpr int kNightlyLockedExitCode = 75;

// The subfolder of a night folder where NightlyOptions::after_run writes its evidence (the
// rectification chips); removed with the rest of an unfinished night's extras on a redo.
inline constexpr const char* kNightlyHookFolder = "rectify";

// Another process holds output.dir/.weipian-nightly.lock. what() is the one line to print:
// "nightly: another run holds <lock> (pid …, host …, since …); it ends by itself — wait, or stop
// that process".
class NightlyLockedError : public Error {
public:
    using Error::Error;
    int exit_code() const noexcept override { return kNightlyLockedExitCode; }
};

// The lock file of one output root (flock LOCK_EX|LOCK_NB, released when destroyed). Its
// content is JSON {pid, host, county, started (UTC), config}. Throws NightlyLockedError when
// another process holds it, InputError when its content names another county or it cannot be
// created.
class NightlyLock {
public:
    NightlyLock(const std::filesystem::path& root, const Config& config);
    ~NightlyLock();
    NightlyLock(const NightlyLock&) = delete;
    NightlyLock& operator=(const NightlyLock&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// The lock file's path for an output root.
std::filesystem::path nightly_lock_path(const std::filesystem::path& root);

// A file left out of a night, as night.json lists it.
struct SkippedFile {
    std::string file;        // absolute path
    std::string reason;      // corrupt, undatable, unknown_crs, duplicate, unreadable, missing earlier coverage
    std::string what_to_do;  // the line printed (names the file and what to do)
};

// A parcel left for a later night: it reaches the edge of tonight's region where coverage
// extends beyond (area CRS figures, as parcels.gpkg would carry them).
struct DeferredParcel {
    std::int64_t id = 0;        // the parcel id within tonight's run (deferred: not in parcels.gpkg)
    std::int64_t patch_id = 0;
    double area_m2 = 0;
    double area_mu = 0;
    double centroid_x = 0, centroid_y = 0;
    std::vector<std::string> neighbour_dates;  // edge_reported only: dates of the imagery it reaches
};

// What one night folder holds.
struct NightOutcome {
    std::string night;                 // folder name, e.g. 2026-12-04 or 2026-12-04-2
    std::filesystem::path folder;      // absolute
    std::string imagery_date;          // HSX
    std::string earlier_date;          // QSX (the oldest earlier date used)
    std::vector<std::string> tiles;    // the new tiles
    std::int64_t parcels = 0;
    std::string area_mu;               // as run.json prints it
    std::vector<DeferredParcel> deferred;
    std::vector<DeferredParcel> edge_reported;  // reported with tonight's part (see step 5 above)
    std::vector<SkippedFile> skipped;
    bool redone = false;               // a killed night redone
    nlohmann::json summary;            // the content of night.json
};

struct NightlyResult {
    std::vector<NightOutcome> nights;  // processed this start (a redo first), oldest date first
    std::vector<SkippedFile> skipped;  // every file left out this start
    bool nothing_new = false;          // no pending tile: nothing written
    std::string message;               // the last line `weipian nightly` prints
    std::int64_t registered = 0;       // tiles in the catalog
};

struct NightlyOptions {
    std::string night;                 // YYYY-MM-DD; empty = today (local time)
    ParcelSink* sink = nullptr;        // the ledger (app/ wires LedgerSink); fed by the main job
    GDALProgressFunc progress = nullptr;
    void* progress_data = nullptr;
    // Called after a night's main job committed its folder and before night.json is written and
    // the night recorded done (a kill before that redoes the night, hook included); may add to
    // `night_summary` (e.g. the rectification checks) and write files into `folder` (list their
    // names, relative to the folder, in night_summary["files"] so the marker names them). What
    // it writes under folder/rectify/ and did not list is removed when the night is redone.
    // The coordinator wires check_rectification (ledger/ledger_rectify.hpp) here; `catalog`
    // answers its imagery lookups (ImageryCatalog::intersecting).
    std::function<void(const Config& night_config, const ImageryCatalog& catalog, const std::vector<CatalogTile>& new_tiles,
                       const std::filesystem::path& folder, nlohmann::json& night_summary)>
        after_run;
};

// One start of `weipian nightly` (see above). Throws NightlyLockedError, ConfigError,
// InputError (catalog of another county, unreadable inbox, a night's main job refused),
// NoValidPixelsError; a night that throws stays recorded as running and is redone next start.
NightlyResult run_nightly(const Config& config, const NightlyOptions& options = {});

// The Chinese summary line of a night for the county (night.txt).
std::string night_summary_text(const NightOutcome& night);

}  // namespace weipian
