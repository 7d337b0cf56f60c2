// Every message of pipeline/config.cpp: each names the config file and the key (and the value
// when there is one) and says what would be accepted.
#include "pipeline/core/config.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/errors.hpp"
#include "tests/support/config_support.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {


const char* const kOrigin = "/data/cfg/jishan.yaml";

std::string refusal(const std::string& yaml) { return test::config_refusal(yaml, kOrigin); }

TEST(ConfigMessages, NotYamlNamesTheFileAndTheLine) {
    const std::string m = refusal("county: {name: a}\ndetect: {threshold: 0.2\n");
    EXPECT_CONTAINS(m, "config '/data/cfg/jishan.yaml': not valid YAML at line 3");
}

TEST(ConfigMessages, TopLevelMustBeAMapping) {
    EXPECT_EQ(refusal("- detect\n- clean\n"), "config '/data/cfg/jishan.yaml': expected a mapping of keys at the top level");
}

TEST(ConfigMessages, SectionMustBeAMapping) {
    EXPECT_CONTAINS(refusal("clean: 200\n"), "config '/data/cfg/jishan.yaml': key 'clean': expected a mapping of keys");
}

TEST(ConfigMessages, KeyThatIsNotAPlainNameNamesTheLine) {
    const std::string m = refusal("clean:\n  ? [min_area_m2, connectivity]\n  : 200\n");
    EXPECT_CONTAINS(m, "config '/data/cfg/jishan.yaml': line 2: ");
    EXPECT_CONTAINS(m, "is not a plain name; write each setting as key: value");
}

TEST(ConfigMessages, UnknownKeyListsTheKnownKeysOfItsSection) {
    const std::string m = refusal("clean: {min_area: 200}\n");
    EXPECT_CONTAINS(m, "key 'clean.min_area': unknown key; known keys here: ");
    EXPECT_CONTAINS(m, "min_area_m2");
    EXPECT_CONTAINS(m, "connectivity");
    EXPECT_CONTAINS(refusal("detectt: {threshold: 0.2}\n"), "key 'detectt': unknown key; known keys here: ");
}

TEST(ConfigMessages, ListWhereOneValueBelongs) {
    EXPECT_EQ(refusal("detect: {brightness_weight: [1, 2]}\n"),
              "config '/data/cfg/jishan.yaml': key 'detect.brightness_weight': expected a single value, not a list or mapping");
}

TEST(ConfigMessages, MappingWhereAListBelongs) {
    EXPECT_EQ(refusal("epochs: {before: {tiles: {a: 1}}}\n"),
              "config '/data/cfg/jishan.yaml': key 'epochs.before.tiles': expected a value or a list of values");
}

TEST(ConfigMessages, NotANumberNamesKeyAndValue) {
    EXPECT_EQ(refusal("clean: {min_area_m2: 200m2}\n"),
              "config '/data/cfg/jishan.yaml': key 'clean.min_area_m2': '200m2' is not a number");
}

TEST(ConfigMessages, OutOfRangeNamesKeyValueAndRange) {
    EXPECT_EQ(refusal("detect: {auto_k: 0.1}\n"),
              "config '/data/cfg/jishan.yaml': key 'detect.auto_k': value 0.1 is out of range [0.5, 20]");
    EXPECT_CONTAINS(refusal("bands: {nir: 65}\n"), "key 'bands.nir': value 65 is out of range [0, 64]");
}

TEST(ConfigMessages, WholeNumberExpected) {
    EXPECT_EQ(refusal("processing: {threads: 2.5}\n"),
              "config '/data/cfg/jishan.yaml': key 'processing.threads': expected a whole number, got 2.5");
}

TEST(ConfigMessages, ChoicesAreListed) {
    EXPECT_EQ(refusal("grid: {resampling: lanczos}\n"),
              "config '/data/cfg/jishan.yaml': key 'grid.resampling': 'lanczos' is not one of: nearest, bilinear, cubic, average");
    EXPECT_EQ(refusal("clean: {connectivity: 6}\n"), "config '/data/cfg/jishan.yaml': key 'clean.connectivity': '6' is not one of: 4, 8");
}

