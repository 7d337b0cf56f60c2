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

struct CultivatedLayerConfig : VectorLayerConfig {
    std::string class_field = "DLBM";
    std::vector<std::string> classes = {"0101", "0102", "0103"};
};

struct Config;
struct OverlayConfig {
    std::string area_crs;  // projected CRS for areas; empty = CGCS2000 3-degree GK zone or UTM
    TownshipLayerConfig townships;
    CultivatedLayerConfig cultivated;
    static OverlayConfig from(const Config& config);  // config.overlay
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
    bool configured() const { return !path.empty(); }
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
    ProcessingConfig processing;
    std::string output_dir = "out";
    LedgerConfig ledger;

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
