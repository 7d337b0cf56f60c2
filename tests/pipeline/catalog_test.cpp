// The imagery catalog: dates from metadata and names, the files an inbox scan refuses (and
// their one-line messages), rescans that open nothing, footprints, coverage queries, nights,
// and a catalog living beside a ledger in its GeoPackage.
#include "pipeline/catalog.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include <sys/stat.h>
#include <sys/time.h>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/detect.hpp"
#include "pipeline/nightly.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

const fs::path kSource = WEIPIAN_SOURCE_DIR;
const fs::path kHsx = kSource / "sample_tiles" / "hsx";
const fs::path kQsx = kSource / "sample_tiles" / "qsx";

CountyConfig jishan() { return CountyConfig{"稷山县", "140824"}; }

NightlyConfig nightly_for(const fs::path& inbox) {
    NightlyConfig n;
    n.inbox = {inbox.string()};
    return n;
}

// A 16×16 one-band GeoTIFF at (x0, y0) in `epsg` (0 = no CRS), with default-domain metadata.
void write_tile(const fs::path& path, int epsg, const std::map<std::string, std::string>& metadata = {}, double x0 = 497000,
                double y0 = 3941000) {
    GDALAllRegister();
    fs::create_directories(path.parent_path());
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
    GDALDatasetUniquePtr ds(driver->Create(path.c_str(), 16, 16, 1, GDT_Byte, nullptr));
    double gt[6] = {x0, 2, 0, y0, 0, -2};
    ds->SetGeoTransform(gt);
    if (epsg) {
        OGRSpatialReference srs;
        srs.importFromEPSG(epsg);
        ds->SetSpatialRef(&srs);
    }
    for (const auto& [key, value] : metadata) ds->SetMetadataItem(key.c_str(), value.c_str());
    std::vector<unsigned char> pixels(256, 7);
    ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 16, 16, pixels.data(), 16, 16, GDT_Byte, 0, 0), CE_None);
}

void set_mtime(const fs::path& path, std::int64_t seconds) {
    struct timeval times[2] = {{static_cast<time_t>(seconds), 0}, {static_cast<time_t>(seconds), 0}};
    ASSERT_EQ(::utimes(path.c_str(), times), 0);
}

std::int64_t mtime_of(const fs::path& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_mtime;
}

std::vector<std::string> paths_of(const std::vector<CatalogTile>& tiles) {
    std::vector<std::string> out;
    for (const auto& t : tiles) out.push_back(fs::path(t.path).filename().string());
    return out;
}

std::unique_ptr<OGRPolygon> lonlat_box(double lon0, double lat0, double lon1, double lat1) {
    auto ring = std::make_unique<OGRLinearRing>();
    ring->addPoint(lon0, lat0);
    ring->addPoint(lon1, lat0);
    ring->addPoint(lon1, lat1);
    ring->addPoint(lon0, lat1);
    ring->addPoint(lon0, lat0);
    auto polygon = std::make_unique<OGRPolygon>();
    polygon->addRingDirectly(ring.release());
    return polygon;
}

// (x, y) in EPSG:4546 as CGCS2000 lon/lat.
std::pair<double, double> to_lonlat(double x, double y) {
    OGRSpatialReference gk, ll;
    gk.importFromEPSG(4546);
    ll.importFromEPSG(4490);
    gk.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    ll.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&gk, &ll));
    ct->Transform(1, &x, &y);
    return {x, y};
}

// ---- dates

TEST(TileDate, FromAcquisitionDateMetadata) {
    TempDir dir;
    write_tile(dir / "scene.tif", 4546, {{"ACQUISITION_DATE", "2023-09-18"}});
    std::string source;
    EXPECT_EQ(tile_date(dir / "scene.tif", NightlyConfig{}, &source), "2023-09-18");
    EXPECT_EQ(source, "metadata ACQUISITION_DATE");
    // The sample tiles carry it (and a TIFFTAG_DATETIME, which comes after it).
    EXPECT_EQ(tile_date(kHsx / "HSX_20230918_r0c0.tif", NightlyConfig{}, &source), "2023-09-18");
    EXPECT_EQ(source, "metadata ACQUISITION_DATE");
}

TEST(TileDate, FromTheImageryDomainOfAMetadataFile) {
    // A DigitalGlobe .IMD beside the raster: GDAL exposes IMAGERY/ACQUISITIONDATETIME and SATELLITEID.
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    write_tile(inbox / "scene.tif", 4546, {{"ACQUISITION_DATE", "2023-01-01"}});
    test::write_text(inbox / "scene.IMD",
                     "version = \"28.3\";\nBEGIN_GROUP = IMAGE_1\n\tsatId = \"WV03\";\n"
                     "\tfirstLineTime = 2023-09-18T03:18:05.000000Z;\nEND_GROUP = IMAGE_1\nEND;\n");
    std::string source;
    EXPECT_EQ(tile_date(inbox / "scene.tif", NightlyConfig{}, &source), "2023-09-18");
    EXPECT_EQ(source, "metadata IMAGERY/ACQUISITIONDATETIME");
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    const auto registered = catalog.scan(nightly_for(inbox)).registered;
    ASSERT_EQ(registered.size(), 1u);
    EXPECT_EQ(registered[0].sensor, "WV03");
    EXPECT_EQ(registered[0].date, "2023-09-18");
}

