// What every command takes (app/main.cpp, app/global_options.cpp), through the binary:
// --config KEY VALUE for GDAL options before or after the command beside the command's own
// --config FILE, --version, -q/-v/--log before or after the command, the log file's timestamps,
// and the error line in the log file.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gdal_priv.h>

#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

// A 16×16 Byte mask, all foreground, EPSG:4546 at 1 m: polygonize makes one polygon of it.
void write_mask(const fs::path& path) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), 16, 16, 1, GDT_Byte, nullptr));
    double gt[6] = {497000, 1, 0, 3941000, 0, -1};
    ds->SetGeoTransform(gt);
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    ds->SetSpatialRef(&srs);
    std::vector<std::uint8_t> ones(16 * 16, 1);
    ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 16, 16, ones.data(), 16, 16, GDT_Byte, 0, 0);
}

int count_lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

// ---- --version ---------------------------------------------------------------------------------

TEST(CliVersion, PrintsWeipianAndTheLibrariesOnePerLine) {
    TempDir dir;
    const auto r = run_cli("--version", dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    std::vector<std::string> got;
    for (std::string line; std::getline(lines, line);) got.push_back(line);
    ASSERT_EQ(got.size(), 6u) << r.out;
    EXPECT_EQ(got[0], std::string("weipian ") + WEIPIAN_VERSION);
    EXPECT_EQ(got[1], std::string("GDAL ") + GDALVersionInfo("RELEASE_NAME"));
    const std::regex version_line("(PROJ|GEOS|OpenCV|TBB) [0-9]+\\.[0-9]+(\\.[0-9]+)?.*");
    const char* names[] = {"PROJ ", "GEOS ", "OpenCV ", "TBB "};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(got[2 + i].rfind(names[i], 0), 0u) << got[2 + i];
        EXPECT_TRUE(std::regex_match(got[2 + i], version_line)) << got[2 + i];
    }
    EXPECT_EQ(r.err, "");
}

// ---- --config KEY VALUE (GDAL) -------------------------------------------------------------

// GDAL_SKIP=GTiff takes the GeoTIFF driver away when GDAL registers its drivers: the mask cannot
// be read. That it fails proves the option was set, and set before the registration.
class GdalConfigOption : public ::testing::Test {
protected:
    TempDir dir;
    void SetUp() override { write_mask(dir / "mask.tif"); }
    test::CliResult polygonize(const std::string& before, const std::string& after) {
        return run_cli(before + " polygonize " + q(dir / "mask.tif") + " --out " + q(dir / "p.gpkg") + " " + after,
                       dir.path());
    }
    void expect_gtiff_skipped(const test::CliResult& r) {
        EXPECT_EQ(r.exit_code, 3) << r.err;
        EXPECT_CONTAINS(r.err, "polygonize: cannot read '" + (dir / "mask.tif").string() + "' as a raster");
        EXPECT_FALSE(fs::exists(dir / "p.gpkg"));
    }
};

TEST_F(GdalConfigOption, WithoutItTheMaskIsRead) {
    const auto r = polygonize("-q", "");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(dir / "p.gpkg"));
}

TEST_F(GdalConfigOption, KeyValueBeforeTheCommand) { expect_gtiff_skipped(polygonize("-q --config GDAL_SKIP GTiff", "")); }

TEST_F(GdalConfigOption, KeyEqualsValueBeforeTheCommand) {
    expect_gtiff_skipped(polygonize("-q --config GDAL_SKIP=GTiff", ""));
}

TEST_F(GdalConfigOption, KeyValueAfterTheCommand) { expect_gtiff_skipped(polygonize("-q", "--config GDAL_SKIP GTiff")); }

TEST_F(GdalConfigOption, KeyEqualsValueAfterTheCommandWithAnEqualsSign) {
    expect_gtiff_skipped(polygonize("-q", "--config=GDAL_SKIP=GTiff"));
}

TEST_F(GdalConfigOption, RepeatableAndTheLastOneCounts) {
    expect_gtiff_skipped(polygonize("-q --config GDAL_CACHEMAX 64 --config GDAL_SKIP PNG", "--config GDAL_SKIP GTiff"));
}

