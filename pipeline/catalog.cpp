#include "pipeline/catalog.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <regex>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_error.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>

#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/dates.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/location.hpp"
#include "pipeline/detect.hpp"  // file_sha256

namespace weipian {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kImagery = "weipian_imagery";
constexpr const char* kSkipped = "weipian_imagery_skipped";
constexpr const char* kNights = "weipian_nights";
constexpr const char* kMeta = "weipian_catalog_meta";

struct Column {
    const char* name;
    OGRFieldType type;
    bool unique = false;
};

// The schema, declared once: creation and binding read these lists.
const std::vector<Column>& imagery_columns() {
    static const std::vector<Column> columns = {
        {"path", OFTString, true}, {"size", OFTInteger64},   {"mtime", OFTInteger64},     {"digest", OFTString},
        {"date", OFTString},       {"date_source", OFTString}, {"sensor", OFTString},     {"bands", OFTInteger},
        {"crs", OFTString},        {"pixel_size", OFTReal},  {"base", OFTInteger},        {"registered_at", OFTString},
        {"night", OFTInteger64},
    };
    return columns;
}
const std::vector<Column>& skipped_columns() {
    static const std::vector<Column> columns = {
        {"path", OFTString, true}, {"size", OFTInteger64}, {"mtime", OFTInteger64},
        {"kind", OFTString},       {"message", OFTString}, {"first_seen", OFTString},
    };
    return columns;
}
const std::vector<Column>& night_columns() {
    static const std::vector<Column> columns = {
        {"night", OFTString},       {"folder", OFTString}, {"status", OFTString}, {"started_at", OFTString},
        {"finished_at", OFTString}, {"tiles", OFTString},  {"summary", OFTString},
    };
    return columns;
}
const std::vector<Column>& meta_columns() {
    static const std::vector<Column> columns = {{"county_code", OFTString}, {"county_name", OFTString}, {"version", OFTString}};
    return columns;
}

OGRLayer* find_layer(GDALDataset& dataset, const char* name) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    OGRLayer* layer = dataset.GetLayerByName(name);
    CPLPopErrorHandler();
    CPLErrorReset();
    return layer;
}

const OGRSpatialReference& cgcs2000_lonlat() {
    static const OGRSpatialReference srs = [] {
        OGRSpatialReference s;
        s.importFromEPSG(4490);
        s.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        return s;
    }();
    return srs;
}

// Creates whichever of the catalog's tables are missing. Throws InputError (without the location).
void create_missing_tables(GDALDataset& dataset) {
    const char* spatial_options[] = {"GEOMETRY_NAME=geom", "FID=fid", nullptr};
    const char* table_options[] = {"FID=fid", nullptr};
    const auto make = [&](const char* name, const std::vector<Column>& columns, bool spatial) {
        if (find_layer(dataset, name)) return;
        OGRSpatialReference srs(cgcs2000_lonlat());
        CPLErrorReset();
        OGRLayer* layer = spatial ? dataset.CreateLayer(name, &srs, wkbPolygon, const_cast<char**>(spatial_options))
                                  : dataset.CreateLayer(name, nullptr, wkbNone, const_cast<char**>(table_options));
        if (!layer) throw InputError(std::string("cannot create table '") + name + "' (" + last_gdal_error() + ")");
        for (const auto& column : columns) {
            OGRFieldDefn field(column.name, column.type);
            if (column.unique) {
                field.SetUnique(TRUE);
                field.SetNullable(FALSE);
            }
            if (layer->CreateField(&field) != OGRERR_NONE)
                throw InputError(std::string("cannot create column '") + column.name + "' of table '" + name + "' (" +
                                 last_gdal_error() + ")");
        }
    };
    make(kImagery, imagery_columns(), true);
    make(kSkipped, skipped_columns(), false);
    make(kNights, night_columns(), false);
    make(kMeta, meta_columns(), false);
}

void set_text(OGRFeature& f, const char* name, const std::string& value) {
    if (value.empty())
        f.SetFieldNull(f.GetFieldIndex(name));
    else
        f.SetField(name, value.c_str());
}

std::string get_text(const OGRFeature& f, const char* name) {
    const int i = f.GetFieldIndex(name);
    return i >= 0 && f.IsFieldSetAndNotNull(i) ? std::string(f.GetFieldAsString(i)) : std::string();
}

// One transaction on a dataset; rolled back unless committed.
class Transaction {
public:
    Transaction(GDALDataset& dataset, const std::string& where) : dataset_(dataset), where_(where) {
        CPLErrorReset();
        if (dataset_.StartTransaction(FALSE) != OGRERR_NONE)
            throw InputError(where_ + ": cannot start a transaction (" + last_gdal_error() + "); another process may hold it, run again");
    }
    ~Transaction() {
        if (!active_) return;
        CPLPushErrorHandler(CPLQuietErrorHandler);
        dataset_.RollbackTransaction();
        CPLPopErrorHandler();
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
        active_ = false;
        CPLErrorReset();
        if (dataset_.CommitTransaction() != OGRERR_NONE) {
            CPLPushErrorHandler(CPLQuietErrorHandler);
            dataset_.RollbackTransaction();
            CPLPopErrorHandler();
            throw InputError(where_ + ": cannot commit (" + last_gdal_error() + "); nothing was changed, run again");
        }
    }

private:
    GDALDataset& dataset_;
    std::string where_;
    bool active_ = true;
};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return text;
}

// A date written in metadata ("2023-09-18", "2023-09-18T03:12:45.5Z", "2023:09:18 10:00:00",
// "2023/9/18") as YYYY-MM-DD; empty when it is none.
std::string metadata_date(const char* value) {
    if (!value) return {};
    std::string text = value;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(text.begin());
    if (text.size() < 8) return {};  // not a bare number read as an Excel day
    static const std::regex tiff_style("^([0-9]{4}):([0-9]{2}):([0-9]{2})");
    std::smatch m;
    if (std::regex_search(text, m, tiff_style)) {
        const std::string iso = m[1].str() + "-" + m[2].str() + "-" + m[3].str();
        return is_iso_date(iso) ? iso : std::string();
    }
    const auto parsed = parse_ledger_date(text);
    return parsed ? *parsed : std::string();
}

