// `weipian nightly` through the binary (app/nightly_command.cpp, pipeline/nightly.cpp): the
// cycle of deliveries made from sample_tiles/ (PLAN10.md): the base is qsx/*.tif; night 1 gets
// the north HSX tiles, night 2 the south ones plus four bad files, night 3 nothing; a killed
// night and its rerun; the lock.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <regex>
#include <set>

#include <ogrsf_frmts.h>

#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

using test::read_text;
using test::run_cli;
using test::TempDir;
using test::write_text;
namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSource = WEIPIAN_SOURCE_DIR;

// configs/sample.yaml with absolute overlay paths, no epochs, output.dir = out and nightly.*.
std::string nightly_config(const fs::path& dir, bool with_base = true, const std::string& extra = "") {
    std::string yaml = read_text(kSource / "configs" / "sample.yaml");
    yaml = std::regex_replace(yaml, std::regex("\\.\\./sample_tiles/"), (kSource / "sample_tiles").string() + "/");
    yaml = std::regex_replace(yaml, std::regex("\nepochs:\n  before:[^\n]*\n  after:[^\n]*\n"), "\n");
    yaml = std::regex_replace(yaml, std::regex("output: \\{dir: \\.\\./out/sample\\}"), "output: {dir: out}");
    yaml = std::regex_replace(yaml, std::regex("processing: \\{block_size: 256, threads: 0\\}"),
                              "processing: {block_size: 256, threads: 2}");
    yaml += "nightly:\n  inbox: [" + (dir / "inbox").string() + "]\n";
    if (with_base) yaml += "  base: [\"" + (kSource / "sample_tiles" / "qsx").string() + "/*.tif\"]\n";
    return yaml + extra;
}

void deliver(const fs::path& inbox, std::initializer_list<const char*> tiles) {
    fs::create_directories(inbox);
    for (const char* t : tiles) fs::copy_file(kSource / "sample_tiles" / "hsx" / t, inbox / t, fs::copy_options::overwrite_existing);
}

// The four bad files of night 2: corrupt, undatable, without CRS, a duplicate of a delivered tile.
void deliver_bad_files(const fs::path& inbox) {
    fs::create_directories(inbox);
    write_text(inbox / "HSX_20230918_broken.tif", "II*\0 this is not a GeoTIFF, the transfer was cut off");
    test::write_scene(inbox / "scene_without_date.tif", 497000, 3941000, 40, 4546);
    test::write_scene(inbox / "HSX_20230918_nocrs.tif", 497000, 3941000, 40, 0);
    fs::copy_file(kSource / "sample_tiles" / "hsx" / "HSX_20230918_r1c0.tif", inbox / "zz_again_HSX_20230918_r1c0.tif");
}

// The parcels of a night's parcels.gpkg as comparable lines: id | township | area | geometry.
std::vector<std::string> parcel_lines(const fs::path& gpkg) {
    std::vector<std::string> out;
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open(gpkg.c_str(), GDAL_OF_VECTOR));
    if (!ds) return out;
    OGRLayer* layer = ds->GetLayerByName("parcels");
    if (!layer) return out;
    for (auto& f : *layer) {
        char* wkt = nullptr;
        f->GetGeometryRef()->exportToWkt(&wkt);
        // One field at a time: GetFieldAsString of a number returns a buffer the next call reuses.
        std::string line = f->GetFieldAsString("xzmc");
        line += "|" + std::to_string(f->GetFieldAsDouble("area_m2"));
        line += "|" + std::string(f->GetFieldAsString("qsx"));
        line += "|" + std::string(f->GetFieldAsString("hsx"));
        line += "|" + std::string(wkt);
        out.push_back(line);
        CPLFree(wkt);
    }
    return out;
}

struct ParcelFacts {
    double area_m2, cx, cy;
};

std::vector<ParcelFacts> parcel_facts(const fs::path& gpkg) {
    std::vector<ParcelFacts> out;
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open(gpkg.c_str(), GDAL_OF_VECTOR));
    if (!ds) return out;
    OGRLayer* layer = ds->GetLayerByName("parcels");
    for (auto& f : *layer)
        out.push_back({f->GetFieldAsDouble("area_m2"), f->GetFieldAsDouble("centroid_x"), f->GetFieldAsDouble("centroid_y")});
    return out;
}

