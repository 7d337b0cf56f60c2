// `weipian ledger export`: the case list as XLSX, Shapefile (GBK), GeoPackage or KML.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <functional>
#include <map>
#include <set>
#include <system_error>
#include <tuple>

#include <unistd.h>

#include <cpl_error.h>
#include <gdal_priv.h>
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>
#include <xlsxwriter.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/dates.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/township_summary.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

const char* extension_of(ExportFormat format) {
    switch (format) {
        case ExportFormat::Xlsx: return ".xlsx";
        case ExportFormat::Shapefile: return ".shp";
        case ExportFormat::GeoPackage: return ".gpkg";
        case ExportFormat::Kml: return ".kml";
        case ExportFormat::Kmz: return ".kmz";
    }
    return "";
}

[[noreturn]] void cannot_write(const fs::path& out, const std::string& what) {
    throw InputError("export: cannot write '" + out.string() + "': " + what + "; check that the folder is writable");
}

// What the export shows of a case beyond its stored fields.
struct ExportCase {
    const LedgerCase* c;
    std::string status_date;  // when it reached its current status
};

std::string township_of(const LedgerCase& c) {
    return township_label(c.township_name, c.township_code);
}

std::string rectification_label(const LedgerCase& c) {
    switch (c.status) {
        case CaseStatus::Rectifying:
        case CaseStatus::Rectified:
            return status_label(c.status);
        case CaseStatus::Closed:
            return c.result == CaseStatus::Illegal ? status_label(CaseStatus::Closed) : "";
        default:
            return "";
    }
}

// Cases grouped by township (code, label), each group ordered by case id.
using Groups = std::map<std::pair<std::string, std::string>, std::vector<ExportCase>>;

Groups group_cases(const std::vector<LedgerCase>& cases, const std::vector<HistoryEntry>& history) {
    std::map<std::string, std::string> status_date;
    for (const auto& e : history)
        if (!e.from_status || *e.from_status != e.to_status) status_date[e.case_id] = e.at;
    Groups groups;
    for (const auto& c : cases) groups[{c.township_code, township_of(c)}].push_back({&c, status_date[c.case_id]});
    for (auto& [key, list] : groups)
        std::sort(list.begin(), list.end(), [](const ExportCase& a, const ExportCase& b) { return a.c->case_id < b.c->case_id; });
    return groups;
}

// ---- shared -----------------------------------------------------------------------------------

std::string source_of(const LedgerCase& c) { return c.source.empty() ? std::string(kSourceSelfFound) : c.source; }

// Hundredths of a 亩 as 亩; -1 (not recorded) as nothing.
std::optional<double> mu_of(std::int64_t centimu) {
    if (centimu < 0) return std::nullopt;
    return static_cast<double>(centimu) / 100.0;
}

// "2023-09-18T02:30:00Z" as the Beijing (UTC+8) calendar time; nullopt when not such a time.
std::optional<std::tm> beijing_time(const std::string& utc) {
    std::tm t{};
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (std::sscanf(utc.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &year, &month, &day, &hour, &minute, &second) != 6) return std::nullopt;
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = day;
    t.tm_hour = hour;
    t.tm_min = minute;
    t.tm_sec = second;
    const std::time_t at = ::timegm(&t) + 8 * 3600;
    std::tm out{};
    ::gmtime_r(&at, &out);
    return out;
}

// Today in Beijing (UTC+8), YYYY-MM-DD.
std::string beijing_today() {
    const auto t = beijing_time(now_utc());
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d", t->tm_year + 1900, t->tm_mon + 1, t->tm_mday);
    return text;
}

// ---- XLSX -----------------------------------------------------------------------------------

// "部分恢复（仍有建设 48%）", "已恢复（建设占比 5%）", "无法判断"; empty when never checked.
std::string check_label(const LedgerCase& c) {
    if (c.check_state.empty()) return "";
    if (c.check_built_share < 0) return c.check_state;
    const std::string share = std::to_string(std::lround(c.check_built_share * 100.0)) + "%";
    return c.check_state + (c.check_state == "部分恢复" ? "（仍有建设 " : "（建设占比 ") + share + "）";
}

// Chip files the export links or embeds; those missing are counted for one warning.
struct ChipLinks {
    fs::path base;            // the export's folder: links are relative to it
    std::size_t missing = 0;  // chip paths whose file does not exist
    bool exists(const std::string& path) {
        std::error_code ec;
        if (fs::is_regular_file(path, ec)) return true;
        ++missing;
        return false;
    }
    // Excel's external link to `path`: relative to the workbook's folder when possible.
    std::string url(const std::string& path) const {
        std::error_code ec;
        const fs::path relative = fs::relative(fs::absolute(path), base, ec);
        if (!ec && !relative.empty()) return "external:" + relative.generic_string();
        return "file:///" + fs::absolute(path).generic_string().substr(1);
    }
};

void warn_missing_chips(const ChipLinks& links, const fs::path& out) {
    if (links.missing == 0) return;
    spdlog::warn("export: {} chip files named in the ledger are missing (moved or removed output folders); '{}' leaves "
                 "them out",
                 links.missing, out.string());
}

// How a column's cells are written: text; a number (integer, 亩 with 2 decimals, percent,
// coordinate); a date (YYYY-MM-DD text written as an Excel date, anything else as text); a UTC
// time written as an Excel date-time in Beijing time.
// A link: the text is a file path (a chip), written as a hyperlink showing the file name.
enum class CellKind { Text, Integer, Mu, Percent, Coordinate, Date, UtcTime, Link };

struct XlsxColumn {
    const char* header;
    double width;
    CellKind kind;
    std::function<std::string(const ExportCase&)> text;             // Text, Date, UtcTime
    std::function<std::optional<double>(const ExportCase&)> value;  // numbers; nullopt = blank
};

