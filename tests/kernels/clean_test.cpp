#include "kernels/clean.hpp"

#include <gtest/gtest.h>

namespace weipian::kernels {
namespace {

cv::Mat from_rows(const std::vector<std::string>& rows) {
    cv::Mat m(static_cast<int>(rows.size()), static_cast<int>(rows[0].size()), CV_8UC1);
    for (int y = 0; y < m.rows; ++y)
        for (int x = 0; x < m.cols; ++x) m.at<std::uint8_t>(y, x) = rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)] == '#';
    return m;
}

TEST(OpenClose, OpeningRemovesSpecksAndKeepsBlocks) {
    cv::Mat m = from_rows({
        "#.........",
        "..........",
        "...####...",
        "...####...",
        "...####...",
        "......#...",
        "..........",
    });
    open_close(m, 1, 0);
    EXPECT_EQ(cv::countNonZero(m), 12);       // the 4×3 block stays, the speck and the spur go
    EXPECT_EQ(m.at<std::uint8_t>(0, 0), 0);
    EXPECT_EQ(m.at<std::uint8_t>(5, 6), 0);
    EXPECT_EQ(m.at<std::uint8_t>(3, 4), 1);
}

TEST(OpenClose, ClosingFillsAOnePixelGapButNotIntoNodata) {
    cv::Mat m = from_rows({
        "..........",
        ".###.###..",
        ".###.###..",
        ".###.###..",
        "..........",
    });
    cv::Mat valid(m.size(), CV_8UC1, cv::Scalar(1));
    open_close(m, 0, 1, valid);
    EXPECT_EQ(m.at<std::uint8_t>(2, 4), 1);
    EXPECT_EQ(cv::countNonZero(m), 21);

    cv::Mat m2 = from_rows({
        "..........",
        ".###.###..",
        ".###.###..",
        ".###.###..",
        "..........",
    });
    valid.col(4).setTo(0);
    open_close(m2, 0, 1, valid);
    EXPECT_EQ(cv::countNonZero(m2.col(4)), 0);
}

TEST(OpenClose, ShapesCutByTheSceneEdgeKeepTheirEdgePixels) {
    cv::Mat m = from_rows({
        "###.......",
        "###.......",
        "###.......",
    });
    open_close(m, 1, 1);
    EXPECT_EQ(cv::countNonZero(m), 9);
}

TEST(RemoveSmallComponents, DropsBelowTheUnitAndRelabels) {
    cv::Mat m = from_rows({
        "##....###.",
        "##....###.",
        "......###.",
        "#.........",
        ".#........",
    });
    Components c = remove_small_components(m, 4, Connectivity::Four);
    ASSERT_EQ(c.count(), 2);
    EXPECT_EQ(c.areas[1], 4);
    EXPECT_EQ(c.areas[2], 9);
    EXPECT_EQ(cv::countNonZero(m), 13);
    EXPECT_EQ(c.labels.at<int>(0, 0), 1);
    EXPECT_EQ(c.labels.at<int>(0, 6), 2);
    EXPECT_EQ(c.labels.at<int>(3, 0), 0);
}

TEST(RemoveSmallComponents, DiagonalPixelsJoinOnlyUnderEightConnectivity) {
    cv::Mat a = from_rows({"#.", ".#"});
    cv::Mat b = a.clone();
    EXPECT_EQ(remove_small_components(a, 2, Connectivity::Four).count(), 0);
    EXPECT_EQ(remove_small_components(b, 2, Connectivity::Eight).count(), 1);
}

TEST(Units, MetresToPixels) {
    EXPECT_EQ(radius_in_pixels(1.0, 1.0), 1);
    EXPECT_EQ(radius_in_pixels(1.0, 0.5), 2);
    EXPECT_EQ(radius_in_pixels(1.0, 30.0), 0);
    EXPECT_EQ(area_in_pixels(200.0, 1.0), 200);
    EXPECT_EQ(area_in_pixels(200.0, 0.64), 313);  // 0.8 m pixels: 312.5 rounded up
    EXPECT_EQ(area_in_pixels(200.0, 900.0), 1);
    EXPECT_THROW(radius_in_pixels(1.0, 0.0), std::invalid_argument);
}

}  // namespace
}  // namespace weipian::kernels
