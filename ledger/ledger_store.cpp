#include "ledger/ledger_store.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <ogrsf_frmts.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/test_point.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

struct Column {
    const char* name;
    OGRFieldType type;
    bool unique = false;
    // Added after the first release: a ledger without it is migrated (the column is added, rows
    // kept) when opened for update, and read as empty when opened read-only.
    bool added_later = false;
};

// The schema, declared once: creation, validation and I/O all read these lists.
const std::vector<Column>& case_columns() {
    static const std::vector<Column> columns = {
        {"case_id", OFTString, true}, {"county_code", OFTString},   {"year", OFTInteger},       {"seq", OFTInteger},
        {"xzmc", OFTString},          {"xzqdm", OFTString},         {"area_m2", OFTReal},       {"area_mu", OFTReal},
        {"cultivated_m2", OFTReal},   {"cultivated_mu", OFTReal},   {"centroid_x", OFTReal},    {"centroid_y", OFTReal},
        {"qsx", OFTString},           {"hsx", OFTString},           {"first_seen_run", OFTString},
        {"last_seen_run", OFTString}, {"status", OFTString},        {"result", OFTString},      {"measures", OFTString},
        {"deadline", OFTString},      {"responsible", OFTString},   {"notes", OFTString},       {"flag", OFTString},
        {"flag_date", OFTString},     {"updated_at", OFTString},
        {"tblx", OFTString, false, true},
        // issue 9: leads, the county's form, area parts, evidence, pre-judgement, rectification
        {"source", OFTString, false, true},       {"lead_id", OFTString, false, true},
        {"linked_case", OFTString, false, true},  {"batch", OFTString, false, true},
        {"delivered_at", OFTString, false, true}, {"earlier_id", OFTString, false, true},
        {"detected_run", OFTString, false, true}, {"verdict", OFTString, false, true},
        {"category", OFTString, false, true},     {"use_detail", OFTString, false, true},
        {"project", OFTString, false, true},      {"developer", OFTString, false, true},
        {"built_at", OFTString, false, true},     {"field_notes", OFTString, false, true},
        {"fgnyd_mu", OFTReal, false, true},       {"wlyd_mu", OFTReal, false, true},
        {"jsyd_mu", OFTReal, false, true},        {"wdc_mu", OFTReal, false, true},
        {"yjjbnt_mu", OFTReal, false, true},      {"sthx_mu", OFTReal, false, true},
        {"pzwh", OFTString, false, true},         {"pzwh_share", OFTReal, false, true},
        {"gdwh", OFTString, false, true},         {"gdwh_share", OFTReal, false, true},
        {"bdcqzh", OFTString, false, true},       {"bdcqzh_share", OFTReal, false, true},
        {"lsydwh", OFTString, false, true},       {"lsydwh_share", OFTReal, false, true},
        {"ssnydh", OFTString, false, true},       {"ssnydh_share", OFTReal, false, true},
        {"cp_verdict", OFTString, false, true},   {"cp_category", OFTString, false, true},
        {"cp_rule", OFTString, false, true},      {"zgfs", OFTString, false, true},
        {"cc_mu", OFTReal, false, true},          {"cc_gd_mu", OFTReal, false, true},
        {"bb_mu", OFTReal, false, true},          {"bb_gd_mu", OFTReal, false, true},
        {"sy_mu", OFTReal, false, true},          {"review_ended_at", OFTString, false, true},
        // issue 10: chips and the rectification check on new imagery
        {"chip_before", OFTString, false, true},    {"chip_after", OFTString, false, true},
        {"chip_check_qsx", OFTString, false, true}, {"chip_check_hsx", OFTString, false, true},
        {"chip_check_new", OFTString, false, true}, {"check_state", OFTString, false, true},
        {"check_date", OFTString, false, true},     {"check_built_share", OFTReal, false, true},
    };
    return columns;
}

