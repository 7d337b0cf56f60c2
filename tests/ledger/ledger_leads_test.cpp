// Delivered leads (下发线索) in the ledger: `ledger import-leads` from GeoPackage, GBK
// Shapefile and XLSX; matching a run's parcels to leads; missed leads; cross-period ids; the
// run's form figures carried into cases. Every message of ledger_leads.cpp is asserted here.
#include <gtest/gtest.h>

#include <xlsxwriter.h>

#include <fstream>
#include <string>
#include <vector>

#include <cpl_conv.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_leads.hpp"
#include "pipeline/core/errors.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::LedgerBackend;
using test::message_of;

const std::vector<std::string> kFields = {"线索编号", "批次", "下发日期", "前时相", "后时相", "监测面积", "往期图斑编号"};

struct LeadSpec {
    std::vector<std::string> values;  // in kFields order (or the given fields)
    std::string wkt;                  // in EPSG:4546 offsets applied by square(); empty = no geometry
};

// A square of `side` m at (x0, y0) from the test origin (500000, 3940000), EPSG:4546.
std::string square(double x0, double y0, double side = 100) {
    const double x = 500000 + x0, y = 3940000 + y0;
    char buffer[256];
    std::snprintf(buffer, sizeof buffer, "POLYGON((%.2f %.2f,%.2f %.2f,%.2f %.2f,%.2f %.2f,%.2f %.2f))", x, y, x + side, y, x + side,
                  y + side, x, y + side, x, y);
    return buffer;
}

std::string to_gbk(const std::string& utf8) {
    char* recoded = CPLRecode(utf8.c_str(), CPL_ENC_UTF8, "CP936");
    std::string out = recoded ? recoded : "";
    CPLFree(recoded);
    return out;
}

// Writes a lead layer with OGR. `gbk_bytes`: a Shapefile written with ENCODING="" and the text
// (names and values) given as CP936 bytes, no .cpg, as old desktop GIS leaves it.
void write_leads(const fs::path& path, const char* driver, const std::vector<LeadSpec>& leads,
                 const std::vector<std::string>& fields = kFields, bool gbk_bytes = false, bool with_srs = true) {
    ensure_gdal_registered();
    GDALDriver* d = GetGDALDriverManager()->GetDriverByName(driver);
    ASSERT_NE(d, nullptr);
    GDALDatasetUniquePtr ds(d->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    ASSERT_NE(ds, nullptr);
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    const char* options[] = {gbk_bytes ? "ENCODING=" : nullptr, nullptr};
    OGRLayer* layer = ds->CreateLayer("leads", with_srs ? &srs : nullptr, wkbUnknown, const_cast<char**>(options));
    ASSERT_NE(layer, nullptr);
    const auto text = [&](const std::string& s) { return gbk_bytes ? to_gbk(s) : s; };
    for (const auto& name : fields) {
        OGRFieldDefn field(text(name).c_str(), OFTString);
        ASSERT_EQ(layer->CreateField(&field), OGRERR_NONE);
    }
    for (const auto& lead : leads) {
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        for (std::size_t i = 0; i < lead.values.size(); ++i)
            if (!lead.values[i].empty()) f->SetField(static_cast<int>(i), text(lead.values[i]).c_str());
        if (!lead.wkt.empty()) {
            OGRGeometry* g = nullptr;
            ASSERT_EQ(OGRGeometryFactory::createFromWkt(lead.wkt.c_str(), nullptr, &g), OGRERR_NONE);
            f->SetGeometryDirectly(g);
        }
        ASSERT_EQ(layer->CreateFeature(f.get()), OGRERR_NONE);
    }
}

// Writes an XLSX sheet of text cells (first row = header).
void write_xlsx(const fs::path& path, const std::vector<std::vector<std::string>>& rows) {
    lxw_workbook* workbook = workbook_new(path.c_str());
    lxw_worksheet* sheet = workbook_add_worksheet(workbook, "线索");
    for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::size_t c = 0; c < rows[r].size(); ++c)
            if (!rows[r][c].empty())
                worksheet_write_string(sheet, static_cast<lxw_row_t>(r), static_cast<lxw_col_t>(c), rows[r][c].c_str(), nullptr);
    ASSERT_EQ(workbook_close(workbook), LXW_NO_ERROR);
}