std::vector<XlsxColumn> xlsx_columns() {
    using E = const ExportCase&;
    const auto text = [](const char* header, double width, std::function<std::string(E)> get) {
        return XlsxColumn{header, width, CellKind::Text, std::move(get), nullptr};
    };
    const auto date = [](const char* header, std::function<std::string(E)> get) {
        return XlsxColumn{header, 11, CellKind::Date, std::move(get), nullptr};
    };
    const auto number = [](const char* header, double width, CellKind kind, std::function<std::optional<double>(E)> get) {
        return XlsxColumn{header, width, kind, nullptr, std::move(get)};
    };
    const auto mu = [&](const char* header, std::int64_t LedgerCase::*field) {
        return number(header, 10, CellKind::Mu, [field](E e) { return mu_of(e.c->*field); });
    };
    const auto share = [&](const char* header, double LedgerCase::*numbers_share) {
        return number(header, 8, CellKind::Percent, [numbers_share](E e) -> std::optional<double> { return e.c->*numbers_share; });
    };
    return {
        text("图斑编号", 20, [](E e) { return e.c->case_id; }),
        text("线索编号", 22, [](E e) { return e.c->lead_id; }),
        text("图斑来源", 10, [](E e) { return source_of(*e.c); }),
        text("批次", 10, [](E e) { return e.c->batch; }),
        date("下发日期", [](E e) { return e.c->delivered_at; }),
        text("往期图斑编号", 20, [](E e) { return e.c->earlier_id; }),
        text("关联图斑", 20, [](E e) { return e.c->linked_case; }),
        text("检出运行", 20, [](E e) { return e.c->detected_run; }),
        number("年度", 6, CellKind::Integer, [](E e) -> std::optional<double> { return e.c->year; }),
        text("乡镇名称", 10, [](E e) { return township_of(*e.c); }),
        text("乡镇代码", 12, [](E e) { return e.c->township_code; }),
        date("前时相", [](E e) { return e.c->qsx; }),
        date("后时相", [](E e) { return e.c->hsx; }),
        number("中心点X", 12, CellKind::Coordinate, [](E e) -> std::optional<double> { return e.c->centroid_x; }),
        number("中心点Y", 12, CellKind::Coordinate, [](E e) -> std::optional<double> { return e.c->centroid_y; }),
        text("图斑类型", 8, [](E e) { return e.c->tblx; }),
        text("状态", 8, [](E e) { return status_label(e.c->status); }),
        text("核查结果", 8, [](E e) { return e.c->result ? status_label(*e.c->result) : ""; }),
        text("整改状态", 8, [](E e) { return rectification_label(*e.c); }),
        date("日期", [](E e) { return e.status_date; }),
        // The county's form (ENFORCEMENT.md §2), in the platform's order.
        text("核实认定意见", 12, [](E e) { return e.c->verdict; }),
        text("分类", 14, [](E e) { return e.c->category; }),
        text("用途分类细化", 14, [](E e) { return e.c->use_detail; }),
        text("项目名称", 24, [](E e) { return e.c->project; }),
        date("建设时间", [](E e) { return e.c->built_at; }),
        text("项目主体", 20, [](E e) { return e.c->developer; }),
        text("现场核查描述", 30, [](E e) { return e.c->field_notes; }),
        mu("地块面积（亩）", &LedgerCase::area_centimu),
        mu("占耕地面积（亩）", &LedgerCase::cultivated_centimu),
        mu("占基本农田面积（亩）", &LedgerCase::permanent_farmland_centimu),
        mu("占非耕农用地面积（亩）", &LedgerCase::other_agricultural_centimu),
        mu("占未利用地面积（亩）", &LedgerCase::unused_centimu),
        mu("占生态红线面积（亩）", &LedgerCase::redline_centimu),
        mu("建设用地面积（亩）", &LedgerCase::construction_centimu),
        mu("未调查面积（亩）", &LedgerCase::unsurveyed_centimu),
        text("用地审批批准文号", 20, [](E e) { return e.c->approval_no; }),
        share("用地审批占比（%）", &LedgerCase::approval_share),
        text("土地供应批准文号", 20, [](E e) { return e.c->supply_no; }),
        share("土地供应占比（%）", &LedgerCase::supply_share),
        text("不动产权证号", 20, [](E e) { return e.c->title_no; }),
        share("不动产权占比（%）", &LedgerCase::title_share),
        text("临时用地批准文号", 20, [](E e) { return e.c->temporary_no; }),
        share("临时用地占比（%）", &LedgerCase::temporary_share),
        text("设施农用地上图入库号", 20, [](E e) { return e.c->facility_no; }),
        share("设施农用地占比（%）", &LedgerCase::facility_share),
        // The run's pre-judgement: a suggestion, never a verdict.
        text("初判核实认定意见（建议）", 14, [](E e) { return e.c->cp_verdict; }),
        text("初判分类（建议）", 14, [](E e) { return e.c->cp_category; }),
        text("初判依据（建议）", 24, [](E e) { return e.c->cp_rule; }),
        // Rectification (ENFORCEMENT.md §5).
        text("整改方式", 10, [](E e) { return e.c->rectify_method; }),
        mu("拆除面积（亩）", &LedgerCase::demolished_centimu),
        mu("拆除耕地面积（亩）", &LedgerCase::demolished_cultivated_centimu),
        mu("补办面积（亩）", &LedgerCase::regularised_centimu),
        mu("补办耕地面积（亩）", &LedgerCase::regularised_cultivated_centimu),
        mu("剩余未整改面积（亩）", &LedgerCase::remaining_centimu),
        date("审核通过日期", [](E e) { return e.c->review_ended_at; }),
        text("整改措施", 24, [](E e) { return e.c->plan.measures; }),
        date("整改时限", [](E e) { return e.c->plan.deadline; }),
        text("责任人", 10, [](E e) { return e.c->plan.responsible; }),
        text("影像复核", 30, [](E e) { return e.c->flag; }),
        date("影像复核时相", [](E e) { return e.c->flag_date; }),
        text("首次发现", 20, [](E e) { return e.c->first_seen_run; }),
        text("最近发现", 20, [](E e) { return e.c->last_seen_run; }),
        XlsxColumn{"更新时间（北京时间）", 17, CellKind::UtcTime, [](E e) { return e.c->updated_at; }, nullptr},
        text("备注", 24, [](E e) { return e.c->notes; }),
        // The pictures (issue 10): the run's chips and the last check on new imagery.
        XlsxColumn{"前时相影像", 14, CellKind::Link, [](E e) { return e.c->chip_before; }, nullptr},
        XlsxColumn{"后时相影像", 14, CellKind::Link, [](E e) { return e.c->chip_after; }, nullptr},
        text("影像复查结果", 16, [](E e) { return check_label(*e.c); }),
        date("影像复查日期", [](E e) { return e.c->check_date; }),
        XlsxColumn{"复查影像", 14, CellKind::Link, [](E e) { return e.c->chip_check_new; }, nullptr},
    };
}

