// kernels::enlarge_bilinear: exact on linear ramps, edges replicated, a ROI filled and nothing
// beside it, a 1 × 1 source, agreement with cv::warpAffine, refusals.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "kernels/enlarge.hpp"

namespace weipian::kernels {
namespace {

// A ramp: B = 10·x, G = 20·y, R = 100 (x, y: source column and row).
cv::Mat ramp(int cols, int rows) {
    cv::Mat m(rows, cols, CV_8UC3);
    for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(10 * x), static_cast<uchar>(20 * y), 100);
    return m;
}

TEST(Enlarge, ALinearRampStaysLinearAtTheGivenCoordinates) {
    const cv::Mat src = ramp(6, 5);
    cv::Mat dst(40, 48, CV_8UC3, cv::Scalar::all(0));
    // dst (i, j) ↦ src (0.27 + i/10, 0.5 + j/10): inside the source for i ≤ 47, j ≤ 35.
    enlarge_bilinear(src, 0.27, 0.1, 0.5, 0.1, dst);
    for (int j = 0; j <= 35; ++j)
        for (int i = 0; i <= 47; ++i) {
            const cv::Vec3b v = dst.at<cv::Vec3b>(j, i);
            ASSERT_EQ(v[0], cvRound(10 * (0.27 + i * 0.1))) << i << "," << j;
            ASSERT_EQ(v[1], cvRound(20 * (0.5 + j * 0.1))) << i << "," << j;
            ASSERT_EQ(v[2], 100) << i << "," << j;
        }
    // Row 39 maps to y = 4.4: past the last row (4), so it replicates row 4 (G = 80).
    EXPECT_EQ(dst.at<cv::Vec3b>(39, 0)[1], 80);
}

TEST(Enlarge, CoordinatesOutsideTheSourceReplicateItsEdges) {
    const cv::Mat src = ramp(4, 4);
    cv::Mat dst(3, 3, CV_8UC3);
    enlarge_bilinear(src, -5.0, 5.0, -2.0, 4.0, dst);  // columns −5, 0, 5; rows −2, 2, 6
    EXPECT_EQ(dst.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 100));
    EXPECT_EQ(dst.at<cv::Vec3b>(1, 1), cv::Vec3b(0, 40, 100));
    EXPECT_EQ(dst.at<cv::Vec3b>(2, 2), cv::Vec3b(30, 60, 100));
}

TEST(Enlarge, FillsARegionOfInterestAndNothingBesideIt) {
    const cv::Mat src(1, 1, CV_8UC3, cv::Scalar(7, 8, 9));  // one pixel: every coordinate clamps to it
    cv::Mat chip(10, 10, CV_8UC3, cv::Scalar::all(128));
    cv::Mat roi = chip(cv::Rect(2, 3, 5, 4));
    enlarge_bilinear(src, 0.3, 0.2, -1.0, 0.5, roi);
    for (int y = 0; y < 10; ++y)
        for (int x = 0; x < 10; ++x) {
            const bool inside = x >= 2 && x < 7 && y >= 3 && y < 7;
            EXPECT_EQ(chip.at<cv::Vec3b>(y, x), inside ? cv::Vec3b(7, 8, 9) : cv::Vec3b(128, 128, 128)) << x << "," << y;
        }
}

TEST(Enlarge, AgreesWithWarpAffineWithinItsWeightQuantisation) {
    cv::Mat src(13, 11, CV_8UC3);
    cv::randu(src, 0, 256);
    const double s = 320 / 12.3, x0 = 0.39, y0 = -0.2;  // dst pixel (i, j) ↦ src (x0 + i/s, y0 + j/s)
    cv::Mat ours(300, 280, CV_8UC3), theirs(300, 280, CV_8UC3);
    enlarge_bilinear(src, x0, 1 / s, y0, 1 / s, ours);
    const cv::Matx23d m(1 / s, 0, x0, 0, 1 / s, y0);
    cv::warpAffine(src, theirs, m, theirs.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
    cv::Mat diff;
    cv::absdiff(ours, theirs, diff);
    double worst = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &worst);
    // warpAffine rounds coordinates to 1/32 px: up to 255/32 ≈ 8 apart on a random image.
    EXPECT_LE(worst, 8);
    EXPECT_LT(cv::mean(diff.reshape(1))[0], 1.0);
}

TEST(Enlarge, RefusesOtherTypesAndAnEmptySource) {
    cv::Mat dst(4, 4, CV_8UC3);
    EXPECT_THROW(enlarge_bilinear(cv::Mat(2, 2, CV_8UC1, cv::Scalar(0)), 0, 0.5, 0, 0.5, dst), cv::Exception);
    EXPECT_THROW(enlarge_bilinear(cv::Mat(), 0, 0.5, 0, 0.5, dst), cv::Exception);
    cv::Mat grey(4, 4, CV_8UC1);
    EXPECT_THROW(enlarge_bilinear(ramp(2, 2), 0, 0.5, 0, 0.5, grey), cv::Exception);
}

}  // namespace
}  // namespace weipian::kernels