LeadSpec lead(const std::string& id, const std::string& wkt, const std::string& hsx = "2023-06-30",
              const std::string& earlier = "", const std::string& batch = "七月一批") {
    return {{id, batch, "2023/7/15", "2022-12-31", hsx, "", earlier}, wkt};
}

class LedgerLeads : public test::LedgerFixture {
protected:
    LedgerConfig config() const { return test::ledger_options(location()); }
    LeadImportSummary import(const fs::path& file, LeadImportOptions options = {}) {
        options.who = "test";
        return import_leads(config(), file, options);
    }
    fs::path gpkg(const std::vector<LeadSpec>& leads, const std::string& name = "leads.gpkg") {
        const fs::path path = dir_ / name;
        write_leads(path, "GPKG", leads);
        return path;
    }
    // Feeds `parcels` as a run of HSX `hsx`.
    LedgerFeedSummary feed(std::vector<Parcel>& parcels, const std::string& hsx, const std::string& run,
                           const std::string& qsx = "2022-12-31") {
        return feed_ledger(config(), parcels, test::gk_zone_37(), test::jishan_context(hsx, run, qsx));
    }
    static std::vector<Parcel> one(Parcel p) {
        std::vector<Parcel> v;
        v.push_back(std::move(p));
        return v;
    }
};

TEST_P(LedgerLeads, GeoPackageLeadsBecomeCasesKeyedByTheirIdsAndReimportChangesNothing) {
    const auto file = gpkg({lead("140824SJBG23210001", square(0, 0)), lead("140824SJBG23210002_1", square(200, 0, 50)),
                            lead("140824SJBG23210002_2", square(250, 0, 50))});
    const auto first = import(file);
    EXPECT_FALSE(first.failed()) << first.text();
    EXPECT_EQ(first.imported, 3u);
    const auto all = cases();
    ASSERT_EQ(all.size(), 3u);
    const LedgerCase c = case_of("140824SJBG23210001");
    EXPECT_EQ(c.source, kSourceDelivered);
    EXPECT_EQ(c.lead_id, "140824SJBG23210001");
    EXPECT_EQ(c.batch, "七月一批");
    EXPECT_EQ(c.delivered_at, "2023-07-15");
    EXPECT_EQ(c.qsx, "2022-12-31");
    EXPECT_EQ(c.hsx, "2023-06-30");
    EXPECT_EQ(c.year, 2023);
    EXPECT_EQ(c.seq, 0);
    EXPECT_EQ(c.county_code, "140824");
    EXPECT_EQ(c.area_centimu, 1500);  // 10 000 m² = 15 亩
    EXPECT_EQ(c.township_name, kUnassignedTownship);
    EXPECT_EQ(c.status, CaseStatus::ToVerify);
    EXPECT_EQ(case_of("140824SJBG23210002_2").area_centimu, 375);  // sub-parcel id kept, 2 500 m²
    const auto entries = history().size();

    const auto again = import(file);
    EXPECT_FALSE(again.failed());
    EXPECT_EQ(again.imported, 0u);
    EXPECT_EQ(again.unchanged, 3u);
    EXPECT_CONTAINS(again.text(), "0 imported");
    EXPECT_CONTAINS(again.text(), "3 already in the ledger");
    EXPECT_EQ(cases().size(), 3u);
    EXPECT_EQ(history().size(), entries);
}

TEST_P(LedgerLeads, ALeadIdAlreadyInTheLedgerWithOtherValuesIsRefusedNotOverwritten) {
    import(gpkg({lead("140824SJBG23210001", square(0, 0)), lead("140824SJBG23210003", square(400, 0))}));
    const auto changed = import(gpkg({lead("140824SJBG23210001", square(0, 0), "2023-06-30", "", "八月一批"),
                                      lead("140824SJBG23210003", square(400, 0, 80)), lead("140824SJBG23210004", square(800, 0))},
                                     "changed.gpkg"));
    EXPECT_TRUE(changed.failed());
    EXPECT_EQ(changed.refused, 2u);
    EXPECT_EQ(changed.imported, 1u);
    const std::string text = changed.text();
    EXPECT_CONTAINS(text, "row 1: lead 140824SJBG23210001 is already in the ledger with another 批次 七月一批 → 八月一批");
    EXPECT_CONTAINS(text, "row 2: lead 140824SJBG23210003 is already in the ledger with another 面积 15 亩 → 9.6 亩; outline");
    EXPECT_CONTAINS(text, "it is not overwritten (correct the file, or split/merge the case in the ledger)");
    EXPECT_EQ(case_of("140824SJBG23210001").batch, "七月一批");
    EXPECT_EQ(cases().size(), 3u);
}

