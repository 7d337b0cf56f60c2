#include "pipeline/overlay.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogr_api.h>
#include <ogr_geometry.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/text.hpp"
#include "pipeline/stage.hpp"

namespace weipian {

namespace {

// Pieces smaller than this (m², area CRS) are numerical slivers left by intersecting along a
// shared township boundary; they are dropped. 1 cm² is far below the 0.01 亩 (6.67 m²) that
// the report prints.
constexpr double kSliverAreaM2 = 1e-4;

// A township layer leaving at least this share of the parcels (by count or by area) outside
// every township is warned about: a county's township layer covers the county, so more than a
// few edge parcels outside it means a layer that does not cover the imagery or a broken polygon.
constexpr double kUnassignedWarningShare = 0.10;

struct TransformDeleter {
    void operator()(OGRCoordinateTransformation* ct) const { OGRCoordinateTransformation::DestroyCT(ct); }
};
using TransformPtr = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;

// "a, b, c", or "none" for no items (pipeline/core/text.hpp join).
std::string join(const std::vector<std::string>& items) {
    return items.empty() ? std::string("none") : weipian::join(items, ", ");
}

std::string crs_label(const OGRSpatialReference& srs) {
    const char* authority = srs.GetAuthorityName(nullptr);
    const char* code = srs.GetAuthorityCode(nullptr);
    if (authority && code) return std::string(authority) + ":" + code;
    const char* name = srs.GetName();
    return name ? std::string(name) : std::string("unnamed CRS");
}

double area_of(const OGRGeometry& geometry) {
    return OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(&geometry)));
}

OGREnvelope envelope_of(const OGRGeometry& geometry) {
    OGREnvelope envelope;
    geometry.getEnvelope(&envelope);
    return envelope;
}

// Appends the polygons of `geometry` (Polygon, MultiPolygon or a collection holding them) to
// `out`, ignoring points and lines that GEOS returns where shapes only touch.
void collect_polygons(const OGRGeometry& geometry, OGRMultiPolygon& out) {
    switch (wkbFlatten(geometry.getGeometryType())) {
        case wkbPolygon:
            out.addGeometry(&geometry);
            break;
        case wkbMultiPolygon:
        case wkbGeometryCollection:
            for (const auto* part : *geometry.toGeometryCollection()) collect_polygons(*part, out);
            break;
        default:
            break;
    }
}

// The polygonal part of a GEOS result: the geometry itself when it is a (Multi)Polygon, the
// polygons of a collection otherwise; null when nothing polygonal remains.
OGRGeometryUniquePtr polygonal_part(OGRGeometryUniquePtr geometry) {
    if (!geometry || geometry->IsEmpty()) return nullptr;
    const auto type = wkbFlatten(geometry->getGeometryType());
    if (type == wkbPolygon || type == wkbMultiPolygon) return geometry;
    auto multi = std::make_unique<OGRMultiPolygon>();
    collect_polygons(*geometry, *multi);
    if (multi->IsEmpty()) return nullptr;
    multi->assignSpatialReference(geometry->getSpatialReference());
    return OGRGeometryUniquePtr(multi.release());
}

// Linear, 2D, valid (Multi)Polygon, or null when the input has no area. Layers from desktop
// GIS often hold self-intersecting rings (a bow-tie, a ring that loops over itself) that GEOS
// would refuse to intersect; they are repaired with GEOS MakeValid, "structure" method (GEOS ≥
// 3.10: the land enclosed by a ring is kept once, where the "linework" method would turn land a
// loop encloses twice into a hole), the linework method when that is unavailable. `repaired`,
// when given, tells whether a repair was needed.
OGRGeometryUniquePtr clean_polygonal(OGRGeometryUniquePtr geometry, bool* repaired = nullptr) {
    if (repaired) *repaired = false;
    if (!geometry || geometry->IsEmpty()) return nullptr;
    OGRGeometryUniquePtr linear(OGRGeometryFactory::forceTo(geometry.release(), wkbMultiPolygon));
    if (!linear || linear->IsEmpty()) return nullptr;
    linear->flattenTo2D();
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    const bool valid_already = linear->IsValid();
    CPLPopErrorHandler();
    if (!valid_already) {
        if (repaired) *repaired = true;
        const char* structure[] = {"METHOD=STRUCTURE", nullptr};
        CPLPushErrorHandler(CPLQuietErrorHandler);
        OGRGeometryUniquePtr valid(linear->MakeValid(structure));
        if (!valid) valid.reset(linear->MakeValid());
        CPLPopErrorHandler();
        if (!valid) return nullptr;
        linear = polygonal_part(std::move(valid));
    }
    if (!linear || linear->IsEmpty()) return nullptr;
    return linear;
}

// Transforms in place; PROJ's own complaint is kept for our message instead of printed.
bool transform_quietly(OGRGeometry& geometry, OGRCoordinateTransformation& transform) {
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    const OGRErr err = geometry.transform(&transform);
    CPLPopErrorHandler();
    return err == OGRERR_NONE;
}

