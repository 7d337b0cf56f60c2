#pragma once
// The imagery catalog (issue 10): every raster that arrives in the inbox folders is registered
// once, with what the nightly job needs to decide what to compare with what: path, size and
// content digest, footprint, acquisition date, sensor and bands. It lives beside the ledger (the
// same GeoPackage or PostgreSQL database, tables weipian_imagery, weipian_imagery_skipped,
// weipian_nights, weipian_catalog_meta) or in its own GeoPackage when there is no ledger.
//
// Dates come from the file's metadata as GDAL exposes it (the IMAGERY domain's
// ACQUISITIONDATETIME for DigitalGlobe/Pleiades/… metadata files, then ACQUISITION_DATE,
// DATE_ACQUIRED, TIFFTAG_DATETIME in the default domain), else from the first of
// nightly.date_patterns matching the file name, else the tile is undatable and left alone.
//
// Nothing in a catalog is ever deleted: a tile removed from the inbox stays registered (its
// footprint is still the earlier coverage of its place).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <ogr_geometry.h>

#include "pipeline/core/config.hpp"

namespace weipian {

// One registered raster.
struct CatalogTile {
    std::int64_t id = 0;       // catalog row id, > 0 once registered
    std::string path;          // absolute, lexically normal
    std::int64_t size = 0;     // bytes
    std::int64_t mtime = 0;    // modification time, seconds since the epoch (the cheap "unchanged" test)
    std::string digest;        // SHA-256 of the file's bytes, 64 lower-case hex digits
    std::string date;          // acquisition date, YYYY-MM-DD
    std::string date_source;   // where the date came from: "metadata IMAGERY/ACQUISITIONDATETIME",
                               // "metadata ACQUISITION_DATE", "file name", "nightly.base_date"
    std::string sensor;        // e.g. GF2 (metadata SATELLITEID/SENSOR or the file name); may be empty
    int bands = 0;
    std::string crs;           // the raster's CRS as AUTHORITY:CODE when it has one, else its name
    double pixel_size = 0;     // in CRS units (x)
    // Footprint (the raster's extent, or its valid-data outline when cheap) in lon/lat degrees
    // (EPSG:4490, x = longitude), shared and never modified in place.
    std::shared_ptr<const OGRGeometry> footprint;
    bool base = false;         // registered from nightly.base (never processed as new imagery)
    std::string registered_at; // UTC, YYYY-MM-DDTHH:MM:SSZ
    std::int64_t night = 0;    // the night that processed it (weipian_nights id); 0 = not yet
};

// A file of the inbox that was not registered, with the one line the night's log and summary
// print (naming the file and what to do).
struct CatalogIssue {
    // Changed: a registered file whose bytes changed (a registered tile is never replaced).
    enum class Kind { Corrupt, Undatable, UnknownCrs, Duplicate, Unreadable, Changed };
    Kind kind = Kind::Corrupt;
    std::string path;
    std::string message;  // e.g. "inbox: 'x.tif' has no acquisition date in its metadata or name; rename it …"
};
const char* issue_kind_name(CatalogIssue::Kind kind);  // corrupt, undatable, unknown_crs, duplicate, unreadable, changed

// One night of `weipian nightly`.
struct NightRecord {
    std::int64_t id = 0;
    std::string night;         // the night's date, YYYY-MM-DD (the folder name, maybe with -2, -3)
    std::string folder;        // absolute path of the night's output folder
    std::string status;        // "running", "done" or "nothing" (no new tiles)
    std::string started_at, finished_at;  // UTC
    std::vector<std::int64_t> tiles;      // the tiles it processes
    nlohmann::json summary;    // what the night did (counts, skipped files, deferred parcels)
};

// What one scan of the inbox found.
struct ScanResult {
    std::vector<CatalogTile> registered;   // newly registered tonight
    std::vector<CatalogIssue> issues;      // newly seen files that were not registered
    std::int64_t unchanged = 0;            // files already registered (or already skipped) and unchanged
    std::int64_t skipped_before = 0;       // files skipped on an earlier night and still there
};

class ImageryCatalog {
public:
    // Opens the catalog at `location` (a GeoPackage/SQLite file path, or a PostgreSQL connection
    // string as the ledger takes), creating its tables when absent. A catalog of another county
    // (weipian_catalog_meta county code ≠ county.code) is refused. Throws InputError naming the
    // location and what to do.
    static ImageryCatalog open(const std::string& location, const CountyConfig& county);
    ImageryCatalog(ImageryCatalog&&) noexcept;
    ImageryCatalog& operator=(ImageryCatalog&&) noexcept;
    ~ImageryCatalog();

