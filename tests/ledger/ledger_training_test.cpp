// Training labels from the ledger (ledger/ledger_training.cpp): the verdict table, labels and
// their counts on the sample scene's grid (configs/sample.yaml), and every refusal.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

#include <opencv2/imgproc.hpp>

#include "ledger/ledger_io.hpp"
#include "ledger/ledger_leads.hpp"
#include "ledger/ledger_training.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/ingest.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = WEIPIAN_SOURCE_DIR;
const fs::path kSampleConfig = kSource / "configs" / "sample.yaml";
constexpr const char* kQsx = "2023-04-10";
constexpr const char* kHsx = "2023-09-18";

using test::message_of;

// A rectangle parcel in EPSG:4546 on the sample grid (x 497000–497640, y 3940360–3941000, 1 m
// pixels): columns [col, col + w), rows [row, row + h) of the scene.
Parcel scene_rectangle(int col, int row, int w, int h) {
    Parcel p = test::rectangle_parcel(0, 0, w, h, "稷峰镇", "140824100");
    const double x = 497000.0 + col, y = 3941000.0 - row - h;
    auto ring = std::make_unique<OGRLinearRing>();
    ring->addPoint(x, y);
    ring->addPoint(x + w, y);
    ring->addPoint(x + w, y + h);
    ring->addPoint(x, y + h);
    ring->addPoint(x, y);
    auto polygon = std::make_unique<OGRPolygon>();
    polygon->addRingDirectly(ring.release());
    p.geometry.reset(polygon.release());
    p.centroid_x = x + w / 2.0;
    p.centroid_y = y + h / 2.0;
    return p;
}

template <typename... P>
std::vector<Parcel> parcels(P&&... p) {
    std::vector<Parcel> out;
    (out.push_back(std::forward<P>(p)), ...);
    return out;
}

class LedgerTraining : public ::testing::Test {
protected:
    void SetUp() override {
        ensure_gdal_registered();
        ledger_ = (dir_.path() / "ledger.gpkg").string();
        config_ = Config::load(kSampleConfig);
    }
    // Feeds parcels as one run on the sample's epochs (or others); returns the new case ids.
    std::vector<std::string> feed(const std::vector<Parcel>& parcels, const std::string& hsx = kHsx,
                                  const std::string& qsx = kQsx) {
        LedgerConfig options;
        options.path = ledger_;
        return feed_ledger(options, parcels, test::gk_zone_37(), test::jishan_context(hsx, "run " + hsx + qsx, qsx))
            .new_case_ids;
    }
    void verdict(const std::string& id, const std::string& result, const std::string& rectification = "") {
        ImportRow row;
        row.where = "line 2";
        row.case_id = id;
        row.result = result;
        row.rectification = rectification;
        row.date = "2023-10-01";
        const auto summary = import_verification(ledger_, {row}, {"test", "2023-12-31", "test"});
        ASSERT_EQ(summary.refused, 0u) << summary.text();
    }
    LedgerLabels labels(const LedgerTrainingOptions& options = {}) {
        const AlignedEpochs epochs = ingest_epochs(config_);
        return ledger_labelled_scene(ledger_, config_, epochs, options);
    }

    test::TempDir dir_;
    std::string ledger_;
    Config config_;
};

TEST(LedgerVerdictTable, DeclaresEveryLedgerStatusOnceAndThePlatformWords) {
    std::map<std::string, TrainingClass> classes;
    std::map<CaseStatus, int> statuses;
    for (const auto& rule : training_verdict_table()) {
        classes[rule.word] = rule.training_class;
        if (rule.status) ++statuses[*rule.status];
    }
    for (const CaseStatus s : {CaseStatus::ToVerify, CaseStatus::Legal, CaseStatus::FalseAlarm, CaseStatus::Illegal,
                               CaseStatus::Rectifying, CaseStatus::Rectified, CaseStatus::Closed, CaseStatus::Split,
                               CaseStatus::Merged})
        EXPECT_EQ(statuses[s], 1) << status_label(s);
    EXPECT_EQ(training_verdict_table().size(), 15u);
    EXPECT_EQ(verdict_class("违法"), TrainingClass::Positive);
    EXPECT_EQ(verdict_class(" 合法 "), TrainingClass::Positive);
    EXPECT_EQ(verdict_class("整改中"), TrainingClass::Positive);
    EXPECT_EQ(verdict_class("已整改"), TrainingClass::Positive);
    EXPECT_EQ(verdict_class("其他"), TrainingClass::Positive);
    EXPECT_EQ(verdict_class("设施农用地"), TrainingClass::Positive);
    EXPECT_EQ(verdict_class("误报"), TrainingClass::Negative);
    EXPECT_EQ(verdict_class("伪变化"), TrainingClass::Negative);
    EXPECT_EQ(verdict_class("待核查"), TrainingClass::Ignored);
    EXPECT_EQ(verdict_class("存疑"), TrainingClass::Ignored);
    EXPECT_FALSE(verdict_class("销号"));  // by the case's result
    EXPECT_FALSE(verdict_class("拆除"));
    EXPECT_STREQ(training_class_name(TrainingClass::Negative), "negative");
}

