// `weipian bench`: the main job on the standard generated workload (bench/workload.hpp), with
// per-stage throughput, peak memory and the projected time for a whole county.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include "app/commands.hpp"
#include "app/config_options.hpp"
#include "bench/workload.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/main_job.hpp"
#include "pipeline/model.hpp"
#include "pipeline/train.hpp"

namespace weipian::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
    int size = 8192;
    std::string workdir;
    bool keep = false;
    bool deflate = false;
    bool make_only = false;
    int threads = 0;
    std::uint64_t seed = WorkloadSpec{}.seed;
    double county_km2 = 686;
    double county_pixel_m = 0.8;
    std::string county_name = "Jishan";
    std::string method = "construction";
    std::string model;  // learned: an existing model; empty = train one on a small generated workload
    int train_size = 1024;
    // The learned case's model: 60 trees gated on the construction score at its 5 % quantile of
    // the changed samples (on the 2048² workload: 26 % of the feature grid evaluated, 110 of 121
    // buildings; the training defaults, cv5 at 1 %, evaluated 58 % for 101, measured).
    int trees = 60;
    std::string gate = "construction";
    int stride = 0;  // 0 = train's default for the pixel size
    double gate_quantile = 0.05;
};

// CPU time (user + system) of this process so far, seconds: what the job costs the cores,
// whatever else the machine runs (wall time ≥ CPU time / cores).
double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

fs::path bench_model_path(const BenchOptions& o, const fs::path& dir) {
    return dir / ("model_" + (o.gate.empty() ? std::string("nogate") : o.gate) + "_" + std::to_string(o.trees) + "_s" +
                  std::to_string(o.stride) + "_q" + std::to_string(static_cast<int>(std::lround(o.gate_quantile * 1000))) + ".json");
}

// The learned case's model: trained on a small workload of another seed (its truth, the new
// buildings, is the label), written to `path`; reused when `path` exists. Returns its path.
fs::path bench_model(const BenchOptions& o, const fs::path& dir) {
    if (!o.model.empty() && (fs::exists(o.model) || !o.make_only)) return o.model;
    const fs::path path = o.model.empty() ? bench_model_path(o, dir) : fs::path(o.model);
    if (fs::exists(path)) {
        std::cout << "model: reused " << path.string() << "\n";
        return path;
    }
    WorkloadSpec spec;
    spec.size = o.train_size;
    spec.seed = o.seed + 1;
    const fs::path train_dir = dir / "train_workload";
    const WorkloadFiles files = make_workload(spec, train_dir);
    LabelledScene scene;
    scene.name = "workload " + std::to_string(spec.size) + "² seed " + std::to_string(spec.seed);
    scene.config.before.tiles = {files.before.string()};
    scene.config.after.tiles = {files.after.string()};
    scene.label = cv::Mat(spec.size, spec.size, CV_8UC1, cv::Scalar(0));
    for (const auto& blob : plan_workload_truth(spec).blobs)
        for (int y = blob.y0; y < blob.y0 + blob.height; ++y)
            for (int x = blob.x0; x < blob.x0 + blob.width; ++x)
                if (blob.contains(x, y)) scene.label.at<std::uint8_t>(y, x) = 1;
    TrainOptions options;
    options.trees = o.trees;
    options.gate_feature = o.gate;
    options.stride = o.stride;
    options.gate_quantile = o.gate_quantile;
    const TrainResult result = train_model({scene}, Config{}, options);
    save_model(path, result.model);
    char line[256];
    std::snprintf(line, sizeof line,
                  "model: trained in %.1f s on the %d² workload of seed %llu (%lld samples, %d trees, stride %d, gate %s ≥ %.3g, "
                  "threshold %.2f)\n",
                  result.seconds, spec.size, static_cast<unsigned long long>(spec.seed), static_cast<long long>(result.samples),
                  o.trees, result.model.spec.stride, result.model.gate_feature.c_str(), static_cast<double>(result.model.gate.minimum),
                  result.model.threshold);
    std::cout << line << "  " << path.string() << "\n";
    return path;
}

// "2 min 14 s", "1 h 05 min", "12.3 s".
std::string human_duration(double seconds) {
    char text[64];
    if (seconds < 60)
        std::snprintf(text, sizeof text, "%.1f s", seconds);
    else if (seconds < 3600)
        std::snprintf(text, sizeof text, "%d min %02d s", static_cast<int>(seconds / 60), static_cast<int>(std::fmod(seconds, 60)));
    else
        std::snprintf(text, sizeof text, "%d h %02d min", static_cast<int>(seconds / 3600),
                      static_cast<int>(std::fmod(seconds, 3600) / 60));
    return text;
}

// Peak resident set of this process since start (getrusage), in MB.
double peak_rss_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Linux: VmHWM (peak RSS) can be reset by writing 5 to /proc/self/clear_refs, so the job's own
// peak is measured even when the workload was generated in this process. Returns false when the
// kernel does not allow it.
bool reset_peak_rss() {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    return static_cast<bool>(clear);
}

double vm_hwm_mb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