OGRGeometryUniquePtr checked(OGRGeometry* result, const char* operation, const std::string& what) {
    if (!result) {
        throw InternalError(std::string("overlay: GEOS ") + operation + " failed for " + what + " (" +
                            last_gdal_error() + "); please report this with the input files");
    }
    return OGRGeometryUniquePtr(result);
}

// A uniform grid over item envelopes. Each item is listed in every cell its envelope touches;
// the cell size is about one item per cell, and never smaller than the median item, so an
// item spans only a few cells.
class EnvelopeGrid {
public:
    void build(const std::vector<OGREnvelope>& envelopes) {
        envelopes_ = &envelopes;
        cells_.clear();
        stamp_.assign(envelopes.size(), 0);
        query_ = 0;
        if (envelopes.empty()) return;
        extent_ = OGREnvelope();
        std::vector<double> sizes;
        sizes.reserve(envelopes.size());
        for (const auto& e : envelopes) {
            extent_.Merge(e);
            sizes.push_back(std::max(e.MaxX - e.MinX, e.MaxY - e.MinY));
        }
        std::nth_element(sizes.begin(), sizes.begin() + static_cast<std::ptrdiff_t>(sizes.size() / 2), sizes.end());
        const double width = std::max(extent_.MaxX - extent_.MinX, 1e-9);
        const double height = std::max(extent_.MaxY - extent_.MinY, 1e-9);
        cell_ = std::max(
            {std::sqrt(width * height / static_cast<double>(envelopes.size())), sizes[sizes.size() / 2], 1e-9});
        constexpr int kMaxCellsPerAxis = 2048;
        nx_ = std::clamp(static_cast<int>(std::ceil(width / cell_)), 1, kMaxCellsPerAxis);
        ny_ = std::clamp(static_cast<int>(std::ceil(height / cell_)), 1, kMaxCellsPerAxis);
        cell_x_ = width / nx_;
        cell_y_ = height / ny_;
        cells_.assign(static_cast<std::size_t>(nx_) * static_cast<std::size_t>(ny_), {});
        for (std::size_t i = 0; i < envelopes.size(); ++i) {
            int x0, x1, y0, y1;
            cell_range(envelopes[i], x0, x1, y0, y1);
            for (int y = y0; y <= y1; ++y)
                for (int x = x0; x <= x1; ++x) cells_[cell_index(x, y)].push_back(static_cast<std::uint32_t>(i));
        }
    }

    // Indices of the items whose envelope intersects `query`, each once, in ascending order.
    std::vector<std::uint32_t> query(const OGREnvelope& query) {
        std::vector<std::uint32_t> found;
        if (cells_.empty() || !extent_.Intersects(query)) return found;
        if (++query_ == 0) {  // wrapped: clear stamps
            std::fill(stamp_.begin(), stamp_.end(), 0);
            query_ = 1;
        }
        int x0, x1, y0, y1;
        cell_range(query, x0, x1, y0, y1);
        for (int y = y0; y <= y1; ++y) {
            for (int x = x0; x <= x1; ++x) {
                for (const auto i : cells_[cell_index(x, y)]) {
                    if (stamp_[i] == query_) continue;
                    stamp_[i] = query_;
                    if ((*envelopes_)[i].Intersects(query)) found.push_back(i);
                }
            }
        }
        std::sort(found.begin(), found.end());
        return found;
    }

private:
    std::size_t cell_index(int x, int y) const {
        return static_cast<std::size_t>(y) * static_cast<std::size_t>(nx_) + static_cast<std::size_t>(x);
    }
    int clamp_x(double v) const {
        return std::clamp(static_cast<int>(std::floor((v - extent_.MinX) / cell_x_)), 0, nx_ - 1);
    }
    int clamp_y(double v) const {
        return std::clamp(static_cast<int>(std::floor((v - extent_.MinY) / cell_y_)), 0, ny_ - 1);
    }
    void cell_range(const OGREnvelope& e, int& x0, int& x1, int& y0, int& y1) const {
        x0 = clamp_x(e.MinX);
        x1 = clamp_x(e.MaxX);
        y0 = clamp_y(e.MinY);
        y1 = clamp_y(e.MaxY);
    }

    const std::vector<OGREnvelope>* envelopes_ = nullptr;
    OGREnvelope extent_;
    double cell_ = 1, cell_x_ = 1, cell_y_ = 1;
    int nx_ = 0, ny_ = 0;
    std::vector<std::vector<std::uint32_t>> cells_;
    std::vector<std::uint32_t> stamp_;
    std::uint32_t query_ = 0;
};

struct TownshipKey {
    std::string code;
    std::string name;
    auto operator<=>(const TownshipKey&) const = default;
};

