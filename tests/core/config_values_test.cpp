// The configuration refuses values that would pass a range check yet give a wrong answer: NaN
// and infinities in any numeric key, dates that are not ISO days on the calendar, and an after
// date not later than the before date. Each message names the file and the key.
#include "pipeline/core/config.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <string>

#include "pipeline/core/errors.hpp"
#include "tests/support/config_support.hpp"

namespace weipian {
namespace {

std::string message_of(const std::string& yaml) { return test::config_refusal(yaml); }

std::string epochs(const std::string& before_date, const std::string& after_date) {
    return "epochs:\n  before: {tiles: [b.tif], date: \"" + before_date + "\"}\n  after: {tiles: [a.tif], date: \"" +
           after_date + "\"}\n";
}

TEST(ConfigValues, NanAndInfinityAreRefusedInEveryNumericKey) {
    // Every declared numeric key, through the same reader.
    const char* keys[][2] = {{"detect", "threshold"},       {"detect", "auto_k"},
                             {"detect", "brightness_weight"}, {"detect", "after_vegetation_max"},
                             {"clean", "open_radius_m"},     {"clean", "close_radius_m"},
                             {"clean", "min_area_m2"},       {"grid", "pixel_size"},
                             {"ledger", "match_threshold"},  {"processing", "block_size"},
                             {"processing", "threads"},      {"bands", "nir"}};
    for (const auto& key : keys)
        for (const char* value : {"nan", "-nan", "NaN", "inf", "-inf", "infinity"}) {
            const std::string m = message_of(std::string(key[0]) + ": {" + key[1] + ": " + value + "}\n");
            const std::string full = std::string(key[0]) + "." + key[1];
            EXPECT_NE(m.find("config '/data/jishan.yaml': key '" + full + "'"), std::string::npos) << full << " " << value << ": " << m;
            EXPECT_NE(m.find("'" + std::string(value) + "' is not a finite number"), std::string::npos) << m;
        }
    EXPECT_NE(message_of("detect: {threshold: nan}\n").find("'nan' is not a finite number; give a number in [-1, 2]"),
              std::string::npos)
        << message_of("detect: {threshold: nan}\n");
}

TEST(ConfigValues, YamlSpellingsOfNanAndInfinityAreNotNumbers) {
    const std::string m = message_of("detect: {threshold: .nan}\n");
    EXPECT_NE(m.find("key 'detect.threshold': '.nan' is not a number"), std::string::npos) << m;
    EXPECT_NE(message_of("clean: {min_area_m2: .inf}\n").find("key 'clean.min_area_m2'"), std::string::npos);
}

TEST(ConfigValues, DatesMustBeIsoDaysOnTheCalendar) {
    std::string m = message_of(epochs("2023-13-45", "2023-09-18"));
    EXPECT_NE(m.find("config '/data/jishan.yaml': key 'epochs.before.date': '2023-13-45' is not a date YYYY-MM-DD on the calendar"),
              std::string::npos) << m;
    m = message_of(epochs("2023-04-10", "2023/09/18"));
    EXPECT_NE(m.find("key 'epochs.after.date': '2023/09/18' is not a date YYYY-MM-DD"), std::string::npos) << m;
    m = message_of(epochs("2023-02-29", "2023-09-18"));
    EXPECT_NE(m.find("key 'epochs.before.date': '2023-02-29'"), std::string::npos) << m;
    EXPECT_EQ(message_of(epochs("2024-02-29", "2024-09-18")), "");
}

TEST(ConfigValues, AfterDateMustBeLaterThanBeforeDate) {
    std::string m = message_of(epochs("2023-09-18", "2023-04-10"));
    EXPECT_NE(m.find("config '/data/jishan.yaml': key 'epochs.after.date' (2023-04-10) must be later than "
                     "'epochs.before.date' (2023-09-18)"),
              std::string::npos) << m;
    m = message_of(epochs("2023-09-18", "2023-09-18"));
    EXPECT_NE(m.find("must be later than"), std::string::npos) << m;
    // One date alone is fine (the other may be unknown).
    EXPECT_EQ(message_of("epochs:\n  after: {tiles: [a.tif], date: \"2023-09-18\"}\n"), "");
}

TEST(ConfigValues, ValidateChecksDatesSetInCode) {
    Config c;
    c.before.date = "2023-09-18";
    c.after.date = "2023-04-10";
    try {
        c.validate();
        FAIL() << "validate accepted an after date before the before date";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("key 'epochs.after.date' (2023-04-10) must be later"), std::string::npos) << e.what();
    }
    c.after.date = "2023-9-30";
    EXPECT_THROW(c.validate(), ConfigError);
}

TEST(ConfigValues, ValidateRefusesAMinimumAreaSetInCodeThatIsNotANumber) {
    Config c;
    c.source = "/data/jishan.yaml";
    c.clean.min_area_m2 = std::nan("");
    try {
        c.validate();
        FAIL() << "validate accepted clean.min_area_m2 = NaN";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "config '/data/jishan.yaml': key 'clean.min_area_m2' must be a number ≥ 0");
    }
}

TEST(ConfigValues, MilestoneDeadlineMustBeAnIsoDay) {
    const std::string m = message_of("ledger: {milestones: [\"2018-2021 50% by 2023-02-30\"]}\n");
    EXPECT_NE(m.find("key 'ledger.milestones': '2018-2021 50% by 2023-02-30' has a deadline that is not a date"),
              std::string::npos) << m;
}

TEST(ConfigKeys, CommandLineRangesComeFromTheDeclaration) {
    const ConfigKey& threads = config_key("processing.threads");
    EXPECT_TRUE(threads.numeric);
    EXPECT_EQ(threads.lo, 0);
    EXPECT_EQ(threads.hi, 1024);
    EXPECT_EQ(config_key("processing.block_size").lo, 16);
    EXPECT_EQ(config_key("detect.threshold").default_text, "0.15");
    EXPECT_EQ(config_key("clean.min_area_m2").default_text, "200");
    EXPECT_THROW(config_key("no.such.key"), InternalError);
}

}  // namespace
}  // namespace weipian
