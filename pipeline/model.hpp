#pragma once
// PLACEHOLDER on branch detect until helper train's pipeline/model.hpp lands (the agreed
// interface of PLAN8.md); replaced by theirs at merge.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/features.hpp"
#include "kernels/forest.hpp"

namespace weipian {

struct FeatureStatistics {
    double mean = 0, sd = 0, p01 = 0, p99 = 0;
};

struct LearnedModel {
    int feature_set = kernels::kFeatureSetVersion;
    kernels::FeatureSpec roles;
    int stride = 1;
    double pixel_size_m = 0;
    double threshold = 0.5;
    int smooth_radius = 0;
    kernels::EvaluationGate gate;
    kernels::TreeEnsemble ensemble;
    std::string training_digest;
    nlohmann::json cv;
    std::vector<FeatureStatistics> feature_stats;
    std::string trained_at, version;
    nlohmann::json params;
};

LearnedModel load_model(const std::filesystem::path& path);
void save_model(const std::filesystem::path& path, const LearnedModel& model);
void check_model_fits(const LearnedModel& model, const kernels::FeatureSpec& roles, double pixel_size_m, const std::string& where);

}  // namespace weipian