// A worksheet name Excel accepts: no []:*?/\, at most 31 characters, unique.
std::string sheet_name(const std::string& wanted, std::set<std::string>& used) {
    std::string name;
    for (const char ch : wanted) name += std::string("[]:*?/\\").find(ch) == std::string::npos ? ch : '_';
    if (name.empty()) name = "乡镇";
    // Cut at 31 characters (UTF-8 aware).
    std::size_t chars = 0, cut = 0;
    while (cut < name.size() && chars < 31) {
        const auto c = static_cast<unsigned char>(name[cut]);
        cut += c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
        ++chars;
    }
    name = name.substr(0, std::min(cut, name.size()));
    std::string unique = name;
    for (int n = 2; used.count(unique); ++n) unique = name.substr(0, std::min<std::size_t>(name.size(), 24)) + "(" + std::to_string(n) + ")";
    used.insert(unique);
    return unique;
}

// The workbook's formats.
struct Formats {
    lxw_format* title;
    lxw_format* header;
    lxw_format* mu;
    lxw_format* percent;
    lxw_format* coordinate;
    lxw_format* date;
    lxw_format* time;
    lxw_format* bold;
    lxw_format* bold_mu;
    explicit Formats(lxw_workbook* book) {
        title = workbook_add_format(book);
        format_set_bold(title);
        format_set_font_size(title, 16);
        format_set_align(title, LXW_ALIGN_CENTER);
        format_set_align(title, LXW_ALIGN_VERTICAL_CENTER);
        header = workbook_add_format(book);
        format_set_bold(header);
        format_set_border(header, LXW_BORDER_THIN);
        format_set_bg_color(header, 0xDDEBF7);
        format_set_text_wrap(header);
        format_set_align(header, LXW_ALIGN_CENTER);
        format_set_align(header, LXW_ALIGN_VERTICAL_CENTER);
        mu = workbook_add_format(book);
        format_set_num_format(mu, "0.00");
        percent = workbook_add_format(book);
        format_set_num_format(percent, "0.00");
        coordinate = workbook_add_format(book);
        format_set_num_format(coordinate, "0.00");
        date = workbook_add_format(book);
        format_set_num_format(date, "yyyy-mm-dd");
        time = workbook_add_format(book);
        format_set_num_format(time, "yyyy-mm-dd hh:mm");
        bold = workbook_add_format(book);
        format_set_bold(bold);
        bold_mu = workbook_add_format(book);
        format_set_num_format(bold_mu, "0.00");
        format_set_bold(bold_mu);
    }
};

// The 台账 page habits: a title row over the columns, the header row under it frozen with the
// first `frozen_columns` columns, an autofilter on the header, landscape A4 fit to the page
// width with the title and header rows repeated on every page.
void sheet_habits(lxw_worksheet* sheet, const Formats& formats, const std::string& title, lxw_col_t columns, lxw_row_t last_row,
                  lxw_col_t frozen_columns) {
    if (columns > 1)
        worksheet_merge_range(sheet, 0, 0, 0, static_cast<lxw_col_t>(columns - 1), title.c_str(), formats.title);
    else
        worksheet_write_string(sheet, 0, 0, title.c_str(), formats.title);
    worksheet_set_row(sheet, 0, 28, nullptr);
    worksheet_freeze_panes(sheet, 2, frozen_columns);
    worksheet_autofilter(sheet, 1, 0, std::max<lxw_row_t>(last_row, 1), static_cast<lxw_col_t>(columns - 1));
    worksheet_set_landscape(sheet);
    worksheet_set_paper(sheet, 9);  // A4
    worksheet_fit_to_pages(sheet, 1, 0);
    worksheet_repeat_rows(sheet, 0, 1);
}

lxw_datetime excel_date(const std::string& iso) {
    return lxw_datetime{std::stoi(iso.substr(0, 4)), std::stoi(iso.substr(5, 2)), std::stoi(iso.substr(8, 2)), 0, 0, 0};
}

