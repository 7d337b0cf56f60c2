// The messages of pipeline/ingest.cpp, through the CLI. The ingest stage is being reworded
// elsewhere, so these assert the stable parts: the key, the file, and the words saying what is
// wrong and what to do.
#include <gtest/gtest.h>

#include <gdal_priv.h>

#include <algorithm>
#include <vector>

#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

using test::write_scene;
using test::write_text;
namespace fs = std::filesystem;

constexpr double kX0 = 497000, kY0 = 3941000;  // Jishan, EPSG:4546

class IngestMessages : public ::testing::Test {
protected:
    // Writes the config (before.tif/after.tif, output out/, `extra` appended) and runs it.
    test::CliResult run(const std::string& extra = "", const std::string& epochs = "") {
        write_text(config, (epochs.empty() ? "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n"
                                             "  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"
                                           : epochs) +
                               "output: {dir: out}\noverlay: {area_crs: \"EPSG:4546\"}\n" + extra);
        return test::run_cli("-q run --config '" + config.string() + "'", dir.path());
    }
    std::string refused(const test::CliResult& r, int exit_code = 3) {
        EXPECT_EQ(r.exit_code, exit_code) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(fs::exists(dir / "out"));
        return r.err;
    }
    void write_aoi(const std::string& geometry) {
        write_text(dir / "aoi.geojson",
                   "{\"type\": \"FeatureCollection\", \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:4546\"}},"
                   " \"features\": [{\"type\": \"Feature\", \"properties\": {}, \"geometry\": " + geometry + "}]}");
    }
    std::string path(const std::string& name) const { return (dir / name).string(); }
    test::TempDir dir;
    fs::path config = dir / "weipian.yaml";
};

TEST_F(IngestMessages, TileThatIsNotARaster) {
    write_text(dir / "before.tif", "not a raster");
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    const std::string m = refused(run());
    EXPECT_CONTAINS(m, "epochs.before.tiles");
    EXPECT_CONTAINS(m, "GDAL cannot read '" + path("before.tif") + "'");
}

TEST_F(IngestMessages, MissingTileNamesTheKeyAndTheFile) {
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    const std::string m = refused(run());
    EXPECT_CONTAINS(m, "epochs.before.tiles");
    EXPECT_CONTAINS(m, path("before.tif") + "' does not exist; check the path");
}

TEST_F(IngestMessages, EpochWithoutTiles) {
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    const std::string m = refused(run("", "epochs:\n  after: {tiles: [after.tif], date: \"2023-09-18\"}\n"));
    EXPECT_CONTAINS(m, "epochs.before.tiles lists no tiles; give files or globs");
}

TEST_F(IngestMessages, GlobWithoutAMatch) {
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    const std::string m = refused(run("", "epochs:\n  before: {tiles: [\"qsx/*.tif\"]}\n  after: {tiles: [after.tif]}\n"));
    EXPECT_CONTAINS(m, "epochs.before.tiles");
    EXPECT_CONTAINS(m, path("qsx/*.tif") + "' matches no file; check the pattern");
}

TEST_F(IngestMessages, TooFewBandsNamesTheBandAndTheKeys) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    const std::string m = refused(run("bands: {swir1: 5}\n"));
    EXPECT_CONTAINS(m, path("before.tif") + "' has 4 band(s) but the band roles need band 5");
    EXPECT_CONTAINS(m, "set bands.blue/green/red/nir/swir1 in the config to this sensor's band order");
}

TEST_F(IngestMessages, TruncatedTileNamesTheRowsAndTheEpoch) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    fs::resize_file(dir / "after.tif", fs::file_size(dir / "after.tif") / 2);  // the header survives, the pixels do not
    const std::string m = refused(run());
    EXPECT_CONTAINS(m, "ingest: cannot read rows ");
    EXPECT_CONTAINS(m, " of the after epoch (epochs.after.tiles: " + path("after.tif") + "): ");
    EXPECT_CONTAINS(m, "; a tile is truncated or corrupt: check each with `gdalinfo -checksum FILE` and copy it again");
}

TEST_F(IngestMessages, RotatedEpoch) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(path("after.tif").c_str(), GDAL_OF_RASTER | GDAL_OF_UPDATE));
        double gt[6] = {kX0, 1, 0.2, kY0, 0.2, -1};
        ds->SetGeoTransform(gt);
    }
    EXPECT_CONTAINS(refused(run()), "after epoch is rotated; north-up rasters are required (gdalwarp it first)");
}

