// Emit stage: the output files (parcels.gpkg, townships.csv, summary.txt, run.json).
#include "pipeline/emit.hpp"

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <ogrsf_frmts.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/emit.hpp"
#include "tests/support/full_disk.hpp"
#include "tests/support/plan_figures.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;


using test::m2_of;
using test::parcel_in;
using test::parcels_for;
using test::parcels_of;
using test::kPlan2018Lines;
using test::kPlan2022Lines;

std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) parts.push_back(part);
    if (!text.empty() && text.back() == separator) parts.emplace_back();
    return parts;
}

// A fresh folder under the system temp folder, removed at the end of the test.
class TempDir {
public:
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ = fs::temp_directory_path() / ("weipian_report_test_" + std::to_string(::getpid()) + "_" + info->name());
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// ---------------------------------------------------------------------------------------------
// numbers

TEST(OutputsTest, TownshipsCsvHasBomRowsAndATotalsRowEqualToTheirSum) {
    TempDir temp;
    const auto rows = summarize_by_township(parcels_for(test::kPlanCohort2018, 4));
    const auto path = temp.path() / "townships.csv";
    write_townships_csv(path, rows);
    const auto text = read_all(path);
    ASSERT_EQ(text.rfind("\xEF\xBB\xBF", 0), 0u);
    const auto lines = split(text.substr(3), '\n');
    ASSERT_EQ(lines.size(), rows.size() + 3);  // header, rows, totals, empty after the last newline
    EXPECT_EQ(lines[0], "rank,township,code,cases,area_mu,cultivated_cases,cultivated_mu");
    EXPECT_EQ(lines[1], "1,稷峰镇,140824100,35,141.31,8,29.88");
    EXPECT_EQ(lines[5], "5,清河镇,140824104,12,19.50,2,1.16");
    EXPECT_EQ(lines[7], "7,蔡村乡,140824200,4,15.57,0,0.00");
    EXPECT_EQ(lines[8], ",合计,,118,661.51,23,43.17");
    std::int64_t cases = 0, cultivated_cases = 0;
    long long area = 0, cultivated = 0;  // hundredths, parsed back from the printed text
    for (std::size_t i = 1; i <= rows.size(); ++i) {
        const auto cells = split(lines[i], ',');
        ASSERT_EQ(cells.size(), 7u) << lines[i];
        cases += std::stoll(cells[3]);
        area += std::llround(std::stod(cells[4]) * 100);
        cultivated_cases += std::stoll(cells[5]);
        cultivated += std::llround(std::stod(cells[6]) * 100);
    }
    const auto totals = split(lines[8], ',');
    EXPECT_EQ(std::stoll(totals[3]), cases);
    EXPECT_EQ(std::llround(std::stod(totals[4]) * 100), area);
    EXPECT_EQ(std::stoll(totals[5]), cultivated_cases);
    EXPECT_EQ(std::llround(std::stod(totals[6]) * 100), cultivated);
    EXPECT_EQ(lines[9], "");
}

TEST(OutputsTest, SummaryTxtUsesThePlanWordingForCandidates) {
    TempDir temp;
    const auto rows = summarize_by_township(parcels_for(test::kPlanCohort2022, 5));
    const auto path = temp.path() / "summary.txt";
    write_summary_txt(path, "稷山县", {"2023-01-15", "2023-04-20"}, rows);
    const auto text = read_all(path);
    const auto lines = split(text, '\n');
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines[0].find("稷山县"), std::string::npos);
    EXPECT_NE(lines[0].find("2023-01-15"), std::string::npos);
    EXPECT_NE(lines[0].find("2023-04-20"), std::string::npos);
    EXPECT_NE(text.find("本期卫片监测共发现各类疑似违法用地 71 宗，总面积 297.85 亩（其中：耕地 8 宗，面积 25.67 "
                        "亩）。各乡镇涉及耕地面积从大到小依次排名如下。\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\n1. 化峪镇疑似违法用地 18 宗，总面积 63.31 亩，涉及耕地 5 宗，面积 13.49 亩。\n"),
              std::string::npos);
    EXPECT_NE(text.find("\n7. 清河镇疑似违法用地 1 宗，总面积 1.12 亩，不涉及耕地。\n"), std::string::npos);
    EXPECT_NE(text.find("外业核查"), std::string::npos);
    EXPECT_NE(text.find("不是违法认定结论"), std::string::npos);
}