// Parcels of a patch split by township boundaries summed by the object box they lie in.
double area_inside(const std::vector<ParcelFacts>& parcels, double x0, double y0, double x1, double y1) {
    double sum = 0;
    for (const auto& p : parcels)
        if (p.cx >= x0 && p.cx <= x1 && p.cy >= y0 && p.cy <= y1) sum += p.area_m2;
    return sum;
}

class NightlyTest : public ::testing::Test {
protected:
    TempDir dir;
    fs::path config = dir / "county.yaml";
    fs::path out = dir / "out";
    fs::path inbox = dir / "inbox";

    void SetUp() override {
        write_text(config, nightly_config(dir.path()));
        fs::create_directories(inbox);
    }

    test::CliResult nightly(const std::string& night, const std::string& env = "", const std::string& extra = "") {
        // The executable with the crash tests' hook: the same commands, and WEIPIAN_TEST_KILL_AT works.
        return run_cli("nightly --config '" + config.string() + "' --night " + night + " " + extra, dir.path(), env,
                       WEIPIAN_HOOKED_BINARY);
    }

    json night_json(const std::string& name) { return json::parse(read_text(out / name / "night.json")); }

    void night1() {
        deliver(inbox, {"HSX_20230918_r0c0.tif", "HSX_20230918_r0c1.tif"});
        const auto r = nightly("2023-09-20");
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
};

TEST_F(NightlyTest, ThreeDeliveriesGiveTheWholeSceneOnce) {
    // Night 1: the north half. C04 and C11 reach its south edge, where the base goes on: deferred.
    deliver(inbox, {"HSX_20230918_r0c0.tif", "HSX_20230918_r0c1.tif"});
    auto r = nightly("2023-09-20");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nightly: 2023-09-20: 7 parcels"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("2 deferred"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("reaches the edge of tonight's coverage; deferred until the neighbouring imagery arrives"), std::string::npos) << r.err;
    // Log lines carry timestamps.
    EXPECT_TRUE(std::regex_search(r.err, std::regex("20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"))) << r.err;
    ASSERT_TRUE(fs::exists(out / "2023-09-20" / "parcels.gpkg"));
    const auto n1 = parcel_facts(out / "2023-09-20" / "parcels.gpkg");
    EXPECT_EQ(n1.size(), 7u);
    for (const auto& p : n1) EXPECT_GT(p.cy, 3940680) << p.cx << " " << p.cy;  // all in the north half
    json j1 = night_json("2023-09-20");
    EXPECT_EQ(j1["parcels"], 7);
    EXPECT_EQ(j1["hsx"], "2023-09-18");
    EXPECT_EQ(j1["qsx"], "2023-04-10");
    EXPECT_EQ(j1["new_tiles"].size(), 2u);
    ASSERT_EQ(j1["deferred"].size(), 2u);
    int c04 = 0, c11 = 0;
    for (const auto& d : j1["deferred"]) {
        const double x = d["centroid_x"], y = d["centroid_y"];
        if (x >= 497300 && x <= 497345 && y >= 3940650 && y <= 3940695) ++c04;
        if (x >= 497420 && x <= 497470 && y >= 3940655 && y <= 3940700) ++c11;
        EXPECT_FALSE(d["area_mu"].get<std::string>().empty());
    }
    EXPECT_EQ(c04, 1);
    EXPECT_EQ(c11, 1);
    EXPECT_TRUE(j1["skipped"].empty());
    const std::string t1 = read_text(out / "2023-09-20" / "night.txt");
    EXPECT_NE(t1.find("疑似新增建设图斑 7 宗"), std::string::npos) << t1;
    EXPECT_NE(t1.find("暂缓 2 宗"), std::string::npos) << t1;
    ASSERT_TRUE(fs::is_symlink(out / "latest"));
    EXPECT_EQ(fs::read_symlink(out / "latest"), fs::path("2023-09-20"));
    // The marker lists the night's files: the folder stays a weipian output.
    const std::string marker = read_text(out / "2023-09-20" / ".weipian-output");
    EXPECT_NE(marker.find("night.json"), std::string::npos);
    EXPECT_NE(marker.find("night.txt"), std::string::npos);

    // Night 2: the south half and four bad files; the north tiles are read as neighbouring coverage.
    deliver(inbox, {"HSX_20230918_r1c0.tif", "HSX_20230918_r1c1.tif"});
    deliver_bad_files(inbox);
    r = nightly("2023-09-21");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nightly: 2023-09-21: 8 parcels"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("0 deferred, 4 files skipped"), std::string::npos) << r.out;
    for (const char* name : {"HSX_20230918_broken.tif", "scene_without_date.tif", "HSX_20230918_nocrs.tif", "zz_again_HSX_20230918_r1c0.tif"})
        EXPECT_NE(r.err.find(name), std::string::npos) << name << "\n" << r.err;
    const auto n2 = parcel_facts(out / "2023-09-21" / "parcels.gpkg");
    EXPECT_EQ(n2.size(), 8u);
    EXPECT_NEAR(area_inside(n2, 497300, 3940650, 497345, 3940695), 1400, 1);  // C04 whole
    EXPECT_NEAR(area_inside(n2, 497420, 3940655, 497470, 3940700), 1500, 1);  // C11 whole
    json j2 = night_json("2023-09-21");
    EXPECT_EQ(j2["parcels"], 8);
    EXPECT_TRUE(j2["deferred"].empty());
    EXPECT_EQ(j2["neighbouring_tiles"].size(), 2u);
    ASSERT_EQ(j2["skipped"].size(), 4u);
    std::set<std::string> reasons;
    for (const auto& s : j2["skipped"]) {
        reasons.insert(s["reason"].get<std::string>());
        EXPECT_FALSE(s["what_to_do"].get<std::string>().empty());
    }
    EXPECT_EQ(reasons, (std::set<std::string>{"corrupt", "undatable", "unknown_crs", "duplicate"}));
    const std::string t2 = read_text(out / "2023-09-21" / "night.txt");
    EXPECT_NE(t2.find("跳过文件 4 个"), std::string::npos) << t2;
    EXPECT_NE(t2.find("文件损坏"), std::string::npos) << t2;
    EXPECT_EQ(fs::read_symlink(out / "latest"), fs::path("2023-09-21"));

    // Nights 1 + 2 = the whole-scene run: 15 parcels, 26.78 亩.
    EXPECT_EQ(n1.size() + n2.size(), 15u);
    const double mu = std::stod(j1["area_mu"].get<std::string>()) + std::stod(j2["area_mu"].get<std::string>());
    EXPECT_NEAR(mu, 26.78, 0.011);
    // Night 1 is untouched by night 2.
    EXPECT_EQ(parcel_facts(out / "2023-09-20" / "parcels.gpkg").size(), 7u);

    // Night 3: nothing new.
    const auto before = fs::last_write_time(out / "2023-09-21" / "parcels.gpkg");
    r = nightly("2023-09-22");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nightly: nothing new in " + inbox.string() + " (8 tiles registered); nothing to do"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out / "2023-09-22"));
    EXPECT_EQ(fs::read_symlink(out / "latest"), fs::path("2023-09-21"));

    // A rerun of night 2 after its success changes nothing.
    r = nightly("2023-09-21");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nothing new in"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out / "2023-09-21-2"));
    EXPECT_EQ(fs::read_symlink(out / "latest"), fs::path("2023-09-21"));
    EXPECT_EQ(fs::last_write_time(out / "2023-09-21" / "parcels.gpkg"), before);
    std::vector<std::string> nights;
    for (const auto& e : fs::directory_iterator(out))
        if (e.is_directory() && e.path().filename().string()[0] == '2') nights.push_back(e.path().filename().string());
    std::sort(nights.begin(), nights.end());
    EXPECT_EQ(nights, (std::vector<std::string>{"2023-09-20", "2023-09-21"}));
}

// A night killed with SIGKILL (at a step of the run, or after its outputs) is redone by the next
// start to the same parcels as an uninterrupted night.
TEST_F(NightlyTest, AKilledNightIsRedoneToTheSameParcels) {
    // The uninterrupted night 2, in its own folder.
    TempDir clean;
    write_text(clean / "county.yaml", nightly_config(clean.path()));
    deliver(clean / "inbox", {"HSX_20230918_r0c0.tif", "HSX_20230918_r0c1.tif"});
    ASSERT_EQ(run_cli("-q nightly --config '" + (clean / "county.yaml").string() + "' --night 2023-09-20", clean.path()).exit_code, 0);
    deliver(clean / "inbox", {"HSX_20230918_r1c0.tif", "HSX_20230918_r1c1.tif"});
    ASSERT_EQ(run_cli("-q nightly --config '" + (clean / "county.yaml").string() + "' --night 2023-09-21", clean.path()).exit_code, 0);
    const auto expected = parcel_lines(clean / "out" / "2023-09-21" / "parcels.gpkg");
    ASSERT_EQ(expected.size(), 8u);

    night1();
    deliver(inbox, {"HSX_20230918_r1c0.tif", "HSX_20230918_r1c1.tif"});
    // Killed in the middle of the main job (after detection, before the ledger and the outputs).
    auto r = nightly("2023-09-21", "WEIPIAN_TEST_KILL_AT=nightly:select");
    EXPECT_EQ(r.exit_code, 128 + SIGKILL) << "not killed: " << r.err;  // the shell's status of a child killed by SIGKILL
    EXPECT_FALSE(fs::exists(out / "2023-09-21"));
    EXPECT_EQ(fs::read_symlink(out / "latest"), fs::path("2023-09-20"));
    // Killed again after the outputs, before night.json is listed and the night recorded done.
    r = nightly("2023-09-21", "WEIPIAN_TEST_KILL_AT=nightly:summary");
    EXPECT_EQ(r.exit_code, 128 + SIGKILL) << "not killed: " << r.err;  // the shell's status of a child killed by SIGKILL
    EXPECT_NE(r.err.find("did not finish"), std::string::npos) << r.err;
    EXPECT_EQ(fs::read_symlink(out / "latest"), fs::path("2023-09-20"));

    r = nightly("2023-09-21");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("nightly: the night 2023-09-21 did not finish"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("nightly: 2023-09-21 (redone): 8 parcels"), std::string::npos) << r.out;
    EXPECT_EQ(parcel_lines(out / "2023-09-21" / "parcels.gpkg"), expected);
    EXPECT_EQ(fs::read_symlink(out / "latest"), fs::path("2023-09-21"));
    EXPECT_FALSE(fs::exists(out / "2023-09-21-2"));
    // No staging folder or temporary left behind.
    for (const auto& e : fs::directory_iterator(out))
        EXPECT_EQ(e.path().filename().string().find(".partial-"), std::string::npos) << e.path();

    // And the next start has nothing to do.
    r = nightly("2023-09-22");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nothing new in"), std::string::npos) << r.out;
}

std::int64_t ledger_cases(const fs::path& ledger) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open(ledger.c_str(), GDAL_OF_VECTOR));
    if (!ds) return -1;
    OGRLayer* cases = ds->GetLayerByName("cases");
    return cases ? cases->GetFeatureCount() : -1;
}