TEST(LedgerVerdictTable, ClosedCasesCountAsTheirResult) {
    LedgerCase c;
    c.status = CaseStatus::Closed;
    EXPECT_EQ(training_class(c), TrainingClass::Ignored);
    c.result = CaseStatus::FalseAlarm;
    EXPECT_EQ(training_class(c), TrainingClass::Negative);
    c.result = CaseStatus::Illegal;
    EXPECT_EQ(training_class(c), TrainingClass::Positive);
    c.result = CaseStatus::Legal;
    EXPECT_EQ(training_class(c), TrainingClass::Positive);
    c.status = CaseStatus::Rectified;
    c.result = CaseStatus::Illegal;
    EXPECT_EQ(training_class(c), TrainingClass::Positive);
    LedgerCase unverified;
    EXPECT_EQ(training_class(unverified), TrainingClass::Ignored);
    // Split or merged: the pieces or the survivor carry the label, not the old outline.
    c.status = CaseStatus::Split;
    EXPECT_EQ(training_class(c), TrainingClass::Ignored);
    c.status = CaseStatus::Merged;
    EXPECT_EQ(training_class(c), TrainingClass::Ignored);
}

TEST_F(LedgerTraining, LabelsCountEveryCaseAndSampleBackgroundAwayFromAll) {
    // 0001 违法 40×30, 0002 误报 20×20, 0003 待核查, 0004 合法 then 销号 10×20, 0005 违法 → 整改中.
    const auto ids = feed(parcels(scene_rectangle(60, 140, 40, 30), scene_rectangle(300, 300, 20, 20), scene_rectangle(500, 500, 20, 10),
                           scene_rectangle(200, 40, 10, 20), scene_rectangle(560, 250, 25, 25)));
    ASSERT_EQ(ids.size(), 5u);
    verdict(ids[0], "违法");
    verdict(ids[1], "误报");
    verdict(ids[3], "合法", "销号");
    verdict(ids[4], "违法", "整改中");
    // A case found on other epochs, far from the rest.
    ASSERT_EQ(feed(parcels(scene_rectangle(400, 600, 20, 20)), "2022-09-01", "2022-04-01").size(), 1u);

    const LedgerLabels out = labels();
    const LedgerLabelCounts& n = out.counts;
    EXPECT_EQ(n.cases, 6);
    EXPECT_EQ(n.other_epochs, 1);
    EXPECT_EQ(n.unverified, 1);
    EXPECT_EQ(n.positive_cases, 3);
    EXPECT_EQ(n.negative_cases, 1);
    EXPECT_EQ(n.off_grid, 0);
    EXPECT_EQ(n.by_verdict, (std::map<std::string, std::int64_t>{{"违法", 2}, {"误报", 1}, {"合法", 1}, {"待核查", 1}}));
    EXPECT_EQ(n.positive_pixels, 1200 + 200 + 625);
    EXPECT_EQ(n.negative_case_pixels, 400);
    EXPECT_EQ(n.background_pixels, 4 * n.positive_pixels);
    EXPECT_EQ(n.conflict_pixels, 0);
    EXPECT_EQ(n.unknown_pixels, 640 * 640 - n.positive_pixels - n.negative_case_pixels - n.background_pixels);
    EXPECT_EQ(n.to_json()["background_pixels"], 8100);
    EXPECT_EQ(n.text(),
              "ledger " + ledger_ + ", epochs 2023-04-10→2023-09-18: 3 positive cases (2025 px), 1 negative (400 px), "
              "8100 background px; skipped: 1 待核查, 1 on other epochs, 0 off the grid");

    const cv::Mat& label = out.scene.label;
    ASSERT_EQ(label.rows, 640);
    ASSERT_EQ(label.cols, 640);
    ASSERT_EQ(label.type(), CV_8UC1);
    EXPECT_EQ(cv::countNonZero(label == 1), 2025);
    EXPECT_EQ(cv::countNonZero(label == 0), 400 + 8100);
    EXPECT_EQ(cv::countNonZero(label(cv::Rect(60, 140, 40, 30)) == 1), 1200);   // 违法
    EXPECT_EQ(cv::countNonZero(label(cv::Rect(300, 300, 20, 20)) == 0), 400);   // 误报
    EXPECT_EQ(cv::countNonZero(label(cv::Rect(500, 500, 20, 10)) == 255), 200); // 待核查 stays unknown
    EXPECT_EQ(cv::countNonZero(label(cv::Rect(400, 600, 20, 20)) == 255), 400); // other epochs
    // No background pixel within 20 m of any case (any verdict, any epochs).
    cv::Mat cases = cv::Mat::ones(640, 640, CV_8UC1);
    for (const cv::Rect r : {cv::Rect(60, 140, 40, 30), cv::Rect(300, 300, 20, 20), cv::Rect(500, 500, 20, 10),
                             cv::Rect(200, 40, 10, 20), cv::Rect(560, 250, 25, 25), cv::Rect(400, 600, 20, 20)})
        cases(r).setTo(0);
    cv::Mat distance;
    cv::distanceTransform(cases, distance, cv::DIST_L2, cv::DIST_MASK_PRECISE);
    cv::Mat background = label == 0;
    background(cv::Rect(300, 300, 20, 20)).setTo(0);
    double nearest = 0;
    cv::minMaxLoc(distance, &nearest, nullptr, nullptr, nullptr, background);
    EXPECT_GT(nearest, 20.0);
    EXPECT_EQ(out.scene.config.after.date, kHsx);
}

