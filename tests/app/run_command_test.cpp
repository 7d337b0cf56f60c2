// The commands through the binary (app/core_commands.cpp, app/polygonize_command.cpp): `run` on
// small scenes built in the test, each bad input by its message, the outputs a county opens;
// `detect`, `evaluate` and `polygonize`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <ogrsf_frmts.h>
#include <opencv2/core.hpp>

#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

using test::read_text;
using test::run_cli;
using test::TempDir;
using test::write_scene;
using test::write_text;
namespace fs = std::filesystem;

constexpr double kX0 = 497000, kY0 = 3941000;  // Jishan, EPSG:4546

// A config for before.tif/after.tif in `dir`, with extra YAML appended.
std::string scene_config(const std::string& extra = "",
                         const std::string& overlay = "overlay: {area_crs: \"EPSG:4546\"}\n") {
    return "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n"
           "  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"
           "output: {dir: out}\n" + overlay + extra;
}

// Township layer with two townships split at x = kX0 + 50 m, in EPSG:4546.
void write_townships(const fs::path& path, const char* name_field = "XZMC") {
    GDALDriver* gpkg = GetGDALDriverManager()->GetDriverByName("GPKG");
    GDALDatasetUniquePtr ds(gpkg->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    OGRLayer* layer = ds->CreateLayer("townships", &srs, wkbPolygon, nullptr);
    OGRFieldDefn name(name_field, OFTString), code("XZQDM", OFTString);
    layer->CreateField(&name);
    layer->CreateField(&code);
    auto add = [&](const char* n, const char* c, double x0, double x1) {
        OGRFeature f(layer->GetLayerDefn());
        f.SetField(name_field, n);
        f.SetField("XZQDM", c);
        OGRPolygon poly;
        OGRLinearRing ring;
        ring.addPoint(x0, kY0 - 200);
        ring.addPoint(x1, kY0 - 200);
        ring.addPoint(x1, kY0 + 10);
        ring.addPoint(x0, kY0 + 10);
        ring.closeRings();
        poly.addRing(&ring);
        f.SetGeometry(&poly);
        layer->CreateFeature(&f);
    };
    add("稷峰镇", "140824100", kX0 - 10, kX0 + 50);
    add("化峪镇", "140824101", kX0 + 50, kX0 + 200);
}

class RunTest : public ::testing::Test {
protected:
    TempDir dir;
    fs::path config = dir / "weipian.yaml";

    test::CliResult run(const std::string& extra_args = "") {
        return run_cli("-q run --config '" + config.string() + "' " + extra_args, dir.path());
    }

    // The error branch contract: one line, naming what is wrong; non-zero exit; no output.
    void expect_refused(const test::CliResult& r, int exit_code, const std::string& fragment) {
        EXPECT_EQ(r.exit_code, exit_code) << r.err;
        EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
        EXPECT_EQ(r.err.rfind("weipian: error: ", 0), 0u) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(fs::exists(dir / "out"));
        for (const auto& entry : fs::directory_iterator(dir.path()))
            EXPECT_EQ(entry.path().filename().string().find("out."), std::string::npos) << entry.path();
    }
};

TEST_F(RunTest, FindsTheRoofAndWritesEveryOutput) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);  // 20 × 30 m roof
    write_townships(dir / "townships.gpkg");
    write_text(config, scene_config("", "overlay: {area_crs: \"EPSG:4546\", townships: {path: townships.gpkg}}\n"));
    const auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("1 candidate parcels, 0.9 亩"), std::string::npos) << r.out;
    for (const char* name : {"parcels.gpkg", "townships.csv", "summary.txt", "run.json"})
        EXPECT_TRUE(fs::exists(dir / "out" / name)) << name;

    GDALDatasetUniquePtr gpkg(GDALDataset::Open((dir / "out" / "parcels.gpkg").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(gpkg);
    OGRLayer* layer = gpkg->GetLayerByName("parcels");
    ASSERT_NE(layer, nullptr);
    ASSERT_EQ(layer->GetFeatureCount(), 1);
    auto feature = std::unique_ptr<OGRFeature>(layer->GetNextFeature());
    EXPECT_NEAR(feature->GetFieldAsDouble("area_m2"), 600.0, 1e-6);
    EXPECT_NEAR(feature->GetFieldAsDouble("area_mu"), 0.90, 1e-9);
    EXPECT_STREQ(feature->GetFieldAsString("xzmc"), "稷峰镇");
    EXPECT_STREQ(feature->GetFieldAsString("qsx"), "2023-04-10");
    EXPECT_STREQ(feature->GetFieldAsString("hsx"), "2023-09-18");
    EXPECT_NEAR(feature->GetFieldAsDouble("centroid_x"), kX0 + 20, 1e-6);
    EXPECT_NEAR(feature->GetFieldAsDouble("centroid_y"), kY0 - 35, 1e-6);
    OGREnvelope env;
    feature->GetGeometryRef()->getEnvelope(&env);
    EXPECT_DOUBLE_EQ(env.MinX, kX0 + 10);
    EXPECT_DOUBLE_EQ(env.MaxY, kY0 - 20);

    const std::string summary = read_text(dir / "out" / "summary.txt");
    EXPECT_NE(summary.find("1. 稷峰镇疑似违法用地 1 宗，总面积 0.9 亩，不涉及耕地。"), std::string::npos) << summary;
}

TEST_F(RunTest, WarpsAnEpochInAnotherCrsOntoTheLaterGrid) {
    // EPSG:4525 is the same zone as 4546 with the zone number (37) before the easting.
    write_scene(dir / "before.tif", kX0 + 37000000 - 20, kY0 + 20, 140, 4525);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);
    write_text(config, scene_config());
    const auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("1 candidate parcels, 0.9 亩"), std::string::npos) << r.out;
    const std::string report = read_text(dir / "out" / "run.json");
    EXPECT_NE(report.find("before: warped (bilinear), after: window"), std::string::npos);
}

