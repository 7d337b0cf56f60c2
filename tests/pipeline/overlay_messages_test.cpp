// The messages of pipeline/overlay.cpp that refuse a township layer or a CRS, through the CLI.
// overlay.cpp is being reworked elsewhere: these assert the file, the key and the essential words.
#include <gtest/gtest.h>

#include <ogrsf_frmts.h>

#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

using test::write_scene;
using test::write_text;
namespace fs = std::filesystem;

constexpr double kX0 = 497000, kY0 = 3941000;  // Jishan, EPSG:4546

class OverlayMessages : public ::testing::Test {
protected:
    void SetUp() override {
        write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
        write_scene(dir / "after.tif", kX0, kY0, 50, 4546, 10, 10, 30, 30);
    }
    std::string refused(const std::string& overlay, int exit_code = 3) {
        write_text(dir / "weipian.yaml",
                   "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"
                   "output: {dir: out}\noverlay: " + overlay + "\n");
        const auto r = test::run_cli("-q run --config '" + (dir / "weipian.yaml").string() + "'", dir.path());
        EXPECT_EQ(r.exit_code, exit_code) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(fs::exists(dir / "out"));
        return r.err;
    }
    // A GeoPackage `name` with one layer "towns" of `type` and `srs` (nullptr = none), and
    // `features` given as WKT.
    void write_layer(const std::string& name, OGRwkbGeometryType type, const OGRSpatialReference* srs,
                     const std::vector<std::string>& features) {
        GDALAllRegister();
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GPKG")->Create((dir / name).c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRLayer* layer = ds->CreateLayer("towns", const_cast<OGRSpatialReference*>(srs), type, nullptr);
        OGRFieldDefn xzmc("XZMC", OFTString), xzqdm("XZQDM", OFTString);
        layer->CreateField(&xzmc);
        layer->CreateField(&xzqdm);
        for (const auto& wkt : features) {
            OGRFeature f(layer->GetLayerDefn());
            f.SetField("XZMC", "稷峰镇");
            f.SetField("XZQDM", "140824100");
            OGRGeometry* g = nullptr;
            OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &g);
            f.SetGeometryDirectly(g);
            layer->CreateFeature(&f);
        }
    }
    std::string path(const std::string& name) const { return (dir / name).string(); }
    test::TempDir dir;
};

OGRSpatialReference gk_zone_37() {
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    return srs;
}

TEST_F(OverlayMessages, TownshipFileThatIsNotAVectorDataset) {
    write_text(dir / "towns.gpkg", "not a GeoPackage");
    const std::string m = refused("{townships: {path: towns.gpkg}}");
    EXPECT_CONTAINS(m, "'" + path("towns.gpkg") + "' as a vector dataset (");
    EXPECT_CONTAINS(m, "give a GeoPackage, Shapefile or other OGR vector file in overlay.townships.path");
}

TEST_F(OverlayMessages, TownshipFileWithoutALayer) {
    write_text(dir / "towns.kml",
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?><kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document></Document></kml>");
    const std::string m = refused("{townships: {path: towns.kml}}");
    EXPECT_CONTAINS(m, "'" + path("towns.kml") + "' has no vector layer; check overlay.townships.path");
}

TEST_F(OverlayMessages, TownshipLayerWithoutACrs) {
    write_layer("towns.gpkg", wkbPolygon, nullptr, {"POLYGON ((496990 3940990, 497060 3940990, 497060 3941010, 496990 3941010, 496990 3940990))"});
    const std::string m = refused("{townships: {path: towns.gpkg}}");
    EXPECT_CONTAINS(m, "towns.gpkg");
    EXPECT_CONTAINS(m, "has no CRS; assign the one it was drawn in, e.g. ogr2ogr -a_srs EPSG:4546");
}

TEST_F(OverlayMessages, TownshipLayerWithoutFeatures) {
    const auto srs = gk_zone_37();
    write_layer("towns.gpkg", wkbPolygon, &srs, {});
    const std::string m = refused("{townships: {path: towns.gpkg}}");
    EXPECT_CONTAINS(m, "towns.gpkg");
    EXPECT_CONTAINS(m, "has no polygon features; check overlay.townships.path and .layer");
}

TEST_F(OverlayMessages, ImageryCrsWithoutATransformationToTheAreaCrs) {
    for (const char* name : {"before.tif", "after.tif"}) {
        GDALDatasetUniquePtr ds(GDALDataset::Open(path(name).c_str(), GDAL_OF_RASTER | GDAL_OF_UPDATE));
        OGRSpatialReference site_grid;
        site_grid.SetLocalCS("site grid");
        ds->SetSpatialRef(&site_grid);
    }
    const std::string m = refused("{area_crs: \"EPSG:4546\"}");
    EXPECT_CONTAINS(m, "overlay: cannot transform between the imagery CRS ");
    EXPECT_CONTAINS(m, "set overlay.area_crs to a CRS valid over the scene");
}

TEST(DetectMessages, MaskInAFolderNobodyMayWrite) {
    test::TempDir dir;
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    const auto r = test::run_cli("-q detect --before '" + (dir / "before.tif").string() + "' --after '" +
                                     (dir / "after.tif").string() + "' --out /proc/weipian-mask.tif",
                                 dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "detect: cannot create '/proc/weipian-mask.tif'; check that the folder is writable");
}

TEST_F(OverlayMessages, ApprovalLayerWithoutItsNumberFieldExitsThreeBeforeAnyPixel) {
    const auto srs = gk_zone_37();
    write_layer("pzyd.gpkg", wkbPolygon, &srs,
                {"POLYGON ((496990 3940990, 497060 3940990, 497060 3941010, 496990 3941010, 496990 3940990))"});
    const std::string m = refused("{approvals: [{kind: 批准用地, path: pzyd.gpkg, layer: towns, number_field: PZWH}]}");
    EXPECT_CONTAINS(m, "overlay: approvals[1] layer 'towns' in '" + path("pzyd.gpkg") +
                           "' has no field 'PZWH' (fields: XZMC, XZQDM); set overlay.approvals[1].number_field");
}

}  // namespace
}  // namespace weipian
