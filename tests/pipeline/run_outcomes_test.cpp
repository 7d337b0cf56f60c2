// Outcomes of the main job that are not "parcels found": no valid pixel (exit 4, no output) and
// a degenerate automatic threshold (a warning, no parcels from it).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <ogrsf_frmts.h>

#include "pipeline/detect.hpp"
#include "pipeline/main_job.hpp"

#include "pipeline/core/errors.hpp"
#include "pipeline/scheduler.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;
using test::write_scene;
using test::write_text;

constexpr double kX0 = 497000, kY0 = 3941000;  // Jishan, EPSG:4546

// Marks every pixel of write_scene's vegetation as nodata (per-band nodata = the vegetation value).
void make_all_nodata(const fs::path& path) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_UPDATE));
    const double vegetation[4] = {300, 600, 400, 3500};
    for (int b = 0; b < 4; ++b) ds->GetRasterBand(b + 1)->SetNoDataValue(vegetation[b]);
}

// Writes 0 (nodata) into [x0, x1) × [y0, y1) of every band and declares nodata 0.
void blank(const fs::path& path, int x0, int y0, int x1, int y1) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_UPDATE));
    std::vector<unsigned short> zeros(static_cast<std::size_t>((x1 - x0) * (y1 - y0)), 0);
    for (int b = 1; b <= 4; ++b) {
        ds->GetRasterBand(b)->SetNoDataValue(0);
        ds->GetRasterBand(b)->RasterIO(GF_Write, x0, y0, x1 - x0, y1 - y0, zeros.data(), x1 - x0, y1 - y0, GDT_UInt16, 0, 0);
    }
}

// A one-polygon AOI [x0, x1) × [y0, y1) in metres from the scene's corner, EPSG:4546.
void write_aoi(const fs::path& path, double x0, double y0, double x1, double y1) {
    GDALDriver* gpkg = GetGDALDriverManager()->GetDriverByName("GPKG");
    GDALDatasetUniquePtr ds(gpkg->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    OGRLayer* layer = ds->CreateLayer("aoi", &srs, wkbPolygon, nullptr);
    OGRFeature f(layer->GetLayerDefn());
    OGRLinearRing ring;
    ring.addPoint(kX0 + x0, kY0 - y0);
    ring.addPoint(kX0 + x1, kY0 - y0);
    ring.addPoint(kX0 + x1, kY0 - y1);
    ring.addPoint(kX0 + x0, kY0 - y1);
    ring.closeRings();
    OGRPolygon poly;
    poly.addRing(&ring);
    f.SetGeometry(&poly);
    layer->CreateFeature(&f);
}

class RunOutcomes : public ::testing::Test {
protected:
    TempDir dir;
    fs::path config = dir / "weipian.yaml";

    test::CliResult run() { return run_cli("-q run --config '" + config.string() + "'", dir.path()); }
    void write_config(const std::string& extra = "", const std::string& before = "before.tif") {
        write_text(config, "epochs:\n  before: {tiles: [" + before + "], date: \"2023-04-10\"}\n"
                           "  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"
                           "output: {dir: out}\noverlay: {area_crs: \"EPSG:4546\"}\n" + extra);
    }
    void expect_no_valid_pixels(const test::CliResult& r, const std::string& head = "run: no valid pixels") {
        EXPECT_EQ(r.exit_code, 4) << r.err;
        EXPECT_EQ(r.err.rfind("weipian: error: " + head + ": ", 0), 0u) << r.err;
        EXPECT_NE(r.err.find("no pixel has data in both the before (epochs.before.tiles: " +
                             (dir / "before.tif").string() + ") and the after epoch (epochs.after.tiles: " +
                             (dir / "after.tif").string() + ")"),
                  std::string::npos)
            << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(fs::exists(dir / "out"));
    }
};

TEST_F(RunOutcomes, BothEpochsAllNodataIsNoValidPixels) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    make_all_nodata(dir / "before.tif");
    make_all_nodata(dir / "after.tif");
    write_config();
    expect_no_valid_pixels(run());
}

