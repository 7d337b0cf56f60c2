// `weipian ledger import|import-leads|leads|export|report|split|merge`: the case ledger (台账) from the command line.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <functional>
#include <memory>
#include <vector>

#include <pwd.h>
#include <unistd.h>

#include "app/commands.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_leads.hpp"
#include "ledger/ledger_report.hpp"
#include "ledger/ledger_split.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/overlay.hpp"

namespace weipian::app {
namespace {

namespace fs = std::filesystem;

struct LedgerOptions {
    std::string ledger;
    std::string config_path;
    std::string file;
    std::string who;
    std::string format;
    std::string out;
    std::string as_of;
    std::string cohort;
    std::vector<std::string> cases;  // split: one; merge: two or more
    std::string by;                  // split --by
    std::string order_field;         // split --order-field
    std::string into;                // merge --into
    std::string batch;
    bool missed = false;
};

// The configuration the ledger commands read (milestones, 年清), with --ledger applied.
Config resolve(const LedgerOptions& o) {
    Config config = o.config_path.empty() ? Config{} : Config::load(o.config_path);
    if (!o.ledger.empty()) config.ledger.path = o.ledger;
    if (!config.ledger.configured())
        throw ConfigError("ledger: no ledger given; pass --ledger LEDGER (a .gpkg file or a PostgreSQL connection string) "
                          "or --config with ledger.path");
    return config;
}

std::string login_name() {
    if (const passwd* user = ::getpwuid(::geteuid()); user && user->pw_name) return user->pw_name;
    if (const char* name = std::getenv("USER"); name && *name) return name;
    return "unknown";
}

void add_ledger_options(CLI::App* cmd, LedgerOptions& o) {
    cmd->add_option("--ledger", o.ledger, "the ledger: a GeoPackage file or a PostgreSQL connection string (PG:… / postgresql://…)");
    cmd->add_option("--config", o.config_path, "YAML configuration (ledger.path, ledger.milestones, ledger.annual_clearance_from, prejudge.ratio_warning, prejudge.ratio_limit)");
}

// The township of a lead's outline (ledger CRS) from config.overlay.townships: the overlay's own
// township rule (OverlayStage), the township holding most of the outline.
std::function<std::pair<std::string, std::string>(const OGRGeometry&, const OGRSpatialReference&)> township_lookup(
    const Config& config) {
    if (!config.overlay.townships.configured()) return {};
    auto stage = std::make_shared<std::unique_ptr<OverlayStage>>();
    return [stage, config](const OGRGeometry& outline, const OGRSpatialReference& srs) -> std::pair<std::string, std::string> {
        if (!*stage) {
            OverlayConfig townships_only;
            townships_only.area_crs = config.overlay.area_crs;
            townships_only.townships = config.overlay.townships;
            OGRPoint centre;
            outline.Centroid(&centre);
            OGRSpatialReference wgs84;
            wgs84.importFromEPSG(4326);
            wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
            const auto from = clone_traditional(srs);
            std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(from.get(), &wgs84));
            if (ct) centre.transform(ct.get());
            *stage = std::make_unique<OverlayStage>(townships_only, srs, centre.getX(), centre.getY());
            (*stage)->validate();
        }
        Parcel parcel;
        parcel.geometry.reset(outline.clone());
        auto pieces = (*stage)->run([&] {
            std::vector<Parcel> one;
            one.push_back(std::move(parcel));
            return one;
        }());
        const Parcel* best = nullptr;
        for (const auto& piece : pieces)
            if (!(piece.township_name == kUnassignedTownship && piece.township_code.empty()) &&
                (!best || piece.area_m2 > best->area_m2))
                best = &piece;
        if (!best) return {kUnassignedTownship, ""};
        return {best->township_name, best->township_code};
    };
}

}  // namespace