TEST_P(LedgerLeads, BadRowsRefuseTheWholeFileWithRowNumbersAndLeaveTheLedgerUnchanged) {
    import(gpkg({lead("140824SJBG23210009", square(900, 0))}, "first.gpkg"));
    const auto before = cases().size();
    const auto summary = import(gpkg({lead("140824SJBG23210001", square(0, 0)), lead("", square(200, 0)),
                                      lead("140824SJBG23210001", square(400, 0)),
                                      {{"140824SJBG23210005", "七月一批", "2023-13-45", "", "", "", ""}, square(600, 0)},
                                      {{"140824SJBG23210006", "七月一批", "", "", "", "", ""}, ""},
                                      {{"140824SJBG23210007", "七月一批", "", "", "", "很多", ""}, square(800, 0)},
                                      {{"140824SJBG23210008", "七月一批", "", "", "", "", ""}, "LINESTRING(500000 3940000,500010 3940000)"}}));
    EXPECT_TRUE(summary.bad_input);
    EXPECT_TRUE(summary.failed());
    const std::string text = summary.text();
    EXPECT_CONTAINS(text, "row 2: no lead id (线索编号); fill it in or delete the row");
    EXPECT_CONTAINS(text, "rows 1 and 3: both have 线索编号 140824SJBG23210001; a lead id must be unique in the file");
    EXPECT_CONTAINS(text, "row 4: bad date '2023-13-45' (下发日期); write YYYY-MM-DD, e.g. 2023-07-15");
    EXPECT_CONTAINS(text, "row 5: no geometry and no coordinates (x: X, XZB, 横坐标, 经度; y: Y, YZB, 纵坐标, 纬度); give the lead's outline or its point");
    EXPECT_CONTAINS(text, "row 6: bad area '很多' (监测面积, 亩); write a number ≥ 0");
    EXPECT_CONTAINS(text, "row 7: geometry is a Line String, not a polygon or a point");
    EXPECT_CONTAINS(text, "problems; nothing imported, the ledger is unchanged");
    EXPECT_EQ(cases().size(), before);
}

TEST_P(LedgerLeads, UnreadableFilesAndFilesWithoutAnIdFieldAreRefusedByName) {
    const fs::path missing = dir_ / "nope.gpkg";
    EXPECT_CONTAINS(message_of<InputError>([&] { import(missing); }), "nope.gpkg' does not exist; check the path");
    const fs::path garbage = dir_ / "garbage.gpkg";
    std::ofstream(garbage) << "not a geopackage";
    EXPECT_CONTAINS(message_of<InputError>([&] { import(garbage); }),
                    "give a Shapefile, a GeoPackage or an XLSX workbook of delivered leads");
    const fs::path no_id = dir_ / "no_id.gpkg";
    write_leads(no_id, "GPKG", {{{"x1", "七月一批"}, square(0, 0)}}, {"编码", "批次"});
    const std::string m = message_of<InputError>([&] { import(no_id); });
    EXPECT_CONTAINS(m, "has no lead-id field; accepted names (ledger.lead_fields.id): 线索编号, 监测编号, JCBH, XSBH, TBBH; the file has: 编码, 批次");
    const fs::path no_crs = dir_ / "no_crs.gpkg";
    write_leads(no_crs, "GPKG", {lead("140824SJBG23210001", square(0, 0))}, kFields, false, false);
    EXPECT_CONTAINS(message_of<InputError>([&] { import(no_crs); }), "' has no CRS; assign the one it was drawn in");
    LedgerConfig none;
    EXPECT_CONTAINS(message_of<ConfigError>([&] { import_leads(none, no_crs, {}); }),
                    "leads: no ledger given; pass --ledger LEDGER or --config with ledger.path");
    EXPECT_FALSE(fs::exists(dir_ / "ledger.gpkg"));
}

