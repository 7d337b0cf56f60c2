// Per-parcel statistics (kernels/patch_type.cpp) on literal windows: brightness, saturation,
// shape, stripes, shadow.
#include <gtest/gtest.h>

#include <stdexcept>

#include "kernels/patch_type.hpp"

namespace weipian::kernels {
namespace {

struct Scene {
    cv::Mat blue, green, red, nir, mask;
    explicit Scene(int rows, int cols, cv::Scalar bgrn)
        : blue(rows, cols, CV_32FC1, cv::Scalar(bgrn[0])),
          green(rows, cols, CV_32FC1, cv::Scalar(bgrn[1])),
          red(rows, cols, CV_32FC1, cv::Scalar(bgrn[2])),
          nir(rows, cols, CV_32FC1, cv::Scalar(bgrn[3])),
          mask(cv::Mat::zeros(rows, cols, CV_8UC1)) {}
    void paint(const cv::Rect& r, cv::Scalar bgrn) {
        blue(r).setTo(bgrn[0]);
        green(r).setTo(bgrn[1]);
        red(r).setTo(bgrn[2]);
        nir(r).setTo(bgrn[3]);
    }
    PatchWindow window() const { return PatchWindow{blue, green, red, nir, mask, {}}; }
};

TEST(PatchStatistics, UniformRectangle) {
    Scene s(40, 60, {500, 700, 600, 3000});
    s.paint({10, 10, 40, 20}, {1800, 1900, 2000, 2200});
    s.mask(cv::Rect(10, 10, 40, 20)).setTo(1);
    const PatchStats st = patch_statistics(s.window());
    EXPECT_EQ(st.pixels, 800);
    EXPECT_DOUBLE_EQ(st.brightness, 1900.0);
    EXPECT_NEAR(st.brightness_sd, 0.0, 1e-6);
    EXPECT_NEAR(st.saturation, 0.1, 1e-6);
    EXPECT_DOUBLE_EQ(st.blue_share, 0.0);  // R > G > B
    EXPECT_NEAR(st.vi, (2200.0 - 2000.0) / 4200.0, 1e-6);
    EXPECT_DOUBLE_EQ(st.surround_brightness, 600.0);
    EXPECT_DOUBLE_EQ(st.shadow_share, 0.0);
    EXPECT_DOUBLE_EQ(st.edge_density, 0.0);  // the outline is not counted, the inside is flat
    EXPECT_NEAR(st.width_px, 19.5, 1e-6);    // 20 px wide ± 0.5
    EXPECT_NEAR(st.elongation, 800.0 / (19.5 * 19.5), 1e-9);
    EXPECT_GT(st.compactness, 0.6);
    EXPECT_LT(st.compactness, 0.75);  // a 2:1 rectangle: 4π·800/120² = 0.70
    EXPECT_DOUBLE_EQ(st.stripe_period_px, 0.0);
}

TEST(PatchStatistics, StripesGiveDirectionPeriodAndRegularity) {
    Scene s(60, 60, {600, 700, 800, 1500});
    // Vertical lines every 8 px (6 bright, 2 dark) inside a 40×40 square.
    for (int x = 10; x < 50; ++x) s.paint({x, 10, 1, 40}, (x - 10) % 8 < 6 ? cv::Scalar(2600, 2700, 2700, 3000) : cv::Scalar(1000, 1100, 1200, 1500));
    s.mask(cv::Rect(10, 10, 40, 40)).setTo(1);
    const PatchStats st = patch_statistics(s.window());
    EXPECT_EQ(st.stripe_direction_deg, 90);  // lines along the columns
    EXPECT_DOUBLE_EQ(st.stripe_period_px, 8.0);
    EXPECT_GT(st.stripe_regularity, 0.9);
    EXPECT_GT(st.anisotropy, 0.95);
    // Rotated a quarter turn: lines along the rows.
    Scene t(60, 60, {600, 700, 800, 1500});
    for (int y = 10; y < 50; ++y) t.paint({10, y, 40, 1}, (y - 10) % 8 < 6 ? cv::Scalar(2600, 2700, 2700, 3000) : cv::Scalar(1000, 1100, 1200, 1500));
    t.mask(cv::Rect(10, 10, 40, 40)).setTo(1);
    const PatchStats rt = patch_statistics(t.window());
    EXPECT_EQ(rt.stripe_direction_deg, 0);
    EXPECT_DOUBLE_EQ(rt.stripe_period_px, 8.0);
}

TEST(PatchStatistics, ShadowAlongTheOutline) {
    Scene s(50, 50, {1000, 1100, 1200, 1800});
    s.paint({10, 10, 30, 30}, {1800, 1900, 2000, 2200});
    s.paint({40, 13, 3, 30}, {200, 220, 240, 300});  // east side
    s.paint({13, 40, 27, 3}, {200, 220, 240, 300});  // south side
    s.mask(cv::Rect(10, 10, 30, 30)).setTo(1);
    const PatchStats st = patch_statistics(s.window());
    // Ring of 3 px: 36² − 30² = 396 px, of which 90 + 81 shadow.
    EXPECT_NEAR(st.shadow_share, 171.0 / 396.0, 1e-9);
}

TEST(PatchStatistics, EmptyMaskAndBadInput) {
    Scene s(10, 10, {1, 2, 3, 4});
    EXPECT_EQ(patch_statistics(s.window()).pixels, 0);
    PatchWindow w = s.window();
    w.red = cv::Mat();
    EXPECT_THROW(patch_statistics(w), std::invalid_argument);
    w = s.window();
    w.nir = cv::Mat::zeros(5, 5, CV_32FC1);
    EXPECT_THROW(patch_statistics(w), std::invalid_argument);
}

TEST(PatchStatistics, WithoutBlueOrNir) {
    Scene s(30, 30, {0, 700, 500, 0});
    s.mask(cv::Rect(5, 5, 20, 20)).setTo(1);
    PatchWindow w = s.window();
    w.blue = cv::Mat();
    w.nir = cv::Mat();
    const PatchStats st = patch_statistics(w);
    EXPECT_DOUBLE_EQ(st.brightness, 600.0);
    EXPECT_NEAR(st.vi, 200.0 / 1200.0, 1e-6);  // NGRDI
    EXPECT_DOUBLE_EQ(st.blue_share, 0.0);
}

}  // namespace
}  // namespace weipian::kernels