TEST(ConfigMessages, SameBandForGreenAndRed) {
    EXPECT_EQ(refusal("bands: {green: 2, red: 2}\n"),
              "config '/data/cfg/jishan.yaml': keys 'bands.green' and 'bands.red' name the same band 2; give each role its own band");
}

TEST(ConfigMessages, CultivatedLayerWithoutClasses) {
    EXPECT_EQ(refusal("overlay: {cultivated: {path: dltb.gpkg, classes: []}}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.cultivated.classes' is empty; list the cultivated classes, e.g. "
              "[\"0101\", \"0102\", \"0103\"]");
}

TEST(ConfigMessages, LedgerNeedsACountyCodeAndAnAfterDate) {
    EXPECT_EQ(refusal("ledger: {path: ledger.gpkg}\ncounty: {code: \"1408\"}\nepochs: {after: {date: \"2023-09-18\"}}\n"),
              "config '/data/cfg/jishan.yaml': key 'county.code' must be the 6-digit county code (e.g. \"140824\") when a ledger "
              "is set: case ids start with it");
    EXPECT_EQ(refusal("ledger: {path: ledger.gpkg}\ncounty: {code: \"140824\"}\n"),
              "config '/data/cfg/jishan.yaml': key 'epochs.after.date' must be a date YYYY-MM-DD when a ledger is set (got "
              "''): it gives the cases their year");
    // A date that is not ISO is refused where it is read, ledger or not.
    EXPECT_EQ(refusal("ledger: {path: ledger.gpkg}\ncounty: {code: \"140824\"}\nepochs: {after: {date: 2023/09/18}}\n"),
              "config '/data/cfg/jishan.yaml': key 'epochs.after.date': '2023/09/18' is not a date YYYY-MM-DD on the "
              "calendar; write e.g. 2023-09-18");
}

TEST(ConfigMessages, MilestonesSayWhatIsWrongAndGiveAnExample) {
    const auto milestone = [](const std::string& text) { return refusal("ledger: {milestones: [\"" + text + "\"]}\n"); };
    EXPECT_EQ(milestone("2018-2021 50%"),
              "config '/data/cfg/jishan.yaml': key 'ledger.milestones': '2018-2021 50%' is not 'YEARS PERCENT% by DATE'; "
              "write e.g. \"2018-2021 50% by 2023-09-30\"");
    EXPECT_CONTAINS(milestone("all 50% by 2023-09-30"),
                    "key 'ledger.milestones': 'all 50% by 2023-09-30' does not start with a year or a range of years; write e.g.");
    EXPECT_CONTAINS(milestone("2018 5.5% by 2023-09-30"),
                    "key 'ledger.milestones': '2018 5.5% by 2023-09-30' has a percentage that is not a whole number");
    EXPECT_CONTAINS(milestone("2018 150% by 2023-09-30"), "key 'ledger.milestones': '2018 150% by 2023-09-30' has a percentage outside 1%–100%");
    EXPECT_CONTAINS(milestone("2018 50 by 2023-09-30"), "'2018 50 by 2023-09-30' has no percentage such as 50%");
    EXPECT_CONTAINS(milestone("2018 50% by 30.09.2023"), "'2018 50% by 30.09.2023' has a deadline that is not a date YYYY-MM-DD");
}

TEST(ConfigMessages, MissingFileNamesThePathAndTheOption) {
    test::TempDir dir;
    const auto path = dir / "nope.yaml";
    try {
        Config::load(path);
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), "config: cannot read '" + path.string() + "'; check the path given to --config");
        EXPECT_EQ(e.exit_code(), 3);
    }
}

TEST(ConfigMessages, LearnedWithoutAModelNamesDetectModel) {
    EXPECT_EQ(refusal("detect: {method: learned}\n"),
              "config '/data/cfg/jishan.yaml': key 'detect.model' is required with detect.method: learned; give the model "
              "file `weipian train` wrote");
}

TEST(ConfigMessages, LearnedThresholdMustBeAProbability) {
    EXPECT_EQ(refusal("detect: {method: learned, model: m.json, threshold: 1.5}\n"),
              "config '/data/cfg/jishan.yaml': key 'detect.threshold': 1.5 is not a probability in (0, 1), which "
              "detect.method: learned needs; leave it out to use the model's cross-validated threshold");
    EXPECT_CONTAINS(refusal("detect: {method: learned, model: m.json, threshold: 0}\n"),
                    "key 'detect.threshold': 0 is not a probability in (0, 1)");
}

