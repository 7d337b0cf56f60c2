// The learned detector streamed strip by strip (pipeline/scheduler.cpp) gives the whole scene's
// probability (pipeline/learned.hpp) and mask whatever the strip height, refuses models that do
// not fit the imagery, warns when the imagery falls outside the model's training data, and
// records which model ran.
#include "pipeline/scheduler.hpp"

#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "kernels/features.hpp"
#include "kernels/forest.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/detect.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/learned.hpp"
#include "pipeline/main_job.hpp"
#include "pipeline/model.hpp"
#include "pipeline/train.hpp"
#include "tests/support/learned_scenes.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr double kX0 = 497000, kY0 = 3941000;  // Jishan, EPSG:4546

// Writes a 4-band uint16 GeoTIFF (B, G, R, NIR) of width × height pixels of `pixel` m.
void write_bands(const fs::path& path, int width, int height, double pixel,
                 const std::function<unsigned short(int band, int y, int x)>& value) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), width, height, 4,
                                                                                     GDT_UInt16, nullptr));
    double gt[6] = {kX0, pixel, 0, kY0, 0, -pixel};
    ds->SetGeoTransform(gt);
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    ds->SetSpatialRef(&srs);
    std::vector<unsigned short> buffer(static_cast<std::size_t>(width) * height);
    for (int b = 0; b < 4; ++b) {
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x) buffer[static_cast<std::size_t>(y) * width + x] = value(b, y, x);
        ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, width, height, buffer.data(), width, height, GDT_UInt16, 0, 0);
    }
}

// A 0.5 m scene of noisy vegetation and soil in which `roofs` (1 = new roof) appear in the after
// epoch; odd sizes, so the feature grid of stride 2 leaves a row and a column uncovered.
struct Scene {
    int width = 301, height = 203;
    cv::Mat roofs;
};

Scene write_scene_pair(const fs::path& dir, int width = 301, int height = 203, double pixel = 0.5) {
    Scene scene{width, height, cv::Mat(height, width, CV_8UC1, cv::Scalar(0))};
    cv::RNG rng(8);
    for (int i = 0; i < 14; ++i) {
        const int w = rng.uniform(12, 40), h = rng.uniform(12, 40);
        cv::rectangle(scene.roofs, cv::Rect(rng.uniform(0, width - 10), rng.uniform(0, height - 10), w, h), cv::Scalar(1),
                      cv::FILLED);
    }
    cv::Mat noise_before(height, width, CV_16SC1), noise_after(height, width, CV_16SC1);
    rng.fill(noise_before, cv::RNG::UNIFORM, -60, 60);
    rng.fill(noise_after, cv::RNG::UNIFORM, -60, 60);
    const unsigned short vegetation[4] = {300, 600, 400, 3500}, soil[4] = {900, 1100, 1300, 1700},
                         roof[4] = {1800, 1900, 2000, 2200};
    auto ground = [&](int b, int y, int x) { return ((x / 50 + y / 40) % 3 == 0 ? soil : vegetation)[b]; };
    write_bands(dir / "before.tif", width, height, pixel, [&](int b, int y, int x) {
        return static_cast<unsigned short>(ground(b, y, x) + noise_before.at<short>(y, x));
    });
    write_bands(dir / "after.tif", width, height, pixel, [&](int b, int y, int x) {
        const int base = scene.roofs.at<std::uint8_t>(y, x) ? roof[b] + 3 * ((x + y) % 7) * 10 : ground(b, y, x);
        return static_cast<unsigned short>(base + noise_after.at<short>(y, x));
    });
    return scene;
}

int feature(const kernels::FeatureSpec& spec, const std::string& name) {
    const auto names = kernels::feature_names(spec);
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) throw std::logic_error("no feature " + name);
    return static_cast<int>(it - names.begin());
}

