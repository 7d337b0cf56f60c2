// `weipian ledger import-leads` and `weipian ledger leads` (see ledger/ledger_leads.hpp).
#include "ledger/ledger_leads.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_priv.h>
#include <gdal_version.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_match.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/units.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

// One row of a lead file as read (text already UTF-8).
struct LeadRow {
    int row = 0;
    std::string id, batch, delivered, qsx, hsx, area, earlier_id, x, y;
    OGRGeometryUniquePtr geometry;  // in the file's CRS; null = none
};

struct LeadFile {
    std::string label;  // the path
    std::string id_field;  // the id field's name as found
    std::vector<LeadRow> rows;
    std::unique_ptr<OGRSpatialReference> srs;  // traditional axis order; null for XLSX
    bool spreadsheet = false;
};

// The field of `names` (in order) among `fields`, ASCII case and surrounding blanks ignored; -1 = none.
int find_field(const std::vector<std::string>& fields, const std::vector<std::string>& names) {
    for (const auto& name : names)
        for (std::size_t i = 0; i < fields.size(); ++i)
            if (lower_ascii(trim(fields[i])) == lower_ascii(trim(name))) return static_cast<int>(i);
    return -1;
}

// Decodes text as read: valid UTF-8 as it is, anything else as GBK (CP936) with one warning (a
// Shapefile no .cpg or code page declares is read without recoding, so this decides for it).
class TextDecoder {
public:
    TextDecoder(std::string label, bool guess) : label_(std::move(label)), guess_(guess) {}
    std::string operator()(const std::string& raw, const std::string& where) {
        if (is_utf8(raw)) return raw;
        std::string decoded = gbk_to_utf8(raw);
        if (!warned_ && !guess_) {
            // The .cpg (or code page) says UTF-8 or nothing GDAL recodes, yet the bytes are not.
            warned_ = true;
            spdlog::warn("leads: '{}' declares its encoding (.cpg or DBF code page) but has text that is not valid UTF-8 ({}); "
                         "read it as GBK (CP936), giving '{}'. If the names are right, write GBK into its .cpg",
                         label_, where, decoded);
        }
        if (!warned_) {
            warned_ = true;
            spdlog::warn("leads: '{}' has no .cpg and text that is not valid UTF-8 ({}); read it as GBK (CP936), giving '{}'. "
                         "If the names are right, add a .cpg containing GBK next to the .shp; if not, add one naming the "
                         "file's encoding",
                         label_, where, decoded);
        }
        return decoded;
    }

private:
    std::string label_;
    bool guess_;
    bool warned_ = false;
};

std::string lower_extension(const fs::path& path) { return lower_ascii(path.extension().string()); }

