#include "kernels/polygonize.hpp"

#include <cpl_conv.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <ogr_api.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cmath>
#include <compare>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace weipian::kernels {

// Readable parameter names in GoogleTest output (found by argument-dependent lookup).
static void PrintTo(Connectivity c, std::ostream* os) { *os << (c == Connectivity::Four ? "Four" : "Eight"); }

namespace {

// '#' is foreground (255), anything else background.
cv::Mat mask_from(std::initializer_list<std::string_view> rows) {
    const int cols = static_cast<int>(rows.begin()->size());
    cv::Mat mask(static_cast<int>(rows.size()), cols, CV_8UC1, cv::Scalar(0));
    int r = 0;
    for (std::string_view row : rows) {
        for (int c = 0; c < cols; ++c) mask.at<std::uint8_t>(r, c) = row[static_cast<std::size_t>(c)] == '#' ? 255 : 0;
        ++r;
    }
    return mask;
}

double part_area(const PolygonPart& part) {
    double area = ring_area(part.outer);
    for (const Ring& h : part.holes) area += ring_area(h);
    return area;
}

double polygon_area(const PixelPolygon& p) {
    double area = 0;
    for (const PolygonPart& part : p.parts) area += part_area(part);
    return area;
}

// Facts every ring must satisfy: closed, axis-parallel unit-grid edges, a corner at every
// vertex (no collinear vertices), no vertex passed twice (a simple ring: on the pixel grid a
// ring can only touch itself at a corner it turns at), inside the mask's corner grid.
void expect_well_formed_ring(const Ring& ring, const cv::Size& size) {
    ASSERT_GE(ring.size(), 5u);
    EXPECT_EQ(ring.front(), ring.back());
    const std::size_t n = ring.size() - 1;  // distinct vertices
    for (std::size_t i = 0; i < n; ++i) {
        const cv::Point a = ring[i];
        const cv::Point b = ring[(i + 1) % n];
        const cv::Point next = ring[(i + 2) % n];
        EXPECT_TRUE((a.x == b.x) != (a.y == b.y)) << "edge " << a << "-" << b << " is not axis-parallel";
        const bool straight = (a.x == b.x && b.x == next.x) || (a.y == b.y && b.y == next.y);
        EXPECT_FALSE(straight) << "collinear vertex " << b;
        EXPECT_TRUE(a.x >= 0 && a.y >= 0 && a.x <= size.width && a.y <= size.height) << a;
    }
    std::vector<std::pair<int, int>> vertices;
    for (std::size_t i = 0; i < n; ++i) vertices.emplace_back(ring[i].x, ring[i].y);
    std::sort(vertices.begin(), vertices.end());
    const auto twice = std::adjacent_find(vertices.begin(), vertices.end());
    EXPECT_EQ(twice, vertices.end()) << "the ring passes (" << twice->first << ", " << twice->second << ") twice";
}

void expect_well_formed(const std::vector<PixelPolygon>& polys, const cv::Mat& mask) {
    for (std::size_t i = 0; i < polys.size(); ++i) {
        const PixelPolygon& p = polys[i];
        SCOPED_TRACE("polygon " + std::to_string(i));
        ASSERT_FALSE(p.parts.empty());
        for (std::size_t j = 0; j < p.parts.size(); ++j) {
            const PolygonPart& part = p.parts[j];
            SCOPED_TRACE("part " + std::to_string(j));
            expect_well_formed_ring(part.outer, mask.size());
            EXPECT_GT(ring_area(part.outer), 0.0) << "outer ring must be clockwise in image coordinates";
            for (const Ring& h : part.holes) {
                expect_well_formed_ring(h, mask.size());
                EXPECT_LT(ring_area(h), 0.0) << "holes must be counter-clockwise in image coordinates";
            }
            // An outer ring starts at its part's first pixel: parts in raster order.
            if (j > 0) {
                const cv::Point a = p.parts[j - 1].outer.front();
                const cv::Point b = part.outer.front();
                EXPECT_TRUE(a.y < b.y || (a.y == b.y && a.x < b.x)) << "parts not in raster order: " << a << " then " << b;
            }
        }
        EXPECT_EQ(p.parts.front().outer.front(), p.first_pixel);
        EXPECT_EQ(polygon_area(p), static_cast<double>(p.pixel_count));
        EXPECT_NE(mask.at<std::uint8_t>(p.first_pixel), 0);
        if (i > 0) {
            const cv::Point a = polys[i - 1].first_pixel;
            const cv::Point b = p.first_pixel;
            EXPECT_TRUE(a.y < b.y || (a.y == b.y && a.x < b.x)) << "not in raster order: " << a << " then " << b;
        }
    }
}

TEST(Polygonize, SinglePixelIsUnitSquare) {
    const cv::Mat mask = mask_from({"....",
                                    "..#.",
                                    "...."});
    for (Connectivity conn : {Connectivity::Four, Connectivity::Eight}) {
        const auto polys = polygonize(mask, conn);
        ASSERT_EQ(polys.size(), 1u);
        EXPECT_EQ(polys[0].parts.at(0).outer, (Ring{{2, 1}, {3, 1}, {3, 2}, {2, 2}, {2, 1}}));
        EXPECT_EQ(polys[0].parts.at(0).outer.size(), 5u);
        EXPECT_EQ(ring_area(polys[0].parts.at(0).outer), 1.0);
        EXPECT_TRUE(polys[0].parts.at(0).holes.empty());
        EXPECT_EQ(polys[0].pixel_count, 1);
        EXPECT_EQ(polys[0].first_pixel, cv::Point(2, 1));
    }
}

TEST(Polygonize, LShapeKeepsOnlyCorners) {
    const cv::Mat mask = mask_from({"#..",
                                    "#..",
                                    "###"});
    const auto polys = polygonize(mask, Connectivity::Four);
    ASSERT_EQ(polys.size(), 1u);
    EXPECT_EQ(polys[0].parts.at(0).outer, (Ring{{0, 0}, {1, 0}, {1, 2}, {3, 2}, {3, 3}, {0, 3}, {0, 0}}));
    EXPECT_EQ(ring_area(polys[0].parts.at(0).outer), 5.0);
    EXPECT_EQ(polys[0].pixel_count, 5);
    EXPECT_TRUE(polys[0].parts.at(0).holes.empty());
    expect_well_formed(polys, mask);
}

TEST(Polygonize, SquareWithHole) {
    const cv::Mat mask = mask_from({".....",
                                    ".###.",
                                    ".#.#.",
                                    ".###.",
                                    "....."});
    for (Connectivity conn : {Connectivity::Four, Connectivity::Eight}) {
        const auto polys = polygonize(mask, conn);
        ASSERT_EQ(polys.size(), 1u);
        EXPECT_EQ(polys[0].parts.at(0).outer, (Ring{{1, 1}, {4, 1}, {4, 4}, {1, 4}, {1, 1}}));
        ASSERT_EQ(polys[0].parts.at(0).holes.size(), 1u);
        EXPECT_EQ(polys[0].parts.at(0).holes[0], (Ring{{2, 3}, {3, 3}, {3, 2}, {2, 2}, {2, 3}}));
        EXPECT_EQ(ring_area(polys[0].parts.at(0).holes[0]), -1.0);
        EXPECT_EQ(polys[0].pixel_count, 8);
        expect_well_formed(polys, mask);
    }
}

// The background pixel at (2, 2) touches the outside only at corner (3, 3). GDALPolygonize
// (both connectivities) makes it a hole touching the outer ring at that vertex, not a fold
// of a self-touching outer ring.
TEST(Polygonize, HoleTouchingOuterRingAtVertex) {
    const cv::Mat mask = mask_from({".....",
                                    ".###.",
                                    ".#.#.",
                                    ".##..",
                                    "....."});
    for (Connectivity conn : {Connectivity::Four, Connectivity::Eight}) {
        const auto polys = polygonize(mask, conn);
        ASSERT_EQ(polys.size(), 1u);
        EXPECT_EQ(polys[0].parts.at(0).outer, (Ring{{1, 1}, {4, 1}, {4, 3}, {3, 3}, {3, 4}, {1, 4}, {1, 1}}));
        ASSERT_EQ(polys[0].parts.at(0).holes.size(), 1u);
        EXPECT_EQ(polys[0].parts.at(0).holes[0], (Ring{{2, 3}, {3, 3}, {3, 2}, {2, 2}, {2, 3}}));
        EXPECT_EQ(ring_area(polys[0].parts.at(0).outer), 8.0);
        EXPECT_EQ(polys[0].pixel_count, 7);
        expect_well_formed(polys, mask);
    }
}

// Two background pixels touching at a corner inside a block: two holes meeting at a vertex.
TEST(Polygonize, HolesTouchingEachOtherAtVertex) {
    const cv::Mat mask = mask_from({"#####",
                                    "##.##",
                                    "###.#",
                                    "#####"});
    for (Connectivity conn : {Connectivity::Four, Connectivity::Eight}) {
        const auto polys = polygonize(mask, conn);
        ASSERT_EQ(polys.size(), 1u);
        ASSERT_EQ(polys[0].parts.at(0).holes.size(), 2u);
        EXPECT_EQ(polys[0].parts.at(0).holes[0], (Ring{{2, 2}, {3, 2}, {3, 1}, {2, 1}, {2, 2}}));
        EXPECT_EQ(polys[0].parts.at(0).holes[1], (Ring{{3, 3}, {4, 3}, {4, 2}, {3, 2}, {3, 3}}));
        EXPECT_EQ(polys[0].pixel_count, 18);
        expect_well_formed(polys, mask);
    }
}

TEST(Polygonize, DiagonalPairFourConnectedIsTwoPolygons) {
    for (const cv::Mat& mask : {mask_from({"#.", ".#"}), mask_from({".#", "#."})}) {
        const auto polys = polygonize(mask, Connectivity::Four);
        ASSERT_EQ(polys.size(), 2u);
        for (const PixelPolygon& p : polys) {
            EXPECT_EQ(p.parts.at(0).outer.size(), 5u);
            EXPECT_EQ(p.pixel_count, 1);
            EXPECT_TRUE(p.parts.at(0).holes.empty());
        }
        expect_well_formed(polys, mask);
    }
}

// With 8-connectivity the pair is one component, split at the shared corner into two parts
// (GDALPolygonize gives one figure-eight outer ring touching itself there: invalid OGC).
TEST(Polygonize, DiagonalPairEightConnectedIsOneComponentOfTwoParts) {
    const cv::Mat down_mask = mask_from({"#.", ".#"});
    const auto down = polygonize(down_mask, Connectivity::Eight);
    ASSERT_EQ(down.size(), 1u);
    EXPECT_EQ(down[0].pixel_count, 2);
    ASSERT_EQ(down[0].parts.size(), 2u);
    EXPECT_EQ(down[0].parts[0].outer, (Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}));
    EXPECT_EQ(down[0].parts[1].outer, (Ring{{1, 1}, {2, 1}, {2, 2}, {1, 2}, {1, 1}}));
    EXPECT_TRUE(down[0].parts[0].holes.empty());
    EXPECT_TRUE(down[0].parts[1].holes.empty());
    expect_well_formed(down, down_mask);