// A hand-made model for 4-band imagery at 0.5 m, stride 2: three trees on the construction
// score, the after state's texture and the brightening, gated on the change-vector magnitude.
LearnedModel hand_model() {
    LearnedModel m;
    m.spec = {true, true, 2};
    m.pixel_size_m = 0.5;
    m.threshold = 0.5;
    m.smooth_radius = 2;
    m.gate_feature = "cv5";
    m.gate = {feature(m.spec, "cv5"), 150.0f};
    m.feature_names = kernels::feature_names(m.spec);
    auto& e = m.ensemble;
    e.feature_count = kernels::feature_count(m.spec);
    e.base_margin = -0.5f;
    auto split = [&](const std::string& f, float at, int left, int right) {
        kernels::TreeNode n;
        n.feature = feature(m.spec, f);
        n.split = at;
        n.left = left;
        n.right = right;
        e.nodes.push_back(n);
    };
    auto leaf = [&](float value) {
        kernels::TreeNode n;
        n.leaf = value;
        e.nodes.push_back(n);
    };
    e.roots.push_back(0);  // tree 0: nodes 0..4
    split("construction", 0.1f, 1, 2);
    leaf(-2.0f);
    split("after.std3", 40.0f, 3, 4);
    leaf(1.5f);
    leaf(0.6f);
    e.roots.push_back(5);  // tree 1: nodes 5..7
    split("diff.brightness", 300.0f, 6, 7);
    leaf(-1.0f);
    leaf(1.2f);
    e.roots.push_back(8);  // tree 2: nodes 8..10
    split("diff.vi", -0.2f, 9, 10);
    leaf(0.8f);
    leaf(-0.7f);
    kernels::validate_ensemble(e);
    m.feature_stats.assign(static_cast<std::size_t>(e.feature_count), FeatureStat{0, 1, -1e9, 1e9});
    return m;
}

Config learned_config(const fs::path& dir, int block_size) {
    Config c;
    c.before.tiles = {(dir / "before.tif").string()};
    c.after.tiles = {(dir / "after.tif").string()};
    c.detect.method = "learned";
    c.processing.block_size = block_size;
    c.clean.open_radius_m = 0;  // no morphology: the streamed mask is the raw thresholded one
    c.clean.close_radius_m = 0;
    c.clean.min_area_m2 = 0;
    return c;
}

// The streamed strips gathered into whole-scene planes.
struct Streamed {
    cv::Mat mask, score, valid;
    int strips = 0, strip_rows = 0;
    float threshold = 0;
    std::vector<double> means;
};

Streamed stream_scene(const AlignedEpochs& epochs, const Config& config, const std::shared_ptr<const LearnedModel>& model,
                      int tile_columns = 0) {
    Streamed out;
    out.mask = cv::Mat(epochs.height(), epochs.width(), CV_8UC1, cv::Scalar(7));
    out.score = cv::Mat(epochs.height(), epochs.width(), CV_32FC1, cv::Scalar(-1));
    out.valid = cv::Mat(epochs.height(), epochs.width(), CV_8UC1, cv::Scalar(7));
    SceneStream stream(epochs, config, model);
    if (tile_columns > 0) stream.set_learned_tile_columns(tile_columns);
    StreamStats stats;
    out.threshold = stream.threshold(stats);
    out.strip_rows = stream.strip_rows();
    stream.run(out.threshold, std::numeric_limits<std::int64_t>::max(),
               [&](const Strip& s) {
                   ++out.strips;
                   s.own(s.mask).copyTo(out.mask.rowRange(s.row0, s.row0 + s.rows));
                   s.own(s.valid).copyTo(out.valid.rowRange(s.row0, s.row0 + s.rows));
                   s.score.copyTo(out.score.rowRange(s.row0, s.row0 + s.rows));
               },
               stats);
    out.means = stream.feature_means();
    return out;
}

