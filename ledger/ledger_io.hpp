#pragma once
// Field-verification results into the ledger (`weipian ledger import`) and the case list out of
// it (`weipian ledger export`).
#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace weipian {

// ---- import ---------------------------------------------------------------------------------

// The county's form (核查填报, ENFORCEMENT.md §2 and §5), one column each; a sheet may carry any
// of them next to the verification columns below. Recognised by the form's Chinese heading (the
// first, used in messages), or the ledger's column name (case, '_' and blanks ignored; a unit
// suffix （亩）/(亩)/（%）/(%) is ignored too):
//   Verdict 核实认定意见 认定意见 verdict · Category 分类 category · UseDetail 用途分类细化 use_detail
//   Project 项目名称 project · BuiltAt 建设时间 built_at · Developer 项目主体 developer
//   FieldNotes 现场核查描述 field_notes · Area 地块面积 area_mu · Cultivated 占耕地面积 cultivated_mu
//   (the export's 耕地面积（亩） is not read) · PermanentFarmland 占基本农田面积 占永久基本农田面积 yjjbnt_mu
//   OtherAgricultural 占非耕农用地面积 fgnyd_mu · Unused 占未利用地面积 wlyd_mu
//   Redline 占生态红线面积 占生态保护红线面积 sthx_mu · Construction 建设用地面积 jsyd_mu
//   evidence 用地审批批准文号 土地供应批准文号 不动产权证号 临时用地批准文号 设施农用地上图入库号 (pzwh gdwh
//   bdcqzh lsydwh ssnydh), each share as <heading>占比, <heading>比例 or <name>_share (percent)
//   RectifyMethod 整改方式 zgfs · Demolished 拆除面积 cc_mu · DemolishedCultivated 拆除耕地面积 cc_gd_mu
//   Regularised 补办面积 bb_mu · RegularisedCultivated 补办耕地面积 bb_gd_mu · Remaining 剩余未整改面积 sy_mu
//   ReviewEnded 审核结束日期 审核结束时间 审核通过日期 审核通过时间 review_ended_at
// (English names such as demolished_mu, remaining_mu, rectify_method are accepted as well.)
enum class FormField {
    Verdict, Category, UseDetail, Project, BuiltAt, Developer, FieldNotes,
    Area, Cultivated, PermanentFarmland, OtherAgricultural, Unused, Redline, Construction,
    ApprovalNo, ApprovalShare, SupplyNo, SupplyShare, TitleNo, TitleShare, TemporaryNo, TemporaryShare,
    FacilityNo, FacilityShare,
    RectifyMethod, Demolished, DemolishedCultivated, Regularised, RegularisedCultivated, Remaining, ReviewEnded,
};
inline constexpr std::size_t kFormFields = static_cast<std::size_t>(FormField::ReviewEnded) + 1;

// The form heading of a field as messages and history rows name it (核实认定意见, 地块面积, …).
const char* form_heading(FormField field);

// The rectification ways (整改方式, ENFORCEMENT.md §5): 拆除, 补办, 拆补组合, 未整改.
inline constexpr const char* kRectifyMethods[] = {"拆除", "补办", "拆补组合", "未整改"};

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
    std::array<std::string, kFormFields> form;  // the county's form, by FormField

    std::string& at(FormField field) { return form[static_cast<std::size_t>(field)]; }
    const std::string& at(FormField field) const { return form[static_cast<std::size_t>(field)]; }
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
    std::size_t form_refused = 0;  // rows whose form broke the lists or identities: nothing applied
    // The issues, one a line ("line 7: unknown case id '…'"), then the counts.
    std::string text() const;
};

