// End-to-end: the main job (run_main_job) on the standard generated workload at 2048², with
// Mpx/s counted as pixels of one epoch per second (both epochs are read). The workload is made
// once per process in a temp folder and removed at exit.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "pipeline/core/config.hpp"
#include "pipeline/main_job.hpp"
#include "bench/workload.hpp"

namespace {

namespace fs = std::filesystem;
using namespace weipian;

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
        const RunSummary summary = run_main_job(config, RunOptions{true});  // replaces the previous iteration's output
        parcels = summary.parcels;
        benchmark::DoNotOptimize(parcels);
    }
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(size) * size * static_cast<double>(state.iterations()) / 1e6,
                                                 benchmark::Counter::kIsRate);
    state.counters["parcels"] = static_cast<double>(parcels);
    state.counters["truth_parcels"] = static_cast<double>(w.truth_parcels());
}
BENCHMARK(BM_MainJob)->ArgNames({"size", "deflate"})->Args({2048, 0})->Args({2048, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
