#include "kernels/forest.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace weipian::kernels {
namespace {

TreeNode split(int feature, float value, int left, int right) { return {feature, value, left, right, 0.0f}; }
TreeNode leaf(float value) { return {-1, 0.0f, -1, -1, value}; }

// Tree 0: x0 < 0.5 ? −1 : 2.   Tree 1: x1 < 10 ? 0.5 : (x0 < 2 ? 0.25 : −0.75).   Base 0.1.
TreeEnsemble two_trees() {
    TreeEnsemble e;
    e.nodes = {split(0, 0.5f, 1, 2), leaf(-1.0f), leaf(2.0f),
               split(1, 10.0f, 4, 5), leaf(0.5f), split(0, 2.0f, 6, 7), leaf(0.25f), leaf(-0.75f)};
    e.roots = {0, 3};
    e.base_margin = 0.1f;
    e.feature_count = 2;
    return e;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    return "no error";
}

TEST(Ensemble, MarginsAreTheLeavesOfTheDocumentedRule) {
    const TreeEnsemble e = two_trees();
    validate_ensemble(e);
    const float a[2] = {0.2f, 5.0f};
    EXPECT_EQ(ensemble_margin(e, a), (0.1f + -1.0f) + 0.5f);
    // At equality the sample goes right (XGBoost: left when x < split).
    const float b[2] = {0.5f, 10.0f};
    EXPECT_EQ(ensemble_margin(e, b), (0.1f + 2.0f) + 0.25f);
    const float c[2] = {3.0f, 20.0f};
    EXPECT_EQ(ensemble_margin(e, c), (0.1f + 2.0f) + -0.75f);
    EXPECT_FLOAT_EQ(ensemble_probability(e, c), 1.0f / (1.0f + std::exp(-1.35f)));
    const float nan[2] = {std::nanf(""), 0.0f};  // NaN goes right
    EXPECT_EQ(ensemble_margin(e, nan), (0.1f + 2.0f) + 0.5f);
}

TEST(Ensemble, ValidationNamesTheBrokenNode) {
    auto message = [](const std::function<void(TreeEnsemble&)>& edit) {
        TreeEnsemble e = two_trees();
        edit(e);
        return error_of([&] { validate_ensemble(e); });
    };
    EXPECT_EQ(message([](TreeEnsemble& e) { e.nodes[5].right = 8; }),
              "validate_ensemble: node 5 has child 8 outside the 8 nodes");
    EXPECT_EQ(message([](TreeEnsemble& e) { e.nodes[0].left = -1; }),
              "validate_ensemble: node 0 has child -1 outside the 8 nodes");
    EXPECT_EQ(message([](TreeEnsemble& e) { e.nodes[3].feature = 2; }),
              "validate_ensemble: node 3 splits on feature 2 but the ensemble has 2 features");
    EXPECT_EQ(message([](TreeEnsemble& e) { e.nodes[5].left = 3; }),
              "validate_ensemble: node 5 has child 3 that does not follow it (a cycle)");
    EXPECT_EQ(message([](TreeEnsemble& e) { e.roots[1] = 9; }), "validate_ensemble: root 9 of tree 1 is outside the 8 nodes");
    EXPECT_EQ(message([](TreeEnsemble& e) { e.roots.clear(); }), "validate_ensemble: the ensemble has no trees");
    EXPECT_EQ(message([](TreeEnsemble& e) { e.feature_count = 0; }), "validate_ensemble: the ensemble has no features");
    EXPECT_EQ(message([](TreeEnsemble& e) { e.nodes[0].split = std::nanf(""); }), "validate_ensemble: node 0 has a NaN split");
    EXPECT_EQ(message([](TreeEnsemble& e) { e.nodes[1].leaf = std::numeric_limits<float>::infinity(); }),
              "validate_ensemble: leaf 1 has a value that is not finite");
    EXPECT_EQ(message([](TreeEnsemble& e) { e.base_margin = std::nanf(""); }),
              "validate_ensemble: the base margin is not finite");
}

TEST(PredictPlanes, GateAndValidityDecideWhichPixelsAreEvaluated) {
    const TreeEnsemble e = two_trees();
    std::vector<cv::Mat> planes = {(cv::Mat_<float>(2, 3) << 0.2f, 0.5f, 3.0f, 0.2f, 0.5f, 3.0f),
                                   (cv::Mat_<float>(2, 3) << 5.0f, 10.0f, 20.0f, 6.0f, 5.9f, 20.0f)};
    cv::Mat valid = (cv::Mat_<std::uint8_t>(2, 3) << 1, 1, 1, 1, 1, 0);
    cv::Mat probability;
    PredictWorkspace ws;
    EXPECT_EQ(predict_planes(e, planes, valid, EvaluationGate{1, 6.0f}, probability, ws), 3);
    EXPECT_EQ(probability.at<float>(0, 0), 0.0f);  // x1 = 5 < 6: gated out
    EXPECT_EQ(probability.at<float>(0, 1), ensemble_probability(e, std::vector<float>{0.5f, 10.0f}.data()));
    EXPECT_EQ(probability.at<float>(0, 2), ensemble_probability(e, std::vector<float>{3.0f, 20.0f}.data()));
    EXPECT_EQ(probability.at<float>(1, 0), ensemble_probability(e, std::vector<float>{0.2f, 6.0f}.data()));  // at the gate
    EXPECT_EQ(probability.at<float>(1, 1), 0.0f);  // 5.9 < 6
    EXPECT_EQ(probability.at<float>(1, 2), 0.0f);  // invalid
    // No gate, no validity: every pixel.
    EXPECT_EQ(predict_planes(e, planes, cv::Mat(), EvaluationGate{}, probability, ws), 6);
    EXPECT_EQ(probability.at<float>(0, 0), ensemble_probability(e, std::vector<float>{0.2f, 5.0f}.data()));
}

// A random ensemble: `trees` trees of depth ≤ `depth` over `features` features, children after parents.
TreeEnsemble random_ensemble(int trees, int depth, int features, int seed) {
    cv::RNG rng(static_cast<std::uint64_t>(seed));
    TreeEnsemble e;
    e.feature_count = features;
    e.base_margin = static_cast<float>(rng.uniform(-0.5, 0.5));
    std::function<int(int)> grow = [&](int level) {
        const int self = static_cast<int>(e.nodes.size());
        if (level == depth || (level > 1 && rng.uniform(0.0, 1.0) < 0.2)) {
            e.nodes.push_back(leaf(static_cast<float>(rng.uniform(-1.0, 1.0))));
            return self;
        }
        e.nodes.push_back(split(rng.uniform(0, features), static_cast<float>(rng.uniform(0.0, 1.0)), -1, -1));
        const int left = grow(level + 1);
        e.nodes[static_cast<std::size_t>(self)].left = left;
        const int right = grow(level + 1);
        e.nodes[static_cast<std::size_t>(self)].right = right;
        return self;
    };
    for (int t = 0; t < trees; ++t) e.roots.push_back(grow(0));
    return e;
}

TEST(PredictPlanes, EqualsTheReferencePerPixelSeriallyAndInParallel) {
    const int features = 12;
    const TreeEnsemble e = random_ensemble(25, 6, features, 7);
    validate_ensemble(e);
    cv::RNG rng(11);
    std::vector<cv::Mat> planes(static_cast<std::size_t>(features));
    for (cv::Mat& p : planes) {
        p.create(53, 141, CV_32FC1);  // more pixels per row than a batch, and a partial batch
        rng.fill(p, cv::RNG::UNIFORM, 0.0, 1.0);
    }
    cv::Mat noise(53, 141, CV_8UC1);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 8);
    const cv::Mat valid = noise != 0;
    const EvaluationGate gate{3, 0.3f};
    cv::Mat serial, parallel;
    PredictWorkspace ws;
    const std::int64_t n = predict_planes(e, planes, valid, gate, serial, ws, false);
    EXPECT_EQ(predict_planes(e, planes, valid, gate, parallel, ws, true), n);
    std::int64_t expected = 0;
    std::vector<float> x(static_cast<std::size_t>(features));
    for (int y = 0; y < 53; ++y)
        for (int c = 0; c < 141; ++c) {
            for (int k = 0; k < features; ++k) x[static_cast<std::size_t>(k)] = planes[static_cast<std::size_t>(k)].at<float>(y, c);
            const bool evaluated = valid.at<std::uint8_t>(y, c) && x[3] >= 0.3f;
            expected += evaluated;
            const float p = evaluated ? ensemble_probability(e, x.data()) : 0.0f;
            ASSERT_EQ(serial.at<float>(y, c), p) << y << "," << c;
            ASSERT_EQ(parallel.at<float>(y, c), p) << y << "," << c;
        }
    EXPECT_EQ(n, expected);
    EXPECT_GT(n, 53 * 141 / 2);
}