void write_cell(lxw_worksheet* sheet, lxw_row_t r, lxw_col_t col, const XlsxColumn& column, const ExportCase& e, const Formats& formats,
                ChipLinks& links) {
    switch (column.kind) {
        case CellKind::Link: {
            const std::string value = column.text(e);
            if (value.empty() || !links.exists(value)) return;
            const std::string name = fs::path(value).filename().string();
            worksheet_write_url_opt(sheet, r, col, links.url(value).c_str(), nullptr, name.c_str(), nullptr);
            return;
        }
        case CellKind::Text: {
            const std::string value = column.text(e);
            if (!value.empty()) worksheet_write_string(sheet, r, col, value.c_str(), nullptr);
            return;
        }
        case CellKind::Date: {
            const std::string value = column.text(e);
            if (is_iso_date(value)) {
                lxw_datetime d = excel_date(value);
                worksheet_write_datetime(sheet, r, col, &d, formats.date);
            } else if (!value.empty()) {
                worksheet_write_string(sheet, r, col, value.c_str(), nullptr);  // e.g. 建设时间 2023-05
            }
            return;
        }
        case CellKind::UtcTime: {
            const std::string value = column.text(e);
            if (const auto t = beijing_time(value)) {
                lxw_datetime d{t->tm_year + 1900, t->tm_mon + 1, t->tm_mday, t->tm_hour, t->tm_min, static_cast<double>(t->tm_sec)};
                worksheet_write_datetime(sheet, r, col, &d, formats.time);
            } else if (!value.empty()) {
                worksheet_write_string(sheet, r, col, value.c_str(), nullptr);
            }
            return;
        }
        default: {
            const auto value = column.value(e);
            if (!value) return;
            lxw_format* format = column.kind == CellKind::Mu           ? formats.mu
                                 : column.kind == CellKind::Percent    ? formats.percent
                                 : column.kind == CellKind::Coordinate ? formats.coordinate
                                                                       : nullptr;
            worksheet_write_number(sheet, r, col, *value, format);
        }
    }
}

// m² whose to_centimu() gives back `centimu` (亩 = m² × 0.0015), for summarize_by_township.
double m2_of(std::int64_t centimu) { return static_cast<double>(centimu) * 20.0 / 3.0; }

void write_xlsx(const fs::path& out, const Groups& groups, const ExportOptions& options, const std::string& county) {
    AtomicFile file(out, "export");
    lxw_workbook* book = workbook_new(file.path().c_str());
    if (!book) cannot_write(out, "libxlsxwriter cannot create the workbook");
    const Formats formats(book);
    const std::string date = options.date.empty() ? beijing_today() : options.date;
    const std::string title = county + "卫片执法图斑台账（" + date + "）";

    std::set<std::string> used;
    // 汇总: the live cases (not 已拆分/已合并) per township, ranked as `ledger report` ranks
    // townships (summarize_by_township: 耕地 亩, then 亩, descending), then 合计.
    lxw_worksheet* summary = workbook_add_worksheet(book, sheet_name("汇总", used).c_str());
    const std::vector<CaseStatus> statuses = {CaseStatus::ToVerify,   CaseStatus::Legal,     CaseStatus::FalseAlarm,
                                              CaseStatus::Illegal,    CaseStatus::Rectifying, CaseStatus::Rectified,
                                              CaseStatus::Closed};
    std::vector<std::string> headers = {"排名", "乡镇名称", "乡镇代码", "图斑（宗）", "监测面积（亩）", "涉及耕地（宗）", "耕地面积（亩）"};
    for (const auto s : statuses) headers.push_back(status_label(s));
    headers.insert(headers.end(), {"违法用地（宗）", "违法用地面积（亩）", "违法占耕地（亩）"});
    const auto columns_of_summary = static_cast<lxw_col_t>(headers.size());
    for (std::size_t i = 0; i < headers.size(); ++i)
        worksheet_write_string(summary, 1, static_cast<lxw_col_t>(i), headers[i].c_str(), formats.header);
    worksheet_set_column(summary, 0, 0, 6, nullptr);
    worksheet_set_column(summary, 1, 2, 12, nullptr);
    worksheet_set_column(summary, 3, static_cast<lxw_col_t>(columns_of_summary - 1), 10, nullptr);

    std::vector<Parcel> live;
    struct Counts {
        std::vector<std::int64_t> status = std::vector<std::int64_t>(7, 0);
        std::int64_t illegal = 0, illegal_area = 0, illegal_cultivated = 0;
    };
    std::map<std::pair<std::string, std::string>, Counts> counts;  // (code, label)
    Counts total_counts;
    for (const auto& [key, list] : groups)
        for (const auto& e : list) {
            if (superseded(e.c->status)) continue;
            Parcel p;
            p.township_name = e.c->township_name;
            p.township_code = e.c->township_code;
            p.area_m2 = m2_of(e.c->area_centimu);
            p.cultivated_m2 = m2_of(e.c->cultivated_centimu);
            live.push_back(std::move(p));
            for (Counts* c : {&counts[key], &total_counts}) {
                ++c->status[static_cast<std::size_t>(std::find(statuses.begin(), statuses.end(), e.c->status) - statuses.begin())];
                if (e.c->result == CaseStatus::Illegal) {
                    ++c->illegal;
                    c->illegal_area += e.c->area_centimu;
                    c->illegal_cultivated += e.c->cultivated_centimu;
                }
            }
        }
    const std::vector<TownshipSummary> ranked = summarize_by_township(live);
    const TownshipSummary total = total_of(ranked);
    lxw_row_t row = 2;
    const auto write_counts = [&](lxw_row_t r, const Counts& c, bool bold) {
        for (std::size_t s = 0; s < statuses.size(); ++s)
            worksheet_write_number(summary, r, static_cast<lxw_col_t>(7 + s), static_cast<double>(c.status[s]), bold ? formats.bold : nullptr);
        const auto at = static_cast<lxw_col_t>(7 + statuses.size());
        worksheet_write_number(summary, r, at, static_cast<double>(c.illegal), bold ? formats.bold : nullptr);
        worksheet_write_number(summary, r, at + 1, static_cast<double>(c.illegal_area) / 100.0, bold ? formats.bold_mu : formats.mu);
        worksheet_write_number(summary, r, at + 2, static_cast<double>(c.illegal_cultivated) / 100.0, bold ? formats.bold_mu : formats.mu);
    };
    for (std::size_t i = 0; i < ranked.size(); ++i, ++row) {
        const TownshipSummary& t = ranked[i];
        worksheet_write_number(summary, row, 0, static_cast<double>(i + 1), nullptr);
        const std::string label = township_label(t.name, t.code);
        worksheet_write_string(summary, row, 1, label.c_str(), nullptr);
        if (!t.code.empty()) worksheet_write_string(summary, row, 2, t.code.c_str(), nullptr);
        worksheet_write_number(summary, row, 3, static_cast<double>(t.cases), nullptr);
        worksheet_write_number(summary, row, 4, static_cast<double>(t.area_centimu) / 100.0, formats.mu);
        worksheet_write_number(summary, row, 5, static_cast<double>(t.cultivated_cases), nullptr);
        worksheet_write_number(summary, row, 6, static_cast<double>(t.cultivated_centimu) / 100.0, formats.mu);
        write_counts(row, counts[{t.code, label}], false);
    }
    worksheet_write_string(summary, row, 1, "合计", formats.bold);
    worksheet_write_number(summary, row, 3, static_cast<double>(total.cases), formats.bold);
    worksheet_write_number(summary, row, 4, static_cast<double>(total.area_centimu) / 100.0, formats.bold_mu);
    worksheet_write_number(summary, row, 5, static_cast<double>(total.cultivated_cases), formats.bold);
    worksheet_write_number(summary, row, 6, static_cast<double>(total.cultivated_centimu) / 100.0, formats.bold_mu);
    write_counts(row, total_counts, true);
    sheet_habits(summary, formats, county + "卫片执法图斑台账汇总（" + date + "）", columns_of_summary, row, 2);

    // One sheet per township: 序号, then the case columns.
    const auto columns = xlsx_columns();
    const auto width = static_cast<lxw_col_t>(columns.size() + 1);
    ChipLinks links;
    links.base = fs::absolute(out).parent_path();
    for (const auto& [key, list] : groups) {
        lxw_worksheet* sheet = workbook_add_worksheet(book, sheet_name(key.second, used).c_str());
        worksheet_write_string(sheet, 1, 0, "序号", formats.header);
        worksheet_set_column(sheet, 0, 0, 5, nullptr);
        for (std::size_t i = 0; i < columns.size(); ++i) {
            const auto col = static_cast<lxw_col_t>(i + 1);
            worksheet_write_string(sheet, 1, col, columns[i].header, formats.header);
            worksheet_set_column(sheet, col, col, columns[i].width, nullptr);
        }
        lxw_row_t r = 2;
        for (const auto& e : list) {
            worksheet_write_number(sheet, r, 0, static_cast<double>(r - 1), nullptr);
            for (std::size_t i = 0; i < columns.size(); ++i)
                write_cell(sheet, r, static_cast<lxw_col_t>(i + 1), columns[i], e, formats, links);
            ++r;
        }
        sheet_habits(sheet, formats, title + " " + key.second, width, r - 1, 2);
    }
    const lxw_error error = workbook_close(book);
    if (error != LXW_NO_ERROR) cannot_write(out, std::string("libxlsxwriter: ") + lxw_strerror(error));
    file.commit();
    warn_missing_chips(links, out);
}

