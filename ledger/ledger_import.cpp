// `weipian ledger import`: verification sheets (CSV, XLSX) into the ledger.
#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_minixml.h>
#include <cpl_string.h>
#include <gdal_priv.h>
#include <gdal_version.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_store.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

enum class Column { CaseId, Result, Rectification, Date, Responsible, Notes, Measures, Deadline, PatchType };

std::string header_key(const std::string& text) {
    std::string out;
    for (const char ch : trim_cell(text)) {
        if (ch == ' ' || ch == '_' || ch == '-') continue;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    return out;
}

std::optional<Column> column_of(const std::string& header) {
    static const std::vector<std::pair<Column, std::vector<std::string>>> aliases = {
        {Column::CaseId, {"图斑编号", "监测图斑编号", "案件编号", "编号", "jcbh", "caseid", "id"}},
        {Column::Result, {"核查结果", "核查情况", "判定结果", "合法性", "hfxsc", "result"}},
        {Column::Rectification, {"整改状态", "整改情况", "整改进度", "zgzt", "rectification", "status"}},
        {Column::Date, {"日期", "核查日期", "整改日期", "时间", "date"}},
        {Column::Responsible, {"责任人", "zrr", "responsible"}},
        {Column::Notes, {"备注", "bz", "notes", "note", "remarks"}},
        {Column::Measures, {"整改措施", "zgcs", "measures"}},
        {Column::Deadline, {"整改时限", "整改期限", "zgqx", "deadline"}},
        {Column::PatchType, {"图斑类型", "tblx", "patchtype"}},
    };
    const std::string key = header_key(header);
    for (const auto& [column, names] : aliases)
        if (std::find(names.begin(), names.end(), key) != names.end()) return column;
    return std::nullopt;
}

std::string* cell_of(ImportRow& row, Column column) {
    switch (column) {
        case Column::CaseId: return &row.case_id;
        case Column::Result: return &row.result;
        case Column::Rectification: return &row.rectification;
        case Column::Date: return &row.date;
        case Column::Responsible: return &row.responsible;
        case Column::Notes: return &row.notes;
        case Column::Measures: return &row.measures;
        case Column::Deadline: return &row.deadline;
        case Column::PatchType: return &row.tblx;
    }
    return nullptr;
}

bool blank(const ImportRow& row) {
    return row.case_id.empty() && row.result.empty() && row.rectification.empty() && row.date.empty() &&
           row.responsible.empty() && row.notes.empty() && row.measures.empty() && row.deadline.empty() && row.tblx.empty();
}

bool valid_utf8(const std::string& text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > text.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(text[i + k]) >> 6) != 2) return false;
        i += n;
    }
    return true;
}

// Records of a CSV text with the line each starts on.
std::vector<std::pair<int, std::vector<std::string>>> parse_csv(const std::string& text, char separator) {
    std::vector<std::pair<int, std::vector<std::string>>> records;
    std::vector<std::string> fields(1);
    int line = 1, record_line = 1;
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (quoted) {
            if (ch == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    fields.back() += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                if (ch == '\n') ++line;
                fields.back() += ch;
            }
            continue;
        }
        if (ch == '"') {
            quoted = true;
            any = true;
        } else if (ch == separator) {
            fields.emplace_back();
            any = true;
        } else if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            if (any) records.emplace_back(record_line, std::move(fields));
            fields.assign(1, std::string());
            any = false;
            record_line = ++line;
        } else {
            fields.back() += ch;
            any = true;
        }
    }
    if (any) records.emplace_back(record_line, std::move(fields));
    return records;
}