TEST(LearnedStream, StripsGiveTheWholeSceneProbabilityAndMaskWhateverTheStripHeight) {
    TempDir dir;
    const Scene scene = write_scene_pair(dir.path());
    const auto model = std::make_shared<const LearnedModel>(hand_model());
    const AlignedEpochs epochs = ingest_epochs(learned_config(dir.path(), 256));
    const cv::Mat whole = learned_probability(*model, epochs);
    cv::Mat whole_valid;
    {
        kernels::EpochBlock before, after;
        epochs.read_block(false, 0, epochs.height(), before);
        epochs.read_block(true, 0, epochs.height(), after);
        cv::bitwise_and(before.valid != 0, after.valid != 0, whole_valid);
    }
    cv::Mat expected = (whole >= 0.5f) & whole_valid;
    // The scene has change to find and background to leave: the facts the comparison rests on.
    const int flagged = cv::countNonZero(expected);
    EXPECT_GT(flagged, 2000);
    EXPECT_LT(flagged, cv::countNonZero(scene.roofs) * 2);
    // The row and column beyond the stride-2 grid (301 × 203) get probability 0.
    EXPECT_EQ(cv::countNonZero(whole.row(202)), 0);
    EXPECT_EQ(cv::countNonZero(whole.col(300)), 0);

    // Strip heights, and column tiles of 40 and 7 feature-grid columns (150 wide: 4 and 22 tiles,
    // the last ones narrower than the halo).
    for (const auto& [block, tile] : {std::pair{16, 0}, std::pair{34, 0}, std::pair{256, 0}, std::pair{34, 40}, std::pair{16, 7}}) {
        const Streamed s = stream_scene(epochs, learned_config(dir.path(), block), model, tile);
        SCOPED_TRACE("processing.block_size " + std::to_string(block) + ", tile " + std::to_string(tile) + ": " +
                     std::to_string(s.strips) + " strips of " + std::to_string(s.strip_rows) + " rows");
        EXPECT_EQ(s.strip_rows % 2, 0);
        if (block == 16) EXPECT_EQ(s.strips, 13);  // 203 rows in strips of 16
        if (block == 34) EXPECT_EQ(s.strips, 6);   // strips of 34
        if (block == 256) EXPECT_EQ(s.strips, 1);
        EXPECT_FLOAT_EQ(s.threshold, 0.5f);  // the model's: detect.threshold not given
        EXPECT_EQ(cv::countNonZero((s.valid != 0) != (whole_valid != 0)), 0);
        cv::Mat diff;
        cv::absdiff(s.score, whole, diff);
        double worst = 0;
        cv::minMaxLoc(diff, nullptr, &worst, nullptr, nullptr, whole_valid);
        EXPECT_LE(worst, 1e-5);
        EXPECT_EQ(cv::countNonZero((s.mask != 0) != (expected != 0)), 0);
        EXPECT_EQ(cv::countNonZero(s.mask), flagged);
        ASSERT_EQ(s.means.size(), 64u);
    }
    // The scene's feature means do not depend on the strips either.
    const auto one = stream_scene(epochs, learned_config(dir.path(), 256), model).means;
    const auto many = stream_scene(epochs, learned_config(dir.path(), 16), model).means;
    const auto tiled = stream_scene(epochs, learned_config(dir.path(), 16), model, 7).means;
    for (std::size_t f = 0; f < one.size(); ++f) {
        EXPECT_NEAR(one[f], many[f], 1e-6 * (1 + std::abs(one[f]))) << f;
        EXPECT_NEAR(one[f], tiled[f], 1e-6 * (1 + std::abs(one[f]))) << f;
    }
}

TEST(LearnedStream, ConfiguredThresholdReplacesTheModels) {
    TempDir dir;
    write_scene_pair(dir.path());
    const auto model = std::make_shared<const LearnedModel>(hand_model());
    Config config = learned_config(dir.path(), 256);
    config.detect.threshold = 0.8;
    config.detect.threshold_given = true;
    const AlignedEpochs epochs = ingest_epochs(config);
    const Streamed high = stream_scene(epochs, config, model);
    EXPECT_FLOAT_EQ(high.threshold, 0.8f);
    const Streamed standard = stream_scene(epochs, learned_config(dir.path(), 256), model);
    EXPECT_LT(cv::countNonZero(high.mask), cv::countNonZero(standard.mask));
    EXPECT_EQ(cv::countNonZero(high.mask & (high.score < 0.8f)), 0);
}

TEST(LearnedStream, OutOfDistributionCountsFeaturesWhoseSceneMeanLeavesTheTrainingRange) {
    LearnedModel model = hand_model();
    model.feature_stats.assign(64, FeatureStat{0.5, 0.2, 0.0, 1.0});
    std::vector<double> means(64, 0.5);
    EXPECT_EQ(out_of_distribution(model, means), "");
    for (int i = 0; i < 6; ++i) means[static_cast<std::size_t>(i)] = 2.0;  // 6 of 64: under 10 %
    EXPECT_EQ(out_of_distribution(model, means), "");
    means[63] = -1.0;  // 7 of 64
    EXPECT_EQ(out_of_distribution(model, means),
              "detect: this imagery falls outside the model's training data: the scene mean of 7 of 64 features lies "
              "outside the training p01–p99 range (before.blue, before.green, before.red, before.nir, before.brightness, "
              "…); models do not travel between sensors and regions: check the parcels on site before trusting them, or "
              "train a model on labelled pairs or ledger verdicts of this imagery (weipian train)");
    EXPECT_THROW(out_of_distribution(model, std::vector<double>(3, 0.0)), InternalError);
}

