#pragma once
// Evaluate stage: accuracy of a change mask against reference labels.
#include <filesystem>

#include <string_view>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

#include "kernels/connectivity.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/ingest.hpp"

namespace weipian {

enum class LabelKind {
    Automatic,  // 2 present -> Sparse; otherwise Full
    Full,       // nonzero = changed, 0 = unchanged (e.g. 0/255 maps)
    Sparse,     // 1 = changed sample, 2 = unchanged sample, 0 = unlabelled
};

// Compares `mask` (CV_8UC1, nonzero = flagged) with `label` (CV_8UC1, same size).
// Full maps give pixel precision, recall, F1 and IoU, and object recall/precision: a reference
// object (8-connected component of changed pixels) is found when at least half its pixels are
// flagged; a flagged object (component of the mask under `connectivity`) is correct when at
// least half its pixels are changed in the reference. Sparse samples give sample recall (flagged
// changed samples / changed samples) and sample false-alarm rate (flagged unchanged / unchanged).
// Pixels outside `valid` (CV_8UC1, or empty) are not counted. Throws std::invalid_argument on
// size or type mismatch.
nlohmann::json evaluate_mask(const cv::Mat& mask, const cv::Mat& label, LabelKind kind,
                             kernels::Connectivity connectivity, const cv::Mat& valid = {});

// Reads the first band of a label raster onto the epochs' grid (nearest-neighbour warp when it
// is georeferenced and the grids differ; same size required otherwise). Throws InputError.
cv::Mat read_label_raster(const std::filesystem::path& path, const AlignedEpochs& epochs);

class EvaluateStage {
public:
    static constexpr std::string_view name = "evaluate";
    struct Options {
        LabelKind kind = LabelKind::Automatic;
        kernels::Connectivity connectivity = kernels::Connectivity::Four;  // of flagged objects
        static Options from(const Config& config) { return {LabelKind::Automatic, config.clean.connectivity}; }
    };

    explicit EvaluateStage(Options options) : options_(options) {}

    void validate() const {}

    // evaluate_mask(mask, label, kind, connectivity, valid).
    nlohmann::json run(const cv::Mat& mask, const cv::Mat& label, const cv::Mat& valid = {}) const;

private:
    Options options_;
};

}  // namespace weipian
