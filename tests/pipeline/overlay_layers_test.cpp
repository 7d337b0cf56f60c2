// Overlay stage against the township and cultivated layers people actually have: a GBK
// Shapefile without .cpg, a self-intersecting township outline, a layer that leaves many
// parcels unassigned, features without a name. Coordinates are EPSG:4546 near Jishan.
#include "pipeline/overlay.hpp"

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogrsf_frmts.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/core/config.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/wkt.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

constexpr const char* kJifeng = "稷峰镇";
// 稷峰镇 in GBK (CP936), as ArcGIS / 南方CASS write it into a .dbf.
constexpr const char* kJifengGbk = "\xf0\xa2\xb7\xe5\xd5\xf2";
constexpr const char* kPaddyGbk = "\xcb\xae\xcc\xef";  // 水田

std::string rect(double x0, double y0, double x1, double y1) {
    char buffer[256];
    std::snprintf(buffer, sizeof buffer, "POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))", x0, y0, x1, y0,
                  x1, y1, x0, y1, x0, y0);
    return buffer;
}

OGRGeometryUniquePtr from_wkt(const std::string& wkt) {
    OGRGeometry* geometry = nullptr;
    EXPECT_EQ(OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &geometry), OGRERR_NONE) << wkt;
    return OGRGeometryUniquePtr(geometry);
}

