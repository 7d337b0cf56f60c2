// Rectification checked on new imagery (ledger/ledger_rectify.hpp): 整改中 / 已整改 cases compared
// on a new image with their QSX (and HSX) imagery, the history row, the 整改不到位 flag, the chips of
// the three dates, an idempotent rerun; the new LedgerCase columns and their migration; the
// chips in the ledger's exports (XLSX hyperlinks, KMZ balloons); the rectify.* config keys.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_utils.h>
#include <gdal_priv.h>
#include <nlohmann/json.hpp>
#include <ogrsf_frmts.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_rectify.hpp"
#include "ledger/ledger_sink.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/chips.hpp"
#include "pipeline/core/errors.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/ledger/xlsx_test_support.hpp"
#include "tests/support/config_support.hpp"
#include "tests/support/full_disk.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::message_of;

// The scene: 200 × 200 px of 1 m in EPSG:4546, top-left corner (500000, 3940200), so pixel
// (col, row) covers x 500000+col, y 3940200−row; test::rectangle_parcel(x0, y0, …) lies at
// x 500000+x0, y 3940000+y0, i.e. at cols x0…, rows 200−y0−h….
constexpr int kSize = 200;
constexpr double kLeft = 500000.0, kTop = 3940200.0;

struct Rect {
    int col0, row0, col1, row1;  // [col0, col1) × [row0, row1)
};

// A 4-band uint16 GeoTIFF (B, G, R, NIR): vegetation (NIR high) everywhere, bright roofs in `roofs`.
void write_image(const fs::path& path, const std::vector<Rect>& roofs, int epsg = 4546, int bands = 4,
                 double rotation = 0.0) {
    GDALAllRegister();
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
    GDALDatasetUniquePtr ds(driver->Create(path.c_str(), kSize, kSize, bands, GDT_UInt16, nullptr));
    double gt[6] = {kLeft, 1.0, rotation, kTop, 0.0, -1.0};
    ds->SetGeoTransform(gt);
    if (epsg) {
        OGRSpatialReference srs;
        srs.importFromEPSG(epsg);
        ds->SetSpatialRef(&srs);
    }
    const unsigned short vegetation[5] = {300, 600, 400, 3500, 100}, roof[5] = {1800, 1900, 2000, 2200, 100};
    std::vector<unsigned short> buffer(static_cast<std::size_t>(kSize) * kSize);
    for (int b = 0; b < bands; ++b) {
        for (int y = 0; y < kSize; ++y)
            for (int x = 0; x < kSize; ++x) {
                bool in_roof = false;
                for (const auto& r : roofs) in_roof = in_roof || (x >= r.col0 && x < r.col1 && y >= r.row0 && y < r.row1);
                buffer[static_cast<std::size_t>(y) * kSize + x] = in_roof ? roof[b] : vegetation[b];
            }
        if (ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, kSize, kSize, buffer.data(), kSize, kSize, GDT_UInt16, 0, 0) != CE_None)
            ADD_FAILURE() << "cannot write " << path;
    }
}

// Cases (20 × 20 m each, rows 20–40 of the scene):
//   0001 at cols  20–40: 已整改, the roof is gone on the new image          → 已恢复
//   0002 at cols  60–80: 已整改, the roof is still there                    → 仍有建设 + 整改不到位
//   0003 at cols 100–120: 整改中, the left half of the roof is still there  → 部分恢复 ≈ 50 %
//   0004 at cols 140–160: 违法, still built, never checked
//   0005 at cols  20–40, rows 300…: outside the new image, never checked
const Rect kA{20, 20, 40, 40}, kB{60, 20, 80, 40}, kC{100, 20, 120, 40}, kD{140, 20, 160, 40};

class LedgerRectify : public test::LedgerFixture {
protected:
    void SetUp() override {
        test::LedgerFixture::SetUp();
        if (IsSkipped()) return;
        write_image(dir_ / "qsx.tif", {});
        write_image(dir_ / "hsx.tif", {kA, kB, kC, kD});
        write_image(dir_ / "new.tif", {kB, {100, 20, 110, 40}, kD});
        std::vector<Parcel> parcels;
        for (const Rect& r : {kA, kB, kC, kD})
            parcels.push_back(test::rectangle_parcel(r.col0, kSize - r.row1, r.col1 - r.col0, r.row1 - r.row0, "稷峰镇", "140824100"));
        parcels.push_back(test::rectangle_parcel(20, -300, 20, 20, "稷峰镇", "140824100"));
        for (std::size_t i = 0; i < parcels.size(); ++i) parcels[i].id = static_cast<std::int64_t>(i + 1);
        feed_ledger(test::ledger_options(location()), parcels, test::gk_zone_37(),
                    test::jishan_context("2023-09-18", "run-A", "2023-04-10"));
        // The county's verification: all illegal; 0001, 0002 rectified, 0003 and 0005 in rectification.
        std::vector<ImportRow> rows;
        const auto row = [&](const std::string& id, const std::string& result, const std::string& status, const std::string& date) {
            ImportRow r;
            r.where = "line " + std::to_string(rows.size() + 2);
            r.case_id = id;
            r.result = result;
            r.rectification = status;
            r.date = date;
            rows.push_back(r);
        };
        for (const char* id : {"140824-2023-0001", "140824-2023-0002", "140824-2023-0003", "140824-2023-0005"})
            row(id, "违法", "整改中", "2023-10-08");
        row("140824-2023-0004", "违法", "", "2023-10-08");
        row("140824-2023-0001", "", "已整改", "2023-11-20");
        row("140824-2023-0002", "", "已整改", "2023-11-20");
        const ImportSummary imported = import_verification(location(), rows, {"县执法队", "2026-12-01", "核查.csv"});
        ASSERT_EQ(imported.refused, 0u) << imported.text();

        config_.rectify = RectifyConfig{};
        options_.config = &config_;
        options_.new_imagery = {"2024-05-02", {(dir_ / "new.tif").string()}};
        options_.lookup = [this](const OGRGeometry& footprint, const std::string& date) -> std::optional<DatedImagery> {
            OGREnvelope e;
            footprint.getEnvelope(&e);
            lookups_.push_back(date);
            last_lon_ = e.MinX;
            const auto it = imagery_.find(date);
            if (it == imagery_.end()) return std::nullopt;
            return DatedImagery{date, {it->second}};
        };
        options_.chips_dir = dir_ / "checks";
        options_.source = "nightly 2024-05-02";
        imagery_ = {{"2023-04-10", (dir_ / "qsx.tif").string()}, {"2023-09-18", (dir_ / "hsx.tif").string()}};
    }