// One township feature in the area CRS. Several features may share a key (exclaves).
struct TownshipPolygon {
    std::size_t key = 0;
    OGRGeometryUniquePtr geometry;
    OGREnvelope envelope;
    OGRPreparedGeometryUniquePtr prepared;  // null when GDAL lacks prepared-geometry support

    bool contains(const OGRGeometry& other) const {
        return prepared ? OGRPreparedGeometryContains(prepared.get(),
                                                      OGRGeometry::ToHandle(const_cast<OGRGeometry*>(&other))) != 0
                        : geometry->Contains(&other) != 0;
    }
    bool intersects(const OGRGeometry& other) const {
        return prepared ? OGRPreparedGeometryIntersects(prepared.get(),
                                                        OGRGeometry::ToHandle(const_cast<OGRGeometry*>(&other))) != 0
                        : geometry->Intersects(&other) != 0;
    }
};

// An open vector layer and the words that name it in messages.
struct OpenedLayer {
    GDALDatasetUniquePtr dataset;
    OGRLayer* layer = nullptr;
    std::string label;  // "townships layer 'x.gpkg'" or "townships layer 'name' in 'x.gpkg'"
    bool shapefile = false;
    std::string cpg;  // for a Shapefile: the .cpg that would declare its encoding
};

bool is_utf8(const std::string& text) { return CPLIsUTF8(text.c_str(), static_cast<int>(text.size())) != 0; }

// `text` (GBK / CP936 bytes) as UTF-8; bytes that are not GBK either are dropped.
std::string gbk_to_utf8(const std::string& text) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    char* recoded = CPLRecode(text.c_str(), "CP936", CPL_ENC_UTF8);
    CPLPopErrorHandler();
    std::string out = recoded ? recoded : "";
    CPLFree(recoded);
    return out;
}

// The text fields of one layer as UTF-8, following overlay.<role>.encoding:
// - "auto": UTF-8 as read; a value that is not valid UTF-8 is decoded as GBK (CP936, what
//   Chinese desktop GIS writes into a .dbf without .cpg) and the first such value is warned about;
// - "GBK": a Shapefile is opened with GDAL's ENCODING=CP936 (the .cpg is overridden); in other
//   formats a value that is not valid UTF-8 is decoded as GBK without a warning;
// - "UTF-8": a Shapefile is read without recoding; a value that is not valid UTF-8 is an error.
class FieldText {
public:
    FieldText(const OpenedLayer& opened, const VectorLayerConfig& config, std::string key)
        : label_(opened.label), cpg_(opened.cpg), encoding_(config.encoding), key_(std::move(key)) {}

    std::string operator()(OGRFeature& feature, int field) {
        std::string text = feature.GetFieldAsString(field);
        if (is_utf8(text)) return text;
        const char* field_name = feature.GetFieldDefnRef(field)->GetNameRef();
        if (encoding_ == "UTF-8") {
            throw InputError("overlay: " + label_ + " feature " + std::to_string(feature.GetFID()) + " field " +
                             field_name + " holds text that is not valid UTF-8 although " + key_ +
                             ".encoding is UTF-8; set " + key_ + ".encoding: GBK (or auto) if the file is in GBK");
        }
        std::string decoded = gbk_to_utf8(text);
        if (encoding_ == "auto" && !warned_) {
            warned_ = true;
            const std::string fix = cpg_.empty() ? "set " + key_ + ".encoding: GBK (or save the file as UTF-8)"
                                                 : "add a file '" + cpg_ + "' containing GBK next to the .shp, or set " +
                                                       key_ + ".encoding: GBK";
            spdlog::warn(
                "overlay: {} has text that is not valid UTF-8 (feature {}, field {}); read it as GBK (CP936), "
                "giving '{}'. If the names are right, {}; if not, set {}.encoding to the file's encoding",
                label_, feature.GetFID(), field_name, decoded, fix, key_);
        }
        return decoded;
    }

private:
    std::string label_, cpg_, encoding_, key_;
    bool warned_ = false;
};

std::vector<std::string> field_names(OGRLayer& layer) {
    std::vector<std::string> names;
    const auto* definition = layer.GetLayerDefn();
    for (int i = 0; i < definition->GetFieldCount(); ++i) names.emplace_back(definition->GetFieldDefn(i)->GetNameRef());
    return names;
}