TEST(OutputsTest, SummaryTxtSaysWhenCultivatedLandWasNotAssessed) {
    TempDir temp;
    const auto rows = summarize_by_township(parcels_for(test::kPlanCohort2022, 5));
    const auto path = temp.path() / "summary.txt";
    write_summary_txt(path, "稷山县", {"2023-01-15", "2023-04-20"}, rows);
    EXPECT_EQ(read_all(path).find("耕地面积未核算"), std::string::npos);
    write_summary_txt(path, "稷山县", {"2023-01-15", "2023-04-20", false}, rows);
    EXPECT_NE(read_all(path).find("耕地面积未核算"), std::string::npos);
}

TEST(OutputsTest, SummaryTxtSetsGreenhousesApartForTheFilingCheck) {
    TempDir temp;
    const auto rows = summarize_by_township(parcels_for(test::kPlanCohort2022, 5));
    const auto path = temp.path() / "summary.txt";
    write_summary_txt(path, "稷山县", {"2023-01-15", "2023-04-20"}, rows);
    EXPECT_EQ(read_all(path).find("大棚"), std::string::npos);
    write_summary_txt(path, "稷山县", {"2023-01-15", "2023-04-20"}, rows, {2, 305});
    EXPECT_NE(read_all(path).find("\n其中图斑类型为大棚（DP，设施农业）的 2 宗，面积 3.05 亩：须核对设施农用地备案，不按建筑统计。\n"),
              std::string::npos)
        << read_all(path);
}