TEST(TileDate, FromTiffDateTime) {
    TempDir dir;
    write_tile(dir / "scene.tif", 4546, {{"TIFFTAG_DATETIME", "2023:04:10 11:22:33"}});
    std::string source;
    EXPECT_EQ(tile_date(dir / "scene.tif", NightlyConfig{}, &source), "2023-04-10");
    EXPECT_EQ(source, "metadata TIFFTAG_DATETIME");
}

TEST(TileDate, FromDateAcquiredBeforeTheName) {
    TempDir dir;
    write_tile(dir / "GF2_PMS1_E111.0_N35.6_20230918_L1A0001234567.tif", 4546, {{"DATE_ACQUIRED", "2023-08-01T02:03:04Z"}});
    std::string source;
    EXPECT_EQ(tile_date(dir / "GF2_PMS1_E111.0_N35.6_20230918_L1A0001234567.tif", NightlyConfig{}, &source), "2023-08-01");
    EXPECT_EQ(source, "metadata DATE_ACQUIRED");
}

TEST(TileDate, FromAGaofenSceneName) {
    TempDir dir;
    const fs::path scene = dir / "GF2_PMS1_E111.0_N35.6_20230918_L1A0001234567.tif";
    write_tile(scene, 4546);
    std::string source;
    EXPECT_EQ(tile_date(scene, NightlyConfig{}, &source), "2023-09-18");
    EXPECT_EQ(source, "file name");
    // A dashed date is the default's second pattern.
    write_tile(dir / "jishan 2024-03-05 mosaic.tif", 4546);
    EXPECT_EQ(tile_date(dir / "jishan 2024-03-05 mosaic.tif", NightlyConfig{}, &source), "2024-03-05");
    // A configured pattern replaces the defaults.
    NightlyConfig custom;
    custom.date_patterns = {"^D([0-9]{8})"};
    write_tile(dir / "D20220601X.tif", 4546);
    EXPECT_EQ(tile_date(dir / "D20220601X.tif", custom, &source), "2022-06-01");
    EXPECT_EQ(tile_date(scene, custom), "");
}

TEST(TileDate, UndatableWhenNeitherMetadataNorNameHasOne) {
    TempDir dir;
    write_tile(dir / "scene_r0c0.tif", 4546);
    std::string source = "x";
    EXPECT_EQ(tile_date(dir / "scene_r0c0.tif", NightlyConfig{}, &source), "");
    EXPECT_EQ(source, "");
    // Eight digits that are no day on the calendar are no date.
    write_tile(dir / "GF2_20231345_x.tif", 4546);
    EXPECT_EQ(tile_date(dir / "GF2_20231345_x.tif", NightlyConfig{}), "");
}

// ---- scanning the inbox

TEST(Catalog, ScanRegistersTilesWithDateSensorBandsAndFootprint) {
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    fs::create_directories(inbox / "night1");
    fs::copy_file(kHsx / "HSX_20230918_r0c0.tif", inbox / "night1" / "HSX_20230918_r0c0.tif");
    write_tile(inbox / "GF2_PMS1_E111.0_N35.6_20230918_L1A0001234567.TIF", 4546, {}, 497400, 3941000);
    write_tile(inbox / "notes.txt", 4546);  // not an inbox extension
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    const ScanResult scan = catalog.scan(nightly_for(inbox));
    ASSERT_EQ(scan.registered.size(), 2u);
    EXPECT_TRUE(scan.issues.empty());
    EXPECT_EQ(scan.unchanged, 0);

    const auto tiles = catalog.tiles();
    ASSERT_EQ(tiles.size(), 2u);
    const CatalogTile& gf2 = tiles[0];  // paths sorted: GF2_… before night1/…
    EXPECT_EQ(fs::path(gf2.path).filename(), "GF2_PMS1_E111.0_N35.6_20230918_L1A0001234567.TIF");
    EXPECT_EQ(gf2.date, "2023-09-18");
    EXPECT_EQ(gf2.date_source, "file name");
    EXPECT_EQ(gf2.sensor, "GF2");
    EXPECT_EQ(gf2.bands, 1);
    EXPECT_EQ(gf2.crs, "EPSG:4546");
    EXPECT_DOUBLE_EQ(gf2.pixel_size, 2.0);
    EXPECT_FALSE(gf2.base);
    EXPECT_EQ(gf2.night, 0);

    const CatalogTile& hsx = tiles[1];
    EXPECT_EQ(hsx.path, (inbox / "night1" / "HSX_20230918_r0c0.tif").string());
    EXPECT_EQ(hsx.size, static_cast<std::int64_t>(fs::file_size(kHsx / "HSX_20230918_r0c0.tif")));
    EXPECT_EQ(hsx.mtime, mtime_of(inbox / "night1" / "HSX_20230918_r0c0.tif"));
    EXPECT_EQ(hsx.digest, file_sha256(kHsx / "HSX_20230918_r0c0.tif"));
    EXPECT_EQ(hsx.digest.size(), 64u);
    EXPECT_EQ(hsx.date, "2023-09-18");
    EXPECT_EQ(hsx.sensor, "GF-2-like (synthetic)");  // the SENSOR metadata item
    EXPECT_EQ(hsx.bands, 4);
    EXPECT_EQ(hsx.registered_at.size(), 20u);

    // Footprint: x 497000–497320, y 3940680–3941000 in EPSG:4546, about 110.97°E 35.60°N.
    ASSERT_TRUE(hsx.footprint);
    OGREnvelope env;
    hsx.footprint->getEnvelope(&env);
    const auto [w_lon, s_lat] = to_lonlat(497000, 3940680);
    const auto [e_lon, n_lat] = to_lonlat(497320, 3941000);
    const auto [nw_lon, nw_lat] = to_lonlat(497000, 3941000);
    const auto [se_lon, se_lat] = to_lonlat(497320, 3940680);
    EXPECT_NEAR(env.MinX, std::min(w_lon, nw_lon), 1e-6);
    EXPECT_NEAR(env.MaxX, std::max(e_lon, se_lon), 1e-6);
    EXPECT_NEAR(env.MinY, std::min(s_lat, se_lat), 1e-6);
    EXPECT_NEAR(env.MaxY, std::max(n_lat, nw_lat), 1e-6);
    EXPECT_NEAR(env.MinX, 110.96690, 1e-4);
    EXPECT_NEAR(env.MaxY, 35.59855, 1e-4);
    EXPECT_NEAR(env.MaxX - env.MinX, 0.00353, 1e-4);
    EXPECT_NEAR(env.MaxY - env.MinY, 0.00288, 1e-4);
}