TEST(PredictPlanes, RefusesPlanesThatDoNotFitTheModel) {
    const TreeEnsemble e = two_trees();
    const std::vector<cv::Mat> planes = {cv::Mat(2, 3, CV_32FC1, cv::Scalar(0)), cv::Mat(2, 3, CV_32FC1, cv::Scalar(0))};
    cv::Mat probability;
    PredictWorkspace ws;
    EXPECT_EQ(error_of([&] { predict_planes(e, {planes[0]}, cv::Mat(), {}, probability, ws); }),
              "predict_planes: 1 feature planes for a model of 2 features");
    EXPECT_EQ(error_of([&] { predict_planes(e, {planes[0], cv::Mat(2, 4, CV_32FC1)}, cv::Mat(), {}, probability, ws); }),
              "predict_planes: feature planes must all be CV_32FC1 of one size");
    EXPECT_EQ(error_of([&] { predict_planes(e, planes, cv::Mat(3, 3, CV_8UC1), {}, probability, ws); }),
              "predict_planes: validity must be CV_8UC1 of the planes' size or empty");
    EXPECT_EQ(error_of([&] { predict_planes(e, planes, cv::Mat(), EvaluationGate{2, 0.f}, probability, ws); }),
              "predict_planes: the gate's feature 2 is not below the model's 2 features");
    TreeEnsemble broken = e;
    broken.nodes[0].left = 0;
    EXPECT_EQ(error_of([&] { predict_planes(broken, planes, cv::Mat(), {}, probability, ws); }),
              "validate_ensemble: node 0 has child 0 that does not follow it (a cycle)");
}

