#include "kernels/detect.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

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

// Expects `statement` to throw std::invalid_argument whose message contains `fragment`.
template <class F>
void expect_invalid_argument(F&& statement, const std::string& fragment) {
    try {
        statement();
        ADD_FAILURE() << "no exception; expected one containing: " << fragment;
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

EpochBlock converted(const EpochBlock& e, int type) {
    EpochBlock out;
    e.blue.convertTo(out.blue, type);
    e.green.convertTo(out.green, type);
    e.red.convertTo(out.red, type);
    e.nir.convertTo(out.nir, type);
    out.valid = e.valid;
    return out;
}

TEST(DetectConstruction, NativePixelTypesGiveTheFloatScore) {
    Scene s;  // integer DN below 32768: exact in every type
    cv::Mat reference, reference_mask;
    detect_construction(s.before, s.after, ConstructionParams{}, reference, reference_mask);
    for (int type : {CV_16UC1, CV_16SC1}) {
        cv::Mat score, mask;
        detect_construction(converted(s.before, type), converted(s.after, type), ConstructionParams{}, score, mask);
        EXPECT_EQ(cv::norm(score, reference, cv::NORM_INF), 0.0) << cv::typeToString(type);
        EXPECT_EQ(cv::countNonZero(mask != reference_mask), 0) << cv::typeToString(type);
    }
    // uint8: the same scene divided by 16 (ratios are gain-free; rounding moves scores slightly).
    EpochBlock b8, a8;
    for (auto [from, to] : {std::pair{&s.before, &b8}, std::pair{&s.after, &a8}}) {
        from->blue.convertTo(to->blue, CV_8UC1, 1.0 / 16);
        from->green.convertTo(to->green, CV_8UC1, 1.0 / 16);
        from->red.convertTo(to->red, CV_8UC1, 1.0 / 16);
        from->nir.convertTo(to->nir, CV_8UC1, 1.0 / 16);
    }
    cv::Mat score8, mask8;
    detect_construction(b8, a8, ConstructionParams{}, score8, mask8);
    EXPECT_LT(cv::norm(score8, reference, cv::NORM_INF), 0.02);
    EXPECT_EQ(cv::countNonZero(mask8 != reference_mask), 0);
}

TEST(DetectConstruction, RejectsUnsupportedAndMixedPixelTypes) {
    Scene s;
    cv::Mat score, mask;
    EpochBlock wide = converted(s.after, CV_32SC1);
    expect_invalid_argument([&] { detect_construction(s.before, wide, ConstructionParams{}, score, mask); },
                            "band 'red' of the after epoch is CV_32SC1; use CV_8UC1, CV_16UC1, CV_16SC1 or CV_32FC1");
    EpochBlock mixed = s.before;
    mixed.green.convertTo(mixed.green, CV_16UC1);
    expect_invalid_argument([&] { detect_construction(mixed, s.after, ConstructionParams{}, score, mask); },
                            "band 'green' of the before epoch is CV_16UC1 but 'red' of the after epoch is CV_32FC1");
    expect_invalid_argument([&] { detect_construction(s.before, converted(s.after, CV_16UC1), ConstructionParams{}, score, mask); },
                            "all role bands of both epochs must share one type");
}

TEST(DetectConstruction, RejectsMissingBandsRolesAndMasksWithTheirMessages) {
    Scene s;
    cv::Mat score, mask;
    EpochBlock no_green = s.before;
    no_green.green.release();
    expect_invalid_argument([&] { detect_construction(no_green, s.after, ConstructionParams{}, score, mask); },
                            "band 'green' of the before epoch is required");
    EpochBlock short_nir = s.after;
    short_nir.nir = cv::Mat(1, 3, CV_32FC1, cv::Scalar(1));
    expect_invalid_argument([&] { detect_construction(s.before, short_nir, ConstructionParams{}, score, mask); },
                            "band 'nir' of the after epoch differs in size");
    EpochBlock no_nir = s.after;
    no_nir.nir.release();
    expect_invalid_argument([&] { detect_construction(s.before, no_nir, ConstructionParams{}, score, mask); },
                            "both epochs must have the same band roles");
    EpochBlock bad_valid = s.after;
    bad_valid.valid = cv::Mat(1, 4, CV_16UC1, cv::Scalar(1));
    expect_invalid_argument([&] { detect_construction(s.before, bad_valid, ConstructionParams{}, score, mask); },
                            "valid mask of the after epoch must be CV_8UC1");
}

TEST(DetectConstruction, ReusesOutputBuffersOfTheRightSize) {
    Scene s;
    cv::Mat score(1, 4, CV_32FC1), mask(1, 4, CV_8UC1);
    const uchar* score_data = score.data;
    const uchar* mask_data = mask.data;
    for (int i = 0; i < 3; ++i) detect_construction(s.before, s.after, ConstructionParams{}, score, mask);
    EXPECT_EQ(score.data, score_data);
    EXPECT_EQ(mask.data, mask_data);
}

TEST(DetectVegetationIndex, MatchesNdviAndNgrdiForEveryPixelType) {
    Scene s;
    for (int type : {CV_8UC1, CV_16UC1, CV_16SC1, CV_32FC1}) {
        const double gain = type == CV_8UC1 ? 1.0 / 16 : 1.0;  // uint8 holds the scene / 16
        EpochBlock e;
        s.after.green.convertTo(e.green, type, gain);
        s.after.red.convertTo(e.red, type, gain);
        s.after.nir.convertTo(e.nir, type, gain);
        cv::Mat red, nir, green;
        e.red.convertTo(red, CV_64F);
        e.nir.convertTo(nir, CV_64F);
        e.green.convertTo(green, CV_64F);
        cv::Mat ndvi, ngrdi;
        vegetation_index(e, ndvi);
        e.nir.release();
        vegetation_index(e, ngrdi);
        ASSERT_EQ(ndvi.type(), CV_32FC1);
        for (int x = 0; x < 4; ++x) {
            const double r = red.at<double>(0, x), n = nir.at<double>(0, x), g = green.at<double>(0, x);
            EXPECT_NEAR(ndvi.at<float>(0, x), (n - r) / (n + r), 1e-6) << cv::typeToString(type) << " x=" << x;
            EXPECT_NEAR(ngrdi.at<float>(0, x), (g - r) / (g + r), 1e-6) << cv::typeToString(type) << " x=" << x;
        }
    }
}

// --- Instruction-set paths -------------------------------------------------------------------

std::vector<KernelPath> vector_paths() {
    std::vector<KernelPath> paths;
    for (KernelPath p : {KernelPath::Sse2, KernelPath::Avx2})
        if (kernel_path_available(p)) paths.push_back(p);
    return paths;
}

// A band of `type` with values over the type's range (float: reflectance-like, with negatives),
// as a view into a larger buffer when `as_view` (row step wider than the row).
cv::Mat random_band(cv::RNG& rng, int type, int rows, int cols, bool as_view) {
    cv::Mat buffer(rows + 2, cols + 5, type);
    switch (type) {
        case CV_8UC1: rng.fill(buffer, cv::RNG::UNIFORM, 0, 256); break;
        case CV_16UC1: rng.fill(buffer, cv::RNG::UNIFORM, 0, 65536); break;
        case CV_16SC1: rng.fill(buffer, cv::RNG::UNIFORM, -32768, 32768); break;
        default: rng.fill(buffer, cv::RNG::UNIFORM, -0.2, 1.2); break;
    }
    return as_view ? buffer(cv::Rect(3, 1, cols, rows)) : buffer(cv::Rect(0, 0, cols, rows)).clone();
}

cv::Mat random_flags(cv::RNG& rng, int rows, int cols, int one_in) {
    cv::Mat flags(rows, cols, CV_8UC1);
    for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x) flags.at<std::uint8_t>(y, x) = rng.uniform(0, one_in) == 0 ? 1 : 0;
    return flags;
}

// Random epoch with the edge cases of the formula: pixels where every band is 0 (0/0 → 0) and,
// for signed types, pixels where NIR = −R and G = −R (a zero sum with a nonzero difference).
EpochBlock random_epoch(cv::RNG& rng, int type, int rows, int cols, bool nir, bool blue, bool valid, bool as_view) {
    EpochBlock e;
    e.green = random_band(rng, type, rows, cols, as_view);
    e.red = random_band(rng, type, rows, cols, as_view);
    if (nir) e.nir = random_band(rng, type, rows, cols, as_view);
    if (blue) e.blue = random_band(rng, type, rows, cols, as_view);
    const cv::Mat dark = random_flags(rng, rows, cols, 12);
    for (cv::Mat* m : {&e.blue, &e.green, &e.red, &e.nir})
        if (!m->empty()) m->setTo(0, dark);
    if (type == CV_16SC1 || type == CV_32FC1) {
        const cv::Mat opposite = random_flags(rng, rows, cols, 12);
        cv::Mat negated;
        cv::subtract(cv::Scalar(0), e.red, negated, cv::noArray(), type);
        for (cv::Mat* m : {&e.green, &e.nir})
            if (!m->empty()) negated.copyTo(*m, opposite);
    }
    if (valid) {
        e.valid = random_flags(rng, rows, cols, 8);
        e.valid = 1 - e.valid;  // ~1 in 8 pixels without data
    }
    return e;
}

class DetectKernelPaths : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

// Every available vector path gives the scalar path's mask exactly and its score to the bit
// (asserted as the brief's 1e-5 and as bit equality: equal bits are what keeps masks equal at
// the threshold).
TEST_P(DetectKernelPaths, EveryPathEqualsScalar) {
    const auto [type, bands, cols] = GetParam();
    const bool nir = bands & 1, blue = bands & 2;
    // 1023 × 160 px is above two scheduling grains (kGrainPixels, detect.cpp): the TBB branch runs too.
    const int rows = cols >= 1000 ? 160 : 40;
    cv::RNG rng(static_cast<std::uint64_t>(type * 1000 + bands * 100 + cols));
    for (int valid_case = 0; valid_case < 3; ++valid_case) {
        const bool as_view = (cols + valid_case) % 2 == 1;
        const EpochBlock before = random_epoch(rng, type, rows, cols, nir, blue, valid_case >= 1, as_view);
        const EpochBlock after = random_epoch(rng, type, rows, cols, nir, blue, valid_case >= 2, as_view);
        ConstructionParams params;
        params.threshold = static_cast<float>(rng.uniform(-0.5, 0.5));
        params.brightness_weight = static_cast<float>(rng.uniform(0.5, 2.0));
        params.after_vegetation_max = static_cast<float>(rng.uniform(-0.2, 0.6));
        cv::Mat score_ref, mask_ref;
        detect_construction(before, after, params, score_ref, mask_ref, KernelPath::Scalar);
        ASSERT_EQ(cv::countNonZero(score_ref != score_ref), 0) << "NaN in the scalar score";
        for (KernelPath path : vector_paths()) {
            SCOPED_TRACE(std::string(kernel_path_name(path)) + " " + cv::typeToString(type) + " nir=" + std::to_string(nir) +
                         " blue=" + std::to_string(blue) + " cols=" + std::to_string(cols) +
                         " valid=" + std::to_string(valid_case));
            cv::Mat score, mask;
            detect_construction(before, after, params, score, mask, path);
            EXPECT_EQ(cv::countNonZero(mask != mask_ref), 0);
            EXPECT_LE(cv::norm(score, score_ref, cv::NORM_INF), 1e-5);
            bool identical = true;
            for (int y = 0; y < rows; ++y)
                identical = identical && std::memcmp(score.ptr(y), score_ref.ptr(y), cols * sizeof(float)) == 0;
            EXPECT_TRUE(identical) << "scores differ in their bits";
        }
        // Invalid pixels score exactly 0 and are never flagged, in every path.
        if (valid_case >= 1) {
            cv::Mat invalid = before.valid == 0;
            EXPECT_EQ(cv::countNonZero(score_ref.setTo(0, ~invalid) != 0), 0);
            EXPECT_EQ(cv::countNonZero(mask_ref & invalid), 0);
        }
    }
}

std::string path_case_name(const ::testing::TestParamInfo<std::tuple<int, int, int>>& info) {
    const auto [type, bands, cols] = info.param;
    const std::string depth = type == CV_8UC1 ? "u8" : type == CV_16UC1 ? "u16" : type == CV_16SC1 ? "s16" : "f32";
    return depth + (bands & 1 ? "_nir" : "_nonir") + (bands & 2 ? "_blue" : "_noblue") + "_w" + std::to_string(cols);
}

INSTANTIATE_TEST_SUITE_P(Detect, DetectKernelPaths,
                         ::testing::Combine(::testing::Values(CV_8UC1, CV_16UC1, CV_16SC1, CV_32FC1),
                                            ::testing::Values(0, 1, 2, 3),  // bit 0: nir, bit 1: blue
                                            ::testing::Values(1, 7, 15, 16, 17, 33, 1023)),
                         path_case_name);

// The scalar path against the documented formula in double precision (brightness as a mean).
TEST(DetectKernelScalar, MatchesTheFormulaInDoublePrecision) {
    cv::RNG rng(11);
    for (int type : {CV_8UC1, CV_16UC1, CV_16SC1, CV_32FC1}) {
        for (int bands = 0; bands < 4; ++bands) {
            const bool nir = bands & 1, blue = bands & 2;
            const EpochBlock before = random_epoch(rng, type, 9, 37, nir, blue, true, true);
            const EpochBlock after = random_epoch(rng, type, 9, 37, nir, blue, false, false);
            ConstructionParams params;
            params.brightness_weight = 0.7f;
            cv::Mat score, mask;
            detect_construction(before, after, params, score, mask, KernelPath::Scalar);
            auto at = [](const cv::Mat& m, int y, int x) {
                cv::Mat d;
                m(cv::Rect(x, y, 1, 1)).convertTo(d, CV_64F);
                return d.at<double>(0, 0);
            };
            auto nd = [](double a, double b) { return a + b != 0 ? (a - b) / (a + b) : 0.0; };
            for (int y = 0; y < 9; ++y) {
                for (int x = 0; x < 37; ++x) {
                    double v[2], br[2];
                    const EpochBlock* epochs[2] = {&before, &after};
                    for (int i = 0; i < 2; ++i) {
                        const EpochBlock& e = *epochs[i];
                        const double r = at(e.red, y, x), g = at(e.green, y, x);
                        v[i] = nir ? nd(at(e.nir, y, x), r) : nd(g, r);
                        br[i] = blue ? (at(e.blue, y, x) + g + r) / 3 : (g + r) / 2;
                    }
                    const double expected = before.valid.at<std::uint8_t>(y, x) ? (v[0] - v[1]) + 0.7 * nd(br[1], br[0]) : 0.0;
                    // float inputs near a zero sum lose digits in the float sum; scale the tolerance.
                    const double scale = 1 + std::abs(v[0]) + std::abs(v[1]) + std::abs(nd(br[1], br[0]));
                    const double tolerance = type == CV_32FC1 ? 1e-3 * scale : 1e-6 * scale;
                    EXPECT_NEAR(score.at<float>(y, x), expected, tolerance)
                        << cv::typeToString(type) << " bands=" << bands << " at " << x << "," << y;
                }
            }
        }
    }
}

// Outputs that are views into larger buffers (row ranges, and column ROIs whose vector tails end
// mid-row) are written in place: no reallocation, neighbours untouched.
TEST(DetectKernelPathsViews, WriteOnlyInsideOutputViews) {
    std::vector<KernelPath> paths = vector_paths();
    paths.insert(paths.begin(), KernelPath::Scalar);
    cv::RNG rng(5);
    for (KernelPath path : paths) {
        for (int cols : {1, 7, 33, 1023}) {
            SCOPED_TRACE(std::string(kernel_path_name(path)) + " cols=" + std::to_string(cols));
            const EpochBlock before = random_epoch(rng, CV_16UC1, 4, cols, true, true, true, false);
            const EpochBlock after = random_epoch(rng, CV_16UC1, 4, cols, true, true, false, true);
            cv::Mat score_buffer(8, cols + 10, CV_32FC1, cv::Scalar(-7)), mask_buffer(8, cols + 10, CV_8UC1, cv::Scalar(9));
            cv::Mat score_view = score_buffer(cv::Rect(5, 2, cols, 4)), mask_view = mask_buffer(cv::Rect(5, 2, cols, 4));
            const uchar* score_data = score_view.data;
            const uchar* mask_data = mask_view.data;
            detect_construction(before, after, ConstructionParams{}, score_view, mask_view, path);
            EXPECT_EQ(score_view.data, score_data);
            EXPECT_EQ(mask_view.data, mask_data);
            cv::Mat expected_score, expected_mask;
            detect_construction(before, after, ConstructionParams{}, expected_score, expected_mask, KernelPath::Scalar);
            EXPECT_EQ(cv::countNonZero(mask_view != expected_mask), 0);
            EXPECT_EQ(cv::norm(score_view, expected_score, cv::NORM_INF), 0.0);
            score_view.setTo(-7);
            mask_view.setTo(9);
            EXPECT_EQ(cv::countNonZero(score_buffer != -7), 0) << "a neighbour of the score view changed";
            EXPECT_EQ(cv::countNonZero(mask_buffer != 9), 0) << "a neighbour of the mask view changed";
        }
    }
}

// The dispatch decision is tested against given feature sets, so every case runs (and can fail)
// on every machine, whatever its CPU.
constexpr CpuFeatures kNoSimd{false, false};
constexpr CpuFeatures kSse2Only{true, false};
constexpr CpuFeatures kAvx2{true, true};

TEST(DetectKernelDispatch, AutoPicksTheBestPathOfTheFeatureSet) {
    for (const char* automatic : {static_cast<const char*>(nullptr), "", "auto"}) {
        SCOPED_TRACE(automatic ? std::string("'") + automatic + "'" : std::string("unset"));
        EXPECT_EQ(resolve_kernel_path(automatic, kAvx2), KernelPath::Avx2);
        EXPECT_EQ(resolve_kernel_path(automatic, kSse2Only), KernelPath::Sse2);
        EXPECT_EQ(resolve_kernel_path(automatic, kNoSimd), KernelPath::Scalar);
    }
}

TEST(DetectKernelDispatch, ExplicitValueForcesThatPath) {
    EXPECT_EQ(resolve_kernel_path("scalar", kAvx2), KernelPath::Scalar);
    EXPECT_EQ(resolve_kernel_path("sse2", kAvx2), KernelPath::Sse2);
    EXPECT_EQ(resolve_kernel_path("avx2", kAvx2), KernelPath::Avx2);
    EXPECT_EQ(resolve_kernel_path("scalar", kNoSimd), KernelPath::Scalar);
    EXPECT_EQ(resolve_kernel_path("sse2", kSse2Only), KernelPath::Sse2);
}

TEST(DetectKernelDispatch, UnknownValueIsRefusedWithTheChoices) {
    for (const char* value : {"neon", "AVX2", "avx2 ", "Scalar", "1"}) {
        expect_invalid_argument([&] { resolve_kernel_path(value, kAvx2); },
                                std::string("WEIPIAN_SIMD: '") + value +
                                    "' is not one of auto, scalar, sse2, avx2; unset WEIPIAN_SIMD or set it to one of those");
    }
}

TEST(DetectKernelDispatch, UnavailablePathIsRefusedNamingIt) {
    expect_invalid_argument([] { resolve_kernel_path("avx2", kSse2Only); },
                            "WEIPIAN_SIMD: 'avx2' is not available on this build or CPU (available: scalar, sse2)");
    expect_invalid_argument([] { resolve_kernel_path("sse2", kNoSimd); },
                            "WEIPIAN_SIMD: 'sse2' is not available on this build or CPU (available: scalar)");
    expect_invalid_argument([] { require_kernel_path(KernelPath::Avx2, kSse2Only); },
                            "detect: kernel path 'avx2' is not available on this build or CPU (available: scalar, sse2)");
    expect_invalid_argument([] { require_kernel_path(KernelPath::Sse2, kNoSimd); },
                            "detect: kernel path 'sse2' is not available on this build or CPU (available: scalar)");
    EXPECT_NO_THROW(require_kernel_path(KernelPath::Scalar, kNoSimd));
    EXPECT_NO_THROW(require_kernel_path(KernelPath::Avx2, kAvx2));
}

// On this machine: a path it has runs and gives the scalar mask, a path it lacks is refused with
// the message above. Scalar is always there.
TEST(DetectKernelDispatch, DetectionRunsWhatThisMachineHasAndRefusesTheRest) {
    const CpuFeatures host = host_cpu_features();
    EXPECT_TRUE(kernel_path_available(KernelPath::Scalar));
    Scene s;
    cv::Mat expected_score, expected_mask;
    detect_construction(s.before, s.after, ConstructionParams{}, expected_score, expected_mask, KernelPath::Scalar);
    ASSERT_EQ(expected_mask.at<std::uint8_t>(0, 0), 1);
    for (KernelPath p : {KernelPath::Scalar, KernelPath::Sse2, KernelPath::Avx2}) {
        SCOPED_TRACE(kernel_path_name(p));
        EXPECT_EQ(kernel_path_available(p), kernel_path_available(p, host));
        cv::Mat score, mask;
        if (kernel_path_available(p, host)) {
            detect_construction(s.before, s.after, ConstructionParams{}, score, mask, p);
            EXPECT_EQ(cv::countNonZero(mask != expected_mask), 0);
        } else {
            expect_invalid_argument([&] { detect_construction(s.before, s.after, ConstructionParams{}, score, mask, p); },
                                    std::string("detect: kernel path '") + kernel_path_name(p) + "' is not available");
        }
    }
}

// WEIPIAN_SIMD is read once per process, so each case runs in a fresh process (threadsafe death
// test style re-executes this binary) that sets the variable before the first detection. Each
// child detects on Auto, prints the path it ran (or the error) and exits 0 (or 3 on an error).
void detect_with_environment(const char* value) {
    if (value)
        setenv("WEIPIAN_SIMD", value, 1);
    else
        unsetenv("WEIPIAN_SIMD");
    Scene s;
    cv::Mat score, mask;
    try {
        detect_construction(s.before, s.after, ConstructionParams{}, score, mask);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        std::exit(3);
    }
    std::fprintf(stderr, "ran %s, mask %d\n", detect_kernel_path(), mask.at<std::uint8_t>(0, 0));
    std::exit(0);
}

TEST(DetectKernelDispatchDeathTest, EnvironmentChoosesThePath) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const CpuFeatures host = host_cpu_features();
    const std::string best = host.avx2 ? "avx2" : host.sse2 ? "sse2" : "scalar";
    EXPECT_EXIT(detect_with_environment("scalar"), ::testing::ExitedWithCode(0), "ran scalar, mask 1");
    EXPECT_EXIT(detect_with_environment(nullptr), ::testing::ExitedWithCode(0), "ran " + best + ", mask 1");
    EXPECT_EXIT(detect_with_environment("auto"), ::testing::ExitedWithCode(0), "ran " + best + ", mask 1");
    EXPECT_EXIT(detect_with_environment("bogus"), ::testing::ExitedWithCode(3),
                "error: WEIPIAN_SIMD: 'bogus' is not one of auto, scalar, sse2, avx2; unset WEIPIAN_SIMD");
    if (host.avx2)
        EXPECT_EXIT(detect_with_environment("avx2"), ::testing::ExitedWithCode(0), "ran avx2, mask 1");
    else
        EXPECT_EXIT(detect_with_environment("avx2"), ::testing::ExitedWithCode(3),
                    "error: WEIPIAN_SIMD: 'avx2' is not available on this build or CPU");
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

TEST(RobustThreshold, IsMedianPlusThreeScaledMads) {
    ScoreHistogram h;
    // 1000 values: −0.1, 0, 0.1 (median 0, MAD 0.1) and 50 outliers at 1.0.
    std::vector<float> values;
    for (int i = 0; i < 1000; ++i) values.push_back(0.1f * static_cast<float>(i % 3 - 1));
    for (int i = 0; i < 50; ++i) values.push_back(1.0f);
    h.add(values.data(), nullptr, values.size());
    EXPECT_NEAR(robust_threshold(h), 0.0 + 3 * 1.4826 * 0.1, 2 * 0.001);
    EXPECT_NEAR(robust_threshold(h, 5.0f), 5 * 1.4826 * 0.1, 2 * 0.001);
    EXPECT_THROW(robust_threshold(ScoreHistogram{}), std::invalid_argument);
}

TEST(OtsuThreshold, EmptyHistogramThrows) {
    EXPECT_THROW(otsu_threshold(ScoreHistogram{}), std::invalid_argument);
}

}  // namespace
}  // namespace weipian::kernels
