#include "kernels/features.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace weipian::kernels {
namespace {

int index_of(const FeatureSpec& spec, const std::string& name) {
    const std::vector<std::string> names = feature_names(spec);
    const auto it = std::find(names.begin(), names.end(), name);
    EXPECT_NE(it, names.end()) << name;
    return static_cast<int>(it - names.begin());
}

float at(const std::vector<cv::Mat>& planes, const FeatureSpec& spec, const std::string& name, int y, int x) {
    return planes[static_cast<std::size_t>(index_of(spec, name))].at<float>(y, x);
}

cv::Mat filled(int rows, int cols, float v) { return cv::Mat(rows, cols, CV_32FC1, cv::Scalar(v)); }

// Both epochs with green = red = `bright` (brightness `bright`, vi 0), no blue, no NIR.
FeatureEpoch grey(const cv::Mat& bright) {
    FeatureEpoch e;
    e.green = bright.clone();
    e.red = bright.clone();
    return e;
}

TEST(FeatureNames, OrderAndCountPerBandSet) {
    const FeatureSpec four{true, true, 1};
    const std::vector<std::string> names = feature_names(four);
    ASSERT_EQ(static_cast<int>(names.size()), feature_count(four));
    EXPECT_EQ(feature_count(four), 64);
    EXPECT_EQ(names[0], "before.blue");
    EXPECT_EQ(names[3], "before.nir");
    EXPECT_EQ(names[4], "before.brightness");
    EXPECT_EQ(names[19], "before.lbp7");
    EXPECT_EQ(names[20], "after.blue");
    EXPECT_EQ(names[40], "diff.blue");
    EXPECT_EQ(names[51], "diff.std7");
    EXPECT_EQ(names[60], "cv1");
    EXPECT_EQ(names[61], "cv5");
    EXPECT_EQ(names[62], "cv11");
    EXPECT_EQ(names[63], "construction");
    EXPECT_EQ(feature_count(FeatureSpec{false, true, 1}), 61);
    EXPECT_EQ(feature_count(FeatureSpec{false, false, 2}), 58);
    EXPECT_EQ(feature_names(FeatureSpec{false, false, 2})[0], "before.green");
    EXPECT_EQ(feature_halo(four), 10);
}

TEST(ComputeFeatures, PixelPlanesFollowTheDocumentedFormulas) {
    const FeatureSpec spec{true, true, 1};
    FeatureEpoch before, after;
    before.blue = filled(1, 2, 300);
    before.green = filled(1, 2, 600);
    before.red = filled(1, 2, 400);
    before.nir = filled(1, 2, 3500);
    after.blue = filled(1, 2, 1800);
    after.green = filled(1, 2, 1900);
    after.red = filled(1, 2, 2000);
    after.nir = filled(1, 2, 2200);
    after.red.at<float>(0, 1) = 0;  // pixel 1: a zero red band
    after.nir.at<float>(0, 1) = 0;  // ... and NIR: the NDVI's denominator is 0
    std::vector<cv::Mat> planes;
    FeatureWorkspace ws;
    compute_features(before, after, 0, 1, spec, planes, ws);
    ASSERT_EQ(static_cast<int>(planes.size()), 64);
    EXPECT_FLOAT_EQ(at(planes, spec, "before.brightness", 0, 0), 1300.f / 3.f);
    EXPECT_FLOAT_EQ(at(planes, spec, "after.brightness", 0, 0), 1900.f);
    EXPECT_FLOAT_EQ(at(planes, spec, "before.vi", 0, 0), 3100.f / 3900.f);
    EXPECT_FLOAT_EQ(at(planes, spec, "after.vi", 0, 0), 200.f / 4200.f);
    EXPECT_EQ(at(planes, spec, "after.vi", 0, 1), 0.f);
    EXPECT_FLOAT_EQ(at(planes, spec, "diff.vi", 0, 0), 200.f / 4200.f - 3100.f / 3900.f);
    EXPECT_FLOAT_EQ(at(planes, spec, "diff.red", 0, 0), 1600.f);
    // HSV of (R, G, B) = (400, 600, 300): max G, sat 300/600, hue (2 + (300 − 400)/300)/6 turns.
    EXPECT_FLOAT_EQ(at(planes, spec, "before.sat", 0, 0), 0.5f);
    EXPECT_FLOAT_EQ(at(planes, spec, "before.hue", 0, 0), (2.f - 1.f / 3.f) / 6.f);
    // (2000, 1900, 1800): max R, hue (1900 − 1800)/200/6 = 1/12; diff wraps into [−0.5, 0.5).
    EXPECT_FLOAT_EQ(at(planes, spec, "after.hue", 0, 0), 1.f / 12.f);
    EXPECT_FLOAT_EQ(at(planes, spec, "diff.hue", 0, 0), 1.f / 12.f - (2.f - 1.f / 3.f) / 6.f);
    // (0, 1900, 1800): max G, hue (2 + (1800 − 0)/1900)/6.
    EXPECT_FLOAT_EQ(at(planes, spec, "after.hue", 0, 1), (2.f + 1800.f / 1900.f) / 6.f);
    const float cv1 = std::sqrt(1500.f * 1500.f + 1300.f * 1300.f + 1600.f * 1600.f + 1300.f * 1300.f);
    EXPECT_FLOAT_EQ(at(planes, spec, "cv1", 0, 0), cv1);
    // The construction score of kernels/detect.hpp.
    EpochBlock b{before.blue, before.green, before.red, before.nir, {}};
    EpochBlock a{after.blue, after.green, after.red, after.nir, {}};
    cv::Mat score, mask;
    detect_construction(b, a, ConstructionParams{}, score, mask);
    EXPECT_EQ(at(planes, spec, "construction", 0, 0), score.at<float>(0, 0));
    EXPECT_EQ(at(planes, spec, "construction", 0, 1), score.at<float>(0, 1));
    // The before epoch is flat: no gradient, no spread, no edge.
    EXPECT_EQ(at(planes, spec, "before.grad1", 0, 0), 0.f);
    EXPECT_NEAR(at(planes, spec, "before.std15", 0, 0), 0.f, 1e-8 * 1300.f);  // rounding of the double moments
    EXPECT_EQ(at(planes, spec, "before.lbp7", 0, 0), 0.f);
}

TEST(ComputeFeatures, WindowsOnALiteralImage) {
    // 5×5 brightness 0..24 before, all 10 after; no blue, no NIR.
    const FeatureSpec spec{false, false, 1};
    cv::Mat b(5, 5, CV_32FC1);
    for (int i = 0; i < 25; ++i) b.at<float>(i / 5, i % 5) = static_cast<float>(i);
    const FeatureEpoch before = grey(b), after = grey(filled(5, 5, 10));
    std::vector<cv::Mat> planes;
    FeatureWorkspace ws;
    compute_features(before, after, 0, 5, spec, planes, ws);
    EXPECT_EQ(at(planes, spec, "before.brightness", 2, 3), 13.f);
    EXPECT_EQ(at(planes, spec, "before.vi", 2, 3), 0.f);
    // 3×3 around (2, 2): 6 7 8 / 11 12 13 / 16 17 18: mean 12, variance (2·(36 + 25 + 16) + 1 + 0 + 1)/9.
    double sq = 0;
    for (int y = 1; y <= 3; ++y)
        for (int x = 1; x <= 3; ++x) sq += std::pow(b.at<float>(y, x) - 12.0, 2);
    EXPECT_NEAR(at(planes, spec, "before.std3", 2, 2), std::sqrt(sq / 9), 1e-5);
    EXPECT_NEAR(at(planes, spec, "before.std3", 2, 2), std::sqrt(156.0 / 9.0), 1e-5);
    EXPECT_NEAR(at(planes, spec, "before.bright_box5", 2, 2), 12.f, 1e-5);
    // The corner's 5×5 window reflects (101) to rows and columns 2 1 0 1 2: the mean of 5y + x
    // there is 5 · 1.2 + 1.2 = 7.2.
    EXPECT_NEAR(at(planes, spec, "before.bright_box5", 0, 0), 7.2f, 1e-5);
    // Sobel at (2, 2): gx = 4·1·2 = 8 (the row step is 1, weights 1 2 1), gy = 4·5·2 = 40.
    EXPECT_NEAR(at(planes, spec, "before.grad1", 2, 2), std::sqrt(8.f * 8.f + 40.f * 40.f), 1e-4);
    EXPECT_EQ(at(planes, spec, "after.std7", 2, 2), 0.f);
    EXPECT_EQ(at(planes, spec, "after.grad2", 1, 1), 0.f);
    EXPECT_NEAR(at(planes, spec, "diff.brightness", 2, 3), -3.f, 1e-6);
    EXPECT_NEAR(at(planes, spec, "diff.bright_box5", 2, 2), -2.f, 1e-5);
    // Band change of (2, 3): both bands 13 → 10: √(9 + 9).
    EXPECT_NEAR(at(planes, spec, "cv1", 2, 3), std::sqrt(18.f), 1e-5);
    EXPECT_NEAR(at(planes, spec, "cv5", 2, 2), std::sqrt(8.f), 1e-5);  // box means 12 → 10 in both bands
}

TEST(ComputeFeatures, EdgeDensityCountsTheBrightSideOfAStep) {
    // 7×7: columns 0..2 dark, 3..6 bright. Only column 3 sees a uniform pattern with 1..7 ones
    // (its left neighbours are darker); flat pixels have 8 ones, the dark column's too (ties count).
    const FeatureSpec spec{false, false, 1};
    cv::Mat b = filled(7, 7, 0);
    b.colRange(3, 7).setTo(10);
    const FeatureEpoch e = grey(b);
    std::vector<cv::Mat> planes;
    FeatureWorkspace ws;
    compute_features(e, e, 0, 7, spec, planes, ws);
    EXPECT_NEAR(at(planes, spec, "before.lbp7", 3, 3), 7.f / 49.f, 1e-6);
    EXPECT_NEAR(at(planes, spec, "after.lbp7", 3, 3), 7.f / 49.f, 1e-6);
    EXPECT_EQ(at(planes, spec, "diff.lbp7", 3, 3), 0.f);
    // At the left edge the 7×7 window reflects: columns 3 2 1 0 1 2 3 hold column 3 twice.
    EXPECT_NEAR(at(planes, spec, "before.lbp7", 3, 0), 14.f / 49.f, 1e-6);
}

TEST(ComputeFeatures, WindowsWiderThanTheBlockFoldBackAsOpenCVReflects) {
    // A 6×5 block: the 15×15 and 21×21 windows fold (reflect 101) more than once.
    const FeatureSpec spec{false, false, 1};
    cv::Mat b(6, 5, CV_32FC1);
    cv::RNG rng(3);
    rng.fill(b, cv::RNG::UNIFORM, 0.0, 100.0);
    const FeatureEpoch e = grey(b);
    std::vector<cv::Mat> planes;
    FeatureWorkspace ws;
    compute_features(e, e, 0, 6, spec, planes, ws);
    auto window = [&](int y, int x, int k, double& mean, double& sd) {
        double s1 = 0, s2 = 0;
        for (int dy = -k / 2; dy <= k / 2; ++dy)
            for (int dx = -k / 2; dx <= k / 2; ++dx) {
                const double v = b.at<float>(cv::borderInterpolate(y + dy, 6, cv::BORDER_REFLECT_101),
                                             cv::borderInterpolate(x + dx, 5, cv::BORDER_REFLECT_101));
                s1 += v;
                s2 += v * v;
            }
        mean = s1 / (k * k);
        sd = std::sqrt(std::max(0.0, s2 / (k * k) - mean * mean));
    };
    for (int y = 0; y < 6; ++y)
        for (int x = 0; x < 5; ++x) {
            double mean, sd;
            window(y, x, 15, mean, sd);
            EXPECT_NEAR(at(planes, spec, "before.std15", y, x), sd, 1e-3);
            window(y, x, 21, mean, sd);
            EXPECT_NEAR(at(planes, spec, "before.bright_box21", y, x), mean, 1e-3);
        }
}

TEST(ComputeFeatures, InvalidPixelsReadAsZeroAndStayFinite) {
    const FeatureSpec spec{false, false, 1};
    FeatureEpoch before = grey(filled(6, 6, 50)), after = grey(filled(6, 6, 50));
    before.valid = cv::Mat(6, 6, CV_8UC1, cv::Scalar(1));
    before.valid.at<std::uint8_t>(2, 2) = 0;
    before.red.at<float>(2, 2) = std::nanf("");
    before.green.at<float>(2, 2) = std::nanf("");
    std::vector<cv::Mat> planes;
    FeatureWorkspace ws;
    compute_features(before, after, 0, 6, spec, planes, ws);
    EXPECT_EQ(at(planes, spec, "before.red", 2, 2), 0.f);
    EXPECT_EQ(at(planes, spec, "construction", 2, 2), 0.f);
    const std::vector<std::string> names = feature_names(spec);
    for (std::size_t i = 0; i < planes.size(); ++i) EXPECT_TRUE(cv::checkRange(planes[i])) << names[i];
}

// Random epochs with four bands and a few invalid pixels.
FeatureEpoch random_epoch(int rows, int cols, int seed) {
    cv::RNG rng(static_cast<std::uint64_t>(seed));
    FeatureEpoch e;
    for (cv::Mat* m : {&e.blue, &e.green, &e.red, &e.nir}) {
        m->create(rows, cols, CV_32FC1);
        rng.fill(*m, cv::RNG::UNIFORM, 0.0, 1000.0);
    }
    cv::Mat noise(rows, cols, CV_8UC1);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 32);
    e.valid = noise != 0;
    e.valid /= 255;
    return e;
}

