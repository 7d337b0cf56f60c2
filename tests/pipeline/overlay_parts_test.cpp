// The enforcement overlay of pipeline/overlay.hpp on hand-made layers: the form's area parts
// from DLTB (GB/T 21010 groups, pipeline/land_class.hpp) and their identity to 0.01 亩,
// 永久基本农田 and 红线 areas, the village, approval shares and numbers, per township piece,
// and the messages refusing a layer. Parcels are in EPSG:4546 near Jishan; rectangles make
// every expected area exact.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogrsf_frmts.h>

#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/core/config.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/form_fields.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/units.hpp"
#include "pipeline/land_class.hpp"
#include "pipeline/overlay.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/wkt.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

constexpr double kY0 = 3940100, kY1 = 3940200;  // every rectangle spans these northings

std::string rect(double x0, double x1, double y0 = kY0, double y1 = kY1) { return test::rect_wkt(x0, y0, x1, y1); }

OGRGeometryUniquePtr from_wkt(const std::string& wkt) { return test::geometry_from_wkt(wkt); }

OGRSpatialReference srs_of(int epsg) {
    OGRSpatialReference srs;
    srs.importFromEPSG(epsg);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

struct Feature {
    std::string wkt;                  // EPSG:4546
    std::vector<std::string> values;  // one per field
};

// A GeoPackage with one polygon layer `layer` of string fields in EPSG:`epsg`; the features,
// given in EPSG:4546, are transformed to it (x = lon/easting).
std::string write_layer(const fs::path& path, const std::string& layer_name, const std::vector<std::string>& fields,
                        const std::vector<Feature>& features, int epsg = 4546) {
    ensure_gdal_registered();
    GDALDatasetUniquePtr ds(
        GetGDALDriverManager()->GetDriverByName("GPKG")->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    EXPECT_NE(ds, nullptr) << path;
    auto srs = srs_of(epsg);
    const auto gk = srs_of(4546);
    std::unique_ptr<OGRCoordinateTransformation> to_layer(
        epsg == 4546 ? nullptr : OGRCreateCoordinateTransformation(&gk, &srs));
    OGRLayer* layer = ds->CreateLayer(layer_name.c_str(), &srs, wkbPolygon, nullptr);
    for (const auto& name : fields) {
        OGRFieldDefn field(name.c_str(), OFTString);
        EXPECT_EQ(layer->CreateField(&field), OGRERR_NONE);
    }
    for (const auto& spec : features) {
        OGRFeatureUniquePtr feature(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        for (std::size_t i = 0; i < spec.values.size(); ++i) feature->SetField(static_cast<int>(i), spec.values[i].c_str());
        auto geometry = from_wkt(spec.wkt);
        if (to_layer) {
            EXPECT_EQ(geometry->transform(to_layer.get()), OGRERR_NONE);
        }
        feature->SetGeometryDirectly(geometry.release());
        EXPECT_EQ(layer->CreateFeature(feature.get()), OGRERR_NONE);
    }
    return path.string();
}

Parcel patch(std::int64_t id, const std::string& wkt) { return test::patch_from_wkt(id, wkt); }

// The identity of the form, in m² and in hundredths of a 亩.
void expect_identity(const Parcel& p) {
    const auto& land = p.overlay.land;
    EXPECT_NEAR(p.cultivated_m2 + land.other_agricultural_m2 + land.unused_m2 + land.construction_m2 + land.unsurveyed_m2,
                p.area_m2, 1e-4)
        << "parcel " << p.id;
    const auto mu = land_parts_centimu(p);
    EXPECT_EQ(mu.total, to_centimu(p.area_m2));
    EXPECT_EQ(mu.cultivated + mu.other_agricultural + mu.unused + mu.construction + mu.unsurveyed, mu.total);
    // Each part is within 0.01 亩 of its own rounding: the identity holds without moving land.
    EXPECT_LE(std::abs(mu.cultivated - to_centimu(p.cultivated_m2)), 1);
    EXPECT_LE(std::abs(mu.construction - to_centimu(land.construction_m2)), 1);
    EXPECT_LE(std::abs(mu.unsurveyed - to_centimu(land.unsurveyed_m2)), 1);
}

class OverlayParts : public ::testing::Test {
protected:
    static void SetUpTestSuite() { ensure_gdal_registered(); }

    std::vector<Parcel> run(const OverlayConfig& config, std::vector<Parcel> patches) {
        const auto srs = srs_of(4546);
        OverlayStage stage(config, srs, 110.9, 35.6);
        stage.validate();
        return stage.run(std::move(patches));
    }
    std::vector<Parcel> run_one(const OverlayConfig& config, double x0 = 500100, double x1 = 500200) {
        std::vector<Parcel> patches;
        patches.push_back(patch(1, rect(x0, x1)));
        return run(config, std::move(patches));
    }
    std::string refused(const OverlayConfig& config) {
        return test::message_of<InputError>([&] { run_one(config); });
    }
    std::string dltb(const std::vector<Feature>& features, const std::vector<std::string>& fields = {"DLBM", "CZCSXM"}) {
        return write_layer(dir / ("dltb" + std::to_string(++files) + ".gpkg"), "DLTB", fields, features);
    }

    test::TempDir dir;
    int files = 0;
};

// ---------------------------------------------------------------------------------------------
// the class table

TEST(LandClass, GroupsFollowGbT21010ThreeCategories) {
    const LandClassTable table({"0101", "0102", "0103"});
    EXPECT_EQ(table.group_of("0101"), LandGroup::Cultivated);
    EXPECT_EQ(table.group_of(" 0103 "), LandGroup::Cultivated);
    for (const char* c : {"0201", "0204", "0301", "0307", "0401", "0402", "0403", "1006", "1103", "1104", "1107", "1202", "1203"})
        EXPECT_EQ(table.group_of(c), LandGroup::OtherAgricultural) << c;
    for (const char* c : {"0404", "1101", "1102", "1105", "1106", "1108", "1110", "1204", "1205", "1206", "1207"})
        EXPECT_EQ(table.group_of(c), LandGroup::Unused) << c;
    for (const char* c : {"05H1", "0508", "0601", "0602", "0603", "0701", "0702", "08H1", "08H2", "0809", "0810", "0810A",
                          "09", "1001", "1003", "1004", "1009", "1109", "1201"})
        EXPECT_EQ(table.group_of(c), LandGroup::Construction) << c;
    // 可调整 (K) and 三调 A classes go with their base class; a K class is not 耕地.
    for (const char* c : {"0201K", "0301K", "0403K", "1104K", "1104A", "1107A"})
        EXPECT_EQ(table.group_of(c), LandGroup::OtherAgricultural) << c;
    for (const char* c : {"9999", "", "0199", "水田", "0404K1", "K"}) EXPECT_FALSE(table.group_of(c).has_value()) << c;
    // A 01 class left out of the configuration is still 农用地, but not 耕地.
    EXPECT_EQ(LandClassTable({"0101"}).group_of("0103"), LandGroup::OtherAgricultural);
    // Configured values may be names.
    EXPECT_EQ(LandClassTable({"水田"}).group_of("水田"), LandGroup::Cultivated);
    EXPECT_STREQ(land_group_name(LandGroup::OtherAgricultural), "非耕农用地");
    EXPECT_TRUE(is_urban_village_code("203"));
    EXPECT_TRUE(is_urban_village_code(" 203A"));
    EXPECT_FALSE(is_urban_village_code("202"));
}

// ---------------------------------------------------------------------------------------------
// the area parts

TEST_F(OverlayParts, PartsOnRectanglesAreExactAndAddUpToTheArea) {
    OverlayConfig config;
    // x 500100–500200 (10000 m²): 0101 25 m, 0201K 15 m, 1202 10 m, 0404 5 m, 1006 5 m,
    // 0702 (village 203) 15 m, no DLTB 10 m, 1003 15 m.
    config.cultivated.path = dltb({{rect(500100, 500125), {"0101", "203"}},
                                   {rect(500125, 500140), {"0201K", ""}},
                                   {rect(500140, 500150), {"1202", ""}},
                                   {rect(500150, 500155), {"0404", ""}},
                                   {rect(500155, 500160), {"1006", ""}},
                                   {rect(500160, 500175), {"0702", "203"}},
                                   {rect(500185, 500200), {"1003", "202"}}});
    const auto parcels = run_one(config);
    ASSERT_EQ(parcels.size(), 1u);
    const auto& p = parcels[0];
    const auto& land = p.overlay.land;
    EXPECT_TRUE(p.overlay.land_assessed);
    EXPECT_NEAR(p.area_m2, 10000, 1e-6);
    EXPECT_NEAR(p.cultivated_m2, 2500, 1e-6);
    EXPECT_NEAR(land.other_agricultural_m2, 1500 + 1000 + 500, 1e-6);
    EXPECT_NEAR(land.unused_m2, 500, 1e-6);
    EXPECT_NEAR(land.construction_m2, 1500 + 1500, 1e-6);
    EXPECT_NEAR(land.unsurveyed_m2, 1000, 1e-6);
    EXPECT_NEAR(land.facility_m2, 1000, 1e-6);
    EXPECT_NEAR(land.rural_road_m2, 500, 1e-6);
    EXPECT_NEAR(land.homestead_m2, 1500, 1e-6);
    EXPECT_NEAR(land.urban_village_m2, 2500 + 1500, 1e-6);
    EXPECT_EQ(land.dominant_class, "0101");
    expect_identity(p);
    const auto mu = land_parts_centimu(p);
    EXPECT_EQ(mu.total, 1500);
    EXPECT_EQ(mu.cultivated, 375);
    EXPECT_EQ(mu.other_agricultural, 450);
    EXPECT_EQ(mu.unused, 75);
    EXPECT_EQ(mu.construction, 450);
    EXPECT_EQ(mu.unsurveyed, 150);
}

TEST_F(OverlayParts, OverlappingDltbPolygonsAreAssignedOnceInTheFormsOrder) {
    OverlayConfig config;
    // 1003 x 500100–500170 over 0101 x 500130–500200 (overlap 40 m: 耕地 first), and 0404
    // x 500100–500120 drawn again as 0201 x 500100–500110 (非耕农用地 before 未利用地).
    config.cultivated.path = dltb({{rect(500100, 500170), {"1003", ""}},
                                   {rect(500130, 500200), {"0101", ""}},
                                   {rect(500100, 500120, 3940200, 3940300), {"0404", ""}},
                                   {rect(500100, 500110, 3940200, 3940300), {"0201", ""}}});
    std::vector<Parcel> patches;
    patches.push_back(patch(1, rect(500100, 500200)));
    patches.push_back(patch(2, rect(500100, 500120, 3940200, 3940300)));
    const auto parcels = run(config, std::move(patches));
    ASSERT_EQ(parcels.size(), 2u);
    EXPECT_NEAR(parcels[0].cultivated_m2, 7000, 1e-6);
    EXPECT_NEAR(parcels[0].overlay.land.construction_m2, 3000, 1e-6);
    EXPECT_NEAR(parcels[0].overlay.land.unsurveyed_m2, 0, 1e-6);
    EXPECT_EQ(parcels[0].overlay.land.dominant_class, "0101");
    EXPECT_NEAR(parcels[1].overlay.land.other_agricultural_m2, 1000, 1e-6);
    EXPECT_NEAR(parcels[1].overlay.land.unused_m2, 1000, 1e-6);
    for (const auto& p : parcels) expect_identity(p);
}

TEST_F(OverlayParts, IdentityHoldsOverADltbGapOnAnIrregularParcel) {
    OverlayConfig config;
    config.cultivated.path = dltb({{rect(500100, 500133.3), {"0102", ""}},
                                   {rect(500141.7, 500163.1), {"0204", ""}},
                                   {rect(500163.1, 500171.9), {"1207", ""}},
                                   {rect(500171.9, 500300), {"0601", ""}}});
    std::vector<Parcel> patches;
    patches.push_back(patch(1, "POLYGON ((500101.3 3940103.7,500187.9 3940111.1,500193.3 3940187.2,500120.7 3940195.5,"
                               "500101.3 3940103.7))"));
    const auto parcels = run(config, std::move(patches));
    ASSERT_EQ(parcels.size(), 1u);
    const auto& p = parcels[0];
    EXPECT_GT(p.overlay.land.unsurveyed_m2, 100);
    EXPECT_GT(p.cultivated_m2, 100);
    EXPECT_GT(p.overlay.land.unused_m2, 100);
    expect_identity(p);
}

TEST_F(OverlayParts, WithoutDltbTheWholeParcelIsUnsurveyed) {
    const auto parcels = run_one(OverlayConfig{});
    ASSERT_EQ(parcels.size(), 1u);
    const auto& p = parcels[0];
    EXPECT_FALSE(p.overlay.land_assessed);
    EXPECT_NEAR(p.overlay.land.unsurveyed_m2, 10000, 1e-6);
    EXPECT_EQ(p.cultivated_m2, 0);
    EXPECT_EQ(p.overlay.land.dominant_class, "");
    EXPECT_FALSE(p.overlay.permanent_farmland_assessed);
    EXPECT_FALSE(p.overlay.redline_assessed);
    EXPECT_TRUE(p.overlay.approvals.empty());
    expect_identity(p);
}

TEST_F(OverlayParts, WithoutTheDefaultUrbanVillageFieldTheAttributeIsNotAssessed) {
    OverlayConfig config;
    config.cultivated.path = dltb({{rect(500100, 500200), {"0702"}}}, {"DLBM"});
    const auto parcels = run_one(config);
    ASSERT_EQ(parcels.size(), 1u);
    EXPECT_NEAR(parcels[0].overlay.land.homestead_m2, 10000, 1e-6);
    EXPECT_EQ(parcels[0].overlay.land.urban_village_m2, 0);
}

// ---------------------------------------------------------------------------------------------
// 永农, 红线, 城镇开发边界, villages

TEST_F(OverlayParts, PermanentFarmlandRedlineAndUrbanBoundaryAreasInsideTheParcel) {
    OverlayConfig config;
    // 永农 in two overlapping features (x 500080–500130 and 500120–500140: 4000 m² inside, once).
    config.permanent_farmland.path = write_layer(dir / "yjjbnt.gpkg", "yjjbnttb", {},
                                                 {{rect(500080, 500130), {}}, {rect(500120, 500140), {}}});
    config.redline.path = write_layer(dir / "sthx.gpkg", "sthx", {}, {{rect(500190, 500220), {}}});
    const auto parcels = run_one(config);
    ASSERT_EQ(parcels.size(), 1u);
    const auto& o = parcels[0].overlay;
    EXPECT_TRUE(o.permanent_farmland_assessed);
    EXPECT_NEAR(o.permanent_farmland_m2, 4000, 1e-6);
    EXPECT_TRUE(o.redline_assessed);
    EXPECT_NEAR(o.redline_m2, 1000, 1e-6);
    EXPECT_FALSE(o.urban_boundary_assessed);
    EXPECT_EQ(o.urban_boundary_m2, 0);
}

TEST_F(OverlayParts, VillageHoldingTheLargestShare) {
    OverlayConfig config;
    // 东村 holds 4000 m² of the parcel in two polygons (x 500100–500120, 500180–500200), 西村
    // 6000 m² in one, 北村 none.
    config.villages.path = write_layer(dir / "cjdcq.gpkg", "cjdcq", {"ZLDWMC", "ZLDWDM"},
                                       {{rect(500000, 500120), {"东村", "140824100201"}},
                                        {rect(500120, 500180), {"西村", "140824100202"}},
                                        {rect(500180, 500300), {"东村", "140824100201"}},
                                        {rect(500100, 500200, 3940300, 3940400), {"北村", "140824100203"}}});
    auto parcels = run_one(config);
    ASSERT_EQ(parcels.size(), 1u);
    EXPECT_EQ(parcels[0].overlay.village_name, "西村");
    EXPECT_EQ(parcels[0].overlay.village_code, "140824100202");
    parcels = run_one(config, 500100, 500150);  // 东村 2000, 西村 3000
    EXPECT_EQ(parcels[0].overlay.village_name, "西村");
    parcels = run_one(config, 500090, 500125);  // 东村 3000, 西村 500
    EXPECT_EQ(parcels[0].overlay.village_name, "东村");
    parcels = run_one(config, 500400, 500450);  // outside every village
    EXPECT_EQ(parcels[0].overlay.village_name, "");
}

// ---------------------------------------------------------------------------------------------
// approvals

TEST_F(OverlayParts, ApprovalShareAndNumbersFromALayerInEpsg4490) {
    OverlayConfig config;
    ApprovalLayerConfig pzyd;
    pzyd.kind = "批准用地";
    pzyd.name = "农转用批文";
    pzyd.path = write_layer(dir / "pzyd.gpkg", "pzyd", {"PZWH"},
                            {{rect(500100, 500130), {"晋政地〔2023〕3号"}},
                             {rect(500170, 500190), {"晋政地〔2022〕15号"}},
                             {rect(500400, 500500), {"晋政地〔2021〕9号"}}},
                            4490);
    pzyd.number_field = "PZWH";
    ApprovalLayerConfig lsyd;
    lsyd.kind = "临时用地";
    lsyd.name = "临时用地";
    lsyd.path = write_layer(dir / "lsyd.gpkg", "lsyd", {"LSWH", "JSRQ"},
                            {{rect(500100, 500150), {"稷临〔2023〕1号", "2024/3/1"}},
                             {rect(500140, 500160), {"稷临〔2023〕2号", "2025-06-30"}},
                             {rect(500150, 500160), {"稷临〔2023〕2号", ""}},
                             {rect(500600, 500700), {"稷临〔2023〕9号", "2030-01-01"}}});
    lsyd.number_field = "LSWH";
    lsyd.end_date_field = "JSRQ";
    config.approvals = {pzyd, lsyd};
    const auto parcels = run_one(config);
    ASSERT_EQ(parcels.size(), 1u);
    const auto& approvals = parcels[0].overlay.approvals;
    ASSERT_EQ(approvals.size(), 2u);
    EXPECT_EQ(approvals[0].kind, "批准用地");
    EXPECT_EQ(approvals[0].name, "农转用批文");
    EXPECT_NEAR(approvals[0].covered_m2, 5000, 1e-3);  // 4490 → 4546 is exact to well under 1 cm
    EXPECT_NEAR(approvals[0].share, 0.5, 1e-7);
    EXPECT_EQ(approvals[0].numbers, (std::vector<std::string>{"晋政地〔2022〕15号", "晋政地〔2023〕3号"}));
    EXPECT_EQ(approvals[0].end_date, "");
    EXPECT_EQ(approvals[1].kind, "临时用地");
    EXPECT_NEAR(approvals[1].covered_m2, 6000, 1e-6);
    EXPECT_NEAR(approvals[1].share, 0.6, 1e-9);
    EXPECT_EQ(approvals[1].numbers, (std::vector<std::string>{"稷临〔2023〕1号", "稷临〔2023〕2号"}));
    EXPECT_EQ(approvals[1].end_date, "2025-06-30");
    const auto evidence = form_evidence(parcels[0].overlay);
    EXPECT_EQ(evidence.numbers[static_cast<int>(EvidenceColumn::Approval)], "晋政地〔2022〕15号、晋政地〔2023〕3号");
}

TEST_F(OverlayParts, ParcelSplitByATownshipBoundaryGetsItsPartsPerPiece) {
    OverlayConfig config;
    config.townships.path = write_layer(dir / "xzq.gpkg", "xzq", {"XZMC", "XZQDM"},
                                        {{rect(500000, 500150, 3940000, 3941000), {"稷峰镇", "140824100"}},
                                         {rect(500150, 500300, 3940000, 3941000), {"西社镇", "140824101"}}});
    config.cultivated.path = dltb({{rect(500100, 500130), {"0101", ""}}, {rect(500130, 500200), {"1003", ""}}});
    config.permanent_farmland.path = write_layer(dir / "yn.gpkg", "yn", {}, {{rect(500110, 500120), {}}});
    ApprovalLayerConfig gd;
    gd.kind = "供地";
    gd.name = "供地";
    gd.path = write_layer(dir / "gd.gpkg", "gd", {"GDWH"}, {{rect(500140, 500160), {"稷供〔2023〕5号"}}});
    gd.number_field = "GDWH";
    config.approvals = {gd};
    const auto parcels = run_one(config);
    ASSERT_EQ(parcels.size(), 2u);
    EXPECT_EQ(parcels[0].township_name, "稷峰镇");
    EXPECT_NEAR(parcels[0].area_m2, 5000, 1e-6);
    EXPECT_NEAR(parcels[0].cultivated_m2, 3000, 1e-6);
    EXPECT_NEAR(parcels[0].overlay.land.construction_m2, 2000, 1e-6);
    EXPECT_NEAR(parcels[0].overlay.permanent_farmland_m2, 1000, 1e-6);
    EXPECT_NEAR(parcels[0].overlay.approvals.at(0).share, 0.2, 1e-9);
    EXPECT_EQ(parcels[1].township_name, "西社镇");
    EXPECT_NEAR(parcels[1].cultivated_m2, 0, 1e-6);
    EXPECT_NEAR(parcels[1].overlay.land.construction_m2, 5000, 1e-6);
    EXPECT_EQ(parcels[1].overlay.land.dominant_class, "1003");
    EXPECT_NEAR(parcels[1].overlay.permanent_farmland_m2, 0, 1e-6);
    EXPECT_NEAR(parcels[1].overlay.approvals.at(0).share, 0.2, 1e-9);
    EXPECT_EQ(parcels[1].overlay.approvals.at(0).numbers, std::vector<std::string>{"稷供〔2023〕5号"});
    for (const auto& p : parcels) expect_identity(p);
}

// ---------------------------------------------------------------------------------------------
// messages

TEST_F(OverlayParts, UnknownClassIsRefusedNamingFileLayerFieldValueAndCount) {
    OverlayConfig config;
    config.cultivated.path = dltb({{rect(500100, 500150), {"0101", ""}},
                                   {rect(500150, 500160), {"9999", ""}},
                                   {rect(500160, 500170), {"9999", ""}},
                                   {rect(500170, 500180), {"空地", ""}}});
    EXPECT_EQ(refused(config), "overlay: cultivated layer '" + config.cultivated.path +
                                   "' field DLBM: class '9999' (2 features, first FID 2) is not a GB/T 21010 class "
                                   "(nor are '空地'); fix the layer, list the value in overlay.cultivated.classes if it "
                                   "is cultivated land, or give its group in overlay.cultivated.class_groups (e.g. "
                                   "\"9999=未利用地\")");
}

// A land-use layer classed by name (e.g. ../shared/data/slovenia-s2/LULC.gpkg): its values get
// their groups from overlay.cultivated.class_groups; 未调查 leaves the features out.
TEST_F(OverlayParts, ClassGroupsGiveNamedClassesTheirGroup) {
    OverlayConfig config;
    config.cultivated.path = dltb({{rect(500100, 500140), {"cultivated land", ""}},
                                   {rect(500140, 500160), {"grassland", ""}},
                                   {rect(500160, 500170), {"artificial surface", ""}},
                                   {rect(500170, 500185), {"forest", ""}},
                                   {rect(500185, 500200), {"", ""}}});
    config.cultivated.classes = {"cultivated land"};
    config.cultivated.class_groups = {"grassland=未利用地", "artificial surface = 建设用地", "forest=非耕农用地", "=未调查"};
    const auto parcels = run_one(config);
    ASSERT_EQ(parcels.size(), 1u);
    const auto& p = parcels[0];
    EXPECT_NEAR(p.cultivated_m2, 4000, 1e-6);
    EXPECT_NEAR(p.overlay.land.unused_m2, 2000, 1e-6);
    EXPECT_NEAR(p.overlay.land.construction_m2, 1000, 1e-6);
    EXPECT_NEAR(p.overlay.land.other_agricultural_m2, 1500, 1e-6);
    EXPECT_NEAR(p.overlay.land.unsurveyed_m2, 1500, 1e-6);
    expect_identity(p);
    EXPECT_FALSE(LandClassTable({}, {"=未调查"}).group_of("").has_value());
    EXPECT_TRUE(LandClassTable({}, {"=未调查"}).unsurveyed(" "));
}

TEST_F(OverlayParts, ExplicitUrbanVillageFieldMissingFromTheLayerIsRefused) {
    OverlayConfig config;
    config.cultivated.path = dltb({{rect(500100, 500200), {"0101"}}}, {"DLBM"});
    config.cultivated.urban_village_field = "CZCSXM";
    config.cultivated.urban_village_field_given = true;
    EXPECT_EQ(refused(config), "overlay: cultivated layer '" + config.cultivated.path +
                                   "' has no field 'CZCSXM' (fields: DLBM); set overlay.cultivated.urban_village_field");
}

TEST_F(OverlayParts, LayersWithoutTheConfiguredFieldAreRefusedNamingTheirKey) {
    {
        OverlayConfig config;
        config.villages.path = write_layer(dir / "cun.gpkg", "cun", {"MC"}, {{rect(500000, 500300), {"东村"}}});
        EXPECT_EQ(refused(config), "overlay: villages layer '" + config.villages.path +
                                       "' has no field 'ZLDWMC' (fields: MC); set overlay.villages.name_field");
    }
    {
        OverlayConfig config;
        ApprovalLayerConfig a;
        a.kind = "设施农用地";
        a.name = a.kind;
        a.path = write_layer(dir / "ss.gpkg", "ssnyd", {"BH"}, {{rect(500000, 500300), {"x"}}});
        a.layer = "ssnyd";
        a.number_field = "STRKH";
        config.approvals = {a};
        EXPECT_EQ(refused(config), "overlay: approvals[1] layer 'ssnyd' in '" + a.path +
                                       "' has no field 'STRKH' (fields: BH); set overlay.approvals[1].number_field");
        config.approvals[0].kind = "临时用地";
        config.approvals[0].number_field = "BH";
        config.approvals[0].end_date_field = "JSRQ";
        EXPECT_EQ(refused(config), "overlay: approvals[1] layer 'ssnyd' in '" + a.path +
                                       "' has no field 'JSRQ' (fields: BH); set overlay.approvals[1].end_date_field");
    }
}

TEST_F(OverlayParts, UnparseableEndDateIsRefusedNamingTheFeature) {
    OverlayConfig config;
    ApprovalLayerConfig a;
    a.kind = "临时用地";
    a.name = a.kind;
    a.path = write_layer(dir / "lsyd.gpkg", "lsyd", {"LSWH", "JSRQ"},
                         {{rect(500000, 500050), {"稷临1号", "2024-01-31"}}, {rect(500050, 500300), {"稷临2号", "明年三月"}}});
    a.number_field = "LSWH";
    a.end_date_field = "JSRQ";
    config.approvals = {a};
    EXPECT_EQ(refused(config), "overlay: approvals[1] layer '" + a.path +
                                   "' feature 2 field JSRQ: '明年三月' is not a date; write it as YYYY-MM-DD (2023/9/30 and "
                                   "2023年9月30日 are read too), or leave it empty when the record has no end date");
}

}  // namespace
}  // namespace weipian
