// Acceptance on real imagery from ../shared/data (skipped where that folder is absent).
#include <gtest/gtest.h>

#include "pipeline/config.hpp"
#include "pipeline/evaluate.hpp"
#include "pipeline/run.hpp"
#include "test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = WEIPIAN_SOURCE_DIR;
const fs::path kData = kSource / ".." / "shared" / "data";

#define REQUIRE_DATA(sub)                                                              \
    if (!fs::exists(kData / sub)) GTEST_SKIP() << (kData / sub) << " is not here"

TEST(RealData, NanjingLandsatMeetsTheSampleBars) {
    REQUIRE_DATA("nanjing-landsat");
    const Config config = Config::load(kSource / "configs" / "nanjing.yaml");
    const AlignedEpochs epochs = ingest_epochs(config);
    const ChangeMask change = detect_change(epochs, config);
    const cv::Mat label = read_label_raster(kData / "nanjing-landsat" / "reference_labels_georef.tif", epochs);
    const auto r = evaluate_mask(change.mask, label, LabelKind::Automatic, config.clean.connectivity, change.valid);
    EXPECT_EQ(r["label_kind"], "sparse");
    EXPECT_EQ(r["changed_samples"], 2363);
    EXPECT_EQ(r["unchanged_samples"], 12393);
    EXPECT_GE(r["sample_recall"].get<double>(), 0.40);
    EXPECT_LE(r["sample_false_alarm_rate"].get<double>(), 0.03);
}

TEST(RealData, NanjingMainJobAssignsDistricts) {
    REQUIRE_DATA("nanjing-landsat");
    test::TempDir dir;
    Config config = Config::load(kSource / "configs" / "nanjing.yaml");
    config.output_dir = (dir / "out").string();
    const RunSummary summary = run_main_job(config);
    EXPECT_GT(summary.parcels, 100);
    const std::string csv = test::read_text(dir / "out" / "townships.csv");
    EXPECT_NE(csv.find("江宁区"), std::string::npos);
    // Reprojected from EPSG:4326 (lat/lon authority order): a swapped axis would leave every
    // parcel unassigned.
    EXPECT_EQ(csv.find("unassigned"), std::string::npos) << csv;
}

TEST(RealData, SloveniaSeasonalChangeIsNotConstruction) {
    REQUIRE_DATA("slovenia-s2");
    test::TempDir dir;
    Config config = Config::load(kSource / "configs" / "slovenia.yaml");
    config.output_dir = (dir / "out").string();
    const RunSummary summary = run_main_job(config);
    EXPECT_LE(summary.report["counts"]["area_m2"].get<double>(), 5000.0);  // at most 0.5 ha
}

}  // namespace
}  // namespace weipian