TEST_P(LedgerLeads, ConfiguredFieldNamesAreUsed) {
    const fs::path file = dir_ / "custom.gpkg";
    write_leads(file, "GPKG", {{{"L-1", "2023-06-30"}, square(0, 0)}}, {"MYID", "MYHSX"});
    LedgerConfig options = config();
    options.lead_fields.id = {"myid"};
    options.lead_fields.hsx = {"MyHsx"};
    const auto summary = import_leads(options, file, {});
    EXPECT_EQ(summary.imported, 1u);
    const LedgerCase c = case_of("L-1");
    EXPECT_EQ(c.hsx, "2023-06-30");
    EXPECT_EQ(c.county_code, "");  // not <6 digits>…: no county from the id
    EXPECT_EQ(c.seq, 0);
}

TEST_P(LedgerLeads, GbkShapefileWithoutCpgReadsChineseBackWithAWarning) {
    const fs::path file = dir_ / "leads_gbk.shp";
    write_leads(file, "ESRI Shapefile", {lead("140824SJBG23210001", square(0, 0), "2023-06-30", "", "七月一批")}, kFields, true);
    fs::remove(dir_ / "leads_gbk.cpg");
    test::LogCapture log;
    const auto summary = import(file);
    EXPECT_EQ(summary.imported, 1u) << summary.text();
    EXPECT_EQ(case_of("140824SJBG23210001").batch, "七月一批");
    EXPECT_CONTAINS(log.text(), "has no .cpg and text that is not valid UTF-8");
    EXPECT_CONTAINS(log.text(), "read it as GBK (CP936)");
}

TEST_P(LedgerLeads, GbkTextUnderAUtf8CpgIsReadAsGbkWithAWarning) {
    const fs::path file = dir_ / "mislabelled.shp";
    write_leads(file, "ESRI Shapefile", {lead("140824SJBG23210001", square(0, 0), "2023-06-30", "", "七月一批")}, kFields, true);
    std::ofstream(dir_ / "mislabelled.cpg") << "UTF-8";
    test::LogCapture log;
    const auto summary = import(file);
    EXPECT_EQ(summary.imported, 1u) << summary.text();
    EXPECT_EQ(case_of("140824SJBG23210001").batch, "七月一批");
    EXPECT_CONTAINS(log.text(), "declares its encoding (.cpg or DBF code page) but has text that is not valid UTF-8");
    EXPECT_CONTAINS(log.text(), "If the names are right, write GBK into its .cpg");
}

TEST_P(LedgerLeads, ShapefileWithCpgIsReadInItsDeclaredEncoding) {
    const fs::path file = dir_ / "leads_cpg.shp";
    ensure_gdal_registered();
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("ESRI Shapefile")->Create(file.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRSpatialReference srs;
        srs.importFromEPSG(4546);
        const char* options[] = {"ENCODING=CP936", nullptr};
        OGRLayer* layer = ds->CreateLayer("leads_cpg", &srs, wkbPolygon, const_cast<char**>(options));
        for (const char* name : {"线索编号", "批次"}) {
            OGRFieldDefn field(name, OFTString);
            layer->CreateField(&field);
        }
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        f->SetField(0, "140824SJBG23210001_1");
        f->SetField(1, "九月二批");
        OGRGeometry* g = nullptr;
        OGRGeometryFactory::createFromWkt(square(0, 0).c_str(), nullptr, &g);
        f->SetGeometryDirectly(g);
        ASSERT_EQ(layer->CreateFeature(f.get()), OGRERR_NONE);
    }
    ASSERT_TRUE(fs::exists(dir_ / "leads_cpg.cpg"));
    const auto summary = import(file);
    EXPECT_EQ(summary.imported, 1u) << summary.text();
    EXPECT_EQ(case_of("140824SJBG23210001_1").batch, "九月二批");
}

