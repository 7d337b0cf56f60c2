// `weipian train --ledger L --config C` through the CLI (app/train_ledger.cpp): the sample run's
// cases with field verdicts train a model; the refusals write nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = WEIPIAN_SOURCE_DIR;

class TrainLedger : public ::testing::Test {
protected:
    std::string config() const { return "'" + (kSource / "configs" / "sample.yaml").string() + "'"; }
    std::string ledger() const { return "'" + (dir / "ledger.gpkg").string() + "'"; }
    // The sample run feeds its 15 parcels into the ledger as 待核查 cases.
    void feed_sample() {
        const auto r = test::run_cli("-q run --config " + config() + " --out '" + (dir / "out").string() + "' --ledger " + ledger(),
                                     dir.path());
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    test::CliResult train(const std::string& args) {
        return test::run_cli("train --trees 10 --depth 3 --samples 400 --threads 1 " + args, dir.path());
    }
    test::TempDir dir;
};

TEST_F(TrainLedger, LearnsFromTheSampleVerdicts) {
    feed_sample();
    std::string sheet = "图斑编号,核查结果,日期\n";
    for (int i = 1; i <= 12; ++i) sheet += "140824-2023-00" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ",违法,2023-10-01\n";
    sheet += "140824-2023-0013,误报,2023-10-01\n";
    test::write_text(dir / "verdicts.csv", sheet);
    const auto imported = test::run_cli("-q ledger import --ledger " + ledger() + " '" + (dir / "verdicts.csv").string() + "'", dir.path());
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    const auto r = train("--ledger " + ledger() + " --config " + config() + " --seed 5 --out '" + (dir / "m.json").string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_CONTAINS(r.err, "train: ledger " + (dir / "ledger.gpkg").string() +
                               ", epochs 2023-04-10→2023-09-18: 12 positive cases (12650 px), 1 negative (1600 px), 50600 "
                               "background px; skipped: 2 待核查, 0 on other epochs, 0 off the grid");
    EXPECT_CONTAINS(r.out, "train: 1 pairs, ");
    const auto model = nlohmann::json::parse(test::read_text(dir / "m.json"));
    EXPECT_EQ(model["format"], "weipian-learned-model");
    EXPECT_EQ(model["training"]["seed"], 5);
}

TEST_F(TrainLedger, ALedgerWithoutVerdictsIsRefusedAndNothingWritten) {
    feed_sample();
    const auto r = train("--ledger " + ledger() + " --config " + config() + " --out '" + (dir / "m.json").string() + "'");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "weipian: error: ledger '" + (dir / "ledger.gpkg").string() +
                               "' has no verified case on epochs 2023-04-10→2023-09-18 to learn from: 15 cases are 待核查, 0 on "
                               "other epochs; record verdicts with `weipian ledger import` first");
    EXPECT_FALSE(fs::exists(dir / "m.json"));
}

TEST_F(TrainLedger, NeedsTheConfigAndAnotherFileThanTheLedger) {
    auto r = train("--ledger " + ledger() + " --out '" + (dir / "m.json").string() + "'");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_CONTAINS(r.err, "--ledger requires --config");
    feed_sample();
    r = train("--ledger " + ledger() + " --config " + config() + " --overwrite --out " + ledger());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "train: --out '" + (dir / "ledger.gpkg").string() + "' is the ledger '" +
                               (dir / "ledger.gpkg").string() + "'; give another file for the model");
    r = train("--ledger '" + (dir / "none.gpkg").string() + "' --config " + config() + " --out '" + (dir / "m.json").string() + "'");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "ledger '" + (dir / "none.gpkg").string() + "' does not exist");
    EXPECT_FALSE(fs::exists(dir / "m.json"));
}

}  // namespace
}  // namespace weipian