// The text and area columns added by issue 9, bound to their LedgerCase members once, so
// reading and writing cannot drift apart. Areas are hundredths of a 亩 stored as 亩 (2 decimals);
// `optional` areas are NULL when not recorded (-1 in LedgerCase).
struct TextColumn {
    const char* name;
    std::string LedgerCase::*member;
};
const std::vector<TextColumn>& case_text_columns() {
    static const std::vector<TextColumn> columns = {
        {"source", &LedgerCase::source},           {"lead_id", &LedgerCase::lead_id},
        {"linked_case", &LedgerCase::linked_case}, {"batch", &LedgerCase::batch},
        {"delivered_at", &LedgerCase::delivered_at}, {"earlier_id", &LedgerCase::earlier_id},
        {"detected_run", &LedgerCase::detected_run}, {"verdict", &LedgerCase::verdict},
        {"category", &LedgerCase::category},       {"use_detail", &LedgerCase::use_detail},
        {"project", &LedgerCase::project},         {"developer", &LedgerCase::developer},
        {"built_at", &LedgerCase::built_at},       {"field_notes", &LedgerCase::field_notes},
        {"pzwh", &LedgerCase::approval_no},        {"gdwh", &LedgerCase::supply_no},
        {"bdcqzh", &LedgerCase::title_no},         {"lsydwh", &LedgerCase::temporary_no},
        {"ssnydh", &LedgerCase::facility_no},      {"cp_verdict", &LedgerCase::cp_verdict},
        {"cp_category", &LedgerCase::cp_category}, {"cp_rule", &LedgerCase::cp_rule},
        {"zgfs", &LedgerCase::rectify_method},     {"review_ended_at", &LedgerCase::review_ended_at},
        {"chip_before", &LedgerCase::chip_before}, {"chip_after", &LedgerCase::chip_after},
        {"chip_check_qsx", &LedgerCase::chip_check_qsx}, {"chip_check_hsx", &LedgerCase::chip_check_hsx},
        {"chip_check_new", &LedgerCase::chip_check_new}, {"check_state", &LedgerCase::check_state},
        {"check_date", &LedgerCase::check_date},
    };
    return columns;
}
struct AreaColumn {
    const char* name;
    std::int64_t LedgerCase::*member;
    bool optional;
};
const std::vector<AreaColumn>& case_area_columns() {
    static const std::vector<AreaColumn> columns = {
        {"fgnyd_mu", &LedgerCase::other_agricultural_centimu, false},
        {"wlyd_mu", &LedgerCase::unused_centimu, false},
        {"jsyd_mu", &LedgerCase::construction_centimu, false},
        {"wdc_mu", &LedgerCase::unsurveyed_centimu, false},
        {"yjjbnt_mu", &LedgerCase::permanent_farmland_centimu, false},
        {"sthx_mu", &LedgerCase::redline_centimu, false},
        {"cc_mu", &LedgerCase::demolished_centimu, true},
        {"cc_gd_mu", &LedgerCase::demolished_cultivated_centimu, true},
        {"bb_mu", &LedgerCase::regularised_centimu, true},
        {"bb_gd_mu", &LedgerCase::regularised_cultivated_centimu, true},
        {"sy_mu", &LedgerCase::remaining_centimu, true},
    };
    return columns;
}
struct ShareColumn {
    const char* name;
    double LedgerCase::*member;
};
const std::vector<ShareColumn>& case_share_columns() {
    static const std::vector<ShareColumn> columns = {
        {"pzwh_share", &LedgerCase::approval_share}, {"gdwh_share", &LedgerCase::supply_share},
        {"bdcqzh_share", &LedgerCase::title_share},  {"lsydwh_share", &LedgerCase::temporary_share},
        {"ssnydh_share", &LedgerCase::facility_share},
    };
    return columns;
}