// A run's own --config FILE and a GDAL --config KEY VALUE in one command line.
TEST(GdalConfigOptionWithYaml, TheYamlFileAndAGdalOptionTogether) {
    TempDir dir;
    test::write_scene(dir / "before.tif", 497000, 3941000, 100, 4546);
    test::write_scene(dir / "after.tif", 497000, 3941000, 100, 4546, 10, 20, 30, 50);
    test::write_text(dir / "county.yaml",
                     "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n"
                     "  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"
                     "output: {dir: out}\noverlay: {area_crs: \"EPSG:4546\"}\n");
    auto r = run_cli("--config GDAL_CACHEMAX 64 run --config " + q(dir / "county.yaml") + " --config CPL_TMPDIR=" +
                         q(dir.path()) + " -q",
                     dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_CONTAINS(r.out, "1 candidate parcels, 0.9 亩");
    // The same run with GDAL_SKIP=GTiff after the YAML file: the tiles cannot be read.
    r = run_cli("run --config " + q(dir / "county.yaml") + " --config GDAL_SKIP GTiff --out " + q(dir / "out2"), dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out2"));
}

TEST(GdalConfigOptionMessages, KeyWithoutAValue) {
    TempDir dir;
    auto r = run_cli("run --config GDAL_CACHEMAX", dir.path());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err,
              "weipian: error: --config GDAL_CACHEMAX has no value: give --config GDAL_CACHEMAX VALUE or --config "
              "GDAL_CACHEMAX=VALUE (a GDAL option); if 'GDAL_CACHEMAX' is the YAML file, give it as ./GDAL_CACHEMAX\n");
    r = run_cli("--config GDAL_CACHEMAX --config county.yaml run", dir.path());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_CONTAINS(r.err, "--config GDAL_CACHEMAX has no value: give --config GDAL_CACHEMAX VALUE");
    // Before the command, the command's name is not taken for the value.
    r = run_cli("--config GDAL_CACHEMAX run --config county.yaml", dir.path());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_CONTAINS(r.err, "--config GDAL_CACHEMAX has no value: give --config GDAL_CACHEMAX VALUE");
}

TEST(GdalConfigOptionMessages, YamlFileBeforeTheCommand) {
    TempDir dir;
    const auto r = run_cli("--config county.yaml run", dir.path());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err,
              "weipian: error: --config 'county.yaml' before the command: there --config sets a GDAL option (--config KEY "
              "VALUE); give the YAML file after the command (weipian run --config county.yaml)\n");
}

TEST(GdalConfigOptionMessages, ConfigWithNothingAfterIt) {
    TempDir dir;
    const auto r = run_cli("run --config", dir.path());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_CONTAINS(r.err, "--config needs an argument: --config KEY VALUE sets a GDAL option (e.g. --config GDAL_CACHEMAX 512)");
}

TEST(GdalConfigOptionMessages, HelpExplainsBothForms) {
    TempDir dir;
    const auto r = run_cli("--help", dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_CONTAINS(r.out, "--config KEY VALUE  or  --config KEY=VALUE   e.g. weipian --config GDAL_CACHEMAX 512 run --config county.yaml");
}

// ---- -q / -v / --log -------------------------------------------------------------------------

class LogOptionsTest : public ::testing::Test {
protected:
    TempDir dir;
    void SetUp() override { write_mask(dir / "mask.tif"); }
    test::CliResult polygonize(const std::string& before, const std::string& after, const std::string& out = "p.gpkg") {
        return run_cli(before + " polygonize " + q(dir / "mask.tif") + " --out " + q(dir / out) + " " + after, dir.path());
    }
};

TEST_F(LogOptionsTest, InfoLinesArePlainWithoutAnOption) {
    const auto r = polygonize("", "");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.rfind("info polygonize: label ", 0), 0u) << r.err;  // no timestamp on the terminal
}

TEST_F(LogOptionsTest, QuietBeforeOrAfterTheCommand) {
    auto r = polygonize("-q", "");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    r = polygonize("", "-q", "p2.gpkg");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    r = polygonize("", "--quiet", "p3.gpkg");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
}

