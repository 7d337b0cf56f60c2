#pragma once
// Delivered leads (下发线索, ENFORCEMENT.md §1) in the ledger: `weipian ledger import-leads` and
// `weipian ledger leads`.
//
// A lead file is one monitoring batch as the platform delivers it, read through OGR:
//  - a Shapefile, in UTF-8 or GBK: a .cpg (or the DBF's code page) is honoured; without either,
//    text that is not valid UTF-8 is read as GBK (CP936) with one warning naming the fix (so is
//    such text under a .cpg that says otherwise, with its own warning);
//  - a GeoPackage (the first layer holding an id field);
//  - an XLSX workbook without geometry (GDAL's XLSX driver, first row = headers): the columns x/y
//    (LedgerConfig::LeadFields::x / y) give a point. A row whose values are degrees
//    (|x| ≤ 180 and |y| ≤ 90) is longitude/latitude in CGCS2000 (EPSG:4490); any other row is
//    x = easting, y = northing in the ledger's own CRS (so the ledger must exist).
// A point lead (XLSX, or point geometry) is located at the point; for matching it is the circle
// around it whose area is the lead's 监测面积, or, without an area, a 20 m × 20 m square
// (kPointLeadSideM). Its case area is the 监测面积 (0 without one); a polygon lead's area is the
// area of its outline (planar, in the ledger CRS when projected, else in the CGCS2000 GK/UTM zone
// of the lead, default_area_crs).
// Fields are found by LedgerConfig::lead_fields (keys ledger.lead_fields.*, each a list of
// accepted names tried in order, ASCII case ignored). Rows ("row N") are counted from 1 in the
// layer's order for a Shapefile or GeoPackage, and are spreadsheet rows for XLSX (header = row 1).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ogr_geometry.h>

#include "pipeline/core/config.hpp"

namespace weipian {

// Side of the square that stands for a point lead without 监测面积, metres.
inline constexpr double kPointLeadSideM = 20.0;

struct LeadImportOptions {
    std::string batch;   // --batch: the batch of every row, over the file's batch field; empty = the file's
    std::string who;     // recorded in the history
    std::string source;  // recorded with each change, e.g. the file name
    std::string county_code;  // the cases' county code; empty = the first 6 digits of the lead id
    // The township of a case outline (ledger CRS) as (name, code); empty function = no township
    // layer: lead cases stay kUnassignedTownship until a run's parcel matches them.
    std::function<std::pair<std::string, std::string>(const OGRGeometry& outline, const OGRSpatialReference& srs)> township_of;
};

struct LeadIssue {
    std::string where;  // "row 7" or "rows 4 and 9"
    std::string message;
};

struct LeadImportSummary {
    std::string ledger;  // redacted location
    std::string file;
    std::size_t rows = 0;
    std::size_t imported = 0;   // new lead cases
    std::size_t unchanged = 0;  // leads already in the ledger as the file has them
    std::size_t refused = 0;    // rows not imported: their id is in the ledger with other values
    std::size_t linked = 0;     // new leads linked to an open self-found case at the same place
    std::size_t earlier = 0;    // new leads with an earlier-period id
    // The file was refused as a whole (duplicate ids, bad dates, rows without a place): nothing
    // was written.
    bool bad_input = false;
    std::vector<LeadIssue> issues;
    std::vector<std::string> new_case_ids;
    // The issues, one a line ("row 7: …"), then the counts.
    std::string text() const;
    bool failed() const { return bad_input || refused > 0; }  // exit code 3
};

// Imports the leads of `file` into the ledger `ledger.path` (created with the file's CRS when
// absent and the file is projected; with the GK/UTM zone of the first lead when it is in degrees).
// Every lead becomes a case keyed by its own id (sub-parcel suffixes _n kept): source 下发线索,
// lead_id = id, batch, delivered_at, qsx/hsx, year = the HSX year (else the delivery year, else 0),
// seq 0, area, centroid, township (options.township_of), status 待核查.
//  - Link: an open self-found case (source 自主发现 or empty) at the same place (ledger.match_rule
//    ratio ≥ ledger.match_threshold, the best one) is linked: lead.linked_case = that case,
//    lead.detected_run = its first_seen_run (and, without options.township_of, its township);
//    the self case gets lead_id = the lead and linked_case = the lead case when it has no lead yet.
//  - earlier_id: the file's 往期图斑编号; else the case at the same place that is closed or of an
//    earlier year or HSX (cross-period linkage).
//  - The same file again changes nothing (counted unchanged). A lead id already in the ledger
//    with another outline, area, batch, dates or earlier id is refused for that row, not
//    overwritten; the other rows are imported.
// Bad input refuses the whole file, nothing written (summary.bad_input, one issue per problem):
// two rows with one id ("rows 4 and 9 both have 线索编号 X"), an empty id, a date that is not a
// date, an area that is not a number ≥ 0, a row with neither geometry nor coordinates.
// Throws InputError when the file cannot be read, has no id field (naming the accepted names and
// the file's fields), has no CRS, or the ledger cannot be opened/written; ConfigError for bad
// match options.
LeadImportSummary import_leads(const LedgerConfig& ledger, const std::filesystem::path& file,
                               const LeadImportOptions& options);

// ---- listing (`weipian ledger leads`) --------------------------------------------------------

// 已匹配: detected by a run or linked to a self-found case; 漏检: not detected although a fed run
// covered it; 未覆盖: no fed run covered it yet.
enum class LeadStatus { Matched, Missed, NotCovered };
const char* lead_status_label(LeadStatus status);  // 已匹配, 漏检, 未覆盖

struct LeadLine {
    std::string lead_id;
    std::string batch;
    std::string township;  // township_label
    std::int64_t area_centimu = 0;
    LeadStatus status = LeadStatus::NotCovered;
    std::string matched_case;  // 已匹配: the linked self-found case, or the lead case itself
    std::string earlier_id;
    std::string case_status;  // the case's status word (待核查, …)
};

struct LeadListing {
    std::string ledger;
    std::vector<LeadLine> leads;  // by batch, then id
    std::size_t delivered = 0, matched = 0, missed = 0, not_covered = 0;
    std::size_t self_found = 0;  // 自主发现 cases linked to no lead
    // A table (线索编号 批次 乡镇 面积(亩) 状态 案件 往期图斑) and the totals line; with
    // `missed_only` only the 漏检 rows (the totals stay whole).
    std::string text(bool missed_only = false) const;
};

// The ledger's lead cases and their status. A lead is covered by a fed run (runs table) of its
// county (any county when the lead has none) whose HSX is on or after the lead's HSX and whose QSX
// (when both are known) is before the lead's HSX; leads without HSX count as covered by any run
// fed on or after their delivery date. Runs record no footprint, so coverage of the place is
// assumed county-wide. Missed leads are the training data the learned detector lacks
// (`weipian train --ledger` uses lead cases with verdicts like any other case).
// Throws InputError when the ledger cannot be read.
LeadListing list_leads(const std::string& ledger);

}  // namespace weipian