TEST(Catalog, RefusesCorruptUndatableUnknownCrsAndDuplicateFilesWithOneLineEach) {
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    fs::create_directories(inbox);
    fs::copy_file(kHsx / "HSX_20230918_r1c0.tif", inbox / "HSX_20230918_r1c0.tif");
    // Truncated: the first half of a sample tile.
    {
        const std::string bytes = test::read_text(kHsx / "HSX_20230918_r1c1.tif");
        test::write_text(inbox / "HSX_20230918_r1c1_truncated.tif", bytes.substr(0, bytes.size() / 2));
    }
    test::write_text(inbox / "readme_20230918.tif", "this is a delivery note, not an image\n");
    write_tile(inbox / "scene_r9c9.tif", 4546);                                       // undatable
    write_tile(inbox / "nocrs_20230918.tif", 0, {{"ACQUISITION_DATE", "2023-09-18"}});  // no CRS
    fs::create_directories(inbox / "z_copies");
    fs::copy_file(kHsx / "HSX_20230918_r1c0.tif", inbox / "z_copies" / "copy_of_r1c0.tif");

    test::LogCapture log;
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    const ScanResult scan = catalog.scan(nightly_for(inbox));
    ASSERT_EQ(scan.registered.size(), 1u);
    EXPECT_EQ(fs::path(scan.registered[0].path).filename(), "HSX_20230918_r1c0.tif");
    ASSERT_EQ(scan.issues.size(), 5u);
    std::map<std::string, CatalogIssue> by_name;
    for (const auto& issue : scan.issues) by_name[fs::path(issue.path).filename().string()] = issue;

    const auto& truncated = by_name.at("HSX_20230918_r1c1_truncated.tif");
    EXPECT_EQ(truncated.kind, CatalogIssue::Kind::Corrupt);
    EXPECT_CONTAINS(truncated.message, "inbox: '" + (inbox / "HSX_20230918_r1c1_truncated.tif").string() + "' cannot be read to its end (band ");
    EXPECT_CONTAINS(truncated.message, "it is truncated or damaged: replace it with a complete copy (it is tried again when it changes)");

    const auto& text = by_name.at("readme_20230918.tif");
    EXPECT_EQ(text.kind, CatalogIssue::Kind::Corrupt);
    EXPECT_CONTAINS(text.message, "inbox: '" + (inbox / "readme_20230918.tif").string() + "' is not a raster GDAL can read (");
    EXPECT_CONTAINS(text.message, "); replace it with a complete copy (it is tried again when it changes)");

    const auto& undatable = by_name.at("scene_r9c9.tif");
    EXPECT_EQ(undatable.kind, CatalogIssue::Kind::Undatable);
    EXPECT_EQ(undatable.message, "inbox: '" + (inbox / "scene_r9c9.tif").string() +
                                     "' is undatable: no acquisition date in its metadata or file name; rename it with the date (e.g. "
                                     "GF2_PMS1_…_20230918_….tif), set nightly.date_patterns to match its name, or add the metadata "
                                     "(gdal_edit.py -mo ACQUISITION_DATE=2023-09-18)");

    const auto& nocrs = by_name.at("nocrs_20230918.tif");
    EXPECT_EQ(nocrs.kind, CatalogIssue::Kind::UnknownCrs);
    EXPECT_EQ(nocrs.message, "inbox: '" + (inbox / "nocrs_20230918.tif").string() +
                                 "' has an unknown CRS (no coordinate system); give it one, e.g. gdal_edit.py -a_srs EPSG:4546 (it is tried again when it changes)");

    const auto& copy = by_name.at("copy_of_r1c0.tif");
    EXPECT_EQ(copy.kind, CatalogIssue::Kind::Duplicate);
    EXPECT_EQ(copy.message, "inbox: '" + (inbox / "z_copies" / "copy_of_r1c0.tif").string() + "' is a duplicate of '" +
                                (inbox / "HSX_20230918_r1c0.tif").string() +
                                "' (the same bytes), which is registered; it is left alone: remove the copy from the inbox");

    // Each is a warning in the log, and recorded as skipped.
    for (const auto& issue : scan.issues) EXPECT_CONTAINS(log.text(), "warning: " + issue.message);
    const auto skipped = catalog.skipped();
    ASSERT_EQ(skipped.size(), 5u);
    EXPECT_EQ(skipped[0].path, (inbox / "HSX_20230918_r1c1_truncated.tif").string());
    EXPECT_EQ(skipped[0].message, truncated.message);
    EXPECT_STREQ(issue_kind_name(skipped[0].kind), "corrupt");

    // The next scan does not look at them again: counted as skipped before, no new warning.
    test::LogCapture again_log;
    const ScanResult again = catalog.scan(nightly_for(inbox));
    EXPECT_TRUE(again.registered.empty());
    EXPECT_TRUE(again.issues.empty());
    EXPECT_EQ(again.unchanged, 6);
    EXPECT_EQ(again.skipped_before, 5);
    EXPECT_EQ(again_log.text().find("warning"), std::string::npos);
    EXPECT_CONTAINS(again_log.text(), "inbox: 5 file(s) skipped on an earlier night are still there, unchanged (tried again when they change)");
}

