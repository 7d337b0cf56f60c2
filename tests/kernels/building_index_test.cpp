#include "kernels/building_index.hpp"

#include <functional>
#include <string>

#include <gtest/gtest.h>

namespace weipian::kernels {
namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    return "no error";
}

TEST(Reconstruction, GrowsTheMarkerInsideTheMaskOnALiteralImage) {
    // Two plateaus of the mask; the marker touches only the left one.
    const cv::Mat mask = (cv::Mat_<std::uint8_t>(3, 7) << 5, 5, 0, 9, 9, 0, 0,  //
                          5, 7, 0, 9, 9, 0, 3,                                 //
                          5, 5, 0, 0, 0, 0, 3);
    const cv::Mat marker = (cv::Mat_<std::uint8_t>(3, 7) << 0, 0, 0, 0, 0, 0, 0,  //
                            0, 6, 0, 0, 0, 0, 0,                                   //
                            0, 0, 0, 0, 0, 0, 1);
    cv::Mat out;
    reconstruct_by_dilation(marker, mask, out);
    const cv::Mat expected = (cv::Mat_<std::uint8_t>(3, 7) << 5, 5, 0, 0, 0, 0, 0,  //
                              5, 6, 0, 0, 0, 0, 1,                                   //
                              5, 5, 0, 0, 0, 0, 1);
    EXPECT_EQ(cv::norm(out, expected, cv::NORM_INF), 0.0);
}

TEST(Reconstruction, DiagonalStepsNeedEightConnectivity) {
    const cv::Mat mask = (cv::Mat_<float>(2, 2) << 4.f, 0.f, 0.f, 4.f);
    const cv::Mat marker = (cv::Mat_<float>(2, 2) << 4.f, 0.f, 0.f, 0.f);
    cv::Mat out;
    reconstruct_by_dilation(marker, mask, out, Connectivity::Eight);
    EXPECT_EQ(out.at<float>(1, 1), 4.f);
    reconstruct_by_dilation(marker, mask, out, Connectivity::Four);
    EXPECT_EQ(out.at<float>(1, 1), 0.f);
}

class RandomReconstruction : public ::testing::TestWithParam<int> {};