const std::vector<Column>& history_columns() {
    static const std::vector<Column> columns = {
        {"case_id", OFTString}, {"at", OFTString},        {"recorded_at", OFTString}, {"who", OFTString},
        {"from_status", OFTString}, {"to_status", OFTString}, {"what", OFTString},    {"source", OFTString},
    };
    return columns;
}

const std::vector<Column>& run_columns() {
    static const std::vector<Column> columns = {
        {"run_id", OFTString},      {"digest", OFTString, true}, {"fed_at", OFTString},
        {"qsx", OFTString},         {"hsx", OFTString},          {"year", OFTInteger},
        {"county_code", OFTString}, {"cultivated_assessed", OFTInteger},
        {"parcels", OFTInteger64},  {"new_cases", OFTInteger64}, {"updated_cases", OFTInteger64},
        {"flagged_cases", OFTInteger64}, {"version", OFTString},
    };
    return columns;
}

void set_text(OGRFeature& f, const char* name, const std::string& value) {
    if (value.empty())
        f.SetFieldNull(f.GetFieldIndex(name));
    else
        f.SetField(name, value.c_str());
}

std::string get_text(const OGRFeature& f, const char* name) {
    const int i = f.GetFieldIndex(name);
    return f.IsFieldSetAndNotNull(i) ? std::string(f.GetFieldAsString(i)) : std::string();
}

std::optional<CaseStatus> get_status(const OGRFeature& f, const char* name) {
    const std::string text = get_text(f, name);
    return text.empty() ? std::nullopt : parse_status(text);
}