LeadFile read_lead_file(const fs::path& path, const LedgerConfig::LeadFields& names) {
    ensure_gdal_registered();
    if (!fs::exists(path)) throw InputError("leads: '" + path.string() + "' does not exist; check the path");
    const std::string ext = lower_extension(path);
    LeadFile file;
    file.label = path.string();
    file.spreadsheet = ext == ".xlsx";
    GDALDatasetUniquePtr ds;
    // XLSX: first row = headers, every cell as text (see ledger_import.cpp for the GDAL 3.6 notes).
    std::optional<CPLConfigOptionSetter> headers, types;
    bool guess_encoding = false;
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    if (file.spreadsheet) {
        headers.emplace("OGR_XLSX_HEADERS", "FORCE", false);
        types.emplace("OGR_XLSX_FIELD_TYPES", "STRING", false);
        const char* drivers[] = {"XLSX", nullptr};
        ds.reset(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, nullptr, nullptr));
    } else {
        ds.reset(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
        const bool shapefile = ds && ds->GetDriver() && EQUAL(ds->GetDriver()->GetDescription(), "ESRI Shapefile");
        if (shapefile && ds->GetLayerCount() > 0) {
            // Without a .cpg and a DBF code page GDAL takes the text as ISO-8859-1; read the bytes
            // as they are instead and decide per value (UTF-8, else GBK).
            const char* declared = ds->GetLayer(0)->GetMetadataItem("SOURCE_ENCODING", "SHAPEFILE");
            const bool has_cpg = fs::exists(fs::path(path).replace_extension(".cpg")) ||
                                 fs::exists(fs::path(path).replace_extension(".CPG"));
            const bool declared_by_dbf = declared && *declared && !EQUAL(declared, "ISO-8859-1") && !EQUAL(declared, "LATIN1");
            if (!has_cpg && !declared_by_dbf) {
                const char* options[] = {"ENCODING=", nullptr};
                ds.reset(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, options, nullptr));
                guess_encoding = true;
            }
        }
    }
    CPLPopErrorHandler();
    if (!ds)
        throw InputError("leads: cannot read '" + path.string() + "' (" + last_gdal_error() +
                         "); give a Shapefile, a GeoPackage or an XLSX workbook of delivered leads");
    TextDecoder decode(file.label, guess_encoding);

    // The first layer holding an id field.
    OGRLayer* layer = nullptr;
    int id_index = -1;
    std::vector<std::string> fields, first_fields;
    for (OGRLayer* candidate : ds->GetLayers()) {
        std::vector<std::string> these;
        const OGRFeatureDefn* definition = candidate->GetLayerDefn();
        for (int i = 0; i < definition->GetFieldCount(); ++i)
            these.push_back(decode(definition->GetFieldDefn(i)->GetNameRef(), "field names"));
        if (first_fields.empty()) first_fields = these;
        id_index = find_field(these, names.id);
        if (id_index >= 0) {
            layer = candidate;
            fields = std::move(these);
            break;
        }
    }
    if (!layer)
        throw InputError("leads: '" + path.string() + "' has no lead-id field; accepted names (ledger.lead_fields.id): " +
                         join(names.id, ", ") + "; the file has: " +
                         (first_fields.empty() ? std::string("no fields") : join(first_fields, ", ")));
    file.id_field = fields[static_cast<std::size_t>(id_index)];
    if (!file.spreadsheet) {
        const OGRSpatialReference* srs = layer->GetSpatialRef();
        // GeoPackage stores "no CRS" as srs_id 0 / -1, read as "Undefined geographic/Cartesian SRS".
        const char* name = srs ? srs->GetName() : nullptr;
        if (!srs || srs->IsEmpty() || srs->IsLocal() || (name && std::string(name).rfind("Undefined ", 0) == 0))
            throw InputError("leads: '" + path.string() +
                             "' has no CRS; assign the one it was drawn in, e.g. ogr2ogr -a_srs EPSG:4546 fixed.gpkg input.shp");
        file.srs = clone_traditional(*srs);
    }
    const int batch = find_field(fields, names.batch), delivered = find_field(fields, names.delivered),
              qsx = find_field(fields, names.qsx), hsx = find_field(fields, names.hsx), area = find_field(fields, names.area),
              earlier = find_field(fields, names.earlier_id), x = find_field(fields, names.x), y = find_field(fields, names.y);
    layer->ResetReading();
    int position = 0;
    for (OGRFeatureUniquePtr f(layer->GetNextFeature()); f; f.reset(layer->GetNextFeature())) {
        ++position;
        LeadRow row;
        // The XLSX driver numbers features by spreadsheet row (the header is row 1).
        row.row = file.spreadsheet ? static_cast<int>(f->GetFID()) : position;
        const std::string where = "row " + std::to_string(row.row);
        const auto text = [&](int index) -> std::string {
            if (index < 0 || !f->IsFieldSetAndNotNull(index)) return {};
            return trim(decode(f->GetFieldAsString(index), where));
        };
        row.id = text(id_index);
        row.batch = text(batch);
        row.delivered = text(delivered);
        row.qsx = text(qsx);
        row.hsx = text(hsx);
        row.area = text(area);
        row.earlier_id = text(earlier);
        row.x = text(x);
        row.y = text(y);
        if (const OGRGeometry* g = f->GetGeometryRef(); g && !g->IsEmpty()) row.geometry.reset(g->clone());
        const bool blank = row.id.empty() && row.batch.empty() && row.delivered.empty() && row.hsx.empty() && row.area.empty() &&
                           row.x.empty() && row.y.empty() && !row.geometry;
        if (!blank) file.rows.push_back(std::move(row));
    }
    return file;
}