TEST(Catalog, UnreadableFileIsNamed) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    write_tile(inbox / "locked_20230918.tif", 4546);
    fs::permissions(inbox / "locked_20230918.tif", fs::perms::none);
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    const ScanResult scan = catalog.scan(nightly_for(inbox));
    fs::permissions(inbox / "locked_20230918.tif", fs::perms::owner_all);
    ASSERT_EQ(scan.issues.size(), 1u);
    EXPECT_EQ(scan.issues[0].kind, CatalogIssue::Kind::Unreadable);
    EXPECT_CONTAINS(scan.issues[0].message, "' cannot be read (Permission denied); make it readable by the user that runs weipian");
}

TEST(Catalog, RescanOfUnchangedFilesOpensNothing) {
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    fs::create_directories(inbox);
    for (const char* name : {"HSX_20230918_r0c0.tif", "HSX_20230918_r0c1.tif"}) fs::copy_file(kHsx / name, inbox / name);
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    ASSERT_EQ(catalog.scan(nightly_for(inbox)).registered.size(), 2u);

    // Proof that a known file is not opened: its bytes become garbage of the same size with the
    // same modification time, and the rescan neither reads it (no issue) nor registers it.
    const fs::path victim = inbox / "HSX_20230918_r0c0.tif";
    const auto size = fs::file_size(victim);
    const auto mtime = mtime_of(victim);
    test::write_text(victim, std::string(size, 'x'));
    set_mtime(victim, mtime);
    const ScanResult again = catalog.scan(nightly_for(inbox));
    EXPECT_TRUE(again.registered.empty());
    EXPECT_TRUE(again.issues.empty());
    EXPECT_EQ(again.unchanged, 2);
    EXPECT_EQ(again.skipped_before, 0);
    // And a reopened catalog (the next night) agrees.
    auto reopened = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    EXPECT_EQ(reopened.scan(nightly_for(inbox)).unchanged, 2);
    EXPECT_EQ(reopened.tiles().size(), 2u);
}

TEST(Catalog, SkippedFileThatChangedIsTriedAgain) {
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    write_tile(inbox / "scene_r0c0.tif", 4546);
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    const ScanResult first = catalog.scan(nightly_for(inbox));
    ASSERT_EQ(first.issues.size(), 1u);
    EXPECT_EQ(first.issues[0].kind, CatalogIssue::Kind::Undatable);

    // The operator adds the date: the file changes and is registered on the next scan.
    write_tile(inbox / "scene_r0c0.tif", 4546, {{"ACQUISITION_DATE", "2023-09-18"}});
    set_mtime(inbox / "scene_r0c0.tif", mtime_of(inbox / "scene_r0c0.tif") + 5);
    const ScanResult second = catalog.scan(nightly_for(inbox));
    ASSERT_EQ(second.registered.size(), 1u);
    EXPECT_TRUE(second.issues.empty());
    EXPECT_EQ(second.registered[0].date, "2023-09-18");
    EXPECT_TRUE(catalog.skipped().empty());
}