// Applies the rows in order, each on the case as the rows before it left it. A row is applied
// whole or not at all: its result (核查结果) first, then its rectification status (整改状态),
// each a lifecycle transition unless the case already has it; then 责任人, 整改措施, 整改时限,
// 备注, 图斑类型 and the form's fields where given and different. Refused, per row: an unknown case
// id, a value that is not a result/status, a bad or future date, a status change without a date,
// a date before the case's last recorded change, a transition the lifecycle does not allow. All
// applied rows are written in one transaction. Throws InputError only when the ledger cannot be
// opened or written.
//
// The form (FormField): 核实认定意见 and 分类 are read with their spelling variants
// (pipeline/core/verdicts.hpp) and the verdict acts as the 核查结果 it implies (verdict_status:
// 合法/其他/农村道路/设施农用地 → 合法, 非农违法/非粮违法 → 违法, 伪变化 → 误报), through the same
// transitions. Areas are 亩 to 0.01 (a third decimal rounds half up), shares percent 0–100.
// A form that breaks the vocabulary or the identities is a wrong sheet, not a row to skip: when
// any row has such a problem, NOTHING is applied (the ledger is unchanged, every such row is listed
// with its line): a verdict or 分类 outside the lists (分类 checked against the row's verdict, or
// the case's when the row gives none), a 核查结果 that contradicts the verdict, a value that is not
// a number or is negative, a share outside 0–100, a bad or future 建设时间 / 审核结束日期, an
// unknown 整改方式, and the identities (to 0.01 亩):
//   地块面积 = 占耕地 + 占非耕农用地 + 占未利用地 + 建设用地 (blank parts are 0; checked when the
//     row's area figures differ from the case's — an exported sheet read back unchanged passes);
//   占基本农田 ≤ 占耕地; 占生态红线 ≤ 地块面积;
//   拆除耕地 ≤ 拆除; 补办耕地 ≤ 补办; 拆除 + 补办 + 剩余未整改 = 地块面积 (the row's, else the
//     case's); 拆除耕地 + 补办耕地 ≤ 占耕地, and = 占耕地 when 剩余未整改 is 0 (nothing of the 耕地
//     is left); 整改方式 agrees with the quantities (拆除: 拆除 > 0, 补办 = 0; 补办: the reverse;
//     拆补组合: both > 0; 未整改: both 0).
// Rectification quantities are recorded together: a row giving any of them must give
// 剩余未整改面积 (its blank 拆除/补办 figures are 0).
ImportSummary import_verification(const std::string& ledger, const std::vector<ImportRow>& rows,
                                  const ImportOptions& options);

// ---- export ---------------------------------------------------------------------------------

enum class ExportFormat { Xlsx, Shapefile, GeoPackage, Kml, Kmz };

// "xlsx", "shp", "gpkg", "kml", "kmz" (case-insensitive); and the format a path's extension names.
std::optional<ExportFormat> parse_export_format(const std::string& name);
std::optional<ExportFormat> export_format_of(const std::filesystem::path& path);

struct ExportSummary {
    std::size_t cases = 0;
    std::size_t townships = 0;
    std::filesystem::path path;
};

// What the XLSX title row says.
struct ExportOptions {
    std::string county_name;  // e.g. 稷山县 (config county.name); empty = the cases' county code
    std::string date;         // YYYY-MM-DD in the title; empty = today in Beijing (UTC+8)
};

