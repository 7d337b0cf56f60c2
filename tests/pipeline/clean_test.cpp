// The clean stage (pipeline/clean.cpp): what it refuses. The config reader refuses NaN and
// negative values itself (tests/core/config_values_test.cpp); a config built in code reaches
// the stage's own check.
#include "pipeline/clean.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "pipeline/core/errors.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

TEST(CleanStageMessages, ARadiusOrAreaThatIsNotAFiniteNumberNamesTheKey) {
    CleanStage::Options options;
    options.clean.close_radius_m = std::nan("");
    EXPECT_CONTAINS(test::message_of<ConfigError>([&] { CleanStage(options).validate(); }),
                    "config: key 'clean.close_radius_m': nan is not a finite number ≥ 0");
    options.clean.close_radius_m = 1;
    options.clean.min_area_m2 = -5;
    EXPECT_CONTAINS(test::message_of<ConfigError>([&] { CleanStage(options).validate(); }),
                    "config: key 'clean.min_area_m2': -5.000000 is not a finite number ≥ 0");
    options.clean.min_area_m2 = 200;
    EXPECT_NO_THROW(CleanStage(options).validate());
}

}  // namespace
}  // namespace weipian
