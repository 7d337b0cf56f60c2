// `weipian polygonize MASK --out FILE`: the format from the extension or -of (app/polygonize_command.cpp).
// Each result is opened with OGR: its driver and its feature count; a Shapefile with its sidecars.
#include <gtest/gtest.h>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

// Two blocks: a 4×4 one and a 2×2 one, 1 m pixels, EPSG:4546.
void write_mask(const fs::path& path) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), 16, 16, 1, GDT_Byte, nullptr));
    double gt[6] = {497000, 1, 0, 3941000, 0, -1};
    ds->SetGeoTransform(gt);
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    ds->SetSpatialRef(&srs);
    std::vector<std::uint8_t> pixels(16 * 16, 0);
    for (int y = 1; y < 5; ++y)
        for (int x = 1; x < 5; ++x) pixels[y * 16 + x] = 1;
    for (int y = 10; y < 12; ++y)
        for (int x = 10; x < 12; ++x) pixels[y * 16 + x] = 1;
    ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 16, 16, pixels.data(), 16, 16, GDT_Byte, 0, 0);
}

struct Written {
    std::string driver;
    GIntBig features = -1;
    double first_area = -1;
};

Written open_result(const fs::path& path) {
    Written w;
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR));
    if (!ds) return w;
    w.driver = ds->GetDriver()->GetDescription();
    OGRLayer* layer = ds->GetLayer(0);
    if (!layer) return w;
    w.features = layer->GetFeatureCount();
    layer->ResetReading();
    OGRFeatureUniquePtr first(layer->GetNextFeature());
    if (first && first->GetFieldIndex("area") >= 0) w.first_area = first->GetFieldAsDouble("area");
    return w;
}

class PolygonizeFormats : public ::testing::Test {
protected:
    TempDir dir;
    void SetUp() override { write_mask(dir / "mask.tif"); }
    test::CliResult polygonize(const std::string& out, const std::string& extra = "") {
        return run_cli("-q polygonize " + q(dir / "mask.tif") + " --out " + q(dir / out) + " " + extra, dir.path());
    }
    // Nothing but the mask, the CLI's capture files and `expected` in the folder (no staging left).
    void expect_files(std::vector<std::string> expected) {
        expected.insert(expected.end(), {"mask.tif", "cli.stdout", "cli.stderr"});
        std::sort(expected.begin(), expected.end());
        std::vector<std::string> got;
        for (const auto& entry : fs::directory_iterator(dir.path())) got.push_back(entry.path().filename().string());
        std::sort(got.begin(), got.end());
        EXPECT_EQ(got, expected);
    }
};

TEST_F(PolygonizeFormats, ShpWritesAShapefileWithAUtf8Cpg) {
    const auto r = polygonize("parcels.shp");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_CONTAINS(r.out, "2 polygons written to " + (dir / "parcels.shp").string() + " (ESRI Shapefile)");
    const Written w = open_result(dir / "parcels.shp");
    EXPECT_EQ(w.driver, "ESRI Shapefile");
    EXPECT_EQ(w.features, 2);
    EXPECT_DOUBLE_EQ(w.first_area, 16.0);
    EXPECT_EQ(test::read_text(dir / "parcels.cpg"), "UTF-8");
    expect_files({"parcels.shp", "parcels.shx", "parcels.dbf", "parcels.prj", "parcels.cpg"});
}

TEST_F(PolygonizeFormats, EachExtensionItsDriver) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"p.gpkg", "GPKG"}, {"p.geojson", "GeoJSON"}, {"p2.json", "GeoJSON"}, {"p.kml", "KML"},
        {"p.csv", "CSV"},   {"p.fgb", "FlatGeobuf"},  {"P3.GPKG", "GPKG"}};
    for (const auto& [name, driver] : cases) {
        const auto r = polygonize(name);
        ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
        EXPECT_CONTAINS(r.out, "(" + driver + ")");
        const Written w = open_result(dir / name);
        // The KML file opens with LIBKML when GDAL has it; it was written by the KML driver.
        if (driver == "KML")
            EXPECT_TRUE(w.driver == "KML" || w.driver == "LIBKML") << w.driver;
        else
            EXPECT_EQ(w.driver, driver) << name;
        EXPECT_EQ(w.features, 2) << name;
    }
    expect_files({"p.gpkg", "p.geojson", "p2.json", "p.kml", "p.csv", "p.fgb", "P3.GPKG"});
    // The CSV holds the geometry as WKT.
    EXPECT_CONTAINS(test::read_text(dir / "p.csv"), "WKT,id,pixel_count,area\n\"POLYGON ((497001 3940999,");
}

