// Overlay stage and CRS helpers: township split, cultivated area, axis order, error messages.
// Inputs are built here as GeoPackages in /vsimem/; coordinates are EPSG:4546 (CGCS2000 3° GK
// zone 37, CM 111°E) near Jishan unless a test says otherwise.
#include "pipeline/overlay.hpp"

#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogrsf_frmts.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/township_summary.hpp"

namespace weipian {
namespace {

struct FeatureSpec {
    std::string wkt;
    std::vector<std::string> values;  // one per field of the layer, as strings
};

struct LayerSpec {
    std::string name;
    int epsg = 4546;  // 0 = no CRS
    std::vector<std::string> fields;
    std::vector<FeatureSpec> features;
};

std::string rect(double x0, double y0, double x1, double y1) {
    char buffer[256];
    std::snprintf(buffer, sizeof buffer, "POLYGON ((%.6f %.6f,%.6f %.6f,%.6f %.6f,%.6f %.6f,%.6f %.6f))", x0, y0, x1,
                  y0, x1, y1, x0, y1, x0, y0);
    return buffer;
}

std::unique_ptr<OGRSpatialReference> epsg(int code) {
    auto srs = std::make_unique<OGRSpatialReference>();
    EXPECT_EQ(srs->importFromEPSG(code), OGRERR_NONE);
    srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

OGRGeometryUniquePtr from_wkt(const std::string& wkt) {
    OGRGeometry* geometry = nullptr;
    EXPECT_EQ(OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &geometry), OGRERR_NONE) << wkt;
    return OGRGeometryUniquePtr(geometry);
}

double area_of(const OGRGeometry& geometry) {
    return OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(&geometry)));
}

// A unique /vsimem/ path per call, removed by the fixture.
std::string memory_path(const std::string& stem) {
    static std::atomic<int> counter{0};
    return "/vsimem/overlay_test/" + stem + "_" + std::to_string(counter++) + ".gpkg";
}

std::string write_gpkg(const std::string& stem, const std::vector<LayerSpec>& layers) {
    const std::string path = memory_path(stem);
    auto* driver = GetGDALDriverManager()->GetDriverByName("GPKG");
    EXPECT_NE(driver, nullptr);
    GDALDatasetUniquePtr dataset(driver->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    EXPECT_NE(dataset, nullptr) << path;
    for (const auto& spec : layers) {
        std::unique_ptr<OGRSpatialReference> srs = spec.epsg ? epsg(spec.epsg) : nullptr;
        OGRLayer* layer = dataset->CreateLayer(spec.name.c_str(), srs.get(), wkbPolygon, nullptr);
        EXPECT_NE(layer, nullptr);
        for (const auto& field : spec.fields) {
            OGRFieldDefn definition(field.c_str(), OFTString);
            EXPECT_EQ(layer->CreateField(&definition), OGRERR_NONE);
        }
        for (const auto& feature_spec : spec.features) {
            OGRFeatureUniquePtr feature(OGRFeature::CreateFeature(layer->GetLayerDefn()));
            for (std::size_t i = 0; i < feature_spec.values.size(); ++i)
                feature->SetField(static_cast<int>(i), feature_spec.values[i].c_str());
            feature->SetGeometryDirectly(from_wkt(feature_spec.wkt).release());
            EXPECT_EQ(layer->CreateFeature(feature.get()), OGRERR_NONE);
        }
    }
    return path;
}

// Two townships side by side: 稷峰镇 x 500000–501000, 化峪镇 x 501000–502000, y 3940000–3941000.
constexpr const char* kJifeng = "稷峰镇";
constexpr const char* kJifengCode = "140824100";
constexpr const char* kHuayu = "化峪镇";
constexpr const char* kHuayuCode = "140824102";

std::string write_townships() {
    return write_gpkg("townships", {{"xzq",
                                     4546,
                                     {"XZMC", "XZQDM"},
                                     {{rect(500000, 3940000, 501000, 3941000), {kJifeng, kJifengCode}},
                                      {rect(501000, 3940000, 502000, 3941000), {kHuayu, kHuayuCode}}}}});
}

Parcel patch(std::int64_t patch_id, const std::string& wkt, std::int64_t pixel_count = 0, double score = 0.5) {
    Parcel parcel;
    parcel.id = patch_id;
    parcel.patch_id = patch_id;
    parcel.geometry = from_wkt(wkt);
    parcel.pixel_count = pixel_count;
    parcel.change_score = score;
    return parcel;
}

std::vector<Parcel> one(Parcel parcel) {
    std::vector<Parcel> parcels;
    parcels.push_back(std::move(parcel));
    return parcels;
}

class OverlayTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { ensure_gdal_registered(); }
    void TearDown() override { VSIRmdirRecursive("/vsimem/overlay_test"); }

    OverlayConfig config_with_townships() {
        OverlayConfig config;
        config.townships.path = write_townships();
        return config;
    }

    std::vector<Parcel> run(OverlayConfig config, std::vector<Parcel> patches, int image_epsg = 4546) {
        const auto image_srs = epsg(image_epsg);
        OverlayStage stage(std::move(config), *image_srs, 110.9, 35.6);
        stage.validate();
        return stage.run(std::move(patches));
    }

    template <typename F>
    static std::string error_of(F&& action) {
        try {
            action();
        } catch (const Error& error) {
            return error.what();
        }
        return "(no error thrown)";
    }
};