TEST_F(LedgerTraining, AMissedLeadWithAVerdictTrainsLikeAnyCase) {
    // A delivered lead (id not <county>-<year>-<seq>, seq 0) no run detected, verified 违法.
    const fs::path file = dir_.path() / "leads.gpkg";
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GPKG")->Create(file.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRSpatialReference srs = test::gk_zone_37();
        OGRLayer* layer = ds->CreateLayer("leads", &srs, wkbPolygon, nullptr);
        for (const char* name : {"线索编号", "前时相", "后时相"}) {
            OGRFieldDefn field(name, OFTString);
            layer->CreateField(&field);
        }
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        f->SetField(0, "140824SJBG23210001_1");
        f->SetField(1, kQsx);
        f->SetField(2, kHsx);
        f->SetGeometry(scene_rectangle(60, 140, 40, 30).geometry.get());
        ASSERT_EQ(layer->CreateFeature(f.get()), OGRERR_NONE);
    }
    LedgerConfig options;
    options.path = ledger_;
    ASSERT_EQ(import_leads(options, file, {}).imported, 1u);
    verdict("140824SJBG23210001_1", "违法");
    const LedgerLabelCounts n = labels().counts;
    EXPECT_EQ(n.positive_cases, 1);
    EXPECT_EQ(n.positive_pixels, 1200);
}

TEST_F(LedgerTraining, BackgroundIsSeeded) {
    const auto ids = feed(parcels(scene_rectangle(60, 140, 40, 30)));
    verdict(ids[0], "违法");
    LedgerTrainingOptions options;
    options.seed = 7;
    const cv::Mat a = labels(options).scene.label, b = labels(options).scene.label;
    EXPECT_EQ(cv::countNonZero(a != b), 0);
    options.seed = 8;
    const cv::Mat c = labels(options).scene.label;
    EXPECT_GT(cv::countNonZero(a != c), 0);
    EXPECT_EQ(cv::countNonZero(c == 0), 4800);
    options.background_per_positive = 0.5;
    EXPECT_EQ(labels(options).counts.background_pixels, 600);
}

TEST_F(LedgerTraining, OverlappingVerdictsLeaveTheirCommonPixelsUnknown) {
    // Two cases of different runs on the same epochs cannot overlap through the feed (it matches
    // them): the second run's parcel overlaps under the match threshold.
    const auto first = feed(parcels(scene_rectangle(100, 100, 40, 40)));
    LedgerConfig options;
    options.path = ledger_;
    options.match_threshold = 1.0;
    auto context = test::jishan_context(kHsx, "second run", kQsx);
    const auto second = feed_ledger(options, parcels(scene_rectangle(130, 100, 40, 40)), test::gk_zone_37(), context).new_case_ids;
    ASSERT_EQ(second.size(), 1u);
    verdict(first[0], "违法");
    verdict(second[0], "误报");
    const auto n = labels().counts;
    EXPECT_EQ(n.conflict_pixels, 400);
    EXPECT_EQ(n.positive_pixels, 1200);
    EXPECT_EQ(n.negative_case_pixels, 1200);
}

TEST_F(LedgerTraining, ACaseAcrossTheSceneEdgeLabelsItsPixelsOnTheGrid) {
    const auto ids = feed(parcels(scene_rectangle(630, 100, 20, 10)));  // 10 of its 20 columns on the grid
    verdict(ids[0], "违法");
    const auto out = labels();
    EXPECT_EQ(out.counts.positive_cases, 1);
    EXPECT_EQ(out.counts.positive_pixels, 100);
    EXPECT_EQ(cv::countNonZero(out.scene.label(cv::Rect(630, 100, 10, 10)) == 1), 100);
}

// ---- refusals ---------------------------------------------------------------------------------