TEST(Catalog, RegisteredFileWithNewBytesIsNotReplaced) {
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    write_tile(inbox / "scene_20230918.tif", 4546);
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    ASSERT_EQ(catalog.scan(nightly_for(inbox)).registered.size(), 1u);
    const std::string digest = catalog.tiles()[0].digest;

    // Only touched: same bytes, new time: nothing to report, and the new time is remembered.
    set_mtime(inbox / "scene_20230918.tif", mtime_of(inbox / "scene_20230918.tif") + 10);
    const ScanResult touched = catalog.scan(nightly_for(inbox));
    EXPECT_TRUE(touched.registered.empty());
    EXPECT_TRUE(touched.issues.empty());
    EXPECT_EQ(catalog.tiles()[0].mtime, mtime_of(inbox / "scene_20230918.tif"));
    EXPECT_EQ(catalog.scan(nightly_for(inbox)).unchanged, 1);

    // New bytes under a registered name.
    write_tile(inbox / "scene_20230918.tif", 4546, {{"NOTE", "reprocessed"}}, 497100);
    set_mtime(inbox / "scene_20230918.tif", mtime_of(inbox / "scene_20230918.tif") + 20);
    const ScanResult changed = catalog.scan(nightly_for(inbox));
    ASSERT_EQ(changed.issues.size(), 1u);
    EXPECT_EQ(changed.issues[0].kind, CatalogIssue::Kind::Changed);
    EXPECT_CONTAINS(changed.issues[0].message, "inbox: '" + (inbox / "scene_20230918.tif").string() + "' changed since it was registered on ");
    EXPECT_CONTAINS(changed.issues[0].message,
                    " (other content); a registered tile is never replaced: deliver the new image under a new file name");
    ASSERT_EQ(catalog.tiles().size(), 1u);
    EXPECT_EQ(catalog.tiles()[0].digest, digest);
    EXPECT_EQ(catalog.scan(nightly_for(inbox)).skipped_before, 1);
}

TEST(Catalog, MissingInboxFolderStopsTheScan) {
    TempDir dir;
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    EXPECT_EQ(test::message_of<InputError>([&] { catalog.scan(nightly_for(dir / "inbox")); }),
              "nightly.inbox: '" + (dir / "inbox").string() +
                  "' is not a folder; create it or mount it, or fix nightly.inbox (relative paths start at the config file's folder)");
}

// ---- the base epoch

TEST(Catalog, RegisterBaseExpandsGlobsAndFallsBackToTheBaseDate) {
    TempDir dir;
    write_tile(dir / "base" / "mosaic_r0c0.tif", 4546);  // no date anywhere
    NightlyConfig nightly;
    nightly.base = {(kQsx / "QSX_*_r0c*.tif").string(), (dir / "base" / "mosaic_r0c0.tif").string()};
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());

    // Without nightly.base_date the undated base tile is refused, naming the key.
    ScanResult first = catalog.register_base(nightly);
    ASSERT_EQ(first.registered.size(), 2u);
    ASSERT_EQ(first.issues.size(), 1u);
    EXPECT_EQ(first.issues[0].message, "nightly.base: '" + (dir / "base" / "mosaic_r0c0.tif").string() +
                                           "' is undatable: no acquisition date in its metadata or file name; rename it with the date "
                                           "(e.g. GF2_PMS1_…_20230918_….tif), set nightly.date_patterns to match its name, or add the "
                                           "metadata (gdal_edit.py -mo ACQUISITION_DATE=2023-09-18), or set nightly.base_date");
    for (const auto& t : first.registered) {
        EXPECT_TRUE(t.base);
        EXPECT_EQ(t.date, "2023-04-10");
    }
    // Set base_date and touch the file: it is tried again and dated from the config.
    nightly.base_date = "2022-12-01";
    set_mtime(dir / "base" / "mosaic_r0c0.tif", mtime_of(dir / "base" / "mosaic_r0c0.tif") + 3);
    ScanResult second = catalog.register_base(nightly);
    ASSERT_EQ(second.registered.size(), 1u);
    EXPECT_EQ(second.registered[0].date, "2022-12-01");
    EXPECT_EQ(second.registered[0].date_source, "nightly.base_date");
    EXPECT_EQ(second.unchanged, 2);
    // Base tiles are never pending.
    EXPECT_TRUE(catalog.pending().empty());

    nightly.base = {(dir / "qsx" / "*.tif").string()};
    EXPECT_EQ(test::message_of<InputError>([&] { catalog.register_base(nightly); }),
              "nightly.base: '" + (dir / "qsx" / "*.tif").string() +
                  "' matches no file; check the pattern (relative paths start at the config file's folder)");
    nightly.base = {(dir / "qsx.tif").string()};
    EXPECT_EQ(test::message_of<InputError>([&] { catalog.register_base(nightly); }),
              "nightly.base: '" + (dir / "qsx.tif").string() +
                  "' does not exist; check nightly.base (relative paths start at the config file's folder)");
}

// ---- queries and nights