// Flattens {"a": 1, "b": {"c": 2}} into ("a", 1), ("b.c", 2) in the report's order.
void flatten(const nlohmann::json& j, const std::string& prefix, std::vector<std::pair<std::string, double>>& out) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
        if (it->is_number())
            out.emplace_back(key, it->get<double>());
        else if (it->is_object())
            flatten(*it, key, out);
    }
}

int run_bench(const BenchOptions& o) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    const int workers = o.threads > 0 ? o.threads : tbb::info::default_concurrency();
    const tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));

    const bool own_dir = o.workdir.empty();
    const fs::path dir = own_dir ? fs::temp_directory_path() / ("weipian-bench-" + std::to_string(o.size)) : fs::path(o.workdir);
    WorkloadSpec spec;
    spec.size = o.size;
    spec.seed = o.seed;
    spec.deflate = o.deflate;
    const WorkloadFiles files = make_workload(spec, dir);
    const double pixels = static_cast<double>(spec.size) * spec.size;
    std::cout << "workload: " << spec.size << " × " << spec.size << " px × 4 bands uint16 × 2 epochs at " << spec.pixel_size_m
              << " m, 256² tiles, " << files.blobs << " new buildings, " << files.changed_pixels << " changed px ("
              << std::fixed << std::setprecision(2) << 100.0 * static_cast<double>(files.changed_pixels) / pixels << " %), ";
    if (files.generated)
        std::cout << "generated in " << std::setprecision(1) << files.generate_seconds << " s";
    else
        std::cout << "reused";
    std::cout << "\n  " << fs::absolute(dir).lexically_normal().string() << "\n";
    if (o.make_only) {
        if (o.method == "learned") bench_model(o, dir);
        return 0;
    }

    Config config;
    config.before.tiles = {(o.deflate ? files.before_deflate : files.before).string()};
    config.after.tiles = {(o.deflate ? files.after_deflate : files.after).string()};
    config.before.date = "2023-04-10";
    config.after.date = "2023-09-18";
    config.county.name = o.county_name;
    // The detector and the minimum mapping unit keep their declared defaults (pipeline/core/config.cpp).
    config.overlay.area_crs = "EPSG:4546";
    config.processing.threads = o.threads;
    config.output_dir = (dir / "run").string();
    if (o.method == "learned") {
        config.detect.method = "learned";
        config.detect.model = bench_model(o, dir).string();
    }
    config.validate();

    const bool hwm_reset = reset_peak_rss();
    const auto start = Clock::now();
    const double cpu_start = cpu_seconds();
    RunOptions run_options;
    run_options.overwrite = true;  // the run folder of a previous bench in the same workdir
    const RunSummary summary = run_main_job(config, run_options);
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_start;
    const double job_rss = hwm_reset ? vm_hwm_mb() : 0, process_rss = peak_rss_mb();

    std::cout << "machine: " << cores << " cores; threads used: " << workers << "\n";
    std::cout << "input: " << (o.deflate ? "DEFLATE (PREDICTOR=2)" : "uncompressed") << " GeoTIFF\n";
    std::vector<std::pair<std::string, double>> stages;
    flatten(summary.report->value("timings_s", nlohmann::json::object()), "", stages);
    // The job's stage order, then any other keys the report has, the total last.
    const std::vector<std::string> order = {"ingest", "stream", "detect", "clean", "polygonize", "overlay", "emit"};
    std::cout << "detector: " << config.detect.method;
    if (const auto d = summary.report->value("detector", nlohmann::json::object()); d.contains("model")) {
        const double evaluated = d.value("evaluated_pixels", 0.0);
        const int stride = d["model"].value("stride", 1);
        std::cout << " (" << d["model"].value("path", "") << ", stride " << stride << ", threshold " << std::setprecision(3)
                  << d.value("threshold", 0.0) << ", evaluated " << std::setprecision(1)
                  << 100.0 * evaluated * stride * stride / pixels << " % of the feature grid)";
    }
    std::cout << "\n";
    auto rank = [&](const std::string& key) {
        if (key == "total") return static_cast<int>(order.size()) + 1;
        const auto it = std::find(order.begin(), order.end(), key.substr(0, key.find('.')));
        return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
    };
    std::stable_sort(stages.begin(), stages.end(), [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
    std::cout << "  stage                    s      Mpx/s\n";
    for (const auto& [name, seconds] : stages) {
        char line[128];
        std::snprintf(line, sizeof line, "  %-20s %9.3f %10.1f\n", name.c_str(), seconds,
                      seconds > 0 ? pixels / seconds / 1e6 : 0.0);
        std::cout << line;
    }
    // Thread seconds per streamed stage, summed over strips (the cores' work, not wall time).
    std::cout << "  streamed stage (thread s, summed over strips)\n";
    const nlohmann::json thread_seconds = summary.report->value("stage_thread_s", nlohmann::json::object());
    for (const auto& [name, seconds] : thread_seconds.items()) {
        char row[128];
        std::snprintf(row, sizeof row, "    %-18s %9.3f\n", name.c_str(), seconds.get<double>());
        std::cout << row;
    }
    const double rate = pixels / wall;  // pixels of one epoch per second, end to end
    char line[256];
    std::snprintf(line, sizeof line, "end to end: %.2f s, %.1f Mpx/s (pixels of one epoch; both epochs read)\n", wall, rate / 1e6);
    std::cout << line;
    std::snprintf(line, sizeof line, "CPU: %.2f s user+system during the job (%.2f s on %d idle cores at best; wall %.2f s)\n", cpu,
                  cpu / workers, workers, wall);
    std::cout << line;
    std::int64_t truth_parcels = 0;
    {
        std::ifstream in(files.truth);
        const auto truth = nlohmann::json::parse(in, nullptr, false);
        if (!truth.is_discarded()) truth_parcels = truth.value("blobs_at_least_mmu", std::int64_t{0});
    }
    std::cout << "parcels: " << summary.parcels << " (truth: " << truth_parcels << " buildings ≥ " << config.clean.min_area_m2
              << " m²)\n";
    if (hwm_reset)
        std::snprintf(line, sizeof line, "peak RSS: %.0f MB during the job (VmHWM), %.0f MB whole process (getrusage)\n", job_rss,
                      process_rss);
    else
        std::snprintf(line, sizeof line, "peak RSS: %.0f MB whole process (getrusage)\n", process_rss);
    std::cout << line;
    const double county_px = o.county_km2 * 1e6 / (o.county_pixel_m * o.county_pixel_m);
    const int exponent = static_cast<int>(std::floor(std::log10(county_px)));
    std::snprintf(line, sizeof line, "%s %.0f km² at %.2g m: %.2fe%d px per epoch → projected %s (both epochs, at %.1f Mpx/s)\n",
                  o.county_name.c_str(), o.county_km2, o.county_pixel_m, county_px / std::pow(10.0, exponent), exponent,
                  human_duration(county_px / rate).c_str(), rate / 1e6);
    std::cout << line;

    if (!o.keep) {
        std::error_code ec;
        remove_previous_output(dir / "run");  // only what the run wrote
        if (own_dir && o.model.empty() && o.method == "learned") {  // the model and its training workload made above
            fs::remove(bench_model_path(o, dir), ec);
            fs::remove_all(dir / "train_workload", ec);
        }
        if (own_dir && files.generated) {  // the files the generator wrote, then the folder if nothing else is in it
            for (const auto& file : {files.before, files.after, files.before_deflate, files.after_deflate, files.truth,
                                     dir / "workload.json"})
                if (!file.empty()) fs::remove(file, ec);
            fs::remove(dir, ec);
        }
    }
    return 0;
}

}  // namespace