OpenedLayer open_layer(const VectorLayerConfig& config, const std::string& role, const std::string& key) {
    ensure_gdal_registered();
    VSIStatBufL stat;
    if (VSIStatL(config.path.c_str(), &stat) != 0) {
        throw InputError("overlay: " + role + " file '" + config.path + "' does not exist; check " + key +
                         ".path (relative paths are resolved against the config file's folder)");
    }
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetUniquePtr dataset(GDALDataset::Open(config.path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
    CPLPopErrorHandler();
    if (!dataset) {
        throw InputError("overlay: cannot open " + role + " file '" + config.path + "' as a vector dataset (" +
                         last_gdal_error() + "); give a GeoPackage, Shapefile or other OGR vector file in " + key +
                         ".path");
    }
    const bool shapefile = dataset->GetDriver() && EQUAL(dataset->GetDriver()->GetDescription(), "ESRI Shapefile");
    if (shapefile && config.encoding != "auto") {
        // GDAL's Shapefile ENCODING open option: the DBF's code page, overriding .cpg and LDID;
        // empty = no recoding (the bytes are taken as UTF-8).
        const std::string option = std::string("ENCODING=") + (config.encoding == "GBK" ? "CP936" : "");
        const char* options[] = {option.c_str(), nullptr};
        CPLPushErrorHandler(CPLQuietErrorHandler);
        dataset.reset(GDALDataset::Open(config.path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, options, nullptr));
        CPLPopErrorHandler();
        if (!dataset) {
            throw InputError("overlay: cannot open " + role + " file '" + config.path + "' with encoding " +
                             config.encoding + " (" + last_gdal_error() + "); check " + key + ".encoding");
        }
    }
    std::vector<std::string> layers;
    for (int i = 0; i < dataset->GetLayerCount(); ++i) layers.emplace_back(dataset->GetLayer(i)->GetName());
    if (layers.empty()) {
        throw InputError("overlay: " + role + " file '" + config.path + "' has no vector layer; check " + key +
                         ".path");
    }
    OpenedLayer opened;
    if (!config.layer.empty()) {
        opened.layer = dataset->GetLayerByName(config.layer.c_str());
        if (!opened.layer) {
            throw InputError("overlay: " + role + " file '" + config.path + "' has no layer '" + config.layer +
                             "' (layers: " + join(layers) + "); set " + key + ".layer");
        }
        opened.label = role + " layer '" + config.layer + "' in '" + config.path + "'";
    } else {
        opened.layer = dataset->GetLayer(0);
        opened.label = role + " layer '" + config.path + "'";
        if (layers.size() > 1) {
            spdlog::warn("overlay: {} file '{}' has {} layers ({}); using the first, '{}'; set {}.layer to choose",
                         role, config.path, layers.size(), join(layers), layers.front(), key);
        }
    }
    opened.shapefile = shapefile;
    if (shapefile) {
        VSIStatBufL path_stat;
        const bool folder = VSIStatL(config.path.c_str(), &path_stat) == 0 && VSI_ISDIR(path_stat.st_mode);
        opened.cpg = folder ? CPLFormFilename(config.path.c_str(), opened.layer->GetName(), "cpg")
                            : CPLResetExtension(config.path.c_str(), "cpg");
    }
    opened.dataset = std::move(dataset);
    return opened;
}

int require_field(OGRLayer& layer, const std::string& field, const std::string& label, const std::string& key) {
    const int index = field.empty() ? -1 : layer.GetLayerDefn()->GetFieldIndex(field.c_str());
    if (index < 0) {
        throw InputError("overlay: " + label + " has no field '" + field + "' (fields: " + join(field_names(layer)) +
                         "); set " + key);
    }
    return index;
}

// The transformation from the layer's CRS to the area CRS, or null when they are the same.
TransformPtr layer_to_area(OGRLayer& layer, const std::string& label, const OGRSpatialReference& area_srs) {
    const OGRSpatialReference* layer_srs = layer.GetSpatialRef();
    // GeoPackage stores "no CRS" as srs_id 0 / -1, which GDAL reads as "Undefined geographic
    // SRS" / "Undefined Cartesian SRS"; a local (engineering) CRS cannot be placed either.
    const char* srs_name = layer_srs ? layer_srs->GetName() : nullptr;
    const bool undefined = srs_name && std::string_view(srs_name).starts_with("Undefined ");
    if (!layer_srs || layer_srs->IsEmpty() || layer_srs->IsLocal() || undefined) {
        throw InputError(
            "overlay: " + label +
            " has no CRS; assign the one it was drawn in, e.g. ogr2ogr -a_srs EPSG:4546 fixed.gpkg input.shp");
    }
    // The layer's own SRS may declare lat/lon or northing/easting first (EPSG:4490, 45xx); file
    // coordinates are x = lon/easting, so the traditional order must hold on both ends.
    const auto source = clone_traditional(*layer_srs);
    if (source->IsSame(&area_srs)) return nullptr;
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    TransformPtr transform(OGRCreateCoordinateTransformation(source.get(), &area_srs));
    CPLPopErrorHandler();
    if (!transform) {
        throw InputError("overlay: cannot transform " + label + " from " + crs_label(*source) + " to the area CRS " +
                         crs_label(area_srs) + " (" + last_gdal_error() + "); check the layer's CRS");
    }
    return transform;
}

// Reads a feature's geometry into the area CRS as a clean (Multi)Polygon; null to skip it.
OGRGeometryUniquePtr read_geometry(OGRFeature& feature, OGRCoordinateTransformation* transform,
                                   const OGRSpatialReference& area_srs, const std::string& label,
                                   bool* repaired = nullptr) {
    if (repaired) *repaired = false;
    OGRGeometryUniquePtr geometry(feature.StealGeometry());
    if (!geometry || geometry->IsEmpty()) return nullptr;
    if (transform) {
        if (!transform_quietly(*geometry, *transform)) {
            throw InputError("overlay: " + label + " feature " + std::to_string(feature.GetFID()) +
                             " cannot be transformed from " + crs_label(*transform->GetSourceCS()) +
                             " to the area CRS " + crs_label(area_srs) + " (" + last_gdal_error() +
                             "); its coordinates do not fit the CRS the layer declares: check the layer's CRS");
        }
    }
    return clean_polygonal(std::move(geometry), repaired);
}

// Splits `count` into integer shares proportional to `weights` (largest remainder), so the
// shares add up to `count` exactly.
std::vector<std::int64_t> split_proportionally(std::int64_t count, const std::vector<double>& weights) {
    std::vector<std::int64_t> shares(weights.size(), 0);
    double total = 0;
    for (const double w : weights) total += w;
    if (weights.empty()) return shares;
    if (total <= 0) {
        shares[0] = count;
        return shares;
    }
    std::vector<std::pair<double, std::size_t>> remainders;
    std::int64_t given = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const double exact = static_cast<double>(count) * weights[i] / total;
        shares[i] = static_cast<std::int64_t>(std::floor(exact));
        given += shares[i];
        remainders.emplace_back(exact - static_cast<double>(shares[i]), i);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; given < count && k < remainders.size(); ++k, ++given) ++shares[remainders[k].second];
    return shares;
}

constexpr std::size_t kNoTownship = std::numeric_limits<std::size_t>::max();

// One township's part of a patch, in the area CRS.
struct Piece {
    std::size_t key = kNoTownship;
    OGRGeometryUniquePtr geometry;
};

}  // namespace

