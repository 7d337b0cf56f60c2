// `weipian train` through the CLI: a small run that writes a model, and every message of
// app/train_command.cpp a user can reach (nothing written on a refusal).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/learned_scenes.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

class TrainCommand : public ::testing::Test {
protected:
    std::string pair_args(const test::PairPaths& p) {
        return " --before '" + p.before.string() + "' --after '" + p.after.string() + "' --label '" + p.label.string() + "'";
    }
    test::CliResult train(const std::string& args) {
        return test::run_cli("-q train --trees 10 --depth 3 --samples 400 --threads 1 " + args, dir.path());
    }
    test::TempDir dir;
};

TEST_F(TrainCommand, PairListWithCrossValidationWritesTheModel) {
    for (int i = 0; i < 2; ++i)
        test::write_labelled_pair(dir.path(), "p" + std::to_string(i), 64, {{8 + 20 * i, 10, 16}, {36, 40, 14}}, 3U + i);
    test::write_text(dir / "pairs.yaml",
                     "- {before: p0_before.tif, after: p0_after.tif, label: p0_label.tif}\n"
                     "- {before: p1_before.tif, after: p1_after.tif, label: p1_label.tif}\n");
    const auto r = train("--pairs '" + (dir / "pairs.yaml").string() + "' --cv 2 --seed 3 --out '" + (dir / "m.json").string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_CONTAINS(r.out, "fold 1/2 (p0_after.tif): threshold ");
    EXPECT_CONTAINS(r.out, "fold 2/2 (p1_after.tif): threshold ");
    EXPECT_CONTAINS(r.out, "pooled over 2 folds: pixel P ");
    EXPECT_CONTAINS(r.out, "train: 2 pairs, ");
    EXPECT_CONTAINS(r.out, "; model written to " + (dir / "m.json").string());
    const auto model = nlohmann::json::parse(test::read_text(dir / "m.json"));
    EXPECT_EQ(model["format"], "weipian-learned-model");
    EXPECT_EQ(model["cv"]["method"], "2-fold");
    EXPECT_EQ(model["training"]["seed"], 3);
    EXPECT_EQ(model["stride"], 2);
    EXPECT_EQ(model["bands"], nlohmann::json({"blue", "green", "red", "nir"}));

    // An existing model is kept without --overwrite.
    const std::string before = test::read_text(dir / "m.json");
    const auto again = train("--pairs '" + (dir / "pairs.yaml").string() + "' --out '" + (dir / "m.json").string() + "'");
    EXPECT_EQ(again.exit_code, 3) << again.err;
    EXPECT_CONTAINS(again.err, "train: '" + (dir / "m.json").string() + "' exists; give --overwrite to replace it, or another --out");
    EXPECT_EQ(test::read_text(dir / "m.json"), before);
}

TEST_F(TrainCommand, CvThatIsNeitherFoldsNorLoo) {
    const auto p = test::write_labelled_pair(dir.path(), "a", 32, {{8, 8, 8}}, 1);
    for (const std::string cv : {"one", "1", "3x"}) {
        const auto r = train(pair_args(p) + " --cv " + cv + " --out '" + (dir / "m.json").string() + "'");
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_CONTAINS(r.err, "train: --cv '" + cv + "' is neither a number of folds (2 or more) nor loo; give e.g. --cv 5 (folds by pair) or --cv loo (leave one pair out)");
    }
    EXPECT_FALSE(fs::exists(dir / "m.json"));
}

TEST_F(TrainCommand, UnmatchedPairOptions) {
    const auto p = test::write_labelled_pair(dir.path(), "a", 32, {{8, 8, 8}}, 1);
    const auto r = train(pair_args(p) + " --before '" + p.before.string() + "' --out '" + (dir / "m.json").string() + "'");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_CONTAINS(r.err, "train: give --before, --after and --label once per pair (2 --before, 1 --after, 1 --label)");
    EXPECT_FALSE(fs::exists(dir / "m.json"));
}

TEST_F(TrainCommand, NoPairs) {
    const auto r = train("--out '" + (dir / "m.json").string() + "'");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_CONTAINS(r.err, "train: no pairs to learn from; give --before, --after and --label, or --pairs");
}

TEST_F(TrainCommand, OutThatIsAnInput) {
    const auto p = test::write_labelled_pair(dir.path(), "a", 32, {{8, 8, 8}}, 1);
    const auto r = train(pair_args(p) + " --overwrite --out '" + p.label.string() + "'");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "train: --out '" + p.label.string() + "' is the input '" + p.label.string() +
                               "'; give another file for the model");
}

TEST_F(TrainCommand, LabelWithoutChangeWritesNothing) {
    const auto p = test::write_labelled_pair(dir.path(), "a", 32, {{8, 8, 8}}, 1, 0.5, false);
    const auto r = train(pair_args(p) + " --out '" + (dir / "m.json").string() + "'");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "train: the label '" + p.label.string() + "' has no changed pixels where both images have data");
    EXPECT_FALSE(fs::exists(dir / "m.json"));
}

TEST_F(TrainCommand, PlainLabelOnAnotherGrid) {
    test::write_scene(dir / "before.tif", 0, 0, 50, 0);
    test::write_scene(dir / "after.tif", 0, 0, 50, 0, 10, 10, 30, 30);
    GDALAllRegister();
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create((dir / "label.tif").c_str(), 40, 40, 1, GDT_Byte, nullptr));
        std::vector<std::uint8_t> ones(40 * 40, 255);
        (void)ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 40, 40, ones.data(), 40, 40, GDT_Byte, 0, 0);
    }
    const auto r = train("--pixel-size 1 --before '" + (dir / "before.tif").string() + "' --after '" + (dir / "after.tif").string() +
                         "' --label '" + (dir / "label.tif").string() + "' --out '" + (dir / "m.json").string() + "'");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "label: '" + (dir / "label.tif").string() + "' is 40×40 px but the images are 50×50; give a label on the same grid");
    EXPECT_FALSE(fs::exists(dir / "m.json"));
}

}  // namespace
}  // namespace weipian