TEST_P(LedgerLeads, XlsxLeadsAreLocatedByCoordinatesInDegreesOrInTheLedgerCrs) {
    // A ledger in EPSG:4546 first (a run's parcel far away), so projected x/y have a CRS.
    auto far = one(test::rectangle_parcel(5000, 5000, 50, 50, "太阳乡", "140824101"));
    feed(far, "2023-06-30", "r1");
    const fs::path file = dir_ / "leads.xlsx";
    write_xlsx(file, {{"线索编号", "批次", "后时相", "监测面积", "X", "Y"},
                      {"140824SJBG23210011", "七月一批", "2023-06-30", "3", "500050", "3940050"},
                      {"140824SJBG23210012", "七月一批", "2023-06-30", "", "111.0", "35.6"}});
    const auto summary = import(file);
    EXPECT_FALSE(summary.failed()) << summary.text();
    EXPECT_EQ(summary.imported, 2u);
    const auto projected = case_of("140824SJBG23210011");
    EXPECT_EQ(projected.area_centimu, 300);  // a point: its 监测面积
    EXPECT_NEAR(projected.centroid_x, 500050, 0.01);
    EXPECT_NEAR(projected.centroid_y, 3940050, 0.01);
    const auto degrees = case_of("140824SJBG23210012");
    EXPECT_EQ(degrees.area_centimu, 0);  // no 监测面积: a 20 m square only places it
    EXPECT_NEAR(degrees.centroid_x, 500000, 1.0);  // 111°E is the central meridian of EPSG:4546
    // A bad coordinate is refused with its row (spreadsheet row, header = row 1).
    const fs::path bad = dir_ / "bad.xlsx";
    write_xlsx(bad, {{"线索编号", "X", "Y"}, {"140824SJBG23210013", "东边", "3940050"}});
    EXPECT_CONTAINS(import(bad).text(), "row 2: coordinates x '东边', y '3940050' are not two numbers");
}

TEST_P(LedgerLeads, XlsxProjectedCoordinatesNeedAnExistingLedger) {
    const fs::path file = dir_ / "leads.xlsx";
    write_xlsx(file, {{"线索编号", "XZB", "YZB"}, {"140824SJBG23210011", "500050", "3940050"}});
    if (GetParam() == LedgerBackend::PostgreSQL) GTEST_SKIP() << "an empty schema is not an absent ledger file";
    EXPECT_CONTAINS(message_of<InputError>([&] { import(file); }),
                    "(leads: the file's x/y are in the ledger's CRS, so the ledger must exist: feed a run first, or give "
                    "longitude/latitude)");
}

