// Nothing a user owns is ever lost (issue 7, "Data loss"), through the CLI: each case that
// deleted or replaced files weipian did not write is refused before any work with exit code 3
// and one line naming the path; a failure mid-write leaves nothing half-written; the exit codes
// are the documented ones (2 for a command line CLI11 cannot parse, 3 for a file-system refusal).
#include <gtest/gtest.h>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <opencv2/core.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

using test::read_text;
using test::run_cli;
using test::TempDir;
using test::write_scene;
using test::write_text;
namespace fs = std::filesystem;

constexpr double kX0 = 497000, kY0 = 3941000;  // Jishan, EPSG:4546

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

// Every name under `dir` (recursively) that looks like a temporary: ".partial" or ".old".
std::vector<std::string> leftovers(const fs::path& dir) {
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.find(".partial") != std::string::npos || name.find(".old") != std::string::npos) found.push_back(name);
    }
    return found;
}

class OutputSafety : public ::testing::Test {
protected:
    TempDir dir;
    fs::path config = dir / "weipian.yaml";

    void SetUp() override {
        GDALAllRegister();
        write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
        write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);  // one 600 m² roof
        write_text(config,
                   "county: {name: 稷山县, code: \"140824\"}\n"
                   "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n"
                   "  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"
                   "output: {dir: out}\noverlay: {area_crs: \"EPSG:4546\"}\n");
    }

    test::CliResult run(const std::string& args = "") {
        return run_cli("-q run --config " + q(config) + " " + args, dir.path());
    }

    // Refused before any work: the exit code, one line starting "weipian: error: " holding
    // `fragment`, nothing on standard output, no temporary left.
    void expect_refused(const test::CliResult& r, int exit_code, const std::string& fragment) {
        EXPECT_EQ(r.exit_code, exit_code) << r.err;
        EXPECT_EQ(r.err.rfind("weipian: error: ", 0), 0u) << r.err;
        EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(leftovers(dir.path()), std::vector<std::string>{});
    }

    // A GeoPackage with a layer "roads" of one line, as a county's own data.
    void write_roads(const fs::path& path) {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GPKG")->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRSpatialReference srs;
        srs.importFromEPSG(4546);
        OGRLayer* layer = ds->CreateLayer("roads", &srs, wkbLineString, nullptr);
        OGRFieldDefn name("name", OFTString);
        layer->CreateField(&name);
        OGRFeature f(layer->GetLayerDefn());
        f.SetField("name", "G108");
        OGRLineString line;
        line.addPoint(kX0, kY0);
        line.addPoint(kX0 + 100, kY0 - 100);
        f.SetGeometry(&line);
        ASSERT_EQ(layer->CreateFeature(&f), OGRERR_NONE);
    }

    // A 40 × 40 mask with two components under 4-connectivity.
    void write_mask(const fs::path& path) {
        cv::Mat mask(40, 40, CV_8UC1, cv::Scalar(0));
        mask(cv::Rect(5, 5, 10, 10)).setTo(1);
        mask.at<std::uint8_t>(15, 15) = 1;
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), 40, 40, 1, GDT_Byte, nullptr));
        double gt[6] = {kX0, 0.5, 0, kY0, 0, -0.5};
        ds->SetGeoTransform(gt);
        OGRSpatialReference srs;
        srs.importFromEPSG(4546);
        ds->SetSpatialRef(&srs);
        ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 40, 40, mask.data, 40, 40, GDT_Byte, 0, 0), CE_None);
    }
};

std::int64_t feature_count(const fs::path& gpkg, const char* layer) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(gpkg.c_str(), GDAL_OF_VECTOR));
    if (!ds) return -1;
    OGRLayer* l = ds->GetLayerByName(layer);
    return l ? l->GetFeatureCount() : -1;
}

// ---- the output folder ---------------------------------------------------------------------

TEST_F(OutputSafety, AFolderHoldingOtherFilesIsRefusedAndTheyStayByteIdentical) {
    fs::create_directories(dir / "out" / "fieldwork");
    write_text(dir / "out" / "fieldwork" / "notes.txt", "村东 3 宗已核查，照片见相机。\n");
    write_text(dir / "out" / "county.yaml", "county: {name: 稷山县}\n");
    for (const std::string flags : {"", "--overwrite"}) {
        const auto r = run(flags);
        expect_refused(r, 3, "output: '" + (dir / "out").string() + "' holds files weipian did not write (county.yaml, fieldwork)");
        EXPECT_NE(r.err.find("weipian never deletes them: give --out (output.dir) a new or empty folder"), std::string::npos) << r.err;
        EXPECT_EQ(read_text(dir / "out" / "fieldwork" / "notes.txt"), "村东 3 宗已核查，照片见相机。\n");
        EXPECT_EQ(read_text(dir / "out" / "county.yaml"), "county: {name: 稷山县}\n");
        EXPECT_FALSE(fs::exists(dir / "out" / "parcels.gpkg"));
    }
}

