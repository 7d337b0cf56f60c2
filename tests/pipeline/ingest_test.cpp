// Ingest: epochs whose tiles are in several CRSs, alpha bands, grids too large for the scene and
// the messages that name the epochs' files.
#include "pipeline/ingest.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include <gdal_utils.h>
#include <ogrsf_frmts.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/main_job.hpp"
#include "pipeline/detect.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;
using test::write_scene;
using test::write_text;

const fs::path kSource = WEIPIAN_SOURCE_DIR;
constexpr double kX0 = 497000, kY0 = 3941000;  // Jishan, EPSG:4546

// gdalwarp through the API: `from` (one or more rasters) to `to` as a GeoTIFF with the given options.
void gdalwarp(const std::vector<fs::path>& from, const fs::path& to, const std::vector<std::string>& options) {
    GDALAllRegister();
    char** argv = nullptr;
    for (const auto& o : options) argv = CSLAddString(argv, o.c_str());
    GDALWarpAppOptions* opts = GDALWarpAppOptionsNew(argv, nullptr);
    CSLDestroy(argv);
    std::vector<GDALDatasetUniquePtr> sources;
    std::vector<GDALDatasetH> handles;
    for (const auto& f : from) {
        sources.emplace_back(GDALDataset::Open(f.c_str(), GDAL_OF_RASTER));
        ASSERT_TRUE(sources.back()) << f;
        handles.push_back(GDALDataset::ToHandle(sources.back().get()));
    }
    int usage_error = 0;
    GDALDatasetH out = GDALWarp(to.c_str(), nullptr, static_cast<int>(handles.size()), handles.data(), opts, &usage_error);
    GDALWarpAppOptionsFree(opts);
    ASSERT_NE(out, nullptr) << CPLGetLastErrorMsg();
    GDALClose(out);
}

struct Found {
    double x, y, area_m2;
};

std::vector<Found> parcels_in(const fs::path& gpkg) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(gpkg.c_str(), GDAL_OF_VECTOR));
    std::vector<Found> out;
    if (!ds) return out;
    for (auto& f : *ds->GetLayerByName("parcels"))
        out.push_back({f->GetFieldAsDouble("centroid_x"), f->GetFieldAsDouble("centroid_y"), f->GetFieldAsDouble("area_m2")});
    return out;
}

// truth.csv rows of parcels at or above the minimum mapping unit: centroid and area.
std::vector<Found> truth_parcels() {
    std::istringstream in(test::read_text(kSource / "sample_tiles" / "truth.csv"));
    std::string line;
    std::getline(in, line);
    std::vector<Found> out;
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::stringstream ls(line);
        for (std::string cell; std::getline(ls, cell, ',');) f.push_back(cell);
        if (f.size() < 16 || f[6] == "true") continue;
        out.push_back({std::stod(f[14]), std::stod(f[15]), std::stod(f[4])});
    }
    return out;
}

// The sample scene with one after tile (r0c1, x 497320–497640, y 3940680–3941000) reprojected
// to CGCS2000 lon/lat (EPSG:4490) with a 3 m overlap on its neighbours, as adjacent tiles have:
// every parcel is still found, its centroid within 0.5 m and its area within 0.5 % + 2 m² of the
// truth (that tile is resampled twice; measured: 13 exact, one 1 m² short). Before: the tile was dropped, 4 of 14 parcels found (the sample then had 14).
TEST(IngestMixedCrs, AnEpochWithATileInAnotherCrsFindsEveryParcel) {
    TempDir dir;
    fs::create_directories(dir / "hsx");
    std::vector<fs::path> originals;
    for (const auto& entry : fs::directory_iterator(kSource / "sample_tiles" / "hsx")) originals.push_back(entry.path());
    for (const auto& original : originals) {
        const std::string name = original.filename().string();
        if (name == "HSX_20230918_r0c1.tif")
            gdalwarp(originals, dir / "hsx" / name,
                     {"-t_srs", "EPSG:4490", "-r", "near", "-tr", "0.000005", "0.000005", "-te_srs", "EPSG:4546", "-te",
                      "497317", "3940677", "497640", "3941000"});
        else
            fs::copy_file(original, dir / "hsx" / name);
    }
    {
        GDALDatasetUniquePtr moved(GDALDataset::Open((dir / "hsx" / "HSX_20230918_r0c1.tif").c_str(), GDAL_OF_RASTER));
        ASSERT_TRUE(moved);
        ASSERT_TRUE(moved->GetSpatialRef()->IsGeographic());
    }
    Config config = Config::parse(test::read_text(kSource / "configs" / "sample.yaml"), kSource / "configs" / "sample.yaml");
    config.after.tiles = {(dir / "hsx" / "*.tif").string()};
    config.output_dir = (dir / "out").string();
    run_main_job(config);

    const auto truth = truth_parcels();
    ASSERT_EQ(truth.size(), 15u);
    const auto found = parcels_in(dir / "out" / "parcels.gpkg");
    EXPECT_EQ(found.size(), 15u);
    for (const auto& t : truth) {
        const Found* match = nullptr;
        for (const auto& p : found)
            if (std::abs(p.x - t.x) < 0.5 && std::abs(p.y - t.y) < 0.5) match = &p;
        ASSERT_NE(match, nullptr) << "parcel at " << t.x << ", " << t.y << " not found";
        EXPECT_NEAR(match->area_m2, t.area_m2, 0.005 * t.area_m2 + 2.0) << t.x << ", " << t.y;
    }
}