TEST(Catalog, IntersectingHonoursPlaceAndDates) {
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    fs::create_directories(inbox);
    for (const char* name : {"HSX_20230918_r0c0.tif", "HSX_20230918_r0c1.tif"}) fs::copy_file(kHsx / name, inbox / name);
    NightlyConfig nightly = nightly_for(inbox);
    nightly.base = {(kQsx / "QSX_*.tif").string()};
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    ASSERT_EQ(catalog.register_base(nightly).registered.size(), 4u);
    ASSERT_EQ(catalog.scan(nightly).registered.size(), 2u);

    // A small square inside r0c0 (x 497100–497150, y 3940800–3940850).
    const auto [lon0, lat0] = to_lonlat(497100, 3940800);
    const auto [lon1, lat1] = to_lonlat(497150, 3940850);
    const auto inside = lonlat_box(lon0, lat0, lon1, lat1);
    EXPECT_EQ(paths_of(catalog.intersecting(*inside)),
              (std::vector<std::string>{"QSX_20230410_r0c0.tif", "HSX_20230918_r0c0.tif"}));
    EXPECT_EQ(paths_of(catalog.intersecting(*inside, "2023-05-01")), (std::vector<std::string>{"HSX_20230918_r0c0.tif"}));
    EXPECT_EQ(paths_of(catalog.intersecting(*inside, "", "2023-05-01")), (std::vector<std::string>{"QSX_20230410_r0c0.tif"}));
    EXPECT_EQ(paths_of(catalog.intersecting(*inside, "2023-09-18", "2023-09-18")), (std::vector<std::string>{"HSX_20230918_r0c0.tif"}));
    EXPECT_TRUE(catalog.intersecting(*inside, "2023-09-19").empty());

    // Across the middle of the scene (the four tiles meet at x 497320, y 3940680).
    const auto [mlon0, mlat0] = to_lonlat(497300, 3940660);
    const auto [mlon1, mlat1] = to_lonlat(497340, 3940700);
    EXPECT_EQ(paths_of(catalog.intersecting(*lonlat_box(mlon0, mlat0, mlon1, mlat1), "", "2023-04-10")),
              (std::vector<std::string>{"QSX_20230410_r0c0.tif", "QSX_20230410_r0c1.tif", "QSX_20230410_r1c0.tif",
                                        "QSX_20230410_r1c1.tif"}));
    // A triangle whose bounding box reaches r0c1 (x ≥ 497320) but whose outline passes north of
    // it (y > 3941000 there): GEOS decides, not only boxes.
    const auto [tx0, ty0] = to_lonlat(497000, 3940800);
    const auto [tx1, ty1] = to_lonlat(497400, 3941100);
    const auto [tx2, ty2] = to_lonlat(497000, 3941100);
    OGRPolygon triangle;
    {
        auto ring = std::make_unique<OGRLinearRing>();
        ring->addPoint(tx0, ty0);
        ring->addPoint(tx1, ty1);
        ring->addPoint(tx2, ty2);
        ring->addPoint(tx0, ty0);
        triangle.addRingDirectly(ring.release());
    }
    EXPECT_EQ(paths_of(catalog.intersecting(triangle, "2023-09-01")), (std::vector<std::string>{"HSX_20230918_r0c0.tif"}));
    // Far away.
    EXPECT_TRUE(catalog.intersecting(*lonlat_box(100, 30, 100.1, 30.1)).empty());
}

TEST(Catalog, NightsBeginFinishAndTheUnfinishedOne) {
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    fs::create_directories(inbox);
    for (const char* name : {"HSX_20230918_r0c0.tif", "HSX_20230918_r0c1.tif"}) fs::copy_file(kHsx / name, inbox / name);
    auto catalog = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
    catalog.scan(nightly_for(inbox));
    const auto pending = catalog.pending();
    ASSERT_EQ(pending.size(), 2u);
    EXPECT_FALSE(catalog.unfinished_night());

    const std::int64_t night = catalog.begin_night("2026-12-02", dir / "out" / "2026-12-02", {pending[0].id, pending[1].id});
    EXPECT_GT(night, 0);
    // Killed here: the night is unfinished and its tiles are still pending.
    {
        auto reopened = ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan());
        const auto unfinished = reopened.unfinished_night();
        ASSERT_TRUE(unfinished);
        EXPECT_EQ(unfinished->id, night);
        EXPECT_EQ(unfinished->night, "2026-12-02");
        EXPECT_EQ(unfinished->folder, (dir / "out" / "2026-12-02").string());
        EXPECT_EQ(unfinished->status, "running");
        EXPECT_EQ(unfinished->tiles, (std::vector<std::int64_t>{pending[0].id, pending[1].id}));
        EXPECT_EQ(unfinished->started_at.size(), 20u);
        EXPECT_EQ(reopened.pending().size(), 2u);
    }
    catalog.finish_night(night, "done", {{"parcels", 7}, {"skipped", nlohmann::json::array({"x.tif"})}});
    EXPECT_FALSE(catalog.unfinished_night());
    EXPECT_TRUE(catalog.pending().empty());
    for (const auto& t : catalog.tiles()) EXPECT_EQ(t.night, night);

    const std::int64_t nothing = catalog.begin_night("2026-12-03", dir / "out" / "2026-12-03", {});
    catalog.finish_night(nothing, "nothing", {{"parcels", 0}});
    const auto nights = catalog.nights();
    ASSERT_EQ(nights.size(), 2u);
    EXPECT_EQ(nights[0].status, "done");
    EXPECT_EQ(nights[0].summary["parcels"], 7);
    EXPECT_EQ(nights[0].summary["skipped"][0], "x.tif");
    EXPECT_EQ(nights[0].finished_at.size(), 20u);
    EXPECT_EQ(nights[1].night, "2026-12-03");
    EXPECT_EQ(nights[1].status, "nothing");
    EXPECT_TRUE(nights[1].tiles.empty());

    // A failed night leaves its tiles pending.
    write_tile(inbox / "late_20231001.tif", 4546);
    const auto late = catalog.scan(nightly_for(inbox)).registered;
    ASSERT_EQ(late.size(), 1u);
    const std::int64_t failed = catalog.begin_night("2026-12-04", dir / "out" / "2026-12-04", {late[0].id});
    catalog.finish_night(failed, "failed", {{"error", "disk full"}});
    EXPECT_EQ(paths_of(catalog.pending()), (std::vector<std::string>{"late_20231001.tif"}));
}