CommandAction add_bench_command(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    CLI::App* cmd = app.add_subcommand("bench", "run the main job on a generated standard workload and print throughput");
    cmd->add_option("--size", o->size, "workload side in pixels (N × N, 0.8 m)")->check(CLI::Range(256, 65536))->capture_default_str();
    cmd->add_option("--workdir", o->workdir, "folder for the workload and the run (default: a temp folder); reused when its stamp matches");
    cmd->add_flag("--keep", o->keep, "keep the workload and the run's outputs");
    cmd->add_flag("--deflate", o->deflate, "run on the DEFLATE-compressed copies of the epochs");
    cmd->add_flag("--make-only", o->make_only, "only make (or check) the workload, then stop");
    add_config_option(cmd, "--threads", o->threads, "processing.threads");
    cmd->add_option("--seed", o->seed, "workload seed")->capture_default_str();
    cmd->add_option("--county-km2", o->county_km2, "county area for the projection, km²")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--county-pixel-m", o->county_pixel_m, "county imagery pixel size for the projection, m")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--county-name", o->county_name, "county name in the projection line")->capture_default_str();
    cmd->add_option("--method", o->method, "detector: construction, or learned (a model trained on a small generated workload "
                                           "of the next seed, kept as model_<gate>_<trees>.json in the workload folder)")
        ->check(CLI::IsMember({"construction", "learned"}))
        ->capture_default_str();
    cmd->add_option("--model", o->model,
                    "learned: use this model file instead of training one (with --make-only: trained and written there when it "
                    "does not exist)");
    cmd->add_option("--train-size", o->train_size, "learned: side of the training workload, px")
        ->check(CLI::Range(256, 8192))
        ->capture_default_str();
    cmd->add_option("--gate", o->gate, "learned: feature plane the trained model is gated on (\"\" = none)")->capture_default_str();
    cmd->add_option("--gate-quantile", o->gate_quantile,
                    "learned: the gate's minimum is this quantile of the changed training samples' gate feature")
        ->check(CLI::Range(0.0, 0.5))
        ->capture_default_str();
    cmd->add_option("--stride", o->stride, "learned: feature-grid stride of the trained model (0 = 2 below 1 m pixels, else 1)")
        ->check(CLI::Range(0, 8))
        ->capture_default_str();
    cmd->add_option("--trees", o->trees, "learned: boosting rounds of the trained model")->check(CLI::Range(1, 2000))->capture_default_str();
    return [o]() {
        BenchOptions options = *o;
        if (options.make_only) options.keep = true;
        return run_bench(options);
    };
}

}  // namespace weipian::app
