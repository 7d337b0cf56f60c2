// Chips (pipeline/chips.hpp) on the sample scene and on small rasters made here: JPEG files of
// the chip size, the outline where the parcel's edge is, grey outside the raster, one stretch
// per epoch, only the chip's window read, false colour from NIR, and the refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <cpl_conv.h>
#include <gdal_priv.h>
#include <nlohmann/json.hpp>
#include <ogr_geometry.h>

#include "pipeline/chips.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/ingest.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = WEIPIAN_SOURCE_DIR;

// A rectangle [x0, x1] × [y0, y1] in the scene's CRS (EPSG:4546, x = easting).
OGRGeometryUniquePtr rectangle(double x0, double y0, double x1, double y1) {
    auto ring = std::make_unique<OGRLinearRing>();
    ring->addPoint(x0, y0);
    ring->addPoint(x1, y0);
    ring->addPoint(x1, y1);
    ring->addPoint(x0, y1);
    ring->closeRings();
    auto poly = std::make_unique<OGRPolygon>();
    poly->addRingDirectly(ring.release());
    return OGRGeometryUniquePtr(poly.release());
}

Parcel parcel(std::int64_t id, double x0, double y0, double x1, double y1) {
    Parcel p;
    p.id = id;
    p.geometry = rectangle(x0, y0, x1, y1);
    return p;
}

Config sample_config() {
    return Config::parse(test::read_text(kSource / "configs" / "sample.yaml"), kSource / "configs" / "sample.yaml");
}

cv::Vec3b at(const cv::Mat& bgr, int x, int y) { return bgr.at<cv::Vec3b>(y, x); }

// A 4-band UInt16 GeoTIFF (B, G, R, NIR) in EPSG:4546 at 1 m, tiled 256 × 256, vegetation
// everywhere and a roof over the columns [roof_x0, roof_x1) (all rows).
void write_tiled_scene(const fs::path& path, int size, int roof_x0, int roof_x1, int nodata = -1) {
    GDALAllRegister();
    char** options = CSLSetNameValue(nullptr, "TILED", "YES");
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), size, size, 4, GDT_UInt16, options));
    CSLDestroy(options);
    double gt[6] = {497000, 1, 0, 3941000, 0, -1};
    ds->SetGeoTransform(gt);
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    ds->SetSpatialRef(&srs);
    const unsigned short vegetation[4] = {300, 600, 400, 3500}, roof[4] = {1800, 1900, 2000, 2200};
    std::vector<unsigned short> row(static_cast<std::size_t>(size));
    for (int b = 0; b < 4; ++b) {
        GDALRasterBand* band = ds->GetRasterBand(b + 1);
        if (nodata >= 0) band->SetNoDataValue(nodata);
        for (int x = 0; x < size; ++x)
            row[static_cast<std::size_t>(x)] = nodata >= 0 ? static_cast<unsigned short>(nodata) : (x >= roof_x0 && x < roof_x1 ? roof[b] : vegetation[b]);
        for (int y = 0; y < size; ++y) ASSERT_EQ(band->RasterIO(GF_Write, 0, y, size, 1, row.data(), size, 1, GDT_UInt16, 0, 0), CE_None);
    }
}

class ChipsTest : public ::testing::Test {
protected:
    void SetUp() override { GDALAllRegister(); }  // each test may run alone (ctest runs one per process)
    test::TempDir dir;
};

