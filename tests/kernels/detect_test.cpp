#include "kernels/detect.hpp"

#include <gtest/gtest.h>

#include "kernels/threshold.hpp"

namespace weipian::kernels {
namespace {

cv::Mat row(std::initializer_list<float> values) {
    cv::Mat m(1, static_cast<int>(values.size()), CV_32FC1);
    int i = 0;
    for (float v : values) m.at<float>(0, i++) = v;
    return m;
}

// Four pixels: [0] crop -> roof, [1] unchanged crop, [2] crop ripening (still vegetated),
// [3] bare soil -> bright concrete.
struct Scene {
    EpochBlock before, after;
    Scene() {
        before.blue = row({300, 300, 300, 900});
        before.green = row({600, 600, 600, 1200});
        before.red = row({400, 400, 400, 1500});
        before.nir = row({3500, 3500, 3500, 2000});
        after.blue = row({1800, 310, 400, 2400});
        after.green = row({1900, 610, 700, 2500});
        after.red = row({2000, 410, 800, 2600});
        after.nir = row({2200, 3550, 2400, 2800});
    }
};

TEST(DetectConstruction, ScoresFollowTheDocumentedFormula) {
    Scene s;
    cv::Mat score, mask;
    detect_construction(s.before, s.after, ConstructionParams{}, score, mask);
    // Pixel 0: NDVI 0.794 -> 0.048; brightness 433.3 -> 1900, ND = 0.6286.
    const float ndvi_b = (3500.f - 400.f) / 3900.f, ndvi_a = (2200.f - 2000.f) / 4200.f;
    const float br_b = 1300.f / 3.f, br_a = 5700.f / 3.f;
    EXPECT_NEAR(score.at<float>(0, 0), (ndvi_b - ndvi_a) + (br_a - br_b) / (br_a + br_b), 1e-5);
    EXPECT_EQ(mask.at<std::uint8_t>(0, 0), 1);
    EXPECT_EQ(mask.at<std::uint8_t>(0, 1), 0);  // unchanged
    EXPECT_EQ(mask.at<std::uint8_t>(0, 2), 0);  // ripening: NDVI after 0.5 is still vegetation
    EXPECT_GT(score.at<float>(0, 2), 0.15f);    // ... although its score alone is high
    EXPECT_EQ(mask.at<std::uint8_t>(0, 3), 1);  // soil -> concrete
    EXPECT_NEAR(score.at<float>(0, 1), 0.0f, 0.02f);
}

TEST(DetectConstruction, ScoreDoesNotDependOnSensorGain) {
    Scene s, scaled;
    for (EpochBlock* e : {&scaled.before, &scaled.after})
        for (cv::Mat* m : {&e->blue, &e->green, &e->red, &e->nir}) *m *= 0.0001f;  // DN -> reflectance
    cv::Mat a, b, ma, mb;
    detect_construction(s.before, s.after, ConstructionParams{}, a, ma);
    detect_construction(scaled.before, scaled.after, ConstructionParams{}, b, mb);
    EXPECT_LT(cv::norm(a, b, cv::NORM_INF), 1e-5);
    EXPECT_EQ(cv::countNonZero(ma != mb), 0);
}

TEST(DetectConstruction, InvalidPixelsScoreZeroAndAreNotFlagged) {
    Scene s;
    s.before.valid = cv::Mat(1, 4, CV_8UC1, cv::Scalar(1));
    s.before.valid.at<std::uint8_t>(0, 0) = 0;
    cv::Mat score, mask;
    detect_construction(s.before, s.after, ConstructionParams{}, score, mask);
    EXPECT_EQ(score.at<float>(0, 0), 0.0f);
    EXPECT_EQ(mask.at<std::uint8_t>(0, 0), 0);
    EXPECT_EQ(mask.at<std::uint8_t>(0, 3), 1);
}

TEST(DetectConstruction, WithoutNirUsesNgrdi) {
    Scene s;
    s.before.nir.release();
    s.after.nir.release();
    cv::Mat score, mask;
    detect_construction(s.before, s.after, ConstructionParams{}, score, mask);
    const float ngrdi_b = (600.f - 400.f) / 1000.f, ngrdi_a = (1900.f - 2000.f) / 3900.f;
    const float br_b = 1300.f / 3.f, br_a = 5700.f / 3.f;
    EXPECT_NEAR(score.at<float>(0, 0), (ngrdi_b - ngrdi_a) + (br_a - br_b) / (br_a + br_b), 1e-5);
}

TEST(DetectConstruction, RejectsMismatchedViews) {
    Scene s;
    s.after.nir = cv::Mat(1, 3, CV_32FC1, cv::Scalar(1));
    cv::Mat score, mask;
    EXPECT_THROW(detect_construction(s.before, s.after, ConstructionParams{}, score, mask), std::invalid_argument);
    Scene t;
    t.after.nir.release();
    EXPECT_THROW(detect_construction(t.before, t.after, ConstructionParams{}, score, mask), std::invalid_argument);
}

TEST(DetectConstruction, WritesIntoRowViewsOfALargerBuffer) {
    Scene s;
    cv::Mat score(3, 4, CV_32FC1, cv::Scalar(-7)), mask(3, 4, CV_8UC1, cv::Scalar(9));
    cv::Mat score_row = score.row(1), mask_row = mask.row(1);
    detect_construction(s.before, s.after, ConstructionParams{}, score_row, mask_row);
    EXPECT_EQ(mask.at<std::uint8_t>(1, 0), 1);
    EXPECT_EQ(mask.at<std::uint8_t>(0, 0), 9);  // neighbours untouched
    EXPECT_EQ(score.at<float>(2, 3), -7.0f);
}

TEST(OtsuThreshold, SplitsTwoModes) {
    ScoreHistogram h;
    std::vector<float> values;
    for (int i = 0; i < 900; ++i) values.push_back(0.02f * static_cast<float>(i % 5));  // 0 … 0.08
    for (int i = 0; i < 100; ++i) values.push_back(0.6f + 0.02f * static_cast<float>(i % 5));  // 0.6 … 0.68
    h.add(values.data(), nullptr, values.size());
    const float t = otsu_threshold(h);
    EXPECT_GT(t, 0.08f);
    EXPECT_LE(t, 0.6f);
    EXPECT_EQ(h.total(), 1000);
}

TEST(OtsuThreshold, EmptyHistogramThrows) {
    EXPECT_THROW(otsu_threshold(ScoreHistogram{}), std::invalid_argument);
}

}  // namespace
}  // namespace weipian::kernels