// With a ledger (which also holds the catalog): each parcel becomes one case, once, whatever is
// killed and rerun.
TEST_F(NightlyTest, TheLedgerIsFedOnceAcrossAKilledNightAndReruns) {
    const fs::path ledger = dir / "ledger.gpkg";
    write_text(config, nightly_config(dir.path(), true, "ledger: {path: " + ledger.string() + "}\n"));
    night1();
    EXPECT_EQ(ledger_cases(ledger), 7);
    deliver(inbox, {"HSX_20230918_r1c0.tif", "HSX_20230918_r1c1.tif"});
    auto r = nightly("2023-09-21", "WEIPIAN_TEST_KILL_AT=nightly:summary");  // after the feed and the outputs
    EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
    EXPECT_EQ(ledger_cases(ledger), 15);
    r = nightly("2023-09-21");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nightly: 2023-09-21 (redone): 8 parcels"), std::string::npos) << r.out;
    EXPECT_EQ(night_json("2023-09-21")["ledger"]["already_fed"], true);
    EXPECT_EQ(ledger_cases(ledger), 15);
    r = nightly("2023-09-21");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nothing new in"), std::string::npos) << r.out;
    EXPECT_EQ(ledger_cases(ledger), 15);
}

// A copy of the sample tiles `from` (qsx or hsx) dated `date` (metadata and name), into the inbox:
// the same place imaged again.
void deliver_redated(const fs::path& inbox, const std::string& from, const std::string& date) {
    GDALAllRegister();
    fs::create_directories(inbox / date);
    for (const auto& entry : fs::directory_iterator(kSource / "sample_tiles" / from)) {
        if (entry.path().extension() != ".tif") continue;
        GDALDatasetUniquePtr src(GDALDataset::Open(entry.path().c_str(), GDAL_OF_RASTER));
        ASSERT_TRUE(src);
        const fs::path target = inbox / date / (date + "_" + entry.path().filename().string().substr(13));
        GDALDatasetUniquePtr copy(GetGDALDriverManager()->GetDriverByName("GTiff")->CreateCopy(
            target.c_str(), src.get(), false, nullptr, nullptr, nullptr));
        ASSERT_TRUE(copy);
        copy->SetMetadataItem("ACQUISITION_DATE", date.c_str());
    }
}

