// The enforcement overlay, the pre-judgement and the delivered leads on the project's sample scene
// (sample_tiles/, scripts/make_sample_tiles.py): every figure truth.csv holds for a parcel — its
// village, the area split of the form, 永农 and 红线 areas, the approval evidence, the expected
// pre-judgement and the lead over it — is what the run writes into parcels.gpkg.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <sstream>

#include <ogrsf_frmts.h>

#include "pipeline/core/config.hpp"
#include "pipeline/core/units.hpp"
#include "pipeline/main_job.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = WEIPIAN_SOURCE_DIR;

// truth.csv by column name (no field holds a comma; trailing empty fields are kept).
std::vector<std::map<std::string, std::string>> read_truth() {
    std::istringstream in(test::read_text(kSource / "sample_tiles" / "truth.csv"));
    const auto split = [](const std::string& line) {
        std::vector<std::string> cells(1);
        for (char c : line) {
            if (c == ',')
                cells.emplace_back();
            else
                cells.back() += c;
        }
        return cells;
    };
    std::string line;
    std::getline(in, line);
    const auto header = split(line);
    std::vector<std::map<std::string, std::string>> rows;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto cells = split(line);
        EXPECT_EQ(cells.size(), header.size()) << line;
        std::map<std::string, std::string> row;
        for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
        rows.push_back(row);
    }
    return rows;
}

double mu_of(const std::string& m2) { return static_cast<double>(to_centimu(std::stod(m2))) / 100.0; }

class SampleEnforcement : public ::testing::Test {
protected:
    void run() {
        Config config = Config::load(kSource / "configs" / "sample.yaml");
        config.output_dir = (dir / "out").string();
        run_main_job(config);
    }
    test::TempDir dir;
};

TEST_F(SampleEnforcement, EveryParcelCarriesTheOverlayAndPreJudgementOfTheTruth) {
    run();
    const auto truth = read_truth();
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "out" / "parcels.gpkg").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    OGRLayer* layer = ds->GetLayerByName("parcels");
    int matched = 0;
    std::map<std::string, int> verdicts;
    for (const auto& t : truth) {
        if (t.at("below_mmu") == "true") continue;
        OGRFeatureUniquePtr f;
        layer->ResetReading();
        for (OGRFeatureUniquePtr g(layer->GetNextFeature()); g; g.reset(layer->GetNextFeature()))
            if (std::abs(g->GetFieldAsDouble("centroid_x") - std::stod(t.at("centroid_x"))) < 0.01 &&
                std::abs(g->GetFieldAsDouble("centroid_y") - std::stod(t.at("centroid_y"))) < 0.01)
                f = std::move(g);
        ASSERT_TRUE(f) << t.at("object_id") << " not found";
        ++matched;
        const std::string id = t.at("object_id") + " " + t.at("township_name");
        EXPECT_EQ(std::string(f->GetFieldAsString("cjmc")), t.at("village_name")) << id;
        EXPECT_EQ(std::string(f->GetFieldAsString("cjdm")), t.at("village_code")) << id;
        // The form's parts, each to 0.01 亩, and the identity 地块面积 = 耕地 + 非耕农用地 + 未利用地 + 建设用地.
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("cultivated_mu"), mu_of(t.at("cultivated_m2"))) << id;
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("fgnyd_mu"), mu_of(t.at("other_agricultural_m2"))) << id;
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("wlyd_mu"), mu_of(t.at("unused_m2"))) << id;
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("jsyd_mu"), mu_of(t.at("construction_m2"))) << id;
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("wdc_mu"), 0.0) << id;  // DLTB covers the county
        const long long sum = std::llround(100 * (f->GetFieldAsDouble("cultivated_mu") + f->GetFieldAsDouble("fgnyd_mu") +
                                                   f->GetFieldAsDouble("wlyd_mu") + f->GetFieldAsDouble("jsyd_mu")));
        EXPECT_EQ(sum, std::llround(100 * f->GetFieldAsDouble("area_mu"))) << id;
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("yjjbnt_mu"), mu_of(t.at("permanent_farmland_m2"))) << id;
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("sthx_mu"), mu_of(t.at("redline_m2"))) << id;
        EXPECT_EQ(std::string(f->GetFieldAsString("sfyn")), std::stod(t.at("permanent_farmland_m2")) > 0 ? "是" : "否") << id;
        EXPECT_EQ(std::string(f->GetFieldAsString("sfhx")), std::stod(t.at("redline_m2")) > 0 ? "是" : "否") << id;
        EXPECT_EQ(std::string(f->GetFieldAsString("xsmk")), "") << id;  // nothing reaches 5 亩 of 永农 or 10 亩 of 耕地
        EXPECT_EQ(std::string(f->GetFieldAsString("pzwh")), t.at("pzwh")) << id;
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("pzwh_share"), std::stod(t.at("pzwh_share"))) << id;
        EXPECT_EQ(std::string(f->GetFieldAsString("ssnydh")), t.at("ssnydh")) << id;
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("ssnydh_share"), std::stod(t.at("ssnydh_share"))) << id;
        // The pre-judgement: a suggestion with its rule, evidence or what is missing.
        const std::string expected = t.at("prejudgement");
        const std::string verdict = expected.substr(0, expected.find("·"));
        EXPECT_EQ(std::string(f->GetFieldAsString("cp_yj")), verdict) << id;
        ++verdicts[verdict];
        if (expected == "合法·批文") {
            EXPECT_EQ(std::string(f->GetFieldAsString("cp_fl")), "批文") << id;
            EXPECT_NE(std::string(f->GetFieldAsString("cp_evidence")).find(t.at("pzwh")), std::string::npos) << id;
        }
        if (verdict == "设施农用地")
            EXPECT_NE(std::string(f->GetFieldAsString("cp_evidence")).find(t.at("ssnydh")), std::string::npos) << id;
        if (verdict == "存疑") EXPECT_NE(std::string(f->GetFieldAsString("cp_missing")), "") << id;
        EXPECT_NE(std::string(f->GetFieldAsString("cp_rule")), "") << id;
    }
    EXPECT_EQ(matched, 15);
    EXPECT_EQ(verdicts, (std::map<std::string, int>{{"合法", 1}, {"设施农用地", 1}, {"存疑", 1}, {"非农违法", 12}}));
}