    std::vector<RectificationCheck> check() {
        auto store = LedgerStore::open(location(), LedgerStore::Mode::Update);
        return check_rectification(*store, options_);
    }
    static const RectificationCheck* of(const std::vector<RectificationCheck>& checks, const std::string& id) {
        for (const auto& c : checks)
            if (c.case_id == id) return &c;
        return nullptr;
    }
    std::vector<HistoryEntry> rows_of(const std::string& id) {
        std::vector<HistoryEntry> out;
        for (auto& e : history())
            if (e.case_id == id && e.what.rfind("影像复查", 0) == 0) out.push_back(e);
        return out;
    }

    Config config_;
    RectifyOptions options_;
    std::map<std::string, std::string> imagery_;  // date -> tile
    std::vector<std::string> lookups_;
    double last_lon_ = 0;
};

TEST_P(LedgerRectify, RestoredStillBuiltAndPartlyWithHistoryFlagAndChips) {
    const auto checks = check();
    ASSERT_EQ(checks.size(), 3u);  // 0004 (违法) and 0005 (outside the image) are not checked
    EXPECT_FALSE(of(checks, "140824-2023-0004"));
    EXPECT_FALSE(of(checks, "140824-2023-0005"));
    EXPECT_NEAR(last_lon_, 111.0, 0.01);  // the lookup gets the footprint in longitude/latitude

    const RectificationCheck* a = of(checks, "140824-2023-0001");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->state, "已恢复");
    EXPECT_EQ(a->built_share, 0.0);
    EXPECT_EQ(a->valid_pixels, 400);
    EXPECT_FALSE(a->flagged);
    EXPECT_EQ(a->image_date, "2024-05-02");
    EXPECT_EQ(a->note, "后时相 2023-09-18 建设占比 100%");  // the HSX image confirms it was built

    const RectificationCheck* b = of(checks, "140824-2023-0002");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->state, "仍有建设");
    EXPECT_EQ(b->built_share, 1.0);
    EXPECT_TRUE(b->flagged);

    const RectificationCheck* c = of(checks, "140824-2023-0003");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, "部分恢复");
    EXPECT_NEAR(c->built_share, 0.5, 0.05);
    EXPECT_FALSE(c->flagged);  // 整改中: only the history row

    // History: one row per checked case at the image date, the status unchanged.
    const auto rows_a = rows_of("140824-2023-0001");
    ASSERT_EQ(rows_a.size(), 1u);
    EXPECT_EQ(rows_a[0].at, "2024-05-02");
    EXPECT_EQ(rows_a[0].what, "影像复查 2024-05-02：已恢复（建设占比 0%）；后时相 2023-09-18 建设占比 100%");
    EXPECT_EQ(rows_a[0].from_status, CaseStatus::Rectified);
    EXPECT_EQ(rows_a[0].to_status, CaseStatus::Rectified);
    EXPECT_EQ(rows_a[0].source, "nightly 2024-05-02");
    EXPECT_EQ(rows_a[0].who, "weipian nightly");
    const auto rows_b = rows_of("140824-2023-0002");
    ASSERT_EQ(rows_b.size(), 1u);
    EXPECT_EQ(rows_b[0].what,
              "影像复查 2024-05-02：仍有建设（建设占比 100%）；后时相 2023-09-18 建设占比 100%；"
              "整改不到位：新影像 2024-05-02 仍显示建设（建设占比 100%，nightly 2024-05-02）");
    const auto rows_c = rows_of("140824-2023-0003");
    ASSERT_EQ(rows_c.size(), 1u);
    EXPECT_EQ(rows_c[0].what, "影像复查 2024-05-02：部分恢复（仍有建设 50%）；后时相 2023-09-18 建设占比 100%");
    EXPECT_EQ(rows_c[0].to_status, CaseStatus::Rectifying);
    EXPECT_TRUE(rows_of("140824-2023-0004").empty());

    // The case fields.
    const LedgerCase ca = case_of("140824-2023-0001");
    EXPECT_EQ(ca.status, CaseStatus::Rectified);
    EXPECT_EQ(ca.check_state, "已恢复");
    EXPECT_EQ(ca.check_date, "2024-05-02");
    EXPECT_EQ(ca.check_built_share, 0.0);
    EXPECT_EQ(ca.flag, "");
    const LedgerCase cb = case_of("140824-2023-0002");
    EXPECT_EQ(cb.status, CaseStatus::Rectified);  // flagged, not moved
    EXPECT_EQ(cb.flag, "整改不到位：新影像 2024-05-02 仍显示建设（建设占比 100%，nightly 2024-05-02）");
    EXPECT_EQ(cb.flag_date, "2024-05-02");
    EXPECT_EQ(cb.check_state, "仍有建设");
    const LedgerCase cc = case_of("140824-2023-0003");
    EXPECT_EQ(cc.status, CaseStatus::Rectifying);
    EXPECT_EQ(cc.flag, "");
    EXPECT_NEAR(cc.check_built_share, 0.5, 0.05);
    EXPECT_EQ(case_of("140824-2023-0004").check_state, "");
    EXPECT_EQ(case_of("140824-2023-0004").check_built_share, -1.0);

    // Chips of the three dates, named after the case.
    const fs::path chips = fs::absolute(dir_ / "checks");
    for (const char* suffix : {"qsx", "hsx", "new"}) {
        const fs::path chip = chips / (std::string("140824-2023-0002_") + suffix + ".jpg");
        EXPECT_TRUE(fs::is_regular_file(chip)) << chip;
        GDALDatasetUniquePtr jpeg(GDALDataset::Open(chip.c_str(), GDAL_OF_RASTER));
        ASSERT_TRUE(jpeg) << chip;
        EXPECT_STREQ(jpeg->GetDriver()->GetDescription(), "JPEG");
    }
    EXPECT_EQ(cb.chip_check_qsx, (chips / "140824-2023-0002_qsx.jpg").string());
    EXPECT_EQ(cb.chip_check_hsx, (chips / "140824-2023-0002_hsx.jpg").string());
    EXPECT_EQ(cb.chip_check_new, (chips / "140824-2023-0002_new.jpg").string());
    EXPECT_EQ(b->chips.size(), 3u);
    EXPECT_FALSE(fs::exists(chips / "140824-2023-0004_new.jpg"));
}