// Rectification checked on the night's imagery (issue 10 §2): cases 0001 (已整改) and 0002
// (整改中) of the first night are imaged again. Still built on 2024-05-01: both 仍有建设, 0001
// flagged 整改不到位, the earlier epoch is the 2023-09-18 delivery (QSX names only what is seen);
// restored on 2024-08-01 (the April 2023 ground again): both 已恢复; chips of three dates.
TEST_F(NightlyTest, RectificationIsCheckedOnTheNightsImagery) {
    const fs::path ledger = dir / "ledger.gpkg";
    write_text(config, nightly_config(dir.path(), true, "ledger: {path: " + ledger.string() + "}\n"));
    deliver(inbox, {"HSX_20230918_r0c0.tif", "HSX_20230918_r0c1.tif", "HSX_20230918_r1c0.tif", "HSX_20230918_r1c1.tif"});
    auto r = nightly("2023-09-20");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(ledger_cases(ledger), 15);
    write_text(dir / "v1.csv", "图斑编号,核查结果,日期\n140824-2023-0001,违法,2024-01-10\n140824-2023-0002,违法,2024-01-10\n");
    write_text(dir / "v2.csv", "图斑编号,整改状态,日期\n140824-2023-0001,整改中,2024-02-01\n140824-2023-0002,整改中,2024-02-01\n");
    write_text(dir / "v3.csv", "图斑编号,整改状态,日期\n140824-2023-0001,已整改,2024-03-01\n");
    for (const char* sheet : {"v1.csv", "v2.csv", "v3.csv"}) {
        const auto imported = run_cli("ledger import '" + (dir / sheet).string() + "' --ledger '" + ledger.string() + "'", dir.path());
        ASSERT_EQ(imported.exit_code, 0) << imported.err;
    }

    deliver_redated(inbox, "hsx", "2024-05-01");
    r = nightly("2024-05-02");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nightly: 2024-05-02: 0 parcels, 0 亩, 0 deferred, 0 files skipped, 2 cases rechecked (1 整改不到位)"),
              std::string::npos) << r.out;
    json night = night_json("2024-05-02");
    EXPECT_EQ(night["qsx"], "2023-09-18");
    EXPECT_EQ(night["earlier_dates"], json::array({"2023-09-18"}));
    ASSERT_EQ(night["rectification"].size(), 2u) << night.dump(2);
    for (const auto& c : night["rectification"]) {
        EXPECT_EQ(c["state"], "仍有建设") << c.dump();
        EXPECT_GE(c["built_share"].get<double>(), 0.8) << c.dump();
        EXPECT_EQ(c["flagged"], c["case_id"] == "140824-2023-0001") << c.dump();
    }
    EXPECT_NE(read_text(out / "2024-05-02" / "night.txt").find("整改复查 2 宗（仍有建设 2 宗），其中整改不到位 1 宗：140824-2023-0001"),
              std::string::npos);
    for (const char* date : {"qsx", "hsx", "new"})
        EXPECT_TRUE(fs::is_regular_file(out / "2024-05-02" / "rectify" / (std::string("140824-2023-0001_") + date + ".jpg"))) << date;

    deliver_redated(inbox, "qsx", "2024-08-01");
    r = nightly("2024-08-02");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    night = night_json("2024-08-02");  // (its parcels are seasonal: September maize → April soil)
    ASSERT_EQ(night["rectification"].size(), 2u) << night.dump(2);
    for (const auto& c : night["rectification"]) {
        EXPECT_EQ(c["state"], "已恢复") << c.dump();
        EXPECT_LT(c["built_share"].get<double>(), 0.2) << c.dump();
        EXPECT_EQ(c["flagged"], false) << c.dump();
    }
}