TEST(OutputsTest, SummaryTxtWithNoParcelsSaysSoInOneLine) {
    TempDir temp;
    const auto path = temp.path() / "summary.txt";
    write_summary_txt(path, "稷山县", {"2023-01-15", "2023-04-20"}, {});
    const auto text = read_all(path);
    EXPECT_NE(text.find("\n本期卫片监测未发现新增建设疑似违法用地图斑。\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("宗"), std::string::npos);
}

TEST(OutputsTest, ParcelsGpkgHoldsMultiPolygonsAndRoundedMu) {
    ensure_gdal_registered();
    TempDir temp;
    OGRSpatialReference srs;
    ASSERT_EQ(srs.importFromEPSG(4546), OGRERR_NONE);  // authority order on purpose
    std::vector<Parcel> parcels;
    for (int i = 0; i < 2; ++i) {
        Parcel parcel = parcel_in("稷峰镇", "140824100", 10.0 + i * 10000.0, 3.4);
        parcel.id = i + 1;
        parcel.patch_id = 40 + i;
        parcel.pixel_count = 100 + i;
        parcel.change_score = 0.25;
        parcel.tblx = i == 0 ? "20" : "DP";
        if (i == 1) parcel.remarks = "设施农用地：核对备案";
        parcel.centroid_x = 500150.123;
        parcel.centroid_y = 3940150.456;
        OGRGeometry* geometry = nullptr;
        const double x = 500100 + i * 200;
        const std::string wkt = "POLYGON ((" + std::to_string(x) + " 3940100," + std::to_string(x + 100) + " 3940100," +
                                std::to_string(x + 100) + " 3940200," + std::to_string(x) + " 3940200," +
                                std::to_string(x) + " 3940100))";
        ASSERT_EQ(OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &geometry), OGRERR_NONE);
        parcel.geometry.reset(geometry);
        parcels.push_back(std::move(parcel));
    }
    const auto path = temp.path() / "parcels.gpkg";
    write_parcels_gpkg(path, parcels, srs, {"2023-01-15", "2023-04-20"});
    write_parcels_gpkg(path, parcels, srs, {"2023-01-15", "2023-04-20"});  // overwrites

    GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
    ASSERT_NE(dataset, nullptr);
    OGRLayer* layer = dataset->GetLayerByName("parcels");
    ASSERT_NE(layer, nullptr);
    EXPECT_EQ(layer->GetFeatureCount(), 2);
    EXPECT_EQ(wkbFlatten(layer->GetGeomType()), wkbMultiPolygon);
    ASSERT_NE(layer->GetSpatialRef(), nullptr);
    EXPECT_STREQ(layer->GetSpatialRef()->GetAuthorityCode(nullptr), "4546");
    std::vector<std::string> names;
    for (int i = 0; i < layer->GetLayerDefn()->GetFieldCount(); ++i)
        names.emplace_back(layer->GetLayerDefn()->GetFieldDefn(i)->GetNameRef());
    EXPECT_EQ(names, (std::vector<std::string>{
                         "parcel_id", "patch_id", "xzmc", "xzqdm", "cjmc", "cjdm", "area_m2", "area_mu", "cultivated_m2",
                         "cultivated_mu", "fgnyd_mu", "wlyd_mu", "jsyd_mu", "wdc_mu", "yjjbnt_mu", "sthx_mu", "czkfbj_mu",
                         "dlbm", "sfyn", "sfhx", "xsmk", "pzwh", "pzwh_share", "gdwh", "gdwh_share", "bdcqzh", "bdcqzh_share",
                         "lsydwh", "lsydwh_share", "ssnydh", "ssnydh_share", "cp_yj", "cp_fl", "cp_rule", "cp_evidence",
                         "cp_missing", "case_id", "lead_id", "centroid_x", "centroid_y", "qsx", "hsx", "change_score",
                         "pixel_count", "tblx", "bz"}));

    OGRFeatureUniquePtr first(layer->GetNextFeature());
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->GetFieldAsInteger64("parcel_id"), 1);
    EXPECT_EQ(first->GetFieldAsInteger64("patch_id"), 40);
    EXPECT_STREQ(first->GetFieldAsString("xzmc"), "稷峰镇");
    EXPECT_STREQ(first->GetFieldAsString("xzqdm"), "140824100");
    EXPECT_DOUBLE_EQ(first->GetFieldAsDouble("area_m2"), 10.0);
    EXPECT_DOUBLE_EQ(first->GetFieldAsDouble("area_mu"), 0.02);  // 1.5 centimu rounds away from zero
    EXPECT_DOUBLE_EQ(first->GetFieldAsDouble("cultivated_mu"), 0.01);
    EXPECT_DOUBLE_EQ(first->GetFieldAsDouble("centroid_x"), 500150.12);
    EXPECT_STREQ(first->GetFieldAsString("qsx"), "2023-01-15");
    EXPECT_STREQ(first->GetFieldAsString("hsx"), "2023-04-20");
    EXPECT_STREQ(first->GetFieldAsString("tblx"), "20");
    EXPECT_FALSE(first->IsFieldSetAndNotNull(first->GetFieldIndex("bz")));
    EXPECT_EQ(first->GetFieldAsInteger64("pixel_count"), 100);
    ASSERT_NE(first->GetGeometryRef(), nullptr);
    EXPECT_EQ(wkbFlatten(first->GetGeometryRef()->getGeometryType()), wkbMultiPolygon);
    OGREnvelope envelope;
    first->GetGeometryRef()->getEnvelope(&envelope);
    EXPECT_DOUBLE_EQ(envelope.MinX, 500100.0);  // easting stays x
    EXPECT_DOUBLE_EQ(envelope.MinY, 3940100.0);
    OGRFeatureUniquePtr second(layer->GetNextFeature());
    ASSERT_NE(second, nullptr);
    EXPECT_DOUBLE_EQ(second->GetFieldAsDouble("area_mu"), 15.02);
    EXPECT_STREQ(second->GetFieldAsString("tblx"), "DP");
    EXPECT_STREQ(second->GetFieldAsString("bz"), "设施农用地：核对备案");
}

TEST(OutputsTest, WriteJsonIsPrettyPrinted) {
    TempDir temp;
    const auto path = temp.path() / "run.json";
    write_json(path, nlohmann::json{{"county", "稷山县"}, {"parcels", 3}});
    const auto text = read_all(path);
    EXPECT_EQ(nlohmann::json::parse(text)["county"], "稷山县");
    EXPECT_NE(text.find("\n  \"parcels\": 3"), std::string::npos) << text;
}

