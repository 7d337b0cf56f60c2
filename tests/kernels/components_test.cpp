#include "kernels/components.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include <opencv2/imgproc.hpp>

namespace weipian::kernels {
namespace {

cv::Mat random_blobs(int rows, int cols, int seed, double density) {
    cv::RNG rng(static_cast<std::uint64_t>(seed));
    cv::Mat m(rows, cols, CV_8UC1, cv::Scalar(0));
    const int n = static_cast<int>(density * rows * cols / 20.0);
    for (int i = 0; i < n; ++i) {
        const int w = rng.uniform(1, 9), h = rng.uniform(1, 9);
        const int x = rng.uniform(0, cols), y = rng.uniform(0, rows);
        cv::rectangle(m, cv::Rect(x, y, w, h) & cv::Rect(0, 0, cols, rows), cv::Scalar(1), cv::FILLED);
    }
    // Salt and pepper, so diagonal touches and one-pixel holes occur.
    for (int i = 0; i < rows * cols / 50; ++i) m.at<std::uint8_t>(rng.uniform(0, rows), rng.uniform(0, cols)) ^= 1;
    return m;
}

std::vector<StreamComponent> label_in_strips(const cv::Mat& mask, const cv::Mat& score, int strip, Connectivity c) {
    StreamingLabeller labeller(mask.cols, c);
    std::vector<StreamComponent> all;
    for (int y = 0; y < mask.rows; y += strip) {
        const int rows = std::min(strip, mask.rows - y);
        labeller.add_rows(mask.rowRange(y, y + rows), score.empty() ? cv::Mat() : score.rowRange(y, y + rows), y);
        for (auto& comp : labeller.take_closed()) all.push_back(std::move(comp));
    }
    labeller.finish();
    for (auto& comp : labeller.take_closed()) all.push_back(std::move(comp));
    std::sort(all.begin(), all.end(), [](const StreamComponent& a, const StreamComponent& b) {
        return std::tie(a.first_pixel.y, a.first_pixel.x) < std::tie(b.first_pixel.y, b.first_pixel.x);
    });
    return all;
}

class StreamingLabellerTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(StreamingLabellerTest, EqualsWholeImageLabellingWhateverTheStripHeight) {
    const auto [strip, conn] = GetParam();
    const Connectivity c = conn == 8 ? Connectivity::Eight : Connectivity::Four;
    for (int seed = 1; seed <= 3; ++seed) {
        const cv::Mat mask = random_blobs(157, 211, seed, 0.35);
        cv::Mat score(mask.size(), CV_32FC1);
        cv::RNG(seed).fill(score, cv::RNG::UNIFORM, 0.0f, 1.0f);
        const auto comps = label_in_strips(mask, score, strip, c);

        cv::Mat labels, stats, centroids;
        const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, conn, CV_32S);
        ASSERT_EQ(static_cast<int>(comps.size()), n - 1) << "seed " << seed;
        std::map<std::pair<int, int>, int> label_at_first;  // first pixel -> label
        std::vector<double> sums(static_cast<std::size_t>(n), 0.0);
        for (int y = 0; y < mask.rows; ++y)
            for (int x = 0; x < mask.cols; ++x) {
                const int l = labels.at<int>(y, x);
                if (!l) continue;
                label_at_first.emplace(std::make_pair(y, x), l);
                sums[static_cast<std::size_t>(l)] += score.at<float>(y, x);
            }
        for (const auto& comp : comps) {
            const int l = labels.at<int>(comp.first_pixel);
            ASSERT_GT(l, 0);
            EXPECT_EQ(comp.area, stats.at<int>(l, cv::CC_STAT_AREA));
            EXPECT_EQ(comp.bbox, cv::Rect(stats.at<int>(l, cv::CC_STAT_LEFT), stats.at<int>(l, cv::CC_STAT_TOP),
                                          stats.at<int>(l, cv::CC_STAT_WIDTH), stats.at<int>(l, cv::CC_STAT_HEIGHT)));
            EXPECT_NEAR(comp.score_sum, sums[static_cast<std::size_t>(l)], 1e-6 * comp.area);
            std::int64_t run_pixels = 0;
            for (const kernels::Run& r : comp.runs) run_pixels += r.x1 - r.x0;
            EXPECT_EQ(run_pixels, comp.area);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(StripsAndConnectivity, StreamingLabellerTest,
                         ::testing::Combine(::testing::Values(1, 7, 64, 1000), ::testing::Values(4, 8)));

TEST(StreamingLabeller, UShapeClosesOnlyWhenBothArmsAreJoined) {
    // Two arms that meet only at the bottom row: one component, closed after the last row.
    cv::Mat m = (cv::Mat_<std::uint8_t>(4, 5) << 1, 0, 0, 0, 1,
                                                  1, 0, 0, 0, 1,
                                                  1, 0, 0, 0, 1,
                                                  1, 1, 1, 1, 1);
    StreamingLabeller labeller(5, Connectivity::Four);
    labeller.add_rows(m.rowRange(0, 2), {}, 0);
    EXPECT_TRUE(labeller.take_closed().empty());
    labeller.add_rows(m.rowRange(2, 4), {}, 2);
    EXPECT_TRUE(labeller.take_closed().empty());  // still open: the next row may touch it
    labeller.finish();
    const auto closed = labeller.take_closed();
    ASSERT_EQ(closed.size(), 1u);
    EXPECT_EQ(closed[0].area, 11);
    EXPECT_EQ(closed[0].first_pixel, cv::Point(0, 0));
}

TEST(StreamingLabeller, ClosesAComponentOnTheFirstRowWithoutIt) {
    cv::Mat m = (cv::Mat_<std::uint8_t>(3, 3) << 1, 1, 0, 0, 0, 0, 0, 1, 0);
    StreamingLabeller labeller(3, Connectivity::Eight);
    labeller.add_rows(m.rowRange(0, 2), {}, 0);
    const auto closed = labeller.take_closed();
    ASSERT_EQ(closed.size(), 1u);
    EXPECT_EQ(closed[0].area, 2);
}

TEST(StreamingLabeller, MemoryFollowsOpenComponentsWhenForegroundTouchesEveryRow) {
    // A line down column 0 (one component open all along) beside 1000 separate dots.
    cv::Mat m(2000, 100, CV_8UC1, cv::Scalar(0));
    m.col(0).setTo(1);
    for (int y = 0; y < m.rows; y += 2) m.at<std::uint8_t>(y, 50) = 1;
    StreamingLabeller labeller(m.cols, Connectivity::Four);
    std::size_t closed = 0;
    for (int y = 0; y < m.rows; y += 64) {
        const int rows = std::min(64, m.rows - y);
        labeller.add_rows(m.rowRange(y, y + rows), {}, y);
        closed += labeller.take_closed().size();
        EXPECT_LE(labeller.open_components(), 2u) << "after row " << y + rows;
    }
    labeller.finish();
    closed += labeller.take_closed().size();
    EXPECT_EQ(closed, 1001u);
}

TEST(StreamingLabeller, RefusesRowsOutOfOrder) {
    StreamingLabeller labeller(4, Connectivity::Four);
    cv::Mat m(2, 4, CV_8UC1, cv::Scalar(0));
    labeller.add_rows(m, {}, 0);
    EXPECT_THROW(labeller.add_rows(m, {}, 5), std::invalid_argument);
    EXPECT_THROW(labeller.add_rows(cv::Mat(2, 3, CV_8UC1), {}, 2), std::invalid_argument);
}

TEST(PolygonizeComponent, EqualsTheWholeImagePolygons) {
    for (int conn : {4, 8}) {
        const Connectivity c = conn == 8 ? Connectivity::Eight : Connectivity::Four;
        const cv::Mat mask = random_blobs(120, 140, 11, 0.4);
        const auto whole = polygonize(mask, c, 1);
        const auto comps = label_in_strips(mask, {}, 13, c);
        ASSERT_EQ(whole.size(), comps.size());
        for (std::size_t i = 0; i < comps.size(); ++i) {
            const PixelPolygon p = polygonize_component(comps[i], c);
            EXPECT_EQ(p.first_pixel, whole[i].first_pixel);
            EXPECT_EQ(p.pixel_count, whole[i].pixel_count);
            EXPECT_TRUE(p.parts == whole[i].parts) << "component " << i;
        }
    }
}

}  // namespace
}  // namespace weipian::kernels
