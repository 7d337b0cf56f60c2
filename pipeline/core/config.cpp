#include "pipeline/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/dates.hpp"
#include "pipeline/core/location.hpp"
#include "pipeline/core/text.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Everything a setting needs to read itself from YAML and dump itself.
struct Context {
    const fs::path& origin;  // the config file (for messages)
    fs::path base;           // folder that relative paths are resolved against
};

[[noreturn]] void fail(const Context& ctx, const std::string& key, const std::string& what) {
    throw ConfigError("config '" + ctx.origin.string() + "': key '" + key + "': " + what);
}

std::string scalar_text(const YAML::Node& node, const Context& ctx, const std::string& key) {
    if (!node.IsScalar()) fail(ctx, key, "expected a single value, not a list or mapping");
    return node.Scalar();
}

double read_number(const YAML::Node& node, const Context& ctx, const std::string& key, double lo, double hi) {
    const std::string text = scalar_text(node, ctx, key);
    double value = 0;
    try {
        std::size_t used = 0;
        value = std::stod(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
    } catch (const std::exception&) {
        fail(ctx, key, "'" + text + "' is not a number");
    }
    // NaN passes every range comparison and infinity is no setting: refuse both by name.
    if (!std::isfinite(value)) {
        std::ostringstream range;
        range << "[" << lo << ", " << hi << "]";
        fail(ctx, key, "'" + text + "' is not a finite number; give a number in " + range.str());
    }
    if (value < lo || value > hi) {
        std::ostringstream range;
        range << "value " << text << " is out of range [" << lo << ", " << hi << "]";
        fail(ctx, key, range.str());
    }
    return value;
}

int read_int(const YAML::Node& node, const Context& ctx, const std::string& key, int lo, int hi) {
    const double value = read_number(node, ctx, key, lo, hi);
    if (value != static_cast<int>(value)) fail(ctx, key, "expected a whole number, got " + node.Scalar());
    return static_cast<int>(value);
}

std::string resolve_path(const std::string& value, const Context& ctx) {
    if (value.empty()) return value;
    const fs::path p(value);
    return p.is_absolute() ? value : (ctx.base / p).lexically_normal().string();
}

std::vector<std::string> read_list(const YAML::Node& node, const Context& ctx, const std::string& key) {
    std::vector<std::string> out;
    if (node.IsScalar()) {
        out.push_back(node.Scalar());
    } else if (node.IsSequence()) {
        for (const auto& item : node) out.push_back(scalar_text(item, ctx, key));
    } else {
        fail(ctx, key, "expected a value or a list of values");
    }
    return out;
}

// One declared key: where it lives, its default and range (as text for --help), and how to
// read and dump it.
struct Setting : ConfigKey {
    std::function<void(Config&, const YAML::Node&, const Context&)> read;
    std::function<json(const Config&)> dump;
};

template <typename Get>
Setting number_setting(std::string key, double lo, double hi, std::string help, Get get) {
    Setting s;
    s.key = key;
    std::ostringstream r, d;
    r << "[" << lo << ", " << hi << "]";
    Config defaults;
    d << get(defaults);
    s.range = r.str();
    s.default_text = d.str();
    s.help = std::move(help);
    s.numeric = true;
    s.lo = lo;
    s.hi = hi;
    s.read = [key, lo, hi, get](Config& c, const YAML::Node& n, const Context& ctx) {
        get(c) = read_number(n, ctx, key, lo, hi);
    };
    s.dump = [get](const Config& c) { return json(get(const_cast<Config&>(c))); };
    return s;
}

template <typename Get>
Setting int_setting(std::string key, int lo, int hi, std::string help, Get get) {
    Setting s;
    s.key = key;
    s.range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    Config defaults;
    s.default_text = std::to_string(get(defaults));
    s.help = std::move(help);
    s.numeric = true;
    s.lo = lo;
    s.hi = hi;
    s.read = [key, lo, hi, get](Config& c, const YAML::Node& n, const Context& ctx) {
        get(c) = read_int(n, ctx, key, lo, hi);
    };
    s.dump = [get](const Config& c) { return json(get(const_cast<Config&>(c))); };
    return s;
}

template <typename Get>
Setting text_setting(std::string key, std::string help, Get get, bool is_path = false,
                     std::vector<std::string> choices = {}) {
    Setting s;
    s.key = key;
    Config defaults;
    s.default_text = get(defaults).empty() ? "\"\"" : get(defaults);
    if (!choices.empty()) {
        for (std::size_t i = 0; i < choices.size(); ++i) s.range += (i ? "|" : "") + choices[i];
    } else {
        s.range = is_path ? "path" : "text";
    }
    s.help = std::move(help);
    s.read = [key, get, is_path, choices](Config& c, const YAML::Node& n, const Context& ctx) {
        std::string value = scalar_text(n, ctx, key);
        if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end()) {
            std::string list;
            for (const auto& choice : choices) list += (list.empty() ? "" : ", ") + choice;
            fail(ctx, key, "'" + value + "' is not one of: " + list);
        }
        get(c) = is_path ? resolve_path(value, ctx) : value;
    };
    s.dump = [get](const Config& c) { return json(get(const_cast<Config&>(c))); };
    return s;
}

template <typename Get>
Setting list_setting(std::string key, std::string help, Get get, bool is_path = false) {
    Setting s;
    s.key = key;
    Config fresh;
    const auto defaults = get(fresh);
    s.default_text = "[";
    for (std::size_t i = 0; i < defaults.size(); ++i) s.default_text += (i ? ", " : "") + defaults[i];
    s.default_text += "]";
    s.range = is_path ? "list of paths/globs" : "list";
    s.help = std::move(help);
    s.read = [key, get, is_path](Config& c, const YAML::Node& n, const Context& ctx) {
        auto values = read_list(n, ctx, key);
        if (is_path)
            for (auto& v : values) v = resolve_path(v, ctx);
        get(c) = values;
    };
    s.dump = [get](const Config& c) { return json(get(const_cast<Config&>(c))); };
    return s;
}

