// Chips (pipeline/chips.hpp) for 3,000 parcels on the standard generated workload (8192² px at
// 0.8 m, two 4-band UInt16 epochs of 512 MB each, tiles of 256²): the issue wants chips and
// HTML for the 3,000 parcels of the Nanjing run within a few seconds beyond the run, and no
// rereading of whole epochs. Parcels are the workload's new buildings (bounding rectangles, in
// placement order). Cases: write_parcel_chips (both epochs, 6,000 JPEGs of 320², the two
// stretches included) on 1 and 2 threads, and write_overview (the after epoch averaged to
// 1600 px: this one reads the whole epoch unless it has overviews).
//
//   build/bench/weipian_chips_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include <spdlog/spdlog.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include "bench/workload.hpp"
#include "pipeline/chips.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/ingest.hpp"

namespace {

namespace fs = std::filesystem;
using namespace weipian;

constexpr int kParcels = 3000;

class Scene {
public:
    Scene() {
        spdlog::set_level(spdlog::level::warn);
        dir_ = fs::temp_directory_path() / ("weipian-chips-bench-" + std::to_string(::getpid()));
        WorkloadSpec spec;
        spec.size = 8192;
        const WorkloadFiles files = make_workload(spec, dir_ / "workload");
        config_.before.tiles = {files.before.string()};
        config_.after.tiles = {files.after.string()};
        config_.before.date = "2023-04-10";
        config_.after.date = "2023-09-18";
        epochs_ = ingest_epochs(config_);
        const auto& gt = epochs_.geotransform();
        for (const auto& b : plan_workload_truth(spec).blobs) {
            if (static_cast<int>(parcels_.size()) == kParcels) break;
            auto ring = std::make_unique<OGRLinearRing>();
            const double x0 = gt[0] + b.x0 * gt[1], x1 = gt[0] + (b.x0 + b.width) * gt[1];
            const double y0 = gt[3] + b.y0 * gt[5], y1 = gt[3] + (b.y0 + b.height) * gt[5];
            ring->addPoint(x0, y0);
            ring->addPoint(x1, y0);
            ring->addPoint(x1, y1);
            ring->addPoint(x0, y1);
            ring->closeRings();
            auto poly = std::make_unique<OGRPolygon>();
            poly->addRingDirectly(ring.release());
            Parcel p;
            p.id = static_cast<std::int64_t>(parcels_.size()) + 1;
            p.geometry.reset(poly.release());
            parcels_.push_back(std::move(p));
        }
    }
    ~Scene() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    const Config& config() const { return config_; }
    const AlignedEpochs& epochs() const { return epochs_; }
    const std::vector<Parcel>& parcels() const { return parcels_; }
    fs::path out() const { return dir_ / "out"; }

private:
    fs::path dir_;
    Config config_;
    AlignedEpochs epochs_;
    std::vector<Parcel> parcels_;
};

const Scene& scene() {
    static const Scene s;
    return s;
}

void BM_ParcelChips(benchmark::State& state) {
    const Scene& s = scene();
    const int threads = static_cast<int>(state.range(0));
    tbb::task_arena arena(threads);
    const ChipStyle style = ChipStyle::from(s.config());
    std::size_t written = 0;
    for (auto _ : state) {
        arena.execute([&] {
            written = write_parcel_chips(s.out(), s.epochs(), s.parcels(), style, s.config().before.date, s.config().after.date).size();
        });
        benchmark::DoNotOptimize(written);
    }
    state.counters["parcels"] = static_cast<double>(written);
    state.counters["chips/s"] = benchmark::Counter(2.0 * static_cast<double>(written) * static_cast<double>(state.iterations()),
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ParcelChips)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Overview(benchmark::State& state) {
    const Scene& s = scene();
    const ChipStyle style = ChipStyle::from(s.config());
    for (auto _ : state) {
        const OverviewImage overview = write_overview(s.out(), s.epochs(), s.parcels(), style, 1600);
        benchmark::DoNotOptimize(overview.width);
    }
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(s.epochs().width()) * s.epochs().height() *
                                                     static_cast<double>(state.iterations()) / 1e6,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Overview)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