// The staging folder (OutputFolder) is tested in tests/pipeline/atomic_output_test.cpp.


// ---------------------------------------------------------------------------------------------
// messages: a full disk at each step of writing the outputs (tests/support/full_disk.hpp)

// 3,000 small parcels: enough that SQLite writes pages before the commit.
std::vector<Parcel> many_parcels() {
    std::vector<Parcel> parcels;
    for (int i = 0; i < 3000; ++i) {
        Parcel parcel = parcel_in("稷峰镇", "140824100", 100.0);
        parcel.id = i + 1;
        OGRGeometry* geometry = nullptr;
        OGRGeometryFactory::createFromWkt("POLYGON ((0 0,1 0,1 1,0.5 1.2,0.3 1.1,0 1,0 0))", nullptr, &geometry);
        parcel.geometry.reset(geometry);
        parcels.push_back(std::move(parcel));
    }
    return parcels;
}

TEST(EmitMessages, AFullDiskAtEachStepOfTheGeoPackageNamesTheFileTheStepAndGdalsDetail) {
    ensure_gdal_registered();
    TempDir temp;
    const fs::path gpkg = temp.path() / "parcels.gpkg";
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    const std::vector<Parcel> parcels = many_parcels();
    // The step that fails moves with the room the file has: creating the file, the first parcel
    // (SQLite spills pages), the commit, closing (GDAL adds its extension tables).
    std::map<std::string, std::string> seen;  // the step → the whole message
    const std::vector<std::string> steps = {"cannot create the GeoPackage (", "cannot write parcel 1 (",
                                            "cannot commit the parcels (", "closing the GeoPackage failed ("};
    for (rlim_t kib = 0; kib <= 1200 && seen.size() < steps.size(); kib += 8) {
        const auto thrown = test::on_full_disk(kib * 1024, [&] {
            write_parcels_gpkg(gpkg, parcels, srs, ParcelAttributes{"2023-04-10", "2023-09-18"});
        });
        if (thrown.exit_code == 0) break;
        EXPECT_EQ(thrown.exit_code, 3) << thrown.message;
        EXPECT_EQ(thrown.message.rfind("outputs: cannot write '" + gpkg.string() + "': ", 0), 0u) << thrown.message;
        EXPECT_NE(thrown.message.find("; check that the output folder is writable"), std::string::npos) << thrown.message;
        for (const auto& step : steps)
            if (thrown.message.find(step) != std::string::npos) seen.emplace(step, thrown.message);
    }
    for (const auto& step : steps) EXPECT_TRUE(seen.count(step)) << "no limit gave \"" << step << "\"";
    // GDAL's own detail is kept, not that of the rollback after it (an earlier version said
    // "cannot rollback - no transaction is active"); SQLite's statements are shortened.
    for (const auto& [step, message] : seen) EXPECT_LT(message.size(), 700u) << message;
    EXPECT_EQ(seen["cannot write parcel 1 ("].find("rollback"), std::string::npos) << seen["cannot write parcel 1 ("];
}

TEST(EmitMessages, AFullDiskWhileWritingATextOutputNamesTheFile) {
    TempDir temp;
    const fs::path csv = temp.path() / "townships.csv";
    const auto thrown = test::on_full_disk(0, [&] {
        write_townships_csv(csv, summarize_by_township(parcels_of(parcel_in("稷峰镇", "140824100", 1000.0))));
    });
    EXPECT_EQ(thrown.exit_code, 3);
    EXPECT_EQ(thrown.message, "outputs: writing '" + csv.string() + "' failed; check free space on the output disk");
}

TEST(EmitMessages, AnEmptyOutputDirIsAConfigError) {
    EmitStage::Options options;
    try {
        EmitStage(options).validate();
        FAIL() << "no error";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.exit_code(), 2);
        EXPECT_STREQ(e.what(), "config: key 'output.dir' is empty; give the output folder (or pass --out)");
    }
}

}  // namespace
}  // namespace weipian