TEST_F(OutputSafety, AnExistingFileNamedAsTheOutputFolderIsRefusedAndKept) {
    write_text(dir / "report.docx", "the county's own report");
    const auto r = run("--out " + q(dir / "report.docx"));
    expect_refused(r, 3, "output: '" + (dir / "report.docx").string() + "' exists and is not a folder");
    EXPECT_EQ(read_text(dir / "report.docx"), "the county's own report");
}

TEST_F(OutputSafety, AnOutputFolderHoldingTheInputTilesIsRefusedAndTheTilesKept) {
    fs::create_directories(dir / "tiles");
    fs::rename(dir / "before.tif", dir / "tiles" / "before.tif");
    fs::rename(dir / "after.tif", dir / "tiles" / "after.tif");
    const std::string before = read_text(dir / "tiles" / "before.tif"), after = read_text(dir / "tiles" / "after.tif");
    write_text(config,
               "epochs:\n  before: {tiles: [\"tiles/b*.tif\"], date: \"2023-04-10\"}\n"
               "  after: {tiles: [\"tiles/a*.tif\"], date: \"2023-09-18\"}\n"
               "output: {dir: tiles}\noverlay: {area_crs: \"EPSG:4546\"}\n");
    const auto r = run();
    expect_refused(r, 3, "output: the input tile (before) '" + (dir / "tiles" / "before.tif").string() +
                             "' lies inside the output folder '" + (dir / "tiles").string() + "'");
    EXPECT_EQ(read_text(dir / "tiles" / "before.tif"), before);
    EXPECT_EQ(read_text(dir / "tiles" / "after.tif"), after);
}

TEST_F(OutputSafety, TheConfigInsideTheOutputFolderIsRefused) {
    fs::create_directories(dir / "out");
    write_text(dir / "out" / "weipian.yaml",
               "epochs:\n  before: {tiles: [../before.tif], date: \"2023-04-10\"}\n"
               "  after: {tiles: [../after.tif], date: \"2023-09-18\"}\n"
               "output: {dir: .}\noverlay: {area_crs: \"EPSG:4546\"}\n");
    config = dir / "out" / "weipian.yaml";
    const auto r = run();
    expect_refused(r, 3, "output: the config file '" + config.string() + "' lies inside the output folder");
    EXPECT_TRUE(fs::exists(config));
}

TEST_F(OutputSafety, EnforcementOverlayLayersInsideTheOutputFolderAreRefused) {
    fs::create_directories(dir / "out");
    const std::string head = "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n"
                             "  after: {tiles: [after.tif], date: \"2023-09-18\"}\noutput: {dir: out}\n";
    write_text(config, head + "overlay: {redline: {path: out/sthx.gpkg}}\n");
    expect_refused(run(), 3, "output: the ecological-redline layer (overlay.redline.path) '" + (dir / "out" / "sthx.gpkg").string() +
                                 "' lies inside the output folder");
    write_text(config, head + "overlay: {approvals: [{kind: 供地, path: a.gpkg, number_field: G}, "
                              "{kind: 批准用地, path: out/pzyd.gpkg, number_field: PZWH}]}\n");
    expect_refused(run(), 3, "output: the approval layer (overlay.approvals[2].path) '" + (dir / "out" / "pzyd.gpkg").string() +
                                 "' lies inside the output folder");
}

TEST_F(OutputSafety, ALedgerInsideTheOutputFolderIsRefusedAndKeepsItsHistory) {
    // A ledger fed by an earlier run, in the folder the next run is pointed at.
    const fs::path ledger = dir / "keep" / "ledger.gpkg";
    ASSERT_EQ(run("--out " + q(dir / "first") + " --ledger " + q(ledger)).exit_code, 0);
    ASSERT_EQ(feature_count(ledger, "cases"), 1);
    const std::string bytes = read_text(ledger);
    const auto r = run("--out " + q(dir / "keep") + " --ledger " + q(ledger));
    expect_refused(r, 3, "output: the ledger (--ledger / ledger.path) '" + ledger.string() + "' lies inside the output folder '" +
                             (dir / "keep").string() + "'");
    EXPECT_EQ(read_text(ledger), bytes);
    EXPECT_EQ(feature_count(ledger, "cases"), 1);
}