// ---- Shapefile ------------------------------------------------------------------------------

// Text fields have fixed widths (bytes of GBK: 2 a Chinese character) wide enough to be filled
// in afterwards in desktop GIS, also where the export leaves them empty.
struct ShapeField {
    const char* name;  // ≤ 10 bytes
    OGRFieldType type;
    int width;
    int precision;
    std::function<void(OGRFeature&, int, const ExportCase&)> set;
};

std::vector<ShapeField> shape_fields() {
    using E = const ExportCase&;
    const auto text = [](const char* name, int width, std::function<std::string(E)> get) {
        return ShapeField{name, OFTString, width, 0, [get](OGRFeature& f, int i, E e) {
                              const std::string value = get(e);
                              if (!value.empty()) f.SetField(i, value.c_str());
                          }};
    };
    const auto real = [](const char* name, int width, std::function<std::optional<double>(E)> get) {
        return ShapeField{name, OFTReal, width, 2, [get](OGRFeature& f, int i, E e) {
                              if (const auto v = get(e)) f.SetField(i, *v);
                          }};
    };
    const auto mu = [&](const char* name, std::int64_t LedgerCase::*field) {
        return real(name, 12, [field](E e) { return mu_of(e.c->*field); });
    };
    const auto share = [&](const char* name, double LedgerCase::*field) {
        return real(name, 7, [field](E e) -> std::optional<double> { return e.c->*field; });
    };
    constexpr int kCode = 30, kWord = 50, kFree = 254;
    return {
        text("JCBH", kCode, [](E e) { return e.c->case_id; }),
        text("XZQDM", kCode, [](E e) { return e.c->township_code; }),
        text("XZMC", kWord, [](E e) { return township_of(*e.c); }),
        ShapeField{"NF", OFTInteger, 4, 0, [](OGRFeature& f, int i, E e) { f.SetField(i, e.c->year); }},
        text("QSX", 20, [](E e) { return e.c->qsx; }),
        text("HSX", 20, [](E e) { return e.c->hsx; }),
        real("XZB", 12, [](E e) -> std::optional<double> { return e.c->centroid_x; }),
        real("YZB", 12, [](E e) -> std::optional<double> { return e.c->centroid_y; }),
        mu("JCMJ", &LedgerCase::area_centimu),
        mu("GDMJ", &LedgerCase::cultivated_centimu),
        text("TBLX", 20, [](E e) { return e.c->tblx; }),
        text("ZT", 20, [](E e) { return status_label(e.c->status); }),
        text("HFXSC", 20, [](E e) { return e.c->result ? status_label(*e.c->result) : ""; }),
        text("ZGCS", kFree, [](E e) { return e.c->plan.measures; }),
        text("ZGQX", 20, [](E e) { return e.c->plan.deadline; }),
        text("ZRR", kWord, [](E e) { return e.c->plan.responsible; }),
        text("YXFH", kFree, [](E e) { return e.c->flag; }),
        text("BZ", kFree, [](E e) { return e.c->notes; }),
        // Delivered leads.
        text("LY", 20, [](E e) { return source_of(*e.c); }),
        text("XSBH", kWord, [](E e) { return e.c->lead_id; }),
        text("PC", kWord, [](E e) { return e.c->batch; }),
        text("XFRQ", 20, [](E e) { return e.c->delivered_at; }),
        text("WQBH", kWord, [](E e) { return e.c->earlier_id; }),
        text("GLBH", kCode, [](E e) { return e.c->linked_case; }),
        text("JCYX", kWord, [](E e) { return e.c->detected_run; }),
        // The county's form.
        text("HSRDYJ", kWord, [](E e) { return e.c->verdict; }),
        text("FL", kWord, [](E e) { return e.c->category; }),
        text("YTFLXH", 100, [](E e) { return e.c->use_detail; }),
        text("XMMC", kFree, [](E e) { return e.c->project; }),
        text("JSSJ", 20, [](E e) { return e.c->built_at; }),
        text("XMZT", kFree, [](E e) { return e.c->developer; }),
        text("XCHCMS", kFree, [](E e) { return e.c->field_notes; }),
        mu("YJJBNT_MU", &LedgerCase::permanent_farmland_centimu),
        mu("FGNYD_MU", &LedgerCase::other_agricultural_centimu),
        mu("WLYD_MU", &LedgerCase::unused_centimu),
        mu("STHX_MU", &LedgerCase::redline_centimu),
        mu("JSYD_MU", &LedgerCase::construction_centimu),
        mu("WDC_MU", &LedgerCase::unsurveyed_centimu),
        text("PZWH", kFree, [](E e) { return e.c->approval_no; }),
        share("PZWH_ZB", &LedgerCase::approval_share),
        text("GDWH", kFree, [](E e) { return e.c->supply_no; }),
        share("GDWH_ZB", &LedgerCase::supply_share),
        text("BDCQZH", kFree, [](E e) { return e.c->title_no; }),
        share("BDCQZH_ZB", &LedgerCase::title_share),
        text("LSYDWH", kFree, [](E e) { return e.c->temporary_no; }),
        share("LSYDWH_ZB", &LedgerCase::temporary_share),
        text("SSNYDH", kFree, [](E e) { return e.c->facility_no; }),
        share("SSNYDH_ZB", &LedgerCase::facility_share),
        // Pre-judgement (初判, a suggestion).
        text("CP_YJ", kWord, [](E e) { return e.c->cp_verdict; }),
        text("CP_FL", kWord, [](E e) { return e.c->cp_category; }),
        text("CP_RULE", 100, [](E e) { return e.c->cp_rule; }),
        // Rectification.
        text("ZGFS", 20, [](E e) { return e.c->rectify_method; }),
        mu("CC_MU", &LedgerCase::demolished_centimu),
        mu("CC_GD_MU", &LedgerCase::demolished_cultivated_centimu),
        mu("BB_MU", &LedgerCase::regularised_centimu),
        mu("BB_GD_MU", &LedgerCase::regularised_cultivated_centimu),
        mu("SY_MU", &LedgerCase::remaining_centimu),
        text("SHTGRQ", 20, [](E e) { return e.c->review_ended_at; }),
        text("GXSJ", 20, [](E e) { return e.c->updated_at; }),
    };
}