class IngestCli : public ::testing::Test {
protected:
    TempDir dir;
    fs::path config = dir / "weipian.yaml";

    test::CliResult run() { return run_cli("-q run --config '" + config.string() + "'", dir.path()); }
    void write_config(const std::string& extra = "", const std::string& before = "before.tif",
                      const std::string& after = "after.tif") {
        write_text(config, "epochs:\n  before: {tiles: [" + before + "], date: \"2023-04-10\"}\n"
                           "  after: {tiles: [" + after + "], date: \"2023-09-18\"}\n"
                           "output: {dir: out}\noverlay: {area_crs: \"EPSG:4546\"}\n" + extra);
    }
    std::size_t parcels() { return parcels_in(dir / "out" / "parcels.gpkg").size(); }
};

// A 5-band tile (B, G, R, NIR + alpha, as `gdalwarp -dstalpha` writes) whose alpha is 0 over one
// of two roofs: only the other roof is found.
TEST_F(IngestCli, AlphaZeroIsNoData) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "plain.tif", kX0, kY0, 100, 4546, 10, 10, 30, 40);  // roof A
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "plain.tif").c_str(), GDAL_OF_UPDATE));
        const std::vector<unsigned short> roof = {1800, 1900, 2000, 2200};
        std::vector<unsigned short> row(30);
        for (int b = 0; b < 4; ++b) {  // roof B: [60, 90) × [50, 80)
            std::fill(row.begin(), row.end(), roof[static_cast<std::size_t>(b)]);
            for (int y = 50; y < 80; ++y)
                ASSERT_EQ(ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 60, y, 30, 1, row.data(), 30, 1, GDT_UInt16, 0, 0), CE_None);
        }
    }
    gdalwarp({dir / "plain.tif"}, dir / "after.tif", {"-dstalpha"});
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "after.tif").c_str(), GDAL_OF_UPDATE));
        ASSERT_EQ(ds->GetRasterCount(), 5);
        ASSERT_EQ(ds->GetRasterBand(5)->GetColorInterpretation(), GCI_AlphaBand);
        std::vector<unsigned short> zeros(40 * 40, 0);  // alpha 0 over roof A and around it
        ASSERT_EQ(ds->GetRasterBand(5)->RasterIO(GF_Write, 5, 5, 40, 40, zeros.data(), 40, 40, GDT_UInt16, 0, 0), CE_None);
    }
    write_config();
    const auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto found = parcels_in(dir / "out" / "parcels.gpkg");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_NEAR(found[0].x, kX0 + 75, 1e-6);
    EXPECT_NEAR(found[0].area_m2, 900, 1e-6);
}