TEST_F(PolygonizeFormats, OfNamesTheDriverWhateverTheExtension) {
    auto r = polygonize("parcels.txt", "-of GeoJSON");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    Written w = open_result(dir / "parcels.txt");
    EXPECT_EQ(w.driver, "GeoJSON");
    EXPECT_EQ(w.features, 2);
    r = polygonize("cases.shp.gpkg", "--of 'ESRI Shapefile'");  // a Shapefile whatever it is called
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = polygonize("other.data", "-of GPKG");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    w = open_result(dir / "other.data");
    EXPECT_EQ(w.driver, "GPKG");
    EXPECT_EQ(w.features, 2);
}

TEST_F(PolygonizeFormats, UnknownExtensionWithoutOfIsRefused) {
    const auto r = polygonize("parcels.txt");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err, "weipian: error: polygonize: --out '" + (dir / "parcels.txt").string() +
                         "': no format is known for the extension '.txt'; use .gpkg, .shp, .geojson, .json, .kml, .csv or "
                         ".fgb, or name the OGR driver with -of (e.g. -of GPKG)\n");
    expect_files({});
}

TEST_F(PolygonizeFormats, OfThatIsNoVectorDriverThatCreatesIsRefused) {
    for (const char* name : {"NOSUCH", "GTiff"}) {
        const auto r = polygonize("p.dat", std::string("-of ") + name);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_CONTAINS(r.err, std::string("polygonize: -of '") + name +
                                   "' is not an OGR vector driver that can create files; give one such as GPKG");
    }
    expect_files({});
}

TEST_F(PolygonizeFormats, AnExistingShapefileIsNeverReplaced) {
    ASSERT_EQ(polygonize("parcels.shp").exit_code, 0);
    const std::string dbf = test::read_text(dir / "parcels.dbf");
    auto r = polygonize("parcels.shp", "--overwrite");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(r.err, "weipian: error: polygonize: '" + (dir / "parcels.shp").string() +
                         "' exists; weipian adds layers only to a GeoPackage and never replaces what it did not write: give "
                         "--out a new file, or remove that one yourself\n");
    EXPECT_EQ(test::read_text(dir / "parcels.dbf"), dbf);
    // A sidecar alone (a .dbf of someone's table) is not replaced either.
    test::write_text(dir / "other.dbf", "someone's table");
    r = polygonize("other.shp");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "polygonize: '" + (dir / "other.dbf").string() + "' exists; weipian adds layers only");
    EXPECT_EQ(test::read_text(dir / "other.dbf"), "someone's table");
    EXPECT_FALSE(fs::exists(dir / "other.shp"));
    r = polygonize("other.dbf", "-of GeoJSON");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    expect_files({"parcels.shp", "parcels.shx", "parcels.dbf", "parcels.prj", "parcels.cpg", "other.dbf"});
}

// GPX holds points and lines only: the layer of polygons cannot be made, and nothing is left.
TEST_F(PolygonizeFormats, AFormatWithoutPolygonsIsRefusedWithGdalsReason) {
    const auto r = polygonize("p.gpx", "-of GPX");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "polygonize: cannot create layer 'parcels' in '" + (dir / "p.gpx").string() + "' with the GPX driver (");
    EXPECT_CONTAINS(r.err, "); write polygons in a format that holds them, e.g. .gpkg or .shp\n");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    expect_files({});
}

// A GeoPackage still gets the layer added to it, the others kept.
TEST_F(PolygonizeFormats, GeoPackageGetsALayerAdded) {
    ASSERT_EQ(polygonize("county.gpkg", "--layer first").exit_code, 0);
    ASSERT_EQ(polygonize("county.gpkg", "--layer second --min-pixels 5").exit_code, 0);
    GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "county.gpkg").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    EXPECT_STREQ(ds->GetDriver()->GetDescription(), "GPKG");
    ASSERT_NE(ds->GetLayerByName("first"), nullptr);
    ASSERT_NE(ds->GetLayerByName("second"), nullptr);
    EXPECT_EQ(ds->GetLayerByName("first")->GetFeatureCount(), 2);
    EXPECT_EQ(ds->GetLayerByName("second")->GetFeatureCount(), 1);
}

}  // namespace
}  // namespace weipian