TEST(ConfigMessages, LearnedRefusesAnAutomaticThreshold) {
    EXPECT_EQ(refusal("detect: {method: learned, model: m.json, threshold: auto}\n"),
              "config '/data/cfg/jishan.yaml': key 'detect.threshold': 'auto' chooses a construction-score threshold; with "
              "detect.method: learned give a probability in (0, 1), or leave it out to use the model's cross-validated "
              "threshold");
}

TEST(ConfigLearned, ModelPathIsResolvedAgainstTheConfigFolderAndTheThresholdIsMarkedGiven) {
    const Config unset = Config::parse("detect: {method: learned, model: models/levir.json}\n", kOrigin);
    EXPECT_EQ(unset.detect.method, "learned");
    EXPECT_EQ(unset.detect.model, "/data/cfg/models/levir.json");
    EXPECT_FALSE(unset.detect.threshold_given);
    const Config set = Config::parse("detect: {method: learned, model: /m/a.json, threshold: 0.4}\n", kOrigin);
    EXPECT_EQ(set.detect.model, "/m/a.json");
    EXPECT_TRUE(set.detect.threshold_given);
    EXPECT_DOUBLE_EQ(*set.detect.threshold, 0.4);
    EXPECT_FALSE(Config::parse("clean: {min_area_m2: 100}\n", kOrigin).detect.threshold_given);
}

// ---- overlay layers of the enforcement overlay (issue 9)

TEST(ConfigOverlayLayers, ApprovalsAreReadWithPathsResolvedAgainstTheConfigFolder) {
    const Config c = Config::parse(
        "overlay:\n"
        "  cultivated: {path: dltb.gpkg, urban_village_field: CZCSXM}\n"
        "  permanent_farmland: {path: ../yn/yjjbnt.gpkg, layer: yjjbnttb, encoding: GBK}\n"
        "  redline: {path: sthx.gpkg}\n"
        "  urban_boundary: {path: czkfbj.shp}\n"
        "  villages: {path: cjdcq.gpkg, layer: cjdcq, name_field: MC, code_field: DM}\n"
        "  approvals:\n"
        "    - {kind: 批准用地, name: 农转用批文, path: approvals.gpkg, layer: pzyd, number_field: PZWH}\n"
        "    - {kind: 临时用地, path: /abs/lsyd.shp, number_field: LSWH, end_date_field: JSRQ, encoding: GBK}\n",
        kOrigin);
    EXPECT_TRUE(c.overlay.cultivated.urban_village_field_given);
    EXPECT_FALSE(Config{}.overlay.cultivated.urban_village_field_given);
    EXPECT_EQ(c.overlay.permanent_farmland.path, "/data/yn/yjjbnt.gpkg");
    EXPECT_EQ(c.overlay.permanent_farmland.layer, "yjjbnttb");
    EXPECT_EQ(c.overlay.permanent_farmland.encoding, "GBK");
    EXPECT_EQ(c.overlay.redline.path, "/data/cfg/sthx.gpkg");
    EXPECT_EQ(c.overlay.urban_boundary.path, "/data/cfg/czkfbj.shp");
    EXPECT_EQ(c.overlay.villages.name_field, "MC");
    EXPECT_EQ(c.overlay.villages.code_field, "DM");
    ASSERT_EQ(c.overlay.approvals.size(), 2u);
    EXPECT_EQ(c.overlay.approvals[0].kind, "批准用地");
    EXPECT_EQ(c.overlay.approvals[0].name, "农转用批文");
    EXPECT_EQ(c.overlay.approvals[0].path, "/data/cfg/approvals.gpkg");
    EXPECT_EQ(c.overlay.approvals[0].layer, "pzyd");
    EXPECT_EQ(c.overlay.approvals[0].number_field, "PZWH");
    EXPECT_EQ(c.overlay.approvals[1].name, "临时用地");  // empty name = kind
    EXPECT_EQ(c.overlay.approvals[1].path, "/abs/lsyd.shp");
    EXPECT_EQ(c.overlay.approvals[1].end_date_field, "JSRQ");
    EXPECT_EQ(c.overlay.approvals[1].encoding, "GBK");
    EXPECT_EQ(c.to_json()["overlay"]["approvals"][1]["number_field"], "LSWH");
    const std::string keys = describe_config_keys();
    for (const char* key : {"overlay.cultivated.urban_village_field", "overlay.permanent_farmland.path",
                            "overlay.permanent_farmland.layer", "overlay.permanent_farmland.encoding", "overlay.redline.path",
                            "overlay.redline.layer", "overlay.redline.encoding", "overlay.urban_boundary.path",
                            "overlay.urban_boundary.layer", "overlay.urban_boundary.encoding", "overlay.villages.path",
                            "overlay.villages.layer", "overlay.villages.name_field", "overlay.villages.code_field",
                            "overlay.villages.encoding", "overlay.approvals"})
        EXPECT_CONTAINS(keys, std::string(key) + "  (default ");
}