std::vector<ImportRow> read_csv(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("import: cannot read '" + path.string() + "'; check the path");
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
    if (!valid_utf8(text)) {
        // Excel in a Chinese locale saves CSV in GBK (code page 936); GB18030 is its superset.
        char* recoded = CPLRecode(text.c_str(), "GB18030", CPL_ENC_UTF8);
        text = recoded ? recoded : "";
        CPLFree(recoded);
    }
    const auto first_break = text.find_first_of("\r\n");
    const std::string header_line = text.substr(0, first_break);
    char separator = ',';
    if (header_line.find(',') == std::string::npos) {
        if (header_line.find('\t') != std::string::npos)
            separator = '\t';
        else if (header_line.find(';') != std::string::npos)
            separator = ';';
    }
    const auto records = parse_csv(text, separator);
    if (records.empty()) throw InputError("import: '" + path.string() + "' is empty; give a sheet with a header row");
    std::vector<std::optional<Column>> columns;
    for (const auto& header : records.front().second) columns.push_back(column_of(header));
    if (std::find(columns.begin(), columns.end(), Column::CaseId) == columns.end())
        throw InputError("import: '" + path.string() +
                         "' has no case-id column in its first line; name one 图斑编号 (or JCBH, case_id)");
    std::vector<ImportRow> rows;
    for (std::size_t r = 1; r < records.size(); ++r) {
        ImportRow row;
        row.where = "line " + std::to_string(records[r].first);
        const auto& fields = records[r].second;
        for (std::size_t c = 0; c < fields.size() && c < columns.size(); ++c)
            if (columns[c]) *cell_of(row, *columns[c]) = trim_cell(fields[c]);
        if (!blank(row)) rows.push_back(std::move(row));
    }
    return rows;
}

// The local name of an XML element ("x:sheet" -> "sheet"): some writers prefix the
// spreadsheetml namespace.
std::string local_name(const char* name) {
    const std::string text = name ? name : "";
    const auto colon = text.find(':');
    return colon == std::string::npos ? text : text.substr(colon + 1);
}

// Names of the sheets that xl/workbook.xml marks state="hidden" or "veryHidden" (read through
// GDAL's /vsizip/). Empty when the workbook part cannot be read: the XLSX driver then reports.
std::set<std::string> hidden_sheets(const fs::path& path) {
    const std::string part = "/vsizip/" + path.string() + "/xl/workbook.xml";
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLXMLNode* root = CPLParseXMLFile(part.c_str());
    CPLPopErrorHandler();
    std::set<std::string> hidden;
    if (!root) return hidden;
    for (CPLXMLNode* top = root; top; top = top->psNext) {
        if (top->eType != CXT_Element || local_name(top->pszValue) != "workbook") continue;
        for (CPLXMLNode* sheets = top->psChild; sheets; sheets = sheets->psNext) {
            if (sheets->eType != CXT_Element || local_name(sheets->pszValue) != "sheets") continue;
            for (CPLXMLNode* sheet = sheets->psChild; sheet; sheet = sheet->psNext) {
                if (sheet->eType != CXT_Element || local_name(sheet->pszValue) != "sheet") continue;
                const std::string state = CPLGetXMLValue(sheet, "state", "visible");
                if (state == "hidden" || state == "veryHidden") hidden.insert(CPLGetXMLValue(sheet, "name", ""));
            }
        }
    }
    CPLDestroyXMLNode(root);
    return hidden;
}

bool has_case_id(const std::vector<std::optional<Column>>& columns) {
    return std::find(columns.begin(), columns.end(), Column::CaseId) != columns.end();
}

std::vector<ImportRow> read_xlsx(const fs::path& path) {
    ensure_gdal_registered();
    // The first row is the header and every cell is read as text (ids such as 0101 keep their
    // zeros). GDAL ≥ 3.8 takes these as open options; older GDAL (Debian 12 has 3.6) only reads
    // the OGR_XLSX_* configuration options, and reads a sheet's header lazily, so they stay set
    // (for this thread) until the sheets have been read.
    CPLConfigOptionSetter headers("OGR_XLSX_HEADERS", "FORCE", false);
    CPLConfigOptionSetter types("OGR_XLSX_FIELD_TYPES", "STRING", false);
    const char* drivers[] = {"XLSX", nullptr};
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 8, 0)
    const char* options[] = {"HEADERS=FORCE", "FIELD_TYPES=STRING", nullptr};
#else
    const char* options[] = {nullptr};
