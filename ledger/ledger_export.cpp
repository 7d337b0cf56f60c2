// `weipian ledger export`: the case list as XLSX, Shapefile (GBK), GeoPackage or KML.
#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <system_error>

#include <unistd.h>

#include <cpl_error.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <xlsxwriter.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/errors.hpp"
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

// ---- XLSX -----------------------------------------------------------------------------------

struct XlsxColumn {
    const char* header;
    double width;
    bool number;
    std::function<std::string(const ExportCase&)> text;
    std::function<double(const ExportCase&)> value;
};

std::vector<XlsxColumn> xlsx_columns() {
    const auto text = [](const char* header, double width, std::function<std::string(const ExportCase&)> get) {
        return XlsxColumn{header, width, false, std::move(get), nullptr};
    };
    const auto number = [](const char* header, double width, std::function<double(const ExportCase&)> get) {
        return XlsxColumn{header, width, true, nullptr, std::move(get)};
    };
    return {
        text("图斑编号", 18, [](const ExportCase& e) { return e.c->case_id; }),
        number("年度", 6, [](const ExportCase& e) { return e.c->year; }),
        text("乡镇名称", 10, [](const ExportCase& e) { return township_of(*e.c); }),
        text("乡镇代码", 12, [](const ExportCase& e) { return e.c->township_code; }),
        text("前时相", 11, [](const ExportCase& e) { return e.c->qsx; }),
        text("后时相", 11, [](const ExportCase& e) { return e.c->hsx; }),
        number("中心点X", 12, [](const ExportCase& e) { return e.c->centroid_x; }),
        number("中心点Y", 12, [](const ExportCase& e) { return e.c->centroid_y; }),
        number("监测面积（亩）", 12, [](const ExportCase& e) { return static_cast<double>(e.c->area_centimu) / 100.0; }),
        number("耕地面积（亩）", 12, [](const ExportCase& e) { return static_cast<double>(e.c->cultivated_centimu) / 100.0; }),
        text("图斑类型", 8, [](const ExportCase& e) { return e.c->tblx; }),
        text("状态", 8, [](const ExportCase& e) { return status_label(e.c->status); }),
        text("核查结果", 8, [](const ExportCase& e) { return e.c->result ? status_label(*e.c->result) : ""; }),
        text("整改状态", 8, [](const ExportCase& e) { return rectification_label(*e.c); }),
        text("日期", 11, [](const ExportCase& e) { return e.status_date; }),
        text("整改措施", 24, [](const ExportCase& e) { return e.c->plan.measures; }),
        text("整改时限", 11, [](const ExportCase& e) { return e.c->plan.deadline; }),
        text("责任人", 10, [](const ExportCase& e) { return e.c->plan.responsible; }),
        text("影像复核", 30, [](const ExportCase& e) { return e.c->flag; }),
        text("首次发现", 20, [](const ExportCase& e) { return e.c->first_seen_run; }),
        text("最近发现", 20, [](const ExportCase& e) { return e.c->last_seen_run; }),
        text("备注", 24, [](const ExportCase& e) { return e.c->notes; }),
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

void write_xlsx(const fs::path& out, const Groups& groups) {
    AtomicFile file(out, "export");
    lxw_workbook* book = workbook_new(file.path().c_str());
    if (!book) cannot_write(out, "libxlsxwriter cannot create the workbook");
    lxw_format* bold = workbook_add_format(book);
    format_set_bold(bold);
    format_set_border(bold, LXW_BORDER_THIN);
    format_set_bg_color(bold, 0xDDEBF7);
    lxw_format* mu = workbook_add_format(book);
    format_set_num_format(mu, "0.00");
    lxw_format* bold_mu = workbook_add_format(book);
    format_set_num_format(bold_mu, "0.00");
    format_set_bold(bold_mu);
    lxw_format* plain_bold = workbook_add_format(book);
    format_set_bold(plain_bold);

    std::set<std::string> used;
    // 汇总: one row per township, then 合计.
    lxw_worksheet* summary = workbook_add_worksheet(book, sheet_name("汇总", used).c_str());
    const std::vector<CaseStatus> statuses = {CaseStatus::ToVerify,   CaseStatus::Legal,     CaseStatus::FalseAlarm,
                                              CaseStatus::Illegal,    CaseStatus::Rectifying, CaseStatus::Rectified,
                                              CaseStatus::Closed};
    std::vector<std::string> headers = {"乡镇名称", "乡镇代码", "图斑（宗）", "监测面积（亩）", "涉及耕地（宗）", "耕地面积（亩）"};
    for (const auto s : statuses) headers.push_back(status_label(s));
    for (std::size_t i = 0; i < headers.size(); ++i)
        worksheet_write_string(summary, 0, static_cast<lxw_col_t>(i), headers[i].c_str(), bold);
    worksheet_set_column(summary, 0, 0, 12, nullptr);
    worksheet_set_column(summary, 1, 1, 12, nullptr);
    worksheet_set_column(summary, 2, static_cast<lxw_col_t>(headers.size() - 1), 10, nullptr);
    worksheet_freeze_panes(summary, 1, 0);
    lxw_row_t row = 1;
    std::int64_t total_cases = 0, total_area = 0, total_cultivated_cases = 0, total_cultivated = 0;
    std::vector<std::int64_t> total_status(statuses.size(), 0);
    for (const auto& [key, list] : groups) {
        std::int64_t area = 0, cultivated_cases = 0, cultivated = 0;
        std::vector<std::int64_t> per_status(statuses.size(), 0);
        for (const auto& e : list) {
            area += e.c->area_centimu;
            if (e.c->cultivated_centimu > 0) {
                ++cultivated_cases;
                cultivated += e.c->cultivated_centimu;
            }
            ++per_status[static_cast<std::size_t>(std::find(statuses.begin(), statuses.end(), e.c->status) - statuses.begin())];
        }
        worksheet_write_string(summary, row, 0, key.second.c_str(), nullptr);
        worksheet_write_string(summary, row, 1, key.first.c_str(), nullptr);
        worksheet_write_number(summary, row, 2, static_cast<double>(list.size()), nullptr);
        worksheet_write_number(summary, row, 3, static_cast<double>(area) / 100.0, mu);
        worksheet_write_number(summary, row, 4, static_cast<double>(cultivated_cases), nullptr);
        worksheet_write_number(summary, row, 5, static_cast<double>(cultivated) / 100.0, mu);
        for (std::size_t s = 0; s < statuses.size(); ++s) {
            worksheet_write_number(summary, row, static_cast<lxw_col_t>(6 + s), static_cast<double>(per_status[s]), nullptr);
            total_status[s] += per_status[s];
        }
        total_cases += static_cast<std::int64_t>(list.size());
        total_area += area;
        total_cultivated_cases += cultivated_cases;
        total_cultivated += cultivated;
        ++row;
    }
    worksheet_write_string(summary, row, 0, "合计", plain_bold);
    worksheet_write_number(summary, row, 2, static_cast<double>(total_cases), plain_bold);
    worksheet_write_number(summary, row, 3, static_cast<double>(total_area) / 100.0, bold_mu);
    worksheet_write_number(summary, row, 4, static_cast<double>(total_cultivated_cases), plain_bold);
    worksheet_write_number(summary, row, 5, static_cast<double>(total_cultivated) / 100.0, bold_mu);
    for (std::size_t s = 0; s < statuses.size(); ++s)
        worksheet_write_number(summary, row, static_cast<lxw_col_t>(6 + s), static_cast<double>(total_status[s]), plain_bold);

    const auto columns = xlsx_columns();
    for (const auto& [key, list] : groups) {
        lxw_worksheet* sheet = workbook_add_worksheet(book, sheet_name(key.second, used).c_str());
        for (std::size_t i = 0; i < columns.size(); ++i) {
            worksheet_write_string(sheet, 0, static_cast<lxw_col_t>(i), columns[i].header, bold);
            worksheet_set_column(sheet, static_cast<lxw_col_t>(i), static_cast<lxw_col_t>(i), columns[i].width, nullptr);
        }
        worksheet_freeze_panes(sheet, 1, 1);
        lxw_row_t r = 1;
        for (const auto& e : list) {
            for (std::size_t i = 0; i < columns.size(); ++i) {
                const auto col = static_cast<lxw_col_t>(i);
                if (columns[i].number) {
                    worksheet_write_number(sheet, r, col, columns[i].value(e), std::string(columns[i].header).find("亩") != std::string::npos ? mu : nullptr);
                } else {
                    const std::string value = columns[i].text(e);
                    if (!value.empty()) worksheet_write_string(sheet, r, col, value.c_str(), nullptr);
                }
            }
            ++r;
        }
    }
    const lxw_error error = workbook_close(book);
    if (error != LXW_NO_ERROR) cannot_write(out, std::string("libxlsxwriter: ") + lxw_strerror(error));
    file.commit();
}

// ---- Shapefile ------------------------------------------------------------------------------

struct ShapeField {
    const char* name;  // ≤ 10 bytes
    OGRFieldType type;
    int width;
    int precision;
    std::function<void(OGRFeature&, int, const ExportCase&)> set;
};

std::vector<ShapeField> shape_fields() {
    const auto text = [](const char* name, int width, std::function<std::string(const ExportCase&)> get) {
        return ShapeField{name, OFTString, width, 0, [get](OGRFeature& f, int i, const ExportCase& e) {
                              const std::string value = get(e);
                              if (!value.empty()) f.SetField(i, value.c_str());
                          }};
    };
    const auto real = [](const char* name, int width, std::function<double(const ExportCase&)> get) {
        return ShapeField{name, OFTReal, width, 2, [get](OGRFeature& f, int i, const ExportCase& e) { f.SetField(i, get(e)); }};
    };
    return {
        text("JCBH", 20, [](const ExportCase& e) { return e.c->case_id; }),
        text("XZQDM", 12, [](const ExportCase& e) { return e.c->township_code; }),
        text("XZMC", 40, [](const ExportCase& e) { return township_of(*e.c); }),
        ShapeField{"NF", OFTInteger, 4, 0, [](OGRFeature& f, int i, const ExportCase& e) { f.SetField(i, e.c->year); }},
        text("QSX", 10, [](const ExportCase& e) { return e.c->qsx; }),
        text("HSX", 10, [](const ExportCase& e) { return e.c->hsx; }),
        real("XZB", 12, [](const ExportCase& e) { return e.c->centroid_x; }),
        real("YZB", 12, [](const ExportCase& e) { return e.c->centroid_y; }),
        real("JCMJ", 12, [](const ExportCase& e) { return static_cast<double>(e.c->area_centimu) / 100.0; }),
        real("GDMJ", 12, [](const ExportCase& e) { return static_cast<double>(e.c->cultivated_centimu) / 100.0; }),
        text("TBLX", 4, [](const ExportCase& e) { return e.c->tblx; }),
        text("ZT", 10, [](const ExportCase& e) { return status_label(e.c->status); }),
        text("HFXSC", 10, [](const ExportCase& e) { return e.c->result ? status_label(*e.c->result) : ""; }),
        text("ZGCS", 254, [](const ExportCase& e) { return e.c->plan.measures; }),
        text("ZGQX", 10, [](const ExportCase& e) { return e.c->plan.deadline; }),
        text("ZRR", 40, [](const ExportCase& e) { return e.c->plan.responsible; }),
        text("YXFH", 254, [](const ExportCase& e) { return e.c->flag; }),
        text("BZ", 254, [](const ExportCase& e) { return e.c->notes; }),
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
        const char* options[] = {"ENCODING=GBK", "RESIZE=YES", nullptr};
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

void write_kml(const fs::path& out, const Groups& groups, const OGRSpatialReference& srs) {
    AtomicFile file(out, "export");
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
        GDALDatasetUniquePtr ds(driver->Create(file.path().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!ds) cannot_write(out, "GDAL cannot create the KML file (" + last_gdal_error() + ")");
        for (const auto& [key, list] : groups) {
            OGRLayer* layer = ds->CreateLayer(key.second.c_str(), &wgs84, wkbMultiPolygon, nullptr);
            if (!layer) cannot_write(out, "GDAL cannot create the KML folder " + key.second + " (" + last_gdal_error() + ")");
            for (const char* name : {"Name", "Description", "JCBH", "XZMC", "ZT", "JCMJ", "GDMJ", "TBLX", "HSX"}) {
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
                                                (c.flag.empty() ? std::string() : "；" + c.flag);
                f->SetField("Description", description.c_str());
                f->SetField("JCBH", c.case_id.c_str());
                f->SetField("XZMC", township_of(c).c_str());
                f->SetField("ZT", status_label(c.status));
                f->SetField("JCMJ", area.c_str());
                f->SetField("GDMJ", cultivated.c_str());
                f->SetField("TBLX", c.tblx.c_str());
                f->SetField("HSX", c.hsx.c_str());
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
    file.commit();
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
    return std::nullopt;
}

std::optional<ExportFormat> export_format_of(const fs::path& path) {
    const std::string ext = path.extension().string();
    return ext.size() > 1 ? parse_export_format(ext.substr(1)) : std::nullopt;
}

ExportSummary export_ledger(const std::string& ledger, ExportFormat format, const fs::path& out) {
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
        case ExportFormat::Xlsx: write_xlsx(out, groups); break;
        case ExportFormat::Shapefile: write_shapefile(out, groups, store->srs()); break;
        case ExportFormat::GeoPackage: write_geopackage(out, *store, cases, history); break;
        case ExportFormat::Kml: write_kml(out, groups, store->srs()); break;
    }
    ExportSummary summary;
    summary.cases = cases.size();
    summary.townships = groups.size();
    summary.path = out;
    return summary;
}

}  // namespace weipian
