#pragma once
// The process-wide GDAL set-up and GDAL's error text, one copy each.
#include <string>
#include <string_view>

#include <gdal_priv.h>

namespace weipian {

// The process-wide GDAL set-up, once (thread-safe); stages call it before opening files:
// registers the drivers, caps the block cache at 64 MB and turns on GeoTIFF direct I/O unless
// the user set GDAL_CACHEMAX / GTIFF_DIRECT_IO, and routes GDAL messages to the debug log (our
// own messages say what failed).
void ensure_gdal_registered();

// GDAL's last error message (CPLGetLastErrorMsg), or "no detail from GDAL" when it has none.
std::string last_gdal_error();

// ---- databases GDAL holds (the case ledger, the imagery catalog) ------------------------------

// What GDAL opens for a ledger-style location (pipeline/core/location.hpp): PostgreSQL URIs
// get the driver's "PG:" prefix; a GeoPackage path is itself.
std::string gdal_database_name(const std::string& location);
// Opens the GeoPackage or PostgreSQL database at `location` as a vector dataset (update or
// read-only); null with GDAL's message pending when it cannot be opened.
GDALDatasetUniquePtr open_vector_database(const std::string& location, bool update);
// Runs a statement that returns no rows; false (with GDAL's message pending) on failure.
bool execute_sql(GDALDataset& dataset, const std::string& sql);
// True when `sql` returns at least one row.
bool sql_has_rows(GDALDataset& dataset, const std::string& sql);

// ---- zip archives (KMZ) -----------------------------------------------------------------------

// Adds one entry to a zip that CPLCreateZip opened: deflated, or stored (`deflate` false: JPEGs,
// which deflate cannot shrink). Any size (CPLWriteFileInZip takes an int: written in pieces).
// CE_None, else CE_Failure with GDAL's message pending.
CPLErr add_to_zip(void* zip, const std::string& name, std::string_view bytes, bool deflate);

}  // namespace weipian
