// Detection and cleaning kernels on synthetic blocks: Mpx/s per block size.
#include <benchmark/benchmark.h>

#include <opencv2/core.hpp>

#include "kernels/clean.hpp"
#include "kernels/detect.hpp"

namespace {

using namespace weipian::kernels;

EpochBlock random_epoch(int size, int seed) {
    cv::RNG rng(static_cast<std::uint64_t>(seed));
    EpochBlock e;
    for (cv::Mat* m : {&e.blue, &e.green, &e.red, &e.nir}) {
        m->create(size, size, CV_32FC1);
        rng.fill(*m, cv::RNG::UNIFORM, 200.0f, 4000.0f);
    }
    return e;
}

void BM_DetectConstruction(benchmark::State& state) {
    const int size = static_cast<int>(state.range(0));
    const EpochBlock before = random_epoch(size, 1), after = random_epoch(size, 2);
    cv::Mat score, mask;
    for (auto _ : state) {
        detect_construction(before, after, ConstructionParams{}, score, mask);
        benchmark::DoNotOptimize(mask.data);
    }
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(size) * size * state.iterations() / 1e6,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DetectConstruction)->Arg(256)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond);

void BM_OpenClose(benchmark::State& state) {
    const int size = static_cast<int>(state.range(0));
    cv::Mat source(size, size, CV_8UC1);
    cv::RNG rng(3);
    rng.fill(source, cv::RNG::UNIFORM, 0, 2);
    cv::Mat mask;
    for (auto _ : state) {
        source.copyTo(mask);
        open_close(mask, 1, 1);
        benchmark::DoNotOptimize(mask.data);
    }
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(size) * size * state.iterations() / 1e6,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OpenClose)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);

}  // namespace