// An ISO date YYYY-MM-DD on the real calendar; empty = none.
template <typename Get>
Setting date_setting(std::string key, std::string help, Get get) {
    Setting s = text_setting(key, std::move(help), get);
    s.range = "YYYY-MM-DD";
    s.read = [key, get](Config& c, const YAML::Node& n, const Context& ctx) {
        const std::string value = scalar_text(n, ctx, key);
        if (!value.empty() && !is_iso_date(value))
            fail(ctx, key, "'" + value + "' is not a date YYYY-MM-DD on the calendar; write e.g. 2023-09-18");
        get(c) = value;
    };
    return s;
}

// "2018-2021 50% by 2023-09-30" or "2022 100% by 2023-11-30" (an en dash or "—" may join the years).
LedgerMilestone parse_milestone(const std::string& text, const Context& ctx, const std::string& key) {
    const auto bad = [&](const std::string& why) {
        fail(ctx, key, "'" + text + "' " + why + "; write e.g. \"2018-2021 50% by 2023-09-30\"");
    };
    std::istringstream in(text);
    std::string years, percent, by, deadline, extra;
    in >> years >> percent >> by >> deadline;
    if (!in || by != "by" || (in >> extra)) bad("is not 'YEARS PERCENT% by DATE'");
    LedgerMilestone m;
    const auto range = parse_year_range(years);
    if (!range) bad("does not start with a year or a range of years");
    m.first_year = range->first;
    m.last_year = range->second;
    if (percent.size() < 2 || percent.back() != '%') bad("has no percentage such as 50%");
    try {
        std::size_t used = 0;
        m.percent = std::stoi(percent.substr(0, percent.size() - 1), &used);
        if (used != percent.size() - 1) throw std::invalid_argument(percent);
    } catch (const std::exception&) {
        bad("has a percentage that is not a whole number");
    }
    if (m.percent < 1 || m.percent > 100) bad("has a percentage outside 1%–100%");
    if (!is_iso_date(deadline)) bad("has a deadline that is not a date YYYY-MM-DD");
    m.deadline = deadline;
    return m;
}