    const cv::Mat up_mask = mask_from({".#", "#."});
    const auto up = polygonize(up_mask, Connectivity::Eight);
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(up[0].first_pixel, cv::Point(1, 0));
    ASSERT_EQ(up[0].parts.size(), 2u);
    EXPECT_EQ(up[0].parts[0].outer, (Ring{{1, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 0}}));
    EXPECT_EQ(up[0].parts[1].outer, (Ring{{0, 1}, {1, 1}, {1, 2}, {0, 2}, {0, 1}}));
    EXPECT_EQ(polygon_area(up[0]), 2.0);
    expect_well_formed(up, up_mask);
}

// Two blocks pinched at one corner, one with a hole that touches its own outer ring at a
// vertex: one 8-connected component of two parts with the area of its pixels; under
// 4-connectivity the same rings as two components.
TEST(Polygonize, PinchedBlocksEightConnectedSplitAtThePinch) {
    const cv::Mat mask = mask_from({"###...",
                                    "#.#...",
                                    "##....",
                                    "..##..",
                                    "..##.."});
    const auto eight = polygonize(mask, Connectivity::Eight);
    ASSERT_EQ(eight.size(), 1u);
    EXPECT_EQ(eight[0].pixel_count, 11);
    EXPECT_EQ(eight[0].first_pixel, cv::Point(0, 0));
    ASSERT_EQ(eight[0].parts.size(), 2u);
    const PolygonPart& ring_block = eight[0].parts[0];
    EXPECT_EQ(ring_block.outer, (Ring{{0, 0}, {3, 0}, {3, 2}, {2, 2}, {2, 3}, {0, 3}, {0, 0}}));
    ASSERT_EQ(ring_block.holes.size(), 1u);
    EXPECT_EQ(ring_block.holes[0], (Ring{{1, 2}, {2, 2}, {2, 1}, {1, 1}, {1, 2}}));  // touches the outer ring at (2, 2)
    EXPECT_EQ(part_area(ring_block), 7.0);
    const PolygonPart& square = eight[0].parts[1];
    EXPECT_EQ(square.outer, (Ring{{2, 3}, {4, 3}, {4, 5}, {2, 5}, {2, 3}}));  // touches the first part at (2, 3)
    EXPECT_TRUE(square.holes.empty());
    EXPECT_EQ(part_area(square), 4.0);
    expect_well_formed(eight, mask);

    const auto four = polygonize(mask, Connectivity::Four);
    ASSERT_EQ(four.size(), 2u);
    EXPECT_TRUE(four[0].parts == std::vector<PolygonPart>{ring_block});
    EXPECT_TRUE(four[1].parts == std::vector<PolygonPart>{square});
}

