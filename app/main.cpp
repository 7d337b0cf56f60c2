// weipian: new construction from two epochs of satellite tiles, as per-township parcels for
// field verification. One executable; subcommands run, detect, evaluate, polygonize, config.
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include "pipeline/config.hpp"
#include "pipeline/errors.hpp"
#include "pipeline/evaluate.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/run.hpp"

namespace {

namespace fs = std::filesystem;
using namespace weipian;

Config load_or_default(const std::string& path) {
    if (path.empty()) return Config{};
    return Config::load(path);
}

// Command-line epochs replace the config's.
void apply_epochs(Config& config, const std::vector<std::string>& before, const std::vector<std::string>& after) {
    if (!before.empty()) config.before.tiles = before;
    if (!after.empty()) config.after.tiles = after;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"weipian: finds new construction between two epochs of satellite tiles and lists it per township "
                 "as parcels (图斑) for field verification"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("weipian ") + WEIPIAN_VERSION);
    bool verbose = false, quiet = false;
    app.add_flag("-v,--verbose", verbose, "log every step");
    app.add_flag("-q,--quiet", quiet, "log only warnings and errors");

    std::string config_path, out_path, label_path, label_kind = "auto";
    std::vector<std::string> before, after;
    double pixel_size = 0;
    int threads = -1;

    CLI::App* run = app.add_subcommand("run", "the main job: epochs in, candidate parcels per township out");
    run->add_option("--config", config_path, "YAML configuration (see `weipian config`)")->required();
    run->add_option("--before", before, "earlier-epoch (QSX) tiles or globs; replaces epochs.before.tiles");
    run->add_option("--after", after, "later-epoch (HSX) tiles or globs; replaces epochs.after.tiles");
    run->add_option("--out", out_path, "output folder; replaces output.dir");
    run->add_option("--threads", threads, "worker threads (default: all cores)")->check(CLI::Range(0, 1024));

    CLI::App* detect = app.add_subcommand("detect", "write the cleaned change mask (Byte, 1 = new construction)");
    detect->add_option("--before", before, "earlier image")->required();
    detect->add_option("--after", after, "later image")->required();
    detect->add_option("--out", out_path, "mask GeoTIFF to write")->required();
    detect->add_option("--config", config_path, "YAML configuration (band roles, detector, cleaning)");
    detect->add_option("--pixel-size", pixel_size, "pixel size in metres for images without georeferencing (PNG)")
        ->check(CLI::PositiveNumber);

    CLI::App* evaluate = app.add_subcommand("evaluate", "print accuracy (JSON) of the change mask against labels");
    evaluate->add_option("--before", before, "earlier image")->required();
    evaluate->add_option("--after", after, "later image")->required();
    evaluate->add_option("--label", label_path, "labels: full map (0/255) or samples (1 changed, 2 unchanged)")->required();
    evaluate->add_option("--label-kind", label_kind, "auto, full or sparse")->check(CLI::IsMember({"auto", "full", "sparse"}));
    evaluate->add_option("--config", config_path, "YAML configuration (band roles, detector, cleaning)");
    evaluate->add_option("--pixel-size", pixel_size, "pixel size in metres for images without georeferencing (PNG)")
        ->check(CLI::PositiveNumber);

    CLI::App* config_cmd = app.add_subcommand("config", "print every configuration key with its default, range and help");
    std::string check_path;
    config_cmd->add_option("--check", check_path, "validate this config file and print it resolved (JSON)");

    CLI11_PARSE(app, argc, argv);

    auto logger = spdlog::stderr_color_mt("weipian");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%^%l%$ %v");
    spdlog::set_level(verbose ? spdlog::level::debug : quiet ? spdlog::level::warn : spdlog::level::info);

    try {
        install_gdal_error_handler();
        if (*config_cmd) {
            if (check_path.empty()) {
                std::cout << describe_config_keys();
            } else {
                std::cout << Config::load(check_path).to_json().dump(2) << "\n";
            }
            return 0;
        }
        Config config = load_or_default(config_path);
        apply_epochs(config, before, after);
        if (threads >= 0) config.processing.threads = threads;
        // One place decides the worker count for every TBB loop in the process.
        const int workers = config.processing.threads > 0 ? config.processing.threads : tbb::info::default_concurrency();
        tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));
        if (*run) {
            if (!out_path.empty()) config.output_dir = out_path;
            const RunSummary summary = run_main_job(config);
            std::cout << "weipian: " << summary.parcels << " candidate parcels, " << summary.report["counts"]["area_mu"].get<std::string>()
                      << " 亩, written to " << fs::absolute(summary.output_dir).lexically_normal().string() << "\n";
            return 0;
        }
        IngestOptions options;
        options.allow_missing_crs = true;
        options.pixel_size_m = pixel_size;
        AlignedEpochs epochs = ingest_epochs(config, options);
        ChangeMask change = detect_change(epochs, config);
        if (*detect) {
            write_mask_geotiff(out_path, change.mask, epochs);
            spdlog::info("detect: {} parcels, {} px flagged", change.components.count(), cv::countNonZero(change.mask));
            return 0;
        }
        const LabelKind kind = label_kind == "full" ? LabelKind::Full : label_kind == "sparse" ? LabelKind::Sparse : LabelKind::Automatic;
        const cv::Mat label = read_label_raster(label_path, epochs);
        nlohmann::json result = evaluate_mask(change.mask, label, kind, config.clean.connectivity, change.valid);
        result["before"] = before.front();
        result["after"] = after.front();
        result["label"] = label_path;
        result["threshold"] = change.threshold;
        result["flagged_pixels"] = cv::countNonZero(change.mask);
        result["flagged_area_m2"] = cv::countNonZero(change.mask) * epochs.pixel_width_m() * epochs.pixel_height_m();
        std::cout << result.dump(2) << "\n";
        return 0;
    } catch (const Error& e) {
        std::cerr << "weipian: error: " << e.what() << "\n";
        return e.exit_code();
    } catch (const std::exception& e) {
        std::cerr << "weipian: internal error: " << e.what() << "\n";
        return 70;
    }
}