// The same in a mosaic: the alpha tile's transparent part does not hide the other tile's data.
TEST_F(IngestCli, AlphaInAMosaicOfTiles) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "a_left.tif", kX0, kY0, 60, 4546, 10, 10, 30, 40);      // roof A, x 10–30
    write_scene(dir / "b_right.tif", kX0 + 40, kY0, 60, 4546, 20, 20, 50, 50);  // roof B, x 60–90
    gdalwarp({dir / "a_left.tif"}, dir / "a_left_alpha.tif", {"-dstalpha"});
    fs::remove(dir / "a_left.tif");
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "a_left_alpha.tif").c_str(), GDAL_OF_UPDATE));
        std::vector<unsigned short> zeros(40 * 40, 0);
        ASSERT_EQ(ds->GetRasterBand(5)->RasterIO(GF_Write, 5, 5, 40, 40, zeros.data(), 40, 40, GDT_UInt16, 0, 0), CE_None);
    }
    write_config("", "before.tif", "\"?_*.tif\"");
    const auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto found = parcels_in(dir / "out" / "parcels.gpkg");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_NEAR(found[0].x, kX0 + 75, 1e-6);
    EXPECT_NEAR(found[0].area_m2, 900, 1e-6);
}

TEST_F(IngestCli, AlphaBandNamedAsASpectralRoleIsRefused) {
    write_scene(dir / "plain.tif", kX0, kY0, 100, 4546);
    gdalwarp({dir / "plain.tif"}, dir / "before.tif", {"-dstalpha"});
    gdalwarp({dir / "plain.tif"}, dir / "after.tif", {"-dstalpha"});
    write_config("bands: {nir: 5}\n");
    const auto r = run();
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("ingest: epochs.before.tiles: band 5 of '" + (dir / "before.tif").string() +
                         "' is its alpha (transparency) band, but bands.nir names it; set bands.nir to the sensor's nir band"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(dir / "out"));
}

// grid.pixel_size 0.001 on a 100 m scene of 1 m pixels: 100000² px, refused before any pixel is
// read, with the numbers and what to do.
TEST_F(IngestCli, GridFarFinerThanTheInputIsRefusedWithTheNumbers) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    write_config("grid: {pixel_size: 0.001}\n");
    const auto r = run();
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err.rfind("weipian: error: ingest: grid.pixel_size 0.001 makes a grid of 100000 × 100000 px (10 Gpx) "
                          "at 0.001 m a pixel, 1000× finer than the after epoch's 1 m; the limits are 524288 px a "
                          "side, 17.2 Gpx in all and 10× finer than the input; set grid.pixel_size larger (e.g. 1, "
                          "the after epoch's) or 0 for the reference epoch's\n", 0), 0u)
        << r.err;
    EXPECT_FALSE(fs::exists(dir / "out"));
}

// Ten times finer is allowed by the grid limits, but clean radii of 100 m are then 1000 px: the
// strips would pass the memory limit, and that is refused with the numbers.
TEST_F(IngestCli, StripsBeyondTheMemoryLimitAreRefused) {
    write_scene(dir / "before.tif", kX0, kY0, 400, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 400, 4546);
    write_config("grid: {pixel_size: 0.1}\nclean: {open_radius_m: 100, close_radius_m: 100}\n");
    const auto r = run();
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("clean.open_radius_m 100 and clean.close_radius_m 100 are 1000 and 1000 px at 0.1 m a pixel, "
                         "so each strip needs 4000 halo rows on each side: 12000 rows × 4000 px = 48 Mpx, beyond the "
                         "limit of 33.55 Mpx; set grid.pixel_size larger or the radii smaller"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST_F(IngestCli, EpochsThatDoNotOverlapNameTheirTiles) {
    write_scene(dir / "before.tif", kX0 + 5000, kY0, 100, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546);
    write_config();
    const auto r = run();
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("the epochs do not overlap: before (epochs.before.tiles: " + (dir / "before.tif").string() + ") covers"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("after (epochs.after.tiles: " + (dir / "after.tif").string() + ") covers"), std::string::npos) << r.err;
}

// The same file as both epochs: a warning naming it (without -v), and nothing found.
TEST_F(IngestCli, IdenticalEpochsAreWarnedAbout) {
    write_scene(dir / "after.tif", kX0, kY0, 100, 4546, 10, 20, 30, 50);
    write_config("", "after.tif", "after.tif");
    const auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning ingest: epochs.before.tiles and epochs.after.tiles are the same file(s): " +
                         (dir / "after.tif").string() + "; the epochs are identical, so no change can be found"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(parcels(), 0u);
}

}  // namespace
}  // namespace weipian