std::optional<double> parse_number(const std::string& text) {
    try {
        std::size_t used = 0;
        const double value = std::stod(text, &used);
        if (used != text.size() || !std::isfinite(value)) return std::nullopt;
        return value;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// A lead ready to become a case.
struct Lead {
    int row = 0;
    std::string id, batch, delivered, qsx, hsx, earlier_id;
    std::optional<double> area_mu;
    OGRGeometryUniquePtr geometry;  // file CRS (polygonal), or null for a point
    std::optional<std::pair<double, double>> point;  // file CRS, or lon/lat when `degrees`
    bool degrees = false;
};

// The ledger CRS is projected: areas and centroids there; else in the lead's GK/UTM zone.
struct Placed {
    OGRGeometryUniquePtr outline;  // ledger CRS, MultiPolygon
    double area_m2 = 0;
    double centroid_x = 0, centroid_y = 0;  // area CRS
};

OGRGeometryUniquePtr as_multipolygon(OGRGeometryUniquePtr g) {
    if (wkbFlatten(g->getGeometryType()) == wkbMultiPolygon) return g;
    return OGRGeometryUniquePtr(OGRGeometryFactory::forceToMultiPolygon(g.release()));
}

Placed place_lead(const Lead& lead, const OGRSpatialReference* file_srs, const OGRSpatialReference& ledger_srs) {
    static const auto cgcs2000 = [] {
        auto srs = std::make_unique<OGRSpatialReference>();
        srs->importFromEPSG(4490);
        srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        return srs;
    }();
    const OGRSpatialReference* source = lead.degrees ? cgcs2000.get() : (file_srs ? file_srs : &ledger_srs);
    // The lead's position in degrees picks the area CRS when the ledger is not projected.
    std::unique_ptr<OGRSpatialReference> area_srs;
    if (ledger_srs.IsProjected()) {
        area_srs = clone_traditional(ledger_srs);
    } else {
        OGRGeometryUniquePtr probe;
        if (lead.geometry) {
            probe.reset(lead.geometry->clone());
        } else {
            probe.reset(new OGRPoint(lead.point->first, lead.point->second));
        }
        OGRPoint centre;
        probe->Centroid(&centre);
        if (!source->IsSame(cgcs2000.get())) {
            std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(source, cgcs2000.get()));
            if (ct) centre.transform(ct.get());
        }
        area_srs = default_area_crs(centre.getX(), centre.getY());
        area_srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    }
    const auto transform = [&](OGRGeometry& g, const OGRSpatialReference& from, const OGRSpatialReference& to) {
        if (from.IsSame(&to)) return;
        std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&from, &to));
        if (!ct || g.transform(ct.get()) != OGRERR_NONE)
            throw InputError("leads: row " + std::to_string(lead.row) +
                             ": cannot transform the lead into the ledger's CRS; check the file's CRS and coordinates");
        g.assignSpatialReference(nullptr);
    };
    Placed placed;
    OGRGeometryUniquePtr shape;  // area CRS
    if (lead.geometry) {
        shape.reset(lead.geometry->clone());
        transform(*shape, *source, *area_srs);
        shape = usable_geometry(*shape);
        placed.area_m2 = surface_area(*shape);
        OGRPoint centre;
        shape->Centroid(&centre);
        placed.centroid_x = centre.getX();
        placed.centroid_y = centre.getY();
    } else {
        OGRPoint point(lead.point->first, lead.point->second);
        transform(point, *source, *area_srs);
        placed.centroid_x = point.getX();
        placed.centroid_y = point.getY();
        if (lead.area_mu && *lead.area_mu > 0) {
            const double area_m2 = *lead.area_mu / kMuPerSquareMetre;
            shape.reset(point.Buffer(std::sqrt(area_m2 / M_PI), 16));
            placed.area_m2 = area_m2;
        } else {
            const double h = kPointLeadSideM / 2;
            auto ring = std::make_unique<OGRLinearRing>();
            ring->addPoint(point.getX() - h, point.getY() - h);
            ring->addPoint(point.getX() + h, point.getY() - h);
            ring->addPoint(point.getX() + h, point.getY() + h);
            ring->addPoint(point.getX() - h, point.getY() + h);
            ring->addPoint(point.getX() - h, point.getY() - h);
            auto polygon = std::make_unique<OGRPolygon>();
            polygon->addRingDirectly(ring.release());
            shape.reset(polygon.release());
            placed.area_m2 = 0;  // no 监测面积: the square only places it
        }
    }
    transform(*shape, *area_srs, ledger_srs);
    placed.outline = as_multipolygon(usable_geometry(*shape));
    return placed;
}

