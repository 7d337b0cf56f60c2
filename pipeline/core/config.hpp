#pragma once
// The run configuration: YAML file -> typed structs, declared once (key, default, range, help),
// validated before any pixel is read, read-only afterwards. The same declarations print
// `weipian config --help` and dump the resolved configuration into run.json.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kernels/connectivity.hpp"

namespace weipian {

// One epoch (时相): the tiles that together cover the area at one date.
struct EpochConfig {
    std::vector<std::string> tiles;  // file paths or glob patterns, relative to the config file
    std::string date;                // ISO date (YYYY-MM-DD) written as QSX/HSX; may be empty
};

// Which 1-based band of the input holds each spectral role; 0 = the input has no such band.
struct BandRoles {
    int blue = 1;
    int green = 2;
    int red = 3;
    int nir = 4;
    int swir1 = 0;
};

// The common grid both epochs are brought onto.
struct GridConfig {
    std::string reference = "after";  // "after" or "before": whose grid the other is warped onto
    std::string crs;                  // override: any CRS PROJ understands (EPSG:4546, WKT, …)
    double pixel_size = 0;            // override, in CRS units; 0 = the reference epoch's
    std::string resampling = "bilinear";
};

// The detector's parameters: "construction" (kernels/detect.hpp) or "learned" (a model written
// by `weipian train`, pipeline/model.hpp).
struct DetectConfig {
    std::string method = "construction";
    // construction: the score threshold, empty = automatic (auto_method). learned: the
    // probability in (0, 1); when `threshold_given` is false the model's cross-validated
    // threshold is used instead.
    std::optional<double> threshold = 0.15;
    bool threshold_given = false;            // detect.threshold was set (config file or in code)
    std::string model;                       // learned: the model file (relative to the config file)
    std::string auto_method = "mad";         // "mad": median + auto_k·MAD; "otsu": Otsu 1979
    double auto_k = 3.0;
    double brightness_weight = 1.0;
    double after_vegetation_max = 0.3;
};

// Cleaning of the raw mask: morphology, then the minimum mapping unit.
struct CleanConfig {
    double open_radius_m = 1.0;
    double close_radius_m = 1.0;
    double min_area_m2 = 200.0;
    kernels::Connectivity connectivity = kernels::Connectivity::Four;
};

// An optional polygon layer used in the overlay.
struct VectorLayerConfig {
    std::string path;   // empty = not configured
    std::string layer;  // empty = the first layer
    // Text encoding of the attribute fields: "auto" (UTF-8, or GBK with a warning when a value
    // is not valid UTF-8), "UTF-8" or "GBK" (CP936). For a Shapefile it overrides the .cpg.
    std::string encoding = "auto";
    bool configured() const { return !path.empty(); }
};

struct TownshipLayerConfig : VectorLayerConfig {
    std::string name_field = "XZMC";
    std::string code_field = "XZQDM";
};

// The land-use survey layer (三调 DLTB): its classes give the cultivated part and the other
// parts of the form (pipeline/land_class.hpp). The key keeps its first name, overlay.cultivated.
struct CultivatedLayerConfig : VectorLayerConfig {
    std::string class_field = "DLBM";
    std::vector<std::string> classes = {"0101", "0102", "0103"};
    // Values of a layer not classed by GB/T 21010 codes (e.g. a land-use layer classed by name),
    // each "VALUE=GROUP" with GROUP 非耕农用地, 未利用地, 建设用地 or 未调查 (the feature is
    // left out: its land counts as unsurveyed). Checked by Config::validate.
    std::vector<std::string> class_groups;
    // Urban-village attribute (城镇村属性码); 203 = 村庄 (pre-judgement rule 6). Empty = none;
    // a layer without the field is refused only when the key is given.
    std::string urban_village_field = "CZCSXM";
    bool urban_village_field_given = false;  // the key was set (config file or in code)
};

// A layer whose area inside each parcel is reported (永久基本农田, 生态保护红线, 城镇开发边界).
struct AreaLayerConfig : VectorLayerConfig {};

// Village boundaries (村级调查区 CJDCQ): the village holding most of a parcel.
struct VillageLayerConfig : VectorLayerConfig {
    std::string name_field = "ZLDWMC";  // 坐落单位名称
    std::string code_field = "ZLDWDM";  // 坐落单位代码
};

// An approval layer: the parcel's covered share and the document numbers (ENFORCEMENT.md §2).
// kind is one of kApprovalKinds; number_field is required; end_date_field only for 临时用地.
inline constexpr const char* kApprovalKinds[] = {"批准用地", "增减挂钩", "供地", "不动产登记", "临时用地", "设施农用地"};
struct ApprovalLayerConfig : VectorLayerConfig {
    std::string kind;            // one of kApprovalKinds
    std::string name;            // label in outputs; empty = kind
    std::string number_field;    // field holding the document number (批准文号, 上图入库号, …)
    std::string end_date_field;  // 临时用地: field holding the end date; empty = none
};

struct Config;
struct OverlayConfig {
    std::string area_crs;  // projected CRS for areas; empty = CGCS2000 3-degree GK zone or UTM
    TownshipLayerConfig townships;
    CultivatedLayerConfig cultivated;        // DLTB
    AreaLayerConfig permanent_farmland;      // 永久基本农田 (YJJBNTTB)
    AreaLayerConfig redline;                 // 生态保护红线
    AreaLayerConfig urban_boundary;          // 城镇开发边界
    VillageLayerConfig villages;             // 村
    std::vector<ApprovalLayerConfig> approvals;  // any number, YAML list of mappings
    static OverlayConfig from(const Config& config);  // config.overlay
};

// Pre-judgement (初判, pipeline/prejudge.hpp): the rules of ENFORCEMENT.md §3 in order, their
// thresholds, and the 15 % rule's levels. Defaults as in ENFORCEMENT.md.
struct PrejudgeConfig {
    bool enabled = true;
    // Rule order; names: 批文, 供地手续, 登记发证, 设施农用地, 农村道路, 其他 (the last, 非农违法, always closes).
    std::vector<std::string> rules = {"批文", "供地手续", "登记发证", "设施农用地", "农村道路", "其他"};
    double large_parcel_mu = 2.0;                // coverage gate: parcels above this many 亩 …
    double cover_share_large = 0.95;             // … need this covered share,
    double cover_share_small = 0.90;             // smaller ones this,
    double uncovered_cultivated_max_mu = 0.5;    // and uncovered 耕地 below this (亩)
    double class_share = 0.5;                    // share of 1202/1006/0702/203 for rules 4–6
    double road_width_min_m = 2.0;               // rule 5 (农村道路) width range, metres
    double road_width_max_m = 8.0;
    double ratio_warning = 0.10;                 // 15 % rule: warn at this share …
    double ratio_limit = 0.15;                   // … and at the limit
    // Rule names known (批文, 供地手续, 登记发证, 设施农用地, 农村道路, 其他), none twice, at least one;
    // road_width_min_m ≤ road_width_max_m; ratio_warning ≤ ratio_limit. `where` starts each
    // message ("config '<file>': "). Throws ConfigError.
    void validate(const std::string& where) const;
};

struct ProcessingConfig {
    int block_size = 256;   // rows per strip read and detected at once (one row of 256² tiles)
    int threads = 0;        // 0 = all cores
};

// A rectification milestone of the county plan: at least `percent` % of the illegal cases of
// the years first_year..last_year rectified (已整改 or 销号) by `deadline` (YYYY-MM-DD).
// Written in the config as "2018-2021 50% by 2023-09-30" or "2022 100% by 2023-11-30".
struct LedgerMilestone {
    int first_year = 0;
    int last_year = 0;
    int percent = 100;
    std::string deadline;
    std::string text() const;  // the config form, e.g. "2018-2021 50% by 2023-09-30"
};

// The case ledger (台账) that runs feed and `weipian ledger` acts on (pipeline/ledger.hpp).
struct LedgerConfig {
    // GeoPackage file, or PostgreSQL/PostGIS as "PG:dbname=… [active_schema=…]" or
    // "postgresql://…"; empty = no ledger.
    std::string path;
    std::string match_rule = "overlap_ratio";  // overlap_ratio: ∩ / min(areas); iou: ∩ / ∪
    double match_threshold = 0.3;              // a parcel updates an open case at or above this
    // The plan's milestones (稷政办函〔2023〕18号, 三(一)).
    std::vector<LedgerMilestone> milestones = {{2018, 2021, 50, "2023-09-30"},
                                               {2018, 2021, 70, "2023-11-30"},
                                               {2022, 2022, 100, "2023-11-30"}};
    int annual_clearance_from = 2023;  // 年清: from this year on, year Y's cases by Y-12-31; 0 = off
    // Field names of a delivered lead file (`ledger import-leads`, ledger/ledger_leads.hpp);
    // each a list of accepted names tried in order (the usual names are the defaults).
    struct LeadFields {
        std::vector<std::string> id = {"线索编号", "监测编号", "JCBH", "XSBH", "TBBH"};
        std::vector<std::string> batch = {"批次", "批次名称", "PCMC", "PC"};
        std::vector<std::string> delivered = {"下发日期", "下发时间", "XFRQ"};
        std::vector<std::string> qsx = {"前时相", "QSX"};
        std::vector<std::string> hsx = {"后时相", "HSX"};
        std::vector<std::string> area = {"监测面积", "图斑面积", "JCMJ", "TBMJ"};  // 亩
        std::vector<std::string> earlier_id = {"往期图斑编号", "往期监测编号", "WQTBBH", "WQJCBH"};
        std::vector<std::string> x = {"X", "XZB", "横坐标", "经度"};  // XLSX without geometry
        std::vector<std::string> y = {"Y", "YZB", "纵坐标", "纬度"};
    } lead_fields;
    bool configured() const { return !path.empty(); }
};

// ---- issue 10 ----------------------------------------------------------------------------------

// The verification package written beside parcels.gpkg (keys output.*; pipeline/chips.hpp,
// pipeline/package.hpp).
struct OutputPackageConfig {
    bool chips = true;            // output.chips: chips/<parcel_id>_qsx.jpg and _hsx.jpg per parcel
    double chip_margin_m = 20;    // output.chip_margin_m: ground margin around the parcel's envelope
    int chip_size_px = 320;       // output.chip_size_px: the chip's longer side in pixels
    std::string chip_colour = "true";  // output.chip_colour: "true" (R,G,B) or "false" (NIR,R,G)
    bool html = true;             // output.html: index.html + overview.jpg + cards/ (needs chips)
    bool kmz = true;              // output.kmz: parcels.kmz (lon/lat, chips in the balloons)
};

// `weipian nightly` (pipeline/nightly.hpp, pipeline/catalog.hpp): where new imagery arrives and
// how it is dated. output.dir is the root holding one folder per night (YYYY-MM-DD) and latest.
struct NightlyConfig {
    std::vector<std::string> inbox;  // folders scanned recursively for rasters (relative to the config file)
    // The base epoch: the earlier coverage for places no delivery covered before (tiles/globs).
    std::vector<std::string> base;
    std::string base_date;  // date of the base tiles when neither metadata nor file name gives one
    // File-name patterns (ECMAScript regex) whose first capture group is a date, YYYYMMDD or
    // YYYY-MM-DD; tried in order after the file's metadata (GF-2 scene names by default).
    std::vector<std::string> date_patterns = {"_((?:19|20)[0-9]{6})(?:_|\\.|$)", "((?:19|20)[0-9]{2}-[0-9]{2}-[0-9]{2})"};
    std::vector<std::string> extensions = {".tif", ".tiff", ".img", ".jp2"};  // lower-case, with the dot
    // Imagery catalog: empty = the ledger's database when a ledger is configured, else
    // <output.dir>/catalog.gpkg (its own SQLite file).
    std::string catalog;
    double margin_m = 200;  // neighbouring coverage read around tonight's footprint, metres
};

// Rectification checked on new imagery (ledger/ledger_rectify.hpp): the share of a case's
// footprint that still looks built on the new image decides restored / partly / still built.
struct RectifyConfig {
    bool enabled = true;
    double restored_max_share = 0.2;  // below: 已恢复 (拆除复耕)
    double built_min_share = 0.8;     // at or above: 仍有建设; between: 部分恢复 with the share
};

struct CountyConfig {
    std::string name;  // e.g. 稷山县
    std::string code;  // 6-digit administrative code, e.g. 140824
};

// The whole resolved configuration of one run.
struct Config {
    std::filesystem::path source;  // the YAML file it came from (empty when built in code)
    CountyConfig county;
    EpochConfig before;
    EpochConfig after;
    BandRoles bands;
    GridConfig grid;
    std::string aoi;  // optional polygon file limiting the work
    DetectConfig detect;
    CleanConfig clean;
    OverlayConfig overlay;
    PrejudgeConfig prejudge;
    ProcessingConfig processing;
    std::string output_dir = "out";
    OutputPackageConfig package;  // output.chips … output.kmz (issue 10)
    LedgerConfig ledger;
    NightlyConfig nightly;  // issue 10
    RectifyConfig rectify;  // issue 10