TEST(LearnedStream, ImageryOutsideTheTrainingDataIsReportedAsAWarning) {
    TempDir dir;
    write_scene_pair(dir.path());
    LearnedModel far = hand_model();
    for (auto& f : far.feature_stats) f = {1e6, 1, 1e6, 2e6};  // no scene mean can be in range
    const Config config = learned_config(dir.path(), 64);
    const AlignedEpochs epochs = ingest_epochs(config);
    {
        test::LogCapture log;
        stream_scene(epochs, config, std::make_shared<const LearnedModel>(far));
        EXPECT_CONTAINS(log.text(), "warning: detect: this imagery falls outside the model's training data: the scene mean "
                                    "of 64 of 64 features lies outside the training p01–p99 range (before.blue");
    }
    {
        test::LogCapture log;  // the hand model's ranges hold everything
        stream_scene(epochs, config, std::make_shared<const LearnedModel>(hand_model()));
        EXPECT_EQ(log.text().find("outside the model's training data"), std::string::npos) << log.text();
    }
}

TEST(LearnedStream, AModelForAnotherPixelSizeOrOtherBandsIsRefused) {
    TempDir dir;
    write_scene_pair(dir.path(), 64, 64, 2.0);
    Config config = learned_config(dir.path(), 256);
    config.detect.model = "/models/levir.json";
    const AlignedEpochs epochs = ingest_epochs(config);
    const auto model = std::make_shared<const LearnedModel>(hand_model());  // 0.5 m
    const std::string m = test::message_of<ConfigError>([&] { SceneStream(epochs, config, model); });
    EXPECT_CONTAINS(m, "detect.model '/models/levir.json' was trained on 0.5 m pixels but the imagery's are 2 m");
    config.bands.nir = 0;
    const AlignedEpochs no_nir = ingest_epochs(config);
    LearnedModel two_metre = hand_model();
    two_metre.pixel_size_m = 2.0;
    const std::string bands = test::message_of<ConfigError>(
        [&] { SceneStream(no_nir, config, std::make_shared<const LearnedModel>(two_metre)); });
    EXPECT_CONTAINS(bands, "detect.model '/models/levir.json' was trained on bands");
}

TEST(LearnedStream, ASceneSmallerThanOneFeatureCellIsRefused) {
    TempDir dir;
    write_scene_pair(dir.path(), 40, 1);
    const Config config = learned_config(dir.path(), 256);
    const AlignedEpochs epochs = ingest_epochs(config);
    const std::string m = test::message_of<InputError>(
        [&] { SceneStream(epochs, config, std::make_shared<const LearnedModel>(hand_model())); });
    EXPECT_EQ(m, "detect: the scene is 40 × 1 px, smaller than one feature-grid cell of the model (stride 2 px); use a larger "
                 "scene");
}

TEST(LearnedStream, DetectStageRefusesLearnedWithoutAModelOrWithAThresholdOutsideZeroOne) {
    Config config;
    config.detect.method = "learned";
    EXPECT_EQ(test::message_of<ConfigError>([&] { DetectStage(config).validate(); }),
              "config: key 'detect.model' is required with detect.method: learned; give the model file `weipian train` wrote");
    config.detect.model = "/nowhere/model.json";
    config.detect.threshold = 1.5;
    config.detect.threshold_given = true;
    EXPECT_EQ(test::message_of<ConfigError>([&] { DetectStage(config).validate(); }),
              "config: key 'detect.threshold' must be a probability in (0, 1) with detect.method: learned");
    config.detect.threshold_given = false;
    const std::string missing = test::message_of<InputError>([&] { DetectStage(config).validate(); });
    EXPECT_CONTAINS(missing, "/nowhere/model.json");
}

TEST(LearnedStream, RunRecordsTheMethodTheModelsDigestAndTheThreshold) {
    TempDir dir;
    write_scene_pair(dir.path());
    const LearnedModel model = hand_model();
    // The file as `weipian train` writes it needs XGBoost's JSON; a hand model is recorded from
    // memory here, and describe_detector digests the file it names.
    test::write_text(dir / "model.bytes", "the model file's bytes\n");
    Config config = learned_config(dir.path(), 256);
    config.detect.model = (dir / "model.bytes").string();
    const nlohmann::json from_model = describe_detector(config, &model, 0.5f);
    EXPECT_EQ(from_model["method"], "learned");
    EXPECT_FLOAT_EQ(from_model["threshold"].get<float>(), 0.5f);
    EXPECT_EQ(from_model["threshold_source"], "model");
    // sha256sum of "the model file's bytes\n"
    EXPECT_EQ(from_model["model"]["sha256"], "e736df146e4841bcbe0d8517ca957ed0e0c6362e56bb95f5259ec05e478eb12b");
    EXPECT_EQ(test::message_of<InputError>([&] { file_sha256(dir / "gone.json"); }),
              "detect: cannot read '" + (dir / "gone.json").string() + "' for its digest; check that it exists and is readable");
    EXPECT_EQ(from_model["model"]["stride"], 2);
    config.detect.threshold = 0.3;
    config.detect.threshold_given = true;
    EXPECT_EQ(describe_detector(config, &model, 0.3f)["threshold_source"], "config");
    Config index;
    EXPECT_EQ(describe_detector(index, nullptr, 0.15f).dump(), R"({"method":"construction","threshold":0.15000000596046448})");
}

