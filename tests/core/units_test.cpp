// Units: hundredths of a 亩, rounded half away from zero, and how the plan prints them.
#include "pipeline/core/units.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "pipeline/core/errors.hpp"

namespace weipian {
namespace {

// m² whose to_centimu() is exactly `centimu` (亩 = m² × 0.0015).
double m2_of(std::int64_t centimu) { return static_cast<double>(centimu) * 20.0 / 3.0; }

TEST(ReportTest, FormatMuPrintsTwoDecimalsWithoutTrailingZeros) {
    EXPECT_EQ(format_mu(1950), "19.5");
    EXPECT_EQ(format_mu(14131), "141.31");
    EXPECT_EQ(format_mu(2000), "20");
    EXPECT_EQ(format_mu(0), "0");
    EXPECT_EQ(format_mu(5), "0.05");
    EXPECT_EQ(format_mu(50), "0.5");
    EXPECT_EQ(format_mu(99), "0.99");
    EXPECT_EQ(format_mu(100), "1");
    EXPECT_EQ(format_mu(-1950), "-19.5");
    EXPECT_EQ(format_mu(std::numeric_limits<std::int64_t>::min()), "-92233720368547758.08");
}

TEST(ReportTest, ToCentimuRoundsHalfAwayFromZero) {
    EXPECT_EQ(to_centimu(10000.0), 1500);  // 1 公顷 = 15 亩
    EXPECT_EQ(to_centimu(10.0), 2);        // 1.5 centimu
    EXPECT_EQ(to_centimu(30.0), 5);        // 4.5: half to even would give 4
    EXPECT_EQ(to_centimu(50.0), 8);        // 7.5
    EXPECT_EQ(to_centimu(-10.0), -2);
    EXPECT_EQ(to_centimu(3.3), 0);  // 0.495
    EXPECT_EQ(to_centimu(3.4), 1);  // 0.51
    EXPECT_EQ(to_centimu(0.0), 0);
    for (std::int64_t centimu = 0; centimu < 200000; centimu += 7) EXPECT_EQ(to_centimu(m2_of(centimu)), centimu);
    EXPECT_THROW(to_centimu(std::nan("")), InternalError);
}

}  // namespace
}  // namespace weipian