TEST_P(RandomReconstruction, HybridEqualsDilateUntilStable) {
    const int type = GetParam();
    cv::RNG rng(17);
    for (int trial = 0; trial < 60; ++trial) {
        const int rows = rng.uniform(1, 24), cols = rng.uniform(1, 24);
        cv::Mat mask(rows, cols, type), marker(rows, cols, type);
        rng.fill(mask, cv::RNG::UNIFORM, 0, trial % 2 ? 4 : 200);  // few levels: plateaus; many: ramps
        rng.fill(marker, cv::RNG::UNIFORM, 0, trial % 2 ? 4 : 200);
        if (trial % 3 == 0) {  // a sparse marker, as from an opening
            cv::Mat keep(rows, cols, CV_8UC1);
            rng.fill(keep, cv::RNG::UNIFORM, 0, 10);
            marker.setTo(0, keep != 0);
        }
        for (Connectivity c : {Connectivity::Four, Connectivity::Eight}) {
            cv::Mat fast, naive;
            reconstruct_by_dilation(marker, mask, fast, c);
            reconstruct_by_dilation_naive(marker, mask, naive, c);
            ASSERT_EQ(cv::norm(fast, naive, cv::NORM_INF), 0.0)
                << "trial " << trial << " " << rows << "×" << cols << " connectivity " << static_cast<int>(c);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Types, RandomReconstruction, ::testing::Values(CV_8UC1, CV_32FC1));

TEST(Reconstruction, RefusesInputsItCannotGrow) {
    cv::Mat out;
    const cv::Mat u8(2, 2, CV_8UC1, cv::Scalar(0)), f32(2, 2, CV_32FC1, cv::Scalar(0));
    EXPECT_EQ(error_of([&] { reconstruct_by_dilation(u8, f32, out); }),
              "reconstruct_by_dilation: marker and mask must both be CV_8UC1 or both CV_32FC1");
    EXPECT_EQ(error_of([&] { reconstruct_by_dilation(cv::Mat(2, 2, CV_16UC1), cv::Mat(2, 2, CV_16UC1), out); }),
              "reconstruct_by_dilation: marker and mask must both be CV_8UC1 or both CV_32FC1");
    EXPECT_EQ(error_of([&] { reconstruct_by_dilation(u8, cv::Mat(2, 3, CV_8UC1), out); }),
              "reconstruct_by_dilation: marker and mask differ in size");
    EXPECT_EQ(error_of([&] { reconstruct_by_dilation(cv::Mat(), u8, out); }),
              "reconstruct_by_dilation: marker and mask must not be empty");
    cv::Mat nan = f32.clone();
    nan.at<float>(1, 1) = std::nanf("");
    EXPECT_EQ(error_of([&] { reconstruct_by_dilation(f32, nan, out); }),
              "reconstruct_by_dilation: marker and mask must not hold NaN");
    EXPECT_EQ(error_of([&] { reconstruct_by_dilation_naive(u8, f32, out); }),
              "reconstruct_by_dilation_naive: marker and mask must both be CV_8UC1 or both CV_32FC1");
}

// 64×64 at 10 with a bright 9×9 roof at (10..18, 10..18) and a bright road one pixel wide and
// 50 long on row 40; values 200.
cv::Mat roof_and_road(bool roof) {
    cv::Mat b(64, 64, CV_8UC1, cv::Scalar(10));
    if (roof) b(cv::Rect(10, 10, 9, 9)).setTo(200);
    b(cv::Rect(5, 40, 50, 1)).setTo(200);
    return b;
}

TEST(BuildingIndex, TheRoofScoresHighAndTheRoadZero) {
    EpochBlock e;
    e.green = roof_and_road(true);
    e.red = e.green / 2;  // b = max of the visible bands = green
    const BuildingIndexParams p{2, 22, 5};  // lengths 2, 7, 12, 17, 22: four differences per direction
    cv::Mat mbi;
    building_index(e, p, mbi);
    ASSERT_EQ(mbi.type(), CV_32FC1);
    // Lines of 2 and 7 fit the 9×9 roof in every direction (the diagonal of 7 too), 12 in none:
    // the top-hat jumps by 190 between 7 and 12 in each direction, once in 16 differences.
    EXPECT_FLOAT_EQ(mbi.at<float>(14, 14), 190.f * 4 / 16);
    EXPECT_FLOAT_EQ(mbi.at<float>(10, 18), 190.f * 4 / 16);
    // The road: the 0° line keeps it at every length, the others remove it at every length.
    EXPECT_EQ(mbi.at<float>(40, 30), 0.f);
    EXPECT_EQ(mbi.at<float>(40, 5), 0.f);
    EXPECT_EQ(mbi.at<float>(30, 30), 0.f);  // background
}

TEST(BuildingIndex, ChangeIsAfterMinusBeforeAndZeroWhereInvalid) {
    EpochBlock before, after;
    before.green = roof_and_road(false);
    before.red = before.green.clone();
    after.green = roof_and_road(true);
    after.red = after.green.clone();
    after.valid = cv::Mat(64, 64, CV_8UC1, cv::Scalar(1));
    after.valid.at<std::uint8_t>(12, 12) = 0;
    cv::Mat change;
    building_index_change(before, after, BuildingIndexParams{2, 22, 5}, change);
    EXPECT_FLOAT_EQ(change.at<float>(14, 14), 47.5f);
    EXPECT_EQ(change.at<float>(12, 12), 0.f);
    EXPECT_EQ(change.at<float>(40, 30), 0.f);
    EXPECT_EQ(cv::countNonZero(change), 80);  // the roof's 81 pixels but the invalid one
}

TEST(BuildingIndex, RefusesWhatItCannotIndex) {
    EpochBlock e;
    e.green = cv::Mat(8, 8, CV_8UC1, cv::Scalar(1));
    e.red = e.green.clone();
    cv::Mat out;
    EXPECT_EQ(error_of([&] { building_index(e, BuildingIndexParams{2, 6, 5}, out); }),
              "building_index: line lengths need min_length ≥ 1, step ≥ 1 and min_length + step ≤ max_length (got 2..6 by 5)");
    EXPECT_EQ(error_of([&] { building_index(EpochBlock{}, BuildingIndexParams{}, out); }),
              "building_index: the epoch has no green or red band");
    EpochBlock doubles = e;
    doubles.red = cv::Mat(8, 8, CV_64FC1);
    EXPECT_EQ(error_of([&] { building_index(doubles, BuildingIndexParams{}, out); }),
              "building_index: bands must be CV_8UC1, CV_16UC1, CV_16SC1 or CV_32FC1");
    EpochBlock mixed = e;
    mixed.blue = cv::Mat(8, 8, CV_16UC1);
    EXPECT_EQ(error_of([&] { building_index(mixed, BuildingIndexParams{}, out); }),
              "building_index: every band must have the red band's size and type");
    EpochBlock bad_valid = e;
    bad_valid.valid = cv::Mat(8, 7, CV_8UC1);
    EXPECT_EQ(error_of([&] { building_index(bad_valid, BuildingIndexParams{}, out); }),
              "building_index: validity must be CV_8UC1 of the bands' size or empty");
    EpochBlock small = e;
    small.green = cv::Mat(4, 4, CV_8UC1, cv::Scalar(1));
    small.red = small.green.clone();
    EXPECT_EQ(error_of([&] { building_index_change(e, small, BuildingIndexParams{}, out); }),
              "building_index: the epochs differ in size");
    const cv::Mat f(4, 4, CV_32FC1, cv::Scalar(0));
    EXPECT_EQ(error_of([&] { top_hat_by_reconstruction(f, 3, 30, out); }),
              "top_hat_by_reconstruction: the direction must be 0, 45, 90 or 135 degrees (got 30)");
    EXPECT_EQ(error_of([&] { top_hat_by_reconstruction(f, 0, 0, out); }),
              "top_hat_by_reconstruction: the line length must be ≥ 1");
    EXPECT_EQ(error_of([&] { top_hat_by_reconstruction(cv::Mat(4, 4, CV_8UC1), 3, 0, out); }),
              "top_hat_by_reconstruction: the image must be a non-empty CV_32FC1 plane");
}

}  // namespace
}  // namespace weipian::kernels
