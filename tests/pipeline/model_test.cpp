// pipeline/model.cpp: the compact ensemble rebuilt from XGBoost's JSON predicts what XGBoost
// predicts; the file round-trips; every refusal of a model file, with its message.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <xgboost/c_api.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/model.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

kernels::FeatureSpec rgb_nir_spec() {
    kernels::FeatureSpec spec;
    spec.blue = true;
    spec.nir = true;
    spec.stride = 2;
    return spec;
}

// A small XGBoost model on random rows of `features` values (label: x0 + 2·x3 − x7 > 0.6 with
// 10 % of labels flipped), and the booster to compare with.
struct Trained {
    json model;
    BoosterHandle booster = nullptr;
    DMatrixHandle data = nullptr;
    ~Trained() {
        XGBoosterFree(booster);
        XGDMatrixFree(data);
    }
};

void train_small(Trained& t, int features, int rows, int trees) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1, 2);
    std::vector<float> x(static_cast<std::size_t>(rows) * features), y(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
        float* row = &x[static_cast<std::size_t>(r) * features];
        for (int f = 0; f < features; ++f) row[f] = u(rng);
        y[static_cast<std::size_t>(r)] = ((row[0] + 2 * row[3] - row[7] > 0.6F) != (u(rng) > 1.7F)) ? 1.0F : 0.0F;
    }
    ASSERT_EQ(XGDMatrixCreateFromMat(x.data(), rows, features, std::nanf(""), &t.data), 0);
    ASSERT_EQ(XGDMatrixSetFloatInfo(t.data, "label", y.data(), y.size()), 0);
    ASSERT_EQ(XGBoosterCreate(&t.data, 1, &t.booster), 0);
    for (const auto& [k, v] : {std::pair{"objective", "binary:logistic"}, {"tree_method", "hist"}, {"max_depth", "4"},
                               {"eta", "0.3"}, {"seed", "3"}, {"nthread", "1"}, {"verbosity", "0"}, {"base_score", "0.3"}})
        ASSERT_EQ(XGBoosterSetParam(t.booster, k, v), 0);
    for (int i = 0; i < trees; ++i) ASSERT_EQ(XGBoosterUpdateOneIter(t.booster, i, t.data), 0);
    bst_ulong length = 0;
    const char* buffer = nullptr;
    ASSERT_EQ(XGBoosterSaveModelToBuffer(t.booster, R"({"format": "json"})", &length, &buffer), 0);
    t.model = json::parse(std::string(buffer, length));
}

LearnedModel small_model(const json& xgb) {
    LearnedModel m;
    m.spec = rgb_nir_spec();
    m.pixel_size_m = 0.5;
    m.threshold = 0.42;
    m.smooth_radius = 2;
    m.feature_names = kernels::feature_names(m.spec);
    m.gate_feature = "cv5";
    m.gate.feature = static_cast<int>(std::find(m.feature_names.begin(), m.feature_names.end(), "cv5") - m.feature_names.begin());
    m.gate.minimum = 12.5F;
    for (std::size_t i = 0; i < m.feature_names.size(); ++i) m.feature_stats.push_back({1.0 * i, 2.0, -1.0, 5.0});
    m.xgboost = xgb;
    m.ensemble = ensemble_from_xgboost(xgb, static_cast<int>(m.feature_names.size()));
    m.training = {{"digest", "ab"}, {"seed", 1}};
    m.cv = {{"method", "leave-one-out"}};
    return m;
}

TEST(ModelFile, EnsembleRebuiltFromXGBoostJsonPredictsWhatXGBoostPredicts) {
    const int features = kernels::feature_count(rgb_nir_spec());
    Trained t;
    train_small(t, features, 3000, 25);
    const kernels::TreeEnsemble ensemble = ensemble_from_xgboost(t.model, features);
    EXPECT_EQ(ensemble.roots.size(), 25U);
    EXPECT_NEAR(ensemble.base_margin, std::log(0.3 / 0.7), 1e-6);

    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(-1.5F, 2.5F);
    const int rows = 1000;
    std::vector<float> x(static_cast<std::size_t>(rows) * features);
    for (auto& v : x) v = u(rng);
    DMatrixHandle test = nullptr;
    ASSERT_EQ(XGDMatrixCreateFromMat(x.data(), rows, features, std::nanf(""), &test), 0);
    bst_ulong n = 0;
    const float* predicted = nullptr;
    ASSERT_EQ(XGBoosterPredict(t.booster, test, 0, 0, 0, &n, &predicted), 0);
    ASSERT_EQ(n, static_cast<bst_ulong>(rows));
    int positive = 0;
    for (int r = 0; r < rows; ++r) {
        const float ours = kernels::ensemble_probability(ensemble, &x[static_cast<std::size_t>(r) * features]);
        EXPECT_NEAR(ours, predicted[r], 1e-5) << "row " << r;
        positive += predicted[r] > 0.5F;
    }
    EXPECT_GT(positive, 100);  // the model is not constant
    EXPECT_LT(positive, 900);
    XGDMatrixFree(test);
}

