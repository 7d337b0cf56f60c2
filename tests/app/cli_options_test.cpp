// Command-line options that mirror a configuration key take their range and help from the key's
// declaration: the same range on the command line as in the config file.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

using test::run_cli;
using test::TempDir;

TEST(CliOptions, PolygonizeBlockSizeHasTheRangeOfProcessingBlockSize) {
    TempDir dir;
    const auto r = run_cli("-q polygonize '" + (dir / "none.tif").string() + "' --out '" + (dir / "p.gpkg").string() +
                               "' --block-size 8",
                           dir.path());
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("--block-size"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Value 8 not in range 16 to 65536"), std::string::npos) << r.err;
}

TEST(CliOptions, RunThreadsHelpNamesItsConfigKey) {
    TempDir dir;
    const auto r = run_cli("run --help", dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("config key processing.threads, [0, 1024]"), std::string::npos) << r.out;
}

TEST(CliOptions, ConfigHelpPrintsTheDeclaredDefaults) {
    TempDir dir;
    const auto r = run_cli("config", dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("detect.threshold  (default 0.15; [-1, 2] or auto; learned: (0, 1))"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("clean.min_area_m2  (default 200; [0, 1e+08])"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace weipian
