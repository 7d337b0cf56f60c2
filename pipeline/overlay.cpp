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

#include "pipeline/core/dates.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/text.hpp"
#include "pipeline/land_class.hpp"
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

// The name and code fields of a layer of named areas (townships, villages), checked at
// validate(). An empty code_field means the layer has no code column: areas are then keyed by name.
struct NamedFields {
    int name = -1;
    int code = -1;
    NamedFields(const OpenedLayer& opened, const std::string& name_field, const std::string& code_field,
                const std::string& key) {
        name = require_field(*opened.layer, name_field, opened.label, key + ".name_field");
        if (!code_field.empty()) code = require_field(*opened.layer, code_field, opened.label, key + ".code_field");
    }
    TownshipKey key(OGRFeature& feature, FieldText& text) const {
        return TownshipKey{code >= 0 ? trim(text(feature, code)) : std::string(), trim(text(feature, name))};
    }
};

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

// Reads every feature of `opened` with its polygon in the area CRS (null when the feature has
// no area; `repaired` tells whether MakeValid had to mend it): the one path by which every
// overlay layer is read, so CRS, axis order and repair are handled alike.
template <typename OnFeature>
void read_polygons(OpenedLayer& opened, const OGRSpatialReference& area_srs, OnFeature on_feature) {
    OGRLayer& layer = *opened.layer;
    auto transform = layer_to_area(layer, opened.label, area_srs);
    layer.ResetReading();
    for (auto& feature : layer) {
        bool repaired = false;
        auto geometry = read_geometry(*feature, transform.get(), area_srs, opened.label, &repaired);
        on_feature(*feature, std::move(geometry), repaired);
    }
}

// The FIDs of the features of one layer that MakeValid had to repair, for one warning.
class RepairLog {
public:
    void add(GIntBig fid) {
        if (++count_ <= 10) fids_.push_back(std::to_string(fid));
    }
    void warn(const std::string& label, const std::string& what) const {
        if (count_ == 0) return;
        spdlog::warn("overlay: {} has {} {} features that are not valid polygons (FID {}{}); repaired with "
                     "GEOS MakeValid; check those outlines in the file",
                     label, count_, what, join(fids_), count_ > fids_.size() ? ", …" : "");
    }

private:
    std::size_t count_ = 0;
    std::vector<std::string> fids_;
};

// Polygons of one layer in the area CRS with an envelope index. Not movable: the index points
// at `envelopes`.
struct PolygonSet {
    std::vector<OGRGeometryUniquePtr> geometries;
    std::vector<OGREnvelope> envelopes;
    EnvelopeGrid index;

    PolygonSet() = default;
    PolygonSet(const PolygonSet&) = delete;
    PolygonSet& operator=(const PolygonSet&) = delete;

    std::size_t add(OGRGeometryUniquePtr geometry) {
        envelopes.push_back(envelope_of(*geometry));
        geometries.push_back(std::move(geometry));
        return geometries.size() - 1;
    }
    void build() { index.build(envelopes); }
    void clear() {
        geometries.clear();
        envelopes.clear();
        index.build(envelopes);
    }
};

// What a polygon set covers of a piece: each feature's part (index, m², only parts over the
// 1 cm² sliver limit) and the area of the union of those parts, so overlapping features count once.
struct Coverage {
    double area_m2 = 0;
    std::vector<std::pair<std::size_t, double>> hits;
};