// A copy of sample tile `tile` in `inbox` as `name`, acquired on `date` (GDAL metadata).
void deliver_dated_copy(const fs::path& inbox, const char* tile, const std::string& name, const char* date) {
    GDALAllRegister();
    GDALDatasetUniquePtr src(GDALDataset::Open((kSource / "sample_tiles" / "hsx" / tile).c_str(), GDAL_OF_RASTER));
    ASSERT_TRUE(src);
    GDALDatasetUniquePtr copy(
        GetGDALDriverManager()->GetDriverByName("GTiff")->CreateCopy((inbox / name).c_str(), src.get(), false, nullptr, nullptr, nullptr));
    ASSERT_TRUE(copy);
    copy->SetMetadataItem("ACQUISITION_DATE", date);
}

// Tiles of two dates in one night: one folder per date, oldest first (NIGHT, NIGHT-2); the later
// date's earlier epoch is what is seen under its region (QSX the oldest date seen there). C04
// sits on the corner of r0c0 and r1c0: while r0c1 / r1c1 have no new imagery it is deferred.
TEST_F(NightlyTest, TwoDatesInOneNightAreTwoFoldersOldestFirst) {
    deliver(inbox, {"HSX_20230918_r0c0.tif"});
    deliver_dated_copy(inbox, "HSX_20230918_r1c0.tif", "october_r1c0.tif", "2023-10-05");
    const auto r = nightly("2023-10-06");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nightly: 2023-10-06: 3 parcels"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nightly: 2023-10-06-2: 3 parcels"), std::string::npos) << r.out;
    const json first = night_json("2023-10-06"), second = night_json("2023-10-06-2");
    EXPECT_EQ(first["hsx"], "2023-09-18");
    EXPECT_EQ(first["qsx"], "2023-04-10");
    EXPECT_EQ(second["hsx"], "2023-10-05");
    EXPECT_EQ(second["qsx"], "2023-04-10");
    // The 2023-09-18 tile (r0c0) only touches the second night's region (r1c0) along its border,
    // so none of its pixels is compared: the earlier epoch there is the base alone.
    EXPECT_EQ(second["earlier_dates"], (json{"2023-04-10"}));
    EXPECT_EQ(first["deferred"].size(), 1u);   // C04's part in r0c0: r0c1 may still come
    EXPECT_EQ(second["deferred"].size(), 1u);  // C04's part in r1c0: r1c1 may still come
    EXPECT_TRUE(first["edge_reported"].empty());
    EXPECT_EQ(fs::read_symlink(out / "latest"), fs::path("2023-10-06-2"));
}

