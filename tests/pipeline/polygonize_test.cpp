// Pixel polygons to map geometry (pipeline/polygons.cpp): the geometry the pipeline writes for
// every component is valid OGC geometry (GEOS) with the area of its pixels, for both
// connectivities, including 8-connected components pinched at diagonal corners.
#include "pipeline/polygonize.hpp"
#include "pipeline/core/errors.hpp"

#include <cpl_conv.h>
#include <ogr_api.h>
#include <ogr_geometry.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "kernels/polygonize.hpp"

namespace weipian {
namespace {

using kernels::Connectivity;

// Half-metre pixels, north up, at a small origin so areas are exact in binary.
constexpr GeoTransform kGeoTransform{1000.0, 0.5, 0.0, 2000.0, 0.0, -0.5};
constexpr double kPixelArea = 0.25;

// '#' is foreground, anything else background.
cv::Mat mask_from(std::initializer_list<std::string_view> rows) {
    cv::Mat mask(static_cast<int>(rows.size()), static_cast<int>(rows.begin()->size()), CV_8UC1, cv::Scalar(0));
    int r = 0;
    for (std::string_view row : rows) {
        for (int c = 0; c < mask.cols; ++c) mask.at<std::uint8_t>(r, c) = row[static_cast<std::size_t>(c)] == '#' ? 1 : 0;
        ++r;
    }
    return mask;
}

std::string wkt_of(const OGRGeometry& geometry) {
    char* text = nullptr;
    geometry.exportToWkt(&text);
    std::string out = text ? text : "";
    CPLFree(text);
    return out;
}

// Polygonizes `mask`, converts every component as the pipeline does, and checks: each geometry
// is valid, has the area of its pixels, is a Polygon when it has one part (always under
// 4-connectivity) and a MultiPolygon of its parts otherwise; the areas add up to the mask's.
void expect_valid_geometry(const cv::Mat& mask, Connectivity connectivity) {
    const auto polygons = kernels::polygonize(mask, connectivity, 1);
    double total = 0;
    int invalid = 0;
    for (const auto& p : polygons) {
        const OGRGeometryUniquePtr geometry = to_geometry(p, kGeoTransform);
        ASSERT_NE(geometry, nullptr);
        const auto type = wkbFlatten(geometry->getGeometryType());
        if (connectivity == Connectivity::Four) {
            EXPECT_EQ(p.parts.size(), 1u);
        }
        if (p.parts.size() == 1) {
            EXPECT_EQ(type, wkbPolygon);
        } else {
            EXPECT_EQ(type, wkbMultiPolygon);
            if (type == wkbMultiPolygon) {
                EXPECT_EQ(geometry->toMultiPolygon()->getNumGeometries(), static_cast<int>(p.parts.size()));
            }
        }
        if (!geometry->IsValid() && ++invalid <= 3)
            ADD_FAILURE() << "component at pixel " << p.first_pixel << " is not valid: " << wkt_of(*geometry);
        const double area = OGR_G_Area(OGRGeometry::ToHandle(geometry.get()));
        EXPECT_NEAR(area, static_cast<double>(p.pixel_count) * kPixelArea, 1e-9) << "component at pixel " << p.first_pixel;
        total += area;
    }
    EXPECT_EQ(invalid, 0) << "of " << polygons.size() << " components";
    EXPECT_NEAR(total, cv::countNonZero(mask) * kPixelArea, 1e-6);
}

cv::Mat salt_and_pepper(cv::Size size, std::uint64_t seed, double density) {
    cv::Mat noise(size, CV_32F);
    cv::RNG(seed).fill(noise, cv::RNG::UNIFORM, 0.0, 1.0);
    return noise < density;
}

// A checkerboard (every pixel touching its neighbours only at corners) with a share of its
// pixels flipped: diagonal pinches everywhere, folded holes, islands in holes.
cv::Mat broken_checkerboard(cv::Size size, std::uint64_t seed, double flip) {
    cv::RNG rng(seed);
    cv::Mat mask(size, CV_8UC1);
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x)
            mask.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(((x + y) % 2 == 0) != (rng.uniform(0.0, 1.0) < flip));
    return mask;
}

// Blurred noise thresholded: blobs with holes, bays and diagonal pinches along their edges.
cv::Mat blobs(cv::Size size, std::uint64_t seed, double sigma, double level) {
    cv::Mat noise(size, CV_32F);
    cv::RNG(seed).fill(noise, cv::RNG::UNIFORM, 0.0, 1.0);
    cv::GaussianBlur(noise, noise, cv::Size(0, 0), sigma);
    cv::Scalar mean, stddev;
    cv::meanStdDev(noise, mean, stddev);
    return noise > mean[0] + level * stddev[0];
}

TEST(PixelPolygonGeometry, RandomEightConnectedMasksGiveValidGeometryOfTheirArea) {
    for (const cv::Size size : {cv::Size(7, 5), cv::Size(64, 48), cv::Size(201, 151)}) {
        for (std::uint64_t seed = 1; seed <= 4; ++seed) {
            for (double density : {0.2, 0.45, 0.5, 0.55, 0.7}) {
                SCOPED_TRACE("salt and pepper " + std::to_string(size.width) + "x" + std::to_string(size.height) + " seed " +
                             std::to_string(seed) + " density " + std::to_string(density));
                expect_valid_geometry(salt_and_pepper(size, seed, density), Connectivity::Eight);
            }
            for (double flip : {0.0, 0.05, 0.2}) {
                SCOPED_TRACE("checkerboard " + std::to_string(size.width) + "x" + std::to_string(size.height) + " seed " +
                             std::to_string(seed) + " flip " + std::to_string(flip));
                expect_valid_geometry(broken_checkerboard(size, seed, flip), Connectivity::Eight);
            }
            for (double level : {-0.5, 0.3, 1.0}) {
                SCOPED_TRACE("blobs " + std::to_string(size.width) + "x" + std::to_string(size.height) + " seed " +
                             std::to_string(seed) + " level " + std::to_string(level));
                expect_valid_geometry(blobs(size, seed, 1.5, level), Connectivity::Eight);
            }
        }
    }
}

TEST(PixelPolygonGeometry, RandomFourConnectedMasksGiveValidPolygonsOfTheirArea) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        for (double density : {0.3, 0.5, 0.6}) {
            SCOPED_TRACE("seed " + std::to_string(seed) + " density " + std::to_string(density));
            expect_valid_geometry(salt_and_pepper(cv::Size(120, 90), seed, density), Connectivity::Four);
        }
        SCOPED_TRACE("checkerboard seed " + std::to_string(seed));
        expect_valid_geometry(broken_checkerboard(cv::Size(120, 90), seed, 0.1), Connectivity::Four);
    }
}