TEST_F(ChipsTest, WritesAJpegPairOfTheChipSizeForEveryParcel) {
    const Config config = sample_config();
    const AlignedEpochs epochs = ingest_epochs(config);
    std::vector<Parcel> parcels;
    parcels.push_back(parcel(1, 497060, 3940830, 497100, 3940860));  // object C01
    parcels.push_back(parcel(7, 497300, 3940650, 497345, 3940695));  // object C04, on the corner of all four tiles
    ChipStyle style = ChipStyle::from(config);
    style.size_px = 256;
    const auto files = write_parcel_chips(dir.path(), epochs, parcels, style, "2023-04-10", "2023-09-18");
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].before, "chips/1_qsx.jpg");
    EXPECT_EQ(files[0].after, "chips/1_hsx.jpg");
    EXPECT_EQ(files[1].before, "chips/7_qsx.jpg");
    EXPECT_EQ(files[1].after, "chips/7_hsx.jpg");
    for (const auto& pair : files)
        for (const auto& name : {pair.before, pair.after}) {
            GDALDatasetUniquePtr ds(GDALDataset::Open((dir.path() / name).c_str(), GDAL_OF_RASTER));
            ASSERT_TRUE(ds) << name;
            EXPECT_STREQ(ds->GetDriver()->GetDescription(), "JPEG") << name;
            EXPECT_EQ(ds->GetRasterCount(), 3) << name;
            EXPECT_EQ(ds->GetRasterBand(1)->GetRasterDataType(), GDT_Byte) << name;
            EXPECT_EQ(ds->GetRasterXSize(), 256) << name;
            EXPECT_EQ(ds->GetRasterYSize(), 256) << name;
        }
    // Nothing but the chips: no temporary or sidecar left behind.
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir.path() / "chips")) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"1_hsx.jpg", "1_qsx.jpg", "7_hsx.jpg", "7_qsx.jpg"}));
}

TEST_F(ChipsTest, TheOutlineIsRedOnTheAfterChipAndYellowOnTheBeforeChipWhereTheParcelEdgeIs) {
    const Config config = sample_config();
    const AlignedEpochs epochs = ingest_epochs(config);
    std::vector<Parcel> parcels;
    parcels.push_back(parcel(1, 497060, 3940830, 497100, 3940860));  // object C01
    const ChipStyle style = ChipStyle::from(config);                   // 320 px, 20 m margin
    ASSERT_EQ(style.size_px, 320);
    write_parcel_chips(dir.path(), epochs, parcels, style, "2023-04-10", "2023-09-18");

    // 40 × 30 m plus 20 m each side: an 80 m square at 4 px a metre, x from 497040, y from 3940885.
    const ChipSource after({epochs.epoch_source(true).name}, epochs.roles(), style);
    const ChipFrame frame = after.frame(*parcels[0].geometry);
    EXPECT_DOUBLE_EQ(frame.minx, 497040);
    EXPECT_DOUBLE_EQ(frame.maxy, 3940885);
    EXPECT_DOUBLE_EQ(frame.width, 80);
    EXPECT_DOUBLE_EQ(frame.metres_per_px, 0.25);
    const cv::Point2d west = frame.to_px(497060, 3940845), east = frame.to_px(497100, 3940845);
    EXPECT_DOUBLE_EQ(west.x, 80);
    EXPECT_DOUBLE_EQ(west.y, 160);
    EXPECT_DOUBLE_EQ(east.x, 240);

    // The rendered image: exactly red on the west and east edges, not inside.
    const cv::Mat image = after.render(*parcels[0].geometry, "1 HSX 2023-09-18", kChipAfterColour);
    EXPECT_EQ(at(image, 80, 160), cv::Vec3b(0, 0, 255));
    EXPECT_EQ(at(image, 240, 160), cv::Vec3b(0, 0, 255));
    EXPECT_EQ(at(image, 160, 100), cv::Vec3b(0, 0, 255));  // north edge, y 3940860
    EXPECT_NE(at(image, 160, 160), cv::Vec3b(0, 0, 255));  // the roof inside

    // The JPEG files: red (after) and yellow (before) at the west edge, within JPEG's error.
    const cv::Mat hsx = read_chip(dir.path() / "chips" / "1_hsx.jpg");
    const cv::Mat qsx = read_chip(dir.path() / "chips" / "1_qsx.jpg");
    const cv::Vec3b red = at(hsx, 80, 160), yellow = at(qsx, 80, 160);
    EXPECT_GT(red[2], 190) << red;
    EXPECT_LT(red[1], 80) << red;
    EXPECT_LT(red[0], 80) << red;
    EXPECT_GT(yellow[2], 190) << yellow;
    EXPECT_GT(yellow[1], 190) << yellow;
    EXPECT_LT(yellow[0], 80) << yellow;
}