Coverage cover(const OGRGeometry& piece, PolygonSet& set, const std::string& what) {
    Coverage out;
    if (set.geometries.empty()) return out;
    OGRMultiPolygon parts;
    for (const auto i : set.index.query(envelope_of(piece))) {
        auto inside = polygonal_part(checked(piece.Intersection(set.geometries[i].get()), "intersection",
                                             "a parcel and " + what + " polygon " + std::to_string(i)));
        if (!inside) continue;
        const double area = area_of(*inside);
        if (area <= kSliverAreaM2) continue;
        collect_polygons(*inside, parts);
        out.hits.emplace_back(i, area);
    }
    if (out.hits.size() == 1) {
        out.area_m2 = out.hits.front().second;
    } else if (out.hits.size() > 1) {
        auto merged = polygonal_part(checked(parts.UnionCascaded(), "union", "the " + what + " parts of a parcel"));
        out.area_m2 = merged ? area_of(*merged) : 0.0;
    }
    return out;
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

    // DLTB: every polygon with its class, in the area CRS.
    struct LandClass {
        LandGroup group = LandGroup::Unused;
        std::string dlbm;            // as written, trimmed
        std::string base;            // GB/T 21010 base class ("" for a configured non-code value)
        bool urban_village = false;  // CZCSXM 203
    };
    PolygonSet land;
    std::vector<LandClass> land_classes;  // parallel to land.geometries

    PolygonSet permanent_farmland, redline, urban_boundary;

    PolygonSet villages;
    std::vector<TownshipKey> village_keys;  // (code, name)
    std::vector<std::size_t> village_of;    // parallel to villages.geometries

    struct ApprovalLayer {
        ApprovalLayerConfig config;
        PolygonSet set;
        std::vector<std::string> numbers;    // parallel to set.geometries
        std::vector<std::string> end_dates;  // YYYY-MM-DD or empty
    };
    std::vector<std::unique_ptr<ApprovalLayer>> approvals;

    void resolve_crs();
    void load_townships();
    void load_land();
    void load_area_layer(const AreaLayerConfig& config, const std::string& role, const std::string& key, PolygonSet& out);
    void load_villages();
    void load_approvals();
    std::vector<Piece> split(const OGRGeometry& patch, std::int64_t patch_id) const;
    void assign_land(const OGRGeometry& piece, Parcel& parcel);
    void fill_overlay(const OGRGeometry& piece, Parcel& parcel);
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
    const NamedFields fields(opened, config.name_field, config.code_field, "overlay.townships");
    FieldText text(opened, config, "overlay.townships");
    std::map<TownshipKey, std::size_t> key_index;
    std::vector<TownshipPolygon> loaded;
    std::int64_t skipped = 0;
    std::vector<std::string> unnamed;  // FIDs of features with an empty name
    read_polygons(opened, *area_srs, [&](OGRFeature& feature, OGRGeometryUniquePtr geometry, bool repaired) {
        const TownshipKey key = fields.key(feature, text);
        if (repaired) {
            // A bow-tie or a ring crossing itself: GEOS would refuse it, and parcels in it would
            // silently end up unassigned; the repaired outline may still differ from the drawn intent.
            spdlog::warn(
                "overlay: {} feature {} ({} '{}') is not a valid polygon (its outline crosses itself); repaired "
                "with GEOS MakeValid to {:.0f} m²; check and fix that outline in the file",
                opened.label, feature.GetFID(), config.name_field, key.name, geometry ? area_of(*geometry) : 0.0);
        }
        if (!geometry) {
            ++skipped;
            return;
        }
        if (key.name.empty() && unnamed.size() < 20) unnamed.push_back(std::to_string(feature.GetFID()));
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
    });
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

// DLTB: every polygon with its class and group (pipeline/land_class.hpp). A value that is neither
// a configured cultivated class nor a GB/T 21010 class is refused: its land would otherwise
// vanish from the form's parts.
void OverlayStage::Impl::load_land() {
    const auto& config = options.cultivated;
    auto opened = open_layer(config, "cultivated", "overlay.cultivated");
    OGRLayer& layer = *opened.layer;
    const int class_index = require_field(layer, config.class_field, opened.label, "overlay.cultivated.class_field");
    // The urban-village attribute: the layer must have the field when the key was set; at the
    // default a layer without it is simply not assessed.
    int village_index = -1;
    if (!config.urban_village_field.empty()) {
        village_index = layer.GetLayerDefn()->GetFieldIndex(config.urban_village_field.c_str());
        if (village_index < 0 && config.urban_village_field_given)
            require_field(layer, config.urban_village_field, opened.label, "overlay.cultivated.urban_village_field");
        if (village_index < 0)
            spdlog::info("overlay: {} has no field {}; the urban-village (203) part is not assessed", opened.label,
                         config.urban_village_field);
    }
    const LandClassTable table(config.classes, config.class_groups);
    FieldText text(opened, config, "overlay.cultivated");
    std::map<std::string, std::pair<std::size_t, GIntBig>> unknown;  // value -> (features, first FID)
    std::set<std::string> other_values;  // for the warning when nothing is cultivated
    std::size_t cultivated_count = 0;
    RepairLog repairs;
    read_polygons(opened, *area_srs, [&](OGRFeature& feature, OGRGeometryUniquePtr geometry, bool repaired) {
        std::string value = trim(text(feature, class_index));
        if (table.unsurveyed(value)) return;  // class_groups: VALUE=未调查
        const auto group = table.group_of(value);
        if (!group) {
            auto [it, inserted] = unknown.try_emplace(value, 0, feature.GetFID());
            ++it->second.first;
            return;
        }
        if (*group != LandGroup::Cultivated && other_values.size() < 10) other_values.insert(value);
        if (repaired) repairs.add(feature.GetFID());
        if (!geometry) return;
        LandClass info;
        info.group = *group;
        info.base = base_land_class(value).value_or("");
        info.urban_village = village_index >= 0 && is_urban_village_code(text(feature, village_index));
        info.dlbm = std::move(value);
        if (info.group == LandGroup::Cultivated) ++cultivated_count;
        land.add(std::move(geometry));
        land_classes.push_back(std::move(info));
    });
    if (!unknown.empty()) {
        const auto& [value, seen] = *unknown.begin();
        std::vector<std::string> others;
        for (auto it = std::next(unknown.begin()); it != unknown.end() && others.size() < 5; ++it)
            others.push_back("'" + it->first + "'");
        throw InputError("overlay: " + opened.label + " field " + config.class_field + ": class '" + value + "' (" +
                         std::to_string(seen.first) + " features, first FID " + std::to_string(seen.second) +
                         ") is not a GB/T 21010 class" +
                         (others.empty() ? std::string() : " (nor are " + join(others) + (unknown.size() - 1 > others.size() ? ", …" : "") + ")") +
                         "; fix the layer, list the value in overlay.cultivated.classes if it is cultivated land, or give its group in "
                         "overlay.cultivated.class_groups (e.g. \"" + value + "=未利用地\")");
    }
    if (cultivated_count == 0) {
        std::set<std::string> classes;
        for (const auto& c : config.classes) classes.insert(trim(c));
        spdlog::warn(
            "overlay: {} has no feature whose {} is one of {}; values seen include {}; every parcel will "
            "show 0 cultivated area (set overlay.cultivated.classes)",
            opened.label, config.class_field, join(std::vector<std::string>(classes.begin(), classes.end())),
            join(std::vector<std::string>(other_values.begin(), other_values.end())));
    }
    repairs.warn(opened.label, "land-use");
    land.build();
    spdlog::info("overlay: {} land-use polygons ({} cultivated) from {}", land.geometries.size(), cultivated_count,
                 opened.label);
}

// 永久基本农田, 生态保护红线, 城镇开发边界: polygons only, their area inside each parcel.
void OverlayStage::Impl::load_area_layer(const AreaLayerConfig& config, const std::string& role, const std::string& key,
                                         PolygonSet& out) {
    if (!config.configured()) return;
    auto opened = open_layer(config, role, key);
    RepairLog repairs;
    read_polygons(opened, *area_srs, [&](OGRFeature& feature, OGRGeometryUniquePtr geometry, bool repaired) {
        if (repaired) repairs.add(feature.GetFID());
        if (geometry) out.add(std::move(geometry));
    });
    repairs.warn(opened.label, role);
    out.build();
    spdlog::info("overlay: {} polygons from {}", out.geometries.size(), opened.label);
}

void OverlayStage::Impl::load_villages() {
    const auto& config = options.villages;
    auto opened = open_layer(config, "villages", "overlay.villages");
    const NamedFields fields(opened, config.name_field, config.code_field, "overlay.villages");
    FieldText text(opened, config, "overlay.villages");
    std::map<TownshipKey, std::size_t> key_index;
    RepairLog repairs;
    read_polygons(opened, *area_srs, [&](OGRFeature& feature, OGRGeometryUniquePtr geometry, bool repaired) {
        if (repaired) repairs.add(feature.GetFID());
        if (!geometry) return;
        const TownshipKey key = fields.key(feature, text);
        auto [it, inserted] = key_index.try_emplace(key, village_keys.size());
        if (inserted) village_keys.push_back(key);
        villages.add(std::move(geometry));
        village_of.push_back(it->second);
    });
    repairs.warn(opened.label, "village");
    villages.build();
    spdlog::info("overlay: {} villages ({} polygons) from {}", village_keys.size(), villages.geometries.size(), opened.label);
}

void OverlayStage::Impl::load_approvals() {
    for (std::size_t n = 0; n < options.approvals.size(); ++n) {
        auto approval = std::make_unique<ApprovalLayer>();
        approval->config = options.approvals[n];
        const auto& config = approval->config;
        const std::string key = "overlay.approvals[" + std::to_string(n + 1) + "]";
        auto opened = open_layer(config, "approvals[" + std::to_string(n + 1) + "]", key);
        OGRLayer& layer = *opened.layer;
        const int number_index = require_field(layer, config.number_field, opened.label, key + ".number_field");
        const int date_index =
            config.end_date_field.empty() ? -1 : require_field(layer, config.end_date_field, opened.label, key + ".end_date_field");
        FieldText text(opened, config, key);
        RepairLog repairs;
        std::size_t unnumbered = 0;
        read_polygons(opened, *area_srs, [&](OGRFeature& feature, OGRGeometryUniquePtr geometry, bool repaired) {
            std::string end_date;
            if (date_index >= 0 && feature.IsFieldSetAndNotNull(date_index)) {
                const std::string written = trim(text(feature, date_index));
                if (!written.empty()) {
                    const auto parsed = parse_ledger_date(written);
                    if (!parsed)
                        throw InputError("overlay: " + opened.label + " feature " + std::to_string(feature.GetFID()) +
                                         " field " + config.end_date_field + ": '" + written +
                                         "' is not a date; write it as YYYY-MM-DD (2023/9/30 and 2023年9月30日 are read "
                                         "too), or leave it empty when the record has no end date");
                    end_date = *parsed;
                }
            }
            if (repaired) repairs.add(feature.GetFID());
            if (!geometry) return;
            std::string number = trim(text(feature, number_index));
            if (number.empty()) ++unnumbered;
            approval->set.add(std::move(geometry));
            approval->numbers.push_back(std::move(number));
            approval->end_dates.push_back(std::move(end_date));
        });
        repairs.warn(opened.label, "approval");
        if (unnumbered > 0)
            spdlog::warn("overlay: {} has {} features with an empty {}; the parcels they cover show no document number "
                         "from them; fill in the numbers",
                         opened.label, unnumbered, config.number_field);
        approval->set.build();
        spdlog::info("overlay: {} {} polygons ({}) from {}", approval->set.geometries.size(), config.kind, config.name,
                     opened.label);
        approvals.push_back(std::move(approval));
    }
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

// The form's area parts of `piece` from DLTB (LandParts, pipeline/core/parcel.hpp). Each bit
// of the piece goes to one DLTB polygon: polygons are taken in the priority 耕地, 非耕农用地,
// 未利用地, 建设用地 (the form's order; then file order), each takes what the earlier ones left,
// so overlapping DLTB polygons (a data error) never count twice and the 耕地 part is the piece ∩
// the union of the cultivated polygons. What no polygon covers is the unsurveyed part.
void OverlayStage::Impl::assign_land(const OGRGeometry& piece, Parcel& parcel) {
    LandParts& parts = parcel.overlay.land;
    parts = LandParts{};
    parcel.cultivated_m2 = 0;
    parcel.overlay.land_assessed = options.cultivated.configured();
    double group_m2[kLandGroups] = {};
    std::map<std::string, double> by_class;
    auto candidates = land.index.query(envelope_of(piece));
    std::stable_sort(candidates.begin(), candidates.end(), [this](std::uint32_t a, std::uint32_t b) {
        return land_classes[a].group < land_classes[b].group;
    });
    OGRGeometryUniquePtr remaining(candidates.empty() ? nullptr : piece.clone());
    OGREnvelope envelope = remaining ? envelope_of(*remaining) : OGREnvelope();
    for (const auto i : candidates) {
        if (!remaining) break;
        if (!land.envelopes[i].Intersects(envelope)) continue;
        const std::string what = "a parcel and land-use polygon " + std::to_string(i);
        auto inside = polygonal_part(checked(remaining->Intersection(land.geometries[i].get()), "intersection", what));
        if (!inside) continue;
        const double area = area_of(*inside);
        if (area <= kSliverAreaM2) continue;
        remaining = polygonal_part(checked(remaining->Difference(inside.get()), "difference", what));
        if (remaining && area_of(*remaining) <= kSliverAreaM2) remaining.reset();
        if (remaining) envelope = envelope_of(*remaining);
        const LandClass& info = land_classes[i];
        group_m2[static_cast<int>(info.group)] += area;
        by_class[info.dlbm] += area;
        if (info.base == kFacilityClass) parts.facility_m2 += area;
        if (info.base == kRuralRoadClass) parts.rural_road_m2 += area;
        if (info.base == kHomesteadClass) parts.homestead_m2 += area;
        if (info.urban_village) parts.urban_village_m2 += area;
    }
    parcel.cultivated_m2 = std::min(group_m2[static_cast<int>(LandGroup::Cultivated)], parcel.area_m2);
    parts.other_agricultural_m2 = group_m2[static_cast<int>(LandGroup::OtherAgricultural)];
    parts.unused_m2 = group_m2[static_cast<int>(LandGroup::Unused)];
    parts.construction_m2 = group_m2[static_cast<int>(LandGroup::Construction)];
    const double surveyed =
        parcel.cultivated_m2 + parts.other_agricultural_m2 + parts.unused_m2 + parts.construction_m2;
    parts.unsurveyed_m2 = std::max(0.0, parcel.area_m2 - surveyed);
    double largest = 0;
    for (const auto& [dlbm, area] : by_class) {  // ties: the smaller class code
        if (area > largest) {
            largest = area;
            parts.dominant_class = dlbm;
        }
    }
}

// Parcel::overlay of one township piece (area CRS), and Parcel::cultivated_m2.
void OverlayStage::Impl::fill_overlay(const OGRGeometry& piece, Parcel& parcel) {
    assign_land(piece, parcel);
    ParcelOverlay& overlay = parcel.overlay;
    const double area = parcel.area_m2;
    overlay.permanent_farmland_assessed = options.permanent_farmland.configured();
    overlay.permanent_farmland_m2 = std::min(cover(piece, permanent_farmland, "permanent-farmland").area_m2, area);
    overlay.redline_assessed = options.redline.configured();
    overlay.redline_m2 = std::min(cover(piece, redline, "redline").area_m2, area);
    overlay.urban_boundary_assessed = options.urban_boundary.configured();
    overlay.urban_boundary_m2 = std::min(cover(piece, urban_boundary, "urban-boundary").area_m2, area);

    // The village holding the largest part; ties to the smaller (code, name).
    overlay.village_name.clear();
    overlay.village_code.clear();
    std::map<std::size_t, double> by_village;
    for (const auto& [i, m2] : cover(piece, villages, "village").hits) by_village[village_of[i]] += m2;
    const TownshipKey* best = nullptr;
    double best_m2 = 0;
    for (const auto& [k, m2] : by_village) {
        const auto& key = village_keys[k];
        if (m2 > best_m2 || (m2 == best_m2 && best && key < *best)) {
            best = &key;
            best_m2 = m2;
        }
    }
    if (best) {
        overlay.village_name = best->name;
        overlay.village_code = best->code;
    }

    overlay.approvals.clear();
    for (const auto& approval : approvals) {
        ApprovalCover out;
        out.kind = approval->config.kind;
        out.name = approval->config.name.empty() ? approval->config.kind : approval->config.name;
        const Coverage coverage = cover(piece, approval->set, approval->config.kind);
        out.covered_m2 = std::min(coverage.area_m2, area);
        out.share = area > 0 ? std::clamp(out.covered_m2 / area, 0.0, 1.0) : 0.0;
        std::set<std::string> numbers;
        for (const auto& [i, m2] : coverage.hits) {
            if (!approval->numbers[i].empty()) numbers.insert(approval->numbers[i]);
            if (approval->end_dates[i] > out.end_date) out.end_date = approval->end_dates[i];
        }
        out.numbers.assign(numbers.begin(), numbers.end());
        overlay.approvals.push_back(std::move(out));
    }
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
    d.land.clear();
    d.land_classes.clear();
    d.permanent_farmland.clear();
    d.redline.clear();
    d.urban_boundary.clear();
    d.villages.clear();
    d.village_keys.clear();
    d.village_of.clear();
    d.approvals.clear();
    d.resolve_crs();
    if (d.options.townships.configured()) d.load_townships();
    if (d.options.cultivated.configured()) d.load_land();
    d.load_area_layer(d.options.permanent_farmland, "permanent-farmland", "overlay.permanent_farmland", d.permanent_farmland);
    d.load_area_layer(d.options.redline, "redline", "overlay.redline", d.redline);
    d.load_area_layer(d.options.urban_boundary, "urban-boundary", "overlay.urban_boundary", d.urban_boundary);
    if (d.options.villages.configured()) d.load_villages();
    d.load_approvals();
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
            d.fill_overlay(*piece.geometry, parcel);
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