struct OverlayStage::Impl {
    OverlayConfig options;
    std::unique_ptr<OGRSpatialReference> image_srs;
    double lon = 0;
    double lat = 0;

    bool validated = false;
    std::unique_ptr<OGRSpatialReference> area_srs;
    TransformPtr image_to_area;  // null when the image CRS is the area CRS
    TransformPtr area_to_image;

    std::vector<TownshipKey> keys;
    std::vector<TownshipPolygon> townships;  // sorted by key (code, name)

    std::vector<OGRGeometryUniquePtr> cultivated;  // area CRS
    std::vector<OGREnvelope> cultivated_envelopes;
    EnvelopeGrid cultivated_index;

    void resolve_crs();
    void load_townships();
    void load_cultivated();
    std::vector<Piece> split(const OGRGeometry& patch, std::int64_t patch_id) const;
    double cultivated_area(const OGRGeometry& piece);
};

void OverlayStage::Impl::resolve_crs() {
    if (!image_srs || image_srs->IsEmpty()) {
        throw InputError(
            "overlay: the imagery has no CRS, so parcels cannot be placed on the township and "
            "cultivated-land layers; give georeferenced tiles or set grid.crs");
    }
    area_srs = options.area_crs.empty() ? default_area_crs(lon, lat) : parse_crs(options.area_crs, "overlay.area_crs");
    if (!area_srs->IsProjected()) {
        throw ConfigError(
            "config: overlay.area_crs: '" + options.area_crs +
            "' is not a projected CRS, so areas would not be in m²; give a projected CRS such as EPSG:4546");
    }
    if (std::fabs(area_srs->GetLinearUnits() - 1.0) > 1e-12) {
        throw ConfigError("config: overlay.area_crs: '" + options.area_crs +
                          "' is not in metres; give a metric projected CRS such as EPSG:4546");
    }
    image_to_area.reset();
    area_to_image.reset();
    if (image_srs->IsSame(area_srs.get())) return;
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    image_to_area.reset(OGRCreateCoordinateTransformation(image_srs.get(), area_srs.get()));
    area_to_image.reset(OGRCreateCoordinateTransformation(area_srs.get(), image_srs.get()));
    CPLPopErrorHandler();
    if (!image_to_area || !area_to_image) {
        throw InputError("overlay: cannot transform between the imagery CRS " + crs_label(*image_srs) +
                         " and the area CRS " + crs_label(*area_srs) + " (" + last_gdal_error() +
                         "); set overlay.area_crs to a CRS valid over the scene");
    }
}