void create_layers(GDALDataset& dataset, const OGRSpatialReference& srs) {
    const char* spatial_options[] = {"GEOMETRY_NAME=geom", "FID=fid", nullptr};
    const char* table_options[] = {"FID=fid", nullptr};
    const auto srs_copy = clone_traditional(srs);
    const auto make = [&](const char* name, const std::vector<Column>& columns, bool spatial) {
        OGRLayer* layer = spatial ? dataset.CreateLayer(name, srs_copy.get(), wkbMultiPolygon, const_cast<char**>(spatial_options))
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
    make("cases", case_columns(), true);
    make("history", history_columns(), false);
    make("runs", run_columns(), false);
}

// Builds a new GeoPackage ledger under a temporary name and renames it into place, so a
// half-created file never carries the ledger's name.
void create_geopackage(const fs::path& path, const OGRSpatialReference& srs) {
    const std::string where = "ledger '" + path.string() + "'";
    AtomicFile file(path, "ledger");
    auto* driver = GetGDALDriverManager()->GetDriverByName("GPKG");
    if (!driver) throw InternalError("ledger: this GDAL build has no GPKG driver");
    {
        CPLErrorReset();
        GDALDatasetUniquePtr dataset(driver->Create(file.path().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!dataset)
            throw InputError(where + ": cannot create the GeoPackage (" + last_gdal_error() +
                             "); check that the folder is writable");
        try {
            create_layers(*dataset, srs);
        } catch (const InputError& e) {
            throw InputError(where + ": " + e.what());
        }
    }
    file.commit_unless_exists();  // false: another process created it first, and that one is used
}

}  // namespace

std::unique_ptr<LedgerStore> LedgerStore::open(const std::string& location, Mode mode, const OGRSpatialReference* create_srs) {
    ensure_gdal_registered();
    std::unique_ptr<LedgerStore> store(new LedgerStore());
    store->location_ = location;
    store->backend_ = is_postgres_ledger(location) ? Backend::PostgreSQL : Backend::GeoPackage;
    const std::string where = "ledger '" + redact_ledger_location(location) + "'";
    if (location.empty()) throw ConfigError("ledger: no ledger given; set ledger.path in the config or pass --ledger");
    const bool update = mode != Mode::Read;
    const bool may_create = mode == Mode::UpdateOrCreate;
    if (may_create && !create_srs) throw InternalError("ledger: creating " + where + " needs a CRS");

    if (store->backend_ == Backend::GeoPackage && !fs::exists(location)) {
        if (!may_create)
            throw InputError(where + " does not exist; a run with this ledger creates it (weipian run --ledger " + location + ")");
        create_geopackage(location, *create_srs);
    }
    if (store->backend_ == Backend::GeoPackage && !update && fs::exists(location + "-journal")) {
        // A writer was killed and left SQLite's rollback journal: a read-only connection cannot
        // roll it back (SQLITE_READONLY_ROLLBACK), so let a writable one restore the ledger first.
        open_vector_database(location, true);
    }
    store->dataset_ = open_vector_database(location, update);
    if (!store->dataset_)
        throw InputError(where + ": cannot open it (" + last_gdal_error() + "); " +
                         (store->backend_ == Backend::PostgreSQL ? "check the connection string and that the server runs"
                                                                 : "check that it is a GeoPackage and readable"));

    if (store->backend_ == Backend::PostgreSQL) {
        CPLPushErrorHandler(CPLQuietErrorHandler);
        const bool present = store->dataset_->GetLayerByName("cases") != nullptr;
        CPLPopErrorHandler();
        CPLErrorReset();
        if (!present) {
            if (!may_create)
                throw InputError(where + " has no ledger tables (cases, history, runs); a run with this ledger creates them");
            // The driver decides at open whether PostGIS is there, so add it first, then reopen.
            if (!sql_has_rows(*store->dataset_, "SELECT 1 FROM pg_extension WHERE extname = 'postgis'")) {
                if (!execute_sql(*store->dataset_, "CREATE EXTENSION IF NOT EXISTS postgis"))
                    throw InputError(where + ": the database has no PostGIS and it cannot be added (" + last_gdal_error() +
                                     "); run CREATE EXTENSION postgis as a superuser");
                store->dataset_ = open_vector_database(location, true);
                if (!store->dataset_) throw InputError(where + ": cannot reopen it (" + last_gdal_error() + ")");
            }
            if (store->dataset_->StartTransaction(FALSE) != OGRERR_NONE)
                throw InputError(where + ": cannot start a transaction (" + last_gdal_error() + ")");
            try {
                create_layers(*store->dataset_, *create_srs);
            } catch (const InputError& e) {
                store->dataset_->RollbackTransaction();
                throw InputError(where + ": " + e.what());
            }
            if (store->dataset_->CommitTransaction() != OGRERR_NONE)
                throw InputError(where + ": cannot create the ledger tables (" + last_gdal_error() +
                                 "); another process may have created them at the same time, run again");
            store->dataset_ = open_vector_database(location, update);
            if (!store->dataset_) throw InputError(where + ": cannot reopen it (" + last_gdal_error() + ")");
        }
    }
    store->update_ = update;
    store->bind_layers();
    return store;
}

LedgerStore::~LedgerStore() = default;

void LedgerStore::fail(const std::string& what) const {
    throw InputError("ledger '" + redacted_location() + "': " + what + " (" + last_gdal_error() + ")");
}

void LedgerStore::bind_layers() {
    const std::string where = "ledger '" + redacted_location() + "'";
    const auto bind = [&](const char* name, const std::vector<Column>& columns) {
        CPLPushErrorHandler(CPLQuietErrorHandler);
        OGRLayer* layer = dataset_->GetLayerByName(name);
        CPLPopErrorHandler();
        if (!layer)
            throw InputError(where + " is not a weipian ledger: it has no table '" + name +
                             "'; give the ledger a run created, or a new path");
        for (const auto& column : columns) {
            if (layer->GetLayerDefn()->GetFieldIndex(column.name) >= 0) continue;
            if (column.added_later) {
                if (!update_) continue;  // read as empty
                OGRFieldDefn field(column.name, column.type);
                CPLErrorReset();
                if (layer->CreateField(&field) != OGRERR_NONE)
                    throw InputError(where + ": cannot add the new column '" + column.name + "' to table '" + name + "' (" +
                                     last_gdal_error() + "); open it once with write access to migrate it");
                spdlog::info("{}: added column '{}' to table '{}' (ledger migrated; rows kept)", where, column.name, name);
                continue;
            }
            throw InputError(where + " is not a weipian ledger: table '" + name + "' has no column '" + column.name +
                                 "'; give the ledger a run created, or a new path");
        }
        return layer;
    };
    cases_ = bind("cases", case_columns());
    history_ = bind("history", history_columns());
    runs_ = bind("runs", run_columns());
    // GeoPackage reads "no CRS" (srs_id 0 / -1) as "Undefined geographic/Cartesian SRS".
    const OGRSpatialReference* srs = cases_->GetSpatialRef();
    const char* srs_name = srs ? srs->GetName() : nullptr;
    if (!srs || srs->IsEmpty() || (srs_name && std::string(srs_name).rfind("Undefined ", 0) == 0))
        throw InputError(where + ": table 'cases' has no CRS; it was not created by weipian");
    srs_ = clone_traditional(*srs);
    CPLErrorReset();
}

LedgerStore::Transaction::Transaction(LedgerStore& store) : store_(&store) {
    CPLErrorReset();
    if (store.dataset_->StartTransaction(FALSE) != OGRERR_NONE) store.fail("cannot start a transaction");
    if (store.backend_ == Backend::PostgreSQL && !execute_sql(*store.dataset_, "LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE")) {
        store.dataset_->RollbackTransaction();
        store.fail("cannot lock the cases table");
    }
}

LedgerStore::Transaction::~Transaction() {
    if (!active_) return;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    store_->dataset_->RollbackTransaction();
    CPLPopErrorHandler();
}

void LedgerStore::Transaction::commit() {
    if (!active_) throw InternalError("ledger: transaction committed twice");
    active_ = false;
    CPLErrorReset();
    if (store_->dataset_->CommitTransaction() != OGRERR_NONE) {
        CPLPushErrorHandler(CPLQuietErrorHandler);
        store_->dataset_->RollbackTransaction();
        CPLPopErrorHandler();
        store_->fail("cannot commit; nothing was changed");
    }
}

LedgerStore::Transaction LedgerStore::begin() {
    return Transaction(*this);
}

std::vector<LedgerCase> LedgerStore::load_cases(bool with_geometry) {
    std::vector<LedgerCase> out;
    CPLErrorReset();
    cases_->SetAttributeFilter(nullptr);
    cases_->SetSpatialFilter(nullptr);
    cases_->SetIgnoredFields(nullptr);
    if (!with_geometry) {
        const char* ignored[] = {"OGR_GEOMETRY", nullptr};
        cases_->SetIgnoredFields(ignored);
    }
    cases_->ResetReading();
    for (OGRFeatureUniquePtr f(cases_->GetNextFeature()); f; f.reset(cases_->GetNextFeature())) {
        LedgerCase c;
        c.fid = f->GetFID();
        c.case_id = get_text(*f, "case_id");
        c.county_code = get_text(*f, "county_code");
        c.year = f->GetFieldAsInteger("year");
        c.seq = f->GetFieldAsInteger("seq");
        c.township_name = get_text(*f, "xzmc");
        c.township_code = get_text(*f, "xzqdm");
        c.area_m2 = f->GetFieldAsDouble("area_m2");
        c.cultivated_m2 = f->GetFieldAsDouble("cultivated_m2");
        c.area_centimu = std::llround(f->GetFieldAsDouble("area_mu") * 100.0);
        c.cultivated_centimu = std::llround(f->GetFieldAsDouble("cultivated_mu") * 100.0);
        c.centroid_x = f->GetFieldAsDouble("centroid_x");
        c.centroid_y = f->GetFieldAsDouble("centroid_y");
        c.qsx = get_text(*f, "qsx");
        c.hsx = get_text(*f, "hsx");
        c.first_seen_run = get_text(*f, "first_seen_run");
        c.last_seen_run = get_text(*f, "last_seen_run");
        const auto status = get_status(*f, "status");
        if (!status)
            throw InputError("ledger '" + redacted_location() + "': case " + c.case_id + " has an unknown status '" +
                             get_text(*f, "status") + "'; fix it to one of 待核查, 合法, 误报, 违法, 整改中, 已整改, 销号");
        c.status = *status;
        c.result = get_status(*f, "result");
        c.plan.measures = get_text(*f, "measures");
        c.plan.deadline = get_text(*f, "deadline");
        c.plan.responsible = get_text(*f, "responsible");
        c.notes = get_text(*f, "notes");
        c.flag = get_text(*f, "flag");
        c.flag_date = get_text(*f, "flag_date");
        c.updated_at = get_text(*f, "updated_at");
        if (f->GetFieldIndex("tblx") >= 0) c.tblx = get_text(*f, "tblx");
        for (const auto& column : case_text_columns())
            if (f->GetFieldIndex(column.name) >= 0) c.*column.member = get_text(*f, column.name);
        for (const auto& column : case_area_columns()) {
            const int index = f->GetFieldIndex(column.name);
            if (index < 0 || !f->IsFieldSetAndNotNull(index)) continue;
            c.*column.member = std::llround(f->GetFieldAsDouble(index) * 100.0);
        }
        for (const auto& column : case_share_columns()) {
            const int index = f->GetFieldIndex(column.name);
            if (index >= 0 && f->IsFieldSetAndNotNull(index)) c.*column.member = f->GetFieldAsDouble(index);
        }
        if (const int index = f->GetFieldIndex("check_built_share"); index >= 0 && f->IsFieldSetAndNotNull(index))
            c.check_built_share = f->GetFieldAsDouble(index);
        if (with_geometry && f->GetGeometryRef()) {
            // No CRS attached: the store's CRS object dies with the store, cases may outlive it.
            OGRGeometry* geometry = f->StealGeometry();
            geometry->assignSpatialReference(nullptr);
            c.geometry = share_geometry(geometry);
        }
        out.push_back(std::move(c));
    }
    cases_->SetIgnoredFields(nullptr);
    if (CPLGetLastErrorType() >= CE_Failure) fail("cannot read the cases");
    // PostgreSQL returns rows in storage order, which updates change: use creation order.
    std::sort(out.begin(), out.end(), [](const LedgerCase& a, const LedgerCase& b) { return a.fid < b.fid; });
    return out;
}

std::vector<HistoryEntry> LedgerStore::load_history() {
    std::vector<HistoryEntry> out;
    CPLErrorReset();
    history_->SetAttributeFilter(nullptr);
    history_->ResetReading();
    for (OGRFeatureUniquePtr f(history_->GetNextFeature()); f; f.reset(history_->GetNextFeature())) {
        HistoryEntry e;
        e.fid = f->GetFID();
        e.case_id = get_text(*f, "case_id");
        e.at = get_text(*f, "at");
        e.recorded_at = get_text(*f, "recorded_at");
        e.who = get_text(*f, "who");
        e.from_status = get_status(*f, "from_status");
        e.to_status = get_status(*f, "to_status").value_or(CaseStatus::ToVerify);
        e.what = get_text(*f, "what");
        e.source = get_text(*f, "source");
        out.push_back(std::move(e));
    }
    if (CPLGetLastErrorType() >= CE_Failure) fail("cannot read the history");
    std::stable_sort(out.begin(), out.end(), [](const HistoryEntry& a, const HistoryEntry& b) { return a.fid < b.fid; });
    return out;
}

namespace {

RunRecord run_of(const OGRFeature& f) {
    RunRecord r;
    r.run_id = get_text(f, "run_id");
    r.digest = get_text(f, "digest");
    r.fed_at = get_text(f, "fed_at");
    r.qsx = get_text(f, "qsx");
    r.hsx = get_text(f, "hsx");
    r.year = f.GetFieldAsInteger("year");
    r.county_code = get_text(f, "county_code");
    r.cultivated_assessed = f.GetFieldAsInteger("cultivated_assessed") != 0;
    r.parcels = f.GetFieldAsInteger64("parcels");
    r.new_cases = f.GetFieldAsInteger64("new_cases");
    r.updated_cases = f.GetFieldAsInteger64("updated_cases");
    r.flagged_cases = f.GetFieldAsInteger64("flagged_cases");
    r.version = get_text(f, "version");
    return r;
}

}  // namespace

std::vector<RunRecord> LedgerStore::load_runs() {
    std::vector<RunRecord> out;
    CPLErrorReset();
    runs_->SetAttributeFilter(nullptr);
    runs_->ResetReading();
    std::vector<std::pair<GIntBig, RunRecord>> rows;
    for (OGRFeatureUniquePtr f(runs_->GetNextFeature()); f; f.reset(runs_->GetNextFeature())) rows.emplace_back(f->GetFID(), run_of(*f));
    if (CPLGetLastErrorType() >= CE_Failure) fail("cannot read the runs");
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& row : rows) out.push_back(std::move(row.second));
    return out;
}

