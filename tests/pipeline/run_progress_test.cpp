// RunOptions::progress (pipeline/main_job.hpp): called with 0, then once per strip with the share
// of the scene's rows done, in order, and 1 at the end.
#include <gtest/gtest.h>

#include <vector>

#include "pipeline/main_job.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

int CPL_STDCALL record(double fraction, const char*, void* data) {
    static_cast<std::vector<double>*>(data)->push_back(fraction);
    return TRUE;
}

TEST(RunProgress, OneCallPerStripFromZeroToOne) {
    test::TempDir dir;
    test::write_scene(dir / "before.tif", 497000, 3941000, 100, 4546);
    test::write_scene(dir / "after.tif", 497000, 3941000, 100, 4546, 10, 20, 30, 50);
    test::write_text(dir / "county.yaml",
                     "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n"
                     "  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"
                     "output: {dir: out}\noverlay: {area_crs: \"EPSG:4546\"}\nprocessing: {block_size: 32}\n");
    const Config config = Config::load(dir / "county.yaml");
    std::vector<double> fractions;
    RunOptions options;
    options.progress = record;
    options.progress_data = &fractions;
    const RunSummary summary = run_main_job(config, options);
    EXPECT_EQ(summary.parcels, 1);
    // 100 rows in strips of 32: 0, then 32, 64, 96, 100 rows done, then the final 1.
    const std::vector<double> expected = {0.0, 0.32, 0.64, 0.96, 1.0, 1.0};
    ASSERT_EQ(fractions.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_DOUBLE_EQ(fractions[i], expected[i]) << i;
}

}  // namespace
}  // namespace weipian