TEST_F(LedgerTraining, RefusesALedgerWithNoVerifiedCaseOnTheseEpochs) {
    feed(parcels(scene_rectangle(60, 140, 40, 30), scene_rectangle(300, 300, 20, 20)));
    feed(parcels(scene_rectangle(400, 600, 20, 20)), "2022-09-01", "2022-04-01");
    EXPECT_EQ(message_of<InputError>([&] { labels(); }),
              "ledger '" + ledger_ +
                  "' has no verified case on epochs 2023-04-10→2023-09-18 to learn from: 2 cases are 待核查, 1 on other "
                  "epochs; record verdicts with `weipian ledger import` first");
}

TEST_F(LedgerTraining, RefusesALedgerWithOnlyFalseAlarms) {
    const auto ids = feed(parcels(scene_rectangle(60, 140, 40, 30)));
    verdict(ids[0], "误报");
    EXPECT_EQ(message_of<InputError>([&] { labels(); }),
              "ledger '" + ledger_ +
                  "' has no case on epochs 2023-04-10→2023-09-18 whose verdict says the change is real (违法, 合法, 整改中, "
                  "已整改): its 1 verified cases are 误报; a model needs positive examples, record them with `weipian ledger "
                  "import`");
}

TEST_F(LedgerTraining, RefusesPositivesThatAreNotOnTheImagery) {
    const auto ids = feed(parcels(scene_rectangle(2000, 140, 40, 30)));  // 1.4 km east of the scene
    verdict(ids[0], "违法");
    EXPECT_EQ(message_of<InputError>([&] { labels(); }),
              "ledger '" + ledger_ + "': no positive case on epochs 2023-04-10→2023-09-18 lies on the imagery of '" +
                  kSampleConfig.string() +
                  "' (1 verified cases off its grid, 0 误报 on it); give the config of the imagery the cases were found on");
}

TEST_F(LedgerTraining, RefusesAConfigWithoutEpochDates) {
    feed(parcels(scene_rectangle(60, 140, 40, 30)));
    config_.before.date.clear();
    EXPECT_EQ(message_of<ConfigError>([&] { labels(); }),
              "train: --ledger needs the epochs' dates to find the cases found on them: set epochs.before.date and "
              "epochs.after.date in '" + kSampleConfig.string() + "'");
}

TEST_F(LedgerTraining, RefusesAMissingLedgerBeforeReadingImagery) {
    const std::string missing = (dir_.path() / "none.gpkg").string();
    const std::string message = message_of<InputError>([&] { ledger_labels_for_config(missing, kSampleConfig); });
    EXPECT_EQ(message, "ledger '" + missing + "' does not exist; a run with this ledger creates it (weipian run --ledger " +
                           missing + ")");
    EXPECT_FALSE(fs::exists(missing));
}

TEST_F(LedgerTraining, RefusesALedgerWhoseCrsCannotReachTheImagery) {
    // An engineering CRS (local coordinates) cannot be transformed to EPSG:4546.
    OGRSpatialReference local;
    local.SetLocalCS("site grid");
    local.SetLinearUnits("metre", 1.0);
    LedgerStore::open(ledger_, LedgerStore::Mode::UpdateOrCreate, &local);
    EXPECT_EQ(message_of<InputError>([&] { labels(); }),
              "train: cannot transform the CRS of ledger '" + ledger_ + "' into the CRS of the imagery of '" +
                  kSampleConfig.string() + "'; check both CRSs");
}

TEST_F(LedgerTraining, FromTheConfigFile) {
    const auto ids = feed(parcels(scene_rectangle(60, 140, 40, 30)));
    verdict(ids[0], "违法");
    const LedgerLabels out = ledger_labels_for_config(ledger_, kSampleConfig);
    EXPECT_EQ(out.counts.positive_pixels, 1200);
    EXPECT_EQ(out.scene.name, "ledger " + ledger_);
    test::TempDir other;
    const fs::path no_dates = other / "c.yaml";
    std::string yaml = test::read_text(kSampleConfig);
    const auto at = yaml.find(", date: \"2023-04-10\"");
    ASSERT_NE(at, std::string::npos);
    yaml.erase(at, std::string(", date: \"2023-04-10\"").size());
    // Tiles relative to the copy's folder: point them back at the sample.
    for (std::string::size_type p; (p = yaml.find("../sample_tiles")) != std::string::npos;)
        yaml.replace(p, 15, (kSource / "sample_tiles").string());
    test::write_text(no_dates, yaml);
    EXPECT_EQ(message_of<ConfigError>([&] { ledger_labels_for_config(ledger_, no_dates); }),
              "train: --ledger needs the epochs' dates to find the cases found on them: set epochs.before.date and "
              "epochs.after.date in '" + no_dates.string() + "'");
}

}  // namespace
}  // namespace weipian