TEST_F(ChipsTest, AreasOutsideTheRasterAreGrey) {
    const Config config = sample_config();
    const AlignedEpochs epochs = ingest_epochs(config);
    std::vector<Parcel> parcels;
    parcels.push_back(parcel(3, 497000, 3940980, 497020, 3941000));  // the scene's north-west corner
    const ChipStyle style = ChipStyle::from(config);
    write_parcel_chips(dir.path(), epochs, parcels, style, "2023-04-10", "2023-09-18");
    // A 60 m square from x 496980, y 3941020: the left and top 20 m (107 px) are off the scene.
    const ChipSource after({epochs.epoch_source(true).name}, epochs.roles(), style);
    const cv::Mat image = after.render(*parcels[0].geometry, "", kChipAfterColour);
    const cv::Vec3b grey(kChipOutsideGrey, kChipOutsideGrey, kChipOutsideGrey);
    EXPECT_EQ(at(image, 50, 200), grey);   // west of the scene
    EXPECT_EQ(at(image, 200, 50), grey);   // north of the scene
    EXPECT_NE(at(image, 200, 200), grey);  // on the scene
    const cv::Mat file = read_chip(dir.path() / "chips" / "3_hsx.jpg");
    for (int c = 0; c < 3; ++c) {
        EXPECT_NEAR(at(file, 50, 200)[c], kChipOutsideGrey, 3);
        EXPECT_NEAR(at(file, 200, 50)[c], kChipOutsideGrey, 3);
    }
}

TEST_F(ChipsTest, EveryChipOfAnEpochHasTheEpochsStretch) {
    const Config config = sample_config();
    const AlignedEpochs epochs = ingest_epochs(config);
    const ChipStyle style = ChipStyle::from(config);
    const ChipSource after({epochs.epoch_source(true).name}, epochs.roles(), style);
    const ChipSource other = after.clone();
    EXPECT_EQ(other.stretch(), after.stretch());
    EXPECT_EQ(after.stretch().bands, (std::array<int, 3>{3, 2, 1}));  // R, G, B
    for (int c = 0; c < 3; ++c) EXPECT_LT(after.stretch().lo[c], after.stretch().hi[c]);
    // Two chips 10 m apart (40 px at 4 px a metre) show the same ground in the same colours:
    // the stretch is the epoch's, not each chip's.
    const auto a = rectangle(497060, 3940830, 497100, 3940860), b = rectangle(497070, 3940830, 497110, 3940860);
    const cv::Mat ca = after.render(*a, "", kChipAfterColour), cb = other.render(*b, "", kChipAfterColour);
    const cv::Mat ground_a = ca(cv::Rect(100, 230, 100, 58)), ground_b = cb(cv::Rect(60, 230, 100, 58));
    EXPECT_EQ(cv::norm(ground_a, ground_b, cv::NORM_INF), 0);
    // A different epoch has its own stretch.
    const ChipSource before({epochs.epoch_source(false).name}, epochs.roles(), style);
    EXPECT_NE(before.stretch(), after.stretch());
}

TEST_F(ChipsTest, OnlyTheChipsWindowIsRead) {
    // 2048² px, 4 bands UInt16, tiles of 256²: 32 MB. A 40 × 30 m parcel with a 20 m margin
    // inside tile (3, 3) (pixels 768–1023) needs that one tile of each band: 4 × 128 KB.
    const fs::path tif = dir / "big.tif";
    write_tiled_scene(tif, 2048, 0, 700);
    // Every block read goes through GDAL's block cache (weipian turns on GeoTIFF direct I/O,
    // which bypasses it), so the cache's growth is what the chip read.
    CPLSetThreadLocalConfigOption("GTIFF_DIRECT_IO", "NO");
    ChipStyle style;
    const ChipSource source({tif.string()}, BandRoles{}, style);
    while (GDALFlushCacheBlock()) {
    }
    const GIntBig cached = GDALGetCacheUsed64();
    const auto outline = rectangle(497000 + 876, 3941000 - 916, 497000 + 916, 3941000 - 886);
    const cv::Mat chip = source.render(*outline, "window", kChipAfterColour);
    ASSERT_EQ(chip.cols, 320);
    const GIntBig read = GDALGetCacheUsed64() - cached;
    CPLSetThreadLocalConfigOption("GTIFF_DIRECT_IO", nullptr);
    EXPECT_GT(read, 0);
    // One tile of each of the 4 bands (a pixel-interleaved GeoTIFF loads them together), plus
    // the cache's bookkeeping per block: 1/64 of the file.
    EXPECT_LE(read, 4 * (256 * 256 * 2 + 1024)) << "bytes of blocks read for one chip";
}