TEST_F(RunTest, NodataInEitherEpochIsNeverFlagged) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "before.tif").c_str(), GDAL_OF_UPDATE));
        std::vector<unsigned short> zeros(100 * 25, 0);
        for (int b = 1; b <= 4; ++b) {
            ds->GetRasterBand(b)->SetNoDataValue(0);
            ds->GetRasterBand(b)->RasterIO(GF_Write, 0, 0, 100, 25, zeros.data(), 100, 25, GDT_UInt16, 0, 0);
        }
    }
    write_text(config, scene_config());
    const auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Rows 20–24 of the roof fall in nodata: 20 × 25 m remain.
    EXPECT_NE(r.out.find("1 candidate parcels, 0.75 亩"), std::string::npos) << r.out;
}

TEST_F(RunTest, AoiLimitsTheWork) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);
    write_text(dir / "aoi.geojson",
               R"({"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4546"}},)"
               R"("features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":)"
               "[[[497050,3940900],[497100,3940900],[497100,3941000],[497050,3941000],[497050,3940900]]]}}]}");
    write_text(config, scene_config("aoi: aoi.geojson\n"));
    const auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("0 candidate parcels"), std::string::npos) << r.out;
}

TEST_F(RunTest, MissingTileIsRefused) {
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    write_text(config, scene_config());
    expect_refused(run(), 3, "file '" + (dir / "before.tif").string() + "' does not exist");
}

TEST_F(RunTest, GlobWithoutMatchIsRefused) {
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    write_text(config, scene_config());
    expect_refused(run("--before '" + (dir / "qsx" / "*.tif").string() + "'"), 3, "*.tif' matches no file");
}

TEST_F(RunTest, RasterWithoutCrsIsRefused) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 0);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    write_text(config, scene_config());
    expect_refused(run(), 3, "before.tif' has no CRS; assign one, e.g. gdal_edit.py -a_srs EPSG:4546");
}

TEST_F(RunTest, EpochsThatDoNotOverlapAreRefused) {
    write_scene(dir / "before.tif", kX0 + 5000, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    write_text(config, scene_config());
    expect_refused(run(), 3, "the epochs do not overlap");
}

TEST_F(RunTest, TooFewBandsForTheRolesIsRefused) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    write_text(config, scene_config("bands: {nir: 6}\n"));
    expect_refused(run(), 3, "has 4 band(s) but the band roles need band 6");
}

TEST_F(RunTest, TownshipLayerWithoutTheFieldIsRefused) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    write_townships(dir / "townships.gpkg", "NAME");
    write_text(config, scene_config("", "overlay: {townships: {path: townships.gpkg}}\n"));
    expect_refused(run(), 3, "has no field 'XZMC'");
}

TEST_F(RunTest, UnknownConfigKeyIsRefused) {
    write_text(config, scene_config("clean: {min_area: 200}\n"));
    expect_refused(run(), 2, "key 'clean.min_area': unknown key");
}

TEST_F(RunTest, ValueOutOfRangeIsRefused) {
    write_text(config, scene_config("processing: {block_size: 4}\n"));
    expect_refused(run(), 2, "key 'processing.block_size': value 4 is out of range [16, 65536]");
}

TEST_F(RunTest, MissingConfigIsRefused) {
    config = dir / "nope.yaml";
    expect_refused(run(), 3, "cannot read '" + config.string() + "'");
}

TEST_F(RunTest, DetectWritesAByteMaskOnTheAfterGrid) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);
    const auto r = run_cli("-q detect --before '" + (dir / "before.tif").string() + "' --after '" +
                               (dir / "after.tif").string() + "' --out '" + (dir / "mask.tif").string() + "'",
                           dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "mask.tif").c_str(), GDAL_OF_RASTER));
    ASSERT_TRUE(ds);
    EXPECT_EQ(ds->GetRasterBand(1)->GetRasterDataType(), GDT_Byte);
    double gt[6];
    ds->GetGeoTransform(gt);
    EXPECT_DOUBLE_EQ(gt[0], kX0);
    EXPECT_DOUBLE_EQ(gt[3], kY0);
    std::vector<std::uint8_t> mask(100 * 100);
    ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, 100, 100, mask.data(), 100, 100, GDT_Byte, 0, 0);
    EXPECT_EQ(std::count(mask.begin(), mask.end(), 1), 600);
    EXPECT_EQ(mask[25 * 100 + 15], 1);
    EXPECT_EQ(mask[5 * 100 + 5], 0);
}

