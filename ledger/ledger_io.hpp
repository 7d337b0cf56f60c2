#pragma once
// Field-verification results into the ledger (`weipian ledger import`) and the case list out of
// it (`weipian ledger export`).
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace weipian {

// ---- import ---------------------------------------------------------------------------------

// One data row of a verification sheet; an empty string is a blank cell.
struct ImportRow {
    std::string where;  // "line 7" (CSV, the line the record starts on) or "sheet 核查 line 7" (XLSX)
    std::string case_id;
    std::string result;         // 核查结果: 合法, 误报, 违法
    std::string rectification;  // 整改状态: 整改中, 已整改, 销号 (未整改 or blank = no change)
    std::string date;           // 日期 of the change
    std::string responsible;    // 责任人
    std::string notes;          // 备注
    std::string measures;       // 整改措施
    std::string deadline;       // 整改时限
    std::string tblx;           // 图斑类型 as checked in the field (kPatchTypeCodes)
};

// Reads a CSV (UTF-8, with or without BOM, or GBK as Excel saves it in China; comma, tab or
// semicolon separated, quotes as RFC 4180) or an XLSX workbook (every sheet with a case-id
// column, read through GDAL's XLSX driver). Headers are recognised in Chinese or English:
//   case id        图斑编号 监测图斑编号 案件编号 编号 JCBH case_id id
//   result         核查结果 核查情况 判定结果 合法性 HFXSC result
//   rectification  整改状态 整改情况 整改进度 ZGZT rectification status
//   date           日期 核查日期 整改日期 时间 date
//   responsible    责任人 ZRR responsible
//   notes          备注 BZ notes remarks
//   measures       整改措施 ZGCS measures
//   deadline       整改时限 整改期限 ZGQX deadline
//   patch type     图斑类型 TBLX patch_type (one of kPatchTypeCodes, pipeline/core/parcel.hpp)
// Other columns are ignored. Blank rows are skipped. Throws InputError naming the file when it
// cannot be read or has no case-id column.
std::vector<ImportRow> read_import_file(const std::filesystem::path& path);

struct ImportOptions {
    std::string who;     // recorded as who made the changes
    std::string today;   // YYYY-MM-DD; dates after it are refused; empty = today
    std::string source;  // recorded with each change, e.g. the file name
};

struct ImportIssue {
    std::string where;
    std::string message;
};

struct ImportSummary {
    std::string ledger;  // redacted location
    std::size_t rows = 0;
    std::size_t applied = 0;    // rows that changed their case
    std::size_t unchanged = 0;  // rows the ledger already agreed with
    std::size_t refused = 0;    // rows with an issue (nothing of them applied)
    std::size_t status_changes = 0;
    std::size_t field_changes = 0;
    std::vector<ImportIssue> issues;
    // The issues, one a line ("line 7: unknown case id '…'"), then the counts.
    std::string text() const;
};

// Applies the rows in order, each on the case as the rows before it left it. A row is applied
// whole or not at all: its result (核查结果) first, then its rectification status (整改状态),
// each a lifecycle transition unless the case already has it; then 责任人, 整改措施, 整改时限,
// 备注, 图斑类型 where given and different. Refused, per row: an unknown case id, a value that is not a
// result/status, a bad or future date, a status change without a date, a date before the case's
// last recorded change, a transition the lifecycle does not allow. All applied rows are written
// in one transaction. Throws InputError only when the ledger cannot be opened or written.
ImportSummary import_verification(const std::string& ledger, const std::vector<ImportRow>& rows,
                                  const ImportOptions& options);

// ---- export ---------------------------------------------------------------------------------

enum class ExportFormat { Xlsx, Shapefile, GeoPackage, Kml };

// "xlsx", "shp", "gpkg", "kml" (case-insensitive); and the format a path's extension names.
std::optional<ExportFormat> parse_export_format(const std::string& name);
std::optional<ExportFormat> export_format_of(const std::filesystem::path& path);

struct ExportSummary {
    std::size_t cases = 0;
    std::size_t townships = 0;
    std::filesystem::path path;
};

// Writes every case of the ledger, ordered by township code and case id:
//  - xlsx: a 汇总 sheet (per township: cases, 亩, cases on cultivated land, their 亩, count per
//    status, and a 合计 row), then a sheet per township with Chinese headers (图斑编号, 核查结果,
//    整改状态, 日期, 责任人, 备注, 图斑类型, … — a filled-in copy can be imported back);
//  - shp: MultiPolygon in the ledger CRS, attributes in GBK with a .cpg, field names of at most
//    10 bytes: JCBH XZQDM XZMC NF QSX HSX XZB YZB JCMJ GDMJ TBLX ZT HFXSC ZGCS ZGQX ZRR YXFH BZ;
//  - gpkg: a copy of the ledger (cases, history, runs), itself a ledger;
//  - kml: one folder per township, placemarks named by case id, in longitude/latitude
//    (EPSG:4326, longitude first).
// The output is written under a temporary name and renamed when complete (a previous file is
// replaced then). `out` must end in the format's extension. Throws ConfigError for a wrong
// extension, InputError when the ledger cannot be read or the output written.
ExportSummary export_ledger(const std::string& ledger, ExportFormat format, const std::filesystem::path& out);

}  // namespace weipian