// The first capture group of the first pattern that yields a real date, as YYYY-MM-DD.
std::string name_date(const std::string& name, const std::vector<std::string>& patterns) {
    for (const auto& pattern : patterns) {
        std::regex re;
        try {
            re = std::regex(pattern, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
            continue;  // refused when the config was loaded; a config built in code may hold one
        }
        for (auto it = std::sregex_iterator(name.begin(), name.end(), re); it != std::sregex_iterator(); ++it) {
            if (it->size() < 2 || !(*it)[1].matched) continue;
            std::string text = (*it)[1].str();
            if (text.size() == 8 && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }))
                text = text.substr(0, 4) + "-" + text.substr(4, 2) + "-" + text.substr(6, 2);
            if (is_iso_date(text)) return text;
        }
    }
    return {};
}

std::string dataset_date(GDALDataset* dataset, const fs::path& path, const NightlyConfig& nightly, std::string* source) {
    const auto found = [&](const std::string& date, const char* from) {
        if (source) *source = from;
        return date;
    };
    if (dataset) {
        if (auto d = metadata_date(dataset->GetMetadataItem("ACQUISITIONDATETIME", "IMAGERY")); !d.empty())
            return found(d, "metadata IMAGERY/ACQUISITIONDATETIME");
        if (auto d = metadata_date(dataset->GetMetadataItem("ACQUISITION_DATE")); !d.empty()) return found(d, "metadata ACQUISITION_DATE");
        if (auto d = metadata_date(dataset->GetMetadataItem("DATE_ACQUIRED")); !d.empty()) return found(d, "metadata DATE_ACQUIRED");
        if (auto d = metadata_date(dataset->GetMetadataItem("TIFFTAG_DATETIME")); !d.empty()) return found(d, "metadata TIFFTAG_DATETIME");
    }
    if (auto d = name_date(path.filename().string(), nightly.date_patterns); !d.empty()) return found(d, "file name");
    if (source) source->clear();
    return {};
}

// GF2, GF1, ZY3, BJ2, JL1, SV1, TH1 … at the start of a file name; empty when none.
std::string sensor_from_name(const std::string& name) {
    static const std::regex prefix("^(GF|ZY|BJ|JL|SV|TH|HJ|CB|GJ)-?([0-9]{1,2}[A-D]?)(?=[_.\\-])", std::regex::icase);
    std::smatch m;
    if (!std::regex_search(name, m, prefix)) return {};
    std::string out = m[1].str() + m[2].str();
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    return out;
}

std::string sensor_of(GDALDataset& dataset, const fs::path& path) {
    for (const auto& [key, domain] : {std::pair<const char*, const char*>{"SATELLITEID", "IMAGERY"}, {"SENSOR", ""}, {"SATELLITE", ""}}) {
        const char* value = dataset.GetMetadataItem(key, domain);
        if (value && *value) return value;
    }
    return sensor_from_name(path.filename().string());
}

std::string crs_label(const OGRSpatialReference& srs) {
    const char* authority = srs.GetAuthorityName(nullptr);
    const char* code = srs.GetAuthorityCode(nullptr);
    if (authority && code) return std::string(authority) + ":" + code;
    OGRSpatialReference copy(srs);
    if (copy.AutoIdentifyEPSG() == OGRERR_NONE) {
        authority = copy.GetAuthorityName(nullptr);
        code = copy.GetAuthorityCode(nullptr);
        if (authority && code) return std::string(authority) + ":" + code;
    }
    const char* name = srs.GetName();
    return name ? name : "unnamed CRS";
}

// A file's size and modification time (seconds); false when it cannot be stat'ed.
bool stat_file(const std::string& path, std::int64_t& size, std::int64_t& mtime) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    size = static_cast<std::int64_t>(st.st_size);
    mtime = static_cast<std::int64_t>(st.st_mtime);
    return true;
}

struct Known {
    std::int64_t fid = 0, size = -1, mtime = -1;
};
using KnownMap = std::unordered_map<std::string, Known>;

// path → (fid, size, mtime) of a table, one pass over three columns.
KnownMap load_known(OGRLayer& layer) {
    KnownMap out;
    std::vector<std::string> ignored_names;
    const OGRFeatureDefn* defn = layer.GetLayerDefn();
    for (int i = 0; i < defn->GetFieldCount(); ++i) {
        const std::string name = defn->GetFieldDefn(i)->GetNameRef();
        if (name != "path" && name != "size" && name != "mtime") ignored_names.push_back(name);
    }
    ignored_names.emplace_back("OGR_GEOMETRY");
    std::vector<const char*> ignored;
    for (const auto& n : ignored_names) ignored.push_back(n.c_str());
    ignored.push_back(nullptr);
    layer.SetAttributeFilter(nullptr);
    layer.SetSpatialFilter(nullptr);
    layer.SetIgnoredFields(ignored.data());
    layer.ResetReading();
    const int path_i = defn->GetFieldIndex("path"), size_i = defn->GetFieldIndex("size"), mtime_i = defn->GetFieldIndex("mtime");
    out.reserve(static_cast<std::size_t>(std::max<GIntBig>(0, layer.GetFeatureCount(FALSE))) + 16);
    for (OGRFeatureUniquePtr f(layer.GetNextFeature()); f; f.reset(layer.GetNextFeature()))
        out[f->GetFieldAsString(path_i)] = Known{f->GetFID(), f->GetFieldAsInteger64(size_i), f->GetFieldAsInteger64(mtime_i)};
    layer.SetIgnoredFields(nullptr);
    return out;
}