// The new image delivered as two tiles split through case 0003, the QSX imagery in longitude/
// latitude (EPSG:4490): mosaicked and warped onto the new image's grid, the same findings.
TEST_P(LedgerRectify, TilesAndAnotherCrsGiveTheSameFindings) {
    GDALDatasetUniquePtr fresh(GDALDataset::Open((dir_ / "new.tif").c_str(), GDAL_OF_RASTER));
    for (const auto& [name, window] : {std::pair<const char*, const char*>{"new_w.tif", "0 0 105 200"}, {"new_e.tif", "105 0 95 200"}}) {
        CPLStringList argv(CSLTokenizeString((std::string("-srcwin ") + window).c_str()));
        GDALTranslateOptions* o = GDALTranslateOptionsNew(argv.List(), nullptr);
        GDALDatasetH tile = GDALTranslate((dir_ / name).c_str(), GDALDataset::ToHandle(fresh.get()), o, nullptr);
        GDALTranslateOptionsFree(o);
        ASSERT_TRUE(tile);
        GDALClose(tile);
    }
    {
        GDALDatasetUniquePtr qsx(GDALDataset::Open((dir_ / "qsx.tif").c_str(), GDAL_OF_RASTER));
        CPLStringList argv(CSLTokenizeString("-t_srs EPSG:4490 -r near"));
        GDALWarpAppOptions* o = GDALWarpAppOptionsNew(argv.List(), nullptr);
        GDALDatasetH source = GDALDataset::ToHandle(qsx.get());
        GDALDatasetH warped = GDALWarp((dir_ / "qsx_4490.tif").c_str(), nullptr, 1, &source, o, nullptr);
        GDALWarpAppOptionsFree(o);
        ASSERT_TRUE(warped);
        GDALClose(warped);
    }
    imagery_["2023-04-10"] = (dir_ / "qsx_4490.tif").string();
    options_.new_imagery.tiles = {(dir_ / "new_w.tif").string(), (dir_ / "new_e.tif").string()};
    const auto checks = check();
    ASSERT_EQ(checks.size(), 3u);
    EXPECT_EQ(of(checks, "140824-2023-0001")->state, "已恢复");
    EXPECT_EQ(of(checks, "140824-2023-0002")->state, "仍有建设");
    EXPECT_EQ(of(checks, "140824-2023-0003")->state, "部分恢复");
    EXPECT_NEAR(of(checks, "140824-2023-0003")->built_share, 0.5, 0.05);
    EXPECT_GE(of(checks, "140824-2023-0003")->valid_pixels, 380);
}

TEST_P(LedgerRectify, RerunOfTheSameCheckChangesNothing) {
    check();
    const auto history_before = history();
    const auto cases_before = cases();
    const auto again = check();
    ASSERT_EQ(again.size(), 3u);
    for (const auto& c : again) EXPECT_TRUE(c.already_checked) << c.case_id;
    EXPECT_EQ(of(again, "140824-2023-0002")->state, "仍有建设");
    EXPECT_EQ(history().size(), history_before.size());
    // Chip files lost (a night killed before its folder appeared) are made again, the ledger untouched.
    fs::remove_all(dir_ / "checks");
    const auto third = check();
    EXPECT_TRUE(of(third, "140824-2023-0002")->already_checked);
    EXPECT_EQ(of(third, "140824-2023-0002")->chips.size(), 3u);
    for (const char* suffix : {"qsx", "hsx", "new"})
        EXPECT_TRUE(fs::is_regular_file(dir_ / "checks" / (std::string("140824-2023-0003_") + suffix + ".jpg"))) << suffix;
    EXPECT_EQ(history().size(), history_before.size());
    const auto cases_after = cases();
    ASSERT_EQ(cases_after.size(), cases_before.size());
    for (std::size_t i = 0; i < cases_after.size(); ++i) {
        EXPECT_EQ(cases_after[i].updated_at, cases_before[i].updated_at) << cases_after[i].case_id;
        EXPECT_EQ(cases_after[i].flag, cases_before[i].flag);
        EXPECT_EQ(cases_after[i].check_state, cases_before[i].check_state);
    }
}