    // Loads and validates a YAML file. Relative paths in it are resolved against its folder.
    // Throws ConfigError naming the file and the key for unknown keys, wrong types and values
    // out of range; InputError when the file cannot be read.
    static Config load(const std::filesystem::path& path);

    // Parses YAML text (for tests); `origin` names it in messages and anchors relative paths.
    static Config parse(const std::string& yaml_text, const std::filesystem::path& origin);

    // Checks cross-field rules (band roles present, ranges). Throws ConfigError.
    void validate() const;

    // The resolved configuration, every declared key with its value.
    nlohmann::json to_json() const;
};

inline OverlayConfig OverlayConfig::from(const Config& config) { return config.overlay; }

// One declared key as the table in config.cpp declares it: the single place of its default,
// range and help. Command-line options that mirror a key take their range and help from here.
struct ConfigKey {
    std::string key;           // e.g. "processing.threads"
    std::string default_text;  // as printed by `weipian config`
    std::string range;         // e.g. "[0, 1024]", "after|before", "path"
    std::string help;
    bool numeric = false;      // lo/hi hold the inclusive range of a numeric key
    double lo = 0, hi = 0;
};

// The declaration of `key`; throws InternalError when no such key is declared (a bug).
const ConfigKey& config_key(std::string_view key);

// Lines of `key  default  range — help` for every declared key (for `weipian config --help`).
std::string describe_config_keys();

}  // namespace weipian
