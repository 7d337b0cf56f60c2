#pragma once
// The process-wide GDAL set-up and GDAL's error text, one copy each.
#include <string>

namespace weipian {

// The process-wide GDAL set-up, once (thread-safe); stages call it before opening files:
// registers the drivers, caps the block cache at 64 MB and turns on GeoTIFF direct I/O unless
// the user set GDAL_CACHEMAX / GTIFF_DIRECT_IO, and routes GDAL messages to the debug log (our
// own messages say what failed).
void ensure_gdal_registered();

// GDAL's last error message (CPLGetLastErrorMsg), or "no detail from GDAL" when it has none.
std::string last_gdal_error();

}  // namespace weipian
