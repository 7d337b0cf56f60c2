#include "pipeline/model.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/errors.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

std::string number_text(double v) {
    std::ostringstream s;
    s.precision(4);
    s << v;
    return s.str();
}

// A member of an object, or std::invalid_argument naming it.
const json& member(const json& j, const char* key) {
    if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(std::string("no \"") + key + "\"");
    return j.at(key);
}

// XGBoost writes numbers inside model parameters as strings ("5E-1").
double number_of(const json& j) {
    if (j.is_number()) return j.get<double>();
    if (j.is_string()) return std::stod(j.get<std::string>());
    throw std::invalid_argument("a parameter is neither a number nor a string");
}

}  // namespace

std::vector<std::string> band_role_names(const kernels::FeatureSpec& spec) {
    std::vector<std::string> roles;
    if (spec.blue) roles.push_back("blue");
    roles.push_back("green");
    roles.push_back("red");
    if (spec.nir) roles.push_back("nir");
    return roles;
}

kernels::FeatureSpec feature_spec_for(const BandRoles& roles, int stride) {
    kernels::FeatureSpec spec;
    spec.blue = roles.blue > 0;
    spec.nir = roles.nir > 0;
    spec.stride = stride;
    return spec;
}

kernels::TreeEnsemble ensemble_from_xgboost(const json& xgboost, int feature_count) {
    kernels::TreeEnsemble ensemble;
    ensemble.feature_count = feature_count;
    try {
        const json& learner = member(xgboost, "learner");
        const json& param = member(learner, "learner_model_param");
        const double base_score = number_of(member(param, "base_score"));
        if (!(base_score > 0 && base_score < 1)) throw std::invalid_argument("base_score is not a probability in (0, 1)");
        ensemble.base_margin = static_cast<float>(std::log(base_score / (1 - base_score)));
        const int num_feature = static_cast<int>(number_of(member(param, "num_feature")));
        if (num_feature > feature_count)
            throw std::invalid_argument("the trees use " + std::to_string(num_feature) + " features, the model names " +
                                        std::to_string(feature_count));
        const json& objective = member(learner, "objective");
        if (member(objective, "name").get<std::string>() != "binary:logistic")
            throw std::invalid_argument("the objective is not binary:logistic");
        const json& trees = member(member(member(learner, "gradient_booster"), "model"), "trees");
        if (!trees.is_array() || trees.empty()) throw std::invalid_argument("no trees");
        for (const json& tree : trees) {
            const auto left = member(tree, "left_children").get<std::vector<std::int64_t>>();
            const auto right = member(tree, "right_children").get<std::vector<std::int64_t>>();
            const auto index = member(tree, "split_indices").get<std::vector<std::int64_t>>();
            const auto condition = member(tree, "split_conditions").get<std::vector<double>>();
            const std::size_t n = left.size();
            if (n == 0 || right.size() != n || index.size() != n || condition.size() != n)
                throw std::invalid_argument("a tree's node arrays differ in length");
            if (tree.contains("split_type"))
                for (const auto t : tree.at("split_type").get<std::vector<int>>())
                    if (t != 0) throw std::invalid_argument("a tree has categorical splits");
            const auto offset = static_cast<std::int64_t>(ensemble.nodes.size());
            ensemble.roots.push_back(static_cast<std::int32_t>(offset));
            for (std::size_t i = 0; i < n; ++i) {
                kernels::TreeNode node;
                if (left[i] == -1) {
                    if (right[i] != -1) throw std::invalid_argument("a leaf has one child");
                    node.leaf = static_cast<float>(condition[i]);
                } else {
                    if (left[i] < 0 || right[i] < 0 || left[i] >= static_cast<std::int64_t>(n) ||
                        right[i] >= static_cast<std::int64_t>(n))
                        throw std::invalid_argument("a child index is outside its tree");
                    node.feature = static_cast<std::int32_t>(index[i]);
                    node.split = static_cast<float>(condition[i]);
                    node.left = static_cast<std::int32_t>(offset + left[i]);
                    node.right = static_cast<std::int32_t>(offset + right[i]);
                }
                ensemble.nodes.push_back(node);
            }
        }
    } catch (const json::exception& e) {
        throw std::invalid_argument(std::string("unexpected JSON: ") + e.what());
    } catch (const std::out_of_range&) {
        throw std::invalid_argument("a number is out of range");
    }
    kernels::validate_ensemble(ensemble);
    return ensemble;
}

std::string model_json_text(const LearnedModel& model) {
    json j = json::object();
    j["format"] = kModelFormat;
    j["feature_set"] = model.feature_set;
    j["weipian"] = model.weipian_version;
    j["bands"] = band_role_names(model.spec);
    j["stride"] = model.spec.stride;
    j["pixel_size_m"] = model.pixel_size_m;
    j["threshold"] = model.threshold;
    j["smooth_radius"] = model.smooth_radius;
    j["gate"] = {{"feature", model.gate_feature}, {"minimum", model.gate.minimum}};
    j["feature_names"] = model.feature_names;
    json stats = json::array();
    for (const auto& s : model.feature_stats) stats.push_back({{"mean", s.mean}, {"sd", s.sd}, {"p01", s.p01}, {"p99", s.p99}});
    j["feature_stats"] = stats;
    j["training"] = model.training;
    j["cv"] = model.cv;
    j["xgboost"] = model.xgboost;
    return j.dump(1) + "\n";
}

