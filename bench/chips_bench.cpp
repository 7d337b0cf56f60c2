// Chips (pipeline/chips.hpp) for 3,000 parcels on the standard generated workload (10240² px at
// 0.8 m, two 4-band UInt16 epochs of 800 MB each, tiles of 256²): the issue wants chips and
// HTML for the 3,000 parcels of the Nanjing run within a few seconds beyond the run, and no
// rereading of whole epochs. Parcels are the workload's new buildings (bounding rectangles, in
// placement order). Cases: write_parcel_chips (both epochs, 6,000 JPEGs of 320², the two
// stretches included) on 1 and 2 threads, and write_overview (the after epoch averaged to
// 1600 px: this one reads the whole epoch unless it has overviews).
//
//   build/bench/weipian_chips_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Measured 2026-12-04 on the shared 2-core build machine (load 3–9 from other builds, so wall
// times are high and noisy; CPU is the calling thread's): BM_ParcelChips/threads:2 median
// 11.7 s wall, 4.8 s CPU per 3,000 parcels (≈ 9.6 s CPU for both threads: ≈ 1.6 ms a chip);
// threads:1 ≈ 11.4–14 s CPU. One chip: render 0.75 ms CPU, write_jpeg 0.8 ms CPU (libjpeg with
// optimised Huffman tables, AtomicFile's create/rename). BM_Overview (10240² → 1600 px, no
// overviews): 1.1 s CPU, 2.3 s wall.
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
        spec.size = 10240;  // 8192² holds 2,065 new buildings; 10240² about 3,200
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
        // A fresh folder each time, as the main job's staging folder is (replacing 6,000 files
        // costs more than writing them).
        state.PauseTiming();
        std::error_code ec;
        fs::remove_all(s.out(), ec);
        state.ResumeTiming();
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

// The parts of one chip on the sample scene (sample_tiles/hsx, four tiles mosaicked): render
// (window read, stretch, bilinear enlargement, outline and decorations) and write_jpeg (MEM →
// JPEG driver through AtomicFile) of a 320² chip around object C01.
std::vector<std::string> sample_after_tiles() {
    std::vector<std::string> tiles;
    for (const char* t : {"r0c0", "r0c1", "r1c0", "r1c1"})
        tiles.push_back((fs::path(WEIPIAN_SOURCE_DIR) / "sample_tiles" / "hsx" / ("HSX_20230918_" + std::string(t) + ".tif")).string());
    return tiles;
}

OGRGeometryUniquePtr c01() {
    auto ring = std::make_unique<OGRLinearRing>();
    ring->addPoint(497060, 3940830);
    ring->addPoint(497100, 3940830);
    ring->addPoint(497100, 3940860);
    ring->addPoint(497060, 3940860);
    ring->closeRings();
    auto poly = std::make_unique<OGRPolygon>();
    poly->addRingDirectly(ring.release());
    return OGRGeometryUniquePtr(poly.release());
}

void BM_RenderChip(benchmark::State& state) {
    const ChipSource source(sample_after_tiles(), BandRoles{}, ChipStyle{});
    const auto outline = c01();
    for (auto _ : state) {
        cv::Mat chip = source.render(*outline, "1 HSX 2023-09-18", kChipAfterColour);
        benchmark::DoNotOptimize(chip.data);
    }
}
BENCHMARK(BM_RenderChip)->Unit(benchmark::kMicrosecond);

void BM_WriteJpeg(benchmark::State& state) {
    const ChipSource source(sample_after_tiles(), BandRoles{}, ChipStyle{});
    const cv::Mat chip = source.render(*c01(), "1 HSX 2023-09-18", kChipAfterColour);
    const fs::path dir = fs::temp_directory_path() / ("weipian-chips-jpeg-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    int i = 0;
    for (auto _ : state) write_jpeg(dir / (std::to_string(i++ % 1000) + ".jpg"), chip, 85);
    std::error_code ec;
    fs::remove_all(dir, ec);
}
BENCHMARK(BM_WriteJpeg)->Unit(benchmark::kMicrosecond);

}  // namespace