TEST(ModelFile, RoundTripKeepsEveryFieldAndTheBytes) {
    Trained t;
    train_small(t, kernels::feature_count(rgb_nir_spec()), 500, 5);
    const LearnedModel m = small_model(t.model);
    test::TempDir dir;
    save_model(dir / "m.json", m);
    const LearnedModel back = load_model(dir / "m.json");
    EXPECT_EQ(back.feature_set, kernels::kFeatureSetVersion);
    EXPECT_TRUE(back.spec.blue);
    EXPECT_TRUE(back.spec.nir);
    EXPECT_EQ(back.spec.stride, 2);
    EXPECT_EQ(back.pixel_size_m, 0.5);
    EXPECT_EQ(back.threshold, 0.42);
    EXPECT_EQ(back.smooth_radius, 2);
    EXPECT_EQ(back.gate_feature, "cv5");
    EXPECT_EQ(back.gate.feature, m.gate.feature);
    EXPECT_EQ(back.gate.minimum, 12.5F);
    EXPECT_EQ(back.feature_names, m.feature_names);
    ASSERT_EQ(back.feature_stats.size(), m.feature_stats.size());
    EXPECT_EQ(back.feature_stats[3].mean, 3.0);
    EXPECT_EQ(back.feature_stats[3].p99, 5.0);
    EXPECT_EQ(back.training["digest"], "ab");
    EXPECT_EQ(back.cv["method"], "leave-one-out");
    ASSERT_EQ(back.ensemble.nodes.size(), m.ensemble.nodes.size());
    for (std::size_t i = 0; i < m.ensemble.nodes.size(); ++i) {
        EXPECT_EQ(back.ensemble.nodes[i].feature, m.ensemble.nodes[i].feature);
        EXPECT_EQ(back.ensemble.nodes[i].split, m.ensemble.nodes[i].split);
        EXPECT_EQ(back.ensemble.nodes[i].leaf, m.ensemble.nodes[i].leaf);
    }
    EXPECT_EQ(model_json_text(back), test::read_text(dir / "m.json"));
    // XGBoost itself loads the "xgboost" member back.
    BoosterHandle b = nullptr;
    ASSERT_EQ(XGBoosterCreate(nullptr, 0, &b), 0);
    const std::string xgb = back.xgboost.dump();
    EXPECT_EQ(XGBoosterLoadModelFromBuffer(b, xgb.data(), xgb.size()), 0) << XGBGetLastError();
    XGBoosterFree(b);
}

class ModelMessages : public ::testing::Test {
protected:
    void SetUp() override {
        Trained t;
        train_small(t, kernels::feature_count(rgb_nir_spec()), 300, 2);
        model = small_model(t.model);
    }
    std::string refusal(const json& j) {
        test::write_text(dir / "m.json", j.dump());
        return test::message_of<InputError>([&] { load_model(dir / "m.json"); });
    }
    json as_json() const { return json::parse(model_json_text(model)); }
    test::TempDir dir;
    LearnedModel model;
};

TEST_F(ModelMessages, MissingFile) {
    EXPECT_EQ(test::message_of<InputError>([&] { load_model(dir / "none.json"); }),
              "model: cannot read '" + (dir / "none.json").string() + "' (no such file); check the path of the model file");
}

TEST_F(ModelMessages, NotJson) {
    test::write_text(dir / "m.json", "{\"format\": ");
    EXPECT_CONTAINS(test::message_of<InputError>([&] { load_model(dir / "m.json"); }),
                    "model: '" + (dir / "m.json").string() + "' is not JSON (byte 12); give a model file written by `weipian train`");
}

TEST_F(ModelMessages, JsonThatIsNotAWeipianModel) {
    EXPECT_EQ(refusal(model.xgboost), "model: '" + (dir / "m.json").string() +
                                          "' is not a weipian learned model (no \"format\": \"weipian-learned-model\"); give a "
                                          "model file written by `weipian train`");
}

TEST_F(ModelMessages, AnotherFeatureSet) {
    json j = as_json();
    j["feature_set"] = 2;
    EXPECT_EQ(refusal(j), "model: '" + (dir / "m.json").string() +
                              "' was trained on feature set 2 but this weipian computes feature set 1; train it again with "
                              "`weipian train`");
}