TEST_F(ChipsTest, FalseColourShowsNearInfraredAsRed) {
    // Vegetation (NIR 3500, red 400) on the west half, roofs (NIR 2200, red 2000) on the east.
    const fs::path tif = dir / "scene.tif";
    write_tiled_scene(tif, 256, 128, 256);
    const auto outline = rectangle(497020, 3940900, 497040, 3940920);  // on vegetation
    ChipStyle style;
    const ChipSource true_colour({tif.string()}, BandRoles{}, style);
    style.false_colour = true;
    const ChipSource false_colour({tif.string()}, BandRoles{}, style);
    EXPECT_EQ(false_colour.stretch().bands, (std::array<int, 3>{4, 3, 2}));  // NIR, R, G
    EXPECT_DOUBLE_EQ(false_colour.stretch().lo[0], 2200);
    EXPECT_DOUBLE_EQ(false_colour.stretch().hi[0], 3500);
    const cv::Mat t = true_colour.render(*outline, "", kChipAfterColour), f = false_colour.render(*outline, "", kChipAfterColour);
    EXPECT_EQ(at(t, 160, 240)[2], 0);    // red channel from the red band: vegetation dark
    EXPECT_EQ(at(f, 160, 240)[2], 255);  // red channel from NIR: vegetation bright
    EXPECT_EQ(at(f, 160, 240)[1], 0);    // green channel from the red band
}

TEST_F(ChipsTest, AGeographicRasterGetsChipsSquareOnTheGround) {
    // EPSG:4490 (lon/lat) at 1e-5° a pixel near 35.6°N: a chip square in metres is narrower in
    // latitude than in longitude degrees; the margin is in metres.
    const fs::path tif = dir / "lonlat.tif";
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(tif.c_str(), 256, 256, 4, GDT_UInt16, nullptr));
        double gt[6] = {110.97, 1e-5, 0, 35.60, 0, -1e-5};
        ds->SetGeoTransform(gt);
        OGRSpatialReference srs;
        srs.importFromEPSG(4490);
        ds->SetSpatialRef(&srs);
        std::vector<unsigned short> values(256 * 256, 1000);
        for (int b = 1; b <= 4; ++b)
            ASSERT_EQ(ds->GetRasterBand(b)->RasterIO(GF_Write, 0, 0, 256, 256, values.data(), 256, 256, GDT_UInt16, 0, 0), CE_None);
    }
    ChipStyle style;
    style.margin_m = 10;
    const ChipSource source({tif.string()}, BandRoles{}, style);
    ASSERT_TRUE(source.srs() && source.srs()->IsGeographic());
    // 20 m square parcel: 20 / (111320 cos φ) degrees of longitude, 20 / 110574 of latitude.
    const double lat = 35.5995, dlon = 20 / (111320 * std::cos(lat * M_PI / 180)), dlat = 20 / 110574.0;
    const auto outline = rectangle(110.9705, lat - dlat / 2, 110.9705 + dlon, lat + dlat / 2);
    const ChipFrame frame = source.frame(*outline);
    EXPECT_NEAR(frame.metres_per_px, 40.0 / 320, 1e-9);  // 20 m plus 10 m each side
    EXPECT_NEAR(frame.width, 2 * dlon, 1e-12);
    EXPECT_NEAR(frame.height, 2 * dlat, 1e-12);
    const cv::Mat chip = source.render(*outline, "lonlat", kChipAfterColour);
    EXPECT_EQ(at(chip, 80, 160), cv::Vec3b(0, 0, 255));   // west edge, a quarter in
    EXPECT_EQ(at(chip, 160, 240), cv::Vec3b(0, 0, 255));  // south edge
}