TEST_P(LedgerRectify, ALaterImageShowingTheLandRestoredLiftsTheFlag) {
    const auto first = check();
    ASSERT_TRUE(of(first, "140824-2023-0002")->flagged);
    // Demolished by August: 0002's roof gone, 0003's half still there.
    write_image(dir_ / "august.tif", {{100, 20, 110, 40}, kD});
    options_.new_imagery = {"2024-08-15", {(dir_ / "august.tif").string()}};
    options_.source = "nightly 2024-08-15";
    const auto later = check();
    const RectificationCheck* b = of(later, "140824-2023-0002");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->state, "已恢复");
    EXPECT_FALSE(b->flagged);
    EXPECT_TRUE(b->flag_cleared);
    EXPECT_FALSE(of(later, "140824-2023-0001")->flag_cleared);  // restored, but never flagged
    const LedgerCase cb = case_of("140824-2023-0002");
    EXPECT_EQ(cb.flag, "");
    EXPECT_EQ(cb.flag_date, "");
    EXPECT_EQ(cb.status, CaseStatus::Rectified);
    EXPECT_EQ(cb.check_state, "已恢复");
    EXPECT_EQ(cb.check_date, "2024-08-15");
    const auto rows = rows_of("140824-2023-0002");
    ASSERT_EQ(rows.size(), 2u);  // the flag's row stays
    EXPECT_NE(rows[0].what.find("整改不到位：新影像 2024-05-02"), std::string::npos) << rows[0].what;
    EXPECT_EQ(rows[1].what,
              "影像复查 2024-08-15：已恢复（建设占比 0%）；后时相 2023-09-18 建设占比 100%；"
              "整改不到位标记解除（2024-05-02 的标记，新影像 2024-08-15 已恢复）");
    // The same image again: already checked, nothing written.
    EXPECT_TRUE(of(check(), "140824-2023-0002")->already_checked);
    EXPECT_EQ(rows_of("140824-2023-0002").size(), 2u);
}

TEST_P(LedgerRectify, AnImageOlderThanTheFlagDoesNotLiftIt) {
    check();  // flagged on 2024-05-02
    write_image(dir_ / "march.tif", {{100, 20, 110, 40}, kD});  // 0002 restored on this older image
    options_.new_imagery = {"2024-03-01", {(dir_ / "march.tif").string()}};
    const auto older = check();
    EXPECT_FALSE(of(older, "140824-2023-0002")->flag_cleared);
    EXPECT_EQ(case_of("140824-2023-0002").flag_date, "2024-05-02");
    EXPECT_EQ(case_of("140824-2023-0002").check_date, "2024-05-02");  // the newest check stays the case's
}

TEST_P(LedgerRectify, ChipsWrittenIntoStagingAreRecordedAtTheirFinalPlace) {
    options_.chips_dir = dir_ / ".night.staging" / "rectify";
    options_.chips_recorded_dir = dir_ / "night" / "rectify";
    const auto checks = check();
    const LedgerCase b = case_of("140824-2023-0002");
    EXPECT_EQ(b.chip_check_new, (fs::absolute(dir_ / "night" / "rectify") / "140824-2023-0002_new.jpg").string());
    EXPECT_EQ(of(checks, "140824-2023-0002")->chips.back(), b.chip_check_new);
    EXPECT_TRUE(fs::is_regular_file(dir_ / ".night.staging" / "rectify" / "140824-2023-0002_new.jpg"));
    EXPECT_FALSE(fs::exists(dir_ / "night"));
}

TEST_P(LedgerRectify, MissingQsxImageryCannotBeJudgedAndIsRecordedOnce) {
    imagery_.erase("2023-04-10");
    const auto checks = check();
    ASSERT_EQ(checks.size(), 3u);
    for (const auto& c : checks) {
        EXPECT_EQ(c.state, "无法判断") << c.case_id;
        EXPECT_EQ(c.note, "前时相 2023-04-10 影像缺失");
        EXPECT_FALSE(c.flagged);
    }
    const auto rows = rows_of("140824-2023-0002");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].what, "影像复查 2024-05-02：无法判断（前时相 2023-04-10 影像缺失）");
    const LedgerCase b = case_of("140824-2023-0002");
    EXPECT_EQ(b.check_state, "无法判断");
    EXPECT_EQ(b.check_built_share, -1.0);
    EXPECT_EQ(b.flag, "");
    EXPECT_EQ(b.chip_check_qsx, "");
    EXPECT_FALSE(b.chip_check_new.empty());  // the new image's chip is evidence all the same
    // The same again: nothing new. Once the QSX imagery is there, the same date is judged.
    EXPECT_TRUE(check().front().already_checked);
    EXPECT_EQ(rows_of("140824-2023-0002").size(), 1u);
    imagery_["2023-04-10"] = (dir_ / "qsx.tif").string();
    const auto judged = check();
    EXPECT_EQ(of(judged, "140824-2023-0002")->state, "仍有建设");
    EXPECT_EQ(rows_of("140824-2023-0002").size(), 2u);
    EXPECT_EQ(case_of("140824-2023-0002").check_state, "仍有建设");
}