// ---------------------------------------------------------------------------------------------
// geo

// ---------------------------------------------------------------------------------------------
// township split

TEST_F(OverlayTest, ParcelInsideOneTownshipKeepsItsGeometryAndArea) {
    const auto parcels =
        run(config_with_townships(), one(patch(7, rect(500100, 3940100, 500200, 3940200), 10000, 0.8)));
    ASSERT_EQ(parcels.size(), 1u);
    const auto& parcel = parcels[0];
    EXPECT_EQ(parcel.id, 1);
    EXPECT_EQ(parcel.patch_id, 7);
    EXPECT_EQ(parcel.township_name, kJifeng);
    EXPECT_EQ(parcel.township_code, kJifengCode);
    EXPECT_NEAR(parcel.area_m2, 10000.0, 1e-6);
    EXPECT_NEAR(parcel.area_mu(), 15.0, 0.005);
    EXPECT_EQ(to_centimu(parcel.area_m2), 1500);
    EXPECT_DOUBLE_EQ(parcel.cultivated_m2, 0.0);
    EXPECT_NEAR(parcel.centroid_x, 500150.0, 1e-6);
    EXPECT_NEAR(parcel.centroid_y, 3940150.0, 1e-6);
    EXPECT_EQ(parcel.pixel_count, 10000);
    EXPECT_DOUBLE_EQ(parcel.change_score, 0.8);
    EXPECT_TRUE(parcel.geometry->Equals(from_wkt(rect(500100, 3940100, 500200, 3940200)).get()));
}

TEST_F(OverlayTest, ParcelStraddlingTwoTownshipsIsSplitIntoOneParcelPerTownship) {
    // 60 m west of the 501000 line (稷峰镇), 40 m east of it (化峪镇).
    const auto parcels =
        run(config_with_townships(), one(patch(3, rect(500940, 3940300, 501040, 3940400), 10000, 0.6)));
    ASSERT_EQ(parcels.size(), 2u);
    EXPECT_EQ(parcels[0].id, 1);
    EXPECT_EQ(parcels[1].id, 2);
    EXPECT_EQ(parcels[0].patch_id, 3);
    EXPECT_EQ(parcels[1].patch_id, 3);
    EXPECT_EQ(parcels[0].township_name, kJifeng);
    EXPECT_EQ(parcels[1].township_name, kHuayu);
    EXPECT_NEAR(parcels[0].area_m2, 6000.0, 1e-6);
    EXPECT_NEAR(parcels[1].area_m2, 4000.0, 1e-6);
    EXPECT_NEAR(parcels[0].area_mu(), 9.0, 0.005);
    EXPECT_NEAR(parcels[1].area_mu(), 6.0, 0.005);
    EXPECT_EQ(parcels[0].pixel_count, 6000);
    EXPECT_EQ(parcels[1].pixel_count, 4000);
    EXPECT_DOUBLE_EQ(parcels[1].change_score, 0.6);
    EXPECT_NEAR(parcels[0].centroid_x, 500970.0, 1e-6);
    EXPECT_NEAR(parcels[1].centroid_x, 501020.0, 1e-6);
    OGREnvelope west, east;
    parcels[0].geometry->getEnvelope(&west);
    parcels[1].geometry->getEnvelope(&east);
    EXPECT_DOUBLE_EQ(west.MinX, 500940.0);
    EXPECT_DOUBLE_EQ(west.MaxX, 501000.0);
    EXPECT_DOUBLE_EQ(east.MinX, 501000.0);
    EXPECT_DOUBLE_EQ(east.MaxX, 501040.0);
    EXPECT_NEAR(area_of(*parcels[0].geometry), 6000.0, 1e-6);
    EXPECT_NEAR(area_of(*parcels[1].geometry), 4000.0, 1e-6);
    // Township lines sum to the county total.
    const auto rows = summarize_by_township(parcels);
    EXPECT_EQ(total_of(rows).area_centimu, 1500);
    EXPECT_EQ(total_of(rows).cases, 2);
}

