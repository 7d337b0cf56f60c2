// `weipian run --before-date/--after-date` (app/core_commands.cpp) and the progress bar of `run`
// (pipeline/core/log.hpp TermProgress, drawn only on a terminal).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "pipeline/core/log.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

class RunDates : public ::testing::Test {
protected:
    TempDir dir;
    fs::path config = dir / "county.yaml";
    void SetUp() override {
        test::write_scene(dir / "before.tif", 497000, 3941000, 100, 4546);
        test::write_scene(dir / "after.tif", 497000, 3941000, 100, 4546, 10, 20, 30, 50);
        test::write_text(config,
                         "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n"
                         "  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"
                         "output: {dir: out}\noverlay: {area_crs: \"EPSG:4546\"}\n");
    }
    test::CliResult run(const std::string& extra) {
        return run_cli("-q run --config " + q(config) + " " + extra, dir.path());
    }
    // qsx and hsx of the one parcel in out/parcels.gpkg.
    std::pair<std::string, std::string> dates() {
        GDALAllRegister();
        GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "out" / "parcels.gpkg").c_str(), GDAL_OF_VECTOR));
        if (!ds) return {};
        OGRLayer* layer = ds->GetLayerByName("parcels");
        if (!layer || layer->GetFeatureCount() != 1) return {};
        OGRFeatureUniquePtr f(layer->GetNextFeature());
        return {f->GetFieldAsString("qsx"), f->GetFieldAsString("hsx")};
    }
    void expect_refused(const test::CliResult& r, const std::string& message) {
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_EQ(r.err, "weipian: error: " + message + "\n");
        EXPECT_FALSE(fs::exists(dir / "out"));
    }
};

TEST_F(RunDates, BothDatesReplaceTheConfiguredOnes) {
    const auto r = run("--before-date 2024-03-01 --after-date 2024-10-15");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(dates(), std::make_pair(std::string("2024-03-01"), std::string("2024-10-15")));
}

TEST_F(RunDates, OneDateKeepsTheOther) {
    const auto r = run("--after-date 2023-12-01");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(dates(), std::make_pair(std::string("2023-04-10"), std::string("2023-12-01")));
}

TEST_F(RunDates, WithoutThemTheConfiguredDates) {
    ASSERT_EQ(run("").exit_code, 0);
    EXPECT_EQ(dates(), std::make_pair(std::string("2023-04-10"), std::string("2023-09-18")));
}

TEST_F(RunDates, NotACalendarDate) {
    expect_refused(run("--before-date 2023-02-30"),
                   "run: --before-date '2023-02-30' is not a real day written YYYY-MM-DD; give the image's date, e.g. 2023-09-18");
    expect_refused(run("--after-date 2023/09/18"),
                   "run: --after-date '2023/09/18' is not a real day written YYYY-MM-DD; give the image's date, e.g. 2023-09-18");
}

TEST_F(RunDates, AfterNotLaterThanBefore) {
    expect_refused(run("--after-date 2023-01-01"),
                   "run: the HSX date 2023-01-01 (--after-date) is not later than the QSX date 2023-04-10 "
                   "(epochs.before.date); give --before-date the earlier image's date and --after-date the later one's");
    expect_refused(run("--before-date 2024-01-01 --after-date 2023-12-31"),
                   "run: the HSX date 2023-12-31 (--after-date) is not later than the QSX date 2024-01-01 (--before-date); "
                   "give --before-date the earlier image's date and --after-date the later one's");
}

// ---- progress ----------------------------------------------------------------------------------

// With stderr in a file (cron, CI) the bar draws nothing: only the log lines.
TEST_F(RunDates, NoBarWhenStderrIsAFile) {
    const auto r = run_cli("run --config " + q(config), dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("0...10"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
    EXPECT_CONTAINS(r.err, "info detect: ");
}

// On a terminal (a pseudo-terminal made by util-linux `script`) `run` draws "run 0...10...100"
// and ends the line before its summary.
TEST_F(RunDates, BarOnATerminal) {
    if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "util-linux script is not installed";
    const fs::path typescript = dir / "typescript.txt";
    const std::string inner = std::string("'") + WEIPIAN_BINARY + "' run --config " + q(config);
    std::string escaped;
    for (char c : inner) escaped += c == '\'' ? std::string("'\\''") : std::string(1, c);
    const std::string command = "cd " + q(dir.path()) + " && script -qec '" + escaped + "' " + q(typescript) + " </dev/null >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0);
    const std::string text = test::read_text(typescript);
    EXPECT_CONTAINS(text, "run 0...10...20...30...40...50...60...70...80...90...100 - done in ");
    EXPECT_CONTAINS(text, "1 candidate parcels, 0.9 亩");
    EXPECT_LT(text.find("...100"), text.find("candidate parcels")) << text;
}

TEST(TermProgress, DrawsTheGdalStyleBarWhenEnabled) {
    testing::internal::CaptureStderr();
    {
        TermProgress progress("run");
        progress.force_enabled_for_test();
        progress.update(0.0);
        progress.update(0.25);
        progress.update(0.25);  // unchanged: nothing drawn
        EXPECT_EQ(TermProgress::callback(0.5, "detect", &progress), TRUE);
        progress.update(1.0);
    }
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_CONTAINS(err, "\rrun 0");
    EXPECT_CONTAINS(err, "\rrun 0...10.");
    EXPECT_CONTAINS(err, "\rrun 0...10...20...30...40...50");
    EXPECT_CONTAINS(err, "\rrun 0...10...20...30...40...50...60...70...80...90...100 - done in ");
    EXPECT_EQ(std::count(err.begin(), err.end(), '\r'), 4) << err;
    EXPECT_EQ(err.back(), '\n');  // the line is ended when the bar goes
}

TEST(TermProgress, SilentWhenStderrIsNoTerminal) {
    testing::internal::CaptureStderr();  // stderr is a file now
    {
        TermProgress progress("run");
        EXPECT_FALSE(progress.enabled());
        progress.update(0.5);
        progress.update(1.0);
    }
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace weipian