const std::vector<Setting>& settings() {
    static const std::vector<Setting> all = [] {
        std::vector<Setting> v;
        v.push_back(text_setting("county.name", "county name used in summary.txt (e.g. 稷山县)",
                                 [](Config& c) -> std::string& { return c.county.name; }));
        v.push_back(text_setting("county.code", "6-digit administrative code (e.g. 140824)",
                                 [](Config& c) -> std::string& { return c.county.code; }));
        v.push_back(list_setting("epochs.before.tiles", "earlier epoch (QSX): raster files or globs GDAL reads",
                                 [](Config& c) -> std::vector<std::string>& { return c.before.tiles; }, true));
        v.push_back(date_setting("epochs.before.date", "QSX date, YYYY-MM-DD",
                                 [](Config& c) -> std::string& { return c.before.date; }));
        v.push_back(list_setting("epochs.after.tiles", "later epoch (HSX): raster files or globs GDAL reads",
                                 [](Config& c) -> std::vector<std::string>& { return c.after.tiles; }, true));
        v.push_back(date_setting("epochs.after.date", "HSX date, YYYY-MM-DD (later than the QSX date)",
                                 [](Config& c) -> std::string& { return c.after.date; }));
        v.push_back(int_setting("bands.blue", 0, 64, "1-based band holding blue (0 = none)",
                                [](Config& c) -> int& { return c.bands.blue; }));
        v.push_back(int_setting("bands.green", 1, 64, "1-based band holding green",
                                [](Config& c) -> int& { return c.bands.green; }));
        v.push_back(int_setting("bands.red", 1, 64, "1-based band holding red",
                                [](Config& c) -> int& { return c.bands.red; }));
        v.push_back(int_setting("bands.nir", 0, 64, "1-based band holding near infrared (0 = none: NGRDI is used)",
                                [](Config& c) -> int& { return c.bands.nir; }));
        v.push_back(int_setting("bands.swir1", 0, 64, "1-based band holding SWIR-1 (0 = none); checked to exist, not used by 'construction'",
                                [](Config& c) -> int& { return c.bands.swir1; }));
        v.push_back(text_setting("grid.reference", "epoch whose grid the other is warped onto",
                                 [](Config& c) -> std::string& { return c.grid.reference; }, false, {"after", "before"}));
        v.push_back(text_setting("grid.crs", "override the working CRS (EPSG:4546, WKT…); empty = reference epoch's",
                                 [](Config& c) -> std::string& { return c.grid.crs; }));
        v.push_back(number_setting("grid.pixel_size", 0, 1e5, "override the pixel size in CRS units; 0 = reference epoch's",
                                   [](Config& c) -> double& { return c.grid.pixel_size; }));
        v.push_back(text_setting("grid.resampling", "warp resampling for the non-reference epoch",
                                 [](Config& c) -> std::string& { return c.grid.resampling; }, false,
                                 {"nearest", "bilinear", "cubic", "average"}));
        v.push_back(text_setting("aoi", "polygon file limiting the work (optional)",
                                 [](Config& c) -> std::string& { return c.aoi; }, true));
        v.push_back(text_setting("detect.method", "change detector: construction (spectral index, no training) or learned (detect.model)",
                                 [](Config& c) -> std::string& { return c.detect.method; }, false, {"construction", "learned"}));
        v.push_back(text_setting("detect.model", "model file written by `weipian train` (required by detect.method: learned)",
                                 [](Config& c) -> std::string& { return c.detect.model; }, true));
        {
            Setting s;
            s.key = "detect.threshold";
            const Config defaults;
            std::ostringstream d;
            d << *defaults.detect.threshold;
            s.default_text = d.str();
            s.range = "[-1, 2] or auto; learned: (0, 1)";
            s.numeric = true;
            s.lo = -1;
            s.hi = 2;
            s.help = "score threshold; 'auto' = chosen from the scene's scores by detect.auto_method; with detect.method: learned the "
                     "probability, default the model's cross-validated threshold";
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                c.detect.threshold_given = true;
                if (n.IsScalar() && n.Scalar() == "auto")
                    c.detect.threshold.reset();
                else
                    c.detect.threshold = read_number(n, ctx, "detect.threshold", -1, 2);
            };
            s.dump = [](const Config& c) { return c.detect.threshold ? json(*c.detect.threshold) : json("auto"); };
            v.push_back(s);
        }
        v.push_back(text_setting("detect.auto_method", "automatic threshold: mad (median + k·1.4826·MAD) or otsu",
                                 [](Config& c) -> std::string& { return c.detect.auto_method; }, false, {"mad", "otsu"}));
        v.push_back(number_setting("detect.auto_k", 0.5, 20, "k of the mad method (scaled MADs above the median)",
                                   [](Config& c) -> double& { return c.detect.auto_k; }));
        v.push_back(number_setting("detect.brightness_weight", 0, 10, "weight of the relative brightening term",
                                   [](Config& c) -> double& { return c.detect.brightness_weight; }));
        v.push_back(number_setting("detect.after_vegetation_max", -1, 1, "vegetation index at or above which the after state is still vegetation",
                                   [](Config& c) -> double& { return c.detect.after_vegetation_max; }));
        v.push_back(number_setting("clean.open_radius_m", 0, 1000, "morphological opening radius, metres (rounded to pixels)",
                                   [](Config& c) -> double& { return c.clean.open_radius_m; }));
        v.push_back(number_setting("clean.close_radius_m", 0, 1000, "morphological closing radius, metres (rounded to pixels)",
                                   [](Config& c) -> double& { return c.clean.close_radius_m; }));
        v.push_back(number_setting("clean.min_area_m2", 0, 1e8, "minimum mapping unit, m² (200 m² = 0.3 亩)",
                                   [](Config& c) -> double& { return c.clean.min_area_m2; }));
        {
            Setting s;
            s.key = "clean.connectivity";
            s.default_text = "4";
            s.range = "4|8";
            s.help = "pixel adjacency of parcels (4 = GDALPolygonize default)";
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                const std::string text = scalar_text(n, ctx, "clean.connectivity");
                if (text != "4" && text != "8") fail(ctx, "clean.connectivity", "'" + text + "' is not one of: 4, 8");
                c.clean.connectivity = text == "4" ? kernels::Connectivity::Four : kernels::Connectivity::Eight;
            };
            s.dump = [](const Config& c) { return json(static_cast<int>(c.clean.connectivity)); };
            v.push_back(s);
        }
        v.push_back(text_setting("overlay.area_crs", "projected CRS for areas; empty = CGCS2000 3° GK zone in China, else UTM",
                                 [](Config& c) -> std::string& { return c.overlay.area_crs; }));
        v.push_back(text_setting("overlay.townships.path", "township polygons (optional)",
                                 [](Config& c) -> std::string& { return c.overlay.townships.path; }, true));
        v.push_back(text_setting("overlay.townships.layer", "layer name; empty = first layer",
                                 [](Config& c) -> std::string& { return c.overlay.townships.layer; }));
        v.push_back(text_setting("overlay.townships.name_field", "field with the township name",
                                 [](Config& c) -> std::string& { return c.overlay.townships.name_field; }));
        v.push_back(text_setting("overlay.townships.code_field", "field with the township code",
                                 [](Config& c) -> std::string& { return c.overlay.townships.code_field; }));
        v.push_back(text_setting("overlay.townships.encoding", "text encoding of the fields; auto = UTF-8, else GBK with a warning",
                                 [](Config& c) -> std::string& { return c.overlay.townships.encoding; }, false,
                                 {"auto", "UTF-8", "GBK"}));
        v.push_back(text_setting("overlay.cultivated.path", "land-use polygons (三调 DLTB) (optional)",
                                 [](Config& c) -> std::string& { return c.overlay.cultivated.path; }, true));
        v.push_back(text_setting("overlay.cultivated.layer", "layer name; empty = first layer",
                                 [](Config& c) -> std::string& { return c.overlay.cultivated.layer; }));
        v.push_back(text_setting("overlay.cultivated.class_field", "field with the land-use class",
                                 [](Config& c) -> std::string& { return c.overlay.cultivated.class_field; }));
        v.push_back(text_setting("overlay.cultivated.encoding", "text encoding of the fields; auto = UTF-8, else GBK with a warning",
                                 [](Config& c) -> std::string& { return c.overlay.cultivated.encoding; }, false,
                                 {"auto", "UTF-8", "GBK"}));
        v.push_back(list_setting("overlay.cultivated.classes", "class values that are cultivated land",
                                 [](Config& c) -> std::vector<std::string>& { return c.overlay.cultivated.classes; }));
        v.push_back(list_setting("overlay.cultivated.class_groups",
                                 "values that are not GB/T 21010 codes, as \"VALUE=GROUP\" (GROUP: 非耕农用地, 未利用地, 建设用地, or 未调查 to "
                                 "leave the feature out), e.g. [\"grassland=未利用地\", \"artificial surface=建设用地\"]",
                                 [](Config& c) -> std::vector<std::string>& { return c.overlay.cultivated.class_groups; }));
        // ---- overlay layers of the enforcement overlay (issue 9): overlay.cultivated.urban_village_field,
        // overlay.permanent_farmland.*, overlay.redline.*, overlay.urban_boundary.*, overlay.villages.*, overlay.approvals
        {
            Setting s = text_setting("overlay.cultivated.urban_village_field",
                                     "DLTB field with the urban-village attribute (城镇村属性码; 203 = 村庄); empty = none; when left at the "
                                     "default a layer without it is not assessed, when set the layer must have it",
                                     [](Config& c) -> std::string& { return c.overlay.cultivated.urban_village_field; });
            s.read = [read = s.read](Config& c, const YAML::Node& n, const Context& ctx) {
                read(c, n, ctx);
                c.overlay.cultivated.urban_village_field_given = true;
            };
            v.push_back(s);
        }
        {
            using Member = AreaLayerConfig OverlayConfig::*;
            const std::tuple<const char*, Member, const char*> area_layers[] = {
                {"permanent_farmland", &OverlayConfig::permanent_farmland, "永久基本农田 polygons (YJJBNTTB) (optional); its area inside each parcel"},
                {"redline", &OverlayConfig::redline, "生态保护红线 polygons (optional); its area inside each parcel"},
                {"urban_boundary", &OverlayConfig::urban_boundary, "城镇开发边界 polygons (optional); its area inside each parcel"}};
            for (const auto& [name, member, help] : area_layers) {
                const std::string key = std::string("overlay.") + name;
                v.push_back(text_setting(key + ".path", help, [m = member](Config& c) -> std::string& { return (c.overlay.*m).path; }, true));
                v.push_back(text_setting(key + ".layer", "layer name; empty = first layer",
                                         [m = member](Config& c) -> std::string& { return (c.overlay.*m).layer; }));
                v.push_back(text_setting(key + ".encoding", "text encoding of the fields; auto = UTF-8, else GBK with a warning",
                                         [m = member](Config& c) -> std::string& { return (c.overlay.*m).encoding; }, false,
                                         {"auto", "UTF-8", "GBK"}));
            }
        }
        v.push_back(text_setting("overlay.villages.path", "village polygons (村级调查区 CJDCQ) (optional); each parcel gets the village holding most of it",
                                 [](Config& c) -> std::string& { return c.overlay.villages.path; }, true));
        v.push_back(text_setting("overlay.villages.layer", "layer name; empty = first layer",
                                 [](Config& c) -> std::string& { return c.overlay.villages.layer; }));
        v.push_back(text_setting("overlay.villages.name_field", "field with the village name (坐落单位名称)",
                                 [](Config& c) -> std::string& { return c.overlay.villages.name_field; }));
        v.push_back(text_setting("overlay.villages.code_field", "field with the village code (坐落单位代码); empty = none",
                                 [](Config& c) -> std::string& { return c.overlay.villages.code_field; }));
        v.push_back(text_setting("overlay.villages.encoding", "text encoding of the fields; auto = UTF-8, else GBK with a warning",
                                 [](Config& c) -> std::string& { return c.overlay.villages.encoding; }, false,
                                 {"auto", "UTF-8", "GBK"}));
        {
            Setting s;
            s.key = "overlay.approvals";
            s.default_text = "[]";
            s.range = "list of {kind, name, path, layer, number_field, end_date_field, encoding}";
            s.help = "approval layers, each covering parcels with document numbers: kind one of 批准用地|增减挂钩|供地|不动产登记|临时用地|"
                     "设施农用地, name (label; empty = kind), path (relative to this file), layer (empty = first), number_field "
                     "(required: the field with the 批准文号/上图入库号 …), end_date_field (临时用地 only: the end date), encoding "
                     "(auto|UTF-8|GBK); entries are numbered from 1 in messages";
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                if (!n.IsSequence())
                    fail(ctx, "overlay.approvals", "expected a list of mappings, e.g. [{kind: 批准用地, path: pzyd.gpkg, number_field: PZWH}]");
                c.overlay.approvals.clear();
                std::size_t number = 0;
                for (const auto& item : n) {
                    const std::string key = "overlay.approvals[" + std::to_string(++number) + "]";
                    if (!item.IsMap())
                        fail(ctx, key, "expected a mapping such as {kind: 批准用地, path: pzyd.gpkg, number_field: PZWH}");
                    ApprovalLayerConfig layer;
                    std::vector<std::string> unknown;
                    for (const auto& field : item) {
                        const std::string name = field.first.as<std::string>();
                        const std::string value = field.second.IsNull() ? std::string() : scalar_text(field.second, ctx, key + "." + name);
                        if (name == "kind") layer.kind = value;
                        else if (name == "name") layer.name = value;
                        else if (name == "path") layer.path = resolve_path(value, ctx);
                        else if (name == "layer") layer.layer = value;
                        else if (name == "number_field") layer.number_field = value;
                        else if (name == "end_date_field") layer.end_date_field = value;
                        else if (name == "encoding") layer.encoding = value;
                        else unknown.push_back(name);
                    }
                    if (!unknown.empty())
                        fail(ctx, key, "unknown key " + join(unknown, ", ") +
                                           "; known keys here: kind, name, path, layer, number_field, end_date_field, encoding");
                    std::string kinds;
                    for (const char* kind : kApprovalKinds) kinds += (kinds.empty() ? "" : ", ") + std::string(kind);
                    if (layer.kind.empty()) fail(ctx, key, "kind is required; give one of: " + kinds);
                    if (std::find(std::begin(kApprovalKinds), std::end(kApprovalKinds), layer.kind) == std::end(kApprovalKinds))
                        fail(ctx, key + ".kind", "'" + layer.kind + "' is not one of: " + kinds);
                    if (layer.path.empty()) fail(ctx, key, "path is required: the approval layer's file (GeoPackage, Shapefile, …)");
                    if (layer.number_field.empty())
                        fail(ctx, key, "number_field is required: the field holding the document number (批准文号, 上图入库号, 不动产权证号 …)");
                    if (!layer.end_date_field.empty() && layer.kind != "临时用地")
                        fail(ctx, key + ".end_date_field", "applies to kind 临时用地 only (this entry is " + layer.kind +
                                                               "); remove it");
                    if (layer.encoding != "auto" && layer.encoding != "UTF-8" && layer.encoding != "GBK")
                        fail(ctx, key + ".encoding", "'" + layer.encoding + "' is not one of: auto, UTF-8, GBK");
                    if (layer.name.empty()) layer.name = layer.kind;
                    c.overlay.approvals.push_back(std::move(layer));
                }
            };
            s.dump = [](const Config& c) {
                json list = json::array();
                for (const auto& a : c.overlay.approvals)
                    list.push_back({{"kind", a.kind}, {"name", a.name}, {"path", a.path}, {"layer", a.layer},
                                    {"number_field", a.number_field}, {"end_date_field", a.end_date_field}, {"encoding", a.encoding}});
                return list;
            };
            v.push_back(s);
        }

        // ---- prejudge.* (issue 9)
        {
            Setting s;
            s.key = "prejudge.enabled";
            s.default_text = PrejudgeConfig().enabled ? "true" : "false";
            s.range = "true|false";
            s.help = "suggest a pre-judgement (初判: 核实认定意见 + 分类, or 存疑) per parcel and the 15 % ratio; a suggestion, never a verdict";
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                const std::string text = scalar_text(n, ctx, "prejudge.enabled");
                if (text == "true" || text == "yes" || text == "on")
                    c.prejudge.enabled = true;
                else if (text == "false" || text == "no" || text == "off")
                    c.prejudge.enabled = false;
                else
                    fail(ctx, "prejudge.enabled", "'" + text + "' is not true or false");
            };
            s.dump = [](const Config& c) { return json(c.prejudge.enabled); };
            v.push_back(s);
        }
        v.push_back(list_setting("prejudge.rules", "pre-judgement rules in the order tried (ENFORCEMENT.md §3); 非农违法 always closes",
                                 [](Config& c) -> std::vector<std::string>& { return c.prejudge.rules; }));
        v.push_back(number_setting("prejudge.large_parcel_mu", 0, 1e6, "coverage gate: parcels above this many 亩 need prejudge.cover_share_large, others cover_share_small",
                                   [](Config& c) -> double& { return c.prejudge.large_parcel_mu; }));
        v.push_back(number_setting("prejudge.cover_share_large", 0.01, 1, "covered share a large parcel needs for 合法/设施农用地 (95 % in review practice)",
                                   [](Config& c) -> double& { return c.prejudge.cover_share_large; }));
        v.push_back(number_setting("prejudge.cover_share_small", 0.01, 1, "covered share a parcel up to prejudge.large_parcel_mu needs (90 %)",
                                   [](Config& c) -> double& { return c.prejudge.cover_share_small; }));
        v.push_back(number_setting("prejudge.uncovered_cultivated_max_mu", 0, 1e6, "coverage gate: uncovered 耕地 must stay below this many 亩 (bounded from above: min(耕地, 地块 − 覆盖))",
                                   [](Config& c) -> double& { return c.prejudge.uncovered_cultivated_max_mu; }));
        v.push_back(number_setting("prejudge.class_share", 0.01, 1, "share of the parcel in DLTB 1202/1006/0702 or CZCSXM 203 at which rules 设施农用地/农村道路/其他 fire",
                                   [](Config& c) -> double& { return c.prejudge.class_share; }));
        v.push_back(number_setting("prejudge.road_width_min_m", 0, 1000, "rule 农村道路: narrowest width, metres (equivalent-rectangle width of the parcel)",
                                   [](Config& c) -> double& { return c.prejudge.road_width_min_m; }));
        v.push_back(number_setting("prejudge.road_width_max_m", 0, 1000, "rule 农村道路: widest width, metres",
                                   [](Config& c) -> double& { return c.prejudge.road_width_max_m; }));
        v.push_back(number_setting("prejudge.ratio_warning", 0.001, 1, "15 % rule: summary.txt warns (预警) when suggested-illegal 耕地 reaches this share of 耕地 taken",
                                   [](Config& c) -> double& { return c.prejudge.ratio_warning; }));
        v.push_back(number_setting("prejudge.ratio_limit", 0.001, 1, "15 % rule: the limit (已达15%)",
                                   [](Config& c) -> double& { return c.prejudge.ratio_limit; }));

        v.push_back(int_setting("processing.block_size", 16, 65536, "rows per strip (fewer for scenes so wide that a strip would pass 2 Mpx)",
                                [](Config& c) -> int& { return c.processing.block_size; }));
        v.push_back(int_setting("processing.threads", 0, 1024, "worker threads; 0 = all cores",
                                [](Config& c) -> int& { return c.processing.threads; }));
        v.push_back(text_setting("output.dir", "output folder", [](Config& c) -> std::string& { return c.output_dir; }, true));
        // ---- output.chips, chip_margin_m, chip_size_px, chip_colour, html, kmz (issue 10, chips/package helpers)
        {
            // true|false keys (as prejudge.enabled: yes/no and on/off are accepted too).
            auto bool_setting = [&v](const std::string& key, const std::string& help, bool OutputPackageConfig::*member) {
                Setting s;
                s.key = key;
                s.default_text = OutputPackageConfig().*member ? "true" : "false";
                s.range = "true|false";
                s.help = help;
                s.read = [key, member](Config& c, const YAML::Node& n, const Context& ctx) {
                    const std::string text = scalar_text(n, ctx, key);
                    if (text == "true" || text == "yes" || text == "on")
                        c.package.*member = true;
                    else if (text == "false" || text == "no" || text == "off")
                        c.package.*member = false;
                    else
                        fail(ctx, key, "'" + text + "' is not true or false");
                };
                s.dump = [member](const Config& c) { return json(c.package.*member); };
                v.push_back(s);
            };
            bool_setting("output.chips", "image chips per parcel: chips/<id>_qsx.jpg (before) and chips/<id>_hsx.jpg (after), JPEG, outline, "
                                         "north arrow, scale bar and id", &OutputPackageConfig::chips);
            v.push_back(number_setting("output.chip_margin_m", 0, 1000, "ground margin around the parcel's envelope in a chip, metres",
                                       [](Config& c) -> double& { return c.package.chip_margin_m; }));
            v.push_back(int_setting("output.chip_size_px", 64, 2048, "a chip's side in pixels (chips are square)",
                                    [](Config& c) -> int& { return c.package.chip_size_px; }));
            v.push_back(text_setting("output.chip_colour", "chip colours: true = true colour (bands red, green, blue), false = false colour "
                                                           "(nir, red, green: vegetation red)",
                                     [](Config& c) -> std::string& { return c.package.chip_colour; }, false, {"true", "false"}));
            bool_setting("output.html", "index.html: overview image, a table per township with the chips, filters, summary (works offline; "
                                        "needs output.chips)", &OutputPackageConfig::html);
            bool_setting("output.kmz", "parcels.kmz for field apps (奥维, Google Earth): lon/lat, a placemark per parcel, chips in the "
                                       "balloons", &OutputPackageConfig::kmz);
        }
        {
            Setting s;
            s.key = "ledger.path";
            s.default_text = "\"\"";
            s.range = "path|PG:…|postgresql://…";
            s.help = "case ledger (台账) that runs feed: GeoPackage file, or PostgreSQL/PostGIS connection string; empty = none";
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                const std::string value = scalar_text(n, ctx, "ledger.path");
                c.ledger.path = is_postgres_ledger(value) ? value : resolve_path(value, ctx);
            };
            s.dump = [](const Config& c) { return json(redact_ledger_location(c.ledger.path)); };
            v.push_back(s);
        }
        v.push_back(text_setting("ledger.match_rule", "how a new parcel is matched to an open case: overlap_ratio = ∩ / min(areas), iou = ∩ / ∪",
                                 [](Config& c) -> std::string& { return c.ledger.match_rule; }, false, {"overlap_ratio", "iou"}));
        v.push_back(number_setting("ledger.match_threshold", 0, 1, "a parcel whose match ratio with an open case of its township reaches this updates the case instead of opening a new one",
                                   [](Config& c) -> double& { return c.ledger.match_threshold; }));
        {
            Setting s;
            s.key = "ledger.milestones";
            Config defaults;
            s.default_text = "[";
            for (std::size_t i = 0; i < defaults.ledger.milestones.size(); ++i)
                s.default_text += (i ? ", " : "") + defaults.ledger.milestones[i].text();
            s.default_text += "]";
            s.range = "list of 'YEARS PERCENT% by DATE'";
            s.help = "rectification milestones the report checks each township against";
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                c.ledger.milestones.clear();
                for (const auto& text : read_list(n, ctx, "ledger.milestones"))
                    c.ledger.milestones.push_back(parse_milestone(text, ctx, "ledger.milestones"));
            };
            s.dump = [](const Config& c) {
                json list = json::array();
                for (const auto& m : c.ledger.milestones) list.push_back(m.text());
                return list;
            };
            v.push_back(s);
        }
        // ---- ledger.lead_fields.* (issue 9)
        {
            using Fields = LedgerConfig::LeadFields;
            const std::pair<const char*, std::vector<std::string> Fields::*> lead_fields[] = {
                {"id", &Fields::id}, {"batch", &Fields::batch}, {"delivered", &Fields::delivered},
                {"qsx", &Fields::qsx}, {"hsx", &Fields::hsx}, {"area", &Fields::area},
                {"earlier_id", &Fields::earlier_id}, {"x", &Fields::x}, {"y", &Fields::y}};
            const std::map<std::string, std::string> lead_help = {
                {"id", "lead id (线索编号; sub-parcel suffixes _n kept)"},
                {"batch", "batch name (批次, e.g. 七月一批)"},
                {"delivered", "delivery date (下发日期)"},
                {"qsx", "earlier epoch date (前时相)"},
                {"hsx", "later epoch date (后时相)"},
                {"area", "monitored area in 亩 (监测面积; the circle of a point lead)"},
                {"earlier_id", "id at the same place in an earlier period (往期图斑编号)"},
                {"x", "x / easting or longitude of a lead without geometry (XLSX)"},
                {"y", "y / northing or latitude of a lead without geometry (XLSX)"}};
            for (const auto& [name, member] : lead_fields) {
                const auto m = member;
                v.push_back(list_setting(std::string("ledger.lead_fields.") + name,
                                         "field names of a delivered lead file (ledger import-leads), tried in order: " +
                                             lead_help.at(name),
                                         [m](Config& c) -> std::vector<std::string>& { return c.ledger.lead_fields.*m; }));
            }
        }

        v.push_back(int_setting("ledger.annual_clearance_from", 0, 9999, "年清: from this year on, each year's cases are due by 31 December of that year; 0 = off",
                                [](Config& c) -> int& { return c.ledger.annual_clearance_from; }));
        // ---- nightly.* (issue 10, catalog/nightly helpers)
        v.push_back(list_setting("nightly.inbox", "folders `weipian nightly` scans (recursively) for newly delivered rasters",
                                 [](Config& c) -> std::vector<std::string>& { return c.nightly.inbox; }, true));
        v.push_back(list_setting("nightly.base", "the base epoch: raster files or globs, the earlier coverage of places no delivery covered before",
                                 [](Config& c) -> std::vector<std::string>& { return c.nightly.base; }, true));
        v.push_back(date_setting("nightly.base_date", "date of the base tiles whose metadata and file name give none, YYYY-MM-DD",
                                 [](Config& c) -> std::string& { return c.nightly.base_date; }));
        {
            Setting s = list_setting("nightly.date_patterns",
                                     "file-name patterns (ECMAScript regex) whose first group is the acquisition date, YYYYMMDD or "
                                     "YYYY-MM-DD; tried in order after the file's metadata",
                                     [](Config& c) -> std::vector<std::string>& { return c.nightly.date_patterns; });
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                const std::string key = "nightly.date_patterns";
                auto values = read_list(n, ctx, key);
                for (const auto& pattern : values) {
                    std::regex compiled;
                    try {
                        compiled = std::regex(pattern, std::regex::ECMAScript);
                    } catch (const std::regex_error& e) {
                        fail(ctx, key, "'" + pattern + "' is not a valid regular expression (" + e.what() +
                                           "); write an ECMAScript pattern whose first group is the date, e.g. \"_([0-9]{8})_\"");
                    }
                    if (compiled.mark_count() == 0)
                        fail(ctx, key, "'" + pattern + "' has no capture group; put the date in parentheses, e.g. \"_([0-9]{8})_\"");
                }
                c.nightly.date_patterns = values;
            };
            v.push_back(s);
        }
        {
            Setting s = list_setting("nightly.extensions", "file extensions of the rasters the inbox scan registers (case-insensitive)",
                                     [](Config& c) -> std::vector<std::string>& { return c.nightly.extensions; });
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                const std::string key = "nightly.extensions";
                auto values = read_list(n, ctx, key);
                if (values.empty()) fail(ctx, key, "is empty; list the raster extensions to scan for, e.g. [.tif, .img]");
                for (auto& value : values) {
                    const std::string given = value;
                    value = trim(value);
                    if (!value.empty() && value.front() != '.') value = "." + value;
                    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
                    if (value.size() < 2 || value.find_first_of("/\\*?[ ") != std::string::npos)
                        fail(ctx, key, "'" + given + "' is not a file extension; write e.g. .tif");
                }
                c.nightly.extensions = values;
            };
            v.push_back(s);
        }
        {
            Setting s;
            s.key = "nightly.catalog";
            s.default_text = "\"\"";
            s.range = "path|PG:…|postgresql://…";
            s.help = "imagery catalog: GeoPackage file or PostgreSQL connection string; empty = the ledger's database when "
                     "ledger.path is set, else <output.dir>/catalog.gpkg";
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                const std::string value = scalar_text(n, ctx, "nightly.catalog");
                c.nightly.catalog = is_postgres_ledger(value) ? value : resolve_path(value, ctx);
            };
            s.dump = [](const Config& c) { return json(redact_ledger_location(c.nightly.catalog)); };
            v.push_back(s);
        }
        v.push_back(number_setting("nightly.margin_m", 0, 10000, "neighbouring coverage read around tonight's footprint, metres",
                                   [](Config& c) -> double& { return c.nightly.margin_m; }));
        // ---- rectify.* (issue 10, rectify helper)
        {
            Setting s;
            s.key = "rectify.enabled";
            s.default_text = RectifyConfig().enabled ? "true" : "false";
            s.range = "true|false";
            s.help = "check 整改中/已整改 cases on new imagery (nightly): restored, partly or still built, with chips of the three dates";
            s.read = [](Config& c, const YAML::Node& n, const Context& ctx) {
                const std::string text = scalar_text(n, ctx, "rectify.enabled");
                if (text == "true" || text == "yes" || text == "on")
                    c.rectify.enabled = true;
                else if (text == "false" || text == "no" || text == "off")
                    c.rectify.enabled = false;
                else
                    fail(ctx, "rectify.enabled", "'" + text + "' is not true or false");
            };
            s.dump = [](const Config& c) { return json(c.rectify.enabled); };
            v.push_back(s);
        }
        v.push_back(number_setting("rectify.restored_max_share", 0, 1, "a checked case whose footprint looks built on less than this share of its valid pixels is 已恢复 (拆除复耕)",
                                   [](Config& c) -> double& { return c.rectify.restored_max_share; }));
        v.push_back(number_setting("rectify.built_min_share", 0, 1, "a checked case built on at least this share is 仍有建设; between the two 部分恢复 with the share",
                                   [](Config& c) -> double& { return c.rectify.built_min_share; }));
        return v;
    }();
    return all;
}