// Under 4-connectivity a pixel touching its neighbour's corner from inside that neighbour's
// hole stays a separate polygon, and the hole ring passes that corner only once.
TEST(Polygonize, CornerTouchingIslandInsideHole) {
    const cv::Mat mask = mask_from({"######",
                                    "##...#",
                                    "#.#..#",
                                    "#....#",
                                    "######"});
    const auto four = polygonize(mask, Connectivity::Four);
    ASSERT_EQ(four.size(), 2u);
    EXPECT_EQ(four[0].pixel_count, 19);
    ASSERT_EQ(four[0].parts.at(0).holes.size(), 1u);
    EXPECT_EQ(ring_area(four[0].parts.at(0).holes[0]), -11.0);  // encloses the island
    EXPECT_EQ(four[1].pixel_count, 1);
    EXPECT_EQ(four[1].first_pixel, cv::Point(2, 2));
    expect_well_formed(four, mask);

    // One component of two parts: the frame with the hole as under 4-connectivity, and the
    // island in the hole touching it at a corner (GDAL folds the hole around the island).
    const auto eight = polygonize(mask, Connectivity::Eight);
    ASSERT_EQ(eight.size(), 1u);
    EXPECT_EQ(eight[0].pixel_count, 20);
    ASSERT_EQ(eight[0].parts.size(), 2u);
    EXPECT_TRUE(eight[0].parts[0] == four[0].parts.at(0));
    EXPECT_TRUE(eight[0].parts[1] == four[1].parts.at(0));
    EXPECT_EQ(eight[0].parts[1].outer, (Ring{{2, 2}, {3, 2}, {3, 3}, {2, 3}, {2, 2}}));
    expect_well_formed(eight, mask);
}

