#pragma once
// Detect stage: the construction detector (kernels/detect.hpp) over the aligned epochs, into a
// whole-scene change mask cleaned by the clean stage (for `detect` and `evaluate`; the main job
// streams the same kernels through the strip scheduler instead).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

#include "kernels/clean.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/ingest.hpp"

namespace weipian {

struct LearnedModel;

// The cleaned change mask of a scene and its components.
struct ChangeMask {
    cv::Mat mask;                        // CV_8UC1, 1 = new construction, on the common grid
    cv::Mat valid;                       // CV_8UC1, 1 = data in both epochs (and inside the AOI)
    kernels::Components components;      // labels and pixel counts of the kept components
    float threshold = 0;                 // the threshold used (configured, automatic, or the model's probability)
    std::int64_t valid_pixels = 0;       // pixels with data in both epochs (and inside the AOI)
    std::int64_t raw_pixels = 0;         // flagged before cleaning
    std::vector<std::pair<std::string, double>> timings;  // seconds per stage ("wall" last)
    std::shared_ptr<nlohmann::json> detector;  // describe_detector of the run
};

class DetectStage {
public:
    static constexpr std::string_view name = "detect";
    struct Options {
        DetectConfig detect;
        static Options from(const Config& config) { return {config.detect}; }
    };

    // The scheduler sizes (processing.*) and cleaning (clean.*) come from `config` too.
    explicit DetectStage(const Config& config) : config_(config), options_(Options::from(config)) {}

    // Throws ConfigError for an unknown detect.method or learned without detect.model; learned:
    // loads the model (load_model's InputError when it is missing or corrupt), kept for run().
    void validate() const;

    // The learned model validate() loaded; null for the construction detector.
    std::shared_ptr<const LearnedModel> model() const;

    // Detects and cleans new construction on the aligned epochs into a whole-scene mask: strips
    // of processing.block_size rows through the detector and opening/closing, then the minimum
    // mapping unit in pixels derived from the grid's pixel size in metres. Memory: 2 bytes per
    // pixel of the scene.
    ChangeMask run(const AlignedEpochs& epochs) const;

private:
    const Config& config_;
    Options options_;
    mutable std::shared_ptr<const LearnedModel> model_;
};

// The largest scene detect_change holds whole (2^30 px ≈ 1.07 Gpx, 2 GB of mask and validity);
// beyond it, InputError points to the streaming main job.
inline constexpr double kMaxWholeScenePixels = 1073741824.0;

// DetectStage(config).run(epochs) (validated first). Throws NoValidPixelsError when no pixel
// has data in both epochs.
ChangeMask detect_change(const AlignedEpochs& epochs, const Config& config);

// What run.json and `evaluate` record of the detector that ran: {"method", "threshold"} and, for
// learned, "threshold_source" ("config" or "model") and "model": {"path", "sha256" (of the
// file), "feature_set", "stride", "pixel_size_m", "training_digest", "model_threshold"}.
// Throws InputError when the model file cannot be read for its digest.
nlohmann::json describe_detector(const Config& config, const LearnedModel* model, float threshold);

// SHA-256 of a file's bytes as 64 lower-case hex digits (OpenSSL). Throws InputError naming the
// file when it cannot be read.
std::string file_sha256(const std::filesystem::path& path);

// Writes `mask` as a Byte GeoTIFF (1 = new construction) on the epochs' grid, under a
// temporary name renamed when complete (a previous file at `path` is replaced then). Throws
// InputError when it cannot be written or `path` is a folder.
void write_mask_geotiff(const std::filesystem::path& path, const cv::Mat& mask, const AlignedEpochs& epochs);

}  // namespace weipian