// ---- where the catalog lives, and whose it is

TEST(Catalog, AnotherCountysCatalogIsRefused) {
    TempDir dir;
    const std::string location = (dir / "catalog.gpkg").string();
    ImageryCatalog::open(location, jishan());
    EXPECT_EQ(test::message_of<InputError>([&] { ImageryCatalog::open(location, CountyConfig{"新绛县", "140825"}); }),
              "catalog '" + location +
                  "' is the imagery catalog of county 稷山县 (140824), not of 新绛县 (140825) in the config; set nightly.catalog to this "
                  "county's own catalog (a new path starts one), or fix county.code");
    // The same county opens it again.
    EXPECT_NO_THROW(ImageryCatalog::open(location, jishan()));
}

TEST(Catalog, NotAGeoPackageIsNamed) {
    TempDir dir;
    test::write_text(dir / "catalog.gpkg", "not a database");
    const std::string m = test::message_of<InputError>([&] { ImageryCatalog::open((dir / "catalog.gpkg").string(), jishan()); });
    EXPECT_CONTAINS(m, "catalog '" + (dir / "catalog.gpkg").string() + "' cannot be opened (");
    EXPECT_CONTAINS(m, "); check that it is a GeoPackage file and writable, or set nightly.catalog to a new path");
}

TEST(Catalog, NoLocationAndALostTableAreNamed) {
    EXPECT_EQ(test::message_of<ConfigError>([] { ImageryCatalog::open("", jishan()); }),
              "catalog: no location given; set nightly.catalog (or ledger.path, or output.dir) in the config");
    TempDir dir;
    const std::string location = (dir / "catalog.gpkg").string();
    auto catalog = ImageryCatalog::open(location, jishan());
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(location.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE));
        for (int i = 0; i < ds->GetLayerCount(); ++i) {
            if (std::string(ds->GetLayer(i)->GetName()) == "weipian_nights") {
                ASSERT_EQ(ds->DeleteLayer(i), OGRERR_NONE);
            }
        }
    }
    EXPECT_EQ(test::message_of<InputError>([&] { catalog.nights(); }),
              "catalog '" + location + "' has no table 'weipian_nights' any more; it was changed outside weipian, restore it from a backup");
}