FeatureEpoch rows_of(const FeatureEpoch& e, int begin, int end) {
    FeatureEpoch v;
    v.blue = e.blue.rowRange(begin, end);
    v.green = e.green.rowRange(begin, end);
    v.red = e.red.rowRange(begin, end);
    v.nir = e.nir.rowRange(begin, end);
    v.valid = e.valid.rowRange(begin, end);
    return v;
}

TEST(ComputeFeatures, StripsWithHalosGiveTheWholeImage) {
    const FeatureSpec spec{true, true, 1};
    const int height = 61, width = 37;
    const FeatureEpoch before = random_epoch(height, width, 1), after = random_epoch(height, width, 2);
    std::vector<cv::Mat> whole, strip;
    FeatureWorkspace ws;
    compute_features(before, after, 0, height, spec, whole, ws);
    const int halo = feature_halo(spec);
    const std::vector<std::string> names = feature_names(spec);
    for (int strip_rows : {1, 7, 16, 30}) {
        for (int begin = 0; begin < height; begin += strip_rows) {
            const int end = std::min(height, begin + strip_rows);
            const int lo = std::max(0, begin - halo), hi = std::min(height, end + halo);
            compute_features(rows_of(before, lo, hi), rows_of(after, lo, hi), begin - lo, end - begin, spec, strip, ws);
            for (std::size_t p = 0; p < whole.size(); ++p) {
                const cv::Mat expected = whole[p].rowRange(begin, end);
                EXPECT_EQ(cv::norm(strip[p], expected, cv::NORM_INF), 0.0)
                    << names[p] << " strip " << begin << ".." << end;
            }
        }
    }
    // A plane's rows depend only on the strip's rows: computing the middle of the whole block
    // gives the same rows as the whole.
    compute_features(before, after, 20, 5, spec, strip, ws);
    for (std::size_t p = 0; p < whole.size(); ++p)
        EXPECT_EQ(cv::norm(strip[p], whole[p].rowRange(20, 25), cv::NORM_INF), 0.0) << names[p];
}