CommandAction add_ledger_command(CLI::App& app) {
    auto o = std::make_shared<LedgerOptions>();
    CLI::App* cmd = app.add_subcommand("ledger", "the case ledger (台账): import verification results, export cases, report progress, split and merge cases");
    cmd->require_subcommand(1);

    CLI::App* import = cmd->add_subcommand(
        "import", "apply field-verification results (CSV or XLSX: 图斑编号, 核查结果, 整改状态, 日期, 责任人, 备注, 整改措施, "
                  "整改时限) and the county's form (核实认定意见, 分类, areas, evidence, 整改方式 and quantities, 审核结束日期); "
                  "exit code 3 when a row was refused (the valid rows are applied; nothing when a row breaks the form)");
    import->add_option("FILE", o->file, "the verification sheet (.csv or .xlsx)")->required();
    add_ledger_options(import, *o);
    import->add_option("--who", o->who, "who is recorded as making the changes (default: the login name)");

    CLI::App* import_leads = cmd->add_subcommand(
        "import-leads", "import a batch of delivered leads (下发线索: Shapefile in GBK or UTF-8, GeoPackage, or XLSX with "
                        "coordinates) as cases keyed by their ids, linked to self-found cases at the same place; exit code 3 "
                        "when the file is refused or a row conflicts with the ledger");
    import_leads->add_option("FILE", o->file, "the lead file (.shp, .gpkg or .xlsx)")->required();
    add_ledger_options(import_leads, *o);
    import_leads->add_option("--batch", o->batch, "batch name (批次) for every lead, over the file's batch field");
    import_leads->add_option("--who", o->who, "who is recorded as importing (default: the login name)");

    CLI::App* leads = cmd->add_subcommand("leads", "list delivered leads: matched (已匹配), missed (漏检), not covered by a run yet "
                                                   "(未覆盖), and the totals with self-found cases (自主发现)");
    add_ledger_options(leads, *o);
    leads->add_flag("--missed", o->missed, "list only the missed leads (漏检; training data for weipian train --ledger)");

    CLI::App* export_cmd = cmd->add_subcommand("export", "write the case list as XLSX, Shapefile (GBK), GeoPackage or KML");
    add_ledger_options(export_cmd, *o);
    export_cmd->add_option("--format", o->format, "xlsx, shp, gpkg, kml or kmz (kml with the chips; default: from the extension of --out)")
        ->check(CLI::IsMember({"xlsx", "shp", "gpkg", "kml", "kmz"}));
    export_cmd->add_option("--out", o->out, "file to write (a previous file there is replaced only when the new one is complete)")->required();

    CLI::App* report = cmd->add_subcommand("report", "the plan's summary, rectification progress against milestones, overdue cases, 整改率 by count/亩/耕地亩 "
                                                 "with identity checks, the 15 % ratio (prejudge.ratio_warning, ratio_limit)");
    add_ledger_options(report, *o);
    report->add_option("--as-of", o->as_of, "date the report is for, YYYY-MM-DD (default: today)");
    report->add_option("--cohort", o->cohort, "only these years, e.g. 2018-2021 or 2022 (default: every cohort)");
    report->add_option("--out", o->out, "write the report to this file instead of standard output");

    // ---- split / merge (issue 9, ledger/ledger_split.hpp) ----
    CLI::App* split = cmd->add_subcommand("split", "split a case into sub-parcels CASE_1, CASE_2, … by the polygons of a file; "
                                                   "the pieces' areas sum to the case's, the case becomes 已拆分");
    split->add_option("CASE", o->cases, "the case id")->required()->expected(1);
    split->add_option("--by", o->by, "the pieces: any OGR polygon file (GeoPackage, Shapefile, …) in any CRS, one feature a piece")->required();
    split->add_option("--order-field", o->order_field, "number the pieces by this field (numbers numerically; default: file order)");
    add_ledger_options(split, *o);
    split->add_option("--who", o->who, "who is recorded as making the change (default: the login name)");
    CLI::App* merge = cmd->add_subcommand("merge", "merge cases of one township and status into one (the first, or --into); "
                                                   "the others become 已合并");
    merge->add_option("CASES", o->cases, "two or more case ids")->required()->expected(2, -1);
    merge->add_option("--into", o->into, "the case that survives (default: the first)");
    add_ledger_options(merge, *o);
    merge->add_option("--who", o->who, "who is recorded as making the change (default: the login name)");

    return [o, import, import_leads, leads, export_cmd, report, split, merge]() {
        const Config config = resolve(*o);
        if (split->parsed()) {
            SplitOptions options;
            options.who = o->who.empty() ? login_name() : o->who;
            options.order_field = o->order_field;
            std::cout << split_case(config.ledger.path, o->cases.front(), o->by, options).text();
            return 0;
        }
        if (merge->parsed()) {
            MergeOptions options;
            options.who = o->who.empty() ? login_name() : o->who;
            options.into = o->into;
            std::cout << merge_cases(config.ledger.path, o->cases, options).text();
            return 0;
        }
        if (import_leads->parsed()) {
            LeadImportOptions options;
            options.batch = o->batch;
            options.who = o->who.empty() ? login_name() : o->who;
            options.source = fs::path(o->file).filename().string();
            options.county_code = config.county.code;
            options.township_of = township_lookup(config);
            const LeadImportSummary summary = weipian::import_leads(config.ledger, o->file, options);
            std::cout << summary.text();
            return summary.failed() ? 3 : 0;  // 3: bad input, as for InputError
        }
        if (leads->parsed()) {
            std::cout << list_leads(config.ledger.path).text(o->missed);
            return 0;
        }
        if (import->parsed()) {
            const auto rows = read_import_file(o->file);
            ImportOptions options;
            options.who = o->who.empty() ? login_name() : o->who;
            options.source = fs::path(o->file).filename().string();
            const ImportSummary summary = import_verification(config.ledger.path, rows, options);
            std::cout << summary.text();
            return summary.refused > 0 ? 3 : 0;  // 3: bad input, as for InputError
        }
        if (export_cmd->parsed()) {
            const auto format = o->format.empty() ? export_format_of(o->out) : parse_export_format(o->format);
            if (!format)
                throw ConfigError("export: cannot tell the format of '" + o->out + "'; pass --format xlsx, shp, gpkg, kml or kmz");
            ExportOptions export_options;
            export_options.county_name = config.county.name;
            const ExportSummary summary = export_ledger(config.ledger.path, *format, o->out, export_options);
            std::cout << "weipian: " << summary.cases << " cases of " << summary.townships << " townships written to "
                      << fs::absolute(summary.path).lexically_normal().string() << "\n";
            return 0;
        }
        LedgerReportOptions options;
        options.as_of = o->as_of;
        if (!o->cohort.empty()) {
            options.cohort = parse_year_range(o->cohort);
            if (!options.cohort) throw ConfigError("report: --cohort '" + o->cohort +
                                                   "' is not a year or a range such as 2018-2021; give a year (--cohort 2021) or "
                                                   "a range of years (--cohort 2018-2021)");
        }
        options.milestones = config.ledger.milestones;
        options.annual_clearance_from = config.ledger.annual_clearance_from;
        options.ratio_warning = config.prejudge.ratio_warning;
        options.ratio_limit = config.prejudge.ratio_limit;
        if (!o->out.empty()) {
            if (!is_postgres_ledger(config.ledger.path) && same_file(config.ledger.path, o->out))
                throw InputError("report: --out '" + o->out + "' is the ledger itself; give another file for the report");
            prepare_file_path(o->out, "report");  // refused before the report is built
        }
        const LedgerReport report = build_ledger_report(config.ledger.path, options);
        const std::string text = report.text();
        if (o->out.empty())
            std::cout << text;
        else
            write_file_atomically(o->out, text, "report");
        // A failing identity check is never silent, also when the report goes to a file.
        for (const auto& failure : report.identity_failures) std::cerr << "weipian: report: " << failure << "\n";
        return 0;
    };
}

}  // namespace weipian::app