std::string format_area(std::int64_t centimu) { return format_mu(centimu) + " 亩"; }

}  // namespace

std::string LeadImportSummary::text() const {
    std::ostringstream out;
    for (const auto& issue : issues) out << issue.where << ": " << issue.message << "\n";
    if (bad_input) {
        out << "import-leads '" << file << "' into ledger '" << ledger << "': " << issues.size()
            << " problems; nothing imported, the ledger is unchanged\n";
        return out.str();
    }
    out << "import-leads '" << file << "' into ledger '" << ledger << "': " << rows << " leads: " << imported << " imported ("
        << linked << " linked to self-found cases, " << earlier << " with an earlier-period id), " << unchanged
        << " already in the ledger, " << refused << " refused\n";
    return out.str();
}

LeadImportSummary import_leads(const LedgerConfig& ledger, const fs::path& path, const LeadImportOptions& options) {
    if (!ledger.configured()) throw ConfigError("leads: no ledger given; pass --ledger LEDGER or --config with ledger.path");
    check_match_options(ledger);
    LeadFile file = read_lead_file(path, ledger.lead_fields);
    LeadImportSummary summary;
    summary.ledger = redact_ledger_location(ledger.path);
    summary.file = path.filename().string();
    summary.rows = file.rows.size();

    // ---- checks before anything is written ----
    std::vector<Lead> leads;
    std::map<std::string, int> first_row;
    const auto issue = [&](const std::string& where, const std::string& message) { summary.issues.push_back({where, message}); };
    for (auto& r : file.rows) {
        const std::string where = "row " + std::to_string(r.row);
        Lead lead;
        lead.row = r.row;
        lead.id = r.id;
        lead.batch = options.batch.empty() ? r.batch : options.batch;
        lead.earlier_id = r.earlier_id;
        if (r.id.empty()) {
            issue(where, "no lead id (" + file.id_field + "); fill it in or delete the row");
        } else if (const auto [it, fresh] = first_row.emplace(r.id, r.row); !fresh) {
            issue("rows " + std::to_string(it->second) + " and " + std::to_string(r.row),
                  "both have " + file.id_field + " " + r.id + "; a lead id must be unique in the file (sub-parcels end in _1, _2, …)");
        }
        const auto date = [&](const std::string& text, const char* what, std::string& out) {
            if (text.empty()) return;
            const auto parsed = parse_ledger_date(text);
            if (!parsed)
                issue(where, std::string("bad date '") + text + "' (" + what + "); write YYYY-MM-DD, e.g. 2023-07-15");
            else
                out = *parsed;
        };
        date(r.delivered, "下发日期", lead.delivered);
        date(r.qsx, "前时相", lead.qsx);
        date(r.hsx, "后时相", lead.hsx);
        if (!r.area.empty()) {
            lead.area_mu = parse_number(r.area);
            if (!lead.area_mu || *lead.area_mu < 0) issue(where, "bad area '" + r.area + "' (监测面积, 亩); write a number ≥ 0");
        }
        if (r.geometry) {
            const auto type = wkbFlatten(r.geometry->getGeometryType());
            if (type == wkbPoint) {
                const auto* p = r.geometry->toPoint();
                lead.point = std::make_pair(p->getX(), p->getY());
            } else if (type == wkbPolygon || type == wkbMultiPolygon || type == wkbCurvePolygon || type == wkbMultiSurface) {
                lead.geometry = std::move(r.geometry);
            } else {
                issue(where, std::string("geometry is a ") + OGRGeometryTypeToName(type) + ", not a polygon or a point");
            }
        } else if (!r.x.empty() || !r.y.empty()) {
            const auto x = parse_number(r.x), y = parse_number(r.y);
            if (!x || !y) {
                issue(where, "coordinates x '" + r.x + "', y '" + r.y + "' are not two numbers");
            } else {
                lead.point = std::make_pair(*x, *y);
                lead.degrees = std::abs(*x) <= 180.0 && std::abs(*y) <= 90.0;
            }
        } else {
            issue(where, "no geometry and no coordinates (x: " + join(ledger.lead_fields.x, ", ") + "; y: " +
                             join(ledger.lead_fields.y, ", ") + "); give the lead's outline or its point");
        }
        leads.push_back(std::move(lead));
    }
    if (!summary.issues.empty()) {
        summary.bad_input = true;
        return summary;
    }

    // ---- the ledger ----
    std::unique_ptr<LedgerStore> store;
    if (file.srs && file.srs->IsProjected()) {
        store = LedgerStore::open(ledger.path, LedgerStore::Mode::UpdateOrCreate, file.srs.get());
    } else {
        std::unique_ptr<OGRSpatialReference> zone;
        for (const auto& lead : leads)
            if (lead.degrees) {
                zone = default_area_crs(lead.point->first, lead.point->second);
                break;
            }
        if (!zone && file.srs && !leads.empty()) {
            // A geographic file: the GK/UTM zone of its first lead.
            Placed probe = place_lead(leads.front(), file.srs.get(), *file.srs);
            OGRPoint centre;
            probe.outline->Centroid(&centre);
            zone = default_area_crs(centre.getX(), centre.getY());
        }
        if (zone) {
            store = LedgerStore::open(ledger.path, LedgerStore::Mode::UpdateOrCreate, zone.get());
        } else {
            try {
                store = LedgerStore::open(ledger.path, LedgerStore::Mode::Update);
            } catch (const InputError& e) {
                throw InputError(std::string(e.what()) +
                                 " (leads: the file's x/y are in the ledger's CRS, so the ledger must exist: feed a run "
                                 "first, or give longitude/latitude)");
            }
        }
    }
    const auto ledger_srs = clone_traditional(store->srs());
    auto transaction = store->begin();
    std::vector<LedgerCase> cases = store->load_cases();
    std::map<std::string, std::size_t> by_id;
    for (std::size_t i = 0; i < cases.size(); ++i) by_id[cases[i].case_id] = i;
    CaseOutlines known = case_outlines_of(cases);
    const auto& case_outlines = known.outlines;
    const auto& case_areas = known.areas;

    const std::string recorded_at = now_utc();
    const std::string today = today_date();
    const std::string who = options.who.empty() ? std::string("unknown") : options.who;
    std::vector<bool> touched(cases.size(), false);
    std::vector<LedgerCase> fresh;
    std::vector<HistoryEntry> entries;
    for (const Lead& lead : leads) {
        const std::string where = "row " + std::to_string(lead.row);
        const std::string source = "import-leads " + (options.source.empty() ? summary.file : options.source) + " " + where;
        Placed placed = place_lead(lead, file.srs.get(), *ledger_srs);
        // The history date: delivery, else the HSX, else today (a later field result must not
        // be dated before it).
        const std::string lead_at = !lead.delivered.empty() ? lead.delivered : !lead.hsx.empty() ? lead.hsx : today;
        LedgerCase c;
        c.case_id = lead.id;
        c.source = kSourceDelivered;
        c.lead_id = lead.id;
        c.batch = lead.batch;
        c.delivered_at = lead.delivered;
        c.qsx = lead.qsx;
        c.hsx = lead.hsx;
        c.year = !lead.hsx.empty() ? std::stoi(lead.hsx.substr(0, 4)) : !lead.delivered.empty() ? std::stoi(lead.delivered.substr(0, 4)) : 0;
        c.seq = 0;
        c.county_code = !options.county_code.empty() ? options.county_code
                        : (lead.id.size() >= 6 && all_digits(lead.id.substr(0, 6))) ? lead.id.substr(0, 6)
                                                                                  : std::string();
        c.area_m2 = round2(placed.area_m2);
        c.area_centimu = lead.area_mu && !lead.geometry ? std::llround(*lead.area_mu * 100.0) : to_centimu(placed.area_m2);
        c.unsurveyed_centimu = c.area_centimu;  // no overlay figures yet: the whole area is unassessed
        c.centroid_x = placed.centroid_x;
        c.centroid_y = placed.centroid_y;
        c.earlier_id = lead.earlier_id;
        c.updated_at = recorded_at;
        c.geometry = share_geometry(placed.outline.release());

        if (const auto existing = by_id.find(lead.id); existing != by_id.end()) {
            const LedgerCase& e = cases[existing->second];
            std::vector<std::string> differ;
            const auto compare = [&](const char* what, const std::string& stored, const std::string& given) {
                if (stored != given)
                    differ.push_back(std::string(what) + " " + (stored.empty() ? "（空）" : stored) + " → " + (given.empty() ? "（空）" : given));
            };
            if (e.source != kSourceDelivered) differ.push_back("source " + (e.source.empty() ? std::string(kSourceSelfFound) : e.source));
            compare("批次", e.batch, c.batch);
            compare("下发日期", e.delivered_at, c.delivered_at);
            compare("前时相", e.qsx, c.qsx);
            compare("后时相", e.hsx, c.hsx);
            if (!lead.earlier_id.empty()) compare("往期图斑编号", e.earlier_id, lead.earlier_id);
            if (e.area_centimu != c.area_centimu) compare("面积", format_area(e.area_centimu), format_area(c.area_centimu));
            const double area_e = e.geometry ? surface_area(*usable_geometry(*e.geometry)) : 0.0;
            const double area_c = surface_area(*c.geometry);
            const bool same_place = e.geometry && area_e > 0 && area_c > 0 &&
                                    [&] {
                                        LedgerConfig iou = ledger;
                                        iou.match_rule = "iou";
                                        return match_ratio(iou, *usable_geometry(*e.geometry), area_e, *c.geometry, area_c) >= 0.999;
                                    }();
            if (!same_place) differ.push_back("outline");
            if (differ.empty()) {
                ++summary.unchanged;
            } else {
                ++summary.refused;
                issue(where, "lead " + lead.id + " is already in the ledger with another " + join(differ, "; ") +
                                 "; it is not overwritten (correct the file, or split/merge the case in the ledger)");
            }
            continue;
        }

        if (options.township_of) {
            const auto [name, code] = options.township_of(*c.geometry, *ledger_srs);
            c.township_name = name.empty() && code.empty() ? std::string(kUnassignedTownship) : name;
            c.township_code = code;
        }
        // The open self-found case at this place, best ratio first.
        const double area = surface_area(*c.geometry);
        std::size_t self = cases.size();
        double best = -1.0;
        for (std::size_t k = 0; k < cases.size(); ++k) {
            const LedgerCase& e = cases[k];
            if (!case_outlines[k] || !e.open() || is_lead_case(e)) continue;
            const double ratio = match_ratio(ledger, *c.geometry, area, *case_outlines[k], case_areas[k]);
            if (ratio > 0.0 && ratio >= ledger.match_threshold && ratio > best) {
                best = ratio;
                self = k;
            }
        }
        std::string what = "下发线索" + std::string(c.batch.empty() ? "" : "（" + c.batch + "）") + "：面积 " +
                           format_area(c.area_centimu);
        if (self < cases.size()) {
            LedgerCase& s = cases[self];
            c.linked_case = s.case_id;
            c.detected_run = s.first_seen_run;
            if (!options.township_of) {  // no township layer: the linked case's township
                c.township_name = s.township_name;
                c.township_code = s.township_code;
            }
            what += "；与自主发现图斑 " + s.case_id + " 关联";
            if (s.lead_id.empty()) {
                s.lead_id = lead.id;
                s.linked_case = lead.id;
                s.updated_at = recorded_at;
                touched[self] = true;
                entries.push_back({-1, s.case_id, lead_at, recorded_at, who, s.status,
                                   s.status, "与下发线索 " + lead.id + " 关联", source});
            }
            ++summary.linked;
        }
        if (c.earlier_id.empty()) {
            // Cross-period: the case at this place that is closed or of an earlier year/epoch.
            best = -1.0;
            for (std::size_t k = 0; k < cases.size(); ++k) {
                const LedgerCase& e = cases[k];
                if (!case_outlines[k] || k == self) continue;
                const bool earlier = !e.open() || (c.year > 0 && e.year > 0 && e.year < c.year) ||
                                     (!c.hsx.empty() && !e.hsx.empty() && e.hsx < c.hsx);
                if (!earlier) continue;
                const double ratio = match_ratio(ledger, *c.geometry, area, *case_outlines[k], case_areas[k]);
                if (ratio > 0.0 && ratio >= ledger.match_threshold && ratio > best) {
                    best = ratio;
                    c.earlier_id = e.case_id;
                }
            }
        }
        if (!c.earlier_id.empty()) {
            what += "；往期图斑 " + c.earlier_id;
            ++summary.earlier;
        }
        entries.push_back({-1, c.case_id, lead_at, recorded_at, who, std::nullopt,
                           CaseStatus::ToVerify, what, source});
        summary.new_case_ids.push_back(c.case_id);
        fresh.push_back(std::move(c));
        ++summary.imported;
    }

    const std::size_t planned = fresh.size() + static_cast<std::size_t>(std::count(touched.begin(), touched.end(), true)) + entries.size();
    std::size_t writes = 0;
    const auto wrote = [&] {
        if (++writes == planned / 2 + 1) pause_in_transaction_for_tests("import-leads");
    };
    for (auto& c : fresh) {
        store->insert_case(c);
        wrote();
    }
    for (std::size_t i = 0; i < cases.size(); ++i)
        if (touched[i]) {
            store->update_case(cases[i]);
            wrote();
        }
    for (const auto& entry : entries) {
        store->append_history(entry);
        wrote();
    }
    transaction.commit();
    spdlog::debug("ledger import-leads: {} rows, {} imported", summary.rows, summary.imported);
    return summary;
}

