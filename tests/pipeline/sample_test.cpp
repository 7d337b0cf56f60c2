// End to end on the project's sample scene (sample_tiles/, made by scripts/make_sample_tiles.py):
// every known construction object is found with its exact area, township and cultivated part,
// nothing else is, and the township ranking is the one truth.csv implies.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <sstream>

#include <ogrsf_frmts.h>

#include "pipeline/core/config.hpp"
#include "pipeline/main_job.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = WEIPIAN_SOURCE_DIR;

struct TruthPart {
    std::string object_id, township, code;
    double area_m2 = 0, cultivated_m2 = 0, centroid_x = 0, centroid_y = 0;
    bool below_mmu = false;
};

std::vector<TruthPart> read_truth() {
    std::istringstream in(test::read_text(kSource / "sample_tiles" / "truth.csv"));
    std::string line;
    std::getline(in, line);  // header
    std::vector<TruthPart> parts;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::vector<std::string> f;
        std::stringstream ls(line);
        for (std::string cell; std::getline(ls, cell, ',');) f.push_back(cell);
        TruthPart p;
        p.object_id = f[0];
        p.township = f[2];
        p.code = f[3];
        p.area_m2 = std::stod(f[4]);
        p.cultivated_m2 = std::stod(f[5]);
        p.below_mmu = f[6] == "true";
        p.centroid_x = std::stod(f[14]);
        p.centroid_y = std::stod(f[15]);
        parts.push_back(p);
    }
    return parts;
}

struct OutParcel {
    std::string township, code;
    double area_m2, area_mu, cultivated_m2, x, y;
    long long patch_id;
};

std::vector<OutParcel> read_parcels(const fs::path& gpkg) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open(gpkg.c_str(), GDAL_OF_VECTOR));
    EXPECT_TRUE(ds);
    std::vector<OutParcel> out;
    if (!ds) return out;
    for (auto& f : *ds->GetLayerByName("parcels"))
        out.push_back({f->GetFieldAsString("xzmc"), f->GetFieldAsString("xzqdm"), f->GetFieldAsDouble("area_m2"),
                       f->GetFieldAsDouble("area_mu"), f->GetFieldAsDouble("cultivated_m2"),
                       f->GetFieldAsDouble("centroid_x"), f->GetFieldAsDouble("centroid_y"),
                       f->GetFieldAsInteger64("patch_id")});
    return out;
}

class SampleRun : public ::testing::Test {
protected:
    static void run_with(const std::string& yaml_extra, const fs::path& out) {
        std::string yaml = test::read_text(kSource / "configs" / "sample.yaml") + yaml_extra;
        Config config = Config::parse(yaml, kSource / "configs" / "sample.yaml");
        config.output_dir = out.string();
        run_main_job(config);
    }
    test::TempDir dir;
};

TEST_F(SampleRun, FindsEveryKnownParcelWithItsAreaTownshipAndCultivatedPart) {
    run_with("", dir / "out");
    const auto truth = read_truth();
    const auto parcels = read_parcels(dir / "out" / "parcels.gpkg");
    std::size_t expected = 0;
    for (const auto& part : truth) expected += part.below_mmu ? 0 : 1;
    ASSERT_EQ(parcels.size(), expected);  // 15: C07 (120 m²) is below the 200 m² unit
    std::map<std::string, long long> patch_of_object;
    for (const auto& part : truth) {
        const OutParcel* match = nullptr;
        for (const auto& p : parcels)
            if (std::abs(p.x - part.centroid_x) < 0.01 && std::abs(p.y - part.centroid_y) < 0.01) match = &p;
        if (part.below_mmu) {
            EXPECT_EQ(match, nullptr) << part.object_id << " is below the minimum mapping unit";
            continue;
        }
        ASSERT_NE(match, nullptr) << part.object_id << " (" << part.township << ") not found";
        EXPECT_NEAR(match->area_m2, part.area_m2, 0.01) << part.object_id;
        EXPECT_NEAR(match->cultivated_m2, part.cultivated_m2, 0.01) << part.object_id;
        EXPECT_NEAR(match->area_mu, std::round(part.area_m2 * 0.15) / 100.0, 1e-9) << part.object_id;
        EXPECT_EQ(match->township, part.township) << part.object_id;
        EXPECT_EQ(match->code, part.code) << part.object_id;
        // Parts of one object (split at a township boundary) share the patch id.
        auto [it, inserted] = patch_of_object.emplace(part.object_id, match->patch_id);
        if (!inserted) EXPECT_EQ(it->second, match->patch_id) << part.object_id;
    }
    EXPECT_EQ(patch_of_object.size(), 14u);  // 14 objects, C05 split in two
}

TEST_F(SampleRun, TownshipTableAndSummaryMatchTheTruth) {
    run_with("", dir / "out");
    const std::string csv = test::read_text(dir / "out" / "townships.csv");
    EXPECT_NE(csv.find("1,西社镇,140824104,4,9.60,3,7.80\n2,稷峰镇,140824100,5,7.50,5,7.50\n"
                       "3,化峪镇,140824101,6,9.68,3,2.29\n,合计,,15,26.78,11,17.59"),
              std::string::npos)
        << csv;
    const std::string summary = test::read_text(dir / "out" / "summary.txt");
    for (const char* line : {"共发现各类疑似违法用地 15 宗，总面积 26.78 亩（其中：耕地 11 宗，面积 17.59 亩）。",
                             "1. 西社镇疑似违法用地 4 宗，总面积 9.6 亩，涉及耕地 3 宗，面积 7.8 亩。",
                             "2. 稷峰镇疑似违法用地 5 宗，总面积 7.5 亩，涉及耕地 5 宗，面积 7.5 亩。",
                             "3. 化峪镇疑似违法用地 6 宗，总面积 9.68 亩，涉及耕地 3 宗，面积 2.29 亩。"})
        EXPECT_NE(summary.find(line), std::string::npos) << line << "\n" << summary;
    const auto report = nlohmann::json::parse(test::read_text(dir / "out" / "run.json"));
    EXPECT_EQ(report["counts"]["parcels"], 15);
    EXPECT_EQ(report["counts"]["patches"], 14);
    EXPECT_EQ(report["config"]["clean"]["min_area_m2"], 200.0);
    for (const char* stage : {"ingest", "stream", "overlay", "emit", "total"})
        EXPECT_TRUE(report["timings_s"].contains(stage)) << stage;
}