// The north half delivered on 2023-09-18, the south half on 2023-10-05: C04 and C11 straddle
// the two. Each night reads only its own date, so neither can ever be found whole: each night
// reports its own part with the remark (bz), lists it in night.json and counts it in night.txt;
// nothing stays deferred, and the parts add up to the whole parcels of the whole-scene run.
TEST_F(NightlyTest, AParcelAcrossDeliveriesOfTwoDatesIsReportedInPartsWithARemark) {
    deliver(inbox, {"HSX_20230918_r0c0.tif", "HSX_20230918_r0c1.tif"});
    deliver_dated_copy(inbox, "HSX_20230918_r1c0.tif", "october_r1c0.tif", "2023-10-05");
    deliver_dated_copy(inbox, "HSX_20230918_r1c1.tif", "october_r1c1.tif", "2023-10-05");
    const auto r = nightly("2023-10-06");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nightly: 2023-10-06: 9 parcels"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" 0 deferred, 2 cut at an edge of other imagery, 0 files skipped"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nightly: 2023-10-06-2: 8 parcels"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("reaches imagery of 2023-10-05 delivered separately, which tonight does not read; it is reported with "
                         "tonight's part only (remark in bz): check its full extent in the field"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("reaches imagery of 2023-09-18 delivered separately"), std::string::npos) << r.err;
    const json first = night_json("2023-10-06"), second = night_json("2023-10-06-2");
    EXPECT_TRUE(first["deferred"].empty());
    EXPECT_TRUE(second["deferred"].empty());
    ASSERT_EQ(first["edge_reported"].size(), 2u);
    ASSERT_EQ(second["edge_reported"].size(), 2u);
    for (const auto& d : first["edge_reported"]) {
        EXPECT_EQ(d["neighbour_dates"], (json{"2023-10-05"}));
        EXPECT_GT(d["centroid_y"].get<double>(), 3940680.0);  // north of row 320
    }
    for (const auto& d : second["edge_reported"]) {
        EXPECT_EQ(d["neighbour_dates"], (json{"2023-09-18"}));
        EXPECT_LT(d["centroid_y"].get<double>(), 3940680.0);
    }
    for (const auto& [night, other] : {std::pair<const char*, const char*>{"2023-10-06", "2023-10-05"}, {"2023-10-06-2", "2023-09-18"}}) {
        GDALDatasetUniquePtr ds(GDALDataset::Open((out / night / "parcels.gpkg").c_str(), GDAL_OF_VECTOR));
        ASSERT_TRUE(ds) << night;
        int with_remark = 0;
        for (auto& f : *ds->GetLayerByName("parcels"))
            if (std::string(f->GetFieldAsString("bz")) ==
                std::string("影像接边：图斑延伸到 ") + other + " 的相邻影像，只含本次影像部分，外业核查时请核对完整范围")
                ++with_remark;
        EXPECT_EQ(with_remark, 2) << night;
        EXPECT_NE(read_text(out / night / "night.txt").find("接边图斑 2 宗（延伸到其他时相的相邻影像，只含本次影像部分，已在备注中注明）"),
                  std::string::npos)
            << night;
    }
    // The parts add up to the whole: C04 is 1400 m², C11 1500 m² in the whole-scene run.
    auto both = parcel_facts(out / "2023-10-06" / "parcels.gpkg");
    const auto south = parcel_facts(out / "2023-10-06-2" / "parcels.gpkg");
    both.insert(both.end(), south.begin(), south.end());
    EXPECT_NEAR(area_inside(both, 497300, 3940650, 497345, 3940695), 1400.0, 1.0);
    EXPECT_NEAR(area_inside(both, 497420, 3940655, 497470, 3940700), 1500.0, 1.0);
}