CatalogTile tile_of(OGRFeature& f) {
    CatalogTile t;
    t.id = f.GetFID();
    t.path = get_text(f, "path");
    t.size = f.GetFieldAsInteger64("size");
    t.mtime = f.GetFieldAsInteger64("mtime");
    t.digest = get_text(f, "digest");
    t.date = get_text(f, "date");
    t.date_source = get_text(f, "date_source");
    t.sensor = get_text(f, "sensor");
    t.bands = f.GetFieldAsInteger("bands");
    t.crs = get_text(f, "crs");
    t.pixel_size = f.GetFieldAsDouble("pixel_size");
    t.base = f.GetFieldAsInteger("base") != 0;
    t.registered_at = get_text(f, "registered_at");
    t.night = f.GetFieldAsInteger64("night");
    if (f.GetGeometryRef()) {
        OGRGeometry* g = f.StealGeometry();
        g->assignSpatialReference(nullptr);
        t.footprint = std::shared_ptr<const OGRGeometry>(g);
    }
    return t;
}

void fill_tile(OGRFeature& f, const CatalogTile& t) {
    set_text(f, "path", t.path);
    f.SetField("size", static_cast<GIntBig>(t.size));
    f.SetField("mtime", static_cast<GIntBig>(t.mtime));
    set_text(f, "digest", t.digest);
    set_text(f, "date", t.date);
    set_text(f, "date_source", t.date_source);
    set_text(f, "sensor", t.sensor);
    f.SetField("bands", t.bands);
    set_text(f, "crs", t.crs);
    f.SetField("pixel_size", t.pixel_size);
    f.SetField("base", t.base ? 1 : 0);
    set_text(f, "registered_at", t.registered_at);
    f.SetField("night", static_cast<GIntBig>(t.night));
    if (t.footprint) {
        OGRGeometry* g = t.footprint->clone();
        g->assignSpatialReference(nullptr);
        f.SetGeometryDirectly(g);
    }
}

bool by_date_then_path(const CatalogTile& a, const CatalogTile& b) {
    return std::tie(a.date, a.path) < std::tie(b.date, b.path);
}

NightRecord night_of(const OGRFeature& f) {
    NightRecord n;
    n.id = f.GetFID();
    n.night = get_text(f, "night");
    n.folder = get_text(f, "folder");
    n.status = get_text(f, "status");
    n.started_at = get_text(f, "started_at");
    n.finished_at = get_text(f, "finished_at");
    const json tiles = json::parse(get_text(f, "tiles"), nullptr, false);
    if (tiles.is_array())
        for (const auto& t : tiles)
            if (t.is_number_integer()) n.tiles.push_back(t.get<std::int64_t>());
    const std::string summary = get_text(f, "summary");
    n.summary = summary.empty() ? json::object() : json::parse(summary, nullptr, false);
    if (n.summary.is_discarded()) n.summary = summary;
    return n;
}

// A file the scan has to look at (new, or changed since it was registered or skipped).
struct Candidate {
    std::string path;
    std::int64_t size = 0, mtime = 0;
    std::int64_t registered_fid = 0;  // > 0: registered before with another size/mtime
    std::int64_t skipped_fid = 0;     // > 0: skipped before with another size/mtime
};

// Stops GDAL from printing while a candidate is examined (our own message says what failed).
struct QuietGdal {
    QuietGdal() { CPLPushErrorHandler(CPLQuietErrorHandler); }
    ~QuietGdal() { CPLPopErrorHandler(); }
};

}  // namespace

const char* issue_kind_name(CatalogIssue::Kind kind) {
    switch (kind) {
        case CatalogIssue::Kind::Corrupt: return "corrupt";
        case CatalogIssue::Kind::Undatable: return "undatable";
        case CatalogIssue::Kind::UnknownCrs: return "unknown_crs";
        case CatalogIssue::Kind::Duplicate: return "duplicate";
        case CatalogIssue::Kind::Unreadable: return "unreadable";
        case CatalogIssue::Kind::Changed: return "changed";
    }
    return "corrupt";
}

namespace {
CatalogIssue::Kind issue_kind_of(const std::string& name) {
    for (auto kind : {CatalogIssue::Kind::Corrupt, CatalogIssue::Kind::Undatable, CatalogIssue::Kind::UnknownCrs,
                      CatalogIssue::Kind::Duplicate, CatalogIssue::Kind::Unreadable, CatalogIssue::Kind::Changed})
        if (name == issue_kind_name(kind)) return kind;
    return CatalogIssue::Kind::Corrupt;
}
}  // namespace

struct ImageryCatalog::Impl {
    std::string location;
    std::string where;  // "catalog '<location, password redacted>'"
    CountyConfig county;

    // The catalog's database opened for update; throws InputError naming it.
    GDALDatasetUniquePtr connect() const {
        auto dataset = open_vector_database(location, true);
        if (!dataset)
            throw InputError(where + " cannot be opened (" + last_gdal_error() + "); " +
                             (is_postgres_ledger(location) ? "check nightly.catalog's connection string and that the server runs"
                                                           : "check that it is a GeoPackage file and writable, or set nightly.catalog to a new path"));
        // Another weipian process (a ledger command on the same GeoPackage) may be writing: wait
        // for its transaction rather than fail with "database is locked".
        if (!is_postgres_ledger(location)) execute_sql(*dataset, "PRAGMA busy_timeout = 30000");
        return dataset;
    }
    OGRLayer& layer(GDALDataset& dataset, const char* name) const {
        OGRLayer* found = find_layer(dataset, name);
        if (!found) throw InputError(where + " has no table '" + std::string(name) + "' any more; it was changed outside weipian, restore it from a backup");
        return *found;
    }
    [[noreturn]] void fail(const std::string& what) const { throw InputError(where + ": " + what + " (" + last_gdal_error() + ")"); }