// A QSX file that cannot be read makes its cases 无法判断 (a warning names it); the night goes on.
TEST_P(LedgerRectify, UnreadableQsxImageCannotBeJudgedAndTheOthersGoOn) {
    test::write_text(dir_ / "broken.tif", "not a raster\n");
    imagery_["2023-04-10"] = (dir_ / "broken.tif").string();
    test::LogCapture log;
    const auto checks = check();
    ASSERT_EQ(checks.size(), 3u);
    const RectificationCheck* b = of(checks, "140824-2023-0002");
    EXPECT_EQ(b->state, "无法判断");
    EXPECT_EQ(b->note, "前时相 2023-04-10 影像无法读取");
    EXPECT_EQ(rows_of("140824-2023-0002").at(0).what, "影像复查 2024-05-02：无法判断（前时相 2023-04-10 影像无法读取）");
    EXPECT_CONTAINS(log.text(), "warning: rectify: case 140824-2023-0002: rectify: cannot open the QSX image '" +
                                    (dir_ / "broken.tif").string() + "' (");
    EXPECT_CONTAINS(log.text(), "; recorded as 无法判断 (cannot judge)");
    EXPECT_EQ(case_of("140824-2023-0002").chip_check_qsx, "");
    // An unreadable HSX file: judged without the confirmation.
    imagery_["2023-04-10"] = (dir_ / "qsx.tif").string();
    imagery_["2023-09-18"] = (dir_ / "broken.tif").string();
    test::write_text(dir_ / "notes.txt", "field notes\n");
    options_.chips_dir = dir_ / "notes.txt" / "checks";  // chips cannot be written: left out, warned
    const auto judged = check();
    EXPECT_CONTAINS(log.text(), "warning: rectify: case 140824-2023-0002: no qsx chip: ");
    EXPECT_TRUE(of(judged, "140824-2023-0002")->chips.empty());
    EXPECT_EQ(of(judged, "140824-2023-0002")->state, "仍有建设");
    EXPECT_EQ(of(judged, "140824-2023-0002")->note, "后时相 2023-09-18 影像无法读取");
    EXPECT_CONTAINS(log.text(), "; the check goes on without the HSX image");
}

TEST_P(LedgerRectify, ImageOlderThanTheRectificationRecordsButDoesNotFlag) {
    options_.new_imagery.date = "2023-10-30";  // after the HSX, before the rectification (2023-11-20)
    const auto checks = check();
    const RectificationCheck* b = of(checks, "140824-2023-0002");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->state, "仍有建设");
    EXPECT_FALSE(b->flagged);
    EXPECT_EQ(case_of("140824-2023-0002").flag, "");
}

TEST_P(LedgerRectify, ImageNotLaterThanTheCasesHsxChecksNothing) {
    options_.new_imagery.date = "2023-09-18";
    EXPECT_TRUE(check().empty());
}

TEST_P(LedgerRectify, DisabledChecksNothing) {
    config_.rectify.enabled = false;
    EXPECT_TRUE(check().empty());
    EXPECT_TRUE(rows_of("140824-2023-0001").empty());
}

TEST_P(LedgerRectify, AutomaticThresholdFallsBackWithAWarning) {
    config_.detect.threshold = std::nullopt;
    test::LogCapture log;
    const auto checks = check();
    EXPECT_EQ(of(checks, "140824-2023-0002")->state, "仍有建设");
    EXPECT_CONTAINS(log.text(), "rectify: detect.threshold is not a fixed construction-score threshold (detect.method construction, "
                                "threshold auto); the rectification check uses 0.15; set detect.threshold to choose another");
}

// ---- refusals: the ledger stays as it was ---------------------------------------------------------

TEST_P(LedgerRectify, UnreadableNewImageIsRefusedAndNothingWritten) {
    const auto before = history().size();
    options_.new_imagery.tiles = {(dir_ / "missing.tif").string()};
    const std::string m = message_of<InputError>([&] { check(); });
    EXPECT_CONTAINS(m, "rectify: cannot open the new image '" + (dir_ / "missing.tif").string() + "' (");
    EXPECT_CONTAINS(m, "); check that the file exists and is a raster");
    EXPECT_EQ(history().size(), before);
}

TEST_P(LedgerRectify, ImageWithoutCrsIsRefused) {
    write_image(dir_ / "nocrs.tif", {}, 0);
    options_.new_imagery.tiles = {(dir_ / "nocrs.tif").string()};
    EXPECT_EQ(message_of<InputError>([&] { check(); }),
              "rectify: the new image '" + (dir_ / "nocrs.tif").string() +
                  "' has no CRS or georeferencing; give it a .prj/.aux.xml or re-export it as a GeoTIFF with its CRS");
}

TEST_P(LedgerRectify, TooFewBandsForTheRolesIsRefused) {
    config_.bands.nir = 5;
    EXPECT_EQ(message_of<InputError>([&] { check(); }),
              "rectify: the new image '" + (dir_ / "new.tif").string() +
                  "' has 4 bands but the band roles (bands.*) need band 5; check bands.blue/green/red/nir");
}

