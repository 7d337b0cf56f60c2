// The detect stage (pipeline/detect.cpp) and `weipian detect`: its refusals and failures, each
// with the key, value or file it is about.
#include "pipeline/detect.hpp"

#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include <string>

#include "pipeline/core/errors.hpp"
#include "pipeline/ingest.hpp"
#include "tests/support/full_disk.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;
using test::write_scene;

constexpr double kX0 = 497000, kY0 = 3941000;  // Jishan, EPSG:4546

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

TEST(DetectStageMessages, AnUnknownMethodSetInCodeIsAConfigError) {
    Config config;
    config.detect.method = "neural";
    const std::string m = test::message_of<ConfigError>([&] { DetectStage(config).validate(); });
    EXPECT_EQ(m, "config: key 'detect.method': 'neural' is not a known detector");
}

// A sparse GeoTIFF (no pixel written, a few KiB on disk) of `width` × `height` pixels.
void write_sparse_scene(const fs::path& path, int width, int height) {
    GDALAllRegister();
    const char* options[] = {"SPARSE_OK=TRUE", "TILED=YES", "BLOCKXSIZE=1024", "BLOCKYSIZE=1024", nullptr};
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(
        path.c_str(), width, height, 4, GDT_UInt16, const_cast<char**>(options)));
    double gt[6] = {kX0, 1, 0, kY0, 0, -1};
    ds->SetGeoTransform(gt);
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    ds->SetSpatialRef(&srs);
}

TEST(DetectCommandMessages, ASceneTooLargeForAWholeSceneMaskNamesItsSizeAndTheWayOut) {
    TempDir dir;
    write_sparse_scene(dir / "before.tif", 40000, 30000);  // 1.2 Gpx
    write_sparse_scene(dir / "after.tif", 40000, 30000);
    const auto r = run_cli("-q detect --before " + q(dir / "before.tif") + " --after " + q(dir / "after.tif") + " --out " +
                               q(dir / "mask.tif"),
                           dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "weipian: error: detect: the scene is 40000 × 30000 px (1.2 Gpx) and `weipian detect`/`evaluate` "
                           "hold its whole mask in memory (2 bytes a pixel), at most 1.074 Gpx; use `weipian run`, which "
                           "streams, or a larger grid.pixel_size");
    EXPECT_FALSE(fs::exists(dir / "mask.tif"));
}

TEST(DetectCommandMessages, NoValidPixelIsExit4NamingBothEpochs) {
    TempDir dir;
    write_scene(dir / "before.tif", kX0, kY0, 60, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 60, 4546);
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "after.tif").c_str(), GDAL_OF_UPDATE));
        const double vegetation[4] = {300, 600, 400, 3500};  // every pixel is nodata
        for (int b = 0; b < 4; ++b) ds->GetRasterBand(b + 1)->SetNoDataValue(vegetation[b]);
    }
    const auto r = run_cli("-q detect --before " + q(dir / "before.tif") + " --after " + q(dir / "after.tif") + " --out " +
                               q(dir / "mask.tif"),
                           dir.path());
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_EQ(r.err.rfind("weipian: error: detect: no valid pixels: no pixel has data in both the before (epochs.before.tiles: " +
                              (dir / "before.tif").string() + ") and the after epoch (epochs.after.tiles: " +
                              (dir / "after.tif").string() + ")",
                          0),
              0u)
        << r.err;
    EXPECT_FALSE(fs::exists(dir / "mask.tif"));
}

TEST(DetectCommandMessages, AFullDiskWhileWritingTheMaskNamesItAndLeavesNothing) {
    TempDir dir;
    write_scene(dir / "before.tif", kX0, kY0, 60, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 60, 4546);
    Config config;
    config.before.tiles = {(dir / "before.tif").string()};
    config.after.tiles = {(dir / "after.tif").string()};
    const AlignedEpochs epochs = ingest_epochs(config);
    // GTiff writes its blocks when the file is closed (or when its cache evicts them, which
    // RasterIO does not report): a full disk shows at closing.
    cv::Mat mask(1000, 1000, CV_8UC1);
    cv::randu(mask, 0, 255);  // does not compress
    const fs::path out = dir / "mask.tif";
    const auto thrown = test::on_full_disk(64 * 1024, [&] { write_mask_geotiff(out, mask, epochs); });
    EXPECT_EQ(thrown.exit_code, 3);
    EXPECT_EQ(thrown.message, "detect: cannot finish '" + out.string() + "'; check free space on its disk");
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}), 2);  // the two tiles
}

}  // namespace
}  // namespace weipian
