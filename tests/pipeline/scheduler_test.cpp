// The streaming schedule gives the whole-image result whatever the strip height and thread
// count: morphology across seams (halo rows), components merged across strips before the size
// decision, polygons equal to the whole-image polygonizer's.
#include "pipeline/scheduler.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <tbb/global_control.h>

#include "kernels/polygonize.hpp"
#include "pipeline/detect.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

// A 1 m scene of vegetation with ~200 roofs of 2–40 px sides and speckle noise, in EPSG:4546.
void write_random_scene(const fs::path& dir, int size) {
    test::write_scene(dir / "before.tif", 497000, 3941000, size, 4546);
    test::write_scene(dir / "after.tif", 497000, 3941000, size, 4546);
    GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "after.tif").c_str(), GDAL_OF_UPDATE));
    cv::RNG rng(42);
    cv::Mat roof(size, size, CV_8UC1, cv::Scalar(0));
    for (int i = 0; i < 200; ++i) {
        const int w = rng.uniform(2, 40), h = rng.uniform(2, 40);
        cv::rectangle(roof, cv::Rect(rng.uniform(0, size), rng.uniform(0, size), w, h) & cv::Rect(0, 0, size, size),
                      cv::Scalar(1), cv::FILLED);
    }
    for (int i = 0; i < size * size / 100; ++i) roof.at<std::uint8_t>(rng.uniform(0, size), rng.uniform(0, size)) ^= 1;
    const unsigned short vegetation[4] = {300, 600, 400, 3500}, concrete[4] = {1800, 1900, 2000, 2200};
    std::vector<unsigned short> band(static_cast<std::size_t>(size) * size);
    for (int b = 0; b < 4; ++b) {
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x)
                band[static_cast<std::size_t>(y) * size + x] = roof.at<std::uint8_t>(y, x) ? concrete[b] : vegetation[b];
        ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, size, size, band.data(), size, size, GDT_UInt16, 0, 0);
    }
}

Config scene_config(const fs::path& dir, int block_size, int threads, double close_radius_m = 2.0) {
    Config c;
    c.before.tiles = {(dir / "before.tif").string()};
    c.after.tiles = {(dir / "after.tif").string()};
    c.processing.block_size = block_size;
    c.processing.threads = threads;
    c.clean.open_radius_m = 1.0;
    c.clean.close_radius_m = close_radius_m;  // halo = 2·(1 + 2) = 6 rows
    c.clean.min_area_m2 = 30;
    return c;
}

// The whole-image reference, straight from the kernels.
cv::Mat reference_mask(const Config& config, const AlignedEpochs& epochs) {
    kernels::EpochBlock before, after;
    epochs.read_block(false, 0, epochs.height(), before);
    epochs.read_block(true, 0, epochs.height(), after);
    cv::Mat score, mask, valid;
    kernels::ConstructionParams params;
    params.threshold = static_cast<float>(*config.detect.threshold);
    kernels::detect_construction(before, after, params, score, mask);
    cv::bitwise_and(before.valid, after.valid, valid);
    kernels::open_close(mask, 1, 2, valid);
    kernels::remove_small_components(mask, 30, config.clean.connectivity);
    return mask;
}

class StreamTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(StreamTest, MaskAndPolygonsEqualTheWholeImageResult) {
    const auto [block_size, threads] = GetParam();
    test::TempDir dir;
    write_random_scene(dir.path(), 300);
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
    const Config config = scene_config(dir.path(), block_size, threads);
    const AlignedEpochs epochs = ingest_epochs(config);
    const cv::Mat expected = reference_mask(config, epochs);
    ASSERT_GT(cv::countNonZero(expected), 5000);

    const ChangeMask change = detect_change(epochs, config);
    EXPECT_EQ(cv::countNonZero(change.mask != expected), 0);

    SceneStream stream(epochs, config);
    EXPECT_EQ(stream.halo(), 6);
    StreamStats stats;
    const auto patches = stream.run(0.15f, 30, {}, stats);
    const auto whole = kernels::polygonize(expected, config.clean.connectivity, 1);
    ASSERT_EQ(patches.size(), whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
        EXPECT_TRUE(patches[i].polygon.parts == whole[i].parts) << i;
        EXPECT_EQ(patches[i].area, whole[i].pixel_count) << i;
    }
}

INSTANTIATE_TEST_SUITE_P(StripsAndThreads, StreamTest,
                         ::testing::Combine(::testing::Values(16, 37, 256, 1000), ::testing::Values(1, 2)));

// Scores of every pixel with data in both epochs, straight from the kernel on the whole scene.
std::vector<double> scene_scores(const Config& config, const AlignedEpochs& epochs) {
    kernels::EpochBlock before, after;
    epochs.read_block(false, 0, epochs.height(), before);
    epochs.read_block(true, 0, epochs.height(), after);
    cv::Mat score, mask, valid;
    kernels::ConstructionParams params;
    params.brightness_weight = static_cast<float>(config.detect.brightness_weight);
    params.after_vegetation_max = static_cast<float>(config.detect.after_vegetation_max);
    kernels::detect_construction(before, after, params, score, mask);
    cv::bitwise_and(before.valid, after.valid, valid);
    std::vector<double> out;
    for (int y = 0; y < score.rows; ++y)
        for (int x = 0; x < score.cols; ++x)
            if (valid.at<std::uint8_t>(y, x)) out.push_back(score.at<float>(y, x));
    return out;
}

// Otsu's criterion computed on the raw scores, independently of the kernel's histogram code:
// the cut among 0.001-wide bin edges over [-1, 2) that maximises w0·w1·(m0 − m1)², the class
// means taken from the score values themselves (first maximum on ties).
double otsu_on_values(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const double n = static_cast<double>(values.size());
    double total = 0;
    for (double v : values) total += v;
    double best = -1, best_cut = 0, sum0 = 0;
    std::size_t i = 0;
    for (int k = 1; k < 3000; ++k) {
        const double cut = -1.0 + 0.001 * k;
        while (i < values.size() && values[i] < cut) sum0 += values[i++];
        const double w0 = static_cast<double>(i), w1 = n - w0;
        if (w0 == 0 || w1 == 0) continue;
        const double m0 = sum0 / w0, m1 = (total - sum0) / w1;
        const double between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if (between > best * (1 + 1e-9)) best = between, best_cut = cut;
    }
    return best_cut;
}

// On the sample scene (sensor noise, calibration offset, 13 roofs): the streamed Otsu threshold
// equals Otsu's criterion evaluated on the scene's scores, to one bin (0.001).
TEST(StreamTest, AutomaticThresholdIsOtsusOnTheScene) {
    const fs::path source = WEIPIAN_SOURCE_DIR;
    Config config = Config::parse(test::read_text(source / "configs" / "sample.yaml"), source / "configs" / "sample.yaml");
    config.detect.threshold.reset();
    config.detect.auto_method = "otsu";
    const AlignedEpochs epochs = ingest_epochs(config);
    SceneStream stream(epochs, config);
    StreamStats stats;
    const float t = stream.threshold(stats);
    ASSERT_EQ(stream.threshold_degenerate(), "");
    const double expected = otsu_on_values(scene_scores(config, epochs));
    EXPECT_NEAR(t, expected, 0.0011) << "expected " << expected;
}

}  // namespace
}  // namespace weipian
