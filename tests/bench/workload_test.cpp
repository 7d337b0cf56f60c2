// The standard benchmark workload: deterministic bytes, the promised share of changed pixels and
// building sizes, georeferencing and tiling, reuse by stamp, and a detector that finds it.
#include "bench/workload.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <gdal_alg.h>
#include <gdal_priv.h>
#include <nlohmann/json.hpp>
#include <ogr_spatialref.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/detect.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

constexpr int kSize = 512;
constexpr std::int64_t kMmuPixels = 313;  // 200 m² at 0.8 m, rounded up

WorkloadSpec small_spec(bool deflate = false) {
    WorkloadSpec spec;
    spec.size = kSize;
    spec.deflate = deflate;
    return spec;
}

std::string file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<int> band_checksums(const fs::path& path) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    std::vector<int> sums;
    for (int b = 1; b <= ds->GetRasterCount(); ++b)
        sums.push_back(GDALChecksumImage(ds->GetRasterBand(b), 0, 0, ds->GetRasterXSize(), ds->GetRasterYSize()));
    return sums;
}

TEST(Workload, SameSpecGivesTheSameBytes) {
    TempDir a, b;
    const WorkloadFiles first = make_workload(small_spec(true), a.path());
    const WorkloadFiles second = make_workload(small_spec(true), b.path());
    EXPECT_TRUE(first.generated);
    EXPECT_TRUE(second.generated);
    for (auto member : {&WorkloadFiles::before, &WorkloadFiles::after, &WorkloadFiles::before_deflate, &WorkloadFiles::after_deflate}) {
        const std::string x = file_bytes(first.*member), y = file_bytes(second.*member);
        EXPECT_GT(x.size(), 0u) << (first.*member);
        EXPECT_TRUE(x == y) << (first.*member) << " differs between two generations";
    }
    EXPECT_EQ(file_bytes(first.truth), file_bytes(second.truth));
    // The DEFLATE copies hold the same pixels as the uncompressed files.
    EXPECT_EQ(band_checksums(first.before), band_checksums(first.before_deflate));
    EXPECT_EQ(band_checksums(first.after), band_checksums(first.after_deflate));
    // Another seed is another scene.
    WorkloadSpec other = small_spec();
    other.seed += 1;
    TempDir c;
    const WorkloadFiles third = make_workload(other, c.path());
    EXPECT_NE(band_checksums(first.after), band_checksums(third.after));
}

TEST(Workload, ChangedShareAndBuildingSizes) {
    const WorkloadSpec spec = small_spec();
    const WorkloadTruth truth = plan_workload_truth(spec);
    const double pixels = static_cast<double>(kSize) * kSize;
    EXPECT_NEAR(static_cast<double>(truth.changed_pixels) / pixels, 0.027, 0.005);
    ASSERT_GE(truth.blobs.size(), 5u);
    std::int64_t sum = 0, large = 0, small = 0, l_shapes = 0;
    cv::Mat owner(kSize, kSize, CV_32SC1, cv::Scalar(0));
    for (std::size_t i = 0; i < truth.blobs.size(); ++i) {
        const WorkloadBlob& b = truth.blobs[i];
        EXPECT_GE(b.pixel_count, 20);
        EXPECT_LE(b.pixel_count, 5000);
        EXPECT_GE(b.x0, 0);
        EXPECT_GE(b.y0, 0);
        EXPECT_LE(b.x0 + b.width, kSize);
        EXPECT_LE(b.y0 + b.height, kSize);
        std::int64_t counted = 0;
        for (int y = b.y0; y < b.y0 + b.height; ++y)
            for (int x = b.x0; x < b.x0 + b.width; ++x)
                if (b.contains(x, y)) {
                    ++counted;
                    EXPECT_EQ(owner.at<int>(y, x), 0) << "buildings overlap at " << x << "," << y;
                    owner.at<int>(y, x) = static_cast<int>(i) + 1;
                }
        EXPECT_EQ(counted, b.pixel_count);
        sum += b.pixel_count;
        (b.pixel_count >= kMmuPixels ? large : small) += 1;
        l_shapes += b.notch_width > 0;
    }
    EXPECT_EQ(sum, truth.changed_pixels);
    EXPECT_GT(large, small);  // most buildings are at or above the minimum mapping unit

    // Over the standard 2048² scene both kinds of shape and both sides of the unit occur.
    WorkloadSpec bigger = spec;
    bigger.size = 2048;
    const WorkloadTruth t2 = plan_workload_truth(bigger);
    std::int64_t below = 0, notched = 0;
    for (const auto& b : t2.blobs) {
        below += b.pixel_count < kMmuPixels;
        notched += b.notch_width > 0;
        EXPECT_GE(b.pixel_count, 20);
        EXPECT_LE(b.pixel_count, 5000);
    }
    EXPECT_GT(t2.blobs.size(), 100u);
    EXPECT_GT(below, 10);
    EXPECT_GT(notched, 10);
    EXPECT_NEAR(static_cast<double>(t2.changed_pixels) / (2048.0 * 2048.0), 0.027, 0.001);
}