TEST(Polygonize, Checkerboard) {
    const cv::Mat mask = mask_from({"#.#.",
                                    ".#.#",
                                    "#.#.",
                                    ".#.#"});
    const auto four = polygonize(mask, Connectivity::Four);
    ASSERT_EQ(four.size(), 8u);
    for (const PixelPolygon& p : four) {
        EXPECT_EQ(p.pixel_count, 1);
        EXPECT_EQ(p.parts.at(0).outer.size(), 5u);
    }
    EXPECT_EQ(four[0].first_pixel, cv::Point(0, 0));
    EXPECT_EQ(four[1].first_pixel, cv::Point(2, 0));
    EXPECT_EQ(four[2].first_pixel, cv::Point(1, 1));
    expect_well_formed(four, mask);

    // One component of eight unit-square parts in raster order, touching at corners (GDAL:
    // one outer ring of area 10 touching itself, with two holes).
    const auto eight = polygonize(mask, Connectivity::Eight);
    ASSERT_EQ(eight.size(), 1u);
    EXPECT_EQ(eight[0].pixel_count, 8);
    ASSERT_EQ(eight[0].parts.size(), 8u);
    for (std::size_t i = 0; i < 8; ++i) {
        EXPECT_TRUE(eight[0].parts[i] == four[i].parts.at(0)) << i;
        EXPECT_TRUE(eight[0].parts[i].holes.empty());
    }
    expect_well_formed(eight, mask);
}

TEST(Polygonize, MinPixelsDropsSmallComponentsAndKeepsTheRest) {
    const cv::Mat mask = mask_from({"#.....##",
                                    "......##",
                                    "..#.....",
                                    ".###....",
                                    "..#....."});
    const auto all = polygonize(mask, Connectivity::Four, 1);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(polygonize(mask, Connectivity::Four, 0).size(), 3u);

    const auto four_up = polygonize(mask, Connectivity::Four, 4);
    ASSERT_EQ(four_up.size(), 2u);
    EXPECT_EQ(four_up[0].first_pixel, cv::Point(6, 0));
    EXPECT_EQ(four_up[0].pixel_count, 4);
    EXPECT_EQ(four_up[0].parts.at(0).outer, (Ring{{6, 0}, {8, 0}, {8, 2}, {6, 2}, {6, 0}}));
    EXPECT_EQ(four_up[1].first_pixel, cv::Point(2, 2));
    EXPECT_EQ(four_up[1].pixel_count, 5);
    EXPECT_EQ(four_up[1].parts.at(0).outer.size(), 13u);

    const auto five_up = polygonize(mask, Connectivity::Four, 5);
    ASSERT_EQ(five_up.size(), 1u);
    EXPECT_EQ(five_up[0].first_pixel, cv::Point(2, 2));

    EXPECT_TRUE(polygonize(mask, Connectivity::Four, 6).empty());
}