// Writes every case of the ledger (also those split or merged: 已拆分, 已合并), ordered by
// township code and case id, with every LedgerCase field:
//  - xlsx, in the habits of a county 台账: each sheet has a title row ("<county>卫片执法图斑台账
//    （<date>）"), the header row under it (Chinese headings, those of the form, ENFORCEMENT.md §2),
//    both frozen with the first columns, an autofilter, landscape A4 fit to the page width with
//    the two rows repeated on every page. Sheets: 汇总 (per township the live cases — not 已拆分/
//    已合并 —, 亩, cases on 耕地 and their 亩, ranked like `ledger report` by summarize_by_township
//    (耕地 亩, then 亩, descending; 乡镇界外 last), the count per status and the cases judged
//    illegal with their 亩 and 耕地 亩, then 合计), then a sheet per township: 序号, 图斑编号,
//    线索编号, 图斑来源, 批次, 下发日期, 往期图斑编号, 关联图斑, 检出运行, 年度, 乡镇名称, 乡镇代码,
//    前时相, 后时相, 中心点X/Y, 图斑类型, 状态, 核查结果, 整改状态, 日期, 核实认定意见, 分类,
//    用途分类细化, 项目名称, 建设时间, 项目主体, 现场核查描述, 地块面积, 占耕地面积, 占基本农田面积,
//    占非耕农用地面积, 占未利用地面积, 占生态红线面积, 建设用地面积, 未调查面积 (亩), the five
//    evidence numbers each with its 占比（%）, 初判核实认定意见（建议）, 初判分类（建议）,
//    初判依据（建议）, 整改方式, 拆除/拆除耕地/补办/补办耕地/剩余未整改面积 (亩; blank = not
//    recorded), 审核通过日期, 整改措施, 整改时限, 责任人, 影像复核, 影像复核时相, 首次发现, 最近发现,
//    更新时间（北京时间）, 备注, then the pictures (issue 10): 前时相影像, 后时相影像 (the run's chips,
//    chip_before/chip_after), 影像复查结果 (已恢复/部分恢复 …, with the built share), 影像复查日期,
//    复查影像 (the new image's chip of the last check), each picture a hyperlink to its JPEG (a
//    path relative to the workbook's folder, Excel's external link) showing the file name; a chip
//    file that is missing leaves its cell empty and the export warns once with how many. Dates are Excel dates (yyyy-mm-dd; 建设时间 given as a month stays
//    text), the UTC update time an Excel date-time in Beijing time (UTC+8). A filled-in copy can
//    be imported back (`ledger import` finds the header under the title row).
//  - shp: MultiPolygon in the ledger CRS, attributes in GBK with a .cpg, field names of at most
//    10 bytes; text fields have fixed widths so that they can be filled in afterwards (free text
//    254 bytes, words and names 50, codes 30, dates and statuses 20; GBK takes 2 bytes a Chinese
//    character), reals 亩 to 2 decimals (blank = not recorded). Fields: JCBH 图斑编号, XZQDM, XZMC,
//    NF 年度, QSX, HSX, XZB, YZB, JCMJ 地块面积, GDMJ 耕地, TBLX, ZT 状态, HFXSC 核查结果, ZGCS 整改措施,
//    ZGQX 整改时限, ZRR 责任人, YXFH 影像复核, BZ 备注; LY 来源, XSBH 线索编号, PC 批次, XFRQ 下发日期,
//    WQBH 往期图斑编号, GLBH 关联图斑, JCYX 检出运行; HSRDYJ 核实认定意见, FL 分类, YTFLXH 用途分类细化,
//    XMMC 项目名称, JSSJ 建设时间, XMZT 项目主体, XCHCMS 现场核查描述; YJJBNT_MU 基本农田, FGNYD_MU
//    非耕农用地, WLYD_MU 未利用地, STHX_MU 生态红线, JSYD_MU 建设用地, WDC_MU 未调查; PZWH, GDWH, BDCQZH,
//    LSYDWH, SSNYDH and their *_ZB 占比 (%); CP_YJ, CP_FL, CP_RULE 初判（建议）; ZGFS 整改方式, CC_MU,
//    CC_GD_MU, BB_MU, BB_GD_MU, SY_MU, SHTGRQ 审核通过日期, GXSJ 更新时间 (UTC);
//  - gpkg: a copy of the ledger (cases, history, runs), itself a ledger;
//  - kml: one folder per township, placemarks named by case id, in longitude/latitude
//    (EPSG:4326, longitude first), with the lead id, the verdict and the pre-judgement (建议).
//  - kmz: the same KML (doc.kml) zipped with the case's chips under files/ (<case id>_qsx.jpg,
//    _hsx.jpg, _new.jpg: before, after and the last check's new image) shown with <img> in each
//    placemark's balloon (description); missing chip files are left out with one warning naming
//    how many.
// The output is written under a temporary name and renamed when complete (a previous file is
// replaced then). `out` must end in the format's extension. Throws ConfigError for a wrong
// extension, InputError when the ledger cannot be read or the output written.
ExportSummary export_ledger(const std::string& ledger, ExportFormat format, const std::filesystem::path& out,
                            const ExportOptions& options = {});

}  // namespace weipian