TEST_P(LedgerRectify, TilesOfOneDateWithDifferentBandCountsAreRefused) {
    write_image(dir_ / "five.tif", {}, 4546, 5);
    options_.new_imagery.tiles = {(dir_ / "new.tif").string(), (dir_ / "five.tif").string()};
    EXPECT_EQ(message_of<InputError>([&] { check(); }),
              "rectify: the new image tiles differ in band count ('" + (dir_ / "five.tif").string() + "' has 5, '" +
                  (dir_ / "new.tif").string() + "' 4); give tiles of one product per date");
}

TEST_P(LedgerRectify, RotatedImageIsRefused) {
    write_image(dir_ / "rotated.tif", {}, 4546, 4, 0.1);
    options_.new_imagery.tiles = {(dir_ / "rotated.tif").string()};
    EXPECT_EQ(message_of<InputError>([&] { check(); }),
              "rectify: the new image '" + (dir_ / "rotated.tif").string() +
                  "' is rotated (its geotransform has rotation terms); warp it north-up first (gdalwarp)");
}

TEST_P(LedgerRectify, BadImageDateIsRefused) {
    options_.new_imagery.date = "2024-5-2";
    EXPECT_EQ(message_of<InputError>([&] { check(); }),
              "rectify: the new imagery's date '2024-5-2' is not a date YYYY-MM-DD; check the catalog's date of its tiles");
}

TEST(LedgerRectifyCrs, LedgerInALocalGridIsRefused) {
    test::TempDir dir;
    const std::string ledger = (dir / "site.gpkg").string();
    OGRSpatialReference site_grid;
    site_grid.SetLocalCS("site grid");
    auto store = LedgerStore::open(ledger, LedgerStore::Mode::UpdateOrCreate, &site_grid);
    write_image(dir / "new.tif", {});
    Config config;
    RectifyOptions options;
    options.config = &config;
    options.new_imagery = {"2024-05-02", {(dir / "new.tif").string()}};
    EXPECT_EQ(message_of<InputError>([&] { check_rectification(*store, options); }),
              "rectify: cannot transform the extent of '" + (dir / "new.tif").string() +
                  "' into the ledger's CRS; check the raster's CRS");
}

// ---- the store: new columns and the migration of an older ledger ---------------------------------

TEST(LedgerRectifyStore, OlderLedgerWithoutTheChipColumnsIsMigrated) {
    ensure_gdal_registered();
    test::TempDir dir;
    const std::string ledger = (dir / "old.gpkg").string();
    std::vector<Parcel> parcels;
    parcels.push_back(test::rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100"));
    feed_ledger(test::ledger_options(ledger), parcels, test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A", "2023-04-10"));
    const std::vector<std::string> added = {"chip_before", "chip_after", "chip_check_qsx", "chip_check_hsx",
                                            "chip_check_new", "check_state", "check_date", "check_built_share"};
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(ledger.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE));
        ASSERT_TRUE(ds);
        OGRLayer* layer = ds->GetLayerByName("cases");
        for (const auto& name : added) ASSERT_EQ(layer->DeleteField(layer->GetLayerDefn()->GetFieldIndex(name.c_str())), OGRERR_NONE);
    }
    const auto present = [&] {
        GDALDatasetUniquePtr ds(GDALDataset::Open(ledger.c_str(), GDAL_OF_VECTOR));
        int n = 0;
        for (const auto& name : added) n += ds->GetLayerByName("cases")->GetLayerDefn()->GetFieldIndex(name.c_str()) >= 0;
        return n;
    };
    ASSERT_EQ(present(), 0);
    const auto read = LedgerStore::open(ledger, LedgerStore::Mode::Read)->load_cases(false);
    ASSERT_EQ(read.size(), 1u);
    EXPECT_EQ(read[0].chip_before, "");
    EXPECT_EQ(read[0].check_built_share, -1.0);
    EXPECT_EQ(present(), 0);  // reading changes nothing
    {
        auto store = LedgerStore::open(ledger, LedgerStore::Mode::Update);
        EXPECT_EQ(present(), static_cast<int>(added.size()));
        auto all = store->load_cases(true);
        auto transaction = store->begin();
        LedgerCase& c = all[0];
        c.chip_before = "/data/out/chips/1_qsx.jpg";
        c.chip_after = "/data/out/chips/1_hsx.jpg";
        c.chip_check_qsx = "/data/checks/a_qsx.jpg";
        c.chip_check_hsx = "/data/checks/a_hsx.jpg";
        c.chip_check_new = "/data/checks/a_new.jpg";
        c.check_state = "部分恢复";
        c.check_date = "2024-05-02";
        c.check_built_share = 0.48391;
        store->update_case(c);
        transaction.commit();
    }
    const auto back = LedgerStore::open(ledger, LedgerStore::Mode::Read)->load_cases(true);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].case_id, read[0].case_id);
    EXPECT_EQ(back[0].area_centimu, read[0].area_centimu);
    ASSERT_TRUE(back[0].geometry);
    EXPECT_EQ(back[0].chip_before, "/data/out/chips/1_qsx.jpg");
    EXPECT_EQ(back[0].chip_after, "/data/out/chips/1_hsx.jpg");
    EXPECT_EQ(back[0].chip_check_qsx, "/data/checks/a_qsx.jpg");
    EXPECT_EQ(back[0].chip_check_hsx, "/data/checks/a_hsx.jpg");
    EXPECT_EQ(back[0].chip_check_new, "/data/checks/a_new.jpg");
    EXPECT_EQ(back[0].check_state, "部分恢复");
    EXPECT_EQ(back[0].check_date, "2024-05-02");
    EXPECT_DOUBLE_EQ(back[0].check_built_share, 0.4839);  // 4 decimals
}