TEST_F(IngestMessages, UnparsableGridCrsNamesTheKey) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    EXPECT_CONTAINS(refused(run("grid: {crs: \"EPSG:99999999\"}\n"), 2),
                    "grid.crs: cannot parse 'EPSG:99999999' as a CRS; give an EPSG code such as EPSG:4546 or a WKT");
}

TEST_F(IngestMessages, EpochInACrsWithoutATransformation) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(path("before.tif").c_str(), GDAL_OF_RASTER | GDAL_OF_UPDATE));
        OGRSpatialReference site_grid;
        site_grid.SetLocalCS("site grid");
        ds->SetSpatialRef(&site_grid);
    }
    const std::string m = refused(run());
    EXPECT_CONTAINS(m, "ingest: cannot transform the epoch extent between CRSs: epochs.before.tiles (" + path("before.tif") +
                           ") is in 'site grid', which cannot be transformed to 'CGCS2000 / 3-degree Gauss-Kruger CM 111E "
                           "(EPSG:4546)'");
    EXPECT_CONTAINS(m, "; reproject the tiles into one CRS (gdalwarp -t_srs) or set grid.crs to a CRS both convert to");
}

TEST_F(IngestMessages, EpochsOverlappingByLessThanAPixel) {
    write_scene(dir / "before.tif", kX0 + 49.6, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    EXPECT_CONTAINS(refused(run("grid: {pixel_size: 1}\n")),
                    "ingest: the epochs overlap by less than one pixel; check that the tiles show the same area");
}

TEST_F(IngestMessages, EpochsThatDoNotOverlapGiveBothExtents) {
    write_scene(dir / "before.tif", kX0 + 5000, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    const std::string m = refused(run());
    EXPECT_CONTAINS(m, "ingest: the epochs do not overlap");
    EXPECT_CONTAINS(m, "check that the tiles show the same area");
}

TEST_F(IngestMessages, AoiThatCannotBeTransformed) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    // GeoJSON without "crs" is longitude/latitude: these metre coordinates are no place on Earth.
    write_text(dir / "aoi.geojson",
               "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": {}, \"geometry\": "
               "{\"type\": \"Polygon\", \"coordinates\": [[[497000, 3941000], [497050, 3941000], [497050, 3940950], [497000, 3941000]]]}}]}");
    EXPECT_CONTAINS(refused(run("aoi: aoi.geojson\n")), "ingest: aoi: cannot transform '" + path("aoi.geojson") + "' to the working CRS");
}

TEST_F(IngestMessages, AoiThatCannotBeOpened) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    EXPECT_CONTAINS(refused(run("aoi: aoi.gpkg\n")), "ingest: aoi: cannot open '" + path("aoi.gpkg") + "' as a polygon layer; check the path");
}

TEST_F(IngestMessages, AoiWithoutAPolygon) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    write_aoi("{\"type\": \"Point\", \"coordinates\": [497010, 3940990]}");
    EXPECT_CONTAINS(refused(run("aoi: aoi.geojson\n")), "ingest: aoi: '" + path("aoi.geojson") + "' holds no polygon; give a polygon layer");
}

TEST_F(IngestMessages, AoiOutsideTheEpochs) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    write_scene(dir / "after.tif", kX0, kY0, 50, 4546);
    write_aoi("{\"type\": \"Polygon\", \"coordinates\": [[[600000, 3940000], [600100, 3940000], [600100, 3940100], [600000, 3940000]]]}");
    EXPECT_CONTAINS(refused(run("aoi: aoi.geojson\n")),
                    "ingest: aoi: '" + path("aoi.geojson") + "' does not overlap the epochs; check its CRS and extent");
}

TEST_F(IngestMessages, PlainImagesWithoutAPixelSize) {
    GDALAllRegister();
    // Three-band photos (a 4-band PNG is RGBA: its fourth band is alpha, not NIR).
    for (const char* name : {"before.png", "after.png"}) {
        GDALDatasetUniquePtr mem(GetGDALDriverManager()->GetDriverByName("MEM")->Create("", 20, 20, 3, GDT_Byte, nullptr));
        GDALDatasetUniquePtr png(GetGDALDriverManager()->GetDriverByName("PNG")->CreateCopy(path(name).c_str(), mem.get(), FALSE,
                                                                                            nullptr, nullptr, nullptr));
    }
    test::write_text(dir / "rgb.yaml", "bands: {blue: 3, green: 2, red: 1, nir: 0}\n");
    const auto r = test::run_cli("-q detect --config '" + path("rgb.yaml") + "' --before '" + path("before.png") +
                                     "' --after '" + path("after.png") + "' --out '" + path("mask.tif") + "'",
                                 dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, path("before.png") + "' has no georeferencing; give the pixel size in metres with --pixel-size");
}