// A night whose main job refuses its input (here a delivered tile that is all nodata) is recorded
// failed with its error and exit code; its tiles stay pending and the next start tries again.
TEST_F(NightlyTest, ANightWithoutValidPixelsFailsAndIsTriedAgain) {
    {
        GDALAllRegister();
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(
            (inbox / "HSX_20230918_r0c0.tif").c_str(), 320, 320, 4, GDT_UInt16, nullptr));
        double gt[6] = {497000, 1, 0, 3941000, 0, -1};
        ds->SetGeoTransform(gt);
        OGRSpatialReference srs;
        srs.importFromEPSG(4546);
        ds->SetSpatialRef(&srs);
        for (int b = 1; b <= 4; ++b) ds->GetRasterBand(b)->SetNoDataValue(0);
    }
    for (int start = 0; start < 2; ++start) {
        const auto r = nightly("2023-09-20");
        EXPECT_EQ(r.exit_code, 4) << r.err;
        EXPECT_NE(r.err.find("nightly: night 2023-09-20 failed: run: no valid pixels"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("its 1 tiles stay pending and are tried again on the next start"), std::string::npos) << r.err;
        EXPECT_FALSE(fs::exists(out / "2023-09-20"));
        EXPECT_FALSE(fs::exists(out / "2023-09-20-2"));
        EXPECT_FALSE(fs::exists(fs::symlink_status(out / "latest")));
    }
}

