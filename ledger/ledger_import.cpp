// `weipian ledger import`: verification sheets (CSV, XLSX) into the ledger.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <regex>
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
#include "pipeline/core/test_point.hpp"
#include "pipeline/core/units.hpp"
#include "pipeline/core/verdicts.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_store.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

// Form columns follow FormBase: Column(FormBase + i) is FormField(i).
enum class Column { CaseId, Result, Rectification, Date, Responsible, Notes, Measures, Deadline, PatchType, FormBase };

struct FormColumn {
    FormField field;
    std::vector<std::string> names;  // the first is the heading
};

const std::vector<FormColumn>& form_columns() {
    static const std::vector<FormColumn> columns = {
        {FormField::Verdict, {"核实认定意见", "认定意见", "verdict"}},
        {FormField::Category, {"分类", "category"}},
        {FormField::UseDetail, {"用途分类细化", "usedetail"}},
        {FormField::Project, {"项目名称", "project"}},
        {FormField::BuiltAt, {"建设时间", "builtat"}},
        {FormField::Developer, {"项目主体", "developer"}},
        {FormField::FieldNotes, {"现场核查描述", "fieldnotes"}},
        {FormField::Area, {"地块面积", "areamu"}},
        {FormField::Cultivated, {"占耕地面积", "cultivatedmu"}},
        {FormField::PermanentFarmland, {"占基本农田面积", "占永久基本农田面积", "yjjbntmu", "permanentfarmlandmu"}},
        {FormField::OtherAgricultural, {"占非耕农用地面积", "fgnydmu", "otheragriculturalmu"}},
        {FormField::Unused, {"占未利用地面积", "wlydmu", "unusedmu"}},
        {FormField::Redline, {"占生态红线面积", "占生态保护红线面积", "sthxmu", "redlinemu"}},
        {FormField::Construction, {"建设用地面积", "jsydmu", "constructionmu"}},
        {FormField::ApprovalNo, {"用地审批批准文号", "pzwh", "approvalno"}},
        {FormField::ApprovalShare, {"用地审批批准文号占比", "用地审批批准文号比例", "pzwhshare", "approvalshare"}},
        {FormField::SupplyNo, {"土地供应批准文号", "gdwh", "supplyno"}},
        {FormField::SupplyShare, {"土地供应批准文号占比", "土地供应批准文号比例", "gdwhshare", "supplyshare"}},
        {FormField::TitleNo, {"不动产权证号", "bdcqzh", "titleno"}},
        {FormField::TitleShare, {"不动产权证号占比", "不动产权证号比例", "bdcqzhshare", "titleshare"}},
        {FormField::TemporaryNo, {"临时用地批准文号", "lsydwh", "temporaryno"}},
        {FormField::TemporaryShare, {"临时用地批准文号占比", "临时用地批准文号比例", "lsydwhshare", "temporaryshare"}},
        {FormField::FacilityNo, {"设施农用地上图入库号", "ssnydh", "facilityno"}},
        {FormField::FacilityShare, {"设施农用地上图入库号占比", "设施农用地上图入库号比例", "ssnydhshare", "facilityshare"}},
        {FormField::RectifyMethod, {"整改方式", "zgfs", "rectifymethod"}},
        {FormField::Demolished, {"拆除面积", "ccmu", "demolishedmu"}},
        {FormField::DemolishedCultivated, {"拆除耕地面积", "ccgdmu", "demolishedcultivatedmu"}},
        {FormField::Regularised, {"补办面积", "bbmu", "regularisedmu"}},
        {FormField::RegularisedCultivated, {"补办耕地面积", "bbgdmu", "regularisedcultivatedmu"}},
        {FormField::Remaining, {"剩余未整改面积", "symu", "remainingmu"}},
        {FormField::ReviewEnded, {"审核结束日期", "审核结束时间", "审核通过日期", "审核通过时间", "reviewendedat"}},
    };
    return columns;
}