TEST_F(ModelMessages, CorruptTrees) {
    json j = as_json();
    j["xgboost"]["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"][0] = 100000;
    const std::string m = refusal(j);
    EXPECT_CONTAINS(m, "model: '" + (dir / "m.json").string() + "' is corrupt (");
    EXPECT_CONTAINS(m, "a child index is outside its tree); train it again with `weipian train`");
    j = as_json();
    j["xgboost"]["learner"].erase("gradient_booster");
    EXPECT_CONTAINS(refusal(j), "is corrupt (no \"gradient_booster\")");
    j = as_json();
    j["feature_names"][0] = "before.swir";
    EXPECT_CONTAINS(refusal(j), "is corrupt (feature_names are not those of feature set 1 for bands blue, green, red, nir)");
    j = as_json();
    j["gate"]["feature"] = "cv7";
    EXPECT_CONTAINS(refusal(j), "is corrupt (the gate feature 'cv7' is not a feature)");
    j = as_json();
    j["threshold"] = 1.5;
    EXPECT_CONTAINS(refusal(j), "is corrupt (threshold outside (0, 1))");
    j = as_json();
    j["bands"] = {"green", "red", "swir"};
    EXPECT_CONTAINS(refusal(j), "is corrupt (unknown band role 'swir')");
    j = as_json();
    j["stride"] = 9;
    EXPECT_CONTAINS(refusal(j), "is corrupt (stride outside 1..8)");
    j = as_json();
    j["pixel_size_m"] = -1;
    EXPECT_CONTAINS(refusal(j), "is corrupt (pixel_size_m is not a positive number)");
    j = as_json();
    j["smooth_radius"] = 100;
    EXPECT_CONTAINS(refusal(j), "is corrupt (smooth_radius outside 0..64)");
    j = as_json();
    j["feature_stats"].erase(0);
    EXPECT_CONTAINS(refusal(j), "is corrupt (feature_stats and feature_names differ in length)");
    j = as_json();
    j.erase("stride");
    EXPECT_CONTAINS(refusal(j), "is corrupt ([json.exception.out_of_range");
}

TEST(ModelTrees, InconsistentXGBoostJsonIsRefused) {
    Trained t;
    train_small(t, 10, 300, 2);
    const auto refused = [&](json j) { return test::message_of<std::invalid_argument>([&] { ensemble_from_xgboost(j, 10); }); };
    json j = t.model;
    j["learner"]["learner_model_param"]["base_score"] = "1";
    EXPECT_EQ(refused(j), "base_score is not a probability in (0, 1)");
    j = t.model;
    j["learner"]["objective"]["name"] = "reg:squarederror";
    EXPECT_EQ(refused(j), "the objective is not binary:logistic");
    j = t.model;
    j["learner"]["gradient_booster"]["model"]["trees"] = json::array();
    EXPECT_EQ(refused(j), "no trees");
    j = t.model;
    j["learner"]["gradient_booster"]["model"]["trees"][0]["split_indices"].erase(0);
    EXPECT_EQ(refused(j), "a tree's node arrays differ in length");
    j = t.model;
    j["learner"]["gradient_booster"]["model"]["trees"][0]["split_type"][0] = 1;
    EXPECT_EQ(refused(j), "a tree has categorical splits");
    j = t.model;
    auto& tree = j["learner"]["gradient_booster"]["model"]["trees"][0];
    const auto leaf = std::find(tree["left_children"].begin(), tree["left_children"].end(), -1) - tree["left_children"].begin();
    tree["right_children"][static_cast<std::size_t>(leaf)] = 0;
    EXPECT_EQ(refused(j), "a leaf has one child");
    EXPECT_EQ(test::message_of<std::invalid_argument>([&] { ensemble_from_xgboost(t.model, 5); }),
              "the trees use 10 features, the model names 5");
}

TEST_F(ModelMessages, ModelForOtherBands) {
    BandRoles rgb;
    rgb.blue = 3;
    rgb.green = 2;
    rgb.red = 1;
    rgb.nir = 0;
    EXPECT_EQ(test::message_of<ConfigError>([&] { check_model_fits(model, rgb, 0.5, "detect.model 'm.json'"); }),
              "detect.model 'm.json' was trained on bands blue, green, red, nir but the imagery has blue, green, red "
              "(config key bands); use a model trained on these bands");
}

TEST_F(ModelMessages, ModelForAnotherPixelSize) {
    EXPECT_EQ(test::message_of<ConfigError>([&] { check_model_fits(model, BandRoles{}, 10, "detect.model 'm.json'"); }),
              "detect.model 'm.json' was trained on 0.5 m pixels but the imagery's are 10 m (more than 1.5 times off); use a "
              "model trained at this pixel size or set grid.pixel_size");
    EXPECT_NO_THROW(check_model_fits(model, BandRoles{}, 0.7, "detect.model 'm.json'"));
    EXPECT_NO_THROW(check_model_fits(model, BandRoles{}, 0.34, "detect.model 'm.json'"));
    EXPECT_THROW(check_model_fits(model, BandRoles{}, 0.3, "detect.model 'm.json'"), ConfigError);
}

}  // namespace
}  // namespace weipian