TEST(ProbabilityToMask, UpsamplesFromCellCentresSmoothsAndThresholds) {
    const cv::Mat p = (cv::Mat_<float>(2, 2) << 0.0f, 1.0f, 0.0f, 1.0f);
    cv::Mat valid(4, 4, CV_8UC1, cv::Scalar(1));
    valid.at<std::uint8_t>(3, 3) = 0;
    cv::Mat mask, smooth;
    probability_to_mask(p, 2, 0, 0.5f, valid, mask, &smooth);
    ASSERT_EQ(mask.size(), cv::Size(4, 4));
    // Pixel centres 0..3 sit at cell coordinates −0.25, 0.25, 0.75, 1.25 (clamped at the edges).
    const float expected[4] = {0.0f, 0.25f, 0.75f, 1.0f};
    for (int x = 0; x < 4; ++x) EXPECT_FLOAT_EQ(smooth.at<float>(1, x), expected[x]) << x;
    EXPECT_EQ(mask.at<std::uint8_t>(0, 1), 0);
    EXPECT_EQ(mask.at<std::uint8_t>(0, 2), 1);
    EXPECT_EQ(mask.at<std::uint8_t>(3, 2), 1);
    EXPECT_EQ(mask.at<std::uint8_t>(3, 3), 0);  // invalid
    EXPECT_EQ(cv::countNonZero(mask), 7);
    // A 3×3 box mean: (0 + 0.25 + 0.75)/3 at column 1; the threshold is inclusive.
    probability_to_mask(p, 2, 1, 1.0f / 3.0f, cv::Mat(), mask, &smooth);
    EXPECT_FLOAT_EQ(smooth.at<float>(2, 1), 1.0f / 3.0f);
    EXPECT_EQ(mask.at<std::uint8_t>(2, 1), smooth.at<float>(2, 1) >= 1.0f / 3.0f ? 1 : 0);
    EXPECT_EQ(mask.at<std::uint8_t>(2, 0), 0);
    // Stride 1 keeps the grid.
    probability_to_mask(p, 1, 0, 0.5f, cv::Mat(), mask);
    EXPECT_EQ(mask.size(), cv::Size(2, 2));
    EXPECT_EQ(cv::countNonZero(mask), 2);
}

TEST(ProbabilityToMask, RefusesWhatDoesNotFit) {
    const cv::Mat p(2, 2, CV_32FC1, cv::Scalar(0));
    cv::Mat mask;
    EXPECT_EQ(error_of([&] { probability_to_mask(cv::Mat(2, 2, CV_8UC1), 2, 0, 0.5f, cv::Mat(), mask); }),
              "probability_to_mask: the probability must be a non-empty CV_32FC1 plane");
    EXPECT_EQ(error_of([&] { probability_to_mask(p, 0, 0, 0.5f, cv::Mat(), mask); }),
              "probability_to_mask: stride must be 1..8 (got 0)");
    EXPECT_EQ(error_of([&] { probability_to_mask(p, 2, -1, 0.5f, cv::Mat(), mask); }),
              "probability_to_mask: the smoothing radius must be ≥ 0 (got -1)");
    EXPECT_EQ(error_of([&] { probability_to_mask(p, 2, 0, 0.5f, cv::Mat(2, 2, CV_8UC1), mask); }),
              "probability_to_mask: validity must be CV_8UC1 of the image grid (4 × 4) or empty");
}

}  // namespace
}  // namespace weipian::kernels
