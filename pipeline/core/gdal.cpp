#include "pipeline/core/gdal.hpp"

#include <algorithm>
#include <mutex>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>

#include "pipeline/core/location.hpp"

namespace weipian {

void ensure_gdal_registered() {
    static std::once_flag once;
    std::call_once(once, [] {
        GDALAllRegister();
        // Strips are read once, tile row by tile row: a small block cache suffices, and GDAL's
        // default (5 % of RAM, 1.2 GB here) would dominate peak memory. A user's setting wins.
        if (!CPLGetConfigOption("GDAL_CACHEMAX", nullptr)) GDALSetCacheMax64(64LL << 20);
        // Uncompressed GeoTIFF strips are copied straight from the file, bypassing the block
        // cache (with a pixel-interleaved buffer, see EpochReader::read).
        if (!CPLGetConfigOption("GTIFF_DIRECT_IO", nullptr)) CPLSetConfigOption("GTIFF_DIRECT_IO", "YES");
        CPLSetErrorHandler([](CPLErr level, CPLErrorNum, const char* msg) {
            if (level >= CE_Failure)
                spdlog::debug("GDAL: {}", msg);  // failures surface through our own messages
            else if (level == CE_Warning)
                spdlog::debug("GDAL warning: {}", msg);
        });
    });
}

std::string last_gdal_error() {
    // One line: libpq's messages (through GDAL) span several lines.
    std::string text;
    if (const char* message = CPLGetLastErrorMsg())
        for (const char* c = message; *c; ++c) {
            const bool space = *c == '\n' || *c == '\r' || *c == '\t' || *c == ' ';
            if (!space)
                text += *c;
            else if (!text.empty() && text.back() != ' ')
                text += ' ';
        }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    // SQLite's failures quote the whole statement (kilobytes of CREATE TABLE): keep the start
    // and the end, where the cause ("disk I/O error") is.
    constexpr std::size_t kMax = 400;
    if (text.size() > kMax) {
        std::size_t head = kMax / 2, tail = text.size() - kMax / 2;
        while (head > 0 && (static_cast<unsigned char>(text[head]) & 0xC0) == 0x80) --head;  // UTF-8 boundaries
        while (tail < text.size() && (static_cast<unsigned char>(text[tail]) & 0xC0) == 0x80) ++tail;
        text = text.substr(0, head) + " … " + text.substr(tail);
    }
    return text.empty() ? std::string("no detail from GDAL") : text;
}

std::string gdal_database_name(const std::string& location) {
    if (location.rfind("PG:", 0) == 0) return location;
    if (is_postgres_ledger(location)) return "PG:" + location;
    return location;
}

GDALDatasetUniquePtr open_vector_database(const std::string& location, bool update) {
    const bool postgres = is_postgres_ledger(location);
    const char* drivers[] = {postgres ? "PostgreSQL" : "GPKG", nullptr};
    CPLErrorReset();
    return GDALDatasetUniquePtr(GDALDataset::Open(gdal_database_name(location).c_str(),
                                                  GDAL_OF_VECTOR | (update ? GDAL_OF_UPDATE : 0), drivers, nullptr, nullptr));
}

bool execute_sql(GDALDataset& dataset, const std::string& sql) {
    CPLErrorReset();
    OGRLayer* result = dataset.ExecuteSQL(sql.c_str(), nullptr, nullptr);
    if (result) dataset.ReleaseResultSet(result);
    return CPLGetLastErrorType() < CE_Failure;
}

bool sql_has_rows(GDALDataset& dataset, const std::string& sql) {
    CPLErrorReset();
    OGRLayer* result = dataset.ExecuteSQL(sql.c_str(), nullptr, nullptr);
    if (!result) return false;
    OGRFeatureUniquePtr row(result->GetNextFeature());
    dataset.ReleaseResultSet(result);
    return row != nullptr;
}

CPLErr add_to_zip(void* zip, const std::string& name, std::string_view bytes, bool deflate) {
    char** options = deflate ? nullptr : CSLSetNameValue(nullptr, "COMPRESSED", "NO");
    CPLErrorReset();
    CPLErr err = CPLCreateFileInZip(zip, name.c_str(), options);
    CSLDestroy(options);
    if (err != CE_None) return err;
    constexpr std::size_t kPiece = std::size_t{1} << 30;
    for (std::size_t at = 0; err == CE_None && at < bytes.size(); at += kPiece)
        err = CPLWriteFileInZip(zip, bytes.data() + at, static_cast<int>(std::min(bytes.size() - at, kPiece)));
    if (CPLCloseFileInZip(zip) != CE_None) err = CE_Failure;
    return err;
}

}  // namespace weipian