void OverlayStage::Impl::load_townships() {
    const auto& config = options.townships;
    auto opened = open_layer(config, "townships", "overlay.townships");
    OGRLayer& layer = *opened.layer;
    const int name_index = require_field(layer, config.name_field, opened.label, "overlay.townships.name_field");
    // An empty code_field means the layer has no code column: townships are then keyed by name.
    const int code_index = config.code_field.empty()
                               ? -1
                               : require_field(layer, config.code_field, opened.label, "overlay.townships.code_field");
    auto transform = layer_to_area(layer, opened.label, *area_srs);

    FieldText text(opened, config, "overlay.townships");
    std::map<TownshipKey, std::size_t> key_index;
    std::vector<TownshipPolygon> loaded;
    std::int64_t skipped = 0;
    std::vector<std::string> unnamed;  // FIDs of features with an empty name
    layer.ResetReading();
    for (auto& feature : layer) {
        bool repaired = false;
        auto geometry = read_geometry(*feature, transform.get(), *area_srs, opened.label, &repaired);
        TownshipKey key{code_index >= 0 ? trim(text(*feature, code_index)) : std::string(),
                        trim(text(*feature, name_index))};
        if (repaired) {
            // A bow-tie or a ring crossing itself: GEOS would refuse it, and parcels in it would
            // silently end up unassigned; the repaired outline may still differ from the drawn intent.
            spdlog::warn(
                "overlay: {} feature {} ({} '{}') is not a valid polygon (its outline crosses itself); repaired "
                "with GEOS MakeValid to {:.0f} m²; check and fix that outline in the file",
                opened.label, feature->GetFID(), config.name_field, key.name, geometry ? area_of(*geometry) : 0.0);
        }
        if (!geometry) {
            ++skipped;
            continue;
        }
        if (key.name.empty() && unnamed.size() < 20) unnamed.push_back(std::to_string(feature->GetFID()));
        auto [it, inserted] = key_index.try_emplace(key, keys.size());
        if (inserted) keys.push_back(key);
        TownshipPolygon township;
        township.key = it->second;
        township.envelope = envelope_of(*geometry);
        if (OGRHasPreparedGeometrySupport()) {
            township.prepared.reset(OGRCreatePreparedGeometry(OGRGeometry::ToHandle(geometry.get())));
        }
        township.geometry = std::move(geometry);
        loaded.push_back(std::move(township));
    }
    if (skipped > 0)
        spdlog::warn("overlay: {} has {} features without an area; they are ignored", opened.label, skipped);
    if (!unnamed.empty()) {
        spdlog::warn("overlay: {} has features with an empty {} (FID {}); parcels in them get no township name; "
                     "fill in the names or set overlay.townships.name_field",
                     opened.label, config.name_field, join(unnamed));
    }
    if (loaded.empty()) {
        throw InputError("overlay: " + opened.label +
                         " has no polygon features; check overlay.townships.path and .layer");
    }
    // Deterministic order: where township polygons overlap (a data error), the land goes to the
    // township with the smallest (code, name).
    std::stable_sort(loaded.begin(), loaded.end(),
                     [this](const TownshipPolygon& a, const TownshipPolygon& b) { return keys[a.key] < keys[b.key]; });
    townships = std::move(loaded);
    spdlog::info("overlay: {} townships ({} polygons) from {}", keys.size(), townships.size(), opened.label);
}

void OverlayStage::Impl::load_cultivated() {
    const auto& config = options.cultivated;
    auto opened = open_layer(config, "cultivated", "overlay.cultivated");
    OGRLayer& layer = *opened.layer;
    const int class_index = require_field(layer, config.class_field, opened.label, "overlay.cultivated.class_field");
    std::set<std::string> classes;
    for (const auto& c : config.classes) classes.insert(trim(c));
    auto transform = layer_to_area(layer, opened.label, *area_srs);

    FieldText text(opened, config, "overlay.cultivated");
    std::set<std::string> other_values;  // for the message when nothing matches
    std::vector<std::string> repaired_fids;
    std::size_t repaired_count = 0;
    layer.ResetReading();
    for (auto& feature : layer) {
        std::string value = trim(text(*feature, class_index));
        if (!classes.contains(value)) {
            if (other_values.size() < 10) other_values.insert(std::move(value));
            continue;
        }
        bool repaired = false;
        auto geometry = read_geometry(*feature, transform.get(), *area_srs, opened.label, &repaired);
        if (repaired && ++repaired_count <= 10) repaired_fids.push_back(std::to_string(feature->GetFID()));
        if (!geometry) continue;
        cultivated_envelopes.push_back(envelope_of(*geometry));
        cultivated.push_back(std::move(geometry));
    }
    if (cultivated.empty()) {
        spdlog::warn(
            "overlay: {} has no feature whose {} is one of {}; values seen include {}; every parcel will "
            "show 0 cultivated area (set overlay.cultivated.classes)",
            opened.label, config.class_field, join(std::vector<std::string>(classes.begin(), classes.end())),
            join(std::vector<std::string>(other_values.begin(), other_values.end())));
    }
    if (repaired_count > 0) {
        spdlog::warn("overlay: {} has {} cultivated features that are not valid polygons (FID {}{}); repaired with "
                     "GEOS MakeValid; check those outlines in the file",
                     opened.label, repaired_count, join(repaired_fids), repaired_count > repaired_fids.size() ? ", …" : "");
    }
    cultivated_index.build(cultivated_envelopes);
    spdlog::info("overlay: {} cultivated polygons from {}", cultivated.size(), opened.label);
}