TEST_F(NightlyTest, ASecondRunWhileTheLockIsHeldExits75) {
    fs::create_directories(out);
    const fs::path lock = out / ".weipian-nightly.lock";
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    const std::string content = R"({"pid": 4242, "host": "nightbox", "county": "140824", "started": "2026-12-02T02:00:03Z", "config": "/etc/weipian/county.yaml"})";
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    deliver(inbox, {"HSX_20230918_r0c0.tif"});
    const auto r = nightly("2023-09-20");
    ::close(fd);
    EXPECT_EQ(r.exit_code, 75) << r.err;
    EXPECT_NE(r.err.find("nightly: another run holds " + lock.string() +
                         " (pid 4242, host nightbox, since 2026-12-02T02:00:03Z); it ends by itself — wait, or stop that process\n"),
              std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out / "2023-09-20"));
}

TEST_F(NightlyTest, ALockFileOfAnotherCountyIsRefused) {
    fs::create_directories(out);
    write_text(out / ".weipian-nightly.lock",
               R"({"pid": 4242, "host": "nightbox", "county": "140825", "started": "2026-12-02T02:00:03Z", "config": "/etc/weipian/xinjiang.yaml"})");
    deliver(inbox, {"HSX_20230918_r0c0.tif"});
    const auto r = nightly("2023-09-20");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("was written for county 140825 (config /etc/weipian/xinjiang.yaml), not 140824; give each county its own output.dir"),
              std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out / "2023-09-20"));
}

TEST_F(NightlyTest, ATileWithoutEarlierCoverageIsSkippedWithWhatToDo) {
    write_text(config, nightly_config(dir.path(), false));
    deliver(inbox, {"HSX_20230918_r0c0.tif"});
    const auto r = nightly("2023-09-20");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("HSX_20230918_r0c0.tif' (2023-09-18) has no earlier coverage in the catalog; skipped: set nightly.base to imagery dated before 2023-09-18 that covers it, then run nightly again"),
              std::string::npos) << r.err;
    EXPECT_NE(r.out.find("nightly: nothing processed in " + inbox.string() + ": 1 files skipped"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out / "2023-09-20"));
}

TEST_F(NightlyTest, BadCommandLinesAndConfigsAreRefused) {
    auto r = nightly("2023-02-30");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("nightly: --night '2023-02-30' is not a date YYYY-MM-DD on the calendar"), std::string::npos) << r.err;
    std::string yaml = nightly_config(dir.path());
    yaml = yaml.substr(0, yaml.find("nightly:\n"));
    write_text(config, yaml);
    r = nightly("2023-09-20");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("key 'nightly.inbox' is empty; list the folders where new imagery arrives"), std::string::npos) << r.err;
    // output.dir is a file: the lock cannot be made there.
    write_text(config, nightly_config(dir.path()));
    write_text(out, "not a folder");
    r = nightly("2023-09-20");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("nightly: cannot open the lock file '" + (out / ".weipian-nightly.lock").string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("check that output.dir is writable"), std::string::npos) << r.err;
}

// `--log FILE` appends timestamped lines.
TEST_F(NightlyTest, TheLogFileIsAppendedWithTimestamps) {
    const fs::path log = dir / "nightly.log";
    write_text(log, "earlier line\n");
    const auto r = nightly("2023-09-20", "", "--log '" + log.string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = read_text(log);
    EXPECT_EQ(text.rfind("earlier line\n", 0), 0u) << text;
    EXPECT_TRUE(std::regex_search(text, std::regex("\n20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}"))) << text;
    // A log file under a file (not a folder) is refused before anything happens.
    write_text(dir / "a-file", "x");
    const fs::path nowhere = dir / "a-file" / "nightly.log";
    const auto bad = nightly("2023-09-20", "", "--log '" + nowhere.string() + "'");
    EXPECT_EQ(bad.exit_code, 3) << bad.err;
    EXPECT_NE(bad.err.find("--log '" + nowhere.string() + "': cannot open it for appending ("), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find("); give a file in a writable folder"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace weipian