TEST_F(OutputSafety, ALedgerInANewOutputFolderIsRefusedBeforeAnythingIsCreated) {
    const auto r = run("--out " + q(dir / "x") + " --ledger " + q(dir / "x" / "ledger.gpkg"));
    expect_refused(r, 3, "lies inside the output folder '" + (dir / "x").string() + "'");
    EXPECT_FALSE(fs::exists(dir / "x"));
}

TEST_F(OutputSafety, ARerunReplacesAPreviousOutputOnlyWithOverwrite) {
    fs::create_directories(dir / "out");  // an empty folder receives the output
    ASSERT_EQ(run().exit_code, 0);
    const auto marker = nlohmann::json::parse(read_text(dir / "out" / ".weipian-output"));
    EXPECT_EQ(marker["weipian"], WEIPIAN_VERSION);
    std::vector<std::string> names;
    for (const auto& f : marker["files"]) names.push_back(f["name"]);
    EXPECT_EQ(names, (std::vector<std::string>{"cards/unassigned.html", "chips/1_hsx.jpg", "chips/1_qsx.jpg", "chips/sheet.jpg", "index.html",
                                               "overview.jpg", "parcels.gpkg", "parcels.kmz", "run.json", "summary.txt",
                                               "townships.csv"}));
    const std::string first = read_text(dir / "out" / "run.json");

    const auto refused = run();
    expect_refused(refused, 3,
                   "output: '" + (dir / "out").string() +
                       "' holds a previous weipian output; pass --overwrite to replace it, or give --out (output.dir) another folder");
    EXPECT_EQ(read_text(dir / "out" / "run.json"), first);

    const auto replaced = run("--overwrite");
    ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
    EXPECT_NE(replaced.out.find("1 candidate parcels, 0.9 亩"), std::string::npos) << replaced.out;
    EXPECT_EQ(feature_count(dir / "out" / "parcels.gpkg", "parcels"), 1);
    EXPECT_EQ(leftovers(dir.path()), std::vector<std::string>{});
}

// ---- a failure mid-write -------------------------------------------------------------------

// Runs weipian with writes to files limited to `kib` KiB (a full disk: EFBIG, SIGXFSZ
// ignored); its standard error goes through a pipe, which the limit does not touch.
test::CliResult run_on_full_disk(const std::string& args, const fs::path& scratch, int kib) {
    const fs::path script = scratch / "full.sh", err = scratch / "full.stderr", code = scratch / "full.code";
    write_text(script, "( trap '' XFSZ; ulimit -f " + std::to_string(kib) + "; exec '" + WEIPIAN_BINARY + "' " + args +
                           " >/dev/null )\necho $? >'" + code.string() + "'\n");
    const std::string command = "bash '" + script.string() + "' 2>&1 | cat >'" + err.string() + "'";
    EXPECT_EQ(std::system(command.c_str()), 0);
    test::CliResult r;
    r.exit_code = std::stoi(read_text(code));
    r.err = read_text(err);
    fs::remove(script);
    fs::remove(err);
    fs::remove(code);
    return r;
}

TEST_F(OutputSafety, AFullDiskLeavesNoOutputNoTemporaryAndThePreviousOutputWhole) {
    ASSERT_EQ(run().exit_code, 0);
    const std::string previous = read_text(dir / "out" / "parcels.gpkg");
    const auto r = run_on_full_disk("-q run --overwrite --config " + q(config), dir.path(), 0);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("weipian: error: outputs: cannot write '"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(dir / "out" / "parcels.gpkg"), previous);
    EXPECT_EQ(leftovers(dir.path()), std::vector<std::string>{});
}

TEST_F(OutputSafety, DetectOnAFullDiskLeavesNoHalfWrittenMask) {
    const auto r = run_on_full_disk("-q detect --before " + q(dir / "before.tif") + " --after " + q(dir / "after.tif") +
                                        " --out " + q(dir / "masks" / "mask.tif"),
                                    dir.path(), 0);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("detect: cannot"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "masks" / "mask.tif"));
    EXPECT_EQ(leftovers(dir.path()), std::vector<std::string>{});
}

