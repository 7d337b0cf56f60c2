// pipeline/train.cpp and pipeline/learned.cpp on small synthetic labelled pairs: seeded
// determinism, cross-validation figures, a held-out roof found, and every refusal.
#include <gtest/gtest.h>

#include <cmath>

#include "pipeline/core/errors.hpp"
#include "pipeline/evaluate.hpp"
#include "pipeline/learned.hpp"
#include "pipeline/train.hpp"
#include "tests/support/learned_scenes.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

Config small_config() {
    Config c;
    c.clean.open_radius_m = 0.5;
    c.clean.close_radius_m = 0.5;
    c.clean.min_area_m2 = 10;
    return c;
}

LabelledScene scene_of(const test::PairPaths& p, const std::string& name) {
    LabelledScene s;
    s.name = name;
    s.config = small_config();
    s.config.before.tiles = {p.before.string()};
    s.config.after.tiles = {p.after.string()};
    s.label_path = p.label;
    return s;
}

TrainOptions fast_options() {
    TrainOptions o;
    o.trees = 15;
    o.depth = 3;
    o.samples = 600;
    o.seed = 5;
    return o;
}

TEST(BestF1Threshold, PicksTheStepThatMaximisesF1) {
    std::vector<std::int64_t> changed(101, 0), unchanged(101, 0);
    changed[80] = 90;    // most changed pixels at 0.80
    changed[30] = 10;
    unchanged[10] = 1000;
    unchanged[40] = 30;  // a few unchanged at 0.40
    // t ≤ 0.30: tp 100, fp 30 (+1000 at ≤ 0.10); t in (0.40, 0.80]: tp 90, fp 0 → F1 0.947; t in (0.30, 0.40]: tp 90, fp 30.
    EXPECT_DOUBLE_EQ(best_f1_threshold(changed, unchanged), 0.80);
    unchanged[40] = 0;
    // Now t in (0.10, 0.30] catches all 100 with no false alarm: F1 1, the highest such step wins.
    EXPECT_DOUBLE_EQ(best_f1_threshold(changed, unchanged), 0.30);
}

TEST(Train, SameInputsAndSeedGiveTheSameModelFile) {
    test::TempDir dir;
    const auto a = test::write_labelled_pair(dir.path(), "a", 96, {{20, 30, 24}, {60, 60, 20}}, 1);
    const std::vector<LabelledScene> scenes = {scene_of(a, "a")};
    const TrainResult first = train_model(scenes, small_config(), fast_options());
    const TrainResult second = train_model(scenes, small_config(), fast_options());
    EXPECT_EQ(model_json_text(first.model), model_json_text(second.model));
    EXPECT_EQ(first.model.training["digest"].get<std::string>().size(), 64U);
    EXPECT_EQ(first.model.spec.stride, 2);  // 0.5 m pixels
    // 24² / 4 + 20² / 4 = 244 changed cells: all of them, and as many unchanged.
    EXPECT_EQ(first.samples, 488);
    EXPECT_EQ(first.model.training["changed_samples"], 244);
    TrainOptions ratio = fast_options();
    ratio.unchanged_ratio = 2;
    EXPECT_EQ(train_model(scenes, small_config(), ratio).samples, 244 + 488);
    TrainOptions other = fast_options();
    other.seed = 6;
    EXPECT_NE(model_json_text(train_model(scenes, small_config(), other).model), model_json_text(first.model));
}

TEST(Train, CrossValidationGivesFiniteFiguresAndAThresholdWithoutTheHeldOutPair) {
    test::TempDir dir;
    std::vector<LabelledScene> scenes;
    for (int i = 0; i < 3; ++i)
        scenes.push_back(scene_of(test::write_labelled_pair(dir.path(), "p" + std::to_string(i), 80,
                                                            {{10 + 10 * i, 12, 20}, {44, 40 + 5 * i, 16}}, 10U + i),
                                  "p" + std::to_string(i)));
    TrainOptions o = fast_options();
    o.folds = -1;
    std::vector<std::string> lines;
    o.report = [&](const std::string& line) { lines.push_back(line); };
    const TrainResult r = train_model(scenes, small_config(), o);
    ASSERT_EQ(lines.size(), 4U);
    EXPECT_EQ(lines[0].rfind("fold 1/3 (p0): threshold ", 0), 0U) << lines[0];
    EXPECT_EQ(lines[3].rfind("pooled over 3 folds: pixel P ", 0), 0U) << lines[3];
    const auto& cv = r.model.cv;
    EXPECT_EQ(cv["method"], "leave-one-out");
    ASSERT_EQ(cv["folds"].size(), 3U);
    for (const auto& fold : cv["folds"]) {
        const double t = fold["threshold"];
        EXPECT_GT(t, 0);
        EXPECT_LT(t, 1);
    }
    const auto& pooled = cv["pooled"];
    for (const char* key : {"precision", "recall", "f1", "object_recall", "object_precision"}) {
        const double v = pooled[key];
        EXPECT_TRUE(std::isfinite(v)) << key;
        EXPECT_GE(v, 0) << key;
        EXPECT_LE(v, 1) << key;
    }
    EXPECT_EQ(pooled["reference_objects"], 6);
    EXPECT_GT(r.model.threshold, 0);
    EXPECT_LT(r.model.threshold, 1);
    EXPECT_EQ(r.model.gate_feature, "cv5");
}