std::optional<RunRecord> LedgerStore::find_run(const std::string& digest) {
    if (digest.find_first_not_of("0123456789abcdef") != std::string::npos)
        throw InternalError("ledger: digest '" + digest + "' is not hexadecimal");
    CPLErrorReset();
    runs_->SetAttributeFilter(("digest = '" + digest + "'").c_str());
    runs_->ResetReading();
    OGRFeatureUniquePtr f(runs_->GetNextFeature());
    std::optional<RunRecord> found;
    if (f) found = run_of(*f);
    runs_->SetAttributeFilter(nullptr);
    if (CPLGetLastErrorType() >= CE_Failure) fail("cannot read the runs");
    return found;
}

namespace {

void fill_case(OGRFeature& f, const LedgerCase& c, OGRSpatialReference& srs) {
    set_text(f, "case_id", c.case_id);
    set_text(f, "county_code", c.county_code);
    f.SetField("year", c.year);
    f.SetField("seq", c.seq);
    set_text(f, "xzmc", c.township_name);
    set_text(f, "xzqdm", c.township_code);
    f.SetField("area_m2", round2(c.area_m2));
    f.SetField("area_mu", static_cast<double>(c.area_centimu) / 100.0);
    f.SetField("cultivated_m2", round2(c.cultivated_m2));
    f.SetField("cultivated_mu", static_cast<double>(c.cultivated_centimu) / 100.0);
    f.SetField("centroid_x", round2(c.centroid_x));
    f.SetField("centroid_y", round2(c.centroid_y));
    set_text(f, "qsx", c.qsx);
    set_text(f, "hsx", c.hsx);
    set_text(f, "first_seen_run", c.first_seen_run);
    set_text(f, "last_seen_run", c.last_seen_run);
    set_text(f, "status", status_label(c.status));
    set_text(f, "result", c.result ? status_label(*c.result) : "");
    set_text(f, "measures", c.plan.measures);
    set_text(f, "deadline", c.plan.deadline);
    set_text(f, "responsible", c.plan.responsible);
    set_text(f, "notes", c.notes);
    set_text(f, "flag", c.flag);
    set_text(f, "flag_date", c.flag_date);
    set_text(f, "updated_at", c.updated_at);
    if (f.GetFieldIndex("tblx") >= 0) set_text(f, "tblx", c.tblx);
    for (const auto& column : case_text_columns())
        if (f.GetFieldIndex(column.name) >= 0) set_text(f, column.name, c.*column.member);
    for (const auto& column : case_area_columns()) {
        const int index = f.GetFieldIndex(column.name);
        if (index < 0) continue;
        const std::int64_t value = c.*column.member;
        if (column.optional && value < 0)
            f.SetFieldNull(index);
        else
            f.SetField(index, static_cast<double>(value) / 100.0);
    }
    for (const auto& column : case_share_columns()) {
        const int index = f.GetFieldIndex(column.name);
        if (index >= 0) f.SetField(index, round2(c.*column.member));
    }
    // A share 0..1 to 4 decimals (0.01 %); NULL = never checked.
    if (const int index = f.GetFieldIndex("check_built_share"); index >= 0) {
        if (c.check_built_share < 0)
            f.SetFieldNull(index);
        else
            f.SetField(index, std::round(c.check_built_share * 10000.0) / 10000.0);
    }
    if (c.geometry) {
        OGRGeometryUniquePtr multi(OGRGeometryFactory::forceToMultiPolygon(c.geometry->clone()));
        multi->assignSpatialReference(&srs);
        f.SetGeometryDirectly(multi.release());
    }
}

}  // namespace