TEST_F(OutputSafety, PolygonizeOnAFullDiskLeavesNoHalfWrittenGeoPackage) {
    write_mask(dir / "mask.tif");
    const auto r = run_on_full_disk("-q polygonize " + q(dir / "mask.tif") + " --out " + q(dir / "p.gpkg"), dir.path(), 0);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("polygonize: cannot"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "p.gpkg"));
    EXPECT_EQ(leftovers(dir.path()), std::vector<std::string>{});
}

// With a little room, the GeoPackage is created and its features written, and closing it (GDAL
// adds its extension tables then) is what fails.
TEST_F(OutputSafety, PolygonizeOnADiskThatFillsWhileClosingNamesTheFile) {
    write_mask(dir / "mask.tif");
    std::string finish;
    for (int kib = 4; kib <= 256 && finish.empty(); kib += 4) {
        const auto r = run_on_full_disk("-q polygonize " + q(dir / "mask.tif") + " --out " + q(dir / "p.gpkg"), dir.path(), kib);
        if (r.exit_code == 0) fs::remove(dir / "p.gpkg");
        if (r.err.find("polygonize: cannot finish '") != std::string::npos) {
            finish = r.err;
            EXPECT_EQ(r.exit_code, 3) << r.err;
        }
    }
    EXPECT_EQ(finish, "weipian: error: polygonize: cannot finish '" + (dir / "p.gpkg").string() + "'; check free space on its disk\n");
    EXPECT_FALSE(fs::exists(dir / "p.gpkg"));
    EXPECT_EQ(leftovers(dir.path()), std::vector<std::string>{});
}

TEST_F(OutputSafety, PolygonizeOverTheMaskItselfIsRefused) {
    write_mask(dir / "mask.tif");
    const std::string bytes = read_text(dir / "mask.tif");
    const auto r = run_cli("-q polygonize " + q(dir / "mask.tif") + " --out " + q(dir / "mask.tif"), dir.path());
    expect_refused(r, 3, "polygonize: --out '" + (dir / "mask.tif").string() + "' is the mask itself; give another file");
    EXPECT_EQ(read_text(dir / "mask.tif"), bytes);
}

// A bad WEIPIAN_SIMD is the user's setting (exit 2 and the kernel's words), not an internal error.
TEST_F(OutputSafety, AnUnknownSimdPathIsAConfigurationError) {
    const std::string detect = "-q detect --before " + q(dir / "before.tif") + " --after " + q(dir / "after.tif") + " --out " +
                               q(dir / "mask.tif");
    for (const std::string args : {detect, "-q run --config " + q(config)}) {
        const auto r = run_cli(args, dir.path(), "WEIPIAN_SIMD=bogus");
        expect_refused(r, 2,
                       "weipian: error: detect: the environment variable WEIPIAN_SIMD: 'bogus' is not one of auto, scalar, "
                       "sse2, avx2; unset WEIPIAN_SIMD or set it to one of those");
    }
    EXPECT_FALSE(fs::exists(dir / "mask.tif"));
}

TEST_F(OutputSafety, DetectOverAnInputTileIsRefused) {
    const std::string bytes = read_text(dir / "after.tif");
    const auto r = run_cli("-q detect --before " + q(dir / "before.tif") + " --after " + q(dir / "after.tif") + " --out " +
                               q(dir / "after.tif"),
                           dir.path());
    expect_refused(r, 3, "detect: --out '" + (dir / "after.tif").string() + "' is the input '" + (dir / "after.tif").string() +
                             "'; give another file for the mask");
    EXPECT_EQ(read_text(dir / "after.tif"), bytes);
}

// ---- polygonize into an existing GeoPackage ------------------------------------------------

TEST_F(OutputSafety, PolygonizeIntoAGeoPackageKeepsItsOtherLayers) {
    write_mask(dir / "mask.tif");
    write_roads(dir / "county.gpkg");
    const std::string args = "-q polygonize " + q(dir / "mask.tif") + " --out " + q(dir / "county.gpkg");
    const auto first = run_cli(args, dir.path());
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(feature_count(dir / "county.gpkg", "roads"), 1);
    EXPECT_EQ(feature_count(dir / "county.gpkg", "parcels"), 2);

    const auto again = run_cli(args, dir.path());
    expect_refused(again, 3,
                   "polygonize: '" + (dir / "county.gpkg").string() +
                       "' already has a layer 'parcels'; pass --overwrite to replace that layer (the other layers are kept)");

    const auto replaced = run_cli(args + " --overwrite --connectivity 8", dir.path());
    ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
    EXPECT_EQ(feature_count(dir / "county.gpkg", "roads"), 1);
    EXPECT_EQ(feature_count(dir / "county.gpkg", "parcels"), 1);  // the diagonal pixel joins the block
    EXPECT_EQ(leftovers(dir.path()), std::vector<std::string>{});
}