// A model trained on one labelled pair (pipeline/train.hpp) and written as `weipian train` writes
// it, next to a YAML config that names it relative to the config's folder.
struct TrainedRun {
    fs::path config, model;
    LearnedModel trained;
};

TrainedRun write_trained_run(const fs::path& dir, const std::string& detect_extra = "") {
    const auto a = test::write_labelled_pair(dir, "a", 96, {{20, 30, 24}, {60, 60, 20}}, 1);
    const auto b = test::write_labelled_pair(dir, "b", 96, {{50, 10, 22}, {8, 64, 18}}, 2);
    LabelledScene scene;
    scene.name = "a";
    scene.config.before.tiles = {a.before.string()};
    scene.config.after.tiles = {a.after.string()};
    scene.label_path = a.label;
    TrainOptions o;
    o.trees = 15;
    o.depth = 3;
    o.samples = 600;
    o.seed = 5;
    TrainedRun run;
    run.trained = train_model({scene}, Config{}, o).model;
    fs::create_directories(dir / "models");
    run.model = dir / "models" / "scrub.json";
    save_model(run.model, run.trained);
    run.config = dir / "run.yaml";
    test::write_text(run.config, "epochs:\n  before: {tiles: [" + b.before.string() + "]}\n  after: {tiles: [" + b.after.string() +
                                     "]}\ndetect: {method: learned, model: models/scrub.json" + detect_extra +
                                     "}\nclean: {min_area_m2: 20}\noutput: {dir: out}\n");
    return run;
}

TEST(LearnedRun, RunJsonRecordsTheMethodTheModelFilesDigestAndTheModelsThreshold) {
    TempDir dir;
    const TrainedRun run = write_trained_run(dir.path());
    const Config config = Config::load(run.config);
    EXPECT_EQ(config.detect.model, run.model.lexically_normal().string());
    const RunSummary summary = run_main_job(config, RunOptions{});
    const nlohmann::json& d = (*summary.report)["detector"];
    EXPECT_EQ(d["method"], "learned");
    EXPECT_EQ(d["threshold_source"], "model");
    EXPECT_FLOAT_EQ(d["threshold"].get<float>(), static_cast<float>(run.trained.threshold));
    EXPECT_EQ(d["model"]["sha256"], file_sha256(run.model));
    EXPECT_EQ(d["model"]["training_digest"], run.trained.training.value("digest", ""));
    EXPECT_GT(d["evaluated_pixels"].get<std::int64_t>(), 0);
    // Both new roofs of scene b (22² and 18² px at 0.5 m, above the 20 m² unit) are found.
    EXPECT_EQ(summary.parcels, 2);
    const nlohmann::json written = nlohmann::json::parse(test::read_text(dir / "out" / "run.json"));
    EXPECT_EQ(written["detector"], d);
    EXPECT_EQ(written["config"]["detect"]["model"], config.detect.model);
    for (const char* stage : {"read", "features", "predict", "upsample", "clean", "label", "polygonize"})
        EXPECT_TRUE(written["stage_thread_s"].contains(stage)) << stage;
}

TEST(LearnedRun, AConfiguredThresholdIsRecordedAsTheConfigs) {
    TempDir dir;
    const TrainedRun run = write_trained_run(dir.path(), ", threshold: 0.9");
    const RunSummary summary = run_main_job(Config::load(run.config), RunOptions{});
    EXPECT_EQ((*summary.report)["detector"]["threshold_source"], "config");
    EXPECT_FLOAT_EQ((*summary.report)["detector"]["threshold"].get<float>(), 0.9f);
}

TEST(LearnedRun, AMissingModelIsExit3AndNothingIsWritten) {
    TempDir dir;
    const TrainedRun run = write_trained_run(dir.path());
    fs::remove(run.model);
    const auto r = test::run_cli("-q run --config '" + run.config.string() + "'", dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, run.model.lexically_normal().string());
    EXPECT_FALSE(fs::exists(dir / "out"));
}

}  // namespace
}  // namespace weipian