OGRSpatialReference gk_zone_37() {
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

struct Feature {
    std::string wkt;
    std::vector<std::string> values;  // raw bytes, one per field
};

// Writes a polygon layer with string fields. For "ESRI Shapefile" the DBF is written with no
// code page at all (ENCODING="": no .cpg, LDID 0), so the bytes land in it as given.
void write_layer(const fs::path& path, const char* driver_name, const std::vector<std::string>& fields,
                 const std::vector<Feature>& features) {
    ensure_gdal_registered();
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName(driver_name);
    ASSERT_NE(driver, nullptr);
    GDALDatasetUniquePtr ds(driver->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    ASSERT_NE(ds, nullptr) << path;
    auto srs = gk_zone_37();
    const bool shapefile = std::string(driver_name) == "ESRI Shapefile";
    const char* shp_options[] = {"ENCODING=", nullptr};
    OGRLayer* layer = ds->CreateLayer(path.stem().c_str(), &srs, wkbPolygon,
                                      shapefile ? const_cast<char**>(shp_options) : nullptr);
    ASSERT_NE(layer, nullptr);
    for (const auto& name : fields) {
        OGRFieldDefn field(name.c_str(), OFTString);
        field.SetWidth(32);
        ASSERT_EQ(layer->CreateField(&field), OGRERR_NONE);
    }
    for (const auto& spec : features) {
        OGRFeatureUniquePtr feature(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        for (std::size_t i = 0; i < spec.values.size(); ++i) feature->SetField(static_cast<int>(i), spec.values[i].c_str());
        feature->SetGeometryDirectly(from_wkt(spec.wkt).release());
        ASSERT_EQ(layer->CreateFeature(feature.get()), OGRERR_NONE);
    }
}

Parcel patch(std::int64_t id, const std::string& wkt) { return test::patch_from_wkt(id, wkt); }

class OverlayLayers : public ::testing::Test {
protected:
    static void SetUpTestSuite() { ensure_gdal_registered(); }

    std::vector<Parcel> run(const OverlayConfig& config, std::vector<Parcel> patches) {
        const auto srs = gk_zone_37();
        OverlayStage stage(config, srs, 110.9, 35.6);
        stage.validate();
        return stage.run(std::move(patches));
    }

    // 稷峰镇 over x 500000–501000, y 3940000–3941000, as a Shapefile whose DBF holds GBK bytes.
    fs::path gbk_townships() {
        const fs::path shp = dir_ / "xzq.shp";
        write_layer(shp, "ESRI Shapefile", {"XZMC", "XZQDM"},
                    {{rect(500000, 3940000, 501000, 3941000), {kJifengGbk, "140824100"}}});
        fs::remove(dir_ / "xzq.cpg");  // as such files arrive: no .cpg, no code page (LDID 0) in the DBF
        const std::string dbf = test::read_text(dir_ / "xzq.dbf");
        EXPECT_EQ(dbf.at(29), '\0');
        EXPECT_NE(dbf.find(kJifengGbk), std::string::npos);
        return shp;
    }

    std::vector<Parcel> one_inside() {
        std::vector<Parcel> patches;
        patches.push_back(patch(1, rect(500100, 3940100, 500130, 3940130)));
        return patches;
    }

    test::TempDir dir_;
};

TEST_F(OverlayLayers, GbkShapefileWithoutCpgGivesUtf8NamesAndAWarningNamingTheFix) {
    OverlayConfig config;
    config.townships.path = gbk_townships().string();
    test::LogCapture log;
    const auto parcels = run(config, one_inside());
    ASSERT_EQ(parcels.size(), 1u);
    EXPECT_EQ(parcels[0].township_name, kJifeng);
    EXPECT_EQ(parcels[0].township_code, "140824100");
    const std::string text = log.text();
    EXPECT_NE(text.find("warning: overlay: townships layer '" + config.townships.path +
                        "' has text that is not valid UTF-8 (feature 0, field XZMC); read it as GBK (CP936), giving "
                        "'稷峰镇'"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("add a file '" + (dir_ / "xzq.cpg").string() +
                        "' containing GBK next to the .shp, or set overlay.townships.encoding: GBK"),
              std::string::npos)
        << text;
}

TEST_F(OverlayLayers, EncodingKeyGbkReadsTheShapefileAsGbkWithoutAWarning) {
    OverlayConfig config;
    config.townships.path = gbk_townships().string();
    config.townships.encoding = "GBK";
    test::LogCapture log;
    const auto parcels = run(config, one_inside());
    ASSERT_EQ(parcels.size(), 1u);
    EXPECT_EQ(parcels[0].township_name, kJifeng);
    EXPECT_EQ(log.text().find("not valid UTF-8"), std::string::npos) << log.text();
}

TEST_F(OverlayLayers, EncodingKeyUtf8RefusesGbkTextNamingFeatureFieldAndKey) {
    OverlayConfig config;
    config.townships.path = gbk_townships().string();
    config.townships.encoding = "UTF-8";
    try {
        run(config, one_inside());
        FAIL() << "no InputError";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "overlay: townships layer '" + config.townships.path +
                      "' feature 0 field XZMC holds text that is not valid UTF-8 although overlay.townships.encoding "
                      "is UTF-8; set overlay.townships.encoding: GBK (or auto) if the file is in GBK");
    }
}

TEST_F(OverlayLayers, GbkCultivatedClassesMatchTheirUtf8Names) {
    OverlayConfig config;
    config.townships.path = gbk_townships().string();
    config.cultivated.path = (dir_ / "dltb.shp").string();
    config.cultivated.classes = {"水田"};
    write_layer(dir_ / "dltb.shp", "ESRI Shapefile", {"DLMC"}, {{rect(500100, 3940100, 500110, 3940130), {kPaddyGbk}}});
    fs::remove(dir_ / "dltb.cpg");
    config.cultivated.class_field = "DLMC";
    test::LogCapture log;
    const auto parcels = run(config, one_inside());
    ASSERT_EQ(parcels.size(), 1u);
    EXPECT_NEAR(parcels[0].cultivated_m2, 300.0, 1e-6);
    EXPECT_NE(log.text().find("cultivated layer '" + config.cultivated.path + "' has text that is not valid UTF-8 "
                              "(feature 0, field DLMC); read it as GBK (CP936), giving '水田'"),
              std::string::npos)
        << log.text();
}

TEST_F(OverlayLayers, EncodingKeysAreDeclaredWithTheirChoices) {
    const auto config = Config::parse("overlay:\n  townships: {encoding: GBK}\n  cultivated: {encoding: UTF-8}\n", "t.yaml");
    EXPECT_EQ(config.overlay.townships.encoding, "GBK");
    EXPECT_EQ(config.overlay.cultivated.encoding, "UTF-8");
    EXPECT_EQ(Config{}.overlay.townships.encoding, "auto");
    try {
        Config::parse("overlay: {townships: {encoding: latin1}}\n", "t.yaml");
        FAIL() << "no ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("overlay.townships.encoding': 'latin1' is not one of: auto, UTF-8, GBK"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(OverlayLayers, BowTieTownshipIsRepairedWithAWarningNamingTheFeature) {
    // Feature 1 was drawn as the square x 500000–501000 with two corners swapped: a bow-tie
    // whose lobes are the left and right triangles meeting at (500500, 3940500).
    const fs::path path = dir_ / "xzq.gpkg";
    write_layer(path, "GPKG", {"XZMC", "XZQDM"},
                {{"POLYGON ((500000 3940000,501000 3941000,501000 3940000,500000 3941000,500000 3940000))",
                  {kJifeng, "140824100"}},
                 {rect(501000, 3940000, 502000, 3941000), {"化峪镇", "140824102"}}});
    OverlayConfig config;
    config.townships.path = path.string();
    std::vector<Parcel> patches;
    patches.push_back(patch(1, rect(500050, 3940450, 500100, 3940550)));  // left lobe
    patches.push_back(patch(2, rect(500900, 3940450, 500950, 3940550)));  // right lobe
    patches.push_back(patch(3, rect(501500, 3940450, 501550, 3940550)));  // 化峪镇
    test::LogCapture log;
    const auto parcels = run(config, std::move(patches));
    ASSERT_EQ(parcels.size(), 3u);
    std::map<std::int64_t, std::string> township;
    for (const auto& p : parcels) township[p.patch_id] = p.township_name;
    EXPECT_EQ(township[1], kJifeng);
    EXPECT_EQ(township[2], kJifeng);
    EXPECT_EQ(township[3], "化峪镇");
    EXPECT_NE(log.text().find("warning: overlay: townships layer '" + path.string() +
                              "' feature 1 (XZMC '稷峰镇') is not a valid polygon (its outline crosses itself); "
                              "repaired with GEOS MakeValid to 500000 m²; check and fix that outline in the file"),
              std::string::npos)
        << log.text();
}

TEST_F(OverlayLayers, RingThatLoopsOverItselfKeepsTheLandItEnclosesTwice) {
    // The outline runs round the square, then round it again inside (a digitising slip): the
    // middle is enclosed twice. A parity repair would make it a hole and its parcels unassigned.
    const fs::path path = dir_ / "xzq.gpkg";
    write_layer(path, "GPKG", {"XZMC", "XZQDM"},
                {{"POLYGON ((500000 3940000,501000 3940000,501000 3941000,500000 3941000,500000 3940100,500900 3940100,"
                  "500900 3940900,500100 3940900,500100 3940000,500000 3940000))",
                  {kJifeng, "140824100"}}});
    OverlayConfig config;
    config.townships.path = path.string();
    std::vector<Parcel> patches;
    patches.push_back(patch(1, rect(500480, 3940480, 500520, 3940520)));  // the middle
    patches.push_back(patch(2, rect(500020, 3940500, 500060, 3940540)));  // between the two rounds
    test::LogCapture log;
    const auto parcels = run(config, std::move(patches));
    ASSERT_EQ(parcels.size(), 2u);
    EXPECT_EQ(parcels[0].township_name, kJifeng);
    EXPECT_EQ(parcels[1].township_name, kJifeng);
    EXPECT_NE(log.text().find("feature 1 (XZMC '稷峰镇') is not a valid polygon (its outline crosses itself); "
                              "repaired with GEOS MakeValid to 990000 m²"),
              std::string::npos)
        << log.text();
}

TEST_F(OverlayLayers, ManyUnassignedParcelsAreWarnedAbout) {
    const fs::path path = dir_ / "xzq.gpkg";
    write_layer(path, "GPKG", {"XZMC", "XZQDM"}, {{rect(500000, 3940000, 501000, 3941000), {kJifeng, "140824100"}}});
    OverlayConfig config;
    config.townships.path = path.string();
    std::vector<Parcel> patches;
    for (int i = 0; i < 8; ++i) patches.push_back(patch(i + 1, rect(500100 + i * 50, 3940100, 500120 + i * 50, 3940120)));
    for (int i = 0; i < 2; ++i) patches.push_back(patch(i + 9, rect(503100 + i * 50, 3940100, 503120 + i * 50, 3940120)));
    test::LogCapture log;
    const auto parcels = run(config, std::move(patches));
    ASSERT_EQ(parcels.size(), 10u);
    EXPECT_EQ(std::count_if(parcels.begin(), parcels.end(), [](const Parcel& p) { return p.township_name == "unassigned"; }), 2);
    EXPECT_NE(log.text().find("warning: overlay: 2 of 10 parcels (20 % of the parcel area) fall outside every township "
                              "of '" + path.string() + "' and are listed as 'unassigned'"),
              std::string::npos)
        << log.text();
}

TEST_F(OverlayLayers, AFewUnassignedParcelsAreNotWarnedAbout) {
    const fs::path path = dir_ / "xzq.gpkg";
    write_layer(path, "GPKG", {"XZMC", "XZQDM"}, {{rect(500000, 3940000, 501000, 3941000), {kJifeng, "140824100"}}});
    OverlayConfig config;
    config.townships.path = path.string();
    std::vector<Parcel> patches;
    for (int i = 0; i < 19; ++i) patches.push_back(patch(i + 1, rect(500100 + i * 40, 3940100, 500120 + i * 40, 3940120)));
    patches.push_back(patch(20, rect(503100, 3940100, 503120, 3940120)));  // 1 of 20 = 5 %
    test::LogCapture log;
    const auto parcels = run(config, std::move(patches));
    EXPECT_EQ(parcels.back().township_name, "unassigned");
    EXPECT_EQ(log.text().find("fall outside every township"), std::string::npos) << log.text();
}

TEST_F(OverlayLayers, FeaturesWithEmptyNamesAreWarnedAboutByFid) {
    const fs::path path = dir_ / "xzq.gpkg";
    write_layer(path, "GPKG", {"XZMC", "XZQDM"},
                {{rect(500000, 3940000, 501000, 3941000), {kJifeng, "140824100"}},
                 {rect(501000, 3940000, 502000, 3941000), {"  ", "140824102"}}});
    OverlayConfig config;
    config.townships.path = path.string();
    test::LogCapture log;
    run(config, one_inside());
    EXPECT_NE(log.text().find("warning: overlay: townships layer '" + path.string() +
                              "' has features with an empty XZMC (FID 2); parcels in them get no township name; "
                              "fill in the names or set overlay.townships.name_field"),
              std::string::npos)
        << log.text();
}

}  // namespace
}  // namespace weipian