TEST(Polygonize, RoiViewMatchesCopyAndIgnoresPixelsOutside) {
    cv::Mat big(12, 16, CV_8UC1, cv::Scalar(0));
    big(cv::Rect(0, 0, 16, 12)).setTo(7);  // any nonzero value is foreground
    big(cv::Rect(4, 4, 3, 3)).setTo(0);    // a hole inside the ROI
    big(cv::Rect(9, 3, 1, 1)).setTo(0);    // a notch at the ROI's top-right corner
    const cv::Rect roi_rect(3, 3, 7, 5);
    const cv::Mat roi = big(roi_rect);
    ASSERT_FALSE(roi.isContinuous());

    const cv::Mat copy = roi.clone();
    for (Connectivity conn : {Connectivity::Four, Connectivity::Eight}) {
        const auto from_view = polygonize(roi, conn);
        const auto from_copy = polygonize(copy, conn);
        ASSERT_EQ(from_view.size(), 1u);
        ASSERT_EQ(from_copy.size(), 1u);
        EXPECT_EQ(from_view[0].parts.at(0).outer, from_copy[0].parts.at(0).outer);
        EXPECT_EQ(from_view[0].parts.at(0).holes, from_copy[0].parts.at(0).holes);
        // Coordinates are relative to the ROI; the foreground around it is not part of it.
        EXPECT_EQ(from_view[0].parts.at(0).outer, (Ring{{0, 0}, {6, 0}, {6, 1}, {7, 1}, {7, 5}, {0, 5}, {0, 0}}));
        ASSERT_EQ(from_view[0].parts.at(0).holes.size(), 1u);
        EXPECT_EQ(ring_area(from_view[0].parts.at(0).holes[0]), -9.0);
        EXPECT_EQ(from_view[0].pixel_count, 7 * 5 - 9 - 1);
        expect_well_formed(from_view, roi);
    }
}

TEST(Polygonize, FullMaskFollowsImageBorder) {
    const cv::Mat mask(4, 3, CV_8UC1, cv::Scalar(1));
    const auto polys = polygonize(mask, Connectivity::Eight);
    ASSERT_EQ(polys.size(), 1u);
    EXPECT_EQ(polys[0].parts.at(0).outer, (Ring{{0, 0}, {3, 0}, {3, 4}, {0, 4}, {0, 0}}));
    EXPECT_EQ(polys[0].pixel_count, 12);
}

TEST(Polygonize, EmptyAndBlankMasksGiveNoPolygons) {
    EXPECT_TRUE(polygonize(cv::Mat(0, 0, CV_8UC1), Connectivity::Four).empty());
    EXPECT_TRUE(polygonize(cv::Mat(5, 7, CV_8UC1, cv::Scalar(0)), Connectivity::Eight).empty());
}

TEST(Polygonize, RejectsMasksThatAreNotSingleChannelBytes) {
    for (int type : {CV_8UC3, CV_8SC1, CV_16UC1, CV_32FC1}) {
        const cv::Mat mask(4, 4, type, cv::Scalar::all(1));
        EXPECT_THROW(polygonize(mask, Connectivity::Four), std::invalid_argument) << "type " << type;
    }
}

// A component's polygon depends on its own pixels only: pixels of other components touching
// it at a corner (4-connectivity) act as background. Polygonizing each component alone, in a
// ROI of its bounding box, gives the same rings, shifted.
TEST(Polygonize, ComponentPolygonDependsOnItsOwnPixelsOnly) {
    cv::RNG rng(5);
    cv::Mat noise(60, 80, CV_32F);
    rng.fill(noise, cv::RNG::UNIFORM, 0.0, 1.0);
    const cv::Mat mask = noise < 0.55;
    for (Connectivity conn : {Connectivity::Four, Connectivity::Eight}) {
        cv::Mat labels;
        cv::Mat stats;
        cv::Mat centroids;
        cv::connectedComponentsWithStats(mask, labels, stats, centroids, conn == Connectivity::Eight ? 8 : 4, CV_32S);
        const auto whole = polygonize(mask, conn);
        ASSERT_EQ(static_cast<int>(whole.size()), stats.rows - 1);
        for (const PixelPolygon& p : whole) {
            const int label = labels.at<int>(p.first_pixel);
            const cv::Rect box(stats.at<int>(label, cv::CC_STAT_LEFT), stats.at<int>(label, cv::CC_STAT_TOP),
                               stats.at<int>(label, cv::CC_STAT_WIDTH), stats.at<int>(label, cv::CC_STAT_HEIGHT));
            const cv::Mat alone = labels == label;
            const auto own = polygonize(alone(box), conn);
            ASSERT_EQ(own.size(), 1u);
            auto shifted = [&](Ring ring) {
                for (cv::Point& v : ring) v += box.tl();
                return ring;
            };
            ASSERT_EQ(own[0].parts.size(), p.parts.size());
            for (std::size_t j = 0; j < p.parts.size(); ++j) {
                EXPECT_EQ(shifted(own[0].parts[j].outer), p.parts[j].outer);
                ASSERT_EQ(own[0].parts[j].holes.size(), p.parts[j].holes.size());
                for (std::size_t h = 0; h < p.parts[j].holes.size(); ++h)
                    EXPECT_EQ(shifted(own[0].parts[j].holes[h]), p.parts[j].holes[h]);
            }
            EXPECT_EQ(own[0].pixel_count, p.pixel_count);
        }
    }
}

