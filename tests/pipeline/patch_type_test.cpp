// Patch type rules (pipeline/patch_type.cpp) on synthetic after-state patches at 1 m: a bright
// striped rectangle on farmland is a greenhouse, dark panel rows a solar farm, a long thin strip a
// road, a compact textured roof with its shadow a building, brown textured earth earthworks, a
// smooth grey yard hardened ground.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/patch_type.hpp"

namespace weipian {
namespace {

using kernels::PatchWindow;

// A window of a uniform background with noise of `noise` × the value (seeded).
struct Synthetic {
    cv::Mat blue, green, red, nir, mask;
    cv::RNG rng{140824};
    Synthetic(int rows, int cols, cv::Scalar bgrn)
        : blue(rows, cols, CV_32FC1, cv::Scalar(bgrn[0])),
          green(rows, cols, CV_32FC1, cv::Scalar(bgrn[1])),
          red(rows, cols, CV_32FC1, cv::Scalar(bgrn[2])),
          nir(rows, cols, CV_32FC1, cv::Scalar(bgrn[3])),
          mask(cv::Mat::zeros(rows, cols, CV_8UC1)) {}
    void pixel(int x, int y, cv::Scalar bgrn, double noise = 0.01) {
        const double f = 1.0 + rng.gaussian(noise);
        blue.at<float>(y, x) = static_cast<float>(bgrn[0] * f);
        green.at<float>(y, x) = static_cast<float>(bgrn[1] * f);
        red.at<float>(y, x) = static_cast<float>(bgrn[2] * f);
        nir.at<float>(y, x) = static_cast<float>(bgrn[3] * f);
    }
    void noisy_background(cv::Scalar bgrn) {
        for (int y = 0; y < mask.rows; ++y)
            for (int x = 0; x < mask.cols; ++x) pixel(x, y, bgrn, 0.03);
    }
    PatchType type(std::optional<double> cultivated_share = 1.0) const {
        return classify_patch(kernels::patch_statistics(PatchWindow{blue, green, red, nir, mask, {}}), 1.0, cultivated_share);
    }
};

const cv::Scalar kCrop{400, 700, 500, 3000};
const cv::Scalar kGrass{900, 1100, 1200, 2400};

TEST(PatchType, BrightStripedRectangleOnFarmlandIsAGreenhouse) {
    Synthetic s(120, 120, kCrop);
    s.noisy_background(kCrop);
    // 60 × 40 m of plastic bays 8 m wide with 2 m soil gaps.
    for (int y = 40; y < 80; ++y)
        for (int x = 30; x < 90; ++x) {
            s.pixel(x, y, (x - 30) % 10 < 8 ? cv::Scalar(2600, 2700, 2700, 3000) : cv::Scalar(1100, 1300, 1500, 1900));
            s.mask.at<std::uint8_t>(y, x) = 1;
        }
    const PatchType t = s.type();
    EXPECT_EQ(t.code, "DP") << t.reason;
    EXPECT_TRUE(t.filing_check);
    EXPECT_NE(t.reason.find("stripes every 10.0 m"), std::string::npos) << t.reason;
    // The same on land that is not cultivated is not typed a greenhouse.
    EXPECT_NE(s.type(0.0).code, "DP");
    // Cultivated land not assessed: typed on the pixels alone.
    EXPECT_EQ(s.type(std::nullopt).code, "DP");
}

TEST(PatchType, DarkStripedRowsAreSolar) {
    Synthetic s(120, 120, kGrass);
    s.noisy_background(kGrass);
    // Panel rows 4 m deep with 2 m of ground between them.
    for (int y = 30; y < 90; ++y)
        for (int x = 20; x < 100; ++x) {
            s.pixel(x, y, (y - 30) % 6 < 4 ? cv::Scalar(380, 350, 300, 420) : cv::Scalar(1300, 1450, 1600, 2000));
            s.mask.at<std::uint8_t>(y, x) = 1;
        }
    const PatchType t = s.type();
    EXPECT_EQ(t.code, "GF") << t.reason;
    EXPECT_FALSE(t.filing_check);
}

TEST(PatchType, LongThinStripIsARoad) {
    Synthetic s(40, 220, kCrop);
    s.noisy_background(kCrop);
    for (int y = 17; y < 23; ++y)
        for (int x = 10; x < 210; ++x) {
            s.pixel(x, y, {1500, 1600, 1700, 1900});
            s.mask.at<std::uint8_t>(y, x) = 1;
        }
    const PatchType t = s.type();
    EXPECT_EQ(t.code, "DL") << t.reason;
    EXPECT_EQ(t.reason, "rule 2: elongation 39.7, width 5.5 m");
}

TEST(PatchType, CompactTexturedRoofWithShadowIsABuilding) {
    Synthetic s(60, 60, kGrass);
    s.noisy_background(kGrass);
    // 30 × 30 m of roofs: 5 m units alternating light and dark facets; a 3 m shadow east and south.
    for (int y = 15; y < 45; ++y)
        for (int x = 15; x < 45; ++x) {
            const bool light = ((x - 15) / 5 + (y - 15) / 5) % 2 == 0;
            s.pixel(x, y, light ? cv::Scalar(1800, 1900, 2000, 2200) : cv::Scalar(1100, 1150, 1200, 1400));
            s.mask.at<std::uint8_t>(y, x) = 1;
        }
    for (int y = 18; y < 48; ++y)
        for (int x = 45; x < 48; ++x) s.pixel(x, y, {200, 220, 240, 300});
    for (int y = 45; y < 48; ++y)
        for (int x = 18; x < 45; ++x) s.pixel(x, y, {200, 220, 240, 300});
    const PatchType t = s.type(0.0);
    EXPECT_EQ(t.code, "20") << t.reason;
    EXPECT_EQ(t.reason.rfind("rule 7:", 0), 0u) << t.reason;
}

TEST(PatchType, BlueSteelShedIsABuilding) {
    Synthetic s(50, 50, kCrop);
    s.noisy_background(kCrop);
    for (int y = 10; y < 40; ++y)
        for (int x = 10; x < 40; ++x) {
            s.pixel(x, y, {2200, 1800, 1300, 1500});
            s.mask.at<std::uint8_t>(y, x) = 1;
        }
    EXPECT_EQ(s.type().code, "20");
}

TEST(PatchType, BrownTexturedEarthIsEarthworks) {
    Synthetic s(80, 100, kGrass);
    s.noisy_background(kGrass);
    for (int y = 20; y < 60; ++y)
        for (int x = 20; x < 80; ++x) {
            s.pixel(x, y, {1300, 1550, 1800, 2150}, 0.06);
            s.mask.at<std::uint8_t>(y, x) = 1;
        }
    const PatchType t = s.type(0.0);
    EXPECT_EQ(t.code, "DT") << t.reason;
}

TEST(PatchType, SmoothGreyYardIsHardenedGround) {
    Synthetic s(80, 100, kCrop);
    s.noisy_background(kCrop);
    // An L-shaped concrete yard.
    for (int y = 20; y < 60; ++y)
        for (int x = 20; x < 80; ++x) {
            if (y >= 40 && x >= 40) continue;
            s.pixel(x, y, {1600, 1700, 1800, 2000});
            s.mask.at<std::uint8_t>(y, x) = 1;
        }
    const PatchType t = s.type();
    EXPECT_EQ(t.code, "YH") << t.reason;
}

TEST(PatchType, TooSmallIsOther) {
    Synthetic s(20, 20, kCrop);
    s.mask(cv::Rect(5, 5, 3, 5)).setTo(1);
    const PatchType t = s.type();
    EXPECT_EQ(t.code, "QT");
    EXPECT_EQ(t.reason, "rule 1: 15 px, too small to type");
}

TEST(PatchType, CodesAreDeclaredOnce) {
    std::set<std::string> codes;
    for (const auto& c : patch_type_codes()) EXPECT_TRUE(codes.insert(c.code).second) << c.code;
    EXPECT_EQ(codes, (std::set<std::string>{"20", "YH", "DT", "GF", "DP", "DL", "QT"}));
    // Every assigned code is in the vocabulary the ledger accepts.
    const std::set<std::string> vocabulary(std::begin(kPatchTypeCodes), std::end(kPatchTypeCodes));
    for (const auto& code : codes) EXPECT_TRUE(vocabulary.count(code)) << code;
    EXPECT_STREQ(kFacilityCheckRemark, "设施农用地：核对备案");
}

// LEVIR-CD crops (0.5 m RGB, ../shared/data/levir-cd): every labelled new-building object of at
// least 50 m² typed from the after image by the same rules (no NIR: NGRDI; no cultivated layer).
// 89 of the 96 are typed 20 (building).
TEST(RealData, LevirNewBuildingsPatchTypes) {
    const std::filesystem::path root = std::filesystem::path(WEIPIAN_SOURCE_DIR) / ".." / "shared" / "data" / "levir-cd";
    if (!std::filesystem::exists(root / "label")) GTEST_SKIP() << root << " is not here";
    std::map<std::string, int> types;
    int objects = 0;
    for (const auto& entry : std::filesystem::directory_iterator(root / "label")) {
        const cv::Mat label = cv::imread(entry.path().string(), cv::IMREAD_GRAYSCALE);
        const cv::Mat after = cv::imread((root / "B" / entry.path().filename()).string(), cv::IMREAD_COLOR);
        ASSERT_FALSE(label.empty());
        ASSERT_FALSE(after.empty());
        std::vector<cv::Mat> bgr;
        cv::split(after, bgr);
        for (auto& band : bgr) band.convertTo(band, CV_32F);
        cv::Mat components, stats, centroids;
        const int n = cv::connectedComponentsWithStats(label > 0, components, stats, centroids, 4);
        for (int i = 1; i < n; ++i) {
            if (stats.at<int>(i, cv::CC_STAT_AREA) < 200) continue;  // 50 m² at 0.5 m
            const int x0 = std::max(0, stats.at<int>(i, cv::CC_STAT_LEFT) - kPatchTypeMarginPx);
            const int y0 = std::max(0, stats.at<int>(i, cv::CC_STAT_TOP) - kPatchTypeMarginPx);
            const int x1 = std::min(label.cols, stats.at<int>(i, cv::CC_STAT_LEFT) + stats.at<int>(i, cv::CC_STAT_WIDTH) + kPatchTypeMarginPx);
            const int y1 = std::min(label.rows, stats.at<int>(i, cv::CC_STAT_TOP) + stats.at<int>(i, cv::CC_STAT_HEIGHT) + kPatchTypeMarginPx);
            const cv::Rect roi(x0, y0, x1 - x0, y1 - y0);
            PatchWindow w{bgr[0](roi), bgr[1](roi), bgr[2](roi), {}, cv::Mat(components(roi) == i) / 255, {}};
            ++types[classify_patch(kernels::patch_statistics(w), 0.5, std::nullopt).code];
            ++objects;
        }
    }
    std::string line = "LEVIR-CD new buildings ≥ 50 m²: " + std::to_string(objects) + " objects;";
    for (const auto& [code, count] : types) line += " " + code + " " + std::to_string(count);
    std::cout << line << "\n";
    EXPECT_EQ(objects, 96);
    EXPECT_EQ(types, (std::map<std::string, int>{{"20", 89}, {"DP", 1}, {"DT", 1}, {"QT", 1}, {"YH", 4}}));
}

}  // namespace
}  // namespace weipian