void walk(Config& config, const YAML::Node& node, const std::string& prefix, const Context& ctx,
          const std::map<std::string, const Setting*>& by_key, const std::set<std::string>& sections) {
    for (const auto& item : node) {
        if (!item.first.IsScalar())
            throw ConfigError("config '" + ctx.origin.string() + "': line " + std::to_string(item.first.Mark().line + 1) +
                              ": a key under '" + (prefix.empty() ? std::string("(top level)") : prefix) +
                              "' is not a plain name; write each setting as key: value");
        const std::string name = item.first.as<std::string>();
        const std::string key = prefix.empty() ? name : prefix + "." + name;
        if (auto it = by_key.find(key); it != by_key.end()) {
            if (item.second.IsNull()) continue;  // "key:" with no value keeps the default
            it->second->read(config, item.second, ctx);
        } else if (sections.count(key)) {
            if (item.second.IsNull()) continue;
            if (!item.second.IsMap()) fail(ctx, key, "expected a mapping of keys");
            walk(config, item.second, key, ctx, by_key, sections);
        } else {
            std::string known;
            for (const auto& [k, s] : by_key) {
                const bool under = prefix.empty() ? k.find('.') == std::string::npos
                                                  : k.rfind(prefix + ".", 0) == 0 && k.find('.', prefix.size() + 1) == std::string::npos;
                if (under) known += (known.empty() ? "" : ", ") + k.substr(prefix.empty() ? 0 : prefix.size() + 1);
            }
            for (const auto& s : sections) {
                const bool under = prefix.empty() ? s.find('.') == std::string::npos
                                                  : s.rfind(prefix + ".", 0) == 0 && s.find('.', prefix.size() + 1) == std::string::npos;
                if (under) known += (known.empty() ? "" : ", ") + s.substr(prefix.empty() ? 0 : prefix.size() + 1);
            }
            fail(ctx, key, "unknown key; known keys here: " + known);
        }
    }
}

}  // namespace

