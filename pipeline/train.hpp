#pragma once
// Training of the learned detector (`weipian train`): labelled scenes → balanced, seeded samples
// of the feature planes (kernels/features.hpp) → gradient-boosted trees (XGBoost's C API,
// binary:logistic, hist) → a LearnedModel (pipeline/model.hpp) with its gate, feature statistics,
// threshold and, with cross-validation, held-out figures.
//
// Cross-validation (K folds by scene, or leave one scene out): for each fold a model is trained
// on the other scenes' samples, its threshold is the one that maximises pixel F1 over the
// training scenes' full-image probabilities (the held-out scene is never looked at), and the
// held-out scene's mask (probability ≥ threshold, cleaned as clean.* says) is scored with
// evaluate_mask. Those training-scene probabilities come from two more models, each trained on
// half the training scenes and predicting the other half: a model's probabilities on its own
// samples are over-confident (on LEVIR every changed cell is a sample), which raised the
// threshold to 0.63–0.65 and cost recall. The final model is trained on every scene and its
// threshold chosen the same way.
//
// Threads: every XGBoost training runs on one thread (XGBoost's OpenMP team spin-waits: on a
// busy 2-core machine two threads took 57 s where one took 9 s), and the independent trainings
// (folds, the threshold models, the final model) run in parallel under TBB. A model therefore
// does not depend on the thread count.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "pipeline/core/config.hpp"
#include "pipeline/evaluate.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/model.hpp"

namespace weipian {

// One unit of training: the epochs (config.before/after tiles, bands, grid) and labels on their
// grid.
struct LabelledScene {
    std::string name;                  // in progress and CV lines (e.g. the label's file name)
    Config config;
    IngestOptions ingest;
    // Label raster read with read_label_raster when `label` is empty: nonzero = changed
    // (0/255 and 0/1 maps alike).
    std::filesystem::path label_path;
    // CV_8UC1 on the epochs' grid: 1 changed, 0 unchanged, 255 unknown (sparse labels).
    cv::Mat label;
    // How `label_path` is read: Full (nonzero = changed), Sparse (1 changed, 2 unchanged, 0 unknown,
    // as nanjing-landsat's reference samples), Automatic (Sparse when a 2 occurs, else Full).
    LabelKind label_kind = LabelKind::Full;
};

// One --before/--after/--label triple, or an entry of a pair list.
struct PairFiles {
    std::string before, after, label;
};

// Reads a YAML pair list: a sequence of maps {before: PATH, after: PATH, label: PATH}, paths
// relative to the list's folder. Throws InputError naming the file (and entry): unreadable, not
// YAML, not a non-empty list, an entry without one of the three keys.
std::vector<PairFiles> read_pair_list(const std::filesystem::path& path);

struct TrainOptions {
    int stride = 0;               // feature grid stride; 0 = 2 when the pixels are < 1 m, else 1
    int trees = 120;              // boosting rounds
    int depth = 6;                // max_depth
    double eta = 0.2;             // learning rate
    double subsample = 0.8;       // row subsampling per tree
    int samples = 20000;          // samples per scene: half changed, as many unchanged (fewer when the
                                  // scene has fewer changed feature-grid cells)
    double unchanged_ratio = 1;   // unchanged samples per changed sample (1 = balanced)
    double near_fraction = 0.5;   // of the unchanged samples, drawn within near_radius_m of change
    double near_radius_m = 10;
    double gate_quantile = 0.01;  // gate minimum: this quantile of the changed samples' gate feature
    std::string gate_feature = "cv5";  // "" = no gate
    int smooth_radius = -1;       // image px; -1 = the stride
    std::uint64_t seed = 1;
    int folds = 0;                // 0 = no cross-validation; -1 = leave one scene out; K ≥ 2 folds
    // Called with a line of progress (terminal use: overwritten in place); may be empty.
    std::function<void(const std::string&)> progress;
    // Called with each cross-validation line as it is known (per fold, then pooled); may be empty.
    std::function<void(const std::string&)> report;
};

struct TrainResult {
    LearnedModel model;
    double seconds = 0;              // wall time of the whole training
    std::int64_t samples = 0;        // training rows of the final model
    double gated_out_fraction = 0;   // of the valid feature-grid cells of the scenes
};

// Trains a model on `scenes` (at least one; all with the same band roles). Cross-validation on a
// single scene (K ≥ 2 folds; not loo) holds out K spatial blocks instead: the scene's columns cut
// into K equal vertical bands, the labels of one band held out per fold (the features near a
// band's edge still see the neighbouring imagery, never its labels). `config` gives the
// clean.* settings the cross-validation masks are cleaned with. Throws InputError: a scene's
// epochs or label cannot be read, a label is on another grid, a label has no changed pixel, the
// scenes' pixel sizes differ by more than a factor 1.5; ConfigError: more folds than scenes.
TrainResult train_model(const std::vector<LabelledScene>& scenes, const Config& config, const TrainOptions& options);

// The threshold in (0, 1) (steps of 0.01) that maximises pixel F1 of probability ≥ threshold
// against labels, from per-step counts: changed[k] / unchanged[k] = pixels whose probability is
// in [k/100, (k+1)/100) (k = 0..100; 100 holds probability 1).
double best_f1_threshold(const std::vector<std::int64_t>& changed, const std::vector<std::int64_t>& unchanged);

}  // namespace weipian