    ScanResult register_files(const std::vector<std::string>& files, const NightlyConfig& nightly, bool base, const std::string& head);
    // Opens and checks one candidate; a tile to register (id 0) or an issue.
    std::variant<CatalogTile, CatalogIssue> examine(const Candidate& c, const NightlyConfig& nightly, bool base, const std::string& head,
                                                    const std::unordered_map<std::string, std::string>& digests,
                                                    GDALDataset& dataset) const;
};

ImageryCatalog::ImageryCatalog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ImageryCatalog::ImageryCatalog(ImageryCatalog&&) noexcept = default;
ImageryCatalog& ImageryCatalog::operator=(ImageryCatalog&&) noexcept = default;
ImageryCatalog::~ImageryCatalog() = default;

const std::string& ImageryCatalog::location() const { return impl_->location; }

ImageryCatalog ImageryCatalog::open(const std::string& location, const CountyConfig& county) {
    ensure_gdal_registered();
    if (location.empty()) throw ConfigError("catalog: no location given; set nightly.catalog (or ledger.path, or output.dir) in the config");
    auto impl = std::make_unique<Impl>();
    impl->location = location;
    impl->where = "catalog '" + redact_ledger_location(location) + "'";
    impl->county = county;
    const std::string& where = impl->where;
    const bool postgres = is_postgres_ledger(location);

    if (!postgres && !fs::exists(location)) {
        // A new GeoPackage is built under a temporary name and renamed into place.
        AtomicFile file(location, "catalog");
        auto* driver = GetGDALDriverManager()->GetDriverByName("GPKG");
        if (!driver) throw InternalError("catalog: this GDAL build has no GPKG driver");
        {
            CPLErrorReset();
            GDALDatasetUniquePtr dataset(driver->Create(file.path().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
            if (!dataset) throw InputError(where + ": cannot create its GeoPackage file (" + last_gdal_error() + "); check that its folder is writable, or set nightly.catalog");
            try {
                create_missing_tables(*dataset);
            } catch (const InputError& e) {
                throw InputError(where + ": " + e.what());
            }
        }
        file.commit_unless_exists();  // false: another process created it first, and that one is used
    }

    auto dataset = impl->connect();
    const bool complete = find_layer(*dataset, kImagery) && find_layer(*dataset, kSkipped) && find_layer(*dataset, kNights) &&
                          find_layer(*dataset, kMeta);
    if (!complete) {
        if (postgres && !sql_has_rows(*dataset, "SELECT 1 FROM pg_extension WHERE extname = 'postgis'")) {
            // The driver decides at open whether PostGIS is there, so add it first, then reopen.
            if (!execute_sql(*dataset, "CREATE EXTENSION IF NOT EXISTS postgis"))
                throw InputError(where + ": the database has no PostGIS and it cannot be added (" + last_gdal_error() +
                                 "); run CREATE EXTENSION postgis as a superuser");
            dataset = impl->connect();
        }
        Transaction tx(*dataset, where);
        try {
            create_missing_tables(*dataset);
        } catch (const InputError& e) {
            throw InputError(where + ": " + e.what());
        }
        tx.commit();
        if (postgres) dataset = impl->connect();
    }

    OGRLayer& meta = impl->layer(*dataset, kMeta);
    meta.ResetReading();
    OGRFeatureUniquePtr row(meta.GetNextFeature());
    if (!row) {
        Transaction tx(*dataset, where);
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(meta.GetLayerDefn()));
        set_text(*f, "county_code", county.code);
        set_text(*f, "county_name", county.name);
        set_text(*f, "version", WEIPIAN_VERSION);
        CPLErrorReset();
        if (meta.CreateFeature(f.get()) != OGRERR_NONE) impl->fail("cannot record the county in table weipian_catalog_meta");
        tx.commit();
    } else {
        const std::string code = get_text(*row, "county_code"), name = get_text(*row, "county_name");
        if (code != county.code) {
            const auto describe = [](const std::string& n, const std::string& c) {
                return (n.empty() ? std::string("(no name)") : n) + " (" + (c.empty() ? std::string("no code") : c) + ")";
            };
            throw InputError(where + " is the imagery catalog of county " + describe(name, code) + ", not of " +
                             describe(county.name, county.code) +
                             " in the config; set nightly.catalog to this county's own catalog (a new path starts one), or fix county.code");
        }
    }
    return ImageryCatalog(std::move(impl));
}

std::variant<CatalogTile, CatalogIssue> ImageryCatalog::Impl::examine(const Candidate& c, const NightlyConfig& nightly, bool base,
                                                                        const std::string& head,
                                                                        const std::unordered_map<std::string, std::string>& digests,
                                                                        GDALDataset& catalog) const {
    const auto issue = [&](CatalogIssue::Kind kind, const std::string& what) {
        return CatalogIssue{kind, c.path, head + ": '" + c.path + "' " + what};
    };
    if (::access(c.path.c_str(), R_OK) != 0)
        return issue(CatalogIssue::Kind::Unreadable, std::string("cannot be read (") + std::strerror(errno) +
                                                         "); make it readable by the user that runs weipian (it is tried again when it changes)");

    // A registered file that changed: the same bytes (only touched) keep their row; new bytes
    // never replace a registered tile.
    if (c.registered_fid > 0) {
        std::string digest;
        try {
            digest = file_sha256(c.path);
        } catch (const InputError&) {
            return issue(CatalogIssue::Kind::Unreadable, "cannot be read to its end; make it readable by the user that runs weipian");
        }
        OGRLayer& imagery = layer(catalog, kImagery);
        OGRFeatureUniquePtr row(imagery.GetFeature(c.registered_fid));
        if (!row) fail("cannot read tile " + std::to_string(c.registered_fid));
        CatalogTile tile = tile_of(*row);
        if (tile.digest == digest) {
            tile.size = c.size;
            tile.mtime = c.mtime;
            return tile;  // id > 0: only its size and time are updated
        }
        return issue(CatalogIssue::Kind::Changed, "changed since it was registered on " + tile.registered_at +
                                                      " (other content); a registered tile is never replaced: deliver the new image under a new file name");
    }

    QuietGdal quiet;
    CPLErrorReset();
    GDALDatasetUniquePtr ds(GDALDataset::Open(c.path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
    if (!ds || ds->GetRasterCount() == 0 || ds->GetRasterXSize() <= 0 || ds->GetRasterYSize() <= 0)
        return issue(CatalogIssue::Kind::Corrupt, "is not a raster GDAL can read (" + last_gdal_error() +
                                                      "); replace it with a complete copy (it is tried again when it changes)");
    // A truncated file opens but its last blocks are missing: read the first and last pixel of every band.
    {
        const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
        double value[2] = {0, 0};
        for (int b = 1; b <= ds->GetRasterCount(); ++b) {
            GDALRasterBand* band = ds->GetRasterBand(b);
            CPLErrorReset();
            if (band->RasterIO(GF_Read, 0, 0, 1, 1, value, 1, 1, GDT_Float64, 0, 0, nullptr) != CE_None ||
                band->RasterIO(GF_Read, w - 1, h - 1, 1, 1, value + 1, 1, 1, GDT_Float64, 0, 0, nullptr) != CE_None)
                return issue(CatalogIssue::Kind::Corrupt, "cannot be read to its end (band " + std::to_string(b) + ": " + last_gdal_error() +
                                                              "); it is truncated or damaged: replace it with a complete copy (it is tried again when it changes)");
        }
    }
    const OGRSpatialReference* srs = ds->GetSpatialRef();
    GeoTransform gt{};
    const bool has_gt = ds->GetGeoTransform(gt.data()) == CE_None;
    if (!srs || srs->IsEmpty() || !has_gt)
        return issue(CatalogIssue::Kind::UnknownCrs,
                     std::string("has an unknown CRS (") + (!has_gt ? "no georeferencing" : "no coordinate system") +
                         "); give it one, e.g. gdal_edit.py -a_srs EPSG:4546 (it is tried again when it changes)");
    CatalogTile tile;
    tile.path = c.path;
    tile.size = c.size;
    tile.mtime = c.mtime;
    tile.base = base;
    tile.bands = ds->GetRasterCount();
    tile.crs = crs_label(*srs);
    tile.pixel_size = std::hypot(gt[1], gt[4]);
    // Footprint: the raster's outline, 16 points per edge, in CGCS2000 lon/lat.
    {
        const auto source = clone_traditional(*srs);
        std::unique_ptr<OGRCoordinateTransformation> to_lonlat(OGRCreateCoordinateTransformation(source.get(), &cgcs2000_lonlat()));
        if (!to_lonlat)
            return issue(CatalogIssue::Kind::UnknownCrs, "has an unknown CRS ('" + tile.crs +
                                                             "' cannot be transformed to CGCS2000 lon/lat); reproject it, e.g. gdalwarp -t_srs EPSG:4546");
        const double w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
        constexpr int steps = 16;
        const double corners[5][2] = {{0, 0}, {w, 0}, {w, h}, {0, h}, {0, 0}};
        std::vector<double> xs, ys;
        for (int e = 0; e < 4; ++e)
            for (int s = 0; s < steps; ++s) {
                const double t = static_cast<double>(s) / steps;
                double x = 0, y = 0;
                pixel_to_geo(gt, corners[e][0] + t * (corners[e + 1][0] - corners[e][0]), corners[e][1] + t * (corners[e + 1][1] - corners[e][1]), x, y);
                xs.push_back(x);
                ys.push_back(y);
            }
        std::vector<int> ok(xs.size(), 0);
        if (!to_lonlat->Transform(xs.size(), xs.data(), ys.data(), nullptr, ok.data()) ||
            std::any_of(ok.begin(), ok.end(), [](int v) { return v == 0; }))
            return issue(CatalogIssue::Kind::UnknownCrs, "has an unknown CRS ('" + tile.crs +
                                                             "': its extent cannot be transformed to CGCS2000 lon/lat); check its georeferencing or reproject it, e.g. gdalwarp -t_srs EPSG:4546");
        auto ring = std::make_unique<OGRLinearRing>();
        for (std::size_t i = 0; i < xs.size(); ++i) ring->addPoint(xs[i], ys[i]);
        ring->closeRings();
        auto polygon = std::make_unique<OGRPolygon>();
        polygon->addRingDirectly(ring.release());
        tile.footprint = std::shared_ptr<const OGRGeometry>(polygon.release());
    }
    tile.date = dataset_date(ds.get(), c.path, nightly, &tile.date_source);
    if (tile.date.empty() && base && !nightly.base_date.empty()) {
        tile.date = nightly.base_date;
        tile.date_source = "nightly.base_date";
    }
    if (tile.date.empty())
        return issue(CatalogIssue::Kind::Undatable,
                     std::string("is undatable: no acquisition date in its metadata or file name; rename it with the date (e.g. "
                                 "GF2_PMS1_…_20230918_….tif), set nightly.date_patterns to match its name, or add the metadata "
                                 "(gdal_edit.py -mo ACQUISITION_DATE=2023-09-18)") +
                         (base ? ", or set nightly.base_date" : ""));
    tile.sensor = sensor_of(*ds, c.path);
    ds.reset();
    try {
        tile.digest = file_sha256(c.path);
    } catch (const InputError&) {
        return issue(CatalogIssue::Kind::Unreadable, "cannot be read to its end for its digest; make it readable by the user that runs weipian");
    }
    if (auto it = digests.find(tile.digest); it != digests.end() && it->second != c.path)
        return issue(CatalogIssue::Kind::Duplicate, "is a duplicate of '" + it->second +
                                                        "' (the same bytes), which is registered; it is left alone: remove the copy from the inbox");
    return tile;
}

ScanResult ImageryCatalog::Impl::register_files(const std::vector<std::string>& files, const NightlyConfig& nightly, bool base,
                                                const std::string& head) {
    ScanResult result;
    auto dataset = connect();
    OGRLayer& imagery = layer(*dataset, kImagery);
    OGRLayer& skipped = layer(*dataset, kSkipped);
    const KnownMap registered = load_known(imagery);
    const KnownMap skipped_known = load_known(skipped);

    std::vector<Candidate> candidates;
    std::unordered_set<std::string> seen;
    seen.reserve(files.size());
    for (const auto& path : files) {
        if (!seen.insert(path).second) continue;
        Candidate c;
        c.path = path;
        if (!stat_file(path, c.size, c.mtime)) continue;  // vanished (or not a file) since it was listed
        if (auto it = registered.find(path); it != registered.end()) {
            if (it->second.size == c.size && it->second.mtime == c.mtime) {
                ++result.unchanged;
                continue;
            }
            c.registered_fid = it->second.fid;
        }
        if (auto it = skipped_known.find(path); it != skipped_known.end()) {
            if (it->second.size == c.size && it->second.mtime == c.mtime) {
                ++result.unchanged;
                ++result.skipped_before;
                continue;
            }
            c.skipped_fid = it->second.fid;
        }
        candidates.push_back(std::move(c));
    }
    if (result.skipped_before > 0)
        spdlog::info("{}: {} file(s) skipped on an earlier night are still there, unchanged (tried again when they change)", head,
                     result.skipped_before);
    if (candidates.empty()) return result;
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) { return a.path < b.path; });

    // Digests of the registered tiles, for duplicates.
    std::unordered_map<std::string, std::string> digests;
    {
        const char* ignored[] = {"OGR_GEOMETRY", "date", "date_source", "sensor", "crs", "registered_at", nullptr};
        imagery.SetAttributeFilter(nullptr);
        imagery.SetIgnoredFields(ignored);
        imagery.ResetReading();
        for (OGRFeatureUniquePtr f(imagery.GetNextFeature()); f; f.reset(imagery.GetNextFeature()))
            digests.emplace(get_text(*f, "digest"), get_text(*f, "path"));
        imagery.SetIgnoredFields(nullptr);
    }

    // Written in batches: a scan killed while hashing a large delivery keeps what it registered.
    struct Outcome {
        Candidate candidate;
        std::variant<CatalogTile, CatalogIssue> what;
    };
    std::vector<Outcome> batch;
    auto last_flush = std::chrono::steady_clock::now();
    const auto flush = [&] {
        if (batch.empty()) return;
        Transaction tx(*dataset, where);
        const std::string now = now_utc();
        for (auto& outcome : batch) {
            const Candidate& c = outcome.candidate;
            if (auto* tile = std::get_if<CatalogTile>(&outcome.what)) {
                CPLErrorReset();
                if (tile->id > 0) {  // a registered tile touched: new size and time only
                    OGRFeatureUniquePtr f(imagery.GetFeature(tile->id));
                    if (!f) fail("cannot read tile " + std::to_string(tile->id));
                    f->SetField("size", static_cast<GIntBig>(tile->size));
                    f->SetField("mtime", static_cast<GIntBig>(tile->mtime));
                    if (imagery.SetFeature(f.get()) != OGRERR_NONE) fail("cannot update tile '" + tile->path + "'");
                } else {
                    tile->registered_at = now;
                    OGRFeatureUniquePtr f(OGRFeature::CreateFeature(imagery.GetLayerDefn()));
                    fill_tile(*f, *tile);
                    if (imagery.CreateFeature(f.get()) != OGRERR_NONE) fail("cannot register '" + tile->path + "'");
                    tile->id = f->GetFID();
                }
                if (c.skipped_fid > 0 && skipped.DeleteFeature(c.skipped_fid) != OGRERR_NONE)
                    fail("cannot clear the earlier skip of '" + c.path + "'");
            } else {
                const auto& issue = std::get<CatalogIssue>(outcome.what);
                OGRFeatureUniquePtr f;
                if (c.skipped_fid > 0) f.reset(skipped.GetFeature(c.skipped_fid));
                const bool update = f != nullptr;
                if (!update) {
                    f.reset(OGRFeature::CreateFeature(skipped.GetLayerDefn()));
                    set_text(*f, "path", c.path);
                    set_text(*f, "first_seen", now);
                }
                f->SetField("size", static_cast<GIntBig>(c.size));
                f->SetField("mtime", static_cast<GIntBig>(c.mtime));
                set_text(*f, "kind", issue_kind_name(issue.kind));
                set_text(*f, "message", issue.message);
                CPLErrorReset();
                if ((update ? skipped.SetFeature(f.get()) : skipped.CreateFeature(f.get())) != OGRERR_NONE)
                    fail("cannot record the skipped file '" + c.path + "'");
            }
        }
        tx.commit();
        for (auto& outcome : batch) {
            if (auto* tile = std::get_if<CatalogTile>(&outcome.what)) {
                if (outcome.candidate.registered_fid > 0) continue;  // only touched, not new
                spdlog::debug("{}: registered '{}' ({}, {}, {} band(s))", head, tile->path, tile->date, tile->sensor, tile->bands);
                result.registered.push_back(std::move(*tile));
            } else {
                result.issues.push_back(std::move(std::get<CatalogIssue>(outcome.what)));
            }
        }
        batch.clear();
        last_flush = std::chrono::steady_clock::now();
    };
    for (const auto& c : candidates) {
        auto what = examine(c, nightly, base, head, digests, *dataset);
        // A file still being copied into the inbox: neither registered nor remembered as skipped,
        // so the next run looks at it again.
        std::int64_t size_after = -1, mtime_after = -1;
        if (!stat_file(c.path, size_after, mtime_after) || size_after != c.size || mtime_after != c.mtime) {
            spdlog::warn("{}: '{}' changed while it was being read (a copy still in progress?); it is tried again on the next run", head, c.path);
            result.issues.push_back(CatalogIssue{CatalogIssue::Kind::Unreadable, c.path,
                                                 head + ": '" + c.path + "' changed while it was being read (a copy still in progress?); it is tried again on the next run"});
            continue;
        }
        if (auto* tile = std::get_if<CatalogTile>(&what)) {
            digests.emplace(tile->digest, tile->path);
        } else {
            spdlog::warn("{}", std::get<CatalogIssue>(what).message);
        }
        batch.push_back(Outcome{c, std::move(what)});
        if (batch.size() >= 500 || std::chrono::steady_clock::now() - last_flush > std::chrono::seconds(5)) flush();
    }
    flush();
    if (!result.registered.empty())
        spdlog::info("{}: registered {} new tile(s){}", head, result.registered.size(),
                     result.issues.empty() ? std::string() : ", skipped " + std::to_string(result.issues.size()));
    return result;
}

ScanResult ImageryCatalog::register_base(const NightlyConfig& nightly) {
    std::vector<std::string> files;
    const auto matches = [&](const fs::path& p) {
        return std::find(nightly.extensions.begin(), nightly.extensions.end(), lower(p.extension().string())) != nightly.extensions.end();
    };
    for (const auto& pattern : nightly.base) {
        std::vector<std::string> matched;
        if (pattern.find_first_of("*?[") != std::string::npos) {
            glob_t g{};
            if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
                for (std::size_t i = 0; i < g.gl_pathc; ++i) matched.emplace_back(g.gl_pathv[i]);
            globfree(&g);
            if (matched.empty())
                throw InputError("nightly.base: '" + pattern + "' matches no file; check the pattern (relative paths start at the config file's folder)");
        } else {
            std::error_code ec;
            if (fs::is_directory(pattern, ec)) {
                for (fs::recursive_directory_iterator it(pattern, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
                     it.increment(ec))
                    if (it->is_regular_file(ec) && matches(it->path())) matched.push_back(it->path().string());
            } else if (fs::exists(pattern, ec)) {
                matched.push_back(pattern);
            } else {
                throw InputError("nightly.base: '" + pattern + "' does not exist; check nightly.base (relative paths start at the config file's folder)");
            }
        }
        for (auto& m : matched) files.push_back(fs::absolute(m).lexically_normal().string());
    }
    return impl_->register_files(files, nightly, true, "nightly.base");
}

ScanResult ImageryCatalog::scan(const NightlyConfig& nightly) {
    std::vector<std::string> files;
    std::unordered_set<std::string> extensions;
    for (const auto& e : nightly.extensions) extensions.insert(lower(e));
    for (const auto& folder : nightly.inbox) {
        const fs::path root = fs::absolute(folder).lexically_normal();
        std::error_code ec;
        if (!fs::is_directory(root, ec))
            throw InputError("nightly.inbox: '" + root.string() +
                             "' is not a folder; create it or mount it, or fix nightly.inbox (relative paths start at the config file's folder)");
        const auto options = fs::directory_options::skip_permission_denied | fs::directory_options::follow_directory_symlink;
        fs::recursive_directory_iterator it(root, options, ec), end;
        if (ec) throw InputError("nightly.inbox: cannot list '" + root.string() + "' (" + ec.message() + "); make it readable by the user that runs weipian");
        for (; it != end; it.increment(ec)) {
            if (ec) break;
            const fs::path& p = it->path();
            const std::string name = p.filename().string();
            if (!name.empty() && name.front() == '.') {  // hidden: partial copies, our own temporaries
                if (it->is_directory(ec)) it.disable_recursion_pending();
                continue;
            }
            if (!extensions.count(lower(p.extension().string()))) continue;
            files.push_back(p.string());
        }
        if (ec) throw InputError("nightly.inbox: cannot list '" + root.string() + "' (" + ec.message() + "); make it readable by the user that runs weipian");
    }
    return impl_->register_files(files, nightly, false, "inbox");
}

std::vector<CatalogTile> ImageryCatalog::pending() const {
    auto dataset = impl_->connect();
    OGRLayer& imagery = impl_->layer(*dataset, kImagery);
    std::vector<CatalogTile> out;
    CPLErrorReset();
    imagery.SetAttributeFilter("base = 0 AND night = 0");
    imagery.ResetReading();
    for (OGRFeatureUniquePtr f(imagery.GetNextFeature()); f; f.reset(imagery.GetNextFeature())) out.push_back(tile_of(*f));
    imagery.SetAttributeFilter(nullptr);
    if (CPLGetLastErrorType() >= CE_Failure) impl_->fail("cannot read the tiles");
    std::sort(out.begin(), out.end(), by_date_then_path);
    return out;
}

std::vector<CatalogTile> ImageryCatalog::intersecting(const OGRGeometry& lonlat, const std::string& from, const std::string& to) const {
    for (const auto* date : {&from, &to})
        if (!date->empty() && !is_iso_date(*date)) throw InternalError("catalog: '" + *date + "' is not a date YYYY-MM-DD");
    auto dataset = impl_->connect();
    OGRLayer& imagery = impl_->layer(*dataset, kImagery);
    std::string filter;
    if (!from.empty()) filter = "\"date\" >= '" + from + "'";
    if (!to.empty()) filter += (filter.empty() ? "" : " AND ") + std::string("\"date\" <= '") + to + "'";
    CPLErrorReset();
    imagery.SetAttributeFilter(filter.empty() ? nullptr : filter.c_str());
    std::unique_ptr<OGRGeometry> area(lonlat.clone());
    area->assignSpatialReference(nullptr);
    imagery.SetSpatialFilter(area.get());  // bounding boxes (the R-tree / PostGIS index)
    imagery.ResetReading();
    std::vector<CatalogTile> out;
    for (OGRFeatureUniquePtr f(imagery.GetNextFeature()); f; f.reset(imagery.GetNextFeature())) {
        CatalogTile tile = tile_of(*f);
        if (tile.footprint && tile.footprint->Intersects(area.get())) out.push_back(std::move(tile));
    }
    imagery.SetSpatialFilter(nullptr);
    imagery.SetAttributeFilter(nullptr);
    if (CPLGetLastErrorType() >= CE_Failure) impl_->fail("cannot read the tiles");
    std::sort(out.begin(), out.end(), by_date_then_path);
    return out;
}

std::vector<CatalogTile> ImageryCatalog::tiles() const {
    auto dataset = impl_->connect();
    OGRLayer& imagery = impl_->layer(*dataset, kImagery);
    std::vector<CatalogTile> out;
    CPLErrorReset();
    imagery.SetAttributeFilter(nullptr);
    imagery.ResetReading();
    for (OGRFeatureUniquePtr f(imagery.GetNextFeature()); f; f.reset(imagery.GetNextFeature())) out.push_back(tile_of(*f));
    if (CPLGetLastErrorType() >= CE_Failure) impl_->fail("cannot read the tiles");
    std::sort(out.begin(), out.end(), [](const CatalogTile& a, const CatalogTile& b) { return a.id < b.id; });
    return out;
}

std::vector<CatalogIssue> ImageryCatalog::skipped() const {
    auto dataset = impl_->connect();
    OGRLayer& layer = impl_->layer(*dataset, kSkipped);
    std::vector<CatalogIssue> out;
    CPLErrorReset();
    layer.ResetReading();
    for (OGRFeatureUniquePtr f(layer.GetNextFeature()); f; f.reset(layer.GetNextFeature()))
        out.push_back(CatalogIssue{issue_kind_of(get_text(*f, "kind")), get_text(*f, "path"), get_text(*f, "message")});
    if (CPLGetLastErrorType() >= CE_Failure) impl_->fail("cannot read the skipped files");
    std::sort(out.begin(), out.end(), [](const CatalogIssue& a, const CatalogIssue& b) { return a.path < b.path; });
    return out;
}

std::int64_t ImageryCatalog::begin_night(const std::string& night, const fs::path& folder, const std::vector<std::int64_t>& tiles) {
    auto dataset = impl_->connect();
    OGRLayer& nights = impl_->layer(*dataset, kNights);
    Transaction tx(*dataset, impl_->where);
    OGRFeatureUniquePtr f(OGRFeature::CreateFeature(nights.GetLayerDefn()));
    set_text(*f, "night", night);
    set_text(*f, "folder", fs::absolute(folder).lexically_normal().string());
    set_text(*f, "status", "running");
    set_text(*f, "started_at", now_utc());
    set_text(*f, "tiles", json(tiles).dump());
    set_text(*f, "summary", "{}");
    CPLErrorReset();
    if (nights.CreateFeature(f.get()) != OGRERR_NONE) impl_->fail("cannot record night " + night);
    tx.commit();
    return f->GetFID();
}

void ImageryCatalog::finish_night(std::int64_t id, const std::string& status, const json& summary) {
    if (status.empty() || status == "running") throw InternalError("catalog: a night cannot finish with status '" + status + "'");
    auto dataset = impl_->connect();
    OGRLayer& nights = impl_->layer(*dataset, kNights);
    OGRLayer& imagery = impl_->layer(*dataset, kImagery);
    Transaction tx(*dataset, impl_->where);
    OGRFeatureUniquePtr f(nights.GetFeature(id));
    if (!f) throw InternalError("catalog: no night " + std::to_string(id) + " to finish");
    const NightRecord record = night_of(*f);
    set_text(*f, "status", status);
    set_text(*f, "finished_at", now_utc());
    set_text(*f, "summary", summary.dump());
    CPLErrorReset();
    if (nights.SetFeature(f.get()) != OGRERR_NONE) impl_->fail("cannot record the end of night " + record.night);
    // A night that did its work (or found nothing to do) has processed its tiles.
    if (status == "done" || status == "nothing") {
        for (const auto tile : record.tiles) {
            OGRFeatureUniquePtr t(imagery.GetFeature(tile));
            if (!t) throw InternalError("catalog: night " + record.night + " lists tile " + std::to_string(tile) + ", which is not registered");
            t->SetField("night", static_cast<GIntBig>(id));
            CPLErrorReset();
            if (imagery.SetFeature(t.get()) != OGRERR_NONE) impl_->fail("cannot mark tile '" + get_text(*t, "path") + "' processed");
        }
    }
    tx.commit();
}

std::vector<NightRecord> ImageryCatalog::nights() const {
    auto dataset = impl_->connect();
    OGRLayer& nights = impl_->layer(*dataset, kNights);
    std::vector<NightRecord> out;
    CPLErrorReset();
    nights.SetAttributeFilter(nullptr);
    nights.ResetReading();
    for (OGRFeatureUniquePtr f(nights.GetNextFeature()); f; f.reset(nights.GetNextFeature())) out.push_back(night_of(*f));
    if (CPLGetLastErrorType() >= CE_Failure) impl_->fail("cannot read the nights");
    std::sort(out.begin(), out.end(), [](const NightRecord& a, const NightRecord& b) { return a.id < b.id; });
    return out;
}

std::optional<NightRecord> ImageryCatalog::unfinished_night() const {
    std::optional<NightRecord> last;
    for (auto& n : nights())
        if (n.status == "running") last = std::move(n);
    return last;
}

std::string catalog_location(const Config& config) {
    if (!config.nightly.catalog.empty()) return config.nightly.catalog;
    if (config.ledger.configured()) return config.ledger.path;
    return (fs::path(config.output_dir) / "catalog.gpkg").lexically_normal().string();
}

std::string tile_date(const fs::path& path, const NightlyConfig& nightly, std::string* source) {
    ensure_gdal_registered();
    QuietGdal quiet;
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
    CPLErrorReset();
    return dataset_date(ds.get(), path, nightly, source);
}

}  // namespace weipian