// Cuts a patch (area CRS) into one piece per township it covers, plus the part outside every
// township. Each township takes its part of what is left, so pieces never overlap and add up
// to the patch.
std::vector<Piece> OverlayStage::Impl::split(const OGRGeometry& patch, std::int64_t patch_id) const {
    std::vector<Piece> pieces;
    const std::string what = "patch " + std::to_string(patch_id);
    OGRGeometryUniquePtr remaining(patch.clone());
    OGREnvelope envelope = envelope_of(*remaining);
    for (const auto& township : townships) {
        if (!remaining) break;
        if (!township.envelope.Intersects(envelope)) continue;
        std::size_t piece_index = pieces.size();
        for (std::size_t i = 0; i < pieces.size(); ++i)
            if (pieces[i].key == township.key) piece_index = i;
        OGRGeometryUniquePtr inside;
        if (township.contains(*remaining)) {
            inside = std::move(remaining);
        } else {
            if (!township.intersects(*remaining)) continue;
            inside = polygonal_part(checked(remaining->Intersection(township.geometry.get()), "intersection", what));
            if (!inside) continue;
            // remaining − township == remaining − inside, and the latter never touches the
            // (possibly 10⁵-vertex) township outline again.
            remaining = polygonal_part(checked(remaining->Difference(inside.get()), "difference", what));
            if (remaining && area_of(*remaining) <= kSliverAreaM2) remaining.reset();
            if (remaining) envelope = envelope_of(*remaining);
        }
        if (!inside || area_of(*inside) <= kSliverAreaM2) continue;
        if (piece_index == pieces.size()) {
            pieces.push_back(Piece{township.key, std::move(inside)});
        } else {  // another polygon of the same township (an exclave)
            auto& piece = pieces[piece_index];
            piece.geometry = polygonal_part(checked(piece.geometry->Union(inside.get()), "union", what));
        }
    }
    if (remaining && area_of(*remaining) > kSliverAreaM2) pieces.push_back(Piece{kNoTownship, std::move(remaining)});
    return pieces;
}

// Area (m²) of `piece` on cultivated land. Overlapping cultivated polygons are counted once:
// the piece's intersections with each of them are unioned before the area is taken.
double OverlayStage::Impl::cultivated_area(const OGRGeometry& piece) {
    if (cultivated.empty()) return 0;
    const auto candidates = cultivated_index.query(envelope_of(piece));
    OGRMultiPolygon parts;
    std::size_t part_count = 0;
    for (const auto i : candidates) {
        auto inside = polygonal_part(checked(piece.Intersection(cultivated[i].get()), "intersection",
                                             "a parcel and cultivated polygon " + std::to_string(i)));
        if (!inside) continue;
        collect_polygons(*inside, parts);
        ++part_count;
    }
    if (part_count == 0) return 0;
    if (part_count == 1) return area_of(parts);
    auto merged = polygonal_part(checked(parts.UnionCascaded(), "union", "the cultivated parts of a parcel"));
    return merged ? area_of(*merged) : 0.0;
}

OverlayStage::OverlayStage(OverlayConfig options, const OGRSpatialReference& image_srs, double lon, double lat)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    impl_->image_srs = clone_traditional(image_srs);
    impl_->lon = lon;
    impl_->lat = lat;
}

OverlayStage::~OverlayStage() = default;

void OverlayStage::validate() {
    auto& d = *impl_;
    d.validated = false;
    d.keys.clear();
    d.townships.clear();
    d.cultivated.clear();
    d.cultivated_envelopes.clear();
    d.cultivated_index.build(d.cultivated_envelopes);
    d.resolve_crs();
    if (d.options.townships.configured()) d.load_townships();
    if (d.options.cultivated.configured()) d.load_cultivated();
    d.validated = true;
}

const OGRSpatialReference& OverlayStage::area_crs() const {
    if (!impl_->area_srs) throw InternalError("overlay: area_crs() called before validate()");
    return *impl_->area_srs;
}

