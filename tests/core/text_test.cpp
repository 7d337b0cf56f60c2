// Text helpers: one trim (ASCII blanks and the full-width space), lower case, join, digit checks.
#include "pipeline/core/text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace weipian {
namespace {

TEST(Text, TrimDropsAsciiBlanksAndFullWidthSpaces) {
    EXPECT_EQ(trim("  稷峰镇\t\r\n"), "稷峰镇");
    EXPECT_EQ(trim("\xE3\x80\x80 稷峰镇 \xE3\x80\x80"), "稷峰镇");
    EXPECT_EQ(trim("\v\f0101 "), "0101");
    EXPECT_EQ(trim(" \xE3\x80\x80 "), "");
    EXPECT_EQ(trim("a b"), "a b");
}

TEST(Text, LowerJoinDigitsAndCountyCodes) {
    EXPECT_EQ(lower_ascii("GPKG 稷山 Xlsx"), "gpkg 稷山 xlsx");
    EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
    EXPECT_EQ(join({}, ", "), "");
    EXPECT_TRUE(all_digits("0123"));
    EXPECT_FALSE(all_digits(""));
    EXPECT_FALSE(all_digits("12a"));
    EXPECT_TRUE(is_county_code("140824"));
    EXPECT_FALSE(is_county_code("14082"));
    EXPECT_FALSE(is_county_code("14082x"));
}

}  // namespace
}  // namespace weipian