TEST_F(ChipsTest, ARasterWithoutValidPixelsGivesGreyChipsAndSaysSo) {
    const fs::path tif = dir / "empty.tif";
    write_tiled_scene(tif, 256, 0, 0, 0);
    test::LogCapture log;
    const ChipSource source({tif.string()}, BandRoles{}, ChipStyle{});
    EXPECT_NE(log.text().find("has no valid pixel in its sample; its chips are stretched over 0–255"), std::string::npos) << log.text();
    const cv::Mat chip = source.render(*rectangle(497100, 3940900, 497120, 3940920), "", kChipAfterColour);
    EXPECT_EQ(at(chip, 160, 250), cv::Vec3b(kChipOutsideGrey, kChipOutsideGrey, kChipOutsideGrey));
}

TEST_F(ChipsTest, SeveralTilesAreMosaicked) {
    const Config config = sample_config();
    std::vector<std::string> tiles;
    for (const char* t : {"r0c0", "r0c1", "r1c0", "r1c1"})
        tiles.push_back((kSource / "sample_tiles" / "hsx" / ("HSX_20230918_" + std::string(t) + ".tif")).string());
    const ChipSource mosaic(tiles, config.bands, ChipStyle::from(config));
    EXPECT_EQ(mosaic.width(), 640);
    EXPECT_EQ(mosaic.height(), 640);
    // C04 lies on the corner of all four tiles: its chip has no grey.
    const cv::Mat chip = mosaic.render(*rectangle(497300, 3940650, 497345, 3940695), "", kChipAfterColour);
    EXPECT_NE(at(chip, 20, 160), cv::Vec3b(kChipOutsideGrey, kChipOutsideGrey, kChipOutsideGrey));
    EXPECT_NE(at(chip, 300, 160), cv::Vec3b(kChipOutsideGrey, kChipOutsideGrey, kChipOutsideGrey));
}

TEST_F(ChipsTest, OverviewAndChipSheet) {
    const Config config = sample_config();
    const AlignedEpochs epochs = ingest_epochs(config);
    std::vector<Parcel> parcels;
    parcels.push_back(parcel(1, 497060, 3940830, 497100, 3940860));
    parcels.push_back(parcel(2, 497220, 3940940, 497250, 3940960));
    parcels.push_back(parcel(3, 497300, 3940650, 497345, 3940695));
    const ChipStyle style = ChipStyle::from(config);
    const OverviewImage overview = write_overview(dir.path(), epochs, parcels, style, 320);
    EXPECT_EQ(overview.width, 320);  // 640 px scene halved
    EXPECT_EQ(overview.height, 320);
    ASSERT_EQ(overview.boxes.size(), 3u);
    EXPECT_EQ(overview.boxes[0], cv::Rect(30, 70, 20, 15));  // C01: columns 60–100, rows 140–170 halved
    const cv::Mat image = read_chip(dir.path() / "overview.jpg");
    EXPECT_EQ(image.cols, 320);
    EXPECT_EQ(image.rows, 320);

    write_parcel_chips(dir.path(), epochs, parcels, style, "2023-04-10", "2023-09-18");
    write_chip_sheet(dir.path() / "chips" / "sheet.jpg", dir.path(), parcels, 24, 100);
    const cv::Mat sheet = read_chip(dir.path() / "chips" / "sheet.jpg");
    EXPECT_EQ(sheet.cols, 8 + 3 * (2 * 100 + 2 + 8));  // three pairs in one row
    EXPECT_EQ(sheet.rows, 8 + 100 + 22 + 8);
}

// ---- refusals --------------------------------------------------------------------------------

TEST_F(ChipsTest, WriteJpegRefusesAnUnwritablePath) {
    test::write_text(dir / "a-file", "not a folder");
    const cv::Mat image(8, 8, CV_8UC3, cv::Scalar::all(0));
    try {
        write_jpeg(dir / "a-file" / "chip.jpg", image);
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("chips: '" + (dir / "a-file").string() + "' is a file, not a folder"), std::string::npos)
            << e.what();
    }
}