TEST_F(OverlayTest, PartOutsideEveryTownshipStaysOneUnassignedParcel) {
    // Half north of the townships' top edge (y = 3941000).
    const auto parcels = run(config_with_townships(), one(patch(5, rect(500300, 3940950, 500400, 3941050), 100)));
    ASSERT_EQ(parcels.size(), 2u);
    EXPECT_EQ(parcels[0].township_name, kJifeng);
    EXPECT_NEAR(parcels[0].area_m2, 5000.0, 1e-6);
    EXPECT_EQ(parcels[1].township_name, kUnassignedTownship);
    EXPECT_EQ(parcels[1].township_code, "");
    EXPECT_NEAR(parcels[1].area_m2, 5000.0, 1e-6);
    EXPECT_EQ(parcels[0].pixel_count + parcels[1].pixel_count, 100);
}

TEST_F(OverlayTest, ParcelOutsideEveryTownshipIsUnassigned) {
    const auto parcels = run(config_with_townships(), one(patch(1, rect(503000, 3940100, 503100, 3940200))));
    ASSERT_EQ(parcels.size(), 1u);
    EXPECT_EQ(parcels[0].township_name, kUnassignedTownship);
    EXPECT_EQ(parcels[0].township_code, "");
    EXPECT_NEAR(parcels[0].area_m2, 10000.0, 1e-6);
}

TEST_F(OverlayTest, WithoutTownshipLayerEveryParcelIsUnassigned) {
    std::vector<Parcel> patches;
    patches.push_back(patch(2, rect(500100, 3940100, 500200, 3940200)));
    patches.push_back(patch(1, rect(500940, 3940300, 501040, 3940400)));
    const auto parcels = run(OverlayConfig{}, std::move(patches));
    ASSERT_EQ(parcels.size(), 2u);  // nothing to split at
    for (const auto& parcel : parcels) {
        EXPECT_EQ(parcel.township_name, kUnassignedTownship);
        EXPECT_NEAR(parcel.area_m2, 10000.0, 1e-6);
    }
    EXPECT_EQ(parcels[0].patch_id, 1);
    EXPECT_EQ(parcels[0].id, 1);
    EXPECT_EQ(parcels[1].patch_id, 2);
}

TEST_F(OverlayTest, IdsFollowTownshipCodeThenPatchIdWithUnassignedLast) {
    std::vector<Parcel> patches;
    patches.push_back(patch(9, rect(503000, 3940100, 503100, 3940200)));  // outside
    patches.push_back(patch(8, rect(501500, 3940100, 501600, 3940200)));  // 化峪镇
    patches.push_back(patch(6, rect(500500, 3940100, 500600, 3940200)));  // 稷峰镇
    patches.push_back(patch(4, rect(500940, 3940300, 501040, 3940400)));  // both
    const auto parcels = run(config_with_townships(), std::move(patches));
    ASSERT_EQ(parcels.size(), 5u);
    const std::vector<std::pair<std::string, std::int64_t>> expected = {
        {kJifengCode, 4}, {kJifengCode, 6}, {kHuayuCode, 4}, {kHuayuCode, 8}, {"", 9}};
    for (std::size_t i = 0; i < parcels.size(); ++i) {
        EXPECT_EQ(parcels[i].id, static_cast<std::int64_t>(i) + 1);
        EXPECT_EQ(parcels[i].township_code, expected[i].first) << i;
        EXPECT_EQ(parcels[i].patch_id, expected[i].second) << i;
    }
}

