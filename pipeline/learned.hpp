#pragma once
// The learned detector's probability over a whole scene (for `weipian train`'s cross-validation
// and for `detect`/`evaluate` on scenes held whole), in small pieces the streaming scheduler
// reuses strip by strip:
//   read both epochs → feature grid (stride × stride means) → feature planes in strips of
//   feature-grid rows (with their halo) → gate → tree ensemble → upsample, smooth → threshold.
//
// Edge: the feature grid covers the largest multiple of the stride in rows and columns; the
// last (width mod stride) columns and (height mod stride) rows of the image get probability 0
// and are never flagged (at most stride − 1 pixels, 0.5 m for stride 2 at 0.5 m).
#include <cstdint>
#include <functional>
#include <vector>

#include <opencv2/core.hpp>

#include "kernels/features.hpp"
#include "kernels/forest.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/model.hpp"

namespace weipian {

// Both epochs of a scene on the feature grid, and the image size it covers.
struct FeatureScene {
    kernels::FeatureEpoch before, after;
    cv::Mat valid;               // CV_8UC1 feature grid: 1 where both epochs are valid
    cv::Mat image_valid;         // CV_8UC1 image grid (whole image): 1 where both epochs are valid
    int stride = 1;
    int image_rows = 0, image_cols = 0;  // the whole image
    int rows() const { return valid.rows; }
    int cols() const { return valid.cols; }
};

// Reads the whole scene (both epochs, read_block) and averages it onto the feature grid of
// `stride` (the image cropped to multiples of the stride). Memory: the epochs' bands whole
// (2 × bands × pixel bytes a pixel) while reading. Throws InputError from the reader.
FeatureScene read_feature_scene(const AlignedEpochs& epochs, int stride);

// Feature-grid rows per strip of the whole-scene functions (their planes: feature_count × strip
// rows × width floats).
inline constexpr int kFeatureStripRows = 128;

// Computes the feature planes of `scene` strip by strip (each strip of `strip_rows` feature-grid
// rows with min(feature_halo, available) rows of halo each side, so the planes equal those of
// the whole image) and calls `visit(top, rows, planes)` for each, in order; `planes` are
// feature_count(spec) CV_32FC1 planes of rows × scene.cols().
void for_each_feature_strip(const FeatureScene& scene, const kernels::FeatureSpec& spec, int strip_rows,
                            const std::function<void(int top, int rows, const std::vector<cv::Mat>& planes)>& visit);

// Scratch of learned_block_probability, one per worker.
struct LearnedWorkspace {
    std::vector<cv::Mat> planes;
    kernels::FeatureWorkspace features;
    kernels::PredictWorkspace predict;
    cv::Mat valid;
};

// Probability (CV_32FC1, feature grid, `rows` × before.cols) of rows [top, top + rows) of a
// block already on the feature grid (before/after hold those rows plus their halo): features,
// the model's gate, the ensemble; 0 where a cell is invalid in either epoch or gated out.
// Returns the number of cells evaluated. Throws std::invalid_argument on mismatched blocks.
std::int64_t learned_block_probability(const LearnedModel& model, const kernels::FeatureEpoch& before,
                                       const kernels::FeatureEpoch& after, int top, int rows, cv::Mat& probability,
                                       LearnedWorkspace& workspace, bool parallel = false);

// The scene's probability on the feature grid, strip by strip (kFeatureStripRows). Adds the
// cells evaluated and the valid cells to the counters when given.
cv::Mat feature_grid_probability(const LearnedModel& model, const FeatureScene& scene, std::int64_t* evaluated = nullptr,
                                 std::int64_t* valid_cells = nullptr);

// Upsamples and smooths a feature-grid probability (kernels::probability_to_mask) to the whole
// image grid: CV_32FC1 image_rows × image_cols, 0 outside the image's valid pixels and in the
// cropped edge.
cv::Mat image_probability(const cv::Mat& grid_probability, const FeatureScene& scene, int smooth_radius);

// The learned probability of every pixel of the scene (CV_32FC1, epochs' size; 0 where a pixel
// is invalid, gated out or in the cropped edge): read_feature_scene, feature_grid_probability,
// image_probability. Throws InputError from the reader.
cv::Mat learned_probability(const LearnedModel& model, const AlignedEpochs& epochs);

// mask = probability ≥ threshold (CV_8UC1, 0/1), then cleaned as the configuration's clean.*
// says (opening/closing radii and the minimum mapping unit on pixels of pixel_w × pixel_h m).
cv::Mat clean_probability_mask(const cv::Mat& probability, double threshold, const cv::Mat& valid, const Config& config,
                               double pixel_w_m, double pixel_h_m);

}  // namespace weipian