TEST_F(RunTest, EvaluateReportsPixelAndObjectScoresOnPlainImages) {
    // Plain images (no georeferencing) with a pixel size; the label marks the roof and one
    // more object the detector cannot see.
    cv::Mat label(100, 100, CV_8UC1, cv::Scalar(0));
    label(cv::Rect(10, 20, 20, 30)).setTo(255);
    label(cv::Rect(60, 60, 10, 10)).setTo(255);
    write_scene(dir / "before.tif", 0, 0, 100, 0);
    write_scene(dir / "after.tif", 0, 0, 100, 0, 10, 20, 30, 50);
    {
        GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
        GDALDatasetUniquePtr m(mem->Create("", 100, 100, 1, GDT_Byte, nullptr));
        m->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 100, 100, label.data, 100, 100, GDT_Byte, 0, 0);
        GDALDatasetUniquePtr png(GetGDALDriverManager()->GetDriverByName("PNG")->CreateCopy(
            (dir / "label.png").c_str(), m.get(), FALSE, nullptr, nullptr, nullptr));
    }
    const auto r = run_cli("-q evaluate --pixel-size 1 --before '" + (dir / "before.tif").string() + "' --after '" +
                               (dir / "after.tif").string() + "' --label '" + (dir / "label.png").string() + "'",
                           dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto json = nlohmann::json::parse(r.out);
    EXPECT_EQ(json["true_positive"], 600);
    EXPECT_EQ(json["false_negative"], 100);
    EXPECT_EQ(json["false_positive"], 0);
    EXPECT_DOUBLE_EQ(json["precision"].get<double>(), 1.0);
    EXPECT_NEAR(json["recall"].get<double>(), 600.0 / 700.0, 1e-12);
    EXPECT_EQ(json["reference_objects"], 2);
    EXPECT_EQ(json["found_objects"], 1);
    EXPECT_DOUBLE_EQ(json["object_recall"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(json["object_precision"].get<double>(), 1.0);
}

TEST_F(RunTest, PolygonizeCommandWritesOnePolygonPerComponentWithHoles) {
    // A 10×10 block with a 2×2 hole, and a lone pixel diagonal to it (separate under 4-connectivity);
    // the block and its hole straddle the first strip boundary (row 16).
    cv::Mat mask(40, 40, CV_8UC1, cv::Scalar(0));
    mask(cv::Rect(5, 12, 10, 10)).setTo(1);
    mask(cv::Rect(9, 15, 2, 2)).setTo(0);
    mask.at<std::uint8_t>(22, 15) = 1;
    GDALAllRegister();
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(
            (dir / "mask.tif").c_str(), 40, 40, 1, GDT_Byte, nullptr));
        double gt[6] = {kX0, 0.5, 0, kY0, 0, -0.5};
        ds->SetGeoTransform(gt);
        ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 40, 40, mask.data, 40, 40, GDT_Byte, 0, 0);
    }
    const auto r = run_cli("-q polygonize '" + (dir / "mask.tif").string() + "' --out '" +
                               (dir / "sub" / "p.gpkg").string() + "' --block-size 16",
                           dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("2 polygons written"), std::string::npos) << r.out;
    GDALDatasetUniquePtr gpkg(GDALDataset::Open((dir / "sub" / "p.gpkg").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(gpkg);
    OGRLayer* layer = gpkg->GetLayerByName("parcels");
    ASSERT_NE(layer, nullptr);
    ASSERT_EQ(layer->GetFeatureCount(), 2);
    std::unique_ptr<OGRFeature> block(layer->GetNextFeature());
    EXPECT_EQ(block->GetFieldAsInteger64("pixel_count"), 96);
    EXPECT_DOUBLE_EQ(block->GetFieldAsDouble("area"), 24.0);  // 96 px × 0.25 m²
    EXPECT_EQ(block->GetGeometryRef()->toPolygon()->getNumInteriorRings(), 1);
    EXPECT_DOUBLE_EQ(block->GetGeometryRef()->toPolygon()->get_Area(), 24.0);
    std::unique_ptr<OGRFeature> speck(layer->GetNextFeature());
    EXPECT_EQ(speck->GetFieldAsInteger64("pixel_count"), 1);
}

TEST_F(RunTest, ReplacesAPreviousOutputOnlyWhenComplete) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);
    write_text(config, scene_config());
    ASSERT_EQ(run().exit_code, 0);
    const std::string first = read_text(dir / "out" / "townships.csv");
    fs::remove(dir / "before.tif");
    const auto r = run("--overwrite");
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("before.tif"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(dir / "out" / "townships.csv"), first);  // the earlier run's outputs stay whole
}

}  // namespace
}  // namespace weipian