// ---- listing ----------------------------------------------------------------------------------

const char* lead_status_label(LeadStatus status) {
    switch (status) {
        case LeadStatus::Matched: return "已匹配";
        case LeadStatus::Missed: return "漏检";
        case LeadStatus::NotCovered: return "未覆盖";
    }
    return "";
}

LeadListing list_leads(const std::string& ledger) {
    auto store = LedgerStore::open(ledger, LedgerStore::Mode::Read);
    const auto cases = store->load_cases(false);
    const auto runs = store->load_runs();
    LeadListing listing;
    listing.ledger = store->redacted_location();
    for (const auto& c : cases) {
        if (superseded(c.status)) continue;  // split (its pieces are listed) or merged
        if (!is_lead_case(c)) {
            if (c.lead_id.empty()) ++listing.self_found;
            continue;
        }
        LeadLine line;
        line.lead_id = c.lead_id.empty() ? c.case_id : c.lead_id;
        line.batch = c.batch;
        line.township = township_label(c.township_name, c.township_code);
        line.area_centimu = c.area_centimu;
        line.earlier_id = c.earlier_id;
        line.case_status = status_label(c.status);
        if (!c.detected_run.empty() || !c.linked_case.empty()) {
            line.status = LeadStatus::Matched;
            line.matched_case = c.linked_case.empty() ? c.case_id : c.linked_case;
        } else {
            const bool covered = std::any_of(runs.begin(), runs.end(), [&](const RunRecord& run) {
                if (!c.county_code.empty() && run.county_code != c.county_code) return false;
                if (c.hsx.empty()) return c.delivered_at.empty() || run.fed_at.substr(0, 10) >= c.delivered_at;
                return run.hsx >= c.hsx && (run.qsx.empty() || c.qsx.empty() || run.qsx < c.hsx);
            });
            line.status = covered ? LeadStatus::Missed : LeadStatus::NotCovered;
        }
        ++listing.delivered;
        if (line.status == LeadStatus::Matched) ++listing.matched;
        if (line.status == LeadStatus::Missed) ++listing.missed;
        if (line.status == LeadStatus::NotCovered) ++listing.not_covered;
        listing.leads.push_back(std::move(line));
    }
    std::sort(listing.leads.begin(), listing.leads.end(),
              [](const LeadLine& a, const LeadLine& b) { return std::tie(a.batch, a.lead_id) < std::tie(b.batch, b.lead_id); });
    return listing;
}

std::string LeadListing::text(bool missed_only) const {
    std::ostringstream out;
    out << "线索编号\t批次\t乡镇\t面积(亩)\t状态\t案件\t往期图斑编号\n";
    for (const auto& l : leads) {
        if (missed_only && l.status != LeadStatus::Missed) continue;
        out << l.lead_id << "\t" << (l.batch.empty() ? "-" : l.batch) << "\t" << l.township << "\t" << format_mu(l.area_centimu)
            << "\t" << lead_status_label(l.status) << "\t" << (l.matched_case.empty() ? "-" : l.matched_case) << "\t"
            << (l.earlier_id.empty() ? "-" : l.earlier_id) << "\n";
    }
    out << "合计：下发线索 " << delivered << "，已匹配 " << matched << "，漏检 " << missed << "，未覆盖 " << not_covered
        << "；自主发现（未关联线索） " << self_found << "\n";
    return out.str();
}

}  // namespace weipian
