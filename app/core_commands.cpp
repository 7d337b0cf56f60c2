// The main job and the evaluation commands: run, detect, evaluate, config.
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include "app/commands.hpp"
#include "app/config_options.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_sink.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/dates.hpp"
#include "pipeline/core/log.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/detect.hpp"
#include "pipeline/evaluate.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/main_job.hpp"

namespace weipian::app {
namespace {

namespace fs = std::filesystem;

// Options the run/detect/evaluate commands share; owned by the action closures.
struct SceneOptions {
    std::string config_path;
    std::vector<std::string> before, after;
    std::string out;
    double pixel_size = 0;
    int threads = -1;

    Config resolve() const {
        Config config = config_path.empty() ? Config{} : Config::load(config_path);
        if (!before.empty()) config.before.tiles = before;
        if (!after.empty()) config.after.tiles = after;
        if (threads >= 0) config.processing.threads = threads;
        return config;
    }
};

// One place decides the worker count for every TBB loop in the process.
std::unique_ptr<tbb::global_control> limit_threads(const Config& config) {
    const int workers = config.processing.threads > 0 ? config.processing.threads : tbb::info::default_concurrency();
    return std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                 static_cast<std::size_t>(workers));
}

// `detect` and `evaluate`: plain images allowed with --pixel-size; the whole-scene mask.
struct DetectedScene {
    AlignedEpochs epochs;
    ChangeMask change;
};

DetectedScene detect_scene(const SceneOptions& o, const Config& config) {
    IngestOptions options;
    options.allow_missing_crs = true;
    options.pixel_size_m = o.pixel_size;
    const DetectStage detect(config);
    detect.validate();
    DetectedScene scene{IngestStage(config, {options}).run(), {}};
    scene.change = detect.run(scene.epochs);
    return scene;
}

void add_scene_inputs(CLI::App* cmd, SceneOptions& o, bool required) {
    auto* b = cmd->add_option("--before", o.before, "earlier-epoch (QSX) image(s) or globs");
    auto* a = cmd->add_option("--after", o.after, "later-epoch (HSX) image(s) or globs");
    if (required) {
        b->required();
        a->required();
    }
}

// --before-date / --after-date: replace epochs.before.date / epochs.after.date (the QSX / HSX
// written on every parcel). Throws ConfigError naming the option.
void apply_epoch_dates(Config& config, const std::string& before_date, const std::string& after_date) {
    for (const auto& [option, date] : {std::pair<const char*, const std::string*>{"--before-date", &before_date},
                                       std::pair<const char*, const std::string*>{"--after-date", &after_date}})
        if (!date->empty() && !is_iso_date(*date))
            throw ConfigError("run: " + std::string(option) + " '" + *date +
                              "' is not a real day written YYYY-MM-DD; give the image's date, e.g. 2023-09-18");
    if (!before_date.empty()) config.before.date = before_date;
    if (!after_date.empty()) config.after.date = after_date;
    if (before_date.empty() && after_date.empty()) return;
    if (!config.before.date.empty() && !config.after.date.empty() && !(config.after.date > config.before.date))
        throw ConfigError("run: the HSX date " + config.after.date + " (" +
                          (after_date.empty() ? "epochs.after.date" : "--after-date") + ") is not later than the QSX date " +
                          config.before.date + " (" + (before_date.empty() ? "epochs.before.date" : "--before-date") +
                          "); give --before-date the earlier image's date and --after-date the later one's");
    config.validate();  // what else depends on the dates (a ledger needs the HSX date)
}

}  // namespace

CommandAction add_run_command(CLI::App& app) {
    auto o = std::make_shared<SceneOptions>();
    CLI::App* cmd = app.add_subcommand("run", "the main job: epochs in, candidate parcels per township out");
    cmd->add_option("--config", o->config_path, "YAML configuration (see `weipian config`)")->required();
    add_scene_inputs(cmd, *o, false);
    cmd->add_option("--out", o->out, "output folder; replaces output.dir");
    auto overwrite = std::make_shared<bool>(false);
    cmd->add_flag("--overwrite", *overwrite,
                  "replace the output folder when it holds a previous weipian output (never files weipian did not write)");
    add_config_option(cmd, "--threads", o->threads, "processing.threads");
    auto ledger = std::make_shared<std::string>();
    cmd->add_option("--ledger", *ledger,
                    "case ledger to feed: GeoPackage file or PostgreSQL connection string; replaces ledger.path");
    auto before_date = std::make_shared<std::string>(), after_date = std::make_shared<std::string>();
    cmd->add_option("--before-date", *before_date, "date of the earlier (QSX) epoch, YYYY-MM-DD; replaces epochs.before.date");
    cmd->add_option("--after-date", *after_date, "date of the later (HSX) epoch, YYYY-MM-DD; replaces epochs.after.date");
    return [o, ledger, overwrite, before_date, after_date]() {
        Config config = o->resolve();
        apply_epoch_dates(config, *before_date, *after_date);
        apply_ledger_override(config, *ledger);
        if (!o->out.empty()) config.output_dir = o->out;
        const auto threads = limit_threads(config);
        // The case ledger is wired in here: the pipeline only knows the ParcelSink interface.
        LedgerSink ledger_sink;
        RunOptions options;
        options.overwrite = *overwrite;
        options.sink = config.ledger.configured() ? &ledger_sink : nullptr;
        // A bar on a terminal only (TermProgress decides): cron mail and CI logs stay clean.
        const RunSummary summary = [&] {
            TermProgress progress("run");  // its line ends before the summary is printed
            options.progress = TermProgress::callback;
            options.progress_data = &progress;
            return run_main_job(config, options);
        }();
        const nlohmann::json& report = *summary.report;
        std::cout << "weipian: " << summary.parcels << " candidate parcels, "
                  << report["counts"]["area_mu"].get<std::string>() << " 亩, written to "
                  << fs::absolute(summary.output_dir).lexically_normal().string() << "\n";
        if (report.contains("ledger")) {
            const auto& l = report["ledger"];
            if (l.value("already_fed", false))
                std::cout << "ledger: these parcels were fed before; nothing changed\n";
            else
                std::cout << "ledger: " << l.value("new_cases", 0) << " new cases, " << l.value("updated_cases", 0)
                          << " updated, " << l.value("flagged_cases", 0) << " flagged (rectification not visible)\n";
        }
        return 0;
    };
}