TEST(ConfigMessages, ApprovalsMustBeAListOfMappings) {
    EXPECT_EQ(refusal("overlay: {approvals: {kind: 批准用地}}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.approvals': expected a list of mappings, e.g. [{kind: 批准用地, "
              "path: pzyd.gpkg, number_field: PZWH}]");
    EXPECT_EQ(refusal("overlay: {approvals: [pzyd.gpkg]}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.approvals[1]': expected a mapping such as {kind: 批准用地, path: "
              "pzyd.gpkg, number_field: PZWH}");
}

TEST(ConfigMessages, ApprovalWithAnUnknownKeyNamesIt) {
    EXPECT_EQ(refusal("overlay: {approvals: [{kind: 供地, path: a.gpkg, number_field: GDWH, numbr: 1, date: 2}]}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.approvals[1]': unknown key numbr, date; known keys here: kind, "
              "name, path, layer, number_field, end_date_field, encoding");
}

TEST(ConfigMessages, ApprovalKindIsRequiredAndFromTheList) {
    EXPECT_EQ(refusal("overlay: {approvals: [{path: a.gpkg, number_field: PZWH}]}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.approvals[1]': kind is required; give one of: 批准用地, 增减挂钩, "
              "供地, 不动产登记, 临时用地, 设施农用地");
    EXPECT_EQ(refusal("overlay: {approvals: [{kind: 供地, path: a.gpkg, number_field: G}, {kind: 农转用, path: a.gpkg, "
                      "number_field: PZWH}]}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.approvals[2].kind': '农转用' is not one of: 批准用地, 增减挂钩, "
              "供地, 不动产登记, 临时用地, 设施农用地");
}

TEST(ConfigMessages, ApprovalPathAndNumberFieldAreRequired) {
    EXPECT_EQ(refusal("overlay: {approvals: [{kind: 供地, number_field: GDWH}]}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.approvals[1]': path is required: the approval layer's file "
              "(GeoPackage, Shapefile, …)");
    EXPECT_EQ(refusal("overlay: {approvals: [{kind: 供地, path: a.gpkg, number_field: G}, {kind: 设施农用地, path: s.gpkg}]}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.approvals[2]': number_field is required: the field holding the "
              "document number (批准文号, 上图入库号, 不动产权证号 …)");
}

TEST(ConfigMessages, ApprovalEndDateFieldOnlyForTemporaryUse) {
    EXPECT_EQ(refusal("overlay: {approvals: [{kind: 供地, path: a.gpkg, number_field: G, end_date_field: JSRQ}]}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.approvals[1].end_date_field': applies to kind 临时用地 only (this "
              "entry is 供地); remove it");
}

TEST(ConfigMessages, ApprovalEncodingFromTheList) {
    EXPECT_EQ(refusal("overlay: {approvals: [{kind: 供地, path: a.gpkg, number_field: G, encoding: latin1}]}\n"),
              "config '/data/cfg/jishan.yaml': key 'overlay.approvals[1].encoding': 'latin1' is not one of: auto, UTF-8, GBK");
}

TEST(ConfigMessages, ClassGroupsAreValueEqualsAGroupOfTheForm) {
    for (const char* entry : {"grassland", "grassland=草地"})
        EXPECT_EQ(refusal(std::string("overlay: {cultivated: {class_groups: [\"") + entry + "\"]}}\n"),
                  std::string("config '/data/cfg/jishan.yaml': key 'overlay.cultivated.class_groups': '") + entry +
                      "' is not VALUE=GROUP with GROUP one of 非耕农用地, 未利用地, 建设用地, 未调查; write e.g. \"grassland=未利用地\"");
}

// ---- nightly.* (issue 10)

TEST(ConfigMessages, NightlyDatePatternMustBeARegexWithAGroup) {
    const std::string m = refusal("nightly: {date_patterns: [\"_([0-9]{8}_\"]}\n");
    EXPECT_CONTAINS(m, "config '/data/cfg/jishan.yaml': key 'nightly.date_patterns': '_([0-9]{8}_' is not a valid regular expression (");
    EXPECT_CONTAINS(m, "); write an ECMAScript pattern whose first group is the date, e.g. \"_([0-9]{8})_\"");
    EXPECT_EQ(refusal("nightly: {date_patterns: [\"_([0-9]{8})_\", \"[0-9]{8}\"]}\n"),
              "config '/data/cfg/jishan.yaml': key 'nightly.date_patterns': '[0-9]{8}' has no capture group; put the date in "
              "parentheses, e.g. \"_([0-9]{8})_\"");
}

TEST(ConfigMessages, NightlyExtensionsAreFileExtensions) {
    EXPECT_EQ(refusal("nightly: {extensions: [.tif, \"*.img\"]}\n"),
              "config '/data/cfg/jishan.yaml': key 'nightly.extensions': '*.img' is not a file extension; write e.g. .tif");
    EXPECT_EQ(refusal("nightly: {extensions: []}\n"),
              "config '/data/cfg/jishan.yaml': key 'nightly.extensions': is empty; list the raster extensions to scan for, e.g. [.tif, .img]");
}

TEST(ConfigMessages, NightlyMarginAndBaseDate) {
    EXPECT_EQ(refusal("nightly: {margin_m: 20000}\n"),
              "config '/data/cfg/jishan.yaml': key 'nightly.margin_m': value 20000 is out of range [0, 10000]");
    EXPECT_EQ(refusal("nightly: {base_date: 2023-02-30}\n"),
              "config '/data/cfg/jishan.yaml': key 'nightly.base_date': '2023-02-30' is not a date YYYY-MM-DD on the calendar; write e.g. 2023-09-18");
    EXPECT_EQ(refusal("nightly: {inbox: {a: 1}}\n"),
              "config '/data/cfg/jishan.yaml': key 'nightly.inbox': expected a value or a list of values");
}

TEST(ConfigMessages, NightlyKeysAreReadAndResolved) {
    const Config c = Config::parse(
        "nightly:\n  inbox: [inbox, /mnt/delivery]\n  base: qsx/*.tif\n  base_date: 2023-04-10\n"
        "  date_patterns: [\"^GF2_.*_([0-9]{8})_\"]\n  extensions: [TIF, .Img]\n  catalog: catalog.gpkg\n  margin_m: 150\n",
        kOrigin);
    EXPECT_EQ(c.nightly.inbox, (std::vector<std::string>{"/data/cfg/inbox", "/mnt/delivery"}));
    EXPECT_EQ(c.nightly.base, (std::vector<std::string>{"/data/cfg/qsx/*.tif"}));
    EXPECT_EQ(c.nightly.base_date, "2023-04-10");
    EXPECT_EQ(c.nightly.date_patterns, (std::vector<std::string>{"^GF2_.*_([0-9]{8})_"}));
    EXPECT_EQ(c.nightly.extensions, (std::vector<std::string>{".tif", ".img"}));
    EXPECT_EQ(c.nightly.catalog, "/data/cfg/catalog.gpkg");
    EXPECT_DOUBLE_EQ(c.nightly.margin_m, 150);
    EXPECT_EQ(Config::parse("nightly: {catalog: \"PG:dbname=weipian password=secret\"}\n", kOrigin).nightly.catalog,
              "PG:dbname=weipian password=secret");
    EXPECT_EQ(Config::parse("nightly: {catalog: \"PG:dbname=weipian password=secret\"}\n", kOrigin).to_json()["nightly"]["catalog"],
              "PG:dbname=weipian password=***");
}

}  // namespace
}  // namespace weipian