TEST_F(OverlayTest, TownshipLayerInGeographicCgcs2000LandsParcelsInTheRightTownship) {
    // EPSG:4490 declares latitude first; the file holds x = longitude. 稷峰镇 covers
    // lon 110.85–110.95, 化峪镇 lon 110.95–111.05, both lat 35.55–35.65.
    const auto path = write_gpkg("townships_4490", {{"xzq",
                                                     4490,
                                                     {"XZMC", "XZQDM"},
                                                     {{rect(110.85, 35.55, 110.95, 35.65), {kJifeng, kJifengCode}},
                                                      {rect(110.95, 35.55, 111.05, 35.65), {kHuayu, kHuayuCode}}}}});
    OverlayConfig config;
    config.townships.path = path;
    std::vector<Parcel> patches;
    // lon 110.9, lat 35.6 is (490938.3, 3941165.2) in EPSG:4546; lon 111.0 is on the central meridian.
    patches.push_back(patch(1, rect(490900, 3941100, 491000, 3941200)));
    patches.push_back(patch(2, rect(500000, 3941100, 500100, 3941200)));
    const auto image_srs = epsg(4546);
    OverlayStage stage(config, *image_srs, 110.9, 35.6);
    stage.validate();
    EXPECT_STREQ(stage.area_crs().GetAuthorityCode(nullptr), "4546");
    const auto parcels = stage.run(std::move(patches));
    ASSERT_EQ(parcels.size(), 2u);
    EXPECT_EQ(parcels[0].patch_id, 1);
    EXPECT_EQ(parcels[0].township_name, kJifeng);
    EXPECT_EQ(parcels[1].patch_id, 2);
    EXPECT_EQ(parcels[1].township_name, kHuayu);
    EXPECT_NEAR(parcels[0].area_m2, 10000.0, 1e-6);
}

TEST_F(OverlayTest, ImageCrsOtherThanAreaCrsCutsInAreaCrsAndReturnsImageGeometry) {
    // Imagery in WGS 84 / UTM 49N (same central meridian, scale 0.9996), areas in EPSG:4546.
    auto config = config_with_townships();
    config.area_crs = "EPSG:4546";
    const auto gk = epsg(4546);
    const auto utm = epsg(32649);
    std::unique_ptr<OGRCoordinateTransformation> to_utm(OGRCreateCoordinateTransformation(gk.get(), utm.get()));
    auto geometry = from_wkt(rect(500940, 3940300, 501040, 3940400));
    ASSERT_EQ(geometry->transform(to_utm.get()), OGRERR_NONE);
    const double image_area = area_of(*geometry);
    Parcel input;
    input.patch_id = 1;
    input.pixel_count = 10;
    input.geometry = std::move(geometry);
    const auto parcels = run(std::move(config), one(std::move(input)), 32649);
    ASSERT_EQ(parcels.size(), 2u);
    EXPECT_EQ(parcels[0].township_name, kJifeng);
    EXPECT_EQ(parcels[1].township_name, kHuayu);
    EXPECT_NEAR(parcels[0].area_m2, 6000.0, 0.01);
    EXPECT_NEAR(parcels[1].area_m2, 4000.0, 0.01);
    EXPECT_NEAR(parcels[0].centroid_x, 500970.0, 0.01);  // centroids are in the area CRS
    // The pieces are back in the image CRS: UTM areas are 0.9996² of GK areas.
    EXPECT_NEAR(area_of(*parcels[0].geometry) + area_of(*parcels[1].geometry), image_area, 1e-3);
    EXPECT_NEAR(area_of(*parcels[0].geometry), 6000.0 * 0.9996 * 0.9996, 0.5);
    EXPECT_EQ(parcels[0].pixel_count + parcels[1].pixel_count, 10);
}

// ---------------------------------------------------------------------------------------------
// cultivated land

TEST_F(OverlayTest, OnlyConfiguredClassesCountAsCultivated) {
    auto config = config_with_townships();
    // West half of the parcel is 水田 (0101), east half orchard (0201, not cultivated).
    config.cultivated.path = write_gpkg(
        "dltb",
        {{"DLTB",
          4546,
          {"DLBM"},
          {{rect(500100, 3940100, 500150, 3940200), {"0101"}}, {rect(500150, 3940100, 500200, 3940200), {"0201"}}}}});
    const auto parcels = run(std::move(config), one(patch(1, rect(500100, 3940100, 500200, 3940200))));
    ASSERT_EQ(parcels.size(), 1u);
    EXPECT_NEAR(parcels[0].cultivated_m2, 5000.0, 1e-6);
    EXPECT_EQ(to_centimu(parcels[0].cultivated_m2), 750);
}