#endif
    CPLErrorReset();
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR, drivers, options, nullptr));
    if (!ds)
        throw InputError("import: cannot read '" + path.string() + "' as an XLSX workbook (" +
                         last_gdal_error() + "); save it as .xlsx or .csv");
    const auto hidden = hidden_sheets(path);
    std::vector<ImportRow> rows;
    bool any_sheet = false;
    for (OGRLayer* sheet : ds->GetLayers()) {
        if (hidden.contains(sheet->GetName())) {
            // A hidden sheet is usually a draft or a lookup table; importing it would apply
            // rows nobody sees in Excel.
            spdlog::warn("import: '{}': sheet '{}' is hidden and is not imported; unhide it in Excel "
                         "(right-click a sheet tab > Unhide) to import its rows",
                         path.string(), sheet->GetName());
            continue;
        }
        OGRFeatureDefn* definition = sheet->GetLayerDefn();
        std::vector<std::optional<Column>> columns;
        for (int i = 0; i < definition->GetFieldCount(); ++i) columns.push_back(column_of(definition->GetFieldDefn(i)->GetNameRef()));
        sheet->ResetReading();
        OGRFeatureUniquePtr first(sheet->GetNextFeature());
        bool header_in_first_row = false;
        if (!has_case_id(columns) && first) {
            // A GDAL that took the header row as data (fields Field1, Field2, …): the first
            // feature holds the headers.
            std::vector<std::optional<Column>> from_row;
            for (int i = 0; i < definition->GetFieldCount(); ++i)
                from_row.push_back(first->IsFieldSetAndNotNull(i) ? column_of(first->GetFieldAsString(i)) : std::nullopt);
            if (has_case_id(from_row)) {
                columns = std::move(from_row);
                header_in_first_row = true;
            }
        }
        if (!has_case_id(columns)) continue;  // e.g. 汇总
        any_sheet = true;
        if (header_in_first_row) first.reset(sheet->GetNextFeature());
        for (OGRFeatureUniquePtr f = std::move(first); f; f.reset(sheet->GetNextFeature())) {
            ImportRow row;
            // The XLSX driver numbers features by spreadsheet row (the header is row 1).
            row.where = std::string("sheet ") + sheet->GetName() + " line " + std::to_string(f->GetFID());
            for (int i = 0; i < definition->GetFieldCount(); ++i)
                if (columns[static_cast<std::size_t>(i)] && f->IsFieldSetAndNotNull(i))
                    *cell_of(row, *columns[static_cast<std::size_t>(i)]) = trim_cell(f->GetFieldAsString(i));
            if (!blank(row)) rows.push_back(std::move(row));
        }
    }
    if (!any_sheet)
        throw InputError("import: no " + std::string(hidden.empty() ? "" : "visible ") + "sheet of '" + path.string() +
                         "' has a case-id column in its first row; name one 图斑编号 (or JCBH, case_id)");
    return rows;
}

std::string lower_extension(const fs::path& path) {
    return lower_ascii(path.extension().string());
}

// Crash-safety tests: WEIPIAN_TEST_KILL_AT=import:<n> makes the process SIGKILL itself right
// after the n-th write inside the import's transaction (import:0 = just after it began), and
// import:commit just after the commit, so a test can kill it at an exact point without timing.
// Does nothing when unset or naming another point.
void kill_point_for_tests(const std::string& point) {
    const char* value = std::getenv("WEIPIAN_TEST_KILL_AT");
    if (value && *value && ("import:" + point) == value) ::raise(SIGKILL);
}

// No status given or recognised (never stored).
constexpr auto kNone = static_cast<CaseStatus>(-1);

// The status `text` names if it is one of `allowed`, else kNone.
CaseStatus status_among(const std::string& text, std::initializer_list<CaseStatus> allowed) {
    const auto status = parse_status(text);
    if (status && std::find(allowed.begin(), allowed.end(), *status) != allowed.end()) return *status;
    return kNone;
}

bool means_no_rectification(const std::string& text) {
    return text.empty() || text == "未整改" || text == "无" || text == "-" || text == "—" || text == "/";
}

}  // namespace

