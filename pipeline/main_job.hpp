#pragma once
// The main job and the detection stage it shares with `detect` and `evaluate`.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "kernels/clean.hpp"
#include "pipeline/core/config.hpp"
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
ChangeMask detect_change(const AlignedEpochs& epochs, const Config& config);

// Writes `mask` as a Byte GeoTIFF (1 = new construction) on the epochs' grid, under a
// temporary name renamed when complete. Throws InputError when it cannot be written.
void write_mask_geotiff(const std::filesystem::path& path, const cv::Mat& mask, const AlignedEpochs& epochs);

// What a run produced.
struct RunSummary {
    std::filesystem::path output_dir;
    std::int64_t parcels = 0;
    double area_mu = 0;
    nlohmann::json report;  // the content of run.json
};

// The main job: ingest, detect, clean, polygonize, overlay, emit. Outputs appear in
// config.output_dir only when all are complete. Throws ConfigError / InputError.
RunSummary run_main_job(const Config& config);

}  // namespace weipian
