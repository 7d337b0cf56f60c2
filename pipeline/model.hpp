#pragma once
// The learned detector's model file: a gradient-boosted tree ensemble (XGBoost binary:logistic,
// Chen & Guestrin, KDD 2016) over the feature planes of kernels/features.hpp, with what it was
// trained for and on.
//
// File: one JSON object (UTF-8), written atomically:
//   {"format": "weipian-learned-model", "feature_set": 1, "weipian": "<version>",
//    "bands": ["blue", "green", "red", "nir"]            (the roles present; green, red always),
//    "stride": 2, "pixel_size_m": 0.5, "threshold": 0.42, "smooth_radius": 2,
//    "gate": {"feature": "cv5", "minimum": 3.1}          (feature "" = every valid pixel evaluated),
//    "feature_names": [...], "feature_stats": [{"mean","sd","p01","p99"}, ...],
//    "training": {"digest", "pairs", "samples", "params", "seed", ...}, "cv": {...},
//    "xgboost": <XGBoost's own JSON model (XGBoosterSaveModelToBuffer, format json)>}
// The "xgboost" member can be loaded back into XGBoost as it is; on load the compact trees that
// detect evaluates (kernels::TreeEnsemble) are rebuilt from it. Nothing in the file depends on
// the time or the machine it was trained on: the same inputs, seed and parameters give the
// same bytes.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/features.hpp"
#include "kernels/forest.hpp"
#include "pipeline/core/config.hpp"

namespace weipian {

inline constexpr const char* kModelFormat = "weipian-learned-model";

// Distribution of one feature over the training samples (feature units).
struct FeatureStat {
    double mean = 0, sd = 0, p01 = 0, p99 = 0;
};

struct LearnedModel {
    int feature_set = kernels::kFeatureSetVersion;
    kernels::FeatureSpec spec;       // band roles present and the feature grid's stride
    double pixel_size_m = 0;         // pixel size of the imagery it was trained on, metres
    double threshold = 0.5;          // probability at or above which a pixel is flagged
    int smooth_radius = 0;           // box mean of side 2r+1 image pixels on the probability
    std::string gate_feature;        // name of the gate's plane; "" = no gate
    kernels::EvaluationGate gate;    // its index and minimum (feature units)
    std::vector<std::string> feature_names;
    std::vector<FeatureStat> feature_stats;  // one per feature, or empty
    kernels::TreeEnsemble ensemble;  // rebuilt from `xgboost`
    nlohmann::json xgboost;          // XGBoost's JSON model
    nlohmann::json training;         // digest (SHA-256 hex of the inputs' bytes), pairs, samples, params, seed
    nlohmann::json cv;               // cross-validated figures (null when not cross-validated)
    std::string weipian_version = WEIPIAN_VERSION;
};

// The roles of `spec` as written in the file and in messages: ["blue", "green", "red", "nir"]
// (blue and nir only when present).
std::vector<std::string> band_role_names(const kernels::FeatureSpec& spec);

// The feature spec (roles present, stride) of imagery with `roles`.
kernels::FeatureSpec feature_spec_for(const BandRoles& roles, int stride);

// Rebuilds the compact ensemble from XGBoost's JSON model (learner.gradient_booster.model.trees:
// left_children, right_children, split_indices, split_conditions, the leaves' values in
// split_conditions; learner_model_param.base_score is a probability, base_margin its logit).
// Throws std::invalid_argument when the JSON is not such a model or the trees are inconsistent.
kernels::TreeEnsemble ensemble_from_xgboost(const nlohmann::json& xgboost, int feature_count);

// The model as the file's JSON text (2-space indented, ends with a newline).
std::string model_json_text(const LearnedModel& model);

// Parses a model file's text; `path` names it in messages. Throws InputError (one line naming
// the file): not JSON, not a weipian model, another feature set version, inconsistent trees.
LearnedModel parse_model(const std::string& text, const std::filesystem::path& path);

// Reads a model file. Throws InputError: missing or unreadable, and parse_model's refusals.
LearnedModel load_model(const std::filesystem::path& path);

// Writes the model through an AtomicFile (nothing at `path` until it is complete). Throws
// InputError when the path cannot be written.
void save_model(const std::filesystem::path& path, const LearnedModel& model);

// Refuses a model for imagery it was not trained for. `where` names the model's source in the
// message ("detect.model '…/m.json'"). Throws ConfigError: the imagery's band roles differ from
// the model's (blue or nir present in one only), or its pixel size differs from the model's by
// more than a factor 1.5.
void check_model_fits(const LearnedModel& model, const BandRoles& roles, double pixel_size_m, const std::string& where);

}  // namespace weipian
