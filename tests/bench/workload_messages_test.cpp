// Every message of pipeline/workload.cpp a user can reach (`weipian bench`, the API).
#include "bench/workload.hpp"

#include <gtest/gtest.h>

#include "pipeline/core/errors.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

using test::message_of;
namespace fs = std::filesystem;

WorkloadSpec smallest() {
    WorkloadSpec spec;
    spec.size = 256;
    return spec;
}

TEST(WorkloadMessages, SceneSmallerThanATile) {
    test::TempDir dir;
    WorkloadSpec spec = smallest();
    spec.size = 100;
    EXPECT_EQ(message_of<ConfigError>([&] { make_workload(spec, dir.path()); }),
              "workload: size 100 is below 256 px; use a larger --size");
}

TEST(WorkloadMessages, PixelSizeThatIsNotPositive) {
    test::TempDir dir;
    WorkloadSpec spec = smallest();
    spec.pixel_size_m = 0;
    EXPECT_EQ(message_of<ConfigError>([&] { make_workload(spec, dir.path()); }), "workload: pixel size 0 m is not positive; give a pixel size > 0");
}

TEST(WorkloadMessages, FolderUnderAFile) {
    test::TempDir dir;
    test::write_text(dir / "notes.txt", "field notes\n");
    const std::string m = message_of<InputError>([&] { make_workload(smallest(), dir / "notes.txt" / "work"); });
    EXPECT_CONTAINS(m, "workload: cannot create folder '" + (dir / "notes.txt" / "work").string() + "': ");
}

TEST(WorkloadMessages, FolderNobodyMayWrite) {
    EXPECT_EQ(message_of<InputError>([&] { make_workload(smallest(), "/proc"); }),
              "workload: cannot create '/proc/before.tif'; check that the folder is writable and has space");
}

}  // namespace
}  // namespace weipian
