#include "pipeline/core/config.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/errors.hpp"
#include "tests/support/config_support.hpp"

namespace weipian {
namespace {

std::string message_of(const std::string& yaml) { return test::config_refusal(yaml); }

TEST(Config, DefaultsMatchTheDocumentedValues) {
    const Config c = Config::parse("", "/data/empty.yaml");
    EXPECT_EQ(c.detect.threshold.value(), 0.15);
    EXPECT_EQ(c.clean.min_area_m2, 200.0);
    EXPECT_EQ(c.clean.connectivity, kernels::Connectivity::Four);
    EXPECT_EQ(c.overlay.cultivated.class_field, "DLBM");
    EXPECT_EQ(c.overlay.cultivated.classes, (std::vector<std::string>{"0101", "0102", "0103"}));
    EXPECT_EQ(c.bands.nir, 4);
}

TEST(Config, ReadsValuesAndResolvesPathsAgainstTheFileFolder) {
    const Config c = Config::parse(R"(
county: {name: 稷山县, code: "140824"}
epochs:
  before: {tiles: ["qsx/*.tif"], date: "2023-04-10"}
  after: {tiles: /abs/hsx.tif, date: "2023-09-18"}
bands: {blue: 0, green: 2, red: 1, nir: 0}
detect: {threshold: auto}
clean: {min_area_m2: 400, connectivity: 8}
overlay:
  cultivated: {path: dltb.gpkg, classes: ["0101"]}
output: {dir: ../out}
)", "/data/cfg/jishan.yaml");
    EXPECT_EQ(c.county.name, "稷山县");
    EXPECT_EQ(c.before.tiles, (std::vector<std::string>{"/data/cfg/qsx/*.tif"}));
    EXPECT_EQ(c.after.tiles, (std::vector<std::string>{"/abs/hsx.tif"}));
    EXPECT_FALSE(c.detect.threshold.has_value());
    EXPECT_EQ(c.clean.min_area_m2, 400.0);
    EXPECT_EQ(c.clean.connectivity, kernels::Connectivity::Eight);
    EXPECT_EQ(c.overlay.cultivated.path, "/data/cfg/dltb.gpkg");
    EXPECT_EQ(c.output_dir, "/data/out");
    EXPECT_EQ(c.bands.red, 1);
    EXPECT_EQ(c.to_json()["detect"]["threshold"], "auto");
    EXPECT_EQ(c.to_json()["clean"]["min_area_m2"], 400.0);
}

TEST(Config, UnknownKeyNamesTheKeyAndTheKnownOnes) {
    const std::string m = message_of("detect: {treshold: 0.2}\n");
    EXPECT_NE(m.find("/data/jishan.yaml"), std::string::npos) << m;
    EXPECT_NE(m.find("'detect.treshold': unknown key"), std::string::npos) << m;
    EXPECT_NE(m.find("threshold"), std::string::npos) << m;
}

TEST(Config, ValueOutOfRangeNamesKeyValueAndRange) {
    const std::string m = message_of("clean: {min_area_m2: -5}\n");
    EXPECT_NE(m.find("'clean.min_area_m2': value -5 is out of range [0, "), std::string::npos) << m;
}

TEST(Config, WrongTypesAndChoicesAreRefused) {
    EXPECT_NE(message_of("detect: {threshold: high}\n").find("'high' is not a number"), std::string::npos);
    EXPECT_NE(message_of("grid: {reference: middle}\n").find("'middle' is not one of: after, before"), std::string::npos);
    EXPECT_NE(message_of("clean: {connectivity: 6}\n").find("'6' is not one of: 4, 8"), std::string::npos);
    EXPECT_NE(message_of("bands: {red: 2.5}\n").find("expected a whole number"), std::string::npos);
    EXPECT_NE(message_of("bands: {green: 3, red: 3}\n").find("name the same band 3"), std::string::npos);
    EXPECT_NE(message_of("detect: [1, 2]\n").find("expected a mapping"), std::string::npos);
    EXPECT_NE(message_of("detect: {threshold: 0.2\n").find("not valid YAML"), std::string::npos);
}

TEST(Config, MissingFileIsAnInputError) {
    try {
        Config::load("/nonexistent/weipian.yaml");
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("cannot read '/nonexistent/weipian.yaml'"), std::string::npos);
    }
}

TEST(Config, HelpListsEveryKeyWithDefaults) {
    const std::string help = describe_config_keys();
    EXPECT_NE(help.find("clean.min_area_m2  (default 200; [0, 1e+08])"), std::string::npos) << help;
    EXPECT_NE(help.find("detect.threshold  (default 0.15; [-1, 2] or auto; learned: (0, 1))"), std::string::npos);
    EXPECT_NE(help.find("detect.model  (default \"\"; path)"), std::string::npos) << help;
}

}  // namespace
}  // namespace weipian