TEST_F(OverlayTest, OverlappingCultivatedPolygonsAreNotCountedTwice) {
    auto config = config_with_townships();
    // 0102 covers x 500400–500470 and 0103 (with stray blanks) x 500430–500500: together the
    // whole parcel, overlapping by 30 m.
    config.cultivated.path = write_gpkg(
        "dltb_overlap",
        {{"DLTB",
          4546,
          {"DLBM"},
          {{rect(500400, 3940100, 500470, 3940200), {"0102"}}, {rect(500430, 3940100, 500500, 3940200), {" 0103 "}}}}});
    const auto parcels = run(std::move(config), one(patch(1, rect(500400, 3940100, 500500, 3940200))));
    ASSERT_EQ(parcels.size(), 1u);
    EXPECT_NEAR(parcels[0].cultivated_m2, 10000.0, 1e-6);  // not 14000
}

TEST_F(OverlayTest, CultivatedAreaIsPerTownshipPiece) {
    auto config = config_with_townships();
    // Cultivated land x 500980–501020 under a parcel x 500940–501040 split at 501000.
    config.cultivated.path =
        write_gpkg("dltb_split", {{"DLTB", 4546, {"DLBM"}, {{rect(500980, 3940300, 501020, 3940400), {"0103"}}}}});
    const auto parcels = run(std::move(config), one(patch(1, rect(500940, 3940300, 501040, 3940400))));
    ASSERT_EQ(parcels.size(), 2u);
    EXPECT_NEAR(parcels[0].cultivated_m2, 2000.0, 1e-6);
    EXPECT_NEAR(parcels[1].cultivated_m2, 2000.0, 1e-6);
}

TEST_F(OverlayTest, ThousandsOfParcelsOnTensOfThousandsOfCultivatedPolygons) {
    // A 200 x 100 checkerboard of 10 m cells (20000 polygons): 0101 where (i + j) is even,
    // 0201 elsewhere. Each 20 m parcel covers 2 x 2 cells, so exactly half is cultivated.
    LayerSpec dltb{"DLTB", 4546, {"DLBM"}, {}};
    for (int j = 0; j < 100; ++j)
        for (int i = 0; i < 200; ++i)
            dltb.features.push_back({rect(500000 + i * 10.0, 3940000 + j * 10.0, 500010 + i * 10.0, 3940010 + j * 10.0),
                                     {(i + j) % 2 == 0 ? "0101" : "0201"}});
    auto config = config_with_townships();
    config.cultivated.path = write_gpkg("dltb_many", {dltb});
    std::vector<Parcel> patches;
    std::int64_t next = 1;
    for (int j = 0; j < 50; ++j)
        for (int i = 0; i < 100; i += 2)  // 2500 parcels, one cell apart
            patches.push_back(
                patch(next++, rect(500000 + i * 20.0, 3940000 + j * 20.0, 500020 + i * 20.0, 3940020 + j * 20.0)));
    const auto parcels = run(std::move(config), std::move(patches));
    ASSERT_EQ(parcels.size(), 2500u);
    double cultivated = 0;
    for (const auto& parcel : parcels) {
        ASSERT_NEAR(parcel.cultivated_m2, 200.0, 1e-6) << parcel.patch_id;
        cultivated += parcel.cultivated_m2;
    }
    EXPECT_NEAR(cultivated, 2500 * 200.0, 1e-3);
}

// ---------------------------------------------------------------------------------------------
// errors