LearnedModel parse_model(const std::string& text, const fs::path& path) {
    const std::string name = "model: '" + path.string() + "'";
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw InputError(name + " is not JSON (byte " + std::to_string(e.byte) +
                         "); give a model file written by `weipian train`");
    }
    if (!j.is_object() || j.value("format", std::string()) != kModelFormat)
        throw InputError(name + " is not a weipian learned model (no \"format\": \"" + kModelFormat +
                         "\"); give a model file written by `weipian train`");
    LearnedModel model;
    try {
        model.feature_set = j.at("feature_set").get<int>();
        if (model.feature_set != kernels::kFeatureSetVersion)
            throw InputError(name + " was trained on feature set " + std::to_string(model.feature_set) +
                             " but this weipian computes feature set " + std::to_string(kernels::kFeatureSetVersion) +
                             "; train it again with `weipian train`");
        model.weipian_version = j.value("weipian", std::string());
        const auto bands = j.at("bands").get<std::vector<std::string>>();
        model.spec.blue = false;
        model.spec.nir = false;
        for (const auto& b : bands) {
            if (b == "blue") model.spec.blue = true;
            else if (b == "nir") model.spec.nir = true;
            else if (b != "green" && b != "red") throw std::invalid_argument("unknown band role '" + b + "'");
        }
        model.spec.stride = j.at("stride").get<int>();
        if (model.spec.stride < 1 || model.spec.stride > 8) throw std::invalid_argument("stride outside 1..8");
        model.pixel_size_m = j.at("pixel_size_m").get<double>();
        if (!(model.pixel_size_m > 0) || !std::isfinite(model.pixel_size_m))
            throw std::invalid_argument("pixel_size_m is not a positive number");
        model.threshold = j.at("threshold").get<double>();
        if (!(model.threshold > 0 && model.threshold < 1)) throw std::invalid_argument("threshold outside (0, 1)");
        model.smooth_radius = j.at("smooth_radius").get<int>();
        if (model.smooth_radius < 0 || model.smooth_radius > 64) throw std::invalid_argument("smooth_radius outside 0..64");
        model.feature_names = j.at("feature_names").get<std::vector<std::string>>();
        if (model.feature_names != kernels::feature_names(model.spec))
            throw std::invalid_argument("feature_names are not those of feature set " + std::to_string(model.feature_set) +
                                        " for bands " + join(bands));
        const json& gate = j.at("gate");
        model.gate_feature = gate.at("feature").get<std::string>();
        model.gate.minimum = gate.at("minimum").get<float>();
        model.gate.feature = -1;
        for (std::size_t i = 0; i < model.feature_names.size(); ++i)
            if (model.feature_names[i] == model.gate_feature) model.gate.feature = static_cast<int>(i);
        if (!model.gate_feature.empty() && model.gate.feature < 0)
            throw std::invalid_argument("the gate feature '" + model.gate_feature + "' is not a feature");
        for (const json& s : j.at("feature_stats"))
            model.feature_stats.push_back({s.at("mean").get<double>(), s.at("sd").get<double>(), s.at("p01").get<double>(),
                                           s.at("p99").get<double>()});
        if (!model.feature_stats.empty() && model.feature_stats.size() != model.feature_names.size())
            throw std::invalid_argument("feature_stats and feature_names differ in length");
        model.training = j.value("training", json());
        model.cv = j.value("cv", json());
        model.xgboost = j.at("xgboost");
        model.ensemble = ensemble_from_xgboost(model.xgboost, static_cast<int>(model.feature_names.size()));
    } catch (const InputError&) {
        throw;
    } catch (const json::exception& e) {
        throw InputError(name + " is corrupt (" + std::string(e.what()) + "); train it again with `weipian train`");
    } catch (const std::exception& e) {
        throw InputError(name + " is corrupt (" + std::string(e.what()) + "); train it again with `weipian train`");
    }
    return model;
}

LearnedModel load_model(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        throw InputError("model: cannot read '" + path.string() + "' (no such file); check the path of the model file");
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof())
        throw InputError("model: cannot read '" + path.string() + "'; check the path of the model file");
    return parse_model(text.str(), path);
}

void save_model(const fs::path& path, const LearnedModel& model) {
    write_file_atomically(path, model_json_text(model), "train");
}

void check_model_fits(const LearnedModel& model, const BandRoles& roles, double pixel_size_m, const std::string& where) {
    const kernels::FeatureSpec imagery = feature_spec_for(roles, model.spec.stride);
    if (imagery.blue != model.spec.blue || imagery.nir != model.spec.nir)
        throw ConfigError(where + " was trained on bands " + join(band_role_names(model.spec)) + " but the imagery has " +
                          join(band_role_names(imagery)) + " (config key bands); use a model trained on these bands");
    const double ratio = pixel_size_m > model.pixel_size_m ? pixel_size_m / model.pixel_size_m : model.pixel_size_m / pixel_size_m;
    if (!(ratio <= 1.5))
        throw ConfigError(where + " was trained on " + number_text(model.pixel_size_m) + " m pixels but the imagery's are " +
                          number_text(pixel_size_m) +
                          " m (more than 1.5 times off); use a model trained at this pixel size or set grid.pixel_size");
}

}  // namespace weipian