// ---- the sink: the run's chips on the cases it feeds -----------------------------------------------

TEST(LedgerRectifySink, CasesGetTheFinalChipPathsOfTheirParcels) {
    ensure_gdal_registered();
    test::TempDir dir;
    Config config;
    config.county.code = "140824";
    config.before.date = "2023-04-10";
    config.after.date = "2023-09-18";
    config.ledger.path = (dir / "ledger.gpkg").string();
    config.output_dir = (dir / "out").string();
    std::vector<Parcel> parcels;
    parcels.push_back(test::rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100"));
    parcels.push_back(test::rectangle_parcel(100, 0, 20, 20, "稷峰镇", "140824100"));
    parcels[0].id = 1;
    parcels[1].id = 2;
    LedgerSink sink;
    sink.accept(parcels, test::gk_zone_37(), config);
    const auto all = LedgerStore::open(config.ledger.path, LedgerStore::Mode::Read)->load_cases(false);
    ASSERT_EQ(all.size(), 2u);
    const fs::path out = fs::absolute(dir / "out");
    for (std::size_t i = 0; i < 2; ++i) {
        const ChipFiles files = chip_files_for(parcels[i].id);
        EXPECT_EQ(all[i].case_id, parcels[i].case_id);
        EXPECT_EQ(all[i].chip_before, (out / files.before).lexically_normal().string());
        EXPECT_EQ(all[i].chip_after, (out / files.after).lexically_normal().string());
    }
    // Seen again by a later run (parcel 5 there): the case points at the later run's chips.
    config.after.date = "2024-05-02";
    config.output_dir = (dir / "out2").string();
    std::vector<Parcel> later;
    later.push_back(test::rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100"));
    later[0].id = 5;
    sink.accept(later, test::gk_zone_37(), config);
    const auto again = LedgerStore::open(config.ledger.path, LedgerStore::Mode::Read)->load_cases(false);
    EXPECT_EQ(again[0].chip_after, (fs::absolute(dir / "out2") / chip_files_for(5).after).lexically_normal().string());
    EXPECT_EQ(again[1].chip_after, all[1].chip_after);
    // Without output.chips no paths.
    config.package.chips = false;
    config.ledger.path = (dir / "plain.gpkg").string();
    sink.accept(parcels, test::gk_zone_37(), config);
    for (const auto& c : LedgerStore::open(config.ledger.path, LedgerStore::Mode::Read)->load_cases(false)) EXPECT_EQ(c.chip_before, "");
}

// ---- exports: XLSX hyperlinks, KMZ with the chips ----------------------------------------------

TEST_P(LedgerRectify, XlsxLinksTheChipsAndWarnsAboutMissingOnes) {
    check();
    {
        // The run's chips: 0001's exist (the check's chips stand in), 0003's before chip is gone.
        auto store = LedgerStore::open(location(), LedgerStore::Mode::Update);
        auto all = store->load_cases(true);
        auto transaction = store->begin();
        for (auto& c : all) {
            if (c.case_id == "140824-2023-0001") {
                c.chip_before = c.chip_check_qsx;
                c.chip_after = c.chip_check_hsx;
            } else if (c.case_id == "140824-2023-0003") {
                c.chip_before = (dir_ / "gone" / "3_qsx.jpg").string();
            } else {
                continue;
            }
            store->update_case(c);
        }
        transaction.commit();
    }
    const fs::path out = dir_ / "export" / "cases.xlsx";
    test::LogCapture log;
    export_ledger(location(), ExportFormat::Xlsx, out);
    EXPECT_CONTAINS(log.text(), "warning: export: 1 chip files named in the ledger are missing (moved or removed output folders); '" +
                                    out.string() + "' leaves them out");
    const auto rows = test::sheet_rows(out, 1);
    EXPECT_EQ(test::cell(rows, 0, "前时相影像"), "140824-2023-0001_qsx.jpg");
    EXPECT_EQ(test::cell(rows, 0, "后时相影像"), "140824-2023-0001_hsx.jpg");
    EXPECT_EQ(test::cell(rows, 0, "影像复查结果"), "已恢复（建设占比 0%）");
    EXPECT_EQ(test::cell(rows, 0, "复查影像"), "140824-2023-0001_new.jpg");
    EXPECT_EQ(test::cell(rows, 1, "影像复查结果"), "仍有建设（建设占比 100%）");
    EXPECT_EQ(test::cell(rows, 2, "前时相影像"), "");  // missing file: empty cell
    EXPECT_EQ(test::cell(rows, 2, "影像复查结果"), "部分恢复（仍有建设 50%）");
    EXPECT_EQ(test::cell(rows, 3, "复查影像"), "");  // 违法: never checked
    // The hyperlinks: relative to the workbook's folder (Excel's external links).
    const std::string rels = test::book_part(out, "xl/worksheets/_rels/sheet2.xml.rels");
    EXPECT_CONTAINS(rels, "Target=\"..\\checks\\140824-2023-0001_qsx.jpg\" TargetMode=\"External\"");
    EXPECT_CONTAINS(rels, "Target=\"..\\checks\\140824-2023-0002_new.jpg\" TargetMode=\"External\"");
    EXPECT_EQ(rels.find("3_qsx.jpg"), std::string::npos);
}

TEST_P(LedgerRectify, KmzEmbedsTheChipsInTheBalloons) {
    check();
    const fs::path out = dir_ / "cases.kmz";
    ASSERT_EQ(export_format_of(out), ExportFormat::Kmz);
    ASSERT_EQ(parse_export_format("KMZ"), ExportFormat::Kmz);
    export_ledger(location(), ExportFormat::Kmz, out);
    const std::string doc = "/vsizip/" + out.string() + "/doc.kml";
    GDALDatasetUniquePtr ds(GDALDataset::Open(doc.c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    std::size_t placemarks = 0;
    std::string description_b;
    for (auto* layer : ds->GetLayers())
        for (auto& f : layer) {
            ++placemarks;
            if (std::string(f->GetFieldAsString("Name")) == "140824-2023-0002") description_b = f->GetFieldAsString("Description");
        }
    EXPECT_EQ(placemarks, 5u);
    EXPECT_CONTAINS(description_b, "<img src=\"files/140824-2023-0002_new.jpg\" width=\"320\"/><br/>复查 2024-05-02");
    EXPECT_CONTAINS(description_b, "影像复查 2024-05-02 仍有建设（建设占比 100%）");
    VSIStatBufL stat;
    for (const char* name : {"files/140824-2023-0002_new.jpg", "files/140824-2023-0003_new.jpg"})
        EXPECT_EQ(VSIStatL(("/vsizip/" + out.string() + "/" + name).c_str(), &stat), 0) << name;
    EXPECT_NE(VSIStatL(("/vsizip/" + out.string() + "/files/140824-2023-0004_new.jpg").c_str(), &stat), 0);
    for (const auto& entry : fs::directory_iterator(dir_.path()))
        EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
}

TEST_P(LedgerRectify, CommandLineWritesKmzByFormatOrExtension) {
    if (GetParam() != test::LedgerBackend::GeoPackage) GTEST_SKIP() << "the command line is under test, not the backend";
    check();
    const auto by_extension = test::run_cli("ledger export --ledger '" + location() + "' --out '" + (dir_ / "a.kmz").string() + "'", dir_.path());
    EXPECT_EQ(by_extension.exit_code, 0) << by_extension.err;
    const auto by_format =
        test::run_cli("ledger export --ledger '" + location() + "' --format kmz --out '" + (dir_ / "b.kmz").string() + "'", dir_.path());
    EXPECT_EQ(by_format.exit_code, 0) << by_format.err;
    VSIStatBufL stat;
    for (const char* kmz : {"a.kmz", "b.kmz"})
        EXPECT_EQ(VSIStatL(("/vsizip/" + (dir_ / kmz).string() + "/files/140824-2023-0001_new.jpg").c_str(), &stat), 0) << kmz;
}

TEST(LedgerRectifyExport, KmzInAFolderNobodyMayWrite) {
    ensure_gdal_registered();
    test::TempDir dir;
    const std::string ledger = (dir / "ledger.gpkg").string();
    std::vector<Parcel> parcels;
    parcels.push_back(test::rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100"));
    feed_ledger(test::ledger_options(ledger), parcels, test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A", "2023-04-10"));
    const std::string m = message_of<InputError>([&] { export_ledger(ledger, ExportFormat::Kmz, "/proc/weipian-cases.kmz"); });
    EXPECT_CONTAINS(m, "export: cannot write '/proc/weipian-cases.kmz': GDAL cannot create the zip (");
}

TEST_P(LedgerRectify, KmzOnAFullDiskLeavesNothingBehind) {
    if (GetParam() != test::LedgerBackend::GeoPackage) GTEST_SKIP() << "the file system, not the ledger, is under test";
    check();
    const fs::path out = dir_ / "cases.kmz";
    const test::Thrown thrown = test::on_full_disk(1024, [&] { export_ledger(location(), ExportFormat::Kmz, out); });
    EXPECT_EQ(thrown.exit_code, 3);
    EXPECT_CONTAINS(thrown.message, "export: cannot write '" + out.string() + "': GDAL cannot write the zip (");
    EXPECT_FALSE(fs::exists(out));
    for (const auto& entry : fs::directory_iterator(dir_.path()))
        EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerRectify, ::testing::Values(test::LedgerBackend::GeoPackage, test::LedgerBackend::PostgreSQL),
                         test::backend_name);

// ---- rectify.* configuration ------------------------------------------------------------------

TEST(LedgerRectifyConfig, KeysAreReadAndTheSharesMustBeOrdered) {
    const Config config = Config::parse("rectify:\n  enabled: false\n  restored_max_share: 0.1\n  built_min_share: 0.7\n", "/data/jishan.yaml");
    EXPECT_FALSE(config.rectify.enabled);
    EXPECT_EQ(config.rectify.restored_max_share, 0.1);
    EXPECT_EQ(config.rectify.built_min_share, 0.7);
    EXPECT_EQ(test::config_refusal("rectify:\n  restored_max_share: 0.9\n  built_min_share: 0.5\n"),
              "config '/data/jishan.yaml': keys 'rectify.restored_max_share' and 'rectify.built_min_share': 0.9 > 0.5; the share "
              "below which a case is restored must not exceed the share from which it is still built");
    EXPECT_EQ(test::config_refusal("rectify:\n  enabled: maybe\n"),
              "config '/data/jishan.yaml': key 'rectify.enabled': 'maybe' is not true or false");
    EXPECT_CONTAINS(test::config_refusal("rectify:\n  built_min_share: 1.5\n"), "key 'rectify.built_min_share'");
    EXPECT_EQ(test::config_refusal("rectify:\n  restored_max_share: 0.5\n  built_min_share: 0.5\n"), "");
}

}  // namespace
}  // namespace weipian