TEST_P(LedgerLeads, ARunsParcelOnALeadMarksTheLeadDetectedAndGetsItsIds) {
    import(gpkg({lead("140824SJBG23210001", square(0, 0)), lead("140824SJBG23210002_1", square(200, 0, 50)),
                 lead("140824SJBG23210002_2", square(250, 0, 50))}));
    std::vector<Parcel> parcels;
    parcels.push_back(test::rectangle_parcel(10, 10, 80, 80, "太阳乡", "140824101"));  // on the lead
    parcels.push_back(test::rectangle_parcel(255, 5, 40, 40, "太阳乡", "140824101"));  // on sub-parcel _2
    parcels.push_back(test::rectangle_parcel(2000, 0, 60, 60, "太阳乡", "140824101"));  // on no lead
    const auto summary = feed(parcels, "2023-06-30", "r1");
    EXPECT_EQ(summary.new_cases, 1);
    EXPECT_EQ(summary.detected_leads, 2);
    EXPECT_EQ(summary.lead_parcels, 2);
    EXPECT_EQ(parcels[0].case_id, "140824SJBG23210001");
    EXPECT_EQ(parcels[0].lead_id, "140824SJBG23210001");
    EXPECT_EQ(parcels[1].lead_id, "140824SJBG23210002_2");
    EXPECT_EQ(parcels[2].case_id, "140824-2023-0001");
    EXPECT_EQ(parcels[2].lead_id, "");
    const LedgerCase lead_case = case_of("140824SJBG23210001");
    EXPECT_EQ(lead_case.detected_run, "r1");
    EXPECT_EQ(lead_case.township_name, "太阳乡");  // taken from the parcel
    EXPECT_EQ(lead_case.area_centimu, 1500);       // the delivered outline stays
    EXPECT_EQ(case_of("140824-2023-0001").source, kSourceSelfFound);
    EXPECT_EQ(cases().size(), 4u);

    // The same parcels again: nothing changes, the ids are looked up again.
    std::vector<Parcel> again;
    again.push_back(test::rectangle_parcel(10, 10, 80, 80, "太阳乡", "140824101"));
    again.push_back(test::rectangle_parcel(255, 5, 40, 40, "太阳乡", "140824101"));
    again.push_back(test::rectangle_parcel(2000, 0, 60, 60, "太阳乡", "140824101"));
    const auto second = feed(again, "2023-06-30", "r2");
    EXPECT_TRUE(second.already_fed);
    EXPECT_EQ(again[0].lead_id, "140824SJBG23210001");
    EXPECT_EQ(again[1].case_id, "140824SJBG23210002_2");
    EXPECT_EQ(again[2].case_id, "140824-2023-0001");
    EXPECT_EQ(cases().size(), 4u);

    const auto listing = list_leads(location());
    EXPECT_EQ(listing.delivered, 3u);
    EXPECT_EQ(listing.matched, 2u);
    EXPECT_EQ(listing.missed, 1u);  // _1: covered by r1, not detected
    EXPECT_EQ(listing.self_found, 1u);
    const std::string text = listing.text();
    EXPECT_CONTAINS(text, "140824SJBG23210001\t七月一批\t太阳乡\t15\t已匹配\t140824SJBG23210001\t-");
    EXPECT_CONTAINS(text, "140824SJBG23210002_1\t七月一批\t乡镇界外\t3.75\t漏检\t-\t-");
    EXPECT_CONTAINS(text, "合计：下发线索 3，已匹配 2，漏检 1，未覆盖 0；自主发现（未关联线索） 1");
    const std::string missed = listing.text(true);
    EXPECT_EQ(missed.find("140824SJBG23210001\t"), std::string::npos);
    EXPECT_CONTAINS(missed, "140824SJBG23210002_1");
}

TEST_P(LedgerLeads, ALeadArrivingWhereASelfFoundCaseIsLinksBoth) {
    auto parcels = one(test::rectangle_parcel(0, 0, 100, 100, "太阳乡", "140824101"));
    feed(parcels, "2023-06-30", "r1");
    const auto summary = import(gpkg({lead("140824SJBG23210001", square(5, 5, 90))}));
    EXPECT_EQ(summary.linked, 1u);
    EXPECT_CONTAINS(summary.text(), "1 imported (1 linked to self-found cases");
    const LedgerCase lead_case = case_of("140824SJBG23210001");
    EXPECT_EQ(lead_case.linked_case, "140824-2023-0001");
    EXPECT_EQ(lead_case.detected_run, "r1");
    EXPECT_EQ(lead_case.township_name, "太阳乡");  // no township layer: the linked case's
    const LedgerCase self = case_of("140824-2023-0001");
    EXPECT_EQ(self.lead_id, "140824SJBG23210001");
    EXPECT_EQ(self.linked_case, "140824SJBG23210001");
    // A later run's parcel there (on the lead's outline) feeds the self-found case and shows the lead.
    auto later = one(test::rectangle_parcel(5, 5, 90, 90, "太阳乡", "140824101"));
    feed(later, "2023-09-30", "r2");
    EXPECT_EQ(later[0].case_id, "140824-2023-0001");
    EXPECT_EQ(later[0].lead_id, "140824SJBG23210001");
    EXPECT_EQ(case_of("140824-2023-0001").last_seen_run, "r2");
    EXPECT_EQ(cases().size(), 2u);
    const auto listing = list_leads(location());
    EXPECT_EQ(listing.matched, 1u);
    EXPECT_EQ(listing.self_found, 0u);
    EXPECT_CONTAINS(listing.text(), "已匹配\t140824-2023-0001");
}