// Patch types from the after epoch's pixels (pipeline/patch_type.hpp): the levelled earth is
// earthworks, the blue steel sheds buildings, the concrete yards hardened ground, the plastic
// bays a greenhouse. The sample's grey
// roofs are flat, untextured and cast no shadow, so the rules cannot tell them from concrete and
// type them YH too (on real imagery the shadow rule 7 separates them).
TEST_F(SampleRun, EveryParcelGetsAPatchTypeFromItsPixels) {
    run_with("", dir / "out");
    const auto truth = read_truth();
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "out" / "parcels.gpkg").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    std::map<std::string, int> by_type;
    std::map<std::string, std::string> type_of_object;
    for (auto& f : *ds->GetLayerByName("parcels")) {
        const std::string tblx = f->GetFieldAsString("tblx");
        ++by_type[tblx];
        // Only the greenhouse carries a remark: check its filing.
        EXPECT_EQ(std::string(f->GetFieldAsString("bz")), tblx == "DP" ? "设施农用地：核对备案" : "") << tblx;
        for (const auto& part : truth)
            if (std::abs(f->GetFieldAsDouble("centroid_x") - part.centroid_x) < 0.01 &&
                std::abs(f->GetFieldAsDouble("centroid_y") - part.centroid_y) < 0.01)
                type_of_object[part.object_id] = tblx;
    }
    EXPECT_EQ(by_type, (std::map<std::string, int>{{"YH", 11}, {"20", 2}, {"DT", 1}, {"DP", 1}}));
    EXPECT_EQ(type_of_object["C08"], "DT");  // levelled earth
    EXPECT_EQ(type_of_object["C10"], "20");  // blue steel sheds
    EXPECT_EQ(type_of_object["C12"], "20");
    EXPECT_EQ(type_of_object["C15"], "DP");  // plastic bays every 10 m
    for (const char* yard : {"C03", "C05", "C06", "C11", "C13", "C14"}) EXPECT_EQ(type_of_object[yard], "YH") << yard;
    const auto report = nlohmann::json::parse(test::read_text(dir / "out" / "run.json"));
    EXPECT_EQ(report["counts"]["tblx"], (nlohmann::json{{"YH", 11}, {"20", 2}, {"DT", 1}, {"DP", 1}}));
    EXPECT_TRUE(report["timings_s"].contains("patch_type"));
}

TEST_F(SampleRun, OutputsDoNotDependOnBlockSizeOrThreads) {
    run_with("", dir / "a");
    run_with("processing: {block_size: 48, threads: 1}\n", dir / "b");
    EXPECT_EQ(test::read_text(dir / "a" / "townships.csv"), test::read_text(dir / "b" / "townships.csv"));
    const auto a = read_parcels(dir / "a" / "parcels.gpkg"), b = read_parcels(dir / "b" / "parcels.gpkg");
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_DOUBLE_EQ(a[i].area_m2, b[i].area_m2);
        EXPECT_DOUBLE_EQ(a[i].x, b[i].x);
        EXPECT_EQ(a[i].township, b[i].township);
    }
}

TEST_F(SampleRun, FeedsTheLedgerOnceAndARerunChangesNothing) {
    const fs::path ledger = dir / "ledger.gpkg";
    const std::string args = "-q run --config '" + (kSource / "configs" / "sample.yaml").string() + "' --out '" +
                             (dir / "out").string() + "' --overwrite --ledger '" + ledger.string() + "'";
    const auto first = test::run_cli(args, dir.path());
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(first.out.find("ledger: 15 new cases, 0 updated, 0 flagged"), std::string::npos) << first.out;
    const auto report = nlohmann::json::parse(test::read_text(dir / "out" / "run.json"));
    EXPECT_EQ(report["ledger"]["new_case_ids"][0], "140824-2023-0001");
    EXPECT_EQ(report["ledger"]["new_case_ids"][14], "140824-2023-0015");
    const auto second = test::run_cli(args, dir.path());
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_NE(second.out.find("ledger: these parcels were fed before; nothing changed"), std::string::npos) << second.out;
    GDALAllRegister();  // the runs were child processes
    GDALDatasetUniquePtr ds(GDALDataset::Open(ledger.c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    EXPECT_EQ(ds->GetLayerByName("cases")->GetFeatureCount(), 15);
    std::map<std::string, int> by_type;  // each case keeps its parcel's patch type
    for (auto& f : *ds->GetLayerByName("cases")) ++by_type[f->GetFieldAsString("tblx")];
    EXPECT_EQ(by_type, (std::map<std::string, int>{{"YH", 11}, {"20", 2}, {"DT", 1}, {"DP", 1}}));
}

}  // namespace
}  // namespace weipian