std::vector<Parcel> OverlayStage::run(std::vector<Parcel> patches) {
    auto& d = *impl_;
    if (!d.validated) validate();
    std::vector<Parcel> parcels;
    parcels.reserve(patches.size());
    for (auto& patch : patches) {
        if (!patch.geometry || patch.geometry->IsEmpty()) {
            throw InternalError("overlay: patch " + std::to_string(patch.patch_id) + " has no geometry");
        }
        const OGRSpatialReference* image_geometry_srs = patch.geometry->getSpatialReference();
        OGRGeometryUniquePtr whole(patch.geometry->clone());
        if (d.image_to_area && !transform_quietly(*whole, *d.image_to_area)) {
            throw InputError("overlay: patch " + std::to_string(patch.patch_id) +
                             " cannot be transformed from the imagery CRS " + crs_label(*d.image_srs) +
                             " to the area CRS " + crs_label(*d.area_srs) + " (" + last_gdal_error() +
                             "); set overlay.area_crs to a CRS valid over the scene");
        }
        whole = clean_polygonal(std::move(whole));
        if (!whole) {
            throw InternalError("overlay: patch " + std::to_string(patch.patch_id) + " has no area");
        }
        auto pieces = d.split(*whole, patch.patch_id);
        // One piece (the common case): the parcel keeps its exact pixel outline and the whole
        // patch area; sub-cm² slivers cut off along a boundary are not worth a second parcel.
        if (pieces.size() <= 1) {
            const std::size_t key = pieces.empty() ? kNoTownship : pieces.front().key;
            pieces.clear();
            pieces.push_back(Piece{key, std::move(whole)});
        }
        std::vector<double> areas;
        for (const auto& piece : pieces) areas.push_back(area_of(*piece.geometry));
        const auto pixels = split_proportionally(patch.pixel_count, areas);
        const bool was_split = pieces.size() > 1;
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            auto& piece = pieces[i];
            Parcel parcel;
            parcel.patch_id = patch.patch_id;
            parcel.change_score = patch.change_score;
            parcel.pixel_count = pixels[i];
            if (piece.key != kNoTownship) {
                parcel.township_name = d.keys[piece.key].name;
                parcel.township_code = d.keys[piece.key].code;
            }
            parcel.area_m2 = areas[i];
            parcel.cultivated_m2 = std::min(d.cultivated_area(*piece.geometry), parcel.area_m2);
            OGRPoint centroid;
            if (piece.geometry->Centroid(&centroid) == OGRERR_NONE && !centroid.IsEmpty()) {
                parcel.centroid_x = centroid.getX();
                parcel.centroid_y = centroid.getY();
            }
            if (!was_split) {
                parcel.geometry = std::move(patch.geometry);
            } else {
                // Cut in the area CRS, then brought back: the new vertices along the township
                // line are in the image CRS like the rest of the outline.
                if (d.area_to_image && !transform_quietly(*piece.geometry, *d.area_to_image)) {
                    throw InputError("overlay: a piece of patch " + std::to_string(patch.patch_id) +
                                     " cannot be transformed back to the imagery CRS " + crs_label(*d.image_srs) +
                                     " (" + last_gdal_error() +
                                     "); set overlay.area_crs to a CRS valid over the scene");
                }
                piece.geometry->assignSpatialReference(const_cast<OGRSpatialReference*>(image_geometry_srs));
                parcel.geometry = std::move(piece.geometry);
            }
            parcels.push_back(std::move(parcel));
        }
    }
    std::stable_sort(parcels.begin(), parcels.end(), [](const Parcel& a, const Parcel& b) {
        const bool a_out = a.township_code.empty() && a.township_name == kUnassignedTownship;
        const bool b_out = b.township_code.empty() && b.township_name == kUnassignedTownship;
        return std::tie(a_out, a.township_code, a.township_name, a.patch_id) <
               std::tie(b_out, b.township_code, b.township_name, b.patch_id);
    });
    std::int64_t assigned = 0;
    for (std::size_t i = 0; i < parcels.size(); ++i) {
        parcels[i].id = static_cast<std::int64_t>(i) + 1;
        if (parcels[i].township_name != kUnassignedTownship || !parcels[i].township_code.empty()) ++assigned;
    }
    if (!d.townships.empty() && !parcels.empty() && assigned == 0) {
        spdlog::warn(
            "overlay: no parcel falls inside any township of '{}'; check that the layer covers the imagery "
            "and declares the CRS its coordinates are in",
            d.options.townships.path);
    } else if (!d.townships.empty() && !parcels.empty()) {
        double total_m2 = 0, unassigned_m2 = 0;
        for (const auto& parcel : parcels) {
            total_m2 += parcel.area_m2;
            if (parcel.township_name == kUnassignedTownship && parcel.township_code.empty())
                unassigned_m2 += parcel.area_m2;
        }
        const auto unassigned = static_cast<std::int64_t>(parcels.size()) - assigned;
        const double count_share = static_cast<double>(unassigned) / static_cast<double>(parcels.size());
        const double area_share = total_m2 > 0 ? unassigned_m2 / total_m2 : 0.0;
        if (count_share >= kUnassignedWarningShare || area_share >= kUnassignedWarningShare) {
            spdlog::warn(
                "overlay: {} of {} parcels ({:.0f} % of the parcel area) fall outside every township of '{}' and "
                "are listed as '{}'; check that the layer covers the whole imagery and that its polygons are "
                "complete (see any warning about repaired outlines above)",
                unassigned, parcels.size(), 100.0 * area_share, d.options.townships.path, kUnassignedTownship);
        }
    }
    return parcels;
}

static_assert(Stage<OverlayStage>);

}  // namespace weipian