TEST(Train, OneSceneCrossValidatesOnBlocksOfColumnsWithSparseSamples) {
    test::TempDir dir;
    // Roofs in both halves of one 96-px scene; the label rewritten as samples: 1 on the roofs, 2 on
    // a band of rows 0..7 (unchanged), 0 elsewhere (unknown).
    const auto a = test::write_labelled_pair(dir.path(), "a", 96, {{8, 30, 24}, {60, 40, 24}}, 3);
    std::vector<std::vector<std::uint16_t>> sparse(1, std::vector<std::uint16_t>(96 * 96, 0));
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(a.label.c_str(), GDAL_OF_RASTER));
        ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, 96, 96, sparse[0].data(), 96, 96, GDT_UInt16, 0, 0), CE_None);
    }
    for (int i = 0; i < 96 * 96; ++i) sparse[0][static_cast<std::size_t>(i)] = sparse[0][static_cast<std::size_t>(i)] ? 1 : (i < 96 * 8 ? 2 : 0);
    const fs::path samples = dir.path() / "samples.tif";
    test::write_raster(samples, 96, 1, GDT_Byte, 0.5, sparse);
    LabelledScene scene = scene_of(a, "a");
    scene.label_path = samples;
    scene.label_kind = LabelKind::Automatic;
    TrainOptions o = fast_options();
    o.folds = 2;
    std::vector<std::string> lines;
    o.report = [&](const std::string& line) { lines.push_back(line); };
    const TrainResult r = train_model({scene}, small_config(), o);
    ASSERT_EQ(lines.size(), 3U);
    EXPECT_EQ(lines[0].rfind("fold 1/2 (a block 1/2): threshold ", 0), 0U) << lines[0];
    EXPECT_EQ(lines[1].rfind("fold 2/2 (a block 2/2): threshold ", 0), 0U) << lines[1];
    const auto& pooled = r.model.cv["pooled"];
    EXPECT_EQ(pooled["label_kind"], "sparse");
    // 2 roofs of 24² px are the changed samples, 8 rows of 96 px the unchanged ones.
    EXPECT_EQ(pooled["changed_samples"], 2 * 24 * 24);
    EXPECT_EQ(pooled["unchanged_samples"], 8 * 96);
    EXPECT_GT(pooled["sample_recall"].get<double>(), 0.5);
}

TEST(TrainMessages, ABlockWithoutChange) {
    test::TempDir dir;
    const auto a = test::write_labelled_pair(dir.path(), "a", 64, {{4, 20, 16}}, 1);
    TrainOptions o = fast_options();
    o.folds = 2;
    EXPECT_EQ(test::message_of<InputError>([&] { train_model({scene_of(a, "a")}, small_config(), o); }),
              "train: block 2/2 of 'a block 2/2' holds no changed pixel; use fewer --cv folds");
}

TEST(Train, LearnedProbabilityFindsTheRoofsOfAHeldOutPair) {
    test::TempDir dir;
    const auto a = test::write_labelled_pair(dir.path(), "a", 96, {{20, 30, 24}, {60, 60, 20}}, 1);
    const auto b = test::write_labelled_pair(dir.path(), "b", 96, {{50, 10, 22}, {8, 64, 18}, {70, 70, 14}}, 2);
    const TrainResult r = train_model({scene_of(a, "a")}, small_config(), fast_options());
    LearnedModel model = r.model;
    const AlignedEpochs epochs = ingest_epochs(scene_of(b, "b").config);
    const cv::Mat probability = learned_probability(model, epochs);
    ASSERT_EQ(probability.size(), cv::Size(96, 96));
    const cv::Mat valid(96, 96, CV_8UC1, cv::Scalar(1));
    const cv::Mat mask = clean_probability_mask(probability, model.threshold, valid, small_config(), 0.5, 0.5);
    const nlohmann::json e = evaluate_mask(mask, read_label_raster(b.label, epochs), LabelKind::Full, kernels::Connectivity::Four, valid);
    EXPECT_EQ(e["reference_objects"], 3);
    EXPECT_EQ(e["object_recall"], 1.0);
    EXPECT_EQ(e["object_precision"], 1.0);
    EXPECT_GT(e["f1"].get<double>(), 0.8);
}

