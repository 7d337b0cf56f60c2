// `weipian nightly`: the unattended night (pipeline/nightly.hpp) from cron or a systemd timer.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include "app/commands.hpp"
#include "ledger/ledger_rectify.hpp"
#include "ledger/ledger_sink.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/core/location.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/dates.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/log.hpp"
#include "pipeline/nightly.hpp"

namespace weipian::app {
namespace {

// The catalog lives in the ledger's database by default, and a GeoPackage holding only the
// catalog's tables is not a ledger: a configured GeoPackage ledger that does not exist yet is
// created first (empty, in overlay.area_crs, else the first base tile's CRS), as the first
// run's feed would create it.
void create_ledger_first(const Config& config) {
    if (!config.ledger.configured() || is_postgres_ledger(config.ledger.path) || std::filesystem::exists(config.ledger.path))
        return;
    if (!config.nightly.catalog.empty() && config.nightly.catalog != config.ledger.path) return;
    OGRSpatialReference srs;
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    bool have = !config.overlay.area_crs.empty() && srs.SetFromUserInput(config.overlay.area_crs.c_str()) == OGRERR_NONE;
    if (!have && !config.nightly.base.empty()) {
        for (const auto& tile : expand_tiles(config.nightly.base, "nightly.base")) {
            GDALDatasetUniquePtr ds(GDALDataset::Open(tile.c_str(), GDAL_OF_RASTER));
            if (ds && ds->GetSpatialRef()) {
                srs = *ds->GetSpatialRef();
                srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
                have = true;
                break;
            }
        }
    }
    if (!have) return;  // the first feed creates it (the catalog then needs nightly.catalog of its own)
    LedgerStore::open(config.ledger.path, LedgerStore::Mode::UpdateOrCreate, &srs);
    spdlog::info("nightly: created the ledger '{}' (the imagery catalog is kept in it)", config.ledger.path);
}

}  // namespace

CommandAction add_nightly_command(CLI::App& app) {
    struct Options {
        std::string config_path, night, log_file;
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand(
        "nightly", "the unattended night: register new inbox tiles, run them against the earlier coverage into "
                   "output.dir/<date>/, point output.dir/latest at it (exit 75: another run holds the lock)");
    cmd->add_option("--config", o->config_path, "YAML configuration with nightly.inbox (see `weipian config`)")->required();
    cmd->add_option("--night", o->night, "the night's date, YYYY-MM-DD (the folder name); default today (local time)");
    cmd->add_option("--log", o->log_file, "append the log (with timestamps) to this file");
    return [o]() {
        LogOptions log = logging_options();
        log.timestamps = true;
        if (!o->log_file.empty()) log.log_file = o->log_file;
        configure_logging(log);
        if (!o->night.empty() && !is_iso_date(o->night))
            throw ConfigError("nightly: --night '" + o->night + "' is not a date YYYY-MM-DD on the calendar; write e.g. 2026-12-02");
        const Config config = Config::load(o->config_path);
        const int workers = config.processing.threads > 0 ? config.processing.threads : tbb::info::default_concurrency();
        tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));

        // The case ledger is fed by the main job's sink, as `run` does (idempotent by digest: a
        // redone night feeds nothing twice).
        create_ledger_first(config);
        LedgerSink ledger_sink;
        TermProgress progress("nightly");
        NightlyOptions options;
        options.night = o->night;
        options.sink = config.ledger.configured() ? &ledger_sink : nullptr;
        if (progress.enabled()) {
            options.progress = &TermProgress::callback;
            options.progress_data = &progress;
        }
        // Rectification checked on the new imagery (ledger/ledger_rectify.hpp): every 整改中 / 已整改
        // case the night's tiles cover, against its own QSX and HSX imagery from the catalog.
        options.after_run = [](const Config& night, const ImageryCatalog& catalog, const std::vector<CatalogTile>& tiles,
                               const std::filesystem::path& folder, nlohmann::json& summary) {
            if (!night.ledger.configured() || !night.rectify.enabled || tiles.empty()) return;
            RectifyOptions rectify;
            rectify.config = &night;
            rectify.new_imagery.date = tiles.front().date;  // a night's tiles share one date
            for (const auto& tile : tiles) rectify.new_imagery.tiles.push_back(tile.path);
            rectify.lookup = [&catalog](const OGRGeometry& footprint, const std::string& date) -> std::optional<DatedImagery> {
                DatedImagery found{date, {}};
                for (const auto& tile : catalog.intersecting(footprint, date, date)) found.tiles.push_back(tile.path);
                if (found.tiles.empty()) return std::nullopt;
                return found;
            };
            const std::filesystem::path base = std::filesystem::absolute(folder);
            rectify.chips_dir = base / kNightlyHookFolder;
            rectify.source = "nightly " + base.filename().string();
            auto store = LedgerStore::open(night.ledger.path, LedgerStore::Mode::Update);
            nlohmann::json list = nlohmann::json::array();
            for (const auto& c : check_rectification(*store, rectify)) {
                list.push_back({{"case_id", c.case_id}, {"state", c.state}, {"built_share", c.built_share},
                                {"image_date", c.image_date}, {"flagged", c.flagged}, {"flag_cleared", c.flag_cleared},
                                {"already_checked", c.already_checked}, {"note", c.note}});
                for (const auto& chip : c.chips) {
                    const auto relative = std::filesystem::path(chip).lexically_relative(base);
                    if (!relative.empty() && *relative.begin() != "..") summary["files"].push_back(relative.generic_string());
                }
            }
            summary["rectification"] = list;
        };

        NightlyResult result;
        try {
            result = run_nightly(config, options);
        } catch (const NightlyLockedError& e) {
            std::cerr << e.what() << "\n";
            return e.exit_code();
        }
        for (const auto& night : result.nights) {
            std::cout << "nightly: " << night.night << (night.redone ? " (redone)" : "") << ": " << night.parcels
                      << " parcels, " << night.area_mu << " 亩, " << night.deferred.size() << " deferred, ";
            if (!night.edge_reported.empty()) std::cout << night.edge_reported.size() << " cut at an edge of other imagery, ";
            std::cout << night.skipped.size() << " files skipped";
            if (night.summary.contains("rectification") && !night.summary["rectification"].empty()) {
                int flagged = 0;
                for (const auto& c : night.summary["rectification"]) flagged += c.value("flagged", false) ? 1 : 0;
                std::cout << ", " << night.summary["rectification"].size() << " cases rechecked (" << flagged << " 整改不到位)";
            }
            std::cout << " → " << night.folder.string() << "\n";
        }
        std::cout << result.message << "\n";
        return 0;
    };
}

}  // namespace weipian::app
