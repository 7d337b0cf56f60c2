#pragma once
// Storage of the case ledger through OGR: one code path for a GeoPackage file (GDAL's GPKG
// driver, i.e. SQLite) and for PostgreSQL/PostGIS (GDAL's PostgreSQL driver), one schema.
//
// Schema (table: columns; every table has an integer primary key `fid`):
//   cases   (MultiPolygon `geom` in the ledger CRS): case_id (unique, not null), county_code,
//           year, seq, xzmc, xzqdm, area_m2, area_mu, cultivated_m2, cultivated_mu, centroid_x,
//           centroid_y, qsx, hsx, first_seen_run, last_seen_run, status, result, measures,
//           deadline, responsible, notes, flag, flag_date, updated_at, and, added later (a ledger
//           without them gets the columns when opened for update, its rows kept; read-only they
//           read as empty): tblx; source, lead_id, linked_case, batch, delivered_at, earlier_id,
//           detected_run (leads); verdict, category, use_detail, project, developer, built_at,
//           field_notes (the form); fgnyd_mu, wlyd_mu, jsyd_mu, wdc_mu, yjjbnt_mu, sthx_mu (area
//           parts); pzwh, gdwh, bdcqzh, lsydwh, ssnydh and their *_share (evidence); cp_verdict,
//           cp_category, cp_rule (pre-judgement); zgfs, cc_mu, cc_gd_mu, bb_mu, bb_gd_mu, sy_mu
//           (NULL = not recorded), review_ended_at (rectification); chip_before, chip_after,
//           chip_check_qsx, chip_check_hsx, chip_check_new (absolute chip paths), check_state,
//           check_date, check_built_share (0..1 to 4 decimals, NULL = never checked) (issue 10).
//           LedgerCase documents each.
//   history (no geometry): case_id, at, recorded_at, who, from_status, to_status, what, source
//   runs    (no geometry): run_id, digest (unique), fed_at, qsx, hsx, year, county_code,
//           cultivated_assessed, parcels, new_cases, updated_cases, flagged_cases, version
// Dates are text YYYY-MM-DD, times text YYYY-MM-DDTHH:MM:SSZ (UTC), statuses the Chinese words.
// Reals are stored to 2 decimals: GDAL's PostgreSQL driver keeps 15 significant digits, so full
// doubles would differ between the backends.
//
// Atomicity: every change goes through a Transaction (GDALDataset::StartTransaction, i.e.
// SQLite BEGIN / PostgreSQL BEGIN); a process killed inside it leaves the ledger as it was
// (SQLite's journal, PostgreSQL's aborted transaction). A new GeoPackage ledger is built under a
// temporary name and renamed once its schema is complete. PostgreSQL write transactions lock
// the cases table (SHARE ROW EXCLUSIVE), so two writers queue instead of racing for case
// numbers; a GeoPackage has SQLite's single writer.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include "ledger/ledger.hpp"
#include "pipeline/core/gdal.hpp"

namespace weipian {

class LedgerStore {
public:
    enum class Backend { GeoPackage, PostgreSQL };
    enum class Mode { Read, Update, UpdateOrCreate };

    // Opens the ledger at `location` (a GeoPackage path or a PostgreSQL connection string,
    // see is_postgres_ledger). Mode::UpdateOrCreate creates it when absent, with `create_srs`
    // as its CRS (required then). Throws InputError naming the (redacted) location when it
    // cannot be opened, is absent (Read/Update), or is not a weipian ledger (missing tables or
    // fields).
    static std::unique_ptr<LedgerStore> open(const std::string& location, Mode mode,
                                             const OGRSpatialReference* create_srs = nullptr);

    ~LedgerStore();
    LedgerStore(const LedgerStore&) = delete;
    LedgerStore& operator=(const LedgerStore&) = delete;

    Backend backend() const { return backend_; }
    const std::string& location() const { return location_; }
    std::string redacted_location() const { return redact_ledger_location(location_); }
    // The CRS of case geometries (traditional GIS axis order).
    const OGRSpatialReference& srs() const { return *srs_; }

    // A transaction: rolled back on destruction unless committed.
    class Transaction {
    public:
        explicit Transaction(LedgerStore& store);
        ~Transaction();
        Transaction(const Transaction&) = delete;
        Transaction& operator=(const Transaction&) = delete;
        void commit();

    private:
        LedgerStore* store_;
        bool active_ = true;
    };
    // Starts a write transaction. Throws InputError when the backend refuses.
    Transaction begin();

    std::vector<LedgerCase> load_cases(bool with_geometry = true);
    std::vector<HistoryEntry> load_history();
    std::vector<RunRecord> load_runs();
    std::optional<RunRecord> find_run(const std::string& digest);

    // Inserts `c` and sets its fid. Throws InputError (e.g. a duplicate case id).
    void insert_case(LedgerCase& c);
    // Rewrites the stored row of `c` (by fid).
    void update_case(const LedgerCase& c);
    void append_history(const HistoryEntry& entry);
    void insert_run(const RunRecord& run);

private:
    LedgerStore() = default;
    [[noreturn]] void fail(const std::string& what) const;
    void bind_layers();
    OGRLayer* cases_ = nullptr;
    OGRLayer* history_ = nullptr;
    OGRLayer* runs_ = nullptr;
    Backend backend_ = Backend::GeoPackage;
    bool update_ = false;  // opened for update: missing added_later columns are added
    std::string location_;
    GDALDatasetUniquePtr dataset_;
    std::unique_ptr<OGRSpatialReference> srs_;
};


// The test point "transaction:<where>" (pipeline/core/test_point.hpp): feed, import and the
// rectification check call it half-way through their writes, where crash-safety tests pause
// the process to kill it inside the transaction. Inert in the installed weipian.
void pause_in_transaction_for_tests(const char* where);

// SHA-256 of `bytes` as 64 lower-case hex digits (OpenSSL).
std::string sha256_hex(const std::string& bytes);

}  // namespace weipian