TEST(Learned, FeatureStripsWithHalosEqualTheWholeScene) {
    test::TempDir dir;
    const auto a = test::write_labelled_pair(dir.path(), "a", 90, {{20, 30, 24}}, 4);
    const AlignedEpochs epochs = ingest_epochs(scene_of(a, "a").config);
    const FeatureScene scene = read_feature_scene(epochs, 2);
    EXPECT_EQ(scene.rows(), 45);
    EXPECT_EQ(scene.image_rows, 90);
    const kernels::FeatureSpec spec = feature_spec_for(BandRoles{}, 2);
    std::vector<cv::Mat> whole;
    for_each_feature_strip(scene, spec, 1000, [&](int top, int rows, const std::vector<cv::Mat>& planes) {
        EXPECT_EQ(top, 0);
        EXPECT_EQ(rows, 45);
        for (const auto& p : planes) whole.push_back(p.clone());
    });
    int strips = 0;
    for_each_feature_strip(scene, spec, 7, [&](int top, int rows, const std::vector<cv::Mat>& planes) {
        ++strips;
        ASSERT_EQ(planes.size(), whole.size());
        for (std::size_t k = 0; k < planes.size(); ++k)
            EXPECT_EQ(cv::norm(planes[k], whole[k].rowRange(top, top + rows), cv::NORM_INF), 0.0) << "plane " << k << " top " << top;
    });
    EXPECT_EQ(strips, 7);  // 45 rows in strips of 7
}

TEST(TrainMessages, LabelWithoutChange) {
    test::TempDir dir;
    const auto a = test::write_labelled_pair(dir.path(), "a", 64, {{20, 20, 16}}, 1, 0.5, false);
    EXPECT_EQ(test::message_of<InputError>([&] { train_model({scene_of(a, "a")}, small_config(), fast_options()); }),
              "train: the label '" + a.label.string() +
                  "' has no changed pixels where both images have data; every pair needs some change to learn from "
                  "(labels: nonzero = changed)");
}

TEST(TrainMessages, PairsOfDifferentPixelSizes) {
    test::TempDir dir;
    const auto a = test::write_labelled_pair(dir.path(), "a", 64, {{20, 20, 16}}, 1, 0.5);
    const auto b = test::write_labelled_pair(dir.path(), "b", 64, {{20, 20, 16}}, 1, 2.0);
    EXPECT_EQ(test::message_of<InputError>([&] { train_model({scene_of(a, "a"), scene_of(b, "b")}, small_config(), fast_options()); }),
              "train: 'b' has 2.00 m pixels but 'a' has 0.50 m (more than 1.5 times off); train one model per pixel size");
}

TEST(TrainMessages, MoreFoldsThanPairs) {
    test::TempDir dir;
    const auto a = test::write_labelled_pair(dir.path(), "a", 64, {{20, 20, 16}}, 1);
    TrainOptions o = fast_options();
    o.folds = 4;
    EXPECT_EQ(test::message_of<ConfigError>([&] { train_model({scene_of(a, "a"), scene_of(a, "b")}, small_config(), o); }),
              "train: --cv 4 needs at least 4 pairs to hold out, 2 given");
    o.folds = -1;
    EXPECT_EQ(test::message_of<ConfigError>([&] { train_model({scene_of(a, "a")}, small_config(), o); }),
              "train: --cv loo needs at least 2 pairs to hold out, 1 given");
}

TEST(PairList, RelativePathsAndRefusals) {
    test::TempDir dir;
    const fs::path list = dir / "pairs.yaml";
    test::write_text(list, "- {before: a/b.tif, after: /x/a.tif, label: l.tif}\n- before: b2.tif\n  after: a2.tif\n  label: l2.tif\n");
    const auto pairs = read_pair_list(list);
    ASSERT_EQ(pairs.size(), 2U);
    EXPECT_EQ(pairs[0].before, (dir / "a/b.tif").string());
    EXPECT_EQ(pairs[0].after, "/x/a.tif");
    EXPECT_EQ(pairs[1].label, (dir / "l2.tif").string());

    EXPECT_EQ(test::message_of<InputError>([&] { read_pair_list(dir / "none.yaml"); }),
              "train: cannot read the pair list '" + (dir / "none.yaml").string() + "'; check the path given to --pairs");
    test::write_text(list, "- {before: a.tif, after: [\n");
    EXPECT_CONTAINS(test::message_of<InputError>([&] { read_pair_list(list); }),
                    "train: the pair list '" + list.string() + "' is not YAML (line ");
    test::write_text(list, "before: a.tif\n");
    EXPECT_EQ(test::message_of<InputError>([&] { read_pair_list(list); }),
              "train: the pair list '" + list.string() +
                  "' is not a list of pairs; write one `- {before: A, after: B, label: L}` per line");
    test::write_text(list, "- {before: a.tif, after: b.tif, label: l.tif}\n- {before: a.tif, after: b.tif}\n");
    EXPECT_EQ(test::message_of<InputError>([&] { read_pair_list(list); }),
              "train: entry 2 of the pair list '" + list.string() + "' has no 'label' path; each entry needs before, after and label");
}

}  // namespace
}  // namespace weipian
