// End-to-end: the main job (run_main_job) on the standard generated workload at 2048², with
// Mpx/s counted as pixels of one epoch per second (both epochs are read). The workload is made
// once per process in a temp folder and removed at exit.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "pipeline/core/config.hpp"
#include "pipeline/main_job.hpp"
#include "pipeline/model.hpp"
#include "pipeline/train.hpp"
#include "bench/workload.hpp"

namespace {

namespace fs = std::filesystem;
using namespace weipian;

// Each iteration replaces the previous iteration's output.
RunOptions overwriting() {
    RunOptions options;
    options.overwrite = true;
    return options;
}

// The workload of one size and compression, made on first use.
class Workload {
public:
    Workload(int size, bool deflate) {
        spdlog::set_level(spdlog::level::warn);  // the job's progress lines would break the table
        dir_ = fs::temp_directory_path() / ("weipian-e2e-bench-" + std::to_string(::getpid()) + "-" + std::to_string(size));
        WorkloadSpec spec;
        spec.size = size;
        spec.deflate = deflate;
        files_ = make_workload(spec, dir_);
        for (const auto& b : plan_workload_truth(spec).blobs) truth_parcels_ += b.pixel_count >= workload_mmu_pixels(spec);
    }
    ~Workload() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    const WorkloadFiles& files() const { return files_; }
    const fs::path& dir() const { return dir_; }
    std::int64_t truth_parcels() const { return truth_parcels_; }

private:
    fs::path dir_;
    WorkloadFiles files_;
    std::int64_t truth_parcels_ = 0;
};

const Workload& workload(int size) {
    static const Workload w(size, true);  // one size is benchmarked; DEFLATE copies included
    return w;
}

void BM_MainJob(benchmark::State& state) {
    const int size = static_cast<int>(state.range(0));
    const bool deflate = state.range(1) != 0;
    const Workload& w = workload(size);
    Config config;
    config.before.tiles = {(deflate ? w.files().before_deflate : w.files().before).string()};
    config.after.tiles = {(deflate ? w.files().after_deflate : w.files().after).string()};
    config.overlay.area_crs = "EPSG:4546";
    config.output_dir = (w.dir() / "run").string();
    std::int64_t parcels = 0;
    for (auto _ : state) {
        const RunSummary summary = run_main_job(config, overwriting());  // replaces the previous iteration's output
        parcels = summary.parcels;
        benchmark::DoNotOptimize(parcels);
    }
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(size) * size * static_cast<double>(state.iterations()) / 1e6,
                                                 benchmark::Counter::kIsRate);
    state.counters["parcels"] = static_cast<double>(parcels);
    state.counters["truth_parcels"] = static_cast<double>(w.truth_parcels());
}
BENCHMARK(BM_MainJob)->ArgNames({"size", "deflate"})->Args({2048, 0})->Args({2048, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

// The learned model of `weipian bench --method learned`: trained once per process on the 1024²
// workload of the next seed (its new buildings are the label), 60 trees gated on the construction
// score at its 5 % quantile, stride 2.
const fs::path& learned_model(const Workload& w) {
    static const fs::path path = [&] {
        WorkloadSpec spec;
        spec.size = 1024;
        spec.seed += 1;
        const WorkloadFiles files = make_workload(spec, w.dir() / "train");
        LabelledScene scene;
        scene.name = "workload 1024";
        scene.config.before.tiles = {files.before.string()};
        scene.config.after.tiles = {files.after.string()};
        scene.label = cv::Mat(spec.size, spec.size, CV_8UC1, cv::Scalar(0));
        for (const auto& b : plan_workload_truth(spec).blobs)
            for (int y = b.y0; y < b.y0 + b.height; ++y)
                for (int x = b.x0; x < b.x0 + b.width; ++x)
                    if (b.contains(x, y)) scene.label.at<std::uint8_t>(y, x) = 1;
        TrainOptions options;
        options.trees = 60;
        options.gate_feature = "construction";
        options.gate_quantile = 0.05;
        const fs::path out = w.dir() / "model.json";
        save_model(out, train_model({scene}, Config{}, options).model);
        return out;
    }();
    return path;
}

// The main job with detect.method learned on the same workload; thread seconds per streamed
// stage (read, features, predict, upsample, clean, label, polygonize) as counters per iteration.
void BM_LearnedJob(benchmark::State& state) {
    const int size = static_cast<int>(state.range(0));
    const Workload& w = workload(size);
    Config config;
    config.before.tiles = {w.files().before.string()};
    config.after.tiles = {w.files().after.string()};
    config.detect.method = "learned";
    config.detect.model = learned_model(w).string();
    config.overlay.area_crs = "EPSG:4546";
    config.output_dir = (w.dir() / "run_learned").string();
    std::int64_t parcels = 0;
    nlohmann::json stages;
    for (auto _ : state) {
        const RunSummary summary = run_main_job(config, overwriting());
        parcels = summary.parcels;
        stages = summary.report->value("stage_thread_s", nlohmann::json::object());
        benchmark::DoNotOptimize(parcels);
    }
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(size) * size * static_cast<double>(state.iterations()) / 1e6,
                                                 benchmark::Counter::kIsRate);
    state.counters["parcels"] = static_cast<double>(parcels);
    state.counters["truth_parcels"] = static_cast<double>(w.truth_parcels());
    for (const auto& [stage, seconds] : stages.items()) state.counters[stage + "_s"] = seconds.get<double>();
}
BENCHMARK(BM_LearnedJob)->ArgNames({"size"})->Args({2048})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

}  // namespace