TEST(Catalog, LivesInTheLedgerGeoPackageWithoutTouchingItsTables) {
    TempDir dir;
    const fs::path ledger = dir / "ledger.gpkg";
    {
        GDALAllRegister();
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GPKG")->Create(ledger.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRSpatialReference srs;
        srs.importFromEPSG(4546);
        OGRLayer* cases = ds->CreateLayer("cases", &srs, wkbMultiPolygon, nullptr);
        OGRFieldDefn id("case_id", OFTString);
        ASSERT_EQ(cases->CreateField(&id), OGRERR_NONE);
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(cases->GetLayerDefn()));
        f->SetField("case_id", "140824-2023-0001");
        ASSERT_EQ(cases->CreateFeature(f.get()), OGRERR_NONE);
        ds->CreateLayer("history", nullptr, wkbNone, nullptr);
    }
    const fs::path inbox = dir / "inbox";
    fs::create_directories(inbox);
    fs::copy_file(kHsx / "HSX_20230918_r0c0.tif", inbox / "HSX_20230918_r0c0.tif");
    {
        auto catalog = ImageryCatalog::open(ledger.string(), jishan());
        ASSERT_EQ(catalog.scan(nightly_for(inbox)).registered.size(), 1u);
        catalog.finish_night(catalog.begin_night("2026-12-02", dir / "out", {catalog.pending()[0].id}), "done", {});
    }
    GDALDatasetUniquePtr ds(GDALDataset::Open(ledger.c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    std::set<std::string> layers;
    for (int i = 0; i < ds->GetLayerCount(); ++i) layers.insert(ds->GetLayer(i)->GetName());
    EXPECT_EQ(layers, (std::set<std::string>{"cases", "history", "weipian_imagery", "weipian_imagery_skipped", "weipian_nights",
                                             "weipian_catalog_meta"}));
    OGRLayer* cases = ds->GetLayerByName("cases");
    EXPECT_EQ(cases->GetFeatureCount(), 1);
    OGRFeatureUniquePtr f(cases->GetNextFeature());
    EXPECT_STREQ(f->GetFieldAsString("case_id"), "140824-2023-0001");
    EXPECT_EQ(cases->GetLayerDefn()->GetFieldCount(), 1);
}

TEST(Catalog, LocationFollowsCatalogThenLedgerThenOutput) {
    Config config;
    config.output_dir = "/srv/weipian/out";
    EXPECT_EQ(catalog_location(config), "/srv/weipian/out/catalog.gpkg");
    config.ledger.path = "/srv/weipian/ledger.gpkg";
    EXPECT_EQ(catalog_location(config), "/srv/weipian/ledger.gpkg");
    config.nightly.catalog = "PG:dbname=weipian";
    EXPECT_EQ(catalog_location(config), "PG:dbname=weipian");
}

// ---- PostgreSQL (WEIPIAN_TEST_PG, as the ledger's tests; skipped without a server)

// Runs one SQL statement on the WEIPIAN_TEST_PG database.
void postgres_execute(const std::string& sql) {
    const char* drivers[] = {"PostgreSQL", nullptr};
    GDALDatasetUniquePtr ds(GDALDataset::Open(std::getenv("WEIPIAN_TEST_PG"), GDAL_OF_VECTOR | GDAL_OF_UPDATE, drivers, nullptr, nullptr));
    ASSERT_TRUE(ds) << CPLGetLastErrorMsg();
    CPLErrorReset();
    OGRLayer* result = ds->ExecuteSQL(sql.c_str(), nullptr, nullptr);
    if (result) ds->ReleaseResultSet(result);
    ASSERT_LT(CPLGetLastErrorType(), CE_Failure) << sql << ": " << CPLGetLastErrorMsg();
}

TEST(CatalogPostgres, ScanQueriesNightsAndCounty) {
    const char* base = std::getenv("WEIPIAN_TEST_PG");
    if (!base || !*base) GTEST_SKIP() << "WEIPIAN_TEST_PG is not set: no PostgreSQL/PostGIS to test against (bash scripts/test.sh starts one and sets it)";
    GDALAllRegister();
    const std::string schema = "wpc_" + std::to_string(::getpid());
    postgres_execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    postgres_execute("CREATE SCHEMA " + schema);
    const std::string location = std::string(base) + " active_schema=" + schema;
    TempDir dir;
    const fs::path inbox = dir / "inbox";
    fs::create_directories(inbox);
    for (const char* name : {"HSX_20230918_r0c0.tif", "HSX_20230918_r0c1.tif"}) fs::copy_file(kHsx / name, inbox / name);
    write_tile(inbox / "scene_r9c9.tif", 4546);
    NightlyConfig nightly = nightly_for(inbox);
    nightly.base = {(kQsx / "QSX_*.tif").string()};
    {
        auto catalog = ImageryCatalog::open(location, jishan());
        EXPECT_EQ(catalog.register_base(nightly).registered.size(), 4u);
        const ScanResult scan = catalog.scan(nightly);
        EXPECT_EQ(scan.registered.size(), 2u);
        ASSERT_EQ(scan.issues.size(), 1u);
        EXPECT_EQ(scan.issues[0].kind, CatalogIssue::Kind::Undatable);
        const ScanResult again = catalog.scan(nightly);
        EXPECT_EQ(again.unchanged, 3);
        EXPECT_EQ(again.skipped_before, 1);

        const auto [lon0, lat0] = to_lonlat(497100, 3940800);
        const auto [lon1, lat1] = to_lonlat(497150, 3940850);
        EXPECT_EQ(paths_of(catalog.intersecting(*lonlat_box(lon0, lat0, lon1, lat1), "", "2023-05-01")),
                  (std::vector<std::string>{"QSX_20230410_r0c0.tif"}));
        const auto pending = catalog.pending();
        ASSERT_EQ(pending.size(), 2u);
        const auto night = catalog.begin_night("2026-12-02", dir / "out", {pending[0].id, pending[1].id});
        ASSERT_TRUE(catalog.unfinished_night());
        catalog.finish_night(night, "done", {{"parcels", 7}});
        EXPECT_FALSE(catalog.unfinished_night());
        EXPECT_TRUE(catalog.pending().empty());
        EXPECT_EQ(catalog.nights().at(0).summary["parcels"], 7);
    }
    EXPECT_CONTAINS(test::message_of<InputError>([&] { ImageryCatalog::open(location, CountyConfig{"新绛县", "140825"}); }),
                    "' is the imagery catalog of county 稷山县 (140824), not of 新绛县 (140825) in the config");
    postgres_execute("DROP SCHEMA " + schema + " CASCADE");
}

// night.txt's line (pipeline/nightly.hpp night_summary_text): the parcels, skipped files, the
// rectification states, the flags raised and the flags lifted.
TEST(NightSummaryText, NamesTheChecksTheFlagsRaisedAndTheFlagsLifted) {
    NightOutcome night;
    night.night = "2024-08-15";
    night.imagery_date = "2024-08-15";
    night.earlier_date = "2023-09-18";
    night.tiles = {"a.tif", "b.tif"};
    night.parcels = 3;
    night.area_mu = "4.50";
    night.skipped = {{"/inbox/x.tif", "undatable", ""}};
    night.summary = nlohmann::json::object();
    night.summary["rectification"] = nlohmann::json::array({
        {{"case_id", "140824-2023-0001"}, {"state", "已恢复"}, {"flagged", false}, {"flag_cleared", true}},
        {{"case_id", "140824-2023-0002"}, {"state", "仍有建设"}, {"flagged", true}, {"flag_cleared", false}},
        {{"case_id", "140824-2023-0003"}, {"state", "已恢复"}, {"flagged", false}, {"flag_cleared", false}},
    });
    EXPECT_EQ(night_summary_text(night),
              "2024-08-15 夜间处理：新到影像 2 景（2024-08-15），前时相 2023-09-18；疑似新增建设图斑 3 宗，共 4.50 亩；"
              "跳过文件 1 个（x.tif：无法确定拍摄日期）；整改复查 3 宗（已恢复 2 宗、仍有建设 1 宗），"
              "其中整改不到位 1 宗：140824-2023-0002，整改不到位标记解除 1 宗：140824-2023-0001。");
}

}  // namespace
}  // namespace weipian
