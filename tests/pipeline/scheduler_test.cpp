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
        EXPECT_EQ(patches[i].polygon.outer, whole[i].outer) << i;
        EXPECT_EQ(patches[i].polygon.holes, whole[i].holes) << i;
        EXPECT_EQ(patches[i].area, whole[i].pixel_count) << i;
    }
}

INSTANTIATE_TEST_SUITE_P(StripsAndThreads, StreamTest,
                         ::testing::Combine(::testing::Values(16, 37, 256, 1000), ::testing::Values(1, 2)));

TEST(StreamTest, AutomaticThresholdIsOtsusOnTheScene) {
    test::TempDir dir;
    write_random_scene(dir.path(), 200);
    Config config = scene_config(dir.path(), 64, 2);
    config.detect.threshold.reset();
    const AlignedEpochs epochs = ingest_epochs(config);
    SceneStream stream(epochs, config);
    StreamStats stats;
    const float t = stream.threshold(stats);
    // Unchanged pixels score 0 (MAD 0): the robust threshold sits just above that mode.
    EXPECT_GT(t, 0.0f);
    EXPECT_LT(t, 1.4f);
}

}  // namespace
}  // namespace weipian