void LedgerStore::insert_case(LedgerCase& c) {
    OGRFeatureUniquePtr f(OGRFeature::CreateFeature(cases_->GetLayerDefn()));
    fill_case(*f, c, *srs_);
    CPLErrorReset();
    if (cases_->CreateFeature(f.get()) != OGRERR_NONE) fail("cannot write case " + c.case_id);
    c.fid = f->GetFID();
}

void LedgerStore::update_case(const LedgerCase& c) {
    if (c.fid < 0) throw InternalError("ledger: update of case " + c.case_id + " that was never stored");
    OGRFeatureUniquePtr f(OGRFeature::CreateFeature(cases_->GetLayerDefn()));
    fill_case(*f, c, *srs_);
    f->SetFID(c.fid);
    CPLErrorReset();
    if (cases_->SetFeature(f.get()) != OGRERR_NONE) fail("cannot update case " + c.case_id);
}

void LedgerStore::append_history(const HistoryEntry& e) {
    OGRFeatureUniquePtr f(OGRFeature::CreateFeature(history_->GetLayerDefn()));
    set_text(*f, "case_id", e.case_id);
    set_text(*f, "at", e.at);
    set_text(*f, "recorded_at", e.recorded_at);
    set_text(*f, "who", e.who);
    set_text(*f, "from_status", e.from_status ? status_label(*e.from_status) : "");
    set_text(*f, "to_status", status_label(e.to_status));
    set_text(*f, "what", e.what);
    set_text(*f, "source", e.source);
    CPLErrorReset();
    if (history_->CreateFeature(f.get()) != OGRERR_NONE) fail("cannot write the history of case " + e.case_id);
}

