// Every message of pipeline/evaluate.cpp a user can reach, through `weipian evaluate`.
#include <gtest/gtest.h>

#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

constexpr double kX0 = 497000, kY0 = 3941000;  // Jishan, EPSG:4546

// A one-band byte label of `size` × `size` px; georeferenced at Jishan when `srs` is given.
void write_label(const fs::path& path, int size, const OGRSpatialReference* srs) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), size, size, 1, GDT_Byte, nullptr));
    if (srs) {
        double gt[6] = {kX0, 1, 0, kY0, 0, -1};
        ds->SetGeoTransform(gt);
        ds->SetSpatialRef(srs);
    }
    std::vector<std::uint8_t> zeros(static_cast<std::size_t>(size) * size, 0);
    ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, size, size, zeros.data(), size, size, GDT_Byte, 0, 0);
}

class EvaluateMessages : public ::testing::Test {
protected:
    test::CliResult evaluate(const fs::path& label, const std::string& extra = "") {
        return test::run_cli("-q evaluate " + extra + " --before '" + (dir / "before.tif").string() + "' --after '" +
                                 (dir / "after.tif").string() + "' --label '" + label.string() + "'",
                             dir.path());
    }
    test::TempDir dir;
};

TEST_F(EvaluateMessages, MissingLabel) {
    test::write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    test::write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    const auto r = evaluate(dir / "label.tif");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "label: cannot read the label raster '" + (dir / "label.tif").string() + "'; check the path given to --label");
}

TEST_F(EvaluateMessages, PlainLabelOfAnotherSize) {
    test::write_scene(dir / "before.tif", 0, 0, 50, 0);
    test::write_scene(dir / "after.tif", 0, 0, 50, 0);
    write_label(dir / "label.tif", 40, nullptr);
    const auto r = evaluate(dir / "label.tif", "--pixel-size 1");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "label: '" + (dir / "label.tif").string() +
                               "' is 40×40 px but the images are 50×50; give a label on the same grid");
}

TEST_F(EvaluateMessages, LabelInACrsWithoutATransformation) {
    test::write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    test::write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    OGRSpatialReference site_grid;
    site_grid.SetLocalCS("site grid");
    write_label(dir / "label.tif", 50, &site_grid);
    const auto r = evaluate(dir / "label.tif");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "label: cannot bring '" + (dir / "label.tif").string() + "' onto the image grid");
}

}  // namespace
}  // namespace weipian