TEST_F(IngestMessages, PlainImagesOfDifferentSizes) {
    write_scene(dir / "before.tif", 0, 0, 40, 0);
    write_scene(dir / "after.tif", 0, 0, 50, 0);
    const auto r = test::run_cli("-q detect --pixel-size 1 --before '" + path("before.tif") + "' --after '" + path("after.tif") +
                                     "' --out '" + path("mask.tif") + "'",
                                 dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "images without georeferencing must have the same size (40×40 vs 50×50)");
}

// A `bands`-band UInt16 GeoTIFF of `size` × `size` pixels at (x0, y0), EPSG:4546 unless
// `georeferenced` is false; band `alpha` (if any) is declared alpha and set to 255.
void write_tile(const fs::path& file, double x0, double y0, int size, int bands, bool georeferenced = true, int alpha = 0,
                const char* interleave = "PIXEL") {
    GDALAllRegister();
    const std::string option = std::string("INTERLEAVE=") + interleave;
    const char* options[] = {option.c_str(), nullptr};
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(
        file.c_str(), size, size, bands, GDT_UInt16, const_cast<char**>(options)));
    double gt[6] = {x0, 1, 0, y0, 0, -1};
    ds->SetGeoTransform(gt);
    if (georeferenced) {
        OGRSpatialReference srs;
        srs.importFromEPSG(4546);
        ds->SetSpatialRef(&srs);
    }
    const unsigned short vegetation[4] = {300, 600, 400, 3500};
    std::vector<unsigned short> pixels(static_cast<std::size_t>(size) * size);
    for (int b = 1; b <= bands; ++b) {
        std::fill(pixels.begin(), pixels.end(), b == alpha ? 255 : vegetation[(b - 1) % 4]);
        if (b == alpha) ds->GetRasterBand(b)->SetColorInterpretation(GCI_AlphaBand);
        EXPECT_EQ(ds->GetRasterBand(b)->RasterIO(GF_Write, 0, 0, size, size, pixels.data(), size, size, GDT_UInt16, 0, 0),
                  CE_None);
    }
}

TEST_F(IngestMessages, TilesOfAnEpochWithDifferentBandsAreNotMosaicked) {
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_tile(dir / "a1.tif", kX0, kY0, 50, 4);
    write_tile(dir / "a2.tif", kX0 + 50, kY0, 50, 6);  // two bands more: gdalbuildvrt would leave it out
    const std::string m = refused(run("", "epochs:\n  before: {tiles: [before.tif], date: \"2023-04-10\"}\n"
                                          "  after: {tiles: [a1.tif, a2.tif], date: \"2023-09-18\"}\n"));
    EXPECT_CONTAINS(m, "ingest: epochs.after.tiles: a tile cannot be mosaicked with the others (");
    EXPECT_CONTAINS(m, "); give the epoch's tiles the same bands and data type");
}

TEST_F(IngestMessages, ATileWithoutACrsBesideOneWithACrsNamesBoth) {
    // `weipian detect` accepts plain images; an epoch mixing one with a georeferenced tile is refused.
    write_scene(dir / "before.tif", kX0, kY0, 100, 4546);
    write_tile(dir / "a1.tif", kX0, kY0, 50, 4);
    write_tile(dir / "a2.tif", kX0 + 50, kY0, 50, 4, false);
    const auto r = test::run_cli("-q detect --before '" + path("before.tif") + "' --after '" + path("a1.tif") + "' '" +
                                     path("a2.tif") + "' --out '" + path("mask.tif") + "'",
                                 dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_CONTAINS(r.err, "'" + path("a2.tif") + "' and '" + path("a1.tif") +
                               "' are not both georeferenced; give every tile of an epoch a CRS");
}

// The band mask of a tile with an alpha band is that band: a truncated alpha fails where the
// validity mask is read.
TEST_F(IngestMessages, AnAlphaBandThatCannotBeReadNamesTheEpoch) {
    write_scene(dir / "before.tif", kX0, kY0, 50, 4546);
    // Band-interleaved, uncompressed: the alpha band's pixels are the end of the file.
    write_tile(dir / "after.tif", kX0, kY0, 50, 5, true, 5, "BAND");
    fs::resize_file(dir / "after.tif", fs::file_size(dir / "after.tif") - 50 * 50);  // half the alpha band gone
    const std::string m = refused(run());
    EXPECT_CONTAINS(m, "ingest: cannot read the validity mask of the after epoch: ");
}

}  // namespace
}  // namespace weipian