    // Registers the base epoch's tiles (config.nightly.base: files, globs or folders) that are not
    // yet registered, marked base; a base tile without a date takes nightly.base_date. Issues as
    // for scan(). Throws InputError for a glob that matches nothing or a path that does not exist.
    ScanResult register_base(const NightlyConfig& nightly);

    // Scans the inbox folders (recursively; files with nightly.extensions, case-insensitive;
    // hidden files and folders skipped) and registers each new raster: files whose path, size and
    // mtime are already known are not opened (a night with nothing new: 0.16 s on 10,000 tiles,
    // bench/catalog_bench.cpp). A corrupt (unopenable, truncated), undatable, unknown-CRS or
    // duplicate (same digest as a registered tile) file is skipped with an issue and not retried
    // until it changes; a registered file with new bytes is an issue (Changed), one only touched
    // keeps its row. Each issue is logged with spdlog::warn as it is found and returned; a file
    // that changes while it is read (a copy in progress) is an issue too but not remembered, so
    // the next run tries it again. New rows are committed in batches (500 files or 5 s), so a
    // scan killed while hashing a large delivery keeps what it registered.
    // Throws InputError when an inbox folder does not exist or cannot be listed.
    ScanResult scan(const NightlyConfig& nightly);

    // Registered tiles that no finished night processed (not base), by date then path.
    std::vector<CatalogTile> pending() const;

    // Registered tiles (base included) whose footprint intersects `lonlat` (EPSG:4490 degrees),
    // with date in [from, to] (ISO dates; empty = open end), by date then path.
    std::vector<CatalogTile> intersecting(const OGRGeometry& lonlat, const std::string& from = {},
                                          const std::string& to = {}) const;

    // All registered tiles (for tests and `nightly --list`), by id.
    std::vector<CatalogTile> tiles() const;

    // The files skipped so far (weipian_imagery_skipped) with their last message, by path.
    std::vector<CatalogIssue> skipped() const;

    // Nights: begin_night records a running night over `tiles`; finish_night records its status
    // and summary and, for "done" or "nothing", marks its tiles processed (CatalogTile::night),
    // in one transaction. Another status (e.g. "failed") leaves the tiles pending. Each call
    // opens the database, writes in one transaction and closes it.
    std::int64_t begin_night(const std::string& night, const std::filesystem::path& folder,
                             const std::vector<std::int64_t>& tiles);
    void finish_night(std::int64_t id, const std::string& status, const nlohmann::json& summary);
    // The last night left running (killed), if any; the next start redoes it.
    std::optional<NightRecord> unfinished_night() const;
    std::vector<NightRecord> nights() const;

    const std::string& location() const;

private:
    struct Impl;
    explicit ImageryCatalog(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Where the catalog of `config` lives: nightly.catalog, else the ledger's database when
// ledger.path is set, else <output.dir>/catalog.gpkg.
std::string catalog_location(const Config& config);

// The acquisition date of a raster from its metadata (see above) or file name; empty = none.
// `source` receives where it came from.
std::string tile_date(const std::filesystem::path& path, const NightlyConfig& nightly, std::string* source = nullptr);

}  // namespace weipian