void write_shapefile(const fs::path& out, const Groups& groups, const OGRSpatialReference& srs) {
    // A folder of its own, then each file moved into place, the .shp last.
    prepare_file_path(out, "export");
    AtomicFileSet set(out.parent_path(), out.filename().string(), "export");
    const fs::path staging = set.dir();
    const fs::path staged = staging / out.filename();
    auto* driver = GetGDALDriverManager()->GetDriverByName("ESRI Shapefile");
    if (!driver) throw InternalError("export: this GDAL build has no Shapefile driver");
    {
        CPLErrorReset();
        GDALDatasetUniquePtr ds(driver->Create(staged.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!ds) cannot_write(out, "GDAL cannot create the Shapefile (" + last_gdal_error() + ")");
        // No RESIZE: it shrinks each field to its longest value, an empty one to 1 byte.
        const char* options[] = {"ENCODING=GBK", nullptr};
        const auto layer_srs = clone_traditional(srs);
        OGRLayer* layer = ds->CreateLayer(out.stem().c_str(), layer_srs.get(), wkbMultiPolygon, const_cast<char**>(options));
        if (!layer) cannot_write(out, "GDAL cannot create the Shapefile layer (" + last_gdal_error() + ")");
        const auto fields = shape_fields();
        for (const auto& spec : fields) {
            OGRFieldDefn definition(spec.name, spec.type);
            definition.SetWidth(spec.width);
            definition.SetPrecision(spec.precision);
            if (layer->CreateField(&definition) != OGRERR_NONE)
                cannot_write(out, std::string("GDAL cannot create field ") + spec.name + " (" + last_gdal_error() + ")");
        }
        for (const auto& [key, list] : groups)
            for (const auto& e : list) {
                OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
                for (std::size_t i = 0; i < fields.size(); ++i) fields[i].set(*f, static_cast<int>(i), e);
                if (e.c->geometry) {
                    OGRGeometryUniquePtr multi(OGRGeometryFactory::forceToMultiPolygon(e.c->geometry->clone()));
                    f->SetGeometryDirectly(multi.release());
                }
                if (layer->CreateFeature(f.get()) != OGRERR_NONE) cannot_write(out, "case " + e.c->case_id + ": " + last_gdal_error());
            }
        CPLErrorReset();
    }
    if (!fs::exists(staging / (out.stem().string() + ".cpg"))) cannot_write(out, "GDAL wrote no .cpg file");
    set.commit(".shp");
}

// ---- KML ------------------------------------------------------------------------------------

// The balloon's pictures of a case (HTML appended to its description); empty = none.
using Pictures = std::function<std::string(const LedgerCase&)>;

// Writes the KML document to `path` (a temporary file or /vsimem/); `out` names it in messages.
void write_kml_document(const std::string& path, const fs::path& out, const Groups& groups, const OGRSpatialReference& srs,
                        const Pictures& pictures) {
    auto* driver = GetGDALDriverManager()->GetDriverByName("KML");
    if (!driver) throw InternalError("export: this GDAL build has no KML driver");
    OGRSpatialReference wgs84;
    wgs84.importFromEPSG(4326);
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);  // longitude first
    const auto from = clone_traditional(srs);
    std::unique_ptr<OGRCoordinateTransformation> to_wgs84(OGRCreateCoordinateTransformation(from.get(), &wgs84));
    if (!to_wgs84) throw InputError("export: cannot transform the ledger's CRS to longitude/latitude; check its CRS");
    {
        CPLErrorReset();
        GDALDatasetUniquePtr ds(driver->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!ds) cannot_write(out, "GDAL cannot create the KML file (" + last_gdal_error() + ")");
        for (const auto& [key, list] : groups) {
            OGRLayer* layer = ds->CreateLayer(key.second.c_str(), &wgs84, wkbMultiPolygon, nullptr);
            if (!layer) cannot_write(out, "GDAL cannot create the KML folder " + key.second + " (" + last_gdal_error() + ")");
            for (const char* name : {"Name", "Description", "JCBH", "XZMC", "ZT", "JCMJ", "GDMJ", "TBLX", "HSX", "XSBH", "HSRDYJ", "FL", "CP_YJ", "CP_FL"}) {
                OGRFieldDefn definition(name, OFTString);
                layer->CreateField(&definition);
            }
            for (const auto& e : list) {
                const LedgerCase& c = *e.c;
                OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
                const std::string area = format_mu(c.area_centimu), cultivated = format_mu(c.cultivated_centimu);
                f->SetField("Name", c.case_id.c_str());
                const std::string description = township_of(c) + "，" + std::to_string(c.year) + " 年，" + status_label(c.status) +
                                                "，面积 " + area + " 亩，耕地 " + cultivated + " 亩" +
                                                (c.lead_id.empty() ? std::string() : "；线索 " + c.lead_id) +
                                                (c.verdict.empty() ? std::string() : "；核实认定意见 " + c.verdict + (c.category.empty() ? "" : "（" + c.category + "）")) +
                                                (c.cp_verdict.empty() ? std::string() : "；初判（建议）" + c.cp_verdict + (c.cp_category.empty() ? "" : "（" + c.cp_category + "）")) +
                                                (c.flag.empty() ? std::string() : "；" + c.flag) +
                                                (c.check_state.empty() ? std::string() : "；影像复查 " + c.check_date + " " + check_label(c)) +
                                                (pictures ? pictures(c) : std::string());
                f->SetField("Description", description.c_str());
                f->SetField("JCBH", c.case_id.c_str());
                f->SetField("XZMC", township_of(c).c_str());
                f->SetField("ZT", status_label(c.status));
                f->SetField("JCMJ", area.c_str());
                f->SetField("GDMJ", cultivated.c_str());
                f->SetField("TBLX", c.tblx.c_str());
                f->SetField("HSX", c.hsx.c_str());
                f->SetField("XSBH", c.lead_id.c_str());
                f->SetField("HSRDYJ", c.verdict.c_str());
                f->SetField("FL", c.category.c_str());
                f->SetField("CP_YJ", c.cp_verdict.c_str());
                f->SetField("CP_FL", c.cp_category.c_str());
                if (c.geometry) {
                    OGRGeometryUniquePtr g(OGRGeometryFactory::forceToMultiPolygon(c.geometry->clone()));
                    g->assignSpatialReference(from.get());
                    if (g->transform(to_wgs84.get()) != OGRERR_NONE) cannot_write(out, "cannot transform case " + c.case_id);
                    f->SetGeometryDirectly(g.release());
                }
                if (layer->CreateFeature(f.get()) != OGRERR_NONE) cannot_write(out, "case " + c.case_id + ": " + last_gdal_error());
            }
        }
        CPLErrorReset();
        ds.reset();
        if (CPLGetLastErrorType() >= CE_Failure) cannot_write(out, last_gdal_error());
    }
}