std::vector<ImportRow> read_import_file(const fs::path& path) {
    if (!fs::exists(path)) throw InputError("import: '" + path.string() + "' does not exist; check the path");
    const std::string ext = lower_extension(path);
    if (ext == ".xlsx") return read_xlsx(path);
    if (ext == ".csv" || ext == ".txt" || ext == ".tsv") return read_csv(path);
    throw InputError("import: '" + path.string() + "' is neither .csv nor .xlsx; save the sheet as one of them");
}

std::string ImportSummary::text() const {
    std::ostringstream out;
    for (const auto& issue : issues) out << issue.where << ": " << issue.message << "\n";
    out << "import into ledger '" << ledger << "': " << rows << " rows: " << applied << " applied (" << status_changes
        << " status changes, " << field_changes << " field changes), " << unchanged << " unchanged, " << refused
        << " refused\n";
    return out.str();
}

ImportSummary import_verification(const std::string& ledger, const std::vector<ImportRow>& rows, const ImportOptions& options) {
    const std::string today = options.today.empty() ? today_date() : options.today;
    const std::string who = options.who.empty() ? std::string("unknown") : options.who;
    const std::string recorded_at = now_utc();
    ImportSummary summary;
    summary.ledger = redact_ledger_location(ledger);

    auto store = LedgerStore::open(ledger, LedgerStore::Mode::Update);
    auto transaction = store->begin();
    kill_point_for_tests("0");
    std::vector<LedgerCase> cases = store->load_cases();
    std::map<std::string, std::size_t> by_id;
    for (std::size_t i = 0; i < cases.size(); ++i) by_id[cases[i].case_id] = i;
    std::map<std::string, std::string> last_change;  // case id -> latest `at`
    for (const auto& entry : store->load_history()) {
        auto& last = last_change[entry.case_id];
        last = std::max(last, entry.at);
    }

    std::vector<bool> touched(cases.size(), false);
    std::vector<HistoryEntry> entries;
    for (const auto& row : rows) {
        ++summary.rows;
        std::vector<std::string> problems;
        const auto refuse = [&](const std::string& message) { problems.push_back(message); };

        const auto found = by_id.find(row.case_id);
        if (row.case_id.empty()) {
            refuse("no case id (图斑编号)");
        } else if (found == by_id.end()) {
            refuse("unknown case id '" + row.case_id + "'");
        }
        // kNone stands for a blank cell (an enum, not std::optional: GCC 12 warns falsely on the latter here).
        const CaseStatus result =
            row.result.empty() ? kNone : status_among(row.result, {CaseStatus::Legal, CaseStatus::FalseAlarm, CaseStatus::Illegal});
        if (!row.result.empty() && result == kNone) refuse("result (核查结果) '" + row.result + "' is not one of 合法, 误报, 违法");
        const bool rectification_given = !means_no_rectification(row.rectification);
        const CaseStatus rectification =
            rectification_given ? status_among(row.rectification, {CaseStatus::Rectifying, CaseStatus::Rectified, CaseStatus::Closed})
                                : kNone;
        if (rectification_given && rectification == kNone)
            refuse("rectification status (整改状态) '" + row.rectification + "' is not one of 整改中, 已整改, 销号 (or 未整改)");
        std::optional<std::string> date;
        if (!row.date.empty()) {
            date = parse_ledger_date(row.date);
            if (!date)
                refuse("bad date '" + row.date + "' (日期); write YYYY-MM-DD, e.g. 2023-09-30");
            else if (*date > today)
                refuse("date " + *date + " is in the future (today is " + today + ")");
        }
        std::optional<std::string> deadline;
        if (!row.deadline.empty()) {
            deadline = parse_ledger_date(row.deadline);
            if (!deadline) refuse("bad deadline '" + row.deadline + "' (整改时限); write YYYY-MM-DD, e.g. 2024-03-31");
        }
        std::string tblx = trim_cell(row.tblx);
        for (auto& ch : tblx) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (!tblx.empty() && std::find_if(std::begin(kPatchTypeCodes), std::end(kPatchTypeCodes),
                                          [&](const char* code) { return tblx == code; }) == std::end(kPatchTypeCodes)) {
            std::string codes;
            for (const char* code : kPatchTypeCodes) codes += std::string(codes.empty() ? "" : ", ") + code;
            refuse("patch type (图斑类型) '" + row.tblx + "' is not one of " + codes);
        }
        const auto report_refusal = [&] {
            ++summary.refused;
            std::string message;
            for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
            summary.issues.push_back({row.where, message});
        };
        if (!problems.empty()) {
            report_refusal();
            continue;
        }

        LedgerCase& c = cases[found->second];
        // The transitions the row asks for, each from the status the previous one left.
        std::vector<std::pair<CaseStatus, CaseStatus>> steps;
        CaseStatus status = c.status;
        if (result != kNone && !(c.result == result && status != CaseStatus::ToVerify)) {
            if (status != result) steps.emplace_back(status, result);
            status = result;
        }
        if (rectification != kNone && status != rectification) {
            steps.emplace_back(status, rectification);
            status = rectification;
        }
        for (const auto& [from, to] : steps)
            if (!transition_allowed(from, to)) {
                refuse(refused_transition_message(c.case_id, from, to));
                break;
            }
        if (problems.empty() && !steps.empty() && !date) refuse("no date (日期) for the change; fill in when it happened");
        const std::string at = date.value_or(today);
        const std::string& last = last_change[c.case_id];
        if (problems.empty() && date && *date < last)
            refuse("date " + *date + " is before the case's last recorded change on " + last);

        // Field changes, described as "责任人：张三 → 李四".
        std::vector<std::pair<std::string*, std::string>> fields;
        std::string what_fields;
        const auto field = [&](std::string& target, const std::string& value, const char* label) {
            if (value.empty() || value == target) return;
            what_fields += std::string(what_fields.empty() ? "" : "；") + label + "：" + (target.empty() ? "（空）" : target) +
                           " → " + value;
            fields.emplace_back(&target, value);
        };
        field(c.plan.responsible, row.responsible, "责任人");
        field(c.plan.measures, row.measures, "整改措施");
        field(c.plan.deadline, deadline.value_or(""), "整改时限");
        field(c.notes, row.notes, "备注");
        field(c.tblx, tblx, "图斑类型");
        if (problems.empty() && !fields.empty() && date && *date < last)
            refuse("date " + *date + " is before the case's last recorded change on " + last);

        if (!problems.empty()) {
            report_refusal();
            continue;
        }
        if (steps.empty() && fields.empty()) {
            ++summary.unchanged;
            continue;
        }
        ++summary.applied;
        const std::string source = (options.source.empty() ? std::string("import") : "import " + options.source) + " " + row.where;
        for (const auto& [from, to] : steps) {
            const bool is_result = to == CaseStatus::Legal || to == CaseStatus::FalseAlarm || to == CaseStatus::Illegal;
            entries.push_back({-1, c.case_id, at, recorded_at, who, from, to,
                               std::string(is_result ? "核查结果：" : "整改状态：") + status_label(to), source});
            c.status = to;
            if (is_result) c.result = to;
            if (to == CaseStatus::Rectifying) {  // rework acknowledged: the flag has been answered
                c.flag.clear();
                c.flag_date.clear();
            }
            ++summary.status_changes;
        }
        if (!fields.empty()) {
            for (auto& [target, value] : fields) *target = value;
            entries.push_back({-1, c.case_id, at, recorded_at, who, c.status, c.status, what_fields, source});
            summary.field_changes += fields.size();
        }
        c.updated_at = recorded_at;
        touched[found->second] = true;
        last_change[c.case_id] = std::max(last, at);
    }

    const std::size_t planned = static_cast<std::size_t>(std::count(touched.begin(), touched.end(), true)) + entries.size();
    std::size_t writes = 0;
    const auto wrote = [&] {
        if (++writes == planned / 2 + 1) pause_in_transaction_for_tests("import");
        kill_point_for_tests(std::to_string(writes));
    };
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
    kill_point_for_tests("commit");
    spdlog::debug("ledger import: {} rows, {} applied", summary.rows, summary.applied);
    return summary;
}

}  // namespace weipian