// Two blocks touching at one corner, the first with a hole touching its outer ring at a vertex:
// GDALPolygonize (8CONNECTED=8) makes one self-touching outer ring (invalid); the pipeline
// writes a valid MultiPolygon of the two blocks, with the hole, of the same area.
TEST(PixelPolygonGeometry, DiagonalPinchBecomesAValidMultiPolygon) {
    const cv::Mat mask = mask_from({"###...",
                                    "#.#...",
                                    "##....",
                                    "..##..",
                                    "..##.."});
    const auto polygons = kernels::polygonize(mask, Connectivity::Eight, 1);
    ASSERT_EQ(polygons.size(), 1u);
    const OGRGeometryUniquePtr geometry = to_geometry(polygons[0], kGeoTransform);
    ASSERT_EQ(wkbFlatten(geometry->getGeometryType()), wkbMultiPolygon);
    EXPECT_TRUE(geometry->IsValid()) << wkt_of(*geometry);
    const OGRMultiPolygon* multi = geometry->toMultiPolygon();
    ASSERT_EQ(multi->getNumGeometries(), 2);
    const OGRPolygon* frame = multi->getGeometryRef(0);
    const OGRPolygon* square = multi->getGeometryRef(1);
    EXPECT_EQ(frame->getNumInteriorRings(), 1);
    EXPECT_DOUBLE_EQ(frame->get_Area(), 7 * kPixelArea);
    EXPECT_EQ(square->getNumInteriorRings(), 0);
    EXPECT_DOUBLE_EQ(square->get_Area(), 4 * kPixelArea);
    // The parts meet at pixel corner (2, 3) only.
    const OGRGeometryUniquePtr meet(frame->Intersection(square));
    ASSERT_NE(meet, nullptr);
    EXPECT_EQ(wkbFlatten(meet->getGeometryType()), wkbPoint) << wkt_of(*meet);
    if (wkbFlatten(meet->getGeometryType()) == wkbPoint) {
        EXPECT_DOUBLE_EQ(meet->toPoint()->getX(), 1000.0 + 2 * 0.5);
        EXPECT_DOUBLE_EQ(meet->toPoint()->getY(), 2000.0 - 3 * 0.5);
    }
    EXPECT_DOUBLE_EQ(OGR_G_Area(OGRGeometry::ToHandle(geometry.get())), 11 * kPixelArea);

    // Under 4-connectivity the same blocks are two components, each a Polygon.
    const auto four = kernels::polygonize(mask, Connectivity::Four, 1);
    ASSERT_EQ(four.size(), 2u);
    EXPECT_EQ(wkbFlatten(to_geometry(four[0], kGeoTransform)->getGeometryType()), wkbPolygon);
    EXPECT_EQ(wkbFlatten(to_geometry(four[1], kGeoTransform)->getGeometryType()), wkbPolygon);
}

TEST(PolygonizeStageMessages, MinPixelsBelowOneIsAConfigError) {
    // `weipian polygonize --min-pixels 0` is refused by the command line (exit 2); a caller of
    // the stage gets the stage's own message.
    PolygonizeStage::Options options;
    options.min_pixels = 0;
    try {
        PolygonizeStage(options).validate();
        FAIL() << "min_pixels 0 accepted";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "polygonize: min_pixels 0 must be at least 1");
    }
}

}  // namespace
}  // namespace weipian