void write_kml(const fs::path& out, const Groups& groups, const OGRSpatialReference& srs) {
    AtomicFile file(out, "export");
    write_kml_document(file.path().string(), out, groups, srs, nullptr);
    file.commit();
}

std::string read_vsi_file(const std::string& path) {
    std::string bytes;
    VSILFILE* f = VSIFOpenL(path.c_str(), "rb");
    if (!f) return bytes;
    char buffer[65536];
    for (std::size_t n; (n = VSIFReadL(buffer, 1, sizeof buffer, f)) > 0;) bytes.append(buffer, n);
    VSIFCloseL(f);
    return bytes;
}

// KMZ: doc.kml and the chips under files/, zipped with CPLCreateZip (GDAL's minizip) into the
// temporary file, renamed into place when complete.
void write_kmz(const fs::path& out, const Groups& groups, const OGRSpatialReference& srs) {
    AtomicFile file(out, "export");
    ChipLinks links;
    std::vector<std::pair<std::string, std::string>> embedded;  // (name in the zip, file on disk)
    std::set<std::string> names;
    const auto safe = [](const std::string& id) {
        std::string name;
        for (const char ch : id)
            name += ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.')
                        ? ch
                        : '_';
        return name;
    };
    const Pictures pictures = [&](const LedgerCase& c) {
        std::string html;
        for (const auto& [path, suffix, caption] :
             {std::tuple<const std::string&, const char*, std::string>{c.chip_before, "qsx", "前时相 " + c.qsx},
              {c.chip_after, "hsx", "后时相 " + c.hsx},
              {c.chip_check_new, "new", "复查 " + c.check_date}}) {
            if (path.empty() || !links.exists(path)) continue;
            std::string name = "files/" + safe(c.case_id) + "_" + suffix + ".jpg";
            for (int n = 2; names.count(name); ++n) name = "files/" + safe(c.case_id) + "_" + suffix + "_" + std::to_string(n) + ".jpg";
            names.insert(name);
            embedded.emplace_back(name, path);
            html += "<div><img src=\"" + name + "\" width=\"320\"/><br/>" + caption + "</div>";
        }
        return html.empty() ? html : "<br/>" + html;
    };
    const std::string doc = "/vsimem/weipian-export-" + std::to_string(::getpid()) + "-" +
                            std::to_string(reinterpret_cast<std::uintptr_t>(&file)) + "/doc.kml";
    struct Unlink {
        std::string path;
        ~Unlink() { VSIUnlink(path.c_str()); }
    } unlink{doc};
    write_kml_document(doc, out, groups, srs, pictures);
    const std::string kml = read_vsi_file(doc);
    if (kml.empty()) cannot_write(out, "GDAL wrote an empty KML document");

    CPLErrorReset();
    void* zip = CPLCreateZip(file.path().c_str(), nullptr);
    if (!zip) cannot_write(out, "GDAL cannot create the zip (" + last_gdal_error() + ")");
    bool ok = true;
    const auto add = [&](const std::string& name, const std::string& bytes, bool deflate) {
        ok = ok && add_to_zip(zip, name, bytes, deflate) == CE_None;
    };
    add("doc.kml", kml, true);  // first: readers take the first .kml of a KMZ
    for (const auto& [name, path] : embedded) {
        const std::string bytes = read_vsi_file(path);
        if (bytes.empty()) {
            ++links.missing;
            continue;
        }
        add(name, bytes, false);  // JPEG: stored, not deflated
    }
    if (CPLCloseZip(zip) != CE_None) ok = false;
    if (!ok) cannot_write(out, "GDAL cannot write the zip (" + last_gdal_error() + ")");
    file.commit();
    warn_missing_chips(links, out);
}