TEST_F(OverlayTest, MissingTownshipFileNamesThePathAndTheKey) {
    OverlayConfig config;
    config.townships.path = "/vsimem/overlay_test/nowhere/xzq.gpkg";
    const auto message = error_of([&] { run(config, {}); });
    EXPECT_NE(message.find("overlay: townships file '/vsimem/overlay_test/nowhere/xzq.gpkg' does not exist"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("check overlay.townships.path"), std::string::npos) << message;
    EXPECT_THROW(run(config, {}), InputError);
}

TEST_F(OverlayTest, MissingNameFieldListsTheFieldsAndTheKey) {
    OverlayConfig config;
    config.townships.path = write_gpkg(
        "townships_fields", {{"xzq", 4546, {"NAME", "CODE"}, {{rect(500000, 3940000, 501000, 3941000), {"a", "1"}}}}});
    const auto message = error_of([&] { run(config, {}); });
    EXPECT_EQ(message, "overlay: townships layer '" + config.townships.path +
                           "' has no field 'XZMC' (fields: NAME, CODE); set overlay.townships.name_field");
}

TEST_F(OverlayTest, MissingCodeFieldNamesItsKey) {
    OverlayConfig config;
    config.townships.path = write_gpkg(
        "townships_code", {{"xzq", 4546, {"XZMC", "CODE"}, {{rect(500000, 3940000, 501000, 3941000), {"a", "1"}}}}});
    const auto message = error_of([&] { run(config, {}); });
    EXPECT_NE(message.find("has no field 'XZQDM' (fields: XZMC, CODE); set overlay.townships.code_field"),
              std::string::npos)
        << message;
}

TEST_F(OverlayTest, MissingClassFieldNamesItsKey) {
    auto config = config_with_townships();
    config.cultivated.path =
        write_gpkg("dltb_fields", {{"DLTB", 4546, {"CLASS"}, {{rect(500000, 3940000, 500010, 3940010), {"0101"}}}}});
    const auto message = error_of([&] { run(config, {}); });
    EXPECT_EQ(message, "overlay: cultivated layer '" + config.cultivated.path +
                           "' has no field 'DLBM' (fields: CLASS); set overlay.cultivated.class_field");
}

TEST_F(OverlayTest, UnknownLayerListsTheLayers) {
    OverlayConfig config;
    config.townships.path = write_gpkg(
        "townships_layers", {{"xzq", 4546, {"XZMC", "XZQDM"}, {{rect(500000, 3940000, 501000, 3941000), {"a", "1"}}}},
                             {"roads", 4546, {"NAME"}, {}}});
    config.townships.layer = "XZQJX";
    const auto message = error_of([&] { run(config, {}); });
    EXPECT_NE(message.find("overlay: townships file '" + config.townships.path + "' has no layer 'XZQJX' (layers: "),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("xzq"), std::string::npos) << message;
    EXPECT_NE(message.find("roads"), std::string::npos) << message;
    EXPECT_NE(message.find("set overlay.townships.layer"), std::string::npos) << message;
}

TEST_F(OverlayTest, NamedLayerIsUsedAndMessagesNameIt) {
    OverlayConfig config;
    config.townships.path = write_gpkg(
        "townships_named",
        {{"roads", 4546, {"NAME"}, {}},
         {"xzq", 4546, {"XZMC", "XZQDM"}, {{rect(500000, 3940000, 501000, 3941000), {kJifeng, kJifengCode}}}}});
    config.townships.layer = "xzq";
    const auto parcels = run(config, one(patch(1, rect(500100, 3940100, 500200, 3940200))));
    ASSERT_EQ(parcels.size(), 1u);
    EXPECT_EQ(parcels[0].township_name, kJifeng);
    config.townships.name_field = "MC";
    EXPECT_EQ(error_of([&] { run(config, {}); }),
              "overlay: townships layer 'xzq' in '" + config.townships.path +
                  "' has no field 'MC' (fields: XZMC, XZQDM); set overlay.townships.name_field");
}

TEST_F(OverlayTest, LayerWithoutCrsIsRejected) {
    OverlayConfig config;
    config.townships.path = write_gpkg(
        "townships_nocrs", {{"xzq", 0, {"XZMC", "XZQDM"}, {{rect(500000, 3940000, 501000, 3941000), {"a", "1"}}}}});
    const auto message = error_of([&] { run(config, {}); });
    EXPECT_NE(message.find("overlay: townships layer '" + config.townships.path + "' has no CRS; assign"),
              std::string::npos)
        << message;
}

TEST_F(OverlayTest, LayerDeclaringTheWrongCrsIsRejected) {
    // Declares geographic CGCS2000 but holds EPSG:4546 metres: latitude 3940000 cannot exist.
    OverlayConfig config;
    config.townships.path =
        write_gpkg("townships_wrongcrs",
                   {{"xzq", 4490, {"XZMC", "XZQDM"}, {{rect(500000, 3940000, 501000, 3941000), {"a", "1"}}}}});
    const auto message = error_of([&] { run(config, {}); });
    EXPECT_NE(message.find("overlay: townships layer '" + config.townships.path +
                           "' feature 1 cannot be transformed from EPSG:4490 to the area CRS EPSG:4546"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("check the layer's CRS"), std::string::npos) << message;
}

TEST_F(OverlayTest, BadAreaCrsIsAConfigError) {
    OverlayConfig config;
    config.area_crs = "EPSG:99999";
    EXPECT_EQ(error_of([&] { run(config, {}); }),
              "config: overlay.area_crs: cannot parse 'EPSG:99999' as a CRS; give an EPSG code such as EPSG:4546 or a "
              "WKT");
    config.area_crs = "EPSG:4490";
    const auto message = error_of([&] { run(config, {}); });
    EXPECT_NE(message.find("is not a projected CRS"), std::string::npos) << message;
    EXPECT_THROW(run(config, {}), ConfigError);
}

}  // namespace
}  // namespace weipian