template <typename Error, typename F>
void expect_refusal(F&& f, const std::string& text) {
    try {
        f();
        FAIL() << "no error; expected: " << text;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
}

TEST_F(ChipsTest, RefusesRastersItCannotPlaceChipsOn) {
    expect_refusal<InputError>([&] { ChipSource({(dir / "missing.tif").string()}, BandRoles{}, ChipStyle{}); },
                               "chips: raster '" + (dir / "missing.tif").string() + "' does not exist; check the path of the epoch's tiles");
    expect_refusal<InputError>([&] { ChipSource({(dir / "a.tif").string(), (dir / "b.tif").string()}, BandRoles{}, ChipStyle{}); },
                               "chips: raster '" + (dir / "a.tif").string() + "' does not exist; check the path of the epoch's tiles");
    test::write_text(dir / "a.txt", "not a raster");
    test::write_text(dir / "b.txt", "not a raster either");
    expect_refusal<InputError>([&] { ChipSource({(dir / "a.txt").string()}, BandRoles{}, ChipStyle{}); }, "as a raster");
    expect_refusal<InputError>([&] { ChipSource({(dir / "a.txt").string(), (dir / "b.txt").string()}, BandRoles{}, ChipStyle{}); },
                               "; give tiles GDAL reads, with the same bands and CRS");
    // A tile gdalbuildvrt would leave out with a warning: one that is no raster beside one that is.
    write_tiled_scene(dir / "good.tif", 64, 0, 0);
    expect_refusal<InputError>([&] { ChipSource({(dir / "good.tif").string(), (dir / "a.txt").string()}, BandRoles{}, ChipStyle{}); },
                               "chips: a tile cannot be mosaicked with the others (");
    expect_refusal<InputError>([&] { ChipSource({(dir / "good.tif").string(), (dir / "a.txt").string()}, BandRoles{}, ChipStyle{}); },
                               "; give the epoch's tiles GDAL reads, with the same bands, data type and CRS");
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create((dir / "plain.tif").c_str(), 16, 16, 4, GDT_Byte, nullptr));
    }
    expect_refusal<InputError>([&] { ChipSource({(dir / "plain.tif").string()}, BandRoles{}, ChipStyle{}); },
                               "has no georeferencing, so no chip can be placed on it");
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create((dir / "rotated.tif").c_str(), 16, 16, 4, GDT_Byte, nullptr));
        double gt[6] = {497000, 1, 0.5, 3941000, 0.5, -1};
        ds->SetGeoTransform(gt);
    }
    expect_refusal<InputError>([&] { ChipSource({(dir / "rotated.tif").string()}, BandRoles{}, ChipStyle{}); },
                               "is not north-up (rotated or flipped geotransform); warp it north-up first");
    write_tiled_scene(dir / "scene.tif", 64, 0, 0);
    BandRoles five;
    five.nir = 5;
    ChipStyle false_colour;
    false_colour.false_colour = true;
    expect_refusal<InputError>([&] { ChipSource({(dir / "scene.tif").string()}, five, false_colour); },
                               "has 4 band(s) but the chips need band 5");
    BandRoles no_nir;
    no_nir.nir = 0;
    expect_refusal<ConfigError>([&] { ChipSource({(dir / "scene.tif").string()}, no_nir, false_colour); },
                                "chips: output.chip_colour: false shows near infrared, but bands.nir is 0; set bands.nir to the NIR band or output.chip_colour: true");
    BandRoles no_blue;
    no_blue.blue = 0;
    expect_refusal<ConfigError>([&] { ChipSource({(dir / "scene.tif").string()}, no_blue, ChipStyle{}); },
                                "output.chip_colour: true shows red, green and blue, but bands.blue is 0");
}