// ---- GeoPackage -----------------------------------------------------------------------------

void write_geopackage(const fs::path& out, LedgerStore& source, const std::vector<LedgerCase>& cases,
                      const std::vector<HistoryEntry>& history) {
    AtomicFile file(out, "export");
    {
        auto copy = LedgerStore::open(file.path().string(), LedgerStore::Mode::UpdateOrCreate, &source.srs());
        auto transaction = copy->begin();
        for (const auto& c : cases) {
            LedgerCase row = c;
            copy->insert_case(row);
        }
        for (const auto& e : history) copy->append_history(e);
        for (const auto& r : source.load_runs()) copy->insert_run(r);
        transaction.commit();
    }
    file.commit();
}

}  // namespace

std::optional<ExportFormat> parse_export_format(const std::string& name) {
    const std::string key = lower_ascii(name);
    if (key == "xlsx") return ExportFormat::Xlsx;
    if (key == "shp" || key == "shapefile") return ExportFormat::Shapefile;
    if (key == "gpkg" || key == "geopackage") return ExportFormat::GeoPackage;
    if (key == "kml") return ExportFormat::Kml;
    if (key == "kmz") return ExportFormat::Kmz;
    return std::nullopt;
}

std::optional<ExportFormat> export_format_of(const fs::path& path) {
    const std::string ext = path.extension().string();
    return ext.size() > 1 ? parse_export_format(ext.substr(1)) : std::nullopt;
}

ExportSummary export_ledger(const std::string& ledger, ExportFormat format, const fs::path& out, const ExportOptions& options) {
    if (lower_ascii(out.extension().string()) != extension_of(format))
        throw ConfigError("export: --out '" + out.string() + "' does not end in " + extension_of(format) +
                          "; give a path ending in " + extension_of(format));
    if (!is_postgres_ledger(ledger) && same_file(ledger, out))
        throw InputError("export: --out '" + out.string() + "' is the ledger itself; give another file to export to");
    prepare_file_path(out, "export");
    auto store = LedgerStore::open(ledger, LedgerStore::Mode::Read);
    const std::vector<LedgerCase> cases = store->load_cases(format != ExportFormat::Xlsx);
    const std::vector<HistoryEntry> history = store->load_history();
    const Groups groups = group_cases(cases, history);
    switch (format) {
        case ExportFormat::Xlsx: {
            // The title's county: its name from the configuration, else the cases' county code.
            std::string county = options.county_name;
            if (county.empty() && !cases.empty()) county = cases.front().county_code;
            write_xlsx(out, groups, options, county);
            break;
        }
        case ExportFormat::Shapefile: write_shapefile(out, groups, store->srs()); break;
        case ExportFormat::GeoPackage: write_geopackage(out, *store, cases, history); break;
        case ExportFormat::Kml: write_kml(out, groups, store->srs()); break;
        case ExportFormat::Kmz: write_kmz(out, groups, store->srs()); break;
    }
    ExportSummary summary;
    summary.cases = cases.size();
    summary.townships = groups.size();
    summary.path = out;
    return summary;
}

}  // namespace weipian
