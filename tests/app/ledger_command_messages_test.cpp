// Every message of app/ledger_command.cpp, through the CLI: exit code, one line, the value named.
#include <gtest/gtest.h>

#include "ledger/ledger.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

class LedgerCommandMessages : public ::testing::Test {
protected:
    void SetUp() override {
        std::vector<Parcel> parcels;
        parcels.push_back(test::rectangle_parcel(0, 0, 20, 30, "稷峰镇", "140824100"));
        feed_ledger(test::ledger_options(ledger), parcels, test::gk_zone_37(), test::jishan_context("2022-09-18", "run-A"));
    }
    // Runs `weipian ledger ARGS` and checks the error contract: `exit_code`, one line.
    std::string refused(const std::string& args, int exit_code) {
        const auto r = test::run_cli("ledger " + args, dir.path());
        EXPECT_EQ(r.exit_code, exit_code) << r.err;
        EXPECT_EQ(r.err.rfind("weipian: error: ", 0), 0u) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        return r.err;
    }
    static std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
    test::TempDir dir;
    fs::path ledger = dir / "ledger.gpkg";
};

TEST_F(LedgerCommandMessages, NoLedgerSaysBothWaysToGiveOne) {
    EXPECT_CONTAINS(refused("report --as-of 2023-07-06", 2),
                    "ledger: no ledger given; pass --ledger LEDGER (a .gpkg file or a PostgreSQL connection string) "
                    "or --config with ledger.path");
}

TEST_F(LedgerCommandMessages, CohortThatIsNotAYear) {
    EXPECT_CONTAINS(refused("report --ledger " + q(ledger) + " --cohort 2018..2021", 2),
                    "report: --cohort '2018..2021' is not a year or a range such as 2018-2021; give a year (--cohort 2021) or a range of years (--cohort 2018-2021)");
}

TEST_F(LedgerCommandMessages, AsOfThatIsNotADate) {
    EXPECT_CONTAINS(refused("report --ledger " + q(ledger) + " --as-of 2023/07/06", 2),
                    "report: --as-of '2023/07/06' is not a date YYYY-MM-DD");
}

TEST_F(LedgerCommandMessages, ReportInAFolderNobodyMayWrite) {
    EXPECT_CONTAINS(refused("report --ledger " + q(ledger) + " --as-of 2023-07-06 --out /proc/weipian-report.txt", 3),
                    "report: cannot write '/proc/weipian-report.txt'; check free space and that its folder is writable");
}

TEST_F(LedgerCommandMessages, ReportOntoAFolder) {
    fs::create_directories(dir / "reports" / "2022");
    EXPECT_CONTAINS(refused("report --ledger " + q(ledger) + " --as-of 2023-07-06 --out " + q(dir / "reports"), 3),
                    "report: '" + (dir / "reports").string() + "' is a folder, not a file; give a file path (weipian never replaces a folder)");
    EXPECT_TRUE(fs::exists(dir / "reports" / "2022"));
    for (const auto& entry : fs::directory_iterator(dir.path()))
        EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
}

TEST_F(LedgerCommandMessages, ExportFormatThatCannotBeTold) {
    EXPECT_CONTAINS(refused("export --ledger " + q(ledger) + " --out " + q(dir / "cases.txt"), 2),
                    "export: cannot tell the format of '" + (dir / "cases.txt").string() + "'; pass --format xlsx, shp, gpkg, kml or kmz");
}

TEST_F(LedgerCommandMessages, MissingLedger) {
    EXPECT_CONTAINS(refused("export --ledger " + q(dir / "none.gpkg") + " --out " + q(dir / "cases.xlsx"), 3),
                    "ledger '" + (dir / "none.gpkg").string() + "' does not exist; a run with this ledger creates it");
}

TEST_F(LedgerCommandMessages, MissingImportFile) {
    EXPECT_CONTAINS(refused("import " + q(dir / "核查.csv") + " --ledger " + q(ledger), 3),
                    "import: '" + (dir / "核查.csv").string() + "' does not exist; check the path");
}

TEST_F(LedgerCommandMessages, MissingConfig) {
    EXPECT_CONTAINS(refused("report --config " + q(dir / "nope.yaml"), 3),
                    "config: cannot read '" + (dir / "nope.yaml").string() + "'; check the path given to --config");
}

// ---- split / merge (ledger/ledger_split.hpp): refusals exit 3 with one line, the ledger unchanged.
TEST_F(LedgerCommandMessages, SplitByAFileThatCannotBeRead) {
    EXPECT_CONTAINS(refused("split 140824-2022-0001 --by " + q(dir / "pieces.gpkg") + " --ledger " + q(ledger), 3),
                    "split: cannot read '" + (dir / "pieces.gpkg").string() + "' as a polygon layer (");
}

TEST_F(LedgerCommandMessages, MergeACaseWithItself) {
    EXPECT_CONTAINS(refused("merge 140824-2022-0001 140824-2022-0001 --ledger " + q(ledger), 3),
                    "merge: case 140824-2022-0001 is named twice; a case cannot be merged with itself");
}

TEST_F(LedgerCommandMessages, MergeTwoCasesIntoTheSecond) {
    std::vector<Parcel> more;
    more.push_back(test::rectangle_parcel(100, 0, 20, 30, "稷峰镇", "140824100"));
    feed_ledger(test::ledger_options(ledger.string()), more, test::gk_zone_37(), test::jishan_context("2022-10-18", "run-B"));
    const auto r = test::run_cli("ledger merge 140824-2022-0001 140824-2022-0002 --into 140824-2022-0002 --who 张三 --ledger " + q(ledger),
                                 dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "weipian: case 140824-2022-0001 merged into 140824-2022-0002 (1.80 亩)\n");
    EXPECT_CONTAINS(refused("merge 140824-2022-0001 140824-2022-0002 --ledger " + q(ledger), 3),
                    "merge: case 140824-2022-0001 is 已合并; only open cases (not 销号, 已拆分 or 已合并) can be merged");
}

}  // namespace
}  // namespace weipian