TEST(Workload, GeoreferencingTilingAndTruthFile) {
    TempDir dir;
    const WorkloadFiles files = make_workload(small_spec(true), dir.path());
    for (const fs::path& path : {files.before, files.after, files.before_deflate, files.after_deflate}) {
        GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
        ASSERT_TRUE(ds) << path;
        EXPECT_EQ(ds->GetRasterXSize(), kSize);
        EXPECT_EQ(ds->GetRasterYSize(), kSize);
        EXPECT_EQ(ds->GetRasterCount(), 4);
        double gt[6];
        ASSERT_EQ(ds->GetGeoTransform(gt), CE_None);
        EXPECT_DOUBLE_EQ(gt[0], 497000.0);
        EXPECT_DOUBLE_EQ(gt[1], 0.8);
        EXPECT_DOUBLE_EQ(gt[2], 0.0);
        EXPECT_DOUBLE_EQ(gt[3], 3941000.0);
        EXPECT_DOUBLE_EQ(gt[4], 0.0);
        EXPECT_DOUBLE_EQ(gt[5], -0.8);
        const OGRSpatialReference* srs = ds->GetSpatialRef();
        ASSERT_NE(srs, nullptr);
        ASSERT_NE(srs->GetAuthorityCode(nullptr), nullptr);
        EXPECT_STREQ(srs->GetAuthorityCode(nullptr), "4546");
        for (int b = 1; b <= 4; ++b) {
            GDALRasterBand* band = ds->GetRasterBand(b);
            EXPECT_EQ(band->GetRasterDataType(), GDT_UInt16);
            int bx = 0, by = 0;
            band->GetBlockSize(&bx, &by);
            EXPECT_EQ(bx, 256);
            EXPECT_EQ(by, 256);
        }
        EXPECT_STREQ(ds->GetRasterBand(4)->GetDescription(), "nir");
        const char* compression = ds->GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE");
        const bool deflate = path == files.before_deflate || path == files.after_deflate;
        if (deflate) {
            ASSERT_NE(compression, nullptr);
            EXPECT_STREQ(compression, "DEFLATE");
            const char* predictor = ds->GetMetadataItem("PREDICTOR", "IMAGE_STRUCTURE");
            ASSERT_NE(predictor, nullptr);
            EXPECT_STREQ(predictor, "2");
        } else {
            EXPECT_EQ(compression, nullptr) << path;
        }
    }
    std::ifstream in(files.truth);
    const nlohmann::json truth = nlohmann::json::parse(in);
    const WorkloadTruth planned = plan_workload_truth(small_spec());
    EXPECT_EQ(truth["blobs"].get<std::size_t>(), planned.blobs.size());
    EXPECT_EQ(truth["changed_pixels"].get<std::int64_t>(), planned.changed_pixels);
    EXPECT_EQ(truth["mmu_pixels"].get<std::int64_t>(), kMmuPixels);
    EXPECT_EQ(files.blobs, static_cast<std::int64_t>(planned.blobs.size()));
}