// A heading without its unit: 地块面积（亩）, 占比(%) → 地块面积, 占比.
std::string without_unit(const std::string& key) {
    for (const char* unit : {"（亩）", "(亩)", "（%）", "(%)", "（％）", "%"})
        if (key.size() > std::string(unit).size() && key.ends_with(unit)) return key.substr(0, key.size() - std::string(unit).size());
    return key;
}

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
    const std::string bare = without_unit(key);
    for (const auto& form : form_columns())
        if (std::find(form.names.begin(), form.names.end(), bare) != form.names.end())
            return static_cast<Column>(static_cast<int>(Column::FormBase) + static_cast<int>(form.field));
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
        case Column::FormBase: break;
    }
    return &row.form.at(static_cast<std::size_t>(static_cast<int>(column) - static_cast<int>(Column::FormBase)));
}

bool blank(const ImportRow& row) {
    return row.case_id.empty() && row.result.empty() && row.rectification.empty() && row.date.empty() &&
           row.responsible.empty() && row.notes.empty() && row.measures.empty() && row.deadline.empty() && row.tblx.empty() &&
           std::all_of(row.form.begin(), row.form.end(), [](const std::string& cell) { return cell.empty(); });
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

// Crash-safety tests kill the import at the test points "import:<n>", right after the n-th
// write inside its transaction ("import:0": just after it began), and "import:commit" just after
// the commit (pipeline/core/test_point.hpp): an exact point, no timing.
void kill_point_for_tests(const std::string& point) { test_point(("import:" + point).c_str()); }

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

// ---- the county's form ------------------------------------------------------------------------

const std::string& heading(FormField field) {
    for (const auto& column : form_columns())
        if (column.field == field) return column.names.front();
    throw InternalError("import: no heading for form field " + std::to_string(static_cast<int>(field)));
}

// Hundredths of a 亩 of a plain decimal ("3.2", "-0.5", "3.1000000000000001" as Excel writes
// it), the third decimal rounding half up (exactly, on the digits). Empty when not a number.
std::optional<std::int64_t> parse_centimu(const std::string& text) {
    static const std::regex number(R"(([+-]?)(\d+)(?:\.(\d*))?)");
    std::smatch m;
    if (!std::regex_match(text, m, number) || m[2].length() > 12) return std::nullopt;
    std::int64_t value = std::stoll(m[2].str()) * 100;
    const std::string decimals = m[3].str();
    if (!decimals.empty()) value += (decimals[0] - '0') * 10;
    if (decimals.size() > 1) value += decimals[1] - '0';
    if (decimals.size() > 2 && decimals[2] >= '5') value += 1;
    return m[1].str() == "-" ? -value : value;
}

// A share in percent, 0–100 ("85", "85%", "85.5").
std::optional<double> parse_share(std::string text) {
    if (text.ends_with("%")) text.pop_back();
    const auto centi = parse_centimu(trim_cell(text));
    if (!centi || *centi < 0 || *centi > 10000) return std::nullopt;
    return static_cast<double>(*centi) / 100.0;
}

// 建设时间: a day (parse_ledger_date) or a month (2023-05, 2023/5, 2023.5, 2023年5月) → YYYY-MM.
std::optional<std::string> parse_built_at(const std::string& text) {
    if (auto day = parse_ledger_date(text)) return day;
    static const std::regex month(R"((\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*(?:月)?)");
    std::smatch m;
    if (!std::regex_match(text, m, month)) return std::nullopt;
    const int mm = std::stoi(m[2].str());
    if (mm < 1 || mm > 12) return std::nullopt;
    return m[1].str() + (mm < 10 ? "-0" : "-") + std::to_string(mm);
}

std::optional<std::string> normalize_method(const std::string& text) {
    for (const char* method : kRectifyMethods)
        if (text == method) return std::string(method);
    static const std::vector<std::pair<std::string, std::string>> variants = {
        {"拆补结合", "拆补组合"}, {"拆除+补办", "拆补组合"}, {"拆除和补办", "拆补组合"}, {"拆除、补办", "拆补组合"},
        {"已拆除", "拆除"},       {"拆除复耕", "拆除"},       {"拆除复绿", "拆除"},     {"补办手续", "补办"},
        {"完善手续", "补办"},     {"已补办", "补办"},
    };
    for (const auto& [variant, method] : variants)
        if (text == variant) return method;
    return std::nullopt;
}

std::string methods_text() {
    std::string out;
    for (const char* method : kRectifyMethods) out += (out.empty() ? "" : ", ") + std::string(method);
    return out;
}

std::string mu(std::int64_t centimu) { return format_mu_fixed2(centimu); }

// One row's form, read and checked. `c` is the case as the rows before left it (nullptr for an
// unknown case id: the checks that need it are skipped). Problems go to `problems`.
struct FormValues {
    std::optional<std::string> verdict, category;
    bool clear_category = false;  // a new verdict the case's 分类 does not belong to
    std::array<std::optional<std::int64_t>, kFormFields> centimu;  // areas given (blank parts of a given group are 0)
    std::array<std::optional<double>, kFormFields> share;
    std::array<std::optional<std::string>, kFormFields> text;  // texts, dates and 整改方式 as stored
    bool areas_given = false;
    bool quantities_given = false;
};

FormValues check_form(const ImportRow& row, const LedgerCase* c, const std::string& today, std::vector<std::string>& problems) {
    using F = FormField;
    FormValues v;
    const auto cell = [&](F f) -> const std::string& { return row.at(f); };
    const auto refuse = [&](const std::string& message) { problems.push_back(message); };

    if (!cell(F::Verdict).empty()) {
        v.verdict = normalize_verdict(cell(F::Verdict));
        if (!v.verdict)
            refuse("核实认定意见 '" + cell(F::Verdict) + "' is not in the list; allowed: " + allowed_verdicts_text());
    }
    const std::string verdict = v.verdict ? *v.verdict : (c && cell(F::Verdict).empty() ? c->verdict : std::string());
    if (!cell(F::Category).empty()) {
        if (verdict.empty()) {
            if (cell(F::Verdict).empty())
                refuse("分类 '" + cell(F::Category) + "' has no 核实认定意见 to belong to; fill in 核实认定意见 in the same row");
        } else {
            v.category = normalize_category(verdict, cell(F::Category));
            if (!v.category)
                refuse("分类 '" + cell(F::Category) + "' is not in the list of 核实认定意见 " + verdict +
                       "; allowed: " + allowed_categories_text(verdict));
        }
    } else if (v.verdict && c && !c->category.empty() && *v.verdict != c->verdict) {
        v.clear_category = !normalize_category(*v.verdict, c->category).has_value();
    }
    if (v.verdict && !row.result.empty()) {
        const auto result = parse_status(row.result);
        const char* implied = verdict_status(*v.verdict);
        if (result && implied && std::string(status_label(*result)) != implied)
            refuse("核查结果 " + row.result + " contradicts 核实认定意见 " + *v.verdict + ", which means " + implied +
                   "; correct one of them (or leave 核查结果 blank)");
    }

    for (const F f : {F::UseDetail, F::Project, F::Developer, F::FieldNotes, F::ApprovalNo, F::SupplyNo, F::TitleNo,
                      F::TemporaryNo, F::FacilityNo})
        if (!cell(f).empty()) v.text[static_cast<std::size_t>(f)] = cell(f);
    if (!cell(F::BuiltAt).empty()) {
        const auto built = parse_built_at(cell(F::BuiltAt));
        if (!built)
            refuse("建设时间 '" + cell(F::BuiltAt) + "' is not a date; write YYYY-MM or YYYY-MM-DD, e.g. 2023-05");
        else if (*built > today.substr(0, built->size()))
            refuse("建设时间 " + *built + " is in the future (today is " + today + ")");
        else
            v.text[static_cast<std::size_t>(F::BuiltAt)] = *built;
    }
    if (!cell(F::ReviewEnded).empty()) {
        const auto ended = parse_ledger_date(cell(F::ReviewEnded));
        if (!ended)
            refuse("审核结束日期 '" + cell(F::ReviewEnded) + "' is not a date; write YYYY-MM-DD, e.g. 2023-09-30");
        else if (*ended > today)
            refuse("审核结束日期 " + *ended + " is in the future (today is " + today + ")");
        else
            v.text[static_cast<std::size_t>(F::ReviewEnded)] = *ended;
    }
    if (!cell(F::RectifyMethod).empty()) {
        const auto method = normalize_method(cell(F::RectifyMethod));
        if (!method)
            refuse("整改方式 '" + cell(F::RectifyMethod) + "' is not in the list; allowed: " + methods_text());
        else
            v.text[static_cast<std::size_t>(F::RectifyMethod)] = *method;
    }
    for (const F f : {F::ApprovalShare, F::SupplyShare, F::TitleShare, F::TemporaryShare, F::FacilityShare}) {
        if (cell(f).empty()) continue;
        v.share[static_cast<std::size_t>(f)] = parse_share(cell(f));
        if (!v.share[static_cast<std::size_t>(f)])
            refuse(heading(f) + " '" + cell(f) + "' is not a share in percent (0–100)");
    }

    // Areas: numbers, not negative.
    bool numbers_ok = true;
    const auto area = [&](F f) -> std::optional<std::int64_t>& { return v.centimu[static_cast<std::size_t>(f)]; };
    for (const F f : {F::Area, F::Cultivated, F::PermanentFarmland, F::OtherAgricultural, F::Unused, F::Redline, F::Construction,
                      F::Demolished, F::DemolishedCultivated, F::Regularised, F::RegularisedCultivated, F::Remaining}) {
        if (cell(f).empty()) continue;
        const auto value = parse_centimu(cell(f));
        if (!value) {
            refuse(heading(f) + " '" + cell(f) + "' is not a number of 亩; write e.g. 1.25");
            numbers_ok = false;
        } else if (*value < 0) {
            refuse(heading(f) + " '" + cell(f) + "' is negative; areas are 亩 ≥ 0");
            numbers_ok = false;
        } else {
            area(f) = *value;
        }
    }
    const std::initializer_list<F> parts = {F::Cultivated, F::OtherAgricultural, F::Unused, F::Construction};
    v.areas_given = !cell(F::Area).empty() || std::any_of(parts.begin(), parts.end(), [&](F f) { return !cell(f).empty(); });
    const std::initializer_list<F> quantities = {F::Demolished, F::DemolishedCultivated, F::Regularised, F::RegularisedCultivated,
                                                 F::Remaining};
    v.quantities_given = std::any_of(quantities.begin(), quantities.end(), [&](F f) { return !cell(f).empty(); });
    if (!numbers_ok) return v;

    // 地块面积 = 耕地 + 非耕农用地 + 未利用地 + 建设用地 (ENFORCEMENT.md §2).
    if (v.areas_given) {
        for (const F f : parts)
            if (!area(f)) area(f) = 0;
        if (!area(F::Area)) {
            refuse("地块面积 is blank; give it with its parts (占耕地面积, 占非耕农用地面积, 占未利用地面积, 建设用地面积)");
            return v;
        }
        const bool unchanged = c && *area(F::Area) == c->area_centimu && *area(F::Cultivated) == c->cultivated_centimu &&
                               *area(F::OtherAgricultural) == c->other_agricultural_centimu && *area(F::Unused) == c->unused_centimu &&
                               *area(F::Construction) == c->construction_centimu;
        const std::int64_t sum = *area(F::Cultivated) + *area(F::OtherAgricultural) + *area(F::Unused) + *area(F::Construction);
        if (unchanged) {
            v.areas_given = false;  // the sheet repeats the ledger (an export read back): nothing to check or change
        } else if (sum != *area(F::Area)) {
            refuse("地块面积 " + mu(*area(F::Area)) + " ≠ 耕地 " + mu(*area(F::Cultivated)) + " + 非耕农用地 " +
                   mu(*area(F::OtherAgricultural)) + " + 未利用地 " + mu(*area(F::Unused)) + " + 建设用地 " +
                   mu(*area(F::Construction)) + " = " + mu(sum) + " (亩)");
        }
    }
    // The row's 地块面积 and 耕地, else the case's; -1 = unknown (no case). (Plain integers:
    // GCC 12 warns falsely on std::optional here.)
    const std::int64_t total = area(F::Area) ? *area(F::Area) : (c ? c->area_centimu : -1);
    const std::int64_t cultivated = area(F::Cultivated) ? *area(F::Cultivated) : (c ? c->cultivated_centimu : -1);
    if (area(F::PermanentFarmland) && cultivated >= 0 && *area(F::PermanentFarmland) > cultivated)
        refuse("占基本农田面积 " + mu(*area(F::PermanentFarmland)) + " > 占耕地面积 " + mu(cultivated) +
               " (亩); 基本农田 lies inside 耕地");
    if (area(F::Redline) && total >= 0 && *area(F::Redline) > total)
        refuse("占生态红线面积 " + mu(*area(F::Redline)) + " > 地块面积 " + mu(total) + " (亩)");

    // New areas on a case with recorded quantities: they must still add up.
    if (!v.quantities_given && v.areas_given && c && c->remaining_centimu >= 0) {
        const std::int64_t sum = std::max<std::int64_t>(c->demolished_centimu, 0) + std::max<std::int64_t>(c->regularised_centimu, 0) +
                                 c->remaining_centimu;
        if (sum != total)
            refuse("地块面积 " + mu(total) + " no longer matches the recorded 拆除面积 + 补办面积 + 剩余未整改面积 = " + mu(sum) +
                   " (亩); give the rectification quantities again in the same row");
    }
    // Rectification quantities (ENFORCEMENT.md §5).
    if (v.quantities_given) {
        if (!area(F::Remaining)) {
            refuse("剩余未整改面积 is blank; give it with the other rectification quantities (0 when rectification is complete)");
            return v;
        }
        for (const F f : quantities)
            if (!area(f)) area(f) = 0;
        const std::int64_t demolished = *area(F::Demolished), regularised = *area(F::Regularised);
        const std::int64_t demolished_cultivated = *area(F::DemolishedCultivated);
        const std::int64_t regularised_cultivated = *area(F::RegularisedCultivated);
        const std::int64_t remaining = *area(F::Remaining);
        if (demolished_cultivated > demolished)
            refuse("拆除耕地面积 " + mu(demolished_cultivated) + " > 拆除面积 " + mu(demolished) + " (亩)");
        if (regularised_cultivated > regularised)
            refuse("补办耕地面积 " + mu(regularised_cultivated) + " > 补办面积 " + mu(regularised) + " (亩)");
        if (total >= 0 && demolished + regularised + remaining != total)
            refuse("拆除面积 " + mu(demolished) + " + 补办面积 " + mu(regularised) + " + 剩余未整改面积 " + mu(remaining) + " = " +
                   mu(demolished + regularised + remaining) + " ≠ 地块面积 " + mu(total) + " (亩)");
        const std::int64_t rectified_cultivated = demolished_cultivated + regularised_cultivated;
        if (cultivated >= 0 && rectified_cultivated > cultivated)
            refuse("拆除耕地面积 " + mu(demolished_cultivated) + " + 补办耕地面积 " + mu(regularised_cultivated) + " = " +
                   mu(rectified_cultivated) + " > 占耕地面积 " + mu(cultivated) + " (亩)");
        else if (cultivated >= 0 && remaining == 0 && rectified_cultivated != cultivated)
            refuse("拆除耕地面积 " + mu(demolished_cultivated) + " + 补办耕地面积 " + mu(regularised_cultivated) + " = " +
                   mu(rectified_cultivated) + " ≠ 占耕地面积 " + mu(cultivated) +
                   " (亩) while 剩余未整改面积 is 0; all the 耕地 is demolished or regularised then");
        const auto& method = v.text[static_cast<std::size_t>(F::RectifyMethod)];
        if (method) {
            const bool d = demolished > 0, r = regularised > 0;
            const bool fits = (*method == "拆除" && d && !r) || (*method == "补办" && !d && r) || (*method == "拆补组合" && d && r) ||
                              (*method == "未整改" && !d && !r);
            if (!fits)
                refuse("整改方式 " + *method + " does not match 拆除面积 " + mu(demolished) + " and 补办面积 " + mu(regularised) +
                       " (拆除: 拆除面积 only; 补办: 补办面积 only; 拆补组合: both; 未整改: neither)");
        }
    }
    return v;
}

}  // namespace

