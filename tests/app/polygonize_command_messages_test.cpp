// Every message of app/polygonize_command.cpp a user can reach, through the CLI.
#include <gtest/gtest.h>

#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

void write_mask(const fs::path& path) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), 16, 16, 1, GDT_Byte, nullptr));
    double gt[6] = {497000, 1, 0, 3941000, 0, -1};
    ds->SetGeoTransform(gt);
    std::vector<std::uint8_t> ones(16 * 16, 1);
    ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 16, 16, ones.data(), 16, 16, GDT_Byte, 0, 0);
}

TEST(PolygonizeCommandMessages, MaskThatIsNotARaster) {
    test::TempDir dir;
    test::write_text(dir / "mask.tif", "not a raster");
    const auto r = test::run_cli("-q polygonize '" + (dir / "mask.tif").string() + "' --out '" + (dir / "p.gpkg").string() + "'",
                                 dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "polygonize: cannot read '" + (dir / "mask.tif").string() + "' as a raster; check the path");
    EXPECT_FALSE(fs::exists(dir / "p.gpkg"));
}

TEST(PolygonizeCommandMessages, TruncatedMask) {
    test::TempDir dir;
    write_mask(dir / "mask.tif");
    fs::resize_file(dir / "mask.tif", fs::file_size(dir / "mask.tif") - 200);  // the header survives, the last rows do not
    const auto r = test::run_cli("-q polygonize '" + (dir / "mask.tif").string() + "' --out '" + (dir / "p.gpkg").string() + "'",
                                 dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "polygonize: cannot read rows of '" + (dir / "mask.tif").string() + "'");
    EXPECT_FALSE(fs::exists(dir / "p.gpkg"));
}

TEST(PolygonizeCommandMessages, OutInAFolderNobodyMayWrite) {
    test::TempDir dir;
    write_mask(dir / "mask.tif");
    const auto r = test::run_cli("-q polygonize '" + (dir / "mask.tif").string() + "' --out /proc/weipian-p.gpkg", dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "polygonize: cannot create '/proc/weipian-p.gpkg'; check that the folder is writable");
}

}  // namespace
}  // namespace weipian