TEST(RingArea, IsSignedShoelaceArea) {
    const Ring clockwise{{0, 0}, {3, 0}, {3, 2}, {0, 2}, {0, 0}};
    EXPECT_EQ(ring_area(clockwise), 6.0);
    Ring counter(clockwise.rbegin(), clockwise.rend());
    EXPECT_EQ(ring_area(counter), -6.0);
    EXPECT_EQ(ring_area(Ring{}), 0.0);
    const Ring l_shape{{0, 0}, {1, 0}, {1, 2}, {3, 2}, {3, 3}, {0, 3}, {0, 0}};
    EXPECT_EQ(ring_area(l_shape), 5.0);
}

// ---------------------------------------------------------------------------------------
// Comparison with GDALPolygonize (GDAL 3.6) on the same masks.

// What identifies a polygon across implementations: its bounding box, its area, and its
// number of holes. With 8-connectivity GDAL's holes are folds of self-touching rings where ours
// are parts, so only the bounding box and area compare (holes are 0 on both sides).
struct PolygonKey {
    int min_x = 0;
    int min_y = 0;
    int max_x = 0;
    int max_y = 0;
    long long area = 0;
    int holes = 0;
    auto operator<=>(const PolygonKey&) const = default;
};

std::ostream& operator<<(std::ostream& os, const PolygonKey& k) {
    return os << "bbox [" << k.min_x << "," << k.min_y << " - " << k.max_x << "," << k.max_y << "] area "
              << k.area << " holes " << k.holes;
}