TEST(LogOptionsVerbose, VerboseBeforeOrAfterTheCommand) {
    TempDir dir;
    test::write_scene(dir / "before.tif", 497000, 3941000, 100, 4546);
    test::write_scene(dir / "after.tif", 497000, 3941000, 100, 4546, 10, 20, 30, 50);
    test::write_text(dir / "county.yaml",
                     "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n"
                     "  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"
                     "output: {dir: out}\noverlay: {area_crs: \"EPSG:4546\"}\n");
    auto r = run_cli("-v run --config " + q(dir / "county.yaml"), dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_CONTAINS(r.err, "debug patch type: parcel 1");
    r = run_cli("run --config " + q(dir / "county.yaml") + " --out " + q(dir / "out2") + " -v", dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_CONTAINS(r.err, "debug patch type: parcel 1");
    r = run_cli("run --config " + q(dir / "county.yaml") + " --out " + q(dir / "out3"), dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("debug"), std::string::npos) << r.err;
    EXPECT_CONTAINS(r.err, "info ingest: ");
}

TEST_F(LogOptionsTest, QuietAndVerboseTogetherAreRefused) {
    for (const auto& [before, after] : {std::pair<std::string, std::string>{"-q -v", ""}, {"-q", "-v"}, {"", "--verbose -q"}}) {
        const auto r = polygonize(before, after);
        EXPECT_EQ(r.exit_code, 2) << before << " | " << after;
        EXPECT_EQ(r.err,
                  "weipian: error: -q and -v together: give one of them (-q logs only warnings and errors, -v every step)\n");
        EXPECT_FALSE(fs::exists(dir / "p.gpkg"));
    }
}

// The log file: every line "YYYY-MM-DDTHH:MM:SS±hh:mm level message", appended run after run;
// the terminal keeps its plain lines.
TEST_F(LogOptionsTest, LogFileGetsTimestampedLinesAppendedBeforeOrAfterTheCommand) {
    const fs::path log = dir / "weipian.log";
    auto r = polygonize("--log " + q(log), "");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.rfind("info polygonize: label ", 0), 0u) << r.err;
    r = polygonize("", "--log " + q(log), "p2.shp");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = test::read_text(log);
    std::istringstream lines(text);
    const std::regex line_format("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2} info polygonize: label .*");
    int n = 0;
    for (std::string line; std::getline(lines, line); ++n) EXPECT_TRUE(std::regex_match(line, line_format)) << line;
    EXPECT_EQ(n, 2) << text;  // one line each run, the first kept
}

TEST_F(LogOptionsTest, ErrorLineGoesToTheLogFileToo) {
    const fs::path log = dir / "weipian.log";
    const auto r = run_cli("polygonize " + q(dir / "missing.tif") + " --out " + q(dir / "p.gpkg") + " --log " + q(log),
                           dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const std::string message = "weipian: error: polygonize: cannot read '" + (dir / "missing.tif").string() +
                                "' as a raster; check the path";
    EXPECT_EQ(r.err, message + "\n");
    const std::string text = test::read_text(log);
    const std::regex line_format("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2} error (.*)\n");
    std::smatch match;
    ASSERT_TRUE(std::regex_match(text, match, line_format)) << text;
    EXPECT_EQ(match[1].str(), message);
}

// A command line weipian refuses before it starts (it does not parse, -q with -v, a GDAL option
// without its value) also goes to the --log file given on it, in either spelling: a cron job's
// log says why the night never ran.
TEST_F(LogOptionsTest, RefusedCommandLinesGoToTheLogFileToo) {
    const fs::path log = dir / "logs" / "weipian.log";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "--log " + q(log) + " --no-such-option"},
        {"--log=" + log.string() + " -q", "-v"},
        {"--log " + q(log) + " --config GDAL_CACHEMAX", ""},
    };
    std::vector<std::string> errors;
    for (const auto& [before, after] : cases) {
        const auto r = polygonize(before, after);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        ASSERT_EQ(count_lines(r.err), 1) << r.err;
        errors.push_back(r.err.substr(0, r.err.size() - 1));
        EXPECT_FALSE(fs::exists(dir / "p.gpkg"));
    }
    EXPECT_CONTAINS(errors[0], "--no-such-option");
    EXPECT_CONTAINS(errors[0], "; see `weipian --help` or `weipian polygonize --help`");
    EXPECT_EQ(errors[1], "weipian: error: -q and -v together: give one of them (-q logs only warnings and errors, -v every step)");
    EXPECT_CONTAINS(errors[2], "weipian: error: --config GDAL_CACHEMAX has no value: give --config GDAL_CACHEMAX VALUE");

    std::istringstream lines(test::read_text(log));
    const std::regex line_format("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2} error (.*)");
    std::size_t n = 0;
    for (std::string line; std::getline(lines, line); ++n) {
        std::smatch match;
        ASSERT_TRUE(std::regex_match(line, match, line_format)) << line;
        ASSERT_LT(n, errors.size()) << line;
        EXPECT_EQ(match[1].str(), errors[n]);
    }
    EXPECT_EQ(n, errors.size());

    // A --log file that cannot be opened leaves the one line on stderr.
    const auto r = polygonize("--log /proc/weipian-no/weipian.log", "--no-such-option");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_CONTAINS(r.err, "--no-such-option");
}

TEST_F(LogOptionsTest, LogFileThatCannotBeOpened) {
    const auto r = polygonize("-q --log /proc/weipian-no/weipian.log", "");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_CONTAINS(r.err, "--log '/proc/weipian-no/weipian.log': cannot open it for appending");
    EXPECT_CONTAINS(r.err, "give a file in a writable folder");
    EXPECT_FALSE(fs::exists(dir / "p.gpkg"));
}

}  // namespace
}  // namespace weipian
