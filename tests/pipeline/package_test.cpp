// The verification package (pipeline/package.cpp): index.html, cards/, parcels.kmz and the
// QGIS style of parcels.gpkg, on parcels placed in the sample scene (EPSG:4546, around
// 110.97°E 35.60°N) with small JPEG chips written through GDAL.
#include "pipeline/package.hpp"

#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/township_summary.hpp"
#include "pipeline/emit.hpp"
#include "tests/support/full_disk.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::TempDir;
using test::write_text;

OGRSpatialReference sample_srs() {
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

// A w × h m rectangle with its lower-left corner at (x, y) in EPSG:4546.
OGRGeometryUniquePtr rectangle(double x, double y, double w, double h) {
    auto* ring = new OGRLinearRing;
    ring->addPoint(x, y);
    ring->addPoint(x + w, y);
    ring->addPoint(x + w, y + h);
    ring->addPoint(x, y + h);
    ring->addPoint(x, y);
    auto* polygon = new OGRPolygon;
    polygon->addRingDirectly(ring);
    return OGRGeometryUniquePtr(polygon);
}

// An L-shaped parcel: its centroid lies outside it, its interior point must not.
OGRGeometryUniquePtr l_shape(double x, double y) {
    auto* ring = new OGRLinearRing;
    for (const auto& [dx, dy] : std::vector<std::pair<double, double>>{{0, 0}, {40, 0}, {40, 6}, {6, 6}, {6, 40}, {0, 40}, {0, 0}})
        ring->addPoint(x + dx, y + dy);
    auto* polygon = new OGRPolygon;
    polygon->addRingDirectly(ring);
    return OGRGeometryUniquePtr(polygon);
}

Parcel parcel(std::int64_t id, const std::string& township, const std::string& code, OGRGeometryUniquePtr geometry,
              const std::string& verdict = "非农违法") {
    Parcel p;
    p.id = id;
    p.patch_id = id;
    p.township_name = township;
    p.township_code = code;
    p.geometry = std::move(geometry);
    p.area_m2 = p.geometry->toPolygon()->get_Area();
    p.cultivated_m2 = p.area_m2 / 2;
    OGRPoint c;
    p.geometry->Centroid(&c);
    p.centroid_x = c.getX();
    p.centroid_y = c.getY();
    p.tblx = "20";
    p.overlay.village_name = "村" + std::to_string(id);
    p.prejudgement.verdict = verdict;
    if (verdict == "非农违法") p.prejudgement.category = "工矿商服";
    return p;
}

// A small grey JPEG through GDAL (MEM → JPEG driver).
void write_small_jpeg(const fs::path& path, int size = 16) {
    GDALAllRegister();
    fs::create_directories(path.parent_path());
    GDALDatasetUniquePtr mem(GetGDALDriverManager()->GetDriverByName("MEM")->Create("", size, size, 3, GDT_Byte, nullptr));
    for (int b = 1; b <= 3; ++b) mem->GetRasterBand(b)->Fill(60.0 * b);
    GDALDatasetUniquePtr jpeg(GetGDALDriverManager()->GetDriverByName("JPEG")->CreateCopy(
        path.string().c_str(), mem.get(), FALSE, nullptr, nullptr, nullptr));
    ASSERT_TRUE(jpeg);
}

// Parcels in three townships (one named "<&>乡" to test escaping, one unassigned) with chips.
struct Sample {
    TempDir temp;
    OGRSpatialReference srs = sample_srs();
    std::vector<Parcel> parcels;
    std::vector<TownshipSummary> townships;
    PackageInputs inputs;

    Sample() {
        constexpr double x0 = 497000, y0 = 3940400;
        parcels.push_back(parcel(1, "稷峰镇", "140824100", rectangle(x0 + 10, y0 + 10, 20, 20)));          // 400 m²
        parcels.push_back(parcel(2, "稷峰镇", "140824100", rectangle(x0 + 60, y0 + 10, 30, 30), "存疑"));  // 900 m²
        parcels.push_back(parcel(3, "稷峰镇", "140824100", l_shape(x0 + 120, y0 + 10), "合法"));          // 444 m²
        parcels.push_back(parcel(4, "<&>乡", "", rectangle(x0 + 200, y0 + 200, 25, 25), "设施农用地"));
        parcels.push_back(parcel(5, "<&>乡", "", rectangle(x0 + 300, y0 + 300, 40, 40), ""));
        parcels.push_back(parcel(6, kUnassignedTownship, "", rectangle(x0 + 500, y0 + 500, 15, 15), "其他"));
        parcels[4].lead_id = "140824SJBG23210183_2";
        parcels[1].overlay.permanent_farmland_assessed = true;
        parcels[1].overlay.permanent_farmland_m2 = 200;
        townships = summarize_by_township(parcels);
        inputs.dir = temp.path();
        inputs.parcels = &parcels;
        inputs.townships = &townships;
        inputs.srs = &srs;
        inputs.county_name = "稷山县";
        inputs.before_date = "2023-04-10";
        inputs.after_date = "2023-09-18";
        for (const auto& p : parcels) {
            const std::string id = std::to_string(p.id);
            ChipFiles chips{"chips/" + id + "_qsx.jpg", "chips/" + id + "_hsx.jpg"};
            write_small_jpeg(temp.path() / chips.before);
            write_small_jpeg(temp.path() / chips.after);
            inputs.chips.push_back(chips);
        }
        write_small_jpeg(temp.path() / "overview.jpg", 64);
        inputs.overview.width = inputs.overview.height = 64;
        for (std::size_t i = 0; i < parcels.size(); ++i)
            inputs.overview.boxes.emplace_back(static_cast<int>(i) * 8, static_cast<int>(i) * 8, 6, 6);
        write_text(temp.path() / "summary.txt", "稷山县卫片监测新增建设疑似违法用地图斑汇总\n共 6 宗 <测试>\n");
        ParcelAttributes attributes;
        attributes.before_date = inputs.before_date;
        attributes.after_date = inputs.after_date;
        write_parcels_gpkg(temp.path() / "parcels.gpkg", parcels, srs, attributes);
    }
};

// The parcel ids of each township table, in document order: data-township → ids.
std::vector<std::pair<std::string, std::vector<std::int64_t>>> tables_of(const std::string& html) {
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> tables;
    const std::regex tag(R"re(<table class="parcels" data-township="([^"]*)"|<tr id="p-\d+" data-parcel-id="(\d+)")re");
    for (std::sregex_iterator it(html.begin(), html.end(), tag), end; it != end; ++it) {
        if ((*it)[1].matched) tables.push_back({(*it)[1].str(), {}});
        else if (!tables.empty()) tables.back().second.push_back(std::stoll((*it)[2].str()));
    }
    return tables;
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

// ---- index.html and cards ----------------------------------------------------------------------

TEST(PackageHtml, OneTablePerTownshipWithEveryParcelLargestFirst) {
    Sample s;
    write_html_package(s.inputs);
    const std::string html = read_text(s.temp / "index.html");
    const auto tables = tables_of(html);
    ASSERT_EQ(tables.size(), 3u);
    // Township order of the summary (cultivated area, then area); the unassigned last, labelled 乡镇界外.
    EXPECT_EQ(tables[0].first, "&lt;&amp;&gt;乡");  // 耕地 1112 m²
    EXPECT_EQ(tables[0].second, (std::vector<std::int64_t>{5, 4}));
    EXPECT_EQ(tables[1].first, "稷峰镇");  // 耕地 872 m²
    EXPECT_EQ(tables[1].second, (std::vector<std::int64_t>{2, 3, 1}));  // 900, 444, 400 m²
    EXPECT_EQ(tables[2].first, "乡镇界外");
    EXPECT_EQ(tables[2].second, (std::vector<std::int64_t>{6}));
    std::size_t rows = 0;
    for (const auto& t : tables) rows += t.second.size();
    EXPECT_EQ(rows, s.parcels.size());
    EXPECT_EQ(count_of(html, "data-parcel-id="), s.parcels.size());
    // Figures in 亩 as units.hpp formats them: 900 m² = 1.35 亩, 耕地 0.68 亩; township total 0.6 + 1.35 + 0.67 = 2.62 亩.
    EXPECT_NE(html.find("<td class=\"num\" data-v=\"135\">1.35</td><td class=\"num\" data-v=\"68\">0.68</td>"), std::string::npos);
    EXPECT_NE(html.find("<tfoot><tr><td>合计</td><td>3 宗</td><td class=\"num\">2.62</td>"), std::string::npos);
    EXPECT_NE(html.find("非农违法·工矿商服"), std::string::npos);
    EXPECT_NE(html.find("是 0.3 亩"), std::string::npos);  // 永农 200 m²
    EXPECT_NE(html.find("140824SJBG23210183_2"), std::string::npos);
    // Sortable headings and the township filter.
    EXPECT_NE(html.find("<th data-sort=\"num\" data-dir=\"desc\">面积(亩)</th><th data-sort=\"num\">耕地(亩)</th>"
                        "<th data-sort=\"text\">图斑类型</th><th data-sort=\"text\">初判建议</th>"),
              std::string::npos);
    EXPECT_NE(html.find("<select id=\"township-filter\">"), std::string::npos);
    EXPECT_EQ(count_of(html, "<option value=\"t-"), 3u);
    // Title, dates, the summary text (escaped).
    EXPECT_NE(html.find("<title>稷山县 卫片疑似违法图斑核查包</title>"), std::string::npos);
    EXPECT_NE(html.find("前时相 QSX 2023-04-10 · 后时相 HSX 2023-09-18"), std::string::npos);
    EXPECT_NE(html.find("共 6 宗 &lt;测试&gt;"), std::string::npos);
}

TEST(PackageHtml, EscapesTextLinksChipsAndNeedsNothingOnline) {
    Sample s;
    s.parcels[0].overlay.village_name = "<script>alert(1)</script>\"'";
    write_html_package(s.inputs);
    const std::string html = read_text(s.temp / "index.html");
    EXPECT_EQ(html.find("<&>"), std::string::npos);
    EXPECT_EQ(html.find("<script>alert"), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;"), std::string::npos);
    for (const auto& p : s.parcels) {
        const std::string id = std::to_string(p.id);
        for (const std::string side : {"_qsx.jpg", "_hsx.jpg"})
            EXPECT_NE(html.find("<a href=\"chips/" + id + side + "\"><img class=\"chip\" loading=\"lazy\" src=\"chips/" + id + side + "\""),
                      std::string::npos) << id << side;
    }
    EXPECT_EQ(count_of(html, "<img class=\"chip\""), 2 * s.parcels.size());
    // The overview with one map area per parcel, linking to its row.
    EXPECT_NE(html.find("<img id=\"overview-image\" src=\"overview.jpg\" usemap=\"#overview-map\""), std::string::npos);
    EXPECT_EQ(count_of(html, "<area shape=\"rect\""), s.parcels.size());
    EXPECT_NE(html.find("coords=\"8,8,14,14\" data-coords=\"8,8,14,14\" href=\"#p-2\""), std::string::npos);
    // Offline: inline CSS and script only.
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("//cdn"), std::string::npos);
    EXPECT_EQ(html.find("<script src"), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_NE(html.find("body.dataset.chipsLoaded=loaded"), std::string::npos);
}

TEST(PackageHtml, OneCheckCardPerTownshipWithTheFieldsToFillIn) {
    Sample s;
    write_html_package(s.inputs);
    std::set<std::string> cards;
    for (const auto& entry : fs::directory_iterator(s.temp / "cards")) cards.insert(entry.path().filename().string());
    // By code when the township has one, else the name made file-safe; the unassigned by name.
    EXPECT_EQ(cards, (std::set<std::string>{"140824100.html", "___乡.html", "unassigned.html"}));
    const std::string card = read_text(s.temp / "cards" / "140824100.html");
    EXPECT_EQ(count_of(card, "<div class=\"card\" data-parcel-id="), 3u);
    EXPECT_NE(card.find("@page{size:A4 portrait"), std::string::npos);
    EXPECT_NE(card.find("break-after:page"), std::string::npos);
    for (const char* field : {"核实认定意见", "分类", "现场核查描述", "核查人", "核查日期", "项目名称", "建设时间", "项目主体"})
        EXPECT_NE(card.find(std::string("<th>") + field + "</th>"), std::string::npos) << field;
    EXPECT_NE(card.find("□ 非农违法"), std::string::npos);
    EXPECT_NE(card.find("src=\"../chips/2_qsx.jpg\""), std::string::npos);
    EXPECT_NE(card.find("src=\"../chips/2_hsx.jpg\""), std::string::npos);
    EXPECT_NE(card.find("src=\"../overview.jpg\""), std::string::npos);
    // Parcel 2: the 30 m square with its lower-left corner at (497060, 3940410).
    EXPECT_NE(card.find("中心点 XZB 497075.00　YZB 3940425.00"), std::string::npos);
    EXPECT_NE(card.find("导航点 经度 110.9"), std::string::npos);
    const std::string escaped = read_text(s.temp / "cards" / "___乡.html");
    EXPECT_EQ(escaped.find("<&>"), std::string::npos);
    EXPECT_NE(escaped.find("&lt;&amp;&gt;乡 外业核查卡"), std::string::npos);
    // index.html links each card.
    EXPECT_NE(read_text(s.temp / "index.html").find("href=\"cards/140824100.html\""), std::string::npos);
}

TEST(PackageHtml, WithoutChipsOrParcels) {
    Sample s;
    s.inputs.chips.clear();
    s.inputs.overview = {};
    s.inputs.overview.file.clear();
    write_html_package(s.inputs);
    const std::string html = read_text(s.temp / "index.html");
    EXPECT_EQ(count_of(html, "<img class=\"chip\""), 0u);
    EXPECT_EQ(html.find("overview-image\" src"), std::string::npos);
    EXPECT_EQ(count_of(html, "data-parcel-id="), s.parcels.size());

    std::vector<Parcel> none;
    std::vector<TownshipSummary> no_rows;
    PackageInputs empty = s.inputs;
    empty.parcels = &none;
    empty.townships = &no_rows;
    write_html_package(empty);
    EXPECT_NE(read_text(s.temp / "index.html").find("本期未发现疑似违法用地图斑"), std::string::npos);
}

// ---- parcels.kmz -------------------------------------------------------------------------------

TEST(PackageKmz, OnePlacemarkPerParcelInLonLatWithItsChips) {
    Sample s;
    const fs::path kmz = s.temp / "parcels.kmz";
    write_parcels_kmz(kmz, s.inputs);
    // The chips inside the archive, under files/.
    char** listing = VSIReadDir(("/vsizip/" + kmz.string() + "/files").c_str());
    std::set<std::string> files;
    for (int i = 0; listing && listing[i]; ++i) files.insert(listing[i]);
    CSLDestroy(listing);
    EXPECT_EQ(files.size(), 2 * s.parcels.size());
    EXPECT_TRUE(files.count("5_qsx.jpg") && files.count("5_hsx.jpg"));

    const std::string kml_path = "/vsizip/" + kmz.string() + "/doc.kml";
    const char* drivers[] = {"LIBKML", "KML", nullptr};
    GDALDatasetUniquePtr ds(GDALDataset::Open(kml_path.c_str(), GDAL_OF_VECTOR, drivers, nullptr, nullptr));
    ASSERT_TRUE(ds);
    std::map<std::string, int> placemarks;
    for (auto* layer : ds->GetLayers()) {
        for (auto& feature : *layer) {
            const std::string name = feature->GetFieldAsString("Name");
            ++placemarks[name];
            const OGRGeometry* g = feature->GetGeometryRef();
            ASSERT_TRUE(g) << name;
            ASSERT_EQ(wkbFlatten(g->getGeometryType()), wkbGeometryCollection) << name;
            const auto* collection = g->toGeometryCollection();
            const OGRPoint* point = nullptr;
            const OGRPolygon* outline = nullptr;
            for (const auto* part : *collection) {
                if (wkbFlatten(part->getGeometryType()) == wkbPoint) point = part->toPoint();
                if (wkbFlatten(part->getGeometryType()) == wkbPolygon) outline = part->toPolygon();
            }
            ASSERT_TRUE(point && outline) << name;
            // Lon/lat, traditional order: the sample lies near 110.97°E 35.60°N.
            EXPECT_NEAR(point->getX(), 110.97, 0.02) << name;
            EXPECT_NEAR(point->getY(), 35.60, 0.02) << name;
            EXPECT_TRUE(point->Within(outline)) << name;
            const std::string description = feature->GetFieldAsString("Description");
            EXPECT_NE(description.find("<img src=\"files/" + name + "_qsx.jpg\""), std::string::npos) << name;
            EXPECT_NE(description.find("<img src=\"files/" + name + "_hsx.jpg\""), std::string::npos) << name;
            EXPECT_NE(description.find("面积"), std::string::npos) << name;
        }
    }
    EXPECT_EQ(placemarks.size(), s.parcels.size());
    for (const auto& [name, n] : placemarks) EXPECT_EQ(n, 1) << name;

    // The L-shaped parcel 3: its centroid is outside, the placemark inside. 
    const std::string kml = [&] {
        VSILFILE* f = VSIFOpenL(kml_path.c_str(), "rb");
        std::string text;
        char buffer[4096];
        for (std::size_t n; f && (n = VSIFReadL(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
        if (f) VSIFCloseL(f);
        return text;
    }();
    EXPECT_NE(kml.find("<name>&lt;&amp;&gt;乡（2 宗，"), std::string::npos);
    EXPECT_NE(kml.find("<Data name=\"cp_yj\"><value>存疑</value></Data>"), std::string::npos);
    EXPECT_EQ(kml.find("<&>"), std::string::npos);
}

TEST(PackageKmz, AMissingChipIsRefusedAndNoArchiveLeft) {
    Sample s;
    fs::remove(s.temp / "chips" / "4_hsx.jpg");
    const fs::path kmz = s.temp / "parcels.kmz";
    try {
        write_parcels_kmz(kmz, s.inputs);
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("package: cannot read the chip '" + (s.temp / "chips" / "4_hsx.jpg").string()),
                  std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("write the chips first (output.chips: true) or turn output.kmz off"), std::string::npos);
    }
    EXPECT_FALSE(fs::exists(kmz));
    for (const auto& entry : fs::directory_iterator(s.temp.path()))
        EXPECT_EQ(entry.path().filename().string().find(".parcels.kmz.partial"), std::string::npos);
}

TEST(PackageKmz, ACrsWithoutLonLatOrAnEmptyParcelIsRefused) {
    Sample s;
    OGRSpatialReference local;
    local.SetLocalCS("site grid");
    s.inputs.srs = &local;
    try {
        write_parcels_kmz(s.temp / "parcels.kmz", s.inputs);
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("cannot be transformed to longitude/latitude (EPSG:4326); check the CRS of the imagery"),
                  std::string::npos) << e.what();
    }
    s.inputs.srs = &s.srs;
    s.parcels[2].geometry.reset(new OGRPolygon);
    try {
        write_parcels_kmz(s.temp / "parcels.kmz", s.inputs);
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("parcel 3 cannot be placed in longitude/latitude; check the CRS of the imagery"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(s.temp / "parcels.kmz"));
}

// ---- QGIS style --------------------------------------------------------------------------------

TEST(PackageStyle, OneDefaultStyleRowForParcelsAndTheFileStillOpens) {
    Sample s;
    const fs::path gpkg = s.temp / "parcels.gpkg";
    add_qgis_style(gpkg);
    add_qgis_style(gpkg);  // a rerun replaces weipian's row
    GDALDatasetUniquePtr ds(GDALDataset::Open(gpkg.string().c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    OGRLayer* parcels = ds->GetLayerByName("parcels");
    ASSERT_TRUE(parcels);
    EXPECT_EQ(parcels->GetFeatureCount(), static_cast<GIntBig>(s.parcels.size()));
    OGRLayer* styles = ds->GetLayerByName("layer_styles");
    ASSERT_TRUE(styles);
    EXPECT_EQ(styles->GetGeomType(), wkbNone);
    ASSERT_EQ(styles->GetFeatureCount(), 1);
    styles->ResetReading();
    OGRFeatureUniquePtr row(styles->GetNextFeature());
    EXPECT_STREQ(row->GetFieldAsString("f_table_name"), "parcels");
    EXPECT_STREQ(row->GetFieldAsString("f_geometry_column"), parcels->GetGeometryColumn());
    EXPECT_EQ(row->GetFieldAsInteger("useAsDefault"), 1);
    const std::string qml = row->GetFieldAsString("styleQML");
    EXPECT_NE(qml.find("RuleRenderer"), std::string::npos);
    EXPECT_NE(qml.find("&quot;cp_yj&quot; = '非农违法'"), std::string::npos);
    EXPECT_NE(qml.find("value=\"227,26,28,255\""), std::string::npos);  // red
    EXPECT_NE(qml.find("filter=\"ELSE\""), std::string::npos);          // grey for the rest
    EXPECT_NE(qml.find("<Option name=\"outline_width\" type=\"QString\" value=\"0.8\"/>"), std::string::npos);
    EXPECT_NE(qml.find("<Option name=\"style\" type=\"QString\" value=\"no\"/>"), std::string::npos);
    EXPECT_NE(qml.find("fieldName=\"parcel_id\""), std::string::npos);
    EXPECT_NE(std::string(row->GetFieldAsString("styleSLD")).find("<ogc:PropertyName>cp_yj</ogc:PropertyName>"), std::string::npos);
    EXPECT_FALSE(std::string(row->GetFieldAsString("update_time")).empty());
    // SQLite's own check of the file.
    OGRLayer* check = ds->ExecuteSQL("PRAGMA integrity_check", nullptr, nullptr);
    ASSERT_TRUE(check);
    OGRFeatureUniquePtr verdict(check->GetNextFeature());
    EXPECT_STREQ(verdict->GetFieldAsString(0), "ok");
    ds->ReleaseResultSet(check);
}

TEST(PackageStyle, RefusesAMissingGeoPackageOrLayer) {
    TempDir temp;
    try {
        add_qgis_style(temp / "parcels.gpkg");
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("to add its QGIS style; write parcels.gpkg first"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(temp / "parcels.gpkg"));
    Sample s;
    try {
        add_qgis_style(s.temp / "parcels.gpkg", "cases");
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("has no layer 'cases' to style; write parcels.gpkg with weipian run"),
                  std::string::npos) << e.what();
    }
}

// ---- the whole package -------------------------------------------------------------------------

TEST(PackageAll, WritesWhatTheConfigAsks) {
    Sample s;
    OutputPackageConfig config;
    config.html = false;
    config.kmz = false;
    write_verification_package(s.inputs, config);
    EXPECT_FALSE(fs::exists(s.temp / "index.html"));
    EXPECT_FALSE(fs::exists(s.temp / "parcels.kmz"));
    EXPECT_FALSE(fs::exists(s.temp / "cards"));
    config.html = config.kmz = true;
    write_verification_package(s.inputs, config);
    EXPECT_TRUE(fs::exists(s.temp / "index.html"));
    EXPECT_TRUE(fs::exists(s.temp / "parcels.kmz"));
    EXPECT_EQ(std::distance(fs::directory_iterator(s.temp / "cards"), fs::directory_iterator()), 3);
    GDALDatasetUniquePtr ds(GDALDataset::Open((s.temp / "parcels.gpkg").string().c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds && ds->GetLayerByName("layer_styles"));
    EXPECT_EQ(ds->GetLayerByName("layer_styles")->GetFeatureCount(), 1);
}

// Headless Chromium opens index.html from disk: every row is there and every chip loads
// (scripts/check_html.py; skipped without Debian's chromium).
TEST(PackageBrowser, ChromiumShowsEveryRowAndLoadsEveryChip) {
    Sample s;
    write_html_package(s.inputs);
    const fs::path shot = s.temp / "index.png";
    const std::string command = "python3 '" WEIPIAN_SOURCE_DIR "/scripts/check_html.py' '" + (s.temp / "index.html").string() +
                                "' " + std::to_string(s.parcels.size()) + " --screenshot '" + shot.string() + "' > '" +
                                (s.temp / "check.log").string() + "' 2>&1";
    const int rc = std::system(command.c_str());
    const std::string log = read_text(s.temp / "check.log");
    if (log.find("skipped: chromium not installed") != std::string::npos) GTEST_SKIP() << log;
    EXPECT_EQ(rc, 0) << log;
    EXPECT_NE(log.find("6 rows in 3 tables, 12 chips loaded, 0 failed"), std::string::npos) << log;
    EXPECT_TRUE(fs::exists(shot));
    if (const char* keep = std::getenv("WEIPIAN_SHOTS")) fs::copy_file(shot, fs::path(keep) / "package_test_index.png", fs::copy_options::overwrite_existing);
}

// A full disk (files limited to a few kB, tests/support/full_disk.hpp) at each step of the
// archive and of the style: one line naming the file, and the final files as they were.
TEST(PackageFullDisk, EachStepSaysWhatFailedAndLeavesNothingHalfWritten) {
    const std::pair<rlim_t, std::string> kmz_cases[] = {
        {1000, "package: cannot add doc.kml to the archive '"},
        {3000, "package: cannot add files/4_hsx.jpg to the archive '"},
        {6000, "package: cannot finish '"},
    };
    for (const auto& [limit, expected] : kmz_cases) {
        Sample s;
        const auto thrown = test::on_full_disk(limit, [&] { write_parcels_kmz(s.temp / "parcels.kmz", s.inputs); });
        EXPECT_EQ(thrown.exit_code, 3) << limit << ": " << thrown.message;
        EXPECT_NE(thrown.message.find(expected), std::string::npos) << limit << ": " << thrown.message;
        EXPECT_NE(thrown.message.find("); check free space on the output disk"), std::string::npos) << thrown.message;
        EXPECT_FALSE(fs::exists(s.temp / "parcels.kmz"));
    }
    Sample s;
    const fs::path gpkg = s.temp / "parcels.gpkg";
    const auto before = read_text(gpkg);
    // Room for the copy of the GeoPackage, not for the table: the style row cannot be written.
    const auto thrown = test::on_full_disk(fs::file_size(gpkg) + 1500, [&] { add_qgis_style(gpkg); });
    EXPECT_EQ(thrown.exit_code, 3) << thrown.message;
    EXPECT_NE(thrown.message.find("package: cannot add the QGIS style to '" + gpkg.string() + "': cannot write the style row ("),
              std::string::npos) << thrown.message;
    EXPECT_NE(thrown.message.find("); check that the output folder is writable"), std::string::npos) << thrown.message;
    EXPECT_EQ(read_text(gpkg), before);
}

}  // namespace
}  // namespace weipian
