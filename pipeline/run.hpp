#pragma once
// The main job and the detection stage it shares with `detect` and `evaluate`.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "kernels/clean.hpp"
#include "pipeline/config.hpp"
#include "pipeline/ingest.hpp"

namespace weipian {

// The cleaned change mask of a scene and its components.
struct ChangeMask {
    cv::Mat mask;                        // CV_8UC1, 1 = new construction, on the common grid
    cv::Mat valid;                       // CV_8UC1, 1 = data in both epochs (and inside the AOI)
    kernels::Components components;      // labels and pixel counts of the kept components
    float threshold = 0;                 // the threshold used (configured or Otsu's)
    std::int64_t valid_pixels = 0;       // pixels with data in both epochs (and inside the AOI)
    std::int64_t raw_pixels = 0;         // flagged before cleaning
    nlohmann::json timings = nlohmann::json::object();  // seconds per stage
};

// Detects and cleans new construction on the aligned epochs into a whole-scene mask (for
// `detect` and `evaluate`; the main job streams instead): strips of processing.block_size rows
// through the detector and opening/closing, then the minimum mapping unit in pixels derived
// from the grid's pixel size in metres. Memory: 2 bytes per pixel of the scene.
// The largest scene detect_change holds whole (2^30 px ≈ 1.07 Gpx, 2 GB of mask and validity);
// beyond it, InputError points to the streaming main job.
inline constexpr double kMaxWholeScenePixels = 1073741824.0;

// Throws NoValidPixelsError when no pixel has data in both epochs.
ChangeMask detect_change(const AlignedEpochs& epochs, const Config& config);

// Writes `mask` as a Byte GeoTIFF (1 = new construction) on the epochs' grid, under a
// temporary name renamed when complete (a previous file at `path` is replaced then). Throws
// InputError when it cannot be written or `path` is a folder.
void write_mask_geotiff(const std::filesystem::path& path, const cv::Mat& mask, const AlignedEpochs& epochs);

// What a run produced.
struct RunSummary {
    std::filesystem::path output_dir;
    std::int64_t parcels = 0;
    double area_mu = 0;
    nlohmann::json report;  // the content of run.json
};

// How the main job treats what stands at config.output_dir.
struct RunOptions {
    // Replace a previous weipian output (a folder with the .weipian-output marker and nothing
    // else). Never anything else: a foreign file or folder is refused either way.
    bool overwrite = false;
};

// Refuses, before any work, what the main job must not touch: an input (tiles, config, AOI,
// overlay layers) or the ledger inside the output folder, and an output folder that is not
// absent, empty or (with options.overwrite) a previous weipian output. Throws InputError.
void check_run_paths(const Config& config, const RunOptions& options);

// The main job: ingest, detect, clean, polygonize, overlay, emit. check_run_paths first; the
// outputs appear in config.output_dir only when all are complete, with the marker
// .weipian-output listing them. Throws ConfigError / InputError.
RunSummary run_main_job(const Config& config, const RunOptions& options = {});

}  // namespace weipian