CommandAction add_detect_command(CLI::App& app) {
    auto o = std::make_shared<SceneOptions>();
    CLI::App* cmd = app.add_subcommand("detect", "write the cleaned change mask (Byte, 1 = new construction)");
    add_scene_inputs(cmd, *o, true);
    cmd->add_option("--out", o->out, "mask GeoTIFF to write")->required();
    cmd->add_option("--config", o->config_path, "YAML configuration (band roles, detector, cleaning)");
    cmd->add_option("--pixel-size", o->pixel_size, "pixel size in metres for images without georeferencing (PNG)")
        ->check(CLI::PositiveNumber);
    return [o]() {
        const Config config = o->resolve();
        for (const auto& input : {config.before.tiles, config.after.tiles})
            for (const auto& tile : input)
                if (same_file(tile, o->out))
                    throw InputError("detect: --out '" + o->out + "' is the input '" + tile + "'; give another file for the mask");
        prepare_file_path(o->out, "detect");  // refused before any work
        const auto threads = limit_threads(config);
        const auto [epochs, change] = detect_scene(*o, config);
        write_mask_geotiff(o->out, change.mask, epochs);
        spdlog::info("detect: {} parcels, {} px flagged", change.components.count(), cv::countNonZero(change.mask));
        return 0;
    };
}

CommandAction add_evaluate_command(CLI::App& app) {
    auto o = std::make_shared<SceneOptions>();
    auto label = std::make_shared<std::string>();
    auto kind = std::make_shared<std::string>("auto");
    CLI::App* cmd = app.add_subcommand("evaluate", "print accuracy (JSON) of the change mask against labels");
    add_scene_inputs(cmd, *o, true);
    cmd->add_option("--label", *label, "labels: full map (0/255) or samples (1 changed, 2 unchanged)")->required();
    cmd->add_option("--label-kind", *kind, "auto, full or sparse")->check(CLI::IsMember({"auto", "full", "sparse"}));
    cmd->add_option("--config", o->config_path, "YAML configuration (band roles, detector, cleaning)");
    cmd->add_option("--pixel-size", o->pixel_size, "pixel size in metres for images without georeferencing (PNG)")
        ->check(CLI::PositiveNumber);
    return [o, label, kind]() {
        const Config config = o->resolve();
        const auto threads = limit_threads(config);
        const auto [epochs, change] = detect_scene(*o, config);
        const LabelKind label_kind = *kind == "full" ? LabelKind::Full : *kind == "sparse" ? LabelKind::Sparse : LabelKind::Automatic;
        const cv::Mat reference = read_label_raster(*label, epochs);
        EvaluateStage::Options options = EvaluateStage::Options::from(config);
        options.kind = label_kind;
        nlohmann::json result = EvaluateStage(options).run(change.mask, reference, change.valid);
        const double flagged = cv::countNonZero(change.mask);
        result["before"] = o->before.front();
        result["after"] = o->after.front();
        result["label"] = *label;
        result["threshold"] = change.threshold;
        if (change.detector) result["detector"] = *change.detector;
        result["flagged_pixels"] = flagged;
        result["flagged_area_m2"] = flagged * epochs.pixel_width_m() * epochs.pixel_height_m();
        std::cout << result.dump(2) << "\n";
        return 0;
    };
}

CommandAction add_config_command(CLI::App& app) {
    auto check = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("config", "print every configuration key with its default, range and help");
    cmd->add_option("--check", *check, "validate this config file and print it resolved (JSON)");
    return [check]() {
        if (check->empty())
            std::cout << describe_config_keys();
        else
            std::cout << Config::load(*check).to_json().dump(2) << "\n";
        return 0;
    };
}

}  // namespace weipian::app