TEST_F(RunOutcomes, AutomaticThresholdOnNodataIsNoValidPixels) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    make_all_nodata(dir / "after.tif");
    write_config("detect: {threshold: auto}\n");
    expect_no_valid_pixels(run(), "detect (detect.threshold: auto): no valid pixels");
}

// The before epoch is nodata over its left half; an AOI over that half has no valid pixel,
// though the roof in the after epoch lies there.
TEST_F(RunOutcomes, AoiOverAGapIsNoValidPixels) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);
    blank(dir / "before.tif", 0, 0, 50, 100);
    write_aoi(dir / "aoi.gpkg", 5, 5, 45, 95);
    write_config("aoi: aoi.gpkg\n");
    const auto r = run();
    expect_no_valid_pixels(r);
    EXPECT_NE(r.err.find("inside the epochs' overlap and the aoi '" + (dir / "aoi.gpkg").string() + "'"), std::string::npos)
        << r.err;
}

// Identical epochs with Otsu's threshold: every score is 0, Otsu returns the histogram's first
// edge (−0.999), which flagged the roof as new. Now: a warning without -v, and no parcel.
TEST_F(RunOutcomes, DegenerateAutomaticThresholdWarnsAndFindsNothing) {
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);
    write_config("detect: {threshold: auto, auto_method: otsu}\n", "after.tif");
    const auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning detect: the automatic threshold (detect.auto_method otsu) gave -0.999, which is "
                         "degenerate: every pixel with data has the same score (no spread, as with identical epochs); "
                         "no pixel is flagged: set detect.threshold (e.g. 0.15) or check that the epochs differ"),
              std::string::npos)
        << r.err;
    GDALDatasetUniquePtr gpkg(GDALDataset::Open((dir / "out" / "parcels.gpkg").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(gpkg);
    EXPECT_EQ(gpkg->GetLayerByName("parcels")->GetFeatureCount(), 0);
    const auto report = nlohmann::json::parse(test::read_text(dir / "out" / "run.json"));
    EXPECT_TRUE(report["threshold"].is_null());
    EXPECT_NE(report["threshold_degenerate"].get<std::string>().find("no spread"), std::string::npos);
}

// The degeneracy criterion on hand-made histograms (bins of 0.001 over [-1, 2)).
kernels::ScoreHistogram histogram_of(const std::vector<std::pair<float, int>>& values) {
    kernels::ScoreHistogram h;
    for (const auto& [value, count] : values)
        for (int i = 0; i < count; ++i) h.add(&value, nullptr, 1);
    return h;
}

TEST(ThresholdDegeneracy, NoSpreadIsDegenerate) {
    EXPECT_NE(threshold_degeneracy(histogram_of({{0.0f, 1000}}), 0.2f).find("no spread"), std::string::npos);
}

TEST(ThresholdDegeneracy, ThresholdNotAboveZeroIsDegenerate) {
    const auto h = histogram_of({{0.0f, 900}, {-0.05f, 50}, {0.8f, 50}});
    EXPECT_NE(threshold_degeneracy(h, -0.03f).find("not above 0"), std::string::npos);
    EXPECT_NE(threshold_degeneracy(h, 0.0f).find("not above 0"), std::string::npos);
}

TEST(ThresholdDegeneracy, FlaggingMostPixelsIsDegenerate) {
    const auto h = histogram_of({{0.1f, 300}, {0.3f, 700}});
    EXPECT_EQ(threshold_degeneracy(h, 0.2f), "it would flag 70 % of the pixels with data, and new construction is a minority of a scene");
}

TEST(ThresholdDegeneracy, AThresholdAboveTheUnchangedModeIsUsable) {
    const auto h = histogram_of({{0.0f, 900}, {0.01f, 40}, {0.9f, 60}});
    EXPECT_EQ(threshold_degeneracy(h, 0.2f), "");
    EXPECT_EQ(threshold_degeneracy(h, 0.005f), "");
}

}  // namespace
}  // namespace weipian