std::vector<PolygonKey> keys_of(const std::vector<PixelPolygon>& polys, Connectivity conn) {
    std::vector<PolygonKey> keys;
    for (const PixelPolygon& p : polys) {
        if (conn == Connectivity::Four) {
            EXPECT_EQ(p.parts.size(), 1u) << "a 4-connected component is one part";
        }
        const cv::Point start = p.parts.at(0).outer.at(0);
        PolygonKey k{start.x, start.y, start.x, start.y, 0,
                     conn == Connectivity::Four ? static_cast<int>(p.parts[0].holes.size()) : 0};
        for (const PolygonPart& part : p.parts) {
            for (const cv::Point& v : part.outer) {
                k.min_x = std::min(k.min_x, v.x);
                k.min_y = std::min(k.min_y, v.y);
                k.max_x = std::max(k.max_x, v.x);
                k.max_y = std::max(k.max_y, v.y);
            }
        }
        k.area = std::llround(polygon_area(p));
        keys.push_back(k);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

// Our polygon as OGR geometry with pixel-corner coordinates, built the way pipeline/polygons.cpp
// does (a Polygon for one part, a MultiPolygon of the parts otherwise).
OGRGeometryH ogr_of(const PixelPolygon& p) {
    const auto add_ring = [](OGRGeometryH polygon, const Ring& ring) {
        OGRGeometryH linear = OGR_G_CreateGeometry(wkbLinearRing);
        for (const cv::Point& v : ring) OGR_G_AddPoint_2D(linear, v.x, v.y);
        OGR_G_AddGeometryDirectly(polygon, linear);
    };
    const auto polygon_of = [&](const PolygonPart& part) {
        OGRGeometryH polygon = OGR_G_CreateGeometry(wkbPolygon);
        add_ring(polygon, part.outer);
        for (const Ring& h : part.holes) add_ring(polygon, h);
        return polygon;
    };
    if (p.parts.size() == 1) return polygon_of(p.parts[0]);
    OGRGeometryH multi = OGR_G_CreateGeometry(wkbMultiPolygon);
    for (const PolygonPart& part : p.parts) OGR_G_AddGeometryDirectly(multi, polygon_of(part));
    return multi;
}

// Every polygon is valid OGC geometry (GEOS) with the area of its pixels.
void expect_valid(const std::vector<PixelPolygon>& polys) {
    int invalid = 0;
    for (const PixelPolygon& p : polys) {
        OGRGeometryH geometry = ogr_of(p);
        EXPECT_EQ(OGR_G_Area(geometry), static_cast<double>(p.pixel_count));
        if (!OGR_G_IsValid(geometry) && ++invalid <= 3) {
            char* wkt = nullptr;
            OGR_G_ExportToWkt(geometry, &wkt);
            ADD_FAILURE() << "invalid polygon at " << p.first_pixel << ": " << wkt;
            CPLFree(wkt);
        }
        OGR_G_DestroyGeometry(geometry);
    }
    EXPECT_EQ(invalid, 0);
}

struct GdalCloser {
    void operator()(void* dataset) const { GDALClose(dataset); }
};
using GdalDataset = std::unique_ptr<void, GdalCloser>;

// GDALPolygonize of `mask` with the raster as its own mask band (zeros excluded), into an
// OGR Memory layer, with the identity geotransform so coordinates are pixel corners.
std::vector<PolygonKey> gdal_keys(const cv::Mat& mask, Connectivity conn) {
    GDALAllRegister();
    const cv::Mat data = mask.isContinuous() ? mask : mask.clone();
    GdalDataset raster(GDALCreate(GDALGetDriverByName("MEM"), "", data.cols, data.rows, 1, GDT_Byte, nullptr));
    EXPECT_NE(raster, nullptr);
    if (!raster) return {};
    double geotransform[6] = {0, 1, 0, 0, 0, 1};
    GDALSetGeoTransform(raster.get(), geotransform);
    GDALRasterBandH band = GDALGetRasterBand(raster.get(), 1);
    EXPECT_EQ(GDALRasterIO(band, GF_Write, 0, 0, data.cols, data.rows, const_cast<std::uint8_t*>(data.ptr<std::uint8_t>()),
                           data.cols, data.rows, GDT_Byte, 0, 0),
              CE_None);

    GdalDataset vectors(GDALCreate(GDALGetDriverByName("Memory"), "", 0, 0, 0, GDT_Unknown, nullptr));
    EXPECT_NE(vectors, nullptr);
    if (!vectors) return {};
    OGRLayerH layer = GDALDatasetCreateLayer(vectors.get(), "polygons", nullptr, wkbPolygon, nullptr);
    std::string eight_option = "8CONNECTED=8";
    char* options[] = {eight_option.data(), nullptr};
    EXPECT_EQ(GDALPolygonize(band, band, layer, -1, conn == Connectivity::Eight ? options : nullptr, nullptr, nullptr),
              CE_None);

    std::vector<PolygonKey> keys;
    OGR_L_ResetReading(layer);
    while (OGRFeatureH feature = OGR_L_GetNextFeature(layer)) {
        OGRGeometryH geometry = OGR_F_GetGeometryRef(feature);
        OGREnvelope env;
        OGR_G_GetEnvelope(geometry, &env);
        const double area = OGR_G_Area(geometry);
        EXPECT_NEAR(area, std::round(area), 1e-9);
        keys.push_back({static_cast<int>(env.MinX), static_cast<int>(env.MinY), static_cast<int>(env.MaxX),
                        static_cast<int>(env.MaxY), std::llround(area),
                        conn == Connectivity::Four ? OGR_G_GetGeometryCount(geometry) - 1 : 0});
        OGR_F_Destroy(feature);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

// Same polygon count, and the same multiset of (bbox, area, hole count) (see PolygonKey); every
// polygon valid.
void expect_same_as_gdal(const cv::Mat& mask, Connectivity conn, std::int64_t min_pixels = 1) {
    const auto polys = polygonize(mask, conn, min_pixels);
    expect_well_formed(polys, mask);
    expect_valid(polys);
    const auto ours = keys_of(polys, conn);
    auto theirs = gdal_keys(mask, conn);
    std::erase_if(theirs, [&](const PolygonKey& k) { return k.area < min_pixels; });
    std::sort(theirs.begin(), theirs.end());
    EXPECT_EQ(ours.size(), theirs.size());
    std::vector<PolygonKey> only_ours;
    std::vector<PolygonKey> only_theirs;
    std::set_difference(ours.begin(), ours.end(), theirs.begin(), theirs.end(), std::back_inserter(only_ours));
    std::set_difference(theirs.begin(), theirs.end(), ours.begin(), ours.end(), std::back_inserter(only_theirs));
    for (std::size_t i = 0; i < std::min<std::size_t>(only_ours.size(), 5); ++i) ADD_FAILURE() << "only ours: " << only_ours[i];
    for (std::size_t i = 0; i < std::min<std::size_t>(only_theirs.size(), 5); ++i) ADD_FAILURE() << "only GDAL: " << only_theirs[i];

    // An independent count of components.
    if (min_pixels <= 1) {
        cv::Mat labels;
        const int n = cv::connectedComponents(mask, labels, conn == Connectivity::Eight ? 8 : 4, CV_32S);
        EXPECT_EQ(static_cast<int>(polys.size()), n - 1);
        std::int64_t total = 0;
        for (const PixelPolygon& p : polys) total += p.pixel_count;
        EXPECT_EQ(total, cv::countNonZero(mask));
    }
}

// Smooth random field thresholded at mean + k*sigma: blobs of all sizes, with holes, bays,
// and diagonal pinches where the level set passes between pixel centres.
cv::Mat blob_mask(cv::Size size, std::uint64_t seed, double sigma, double k) {
    cv::RNG rng(seed);
    cv::Mat noise(size, CV_32F);
    rng.fill(noise, cv::RNG::UNIFORM, 0.0, 1.0);
    cv::GaussianBlur(noise, noise, cv::Size(0, 0), sigma);
    cv::Scalar mean;
    cv::Scalar stddev;
    cv::meanStdDev(noise, mean, stddev);
    cv::Mat mask = noise > mean[0] + k * stddev[0];
    return mask;
}

cv::Mat salt_and_pepper_mask(cv::Size size, std::uint64_t seed, double density) {
    cv::RNG rng(seed);
    cv::Mat noise(size, CV_32F);
    rng.fill(noise, cv::RNG::UNIFORM, 0.0, 1.0);
    cv::Mat mask = noise < density;
    return mask;
}

class PolygonizeVsGdal : public ::testing::TestWithParam<Connectivity> {};

TEST_P(PolygonizeVsGdal, SmallCases) {
    for (const cv::Mat& mask : {
             mask_from({"#.", ".#"}),
             mask_from({".#", "#."}),
             mask_from({"#.#.", ".#.#", "#.#.", ".#.#"}),
             mask_from({".....", ".###.", ".#.#.", ".##..", "....."}),
             mask_from({"#####", "##.##", "###.#", "#####"}),
             mask_from({"######", "##...#", "#.#..#", "#....#", "######"}),
         }) {
        expect_same_as_gdal(mask, GetParam());
    }
}

TEST_P(PolygonizeVsGdal, RandomBlobs) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        for (double k : {-0.8, -0.2, 0.3, 1.0}) {
            SCOPED_TRACE("seed " + std::to_string(seed) + " k " + std::to_string(k));
            expect_same_as_gdal(blob_mask(cv::Size(200, 150), seed, 1.0 + 0.5 * static_cast<double>(seed % 3), k), GetParam());
        }
    }
}

TEST_P(PolygonizeVsGdal, RandomSaltAndPepper) {
    for (std::uint64_t seed = 11; seed <= 14; ++seed) {
        for (double density : {0.1, 0.3, 0.45, 0.55, 0.7}) {
            SCOPED_TRACE("seed " + std::to_string(seed) + " density " + std::to_string(density));
            expect_same_as_gdal(salt_and_pepper_mask(cv::Size(200, 150), seed, density), GetParam());
        }
    }
}

TEST_P(PolygonizeVsGdal, MinPixelsEqualsDroppingSmallGdalPolygons) {
    const cv::Mat mask = blob_mask(cv::Size(200, 150), 42, 1.5, 0.5);
    for (std::int64_t min_pixels : {2, 5, 20, 100}) {
        SCOPED_TRACE("min_pixels " + std::to_string(min_pixels));
        expect_same_as_gdal(mask, GetParam(), min_pixels);
    }
}

// Wider than 1024 px, with shapes straddling x = 512, x = 1024 and y = 512, where tiled or
// block-wise implementations split their work.
TEST_P(PolygonizeVsGdal, LargeMaskAcrossTileBorders) {
    cv::Mat mask = blob_mask(cv::Size(1300, 1040), 7, 2.0, 0.6);
    const cv::Scalar fg(255);
    const cv::Scalar bg(0);
    cv::rectangle(mask, cv::Rect(480, 470, 70, 90), fg, cv::FILLED);         // block over (512, 512)
    cv::rectangle(mask, cv::Rect(500, 500, 20, 20), bg, cv::FILLED);         // its hole, also over (512, 512)
    cv::circle(mask, cv::Point(1024, 300), 40, fg, 6);                       // ring over x = 1024
    cv::circle(mask, cv::Point(200, 512), 30, fg, cv::FILLED);               // disc over y = 512
    cv::ellipse(mask, cv::Point(512, 900), cv::Size(60, 25), 30, 0, 360, fg, 3);
    cv::line(mask, cv::Point(450, 450), cv::Point(580, 580), fg, 1, cv::LINE_8);  // diagonal staircase
    for (int y = 505; y < 520; ++y) {
        for (int x = 1010; x < 1040; ++x) mask.at<std::uint8_t>(y, x) = ((x + y) % 2 == 0) ? 255 : 0;  // checkerboard
    }
    for (int y = 0; y < mask.rows; y += 3) mask.at<std::uint8_t>(y, 511) = 255;  // pixels on a tile edge
    expect_same_as_gdal(mask, GetParam());
    expect_same_as_gdal(mask, GetParam(), 50);
}

INSTANTIATE_TEST_SUITE_P(BothConnectivities, PolygonizeVsGdal,
                         ::testing::Values(Connectivity::Four, Connectivity::Eight),
                         [](const ::testing::TestParamInfo<Connectivity>& info) {
                             return info.param == Connectivity::Four ? std::string("Four") : std::string("Eight");
                         });

}  // namespace
}  // namespace weipian::kernels