void LedgerStore::insert_run(const RunRecord& r) {
    OGRFeatureUniquePtr f(OGRFeature::CreateFeature(runs_->GetLayerDefn()));
    set_text(*f, "run_id", r.run_id);
    set_text(*f, "digest", r.digest);
    set_text(*f, "fed_at", r.fed_at);
    set_text(*f, "qsx", r.qsx);
    set_text(*f, "hsx", r.hsx);
    f->SetField("year", r.year);
    set_text(*f, "county_code", r.county_code);
    f->SetField("cultivated_assessed", r.cultivated_assessed ? 1 : 0);
    f->SetField("parcels", static_cast<GIntBig>(r.parcels));
    f->SetField("new_cases", static_cast<GIntBig>(r.new_cases));
    f->SetField("updated_cases", static_cast<GIntBig>(r.updated_cases));
    f->SetField("flagged_cases", static_cast<GIntBig>(r.flagged_cases));
    set_text(*f, "version", r.version);
    CPLErrorReset();
    if (runs_->CreateFeature(f.get()) != OGRERR_NONE) fail("cannot record run " + r.run_id);
}

void pause_in_transaction_for_tests(const char* where) { test_point((std::string("transaction:") + where).c_str()); }

std::string sha256_hex(const std::string& bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
        throw InternalError("ledger: SHA-256 failed (OpenSSL)");
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

}  // namespace weipian
