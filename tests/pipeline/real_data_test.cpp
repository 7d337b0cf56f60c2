// Acceptance on real imagery from ../shared/data (skipped where that folder is absent).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include <gdal_alg.h>
#include <ogrsf_frmts.h>

#include "kernels/polygonize.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/detect.hpp"
#include "pipeline/evaluate.hpp"
#include "pipeline/main_job.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = WEIPIAN_SOURCE_DIR;
const fs::path kData = kSource / ".." / "shared" / "data";

#define REQUIRE_DATA(sub)                                                              \
    if (!fs::exists(kData / sub)) GTEST_SKIP() << (kData / sub) << " is not here"

TEST(RealData, NanjingLandsatMeetsTheSampleBars) {
    REQUIRE_DATA("nanjing-landsat");
    const Config config = Config::load(kSource / "configs" / "nanjing.yaml");
    const AlignedEpochs epochs = ingest_epochs(config);
    const ChangeMask change = detect_change(epochs, config);
    const cv::Mat label = read_label_raster(kData / "nanjing-landsat" / "reference_labels_georef.tif", epochs);
    const auto r = evaluate_mask(change.mask, label, LabelKind::Automatic, config.clean.connectivity, change.valid);
    EXPECT_EQ(r["label_kind"], "sparse");
    EXPECT_EQ(r["changed_samples"], 2363);
    EXPECT_EQ(r["unchanged_samples"], 12393);
    EXPECT_GE(r["sample_recall"].get<double>(), 0.40);
    EXPECT_LE(r["sample_false_alarm_rate"].get<double>(), 0.03);
}

TEST(RealData, NanjingMainJobAssignsDistricts) {
    REQUIRE_DATA("nanjing-landsat");
    test::TempDir dir;
    Config config = Config::load(kSource / "configs" / "nanjing.yaml");
    config.output_dir = (dir / "out").string();
    const RunSummary summary = run_main_job(config);
    EXPECT_GT(summary.parcels, 100);
    const std::string csv = test::read_text(dir / "out" / "townships.csv");
    EXPECT_NE(csv.find("江宁区"), std::string::npos);
    // Reprojected from EPSG:4326 (lat/lon authority order): a swapped axis would leave every
    // parcel unassigned.
    EXPECT_EQ(csv.find("unassigned"), std::string::npos) << csv;
}

TEST(RealData, PolygonizerEqualsGdalPolygonizeOnTheNanjingMask) {
    REQUIRE_DATA("nanjing-landsat");
    Config config = Config::load(kSource / "configs" / "nanjing.yaml");
    config.clean.min_area_m2 = 0;  // keep single pixels: the hardest case for both
    const AlignedEpochs epochs = ingest_epochs(config);
    const ChangeMask change = detect_change(epochs, config);
    for (const auto connectivity : {kernels::Connectivity::Four, kernels::Connectivity::Eight}) {
        const auto ours = kernels::polygonize(change.mask, connectivity, 1);
        GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
        GDALDatasetUniquePtr raster(mem->Create("", change.mask.cols, change.mask.rows, 1, GDT_Byte, nullptr));
        raster->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, change.mask.cols, change.mask.rows, change.mask.data,
                                           change.mask.cols, change.mask.rows, GDT_Byte, 0,
                                           static_cast<GSpacing>(change.mask.step));
        GDALDatasetUniquePtr vector(GetGDALDriverManager()->GetDriverByName("Memory")->Create("", 0, 0, 0, GDT_Unknown, nullptr));
        OGRLayer* layer = vector->CreateLayer("p", nullptr, wkbPolygon, nullptr);
        OGRFieldDefn value("value", OFTInteger);
        layer->CreateField(&value);
        char** options = connectivity == kernels::Connectivity::Eight ? CSLSetNameValue(nullptr, "8CONNECTED", "8") : nullptr;
        GDALRasterBandH band = GDALRasterBand::ToHandle(raster->GetRasterBand(1));
        ASSERT_EQ(GDALPolygonize(band, band, OGRLayer::ToHandle(layer), 0, options, nullptr, nullptr), CE_None);
        CSLDestroy(options);
        // (area px, holes); with 8-connectivity ours are split into valid parts at diagonal
        // pinches where GDAL's rings touch themselves, so only the areas compare.
        const bool four = connectivity == kernels::Connectivity::Four;
        std::vector<std::pair<double, int>> gdal_polygons, our_polygons;
        for (auto& f : *layer) {
            const auto* polygon = f->GetGeometryRef()->toPolygon();
            gdal_polygons.emplace_back(polygon->get_Area(), four ? polygon->getNumInteriorRings() : 0);
        }
        for (const auto& p : ours)
            our_polygons.emplace_back(static_cast<double>(p.pixel_count), four ? static_cast<int>(p.parts[0].holes.size()) : 0);
        std::sort(gdal_polygons.begin(), gdal_polygons.end());
        std::sort(our_polygons.begin(), our_polygons.end());
        ASSERT_GT(our_polygons.size(), 2500u);  // 3353 four-connected, 2823 eight-connected
        EXPECT_EQ(our_polygons, gdal_polygons) << "connectivity " << static_cast<int>(connectivity);
    }
}

TEST(RealData, SloveniaSeasonalChangeIsNotConstruction) {
    REQUIRE_DATA("slovenia-s2");
    test::TempDir dir;
    Config config = Config::load(kSource / "configs" / "slovenia.yaml");
    config.output_dir = (dir / "out").string();
    const RunSummary summary = run_main_job(config);
    EXPECT_LE((*summary.report)["counts"]["area_m2"].get<double>(), 5000.0);  // at most 0.5 ha
}

}  // namespace
}  // namespace weipian