TEST(Workload, ReusedWhenTheStampMatches) {
    TempDir dir;
    const WorkloadFiles first = make_workload(small_spec(), dir.path());
    ASSERT_TRUE(first.generated);
    EXPECT_TRUE(first.before_deflate.empty());
    const auto written = fs::last_write_time(first.after);
    const WorkloadFiles again = make_workload(small_spec(), dir.path());
    EXPECT_FALSE(again.generated);
    EXPECT_EQ(again.blobs, first.blobs);
    EXPECT_EQ(again.changed_pixels, first.changed_pixels);
    EXPECT_EQ(fs::last_write_time(again.after), written);
    // Asking for DEFLATE copies that are not there regenerates; then both kinds are reused.
    const WorkloadFiles with_deflate = make_workload(small_spec(true), dir.path());
    EXPECT_TRUE(with_deflate.generated);
    EXPECT_TRUE(fs::exists(with_deflate.after_deflate));
    EXPECT_FALSE(make_workload(small_spec(true), dir.path()).generated);
    EXPECT_FALSE(make_workload(small_spec(false), dir.path()).generated);
    // Another spec, or a missing file, regenerates.
    WorkloadSpec other = small_spec();
    other.seed = 7;
    EXPECT_TRUE(make_workload(other, dir.path()).generated);
    fs::remove(dir / "before.tif");
    EXPECT_TRUE(make_workload(other, dir.path()).generated);
}

TEST(Workload, RefusesASceneSmallerThanATile) {
    TempDir dir;
    WorkloadSpec spec = small_spec();
    spec.size = 100;
    try {
        make_workload(spec, dir.path());
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("size 100 is below 256 px"), std::string::npos) << e.what();
    }
}

// The default detector and cleaning find the buildings at or above the minimum mapping unit,
// drop the ones below it, and flag almost nothing else.
TEST(Workload, DefaultDetectorFindsTheBuildings) {
    TempDir dir;
    WorkloadSpec spec = small_spec();
    spec.size = 1024;
    const WorkloadFiles files = make_workload(spec, dir.path());
    Config config;
    config.before.tiles = {files.before.string()};
    config.after.tiles = {files.after.string()};
    config.detect.threshold = 0.15;
    config.clean.min_area_m2 = 200;
    const AlignedEpochs epochs = ingest_epochs(config);
    const ChangeMask change = detect_change(epochs, config);
    ASSERT_EQ(change.mask.rows, spec.size);

    const WorkloadTruth truth = plan_workload_truth(spec);
    cv::Mat inside(spec.size, spec.size, CV_8UC1, cv::Scalar(0));
    std::int64_t large = 0, found = 0, small_flagged = 0;
    for (const auto& b : truth.blobs) {
        std::int64_t hit = 0;
        for (int y = b.y0; y < b.y0 + b.height; ++y)
            for (int x = b.x0; x < b.x0 + b.width; ++x)
                if (b.contains(x, y)) {
                    inside.at<std::uint8_t>(y, x) = 1;
                    hit += change.mask.at<std::uint8_t>(y, x) != 0;
                }
        if (b.pixel_count >= kMmuPixels) {
            ++large;
            found += hit >= b.pixel_count * 9 / 10;
        } else {
            small_flagged += hit;
        }
    }
    ASSERT_GT(large, 20);
    EXPECT_GE(static_cast<double>(found), 0.95 * static_cast<double>(large)) << found << " of " << large;
    EXPECT_EQ(small_flagged, 0);  // below the minimum mapping unit: removed by cleaning
    cv::Mat outside;
    cv::bitwise_and(change.mask, inside == 0, outside);
    EXPECT_LT(cv::countNonZero(outside), cv::countNonZero(change.mask) / 100) << "flagged outside the buildings";
    EXPECT_NEAR(change.components.count(), large, large / 20 + 1);
}

}  // namespace
}  // namespace weipian