TEST_P(LedgerLeads, LeadsNotYetCoveredByARunAreNotMissed) {
    import(gpkg({lead("140824SJBG24210001", square(0, 0), "2024-03-31")}));
    auto parcels = one(test::rectangle_parcel(3000, 0, 50, 50, "太阳乡", "140824101"));
    feed(parcels, "2023-06-30", "r1");
    auto listing = list_leads(location());
    EXPECT_EQ(listing.not_covered, 1u);
    EXPECT_CONTAINS(listing.text(), "未覆盖");
    auto later = one(test::rectangle_parcel(3000, 500, 50, 50, "太阳乡", "140824101"));
    feed(later, "2024-06-30", "r2", "2023-12-31");
    listing = list_leads(location());
    EXPECT_EQ(listing.missed, 1u);
}

TEST_P(LedgerLeads, CrossPeriodLinkageRecordsTheEarlierCase) {
    // A lead of 2022 and one of 2023 at the same place: the later records the earlier.
    import(gpkg({lead("140824SJBG22210001", square(0, 0), "2022-06-30")}, "2022.gpkg"));
    const auto summary = import(gpkg({lead("140824SJBG23210001", square(0, 0), "2023-06-30"),
                                      lead("140824SJBG23210002", square(0, 0), "2023-06-30", "WQ-7")},
                                     "2023.gpkg"));
    EXPECT_EQ(summary.earlier, 2u);
    EXPECT_EQ(case_of("140824SJBG23210001").earlier_id, "140824SJBG22210001");
    EXPECT_EQ(case_of("140824SJBG23210002").earlier_id, "WQ-7");  // the file's 往期图斑编号 wins
    EXPECT_CONTAINS(list_leads(location()).text(), "\t140824SJBG22210001\n");

    // A run's new case where a closed case lies.
    auto parcels = one(test::rectangle_parcel(1000, 0, 100, 100, "太阳乡", "140824101"));
    feed(parcels, "2022-06-30", "r1", "2021-12-31");
    ImportRow close;
    close.where = "line 2";
    close.case_id = "140824-2022-0001";
    close.result = "误报";
    close.rectification = "销号";
    close.date = "2022-08-01";
    ASSERT_EQ(import_verification(location(), {close}, {"test", "2023-12-31", "t.csv"}).applied, 1u);
    auto again = one(test::rectangle_parcel(1000, 0, 100, 100, "太阳乡", "140824101"));
    feed(again, "2023-06-30", "r2");
    EXPECT_EQ(again[0].case_id, "140824-2023-0001");
    EXPECT_EQ(case_of("140824-2023-0001").earlier_id, "140824-2022-0001");
}

TEST_P(LedgerLeads, ANewCaseTakesTheParcelsFormFigures) {
    Parcel p = test::rectangle_parcel(0, 0, 100, 100, "太阳乡", "140824101", 4000);
    p.overlay.land_assessed = true;
    p.overlay.land.other_agricultural_m2 = 3000;
    p.overlay.land.construction_m2 = 3000;
    p.overlay.permanent_farmland_assessed = true;
    p.overlay.permanent_farmland_m2 = 1000;
    p.overlay.approvals.push_back({"批准用地", "农转用批文", 2500, 0.25, {"晋政地〔2022〕15号"}, ""});
    p.prejudgement = {"存疑", "", "1 合法·批文", "", "覆盖不足"};
    auto parcels = one(std::move(p));
    feed(parcels, "2023-06-30", "r1");
    const LedgerCase c = case_of("140824-2023-0001");
    EXPECT_EQ(c.area_centimu, 1500);
    EXPECT_EQ(c.cultivated_centimu, 600);
    EXPECT_EQ(c.other_agricultural_centimu, 450);
    EXPECT_EQ(c.construction_centimu, 450);
    EXPECT_EQ(c.unused_centimu + c.unsurveyed_centimu, 0);
    EXPECT_EQ(c.permanent_farmland_centimu, 150);
    EXPECT_EQ(c.approval_no, "晋政地〔2022〕15号");
    EXPECT_DOUBLE_EQ(c.approval_share, 25.0);
    EXPECT_EQ(c.cp_verdict, "存疑");
    EXPECT_EQ(c.cp_rule, "1 合法·批文");
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerLeads, ::testing::Values(LedgerBackend::GeoPackage, LedgerBackend::PostgreSQL),
                         test::backend_name);

}  // namespace
}  // namespace weipian