// The sample's delivered batch (sample_tiles/leads*, see its README): the lead over C01 and the
// sub-parcels over C08 and C11 are matched, the lead over the 120 m² shed C07 is missed.
TEST_F(SampleEnforcement, DeliveredLeadsAreMatchedToParcelsAndTheMissedOneIsListed) {
    const std::string config = "'" + (kSource / "configs" / "sample.yaml").string() + "'";
    const std::string ledger = "'" + (dir / "ledger.gpkg").string() + "'";
    // The platform's Shapefile (GBK) first, then the run.
    auto r = test::run_cli("ledger import-leads '" + (kSource / "sample_tiles" / "leads_gbk.shp").string() + "' --config " + config +
                               " --ledger " + ledger,
                           dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("4 leads: 4 imported (0 linked to self-found cases, 1 with an earlier-period id)"), std::string::npos) << r.out;
    r = test::run_cli("-q run --config " + config + " --out '" + (dir / "out").string() + "' --ledger " + ledger, dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("ledger: 12 new cases, 3 updated"), std::string::npos) << r.out;
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "out" / "parcels.gpkg").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    std::map<std::string, std::string> lead_of_object;
    int with_case = 0;
    for (auto& f : *ds->GetLayerByName("parcels")) {
        with_case += std::string(f->GetFieldAsString("case_id")).empty() ? 0 : 1;
        for (const auto& t : read_truth())
            if (std::abs(f->GetFieldAsDouble("centroid_x") - std::stod(t.at("centroid_x"))) < 0.01 &&
                std::abs(f->GetFieldAsDouble("centroid_y") - std::stod(t.at("centroid_y"))) < 0.01)
                lead_of_object[t.at("object_id") + t.at("township_name")] = f->GetFieldAsString("lead_id");
    }
    EXPECT_EQ(with_case, 15);  // every parcel names its case
    for (const auto& t : read_truth())
        if (t.at("below_mmu") == "false")
            EXPECT_EQ(lead_of_object[t.at("object_id") + t.at("township_name")], t.at("lead_id")) << t.at("object_id");
    r = test::run_cli("ledger leads --ledger " + ledger, dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("140824SJBG23300002\t2023年三季度\t稷峰镇\t0.34\t漏检"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("140824SJBG23300001\t2023年三季度\t稷峰镇\t2.24\t已匹配\t140824SJBG23300001\t140824SJBG22300017"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("合计：下发线索 4，已匹配 3，漏检 1，未覆盖 0；自主发现（未关联线索） 12"), std::string::npos) << r.out;

    // The run first, the GeoPackage batch after: the leads link to the self-found cases.
    const std::string second = "'" + (dir / "second.gpkg").string() + "'";
    r = test::run_cli("-q run --config " + config + " --out '" + (dir / "out2").string() + "' --ledger " + second, dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = test::run_cli("ledger import-leads '" + (kSource / "sample_tiles" / "leads.gpkg").string() + "' --config " + config +
                          " --ledger " + second,
                      dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("4 leads: 4 imported (3 linked to self-found cases, 1 with an earlier-period id)"), std::string::npos) << r.out;
    // The report counts each place once: 12 self-found cases on no lead and the 4 leads, not 19.
    r = test::run_cli("ledger report --config " + config + " --ledger " + second + " --as-of 2023-12-01", dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("截至当日共 16 宗图斑"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace weipian