const char* form_heading(FormField field) { return heading(field).c_str(); }

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
    if (form_refused > 0)
        out << "the ledger is unchanged: " << form_refused << (form_refused == 1 ? " row breaks" : " rows break")
            << " the form (lists or area identities); correct " << (form_refused == 1 ? "it" : "them")
            << " and import the whole sheet again\n";
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
        CaseStatus result =
            row.result.empty() ? kNone : status_among(row.result, {CaseStatus::Legal, CaseStatus::FalseAlarm, CaseStatus::Illegal});
        if (!row.result.empty() && result == kNone) refuse("result (核查结果) '" + row.result + "' is not one of 合法, 误报, 违法");
        // The county's form: a problem there refuses the whole sheet (see import_verification).
        std::vector<std::string> form_problems;
        const FormValues form =
            check_form(row, found == by_id.end() ? nullptr : &cases[found->second], today, form_problems);
        if (!form_problems.empty()) {
            ++summary.form_refused;
            problems.insert(problems.end(), form_problems.begin(), form_problems.end());
        }
        if (form.verdict && result == kNone)
            result = status_among(verdict_status(*form.verdict), {CaseStatus::Legal, CaseStatus::FalseAlarm, CaseStatus::Illegal});
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
        std::vector<std::function<void()>> fields;
        std::string what_fields;
        const auto describe = [&](const std::string& label, const std::string& from, const std::string& to) {
            what_fields += (what_fields.empty() ? "" : "；") + label + "：" + (from.empty() ? "（空）" : from) + " → " + to;
        };
        const auto field = [&](std::string& target, const std::string& value, const std::string& label) {
            if (value.empty() || value == target) return;
            describe(label, target, value);
            fields.emplace_back([&target, value] { target = value; });
        };
        field(c.plan.responsible, row.responsible, "责任人");
        field(c.plan.measures, row.measures, "整改措施");
        field(c.plan.deadline, deadline.value_or(""), "整改时限");
        field(c.notes, row.notes, "备注");
        field(c.tblx, tblx, "图斑类型");
        // The form's fields.
        using F = FormField;
        const auto form_text = [&](F f) { return form.text[static_cast<std::size_t>(f)].value_or(""); };
        field(c.verdict, form.verdict.value_or(""), "核实认定意见");
        if (form.clear_category) {
            describe("分类", c.category, "（空）");
            fields.emplace_back([&c] { c.category.clear(); });
        }
        field(c.category, form.category.value_or(""), "分类");
        const std::pair<F, std::string*> texts[] = {
            {F::UseDetail, &c.use_detail},       {F::Project, &c.project},           {F::BuiltAt, &c.built_at},
            {F::Developer, &c.developer},        {F::FieldNotes, &c.field_notes},    {F::ApprovalNo, &c.approval_no},
            {F::SupplyNo, &c.supply_no},         {F::TitleNo, &c.title_no},          {F::TemporaryNo, &c.temporary_no},
            {F::FacilityNo, &c.facility_no},     {F::RectifyMethod, &c.rectify_method}, {F::ReviewEnded, &c.review_ended_at},
        };
        for (const auto& [f, target] : texts) field(*target, form_text(f), heading(f));
        const std::pair<F, double*> shares[] = {{F::ApprovalShare, &c.approval_share}, {F::SupplyShare, &c.supply_share},
                                                {F::TitleShare, &c.title_share},       {F::TemporaryShare, &c.temporary_share},
                                                {F::FacilityShare, &c.facility_share}};
        for (const auto& [f, target] : shares) {
            const auto& value = form.share[static_cast<std::size_t>(f)];
            if (!value || *value == *target) continue;
            const auto percent = [](double p) { return format_mu(static_cast<std::int64_t>(std::llround(p * 100))) + "%"; };
            describe(heading(f), percent(*target), percent(*value));
            fields.emplace_back([target = target, v = *value] { *target = v; });
        }
        const auto centimu_field = [&](F f, std::int64_t& target, std::function<void(std::int64_t)> also = {}) {
            const auto& value = form.centimu[static_cast<std::size_t>(f)];
            if (!value || *value == target) return;
            describe(heading(f), target < 0 ? "" : format_mu_fixed2(target) + " 亩", format_mu_fixed2(*value) + " 亩");
            fields.emplace_back([&target, v = *value, also] {
                target = v;
                if (also) also(v);
            });
        };
        if (form.areas_given) {
            centimu_field(F::Area, c.area_centimu, [&c](std::int64_t v) { c.area_m2 = static_cast<double>(v) * 20.0 / 3.0; });
            centimu_field(F::Cultivated, c.cultivated_centimu,
                          [&c](std::int64_t v) { c.cultivated_m2 = static_cast<double>(v) * 20.0 / 3.0; });
            centimu_field(F::OtherAgricultural, c.other_agricultural_centimu);
            centimu_field(F::Unused, c.unused_centimu);
            centimu_field(F::Construction, c.construction_centimu);
            if (c.unsurveyed_centimu != 0) {  // the form has no 未调查 part: its parts are the whole
                describe("未调查面积", format_mu_fixed2(c.unsurveyed_centimu) + " 亩", "0.00 亩");
                fields.emplace_back([&c] { c.unsurveyed_centimu = 0; });
            }
        }
        centimu_field(F::PermanentFarmland, c.permanent_farmland_centimu);
        centimu_field(F::Redline, c.redline_centimu);
        if (form.quantities_given)
            for (const auto& [f, target] :
                 std::initializer_list<std::pair<F, std::int64_t*>>{{F::Demolished, &c.demolished_centimu},
                                                                    {F::DemolishedCultivated, &c.demolished_cultivated_centimu},
                                                                    {F::Regularised, &c.regularised_centimu},
                                                                    {F::RegularisedCultivated, &c.regularised_cultivated_centimu},
                                                                    {F::Remaining, &c.remaining_centimu}})
                centimu_field(f, *target);
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
            for (auto& set : fields) set();
            entries.push_back({-1, c.case_id, at, recorded_at, who, c.status, c.status, what_fields, source});
            summary.field_changes += fields.size();
        }
        c.updated_at = recorded_at;
        touched[found->second] = true;
        last_change[c.case_id] = std::max(last, at);
    }

    if (summary.form_refused > 0) {
        // Nothing of a sheet whose form is wrong is applied: the transaction is dropped unwritten.
        summary.applied = summary.unchanged = summary.status_changes = summary.field_changes = 0;
        spdlog::debug("ledger import: {} rows break the form, nothing applied", summary.form_refused);
        return summary;
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
