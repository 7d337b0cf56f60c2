#pragma once
// The main job: ingest, then read → detect → clean → label → polygonize streamed strip by strip
// (pipeline/scheduler.hpp), overlay, emit; the final parcels go to an optional ParcelSink (the
// case ledger, wired in by app/) before the outputs appear.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <functional>
#include <memory>

#include <cpl_progress.h>
#include <ogr_spatialref.h>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/config.hpp"
#include "pipeline/core/parcel.hpp"
#include "pipeline/core/parcel_sink.hpp"

namespace weipian {

// What a run produced.
struct RunSummary {
    std::filesystem::path output_dir;
    std::int64_t parcels = 0;
    double area_mu = 0;
    std::shared_ptr<const nlohmann::json> report;  // the content of run.json (never null after a run)
};

// How the main job treats what stands at config.output_dir, and where its parcels go.
struct RunOptions {
    // Replace a previous weipian output (a folder with the .weipian-output marker and nothing
    // else). Never anything else: a foreign file or folder is refused either way.
    bool overwrite = false;
    // Receives the final parcels before the outputs appear (the case ledger, wired in by app/);
    // may be null.
    ParcelSink* sink = nullptr;
    // ---- issue 10
    // Called after the pre-judgement and before the sink with the parcels (geometry in the
    // epochs' CRS): may drop parcels (nightly: those outside tonight's footprint, or cut by the
    // edge of tonight's coverage, are left for another night). Null = keep all.
    std::function<void(std::vector<Parcel>&, const OGRSpatialReference&)> select;
    // Progress of the streamed detection (0..1), GDAL style: called with 0 before the first
    // strip, then after each strip is labelled with the share of the scene's rows done (strips
    // done / strips), in order, from the scheduler's serial stage, and with 1 at the end. Its
    // return value is ignored (a run is not cancelled from here). Null = none.
    GDALProgressFunc progress = nullptr;
    void* progress_data = nullptr;
};

// Refuses, before any work, what the main job must not touch: an input (tiles, config, AOI,
// overlay layers) or the ledger inside the output folder, and an output folder that is not
// absent, empty or (with options.overwrite) a previous weipian output. Throws InputError.
void check_run_paths(const Config& config, const RunOptions& options);

// The main job: ingest, detect, clean, polygonize, overlay, emit. check_run_paths first; the
// outputs appear in config.output_dir only when all are complete, with the marker
// .weipian-output listing them. options.sink receives the final parcels before that (a throw
// there fails the run with no outputs). Throws ConfigError / InputError / NoValidPixelsError;
// InternalError when config.ledger is set but no sink is given (the ledger would silently not
// be fed).
RunSummary run_main_job(const Config& config, const RunOptions& options = {});

}  // namespace weipian