TEST(ComputeFeatures, RefusesBlocksThatDoNotFit) {
    const FeatureSpec spec{false, false, 1};
    const FeatureEpoch e = grey(filled(4, 4, 1));
    std::vector<cv::Mat> planes;
    FeatureWorkspace ws;
    auto message = [&](const FeatureEpoch& b, const FeatureEpoch& a, int top, int rows, const FeatureSpec& s) {
        try {
            compute_features(b, a, top, rows, s, planes, ws);
        } catch (const std::invalid_argument& error) {
            return std::string(error.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message(e, e, 2, 3, spec),
              "compute_features: rows [2, 5) are not a non-empty range inside the block's 4 rows");
    EXPECT_EQ(message(e, e, 0, 0, spec),
              "compute_features: rows [0, 0) are not a non-empty range inside the block's 4 rows");
    EXPECT_EQ(message(e, e, 0, 4, FeatureSpec{true, false, 1}),
              "compute_features: the after epoch's band roles (blue, nir) differ from the feature spec's");
    FeatureEpoch small = grey(filled(3, 4, 1));
    EXPECT_EQ(message(small, e, 0, 4, spec),
              "compute_features: the before epoch's red plane must be CV_32FC1 of the red plane's size");
    FeatureEpoch ints = e;
    ints.green = cv::Mat(4, 4, CV_16UC1, cv::Scalar(1));
    EXPECT_EQ(message(e, ints, 0, 4, spec),
              "compute_features: the after epoch's green plane must be CV_32FC1 of the red plane's size");
    FeatureEpoch no_green = e;
    no_green.green.release();
    EXPECT_EQ(message(no_green, e, 0, 4, spec), "compute_features: the before epoch has no green or red plane");
    EXPECT_EQ(message(e, FeatureEpoch{}, 0, 4, spec), "compute_features: the after epoch has no green or red plane");
    FeatureEpoch bad_valid = e;
    bad_valid.valid = cv::Mat(4, 3, CV_8UC1, cv::Scalar(1));
    EXPECT_EQ(message(bad_valid, e, 0, 4, spec),
              "compute_features: the before epoch's validity must be CV_8UC1 of the bands' size or empty");
}

TEST(ToFeatureGrid, AveragesCellsAndInvalidatesCellsWithAnyInvalidPixel) {
    EpochBlock in;
    in.green = (cv::Mat_<std::uint16_t>(4, 6) << 1, 3, 10, 10, 0, 0,  //
                5, 7, 10, 11, 0, 0,                                    //
                100, 100, 2, 2, 9, 9,                                  //
                100, 101, 2, 3, 9, 9);
    in.red = in.green * 2;
    in.valid = cv::Mat(4, 6, CV_8UC1, cv::Scalar(255));
    in.valid.at<std::uint8_t>(3, 5) = 0;
    FeatureEpoch out;
    to_feature_grid(in, 2, out);
    ASSERT_EQ(out.green.size(), cv::Size(3, 2));
    EXPECT_EQ(out.green.type(), CV_32FC1);
    EXPECT_TRUE(out.blue.empty());
    EXPECT_TRUE(out.nir.empty());
    EXPECT_EQ(out.green.at<float>(0, 0), 4.f);
    EXPECT_EQ(out.green.at<float>(0, 1), 10.25f);
    EXPECT_EQ(out.green.at<float>(0, 2), 0.f);
    EXPECT_EQ(out.green.at<float>(1, 0), 100.25f);
    EXPECT_EQ(out.red.at<float>(1, 1), 4.5f);
    EXPECT_EQ(out.green.at<float>(1, 2), 0.f);  // one invalid pixel: the cell is invalid, its bands 0
    const cv::Mat expected_valid = (cv::Mat_<std::uint8_t>(2, 3) << 1, 1, 1, 1, 1, 0);
    EXPECT_EQ(cv::countNonZero(out.valid != expected_valid), 0);

    // Stride 1 converts, and an absent validity makes every cell valid.
    EpochBlock f;
    f.green = (cv::Mat_<float>(1, 2) << 0.25f, 0.5f);
    f.red = f.green.clone();
    f.nir = f.green.clone();
    to_feature_grid(f, 1, out);
    EXPECT_EQ(out.nir.at<float>(0, 1), 0.5f);
    EXPECT_EQ(cv::countNonZero(out.valid), 2);
}

TEST(ToFeatureGrid, RefusesWhatItCannotAverage) {
    auto message = [](const EpochBlock& in, int stride) {
        FeatureEpoch out;
        try {
            to_feature_grid(in, stride, out);
        } catch (const std::invalid_argument& error) {
            return std::string(error.what());
        }
        return std::string("no error");
    };
    EpochBlock in;
    in.green = cv::Mat(6, 5, CV_8UC1, cv::Scalar(1));
    in.red = in.green.clone();
    EXPECT_EQ(message(in, 2), "to_feature_grid: the block's 5 × 6 pixels are not a multiple of the stride 2");
    EXPECT_EQ(message(in, 9), "to_feature_grid: stride must be 1..8 (got 9)");
    EXPECT_EQ(message(in, 0), "to_feature_grid: stride must be 1..8 (got 0)");
    EpochBlock no_red = in;
    no_red.red.release();
    EXPECT_EQ(message(no_red, 1), "to_feature_grid: the epoch has no green or red band");
    EpochBlock doubles = in;
    doubles.red = cv::Mat(6, 5, CV_64FC1, cv::Scalar(1));
    EXPECT_EQ(message(doubles, 1), "to_feature_grid: bands must be CV_8UC1, CV_16UC1, CV_16SC1 or CV_32FC1");
    EpochBlock mixed = in;
    mixed.nir = cv::Mat(6, 5, CV_16UC1, cv::Scalar(1));
    EXPECT_EQ(message(mixed, 1), "to_feature_grid: every band must have the red band's size and type");
    EpochBlock bad_valid = in;
    bad_valid.valid = cv::Mat(6, 5, CV_16UC1, cv::Scalar(1));
    EXPECT_EQ(message(bad_valid, 1), "to_feature_grid: validity must be CV_8UC1 of the bands' size or empty");
}

}  // namespace
}  // namespace weipian::kernels