Config Config::parse(const std::string& yaml_text, const fs::path& origin) {
    const Context ctx{origin, origin.has_parent_path() ? origin.parent_path() : fs::path(".")};
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw ConfigError("config '" + origin.string() + "': not valid YAML at line " + std::to_string(e.mark.line + 1) +
                          ": " + e.msg);
    }
    Config config;
    config.source = origin;
    if (root.IsNull()) return config;
    if (!root.IsMap()) throw ConfigError("config '" + origin.string() + "': expected a mapping of keys at the top level");
    std::map<std::string, const Setting*> by_key;
    std::set<std::string> sections;
    for (const auto& s : settings()) {
        by_key[s.key] = &s;
        for (auto dot = s.key.find('.'); dot != std::string::npos; dot = s.key.find('.', dot + 1))
            sections.insert(s.key.substr(0, dot));
    }
    try {
        walk(config, root, "", ctx, by_key, sections);
    } catch (const YAML::Exception& e) {
        throw ConfigError("config '" + origin.string() + "': line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    config.validate();
    return config;
}

Config Config::load(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("config: cannot read '" + path.string() + "'; check the path given to --config");
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

void Config::validate() const {
    const std::string where = "config '" + source.string() + "': ";
    auto check_band = [&](int band, const char* key) {
        if (band < 0) throw ConfigError(where + "key 'bands." + key + "' must be ≥ 0");
    };
    check_band(bands.blue, "blue");
    check_band(bands.nir, "nir");
    check_band(bands.swir1, "swir1");
    if (bands.green == bands.red)
        throw ConfigError(where + "keys 'bands.green' and 'bands.red' name the same band " + std::to_string(bands.red) +
                          "; give each role its own band");
    if (detect.method == "learned") {
        if (detect.model.empty())
            throw ConfigError(where + "key 'detect.model' is required with detect.method: learned; give the model file `weipian train` wrote");
        if (detect.threshold_given && !detect.threshold)
            throw ConfigError(where + "key 'detect.threshold': 'auto' chooses a construction-score threshold; with detect.method: "
                                      "learned give a probability in (0, 1), or leave it out to use the model's cross-validated threshold");
        if (detect.threshold_given && !(*detect.threshold > 0 && *detect.threshold < 1)) {
            std::ostringstream value;
            value << *detect.threshold;
            throw ConfigError(where + "key 'detect.threshold': " + value.str() +
                              " is not a probability in (0, 1), which detect.method: learned needs; leave it out to use the model's "
                              "cross-validated threshold");
        }
    }
    if (!(clean.min_area_m2 >= 0)) throw ConfigError(where + "key 'clean.min_area_m2' must be a number ≥ 0");
    // Dates: ISO on the calendar, and the later epoch later than the earlier one.
    for (const auto& [key, date] : {std::pair<const char*, const std::string*>{"epochs.before.date", &before.date},
                                    std::pair<const char*, const std::string*>{"epochs.after.date", &after.date}})
        if (!date->empty() && !is_iso_date(*date))
            throw ConfigError(where + "key '" + key + "': '" + *date +
                              "' is not a date YYYY-MM-DD on the calendar; write e.g. 2023-09-18");
    if (!before.date.empty() && !after.date.empty() && !(after.date > before.date))
        throw ConfigError(where + "key 'epochs.after.date' (" + after.date + ") must be later than 'epochs.before.date' (" +
                          before.date + "); the after epoch (HSX) is the later image");
    for (const auto& entry : overlay.cultivated.class_groups) {
        const auto eq = entry.rfind('=');
        const std::string group = eq == std::string::npos ? std::string() : trim(entry.substr(eq + 1));
        if (eq == std::string::npos || (group != "非耕农用地" && group != "未利用地" && group != "建设用地" && group != "未调查"))
            throw ConfigError(where + "key 'overlay.cultivated.class_groups': '" + entry +
                              "' is not VALUE=GROUP with GROUP one of 非耕农用地, 未利用地, 建设用地, 未调查; write e.g. \"grassland=未利用地\"");
    }
    if (overlay.cultivated.configured() && overlay.cultivated.classes.empty())
        throw ConfigError(where + "key 'overlay.cultivated.classes' is empty; list the cultivated classes, e.g. [\"0101\", \"0102\", \"0103\"]");
    prejudge.validate(where);
    if (rectify.restored_max_share > rectify.built_min_share) {
        std::ostringstream values;
        values << rectify.restored_max_share << " > " << rectify.built_min_share;
        throw ConfigError(where + "keys 'rectify.restored_max_share' and 'rectify.built_min_share': " + values.str() +
                          "; the share below which a case is restored must not exceed the share from which it is still built");
    }
    if (ledger.configured()) {
        // Case ids are <county code>-<year>-<seq> and the year is the HSX year.
        if (!is_county_code(county.code))
            throw ConfigError(where + "key 'county.code' must be the 6-digit county code (e.g. \"140824\") when a ledger is set: case ids start with it");
        if (!is_iso_date(after.date) && nightly.inbox.empty())  // nightly sets the dates from the catalog
            throw ConfigError(where + "key 'epochs.after.date' must be a date YYYY-MM-DD when a ledger is set (got '" + after.date +
                              "'): it gives the cases their year");
    }
}

json Config::to_json() const {
    json out = json::object();
    for (const auto& s : settings()) {
        json* node = &out;
        std::string::size_type start = 0, dot;
        while ((dot = s.key.find('.', start)) != std::string::npos) {
            node = &(*node)[s.key.substr(start, dot - start)];
            start = dot + 1;
        }
        (*node)[s.key.substr(start)] = s.dump(*this);
    }
    return out;
}

void PrejudgeConfig::validate(const std::string& where) const {
    const std::vector<std::string> known = PrejudgeConfig().rules;
    std::string known_text;
    for (const auto& r : known) known_text += (known_text.empty() ? "" : ", ") + r;
    if (rules.empty())
        throw ConfigError(where + "key 'prejudge.rules' is empty; list the rules to try (" + known_text +
                          "), or set prejudge.enabled: false to turn the pre-judgement off");
    for (std::size_t i = 0; i < rules.size(); ++i) {
        if (rules[i] == "非农违法")
            throw ConfigError(where + "key 'prejudge.rules': '非农违法' always closes the rules and is not listed; remove it");
        if (std::find(known.begin(), known.end(), rules[i]) == known.end())
            throw ConfigError(where + "key 'prejudge.rules': unknown rule '" + rules[i] + "'; known rules: " + known_text);
        if (std::find(rules.begin(), rules.begin() + static_cast<std::ptrdiff_t>(i), rules[i]) != rules.begin() + static_cast<std::ptrdiff_t>(i))
            throw ConfigError(where + "key 'prejudge.rules': rule '" + rules[i] + "' is listed twice; list each rule once");
    }
    const auto number = [](double v) {
        std::ostringstream o;
        o << v;
        return o.str();
    };
    if (road_width_min_m > road_width_max_m)
        throw ConfigError(where + "keys 'prejudge.road_width_min_m' (" + number(road_width_min_m) + ") and 'prejudge.road_width_max_m' (" +
                          number(road_width_max_m) + "): the minimum is above the maximum; give min ≤ max");
    if (ratio_warning > ratio_limit)
        throw ConfigError(where + "keys 'prejudge.ratio_warning' (" + number(ratio_warning) + ") and 'prejudge.ratio_limit' (" +
                          number(ratio_limit) + "): the warning level is above the limit; give warning ≤ limit");
}

std::string LedgerMilestone::text() const {
    std::string years = std::to_string(first_year);
    if (last_year != first_year) years += "-" + std::to_string(last_year);
    return years + " " + std::to_string(percent) + "% by " + deadline;
}

const ConfigKey& config_key(std::string_view key) {
    for (const auto& s : settings())
        if (s.key == key) return s;
    throw InternalError("config: no key '" + std::string(key) + "' is declared");
}

std::string describe_config_keys() {
    std::ostringstream out;
    for (const auto& s : settings())
        out << s.key << "  (default " << s.default_text << "; " << s.range << ")\n    " << s.help << "\n";
    return out.str();
}

}  // namespace weipian
