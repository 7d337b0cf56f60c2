// `weipian ledger import-leads` and `weipian ledger leads` through the CLI: townships from the
// config's township layer, --batch, exit code 3 for a refused file, --missed.
#include <gtest/gtest.h>

#include <fstream>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "ledger/ledger.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

// A polygon layer `name` in EPSG:4546 with text fields; each feature: values and a WKT outline.
void write_layer(const fs::path& path, const char* name, const std::vector<std::string>& fields,
                 const std::vector<std::pair<std::vector<std::string>, std::string>>& features) {
    ensure_gdal_registered();
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GPKG")->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    ASSERT_TRUE(ds);
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    OGRLayer* layer = ds->CreateLayer(name, &srs, wkbPolygon, nullptr);
    for (const auto& f : fields) {
        OGRFieldDefn field(f.c_str(), OFTString);
        layer->CreateField(&field);
    }
    for (const auto& [values, wkt] : features) {
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        for (std::size_t i = 0; i < values.size(); ++i) f->SetField(static_cast<int>(i), values[i].c_str());
        OGRGeometry* g = nullptr;
        OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &g);
        f->SetGeometryDirectly(g);
        ASSERT_EQ(layer->CreateFeature(f.get()), OGRERR_NONE);
    }
}

std::string box(double x0, double y0, double x1, double y1) {
    return "POLYGON((" + std::to_string(x0) + " " + std::to_string(y0) + "," + std::to_string(x1) + " " + std::to_string(y0) + "," +
           std::to_string(x1) + " " + std::to_string(y1) + "," + std::to_string(x0) + " " + std::to_string(y1) + "," +
           std::to_string(x0) + " " + std::to_string(y0) + "))";
}

class LedgerLeadsCommand : public ::testing::Test {
protected:
    void SetUp() override {
        write_layer(dir / "townships.gpkg", "townships", {"XZMC", "XZQDM"},
                    {{{"稷峰镇", "140824100"}, box(499900, 3939900, 500150, 3940200)},
                     {{"西社镇", "140824101"}, box(500150, 3939900, 500400, 3940200)}});
        write_layer(dir / "leads.gpkg", "leads", {"线索编号", "后时相"},
                    {{{"140824SJBG23210001", "2023-06-30"}, box(500000, 3940000, 500100, 3940100)},
                     {{"140824SJBG23210002_1", "2023-06-30"}, box(500200, 3940000, 500300, 3940100)}});
        std::ofstream(dir / "weipian.yaml") << "county: {code: \"140824\"}\n"
                                               "epochs:\n  before: {tiles: [b.tif], date: \"2022-12-31\"}\n"
                                               "  after: {tiles: [a.tif], date: \"2023-06-30\"}\n"
                                               "ledger: {path: ledger.gpkg}\n"
                                               "overlay: {area_crs: \"EPSG:4546\", townships: {path: townships.gpkg}}\n";
    }
    test::CliResult ledger(const std::string& args) {
        return test::run_cli("ledger " + args + " --config '" + (dir / "weipian.yaml").string() + "'", dir.path());
    }
    test::TempDir dir;
};

TEST_F(LedgerLeadsCommand, ImportGivesTownshipsFromTheConfigAndTheListingShowsThem) {
    const auto r = ledger("import-leads '" + (dir / "leads.gpkg").string() + "' --batch 八月一批 --who qa");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_CONTAINS(r.out, "2 leads: 2 imported");
    const auto again = ledger("import-leads '" + (dir / "leads.gpkg").string() + "' --batch 八月一批");
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_CONTAINS(again.out, "2 already in the ledger");
    const auto list = ledger("leads");
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_CONTAINS(list.out, "140824SJBG23210001\t八月一批\t稷峰镇\t15\t未覆盖\t-\t-\n");
    EXPECT_CONTAINS(list.out, "140824SJBG23210002_1\t八月一批\t西社镇\t15\t未覆盖");
    EXPECT_CONTAINS(list.out, "合计：下发线索 2，已匹配 0，漏检 0，未覆盖 2；自主发现（未关联线索） 0");
    const auto missed = ledger("leads --missed");
    EXPECT_EQ(missed.out.find("140824SJBG23210001"), std::string::npos) << missed.out;
}

TEST_F(LedgerLeadsCommand, ARefusedFileExitsWith3AndWritesNothing) {
    write_layer(dir / "dup.gpkg", "leads", {"线索编号"},
                {{{"140824SJBG23210001"}, box(500000, 3940000, 500100, 3940100)},
                 {{"140824SJBG23210001"}, box(500200, 3940000, 500300, 3940100)}});
    const auto r = ledger("import-leads '" + (dir / "dup.gpkg").string() + "'");
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_CONTAINS(r.out, "rows 1 and 2: both have 线索编号 140824SJBG23210001");
    EXPECT_CONTAINS(r.out, "nothing imported, the ledger is unchanged");
    EXPECT_FALSE(fs::exists(dir / "ledger.gpkg"));
}

}  // namespace
}  // namespace weipian