TEST_F(ChipsTest, RefusesARasterItCannotRead) {
    // A DEFLATE GeoTIFF cut in half: it opens, its second half cannot be decoded.
    const fs::path tif = dir / "cut.tif";
    {
        char** options = CSLSetNameValue(nullptr, "TILED", "YES");
        options = CSLSetNameValue(options, "COMPRESS", "DEFLATE");
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(tif.c_str(), 512, 512, 4, GDT_UInt16, options));
        CSLDestroy(options);
        double gt[6] = {497000, 1, 0, 3941000, 0, -1};
        ds->SetGeoTransform(gt);
        std::vector<unsigned short> noise(512 * 512);
        std::uint32_t state = 1;
        for (int b = 1; b <= 4; ++b) {
            for (auto& v : noise) v = static_cast<unsigned short>((state = state * 1664525u + 1013904223u) >> 20);
            ASSERT_EQ(ds->GetRasterBand(b)->RasterIO(GF_Write, 0, 0, 512, 512, noise.data(), 512, 512, GDT_UInt16, 0, 0), CE_None);
        }
    }
    fs::resize_file(tif, fs::file_size(tif) / 2);
    expect_refusal<InputError>([&] { ChipSource({tif.string()}, BandRoles{}, ChipStyle{}); },
                               "chips: cannot read '" + tif.string() + "' for the stretch: ");
    ChipStretch stretch;
    stretch.hi = {1, 1, 1};
    const ChipSource source({tif.string()}, BandRoles{}, ChipStyle{}, stretch);
    expect_refusal<InputError>([&] { source.render(*rectangle(497400, 3940520, 497420, 3940540), "", kChipAfterColour); },
                               "chips: cannot read '" + tif.string() + "': ");
}

TEST_F(ChipsTest, ChipSheetRefusesMissingChipsAndNoParcels) {
    std::vector<Parcel> parcels;
    expect_refusal<InputError>([&] { write_chip_sheet(dir / "sheet.jpg", dir.path(), parcels); }, "chips: no parcel to put on the chip sheet");
    parcels.push_back(parcel(9, 497060, 3940830, 497100, 3940860));
    expect_refusal<InputError>([&] { write_chip_sheet(dir / "sheet.jpg", dir.path(), parcels); }, "cannot read the chip");
    test::write_text(dir / "grey.txt", "x");
    expect_refusal<InputError>([&] { read_chip(dir / "grey.txt"); }, "; write the chips again");
}

// ---- configuration ---------------------------------------------------------------------------

Config parse(const std::string& yaml) { return Config::parse(yaml, "/tmp/chips.yaml"); }

TEST(ChipsConfig, ReadsTheOutputKeysIntoTheStyle) {
    const Config defaults = parse("county: {name: x}\n");
    EXPECT_TRUE(defaults.package.chips);
    EXPECT_TRUE(defaults.package.html);
    EXPECT_TRUE(defaults.package.kmz);
    const Config c = parse("output: {chips: false, chip_margin_m: 35, chip_size_px: 512, chip_colour: false, html: no, kmz: off}\n");
    EXPECT_FALSE(c.package.chips);
    EXPECT_FALSE(c.package.html);
    EXPECT_FALSE(c.package.kmz);
    const ChipStyle style = ChipStyle::from(c);
    EXPECT_EQ(style.size_px, 512);
    EXPECT_DOUBLE_EQ(style.margin_m, 35);
    EXPECT_TRUE(style.false_colour);
    EXPECT_FALSE(ChipStyle::from(defaults).false_colour);
    EXPECT_EQ(c.to_json()["output"]["chip_size_px"], 512);
}

TEST(ChipsConfig, RefusesBadOutputValues) {
    expect_refusal<ConfigError>([] { parse("output: {chips: maybe}\n"); }, "key 'output.chips': 'maybe' is not true or false");
    expect_refusal<ConfigError>([] { parse("output: {html: 2}\n"); }, "key 'output.html': '2' is not true or false");
    expect_refusal<ConfigError>([] { parse("output: {kmz: [a]}\n"); }, "key 'output.kmz': expected a single value");
    expect_refusal<ConfigError>([] { parse("output: {chip_margin_m: -1}\n"); }, "key 'output.chip_margin_m': value -1 is out of range [0, 1000]");
    expect_refusal<ConfigError>([] { parse("output: {chip_size_px: 32}\n"); }, "key 'output.chip_size_px': value 32 is out of range [64, 2048]");
    expect_refusal<ConfigError>([] { parse("output: {chip_size_px: 100.5}\n"); }, "key 'output.chip_size_px': expected a whole number");
    expect_refusal<ConfigError>([] { parse("output: {chip_colour: nir}\n"); }, "key 'output.chip_colour': 'nir' is not one of: true, false");
}

}  // namespace
}  // namespace weipian