TEST_F(OutputSafety, PolygonizeRefusesToReplaceAFileThatIsNotAGeoPackage) {
    write_mask(dir / "mask.tif");
    write_text(dir / "notes.gpkg", "not a GeoPackage at all");
    const auto r = run_cli("-q polygonize " + q(dir / "mask.tif") + " --out " + q(dir / "notes.gpkg"), dir.path());
    expect_refused(r, 3, "polygonize: '" + (dir / "notes.gpkg").string() +
                             "' exists and is not a GeoPackage; weipian never replaces what it did not write: give --out a new "
                             "file or a GeoPackage to add the layer to");
    EXPECT_EQ(read_text(dir / "notes.gpkg"), "not a GeoPackage at all");
}

// ---- exit codes ----------------------------------------------------------------------------

TEST_F(OutputSafety, ACommandLineThatDoesNotParseExits2WithOneLineAndAHint) {
    const auto r = run("--bogus");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err.rfind("weipian: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("see `weipian --help` or `weipian run --help`"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out"));

    const auto missing = run_cli("polygonize", dir.path());  // a required argument missing
    EXPECT_EQ(missing.exit_code, 2) << missing.err;
    EXPECT_EQ(run_cli("", dir.path()).exit_code, 2);  // no command
    EXPECT_EQ(run_cli("run --threads many --config x.yaml", dir.path()).exit_code, 2);

    const auto help = run_cli("--help", dir.path());
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("polygonize"), std::string::npos);
    EXPECT_EQ(run_cli("run --help", dir.path()).exit_code, 0);
    EXPECT_EQ(run_cli("--version", dir.path()).exit_code, 0);
}

TEST_F(OutputSafety, AFolderWhereTheMaskFileShouldGoExits3WithThePath) {
    fs::create_directories(dir / "mask.tif");
    write_text(dir / "mask.tif" / "keep.txt", "mine");
    const auto r = run_cli("-q detect --before " + q(dir / "before.tif") + " --after " + q(dir / "after.tif") + " --out " +
                               q(dir / "mask.tif"),
                           dir.path());
    expect_refused(r, 3, "detect: '" + (dir / "mask.tif").string() + "' is a folder, not a file");
    EXPECT_EQ(read_text(dir / "mask.tif" / "keep.txt"), "mine");
}

TEST_F(OutputSafety, AnUnusableFolderExits3WithThePath) {
    write_mask(dir / "mask.tif");
    write_text(dir / "plain", "a file");
    const auto r = run_cli("-q polygonize " + q(dir / "mask.tif") + " --out " + q(dir / "plain" / "sub" / "p.gpkg"), dir.path());
    expect_refused(r, 3, "polygonize: '" + (dir / "plain").string() + "' is a file, not a folder");
    const auto report = run_cli("-q ledger report --ledger " + q(dir / "none.gpkg") + " --out " + q(dir / "plain" / "r.txt"), dir.path());
    expect_refused(report, 3, "report: '" + (dir / "plain").string() + "' is a file, not a folder");
    EXPECT_EQ(read_text(dir / "plain"), "a file");
}

TEST_F(OutputSafety, AnExportOrReportOverTheLedgerItselfIsRefused) {
    const fs::path ledger = dir / "ledger.gpkg";
    ASSERT_EQ(run("--out " + q(dir / "o") + " --ledger " + q(ledger)).exit_code, 0);
    const std::string bytes = read_text(ledger);
    const auto r = run_cli("-q ledger export --ledger " + q(ledger) + " --out " + q(ledger), dir.path());
    expect_refused(r, 3, "export: --out '" + ledger.string() + "' is the ledger itself");
    const auto report = run_cli("-q ledger report --ledger " + q(ledger) + " --out " + q(ledger), dir.path());
    expect_refused(report, 3, "report: --out '" + ledger.string() + "' is the ledger itself");
    EXPECT_EQ(read_text(ledger), bytes);
}

}  // namespace
}  // namespace weipian
