// Kernels of the learned detector on synthetic blocks, on one core (TBB capped at one thread):
// feature planes per feature-grid pixel (ns/px, Mpx/s) and tree-ensemble prediction.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>
#include <tbb/global_control.h>

#include "kernels/features.hpp"

namespace {

using namespace weipian::kernels;

constexpr int kStripRows = 256;  // output rows per call; the strip holds the feature halo on both sides

FeatureEpoch random_epoch(int rows, int width, bool blue, bool nir, int seed) {
    cv::RNG rng(static_cast<std::uint64_t>(seed));
    FeatureEpoch e;
    for (cv::Mat* m : {&e.blue, &e.green, &e.red, &e.nir}) {
        if ((m == &e.blue && !blue) || (m == &e.nir && !nir)) continue;
        m->create(rows, width, CV_32FC1);
        rng.fill(*m, cv::RNG::UNIFORM, 200.0, 4000.0);
    }
    cv::Mat noise(rows, width, CV_8UC1);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 64);
    e.valid = noise != 0;
    return e;
}

void add_pixel_counters(benchmark::State& state, double pixels_per_iteration) {
    const double pixels = pixels_per_iteration * static_cast<double>(state.iterations());
    state.counters["Mpx/s"] = benchmark::Counter(pixels / 1e6, benchmark::Counter::kIsRate);
    state.counters["ns/px"] = benchmark::Counter(pixels / 1e9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Args: width, bands (4: B G R NIR; 3: B G R; 2: G R). All planes of kStripRows rows.
void BM_ComputeFeatures(benchmark::State& state) {
    tbb::global_control one_core(tbb::global_control::max_allowed_parallelism, 1);
    const int width = static_cast<int>(state.range(0));
    const int bands = static_cast<int>(state.range(1));
    const FeatureSpec spec{bands >= 3, bands == 4, 1};
    const int halo = feature_halo(spec);
    const int rows = kStripRows + 2 * halo;
    const FeatureEpoch before = random_epoch(rows, width, spec.blue, spec.nir, 1);
    const FeatureEpoch after = random_epoch(rows, width, spec.blue, spec.nir, 2);
    std::vector<cv::Mat> planes;
    FeatureWorkspace workspace;
    for (auto _ : state) {
        compute_features(before, after, halo, kStripRows, spec, planes, workspace);
        benchmark::DoNotOptimize(planes.back().data);
        benchmark::ClobberMemory();
    }
    state.counters["planes"] = feature_count(spec);
    add_pixel_counters(state, static_cast<double>(width) * kStripRows);
}
BENCHMARK(BM_ComputeFeatures)
    ->ArgNames({"width", "bands"})
    ->Args({1024, 4})
    ->Args({4096, 4})
    ->Args({4096, 3})
    ->Args({4096, 2})
    ->Unit(benchmark::kMillisecond);

// Args: width, stride. Image pixels of one 4-band uint16 epoch block onto the feature grid.
void BM_ToFeatureGrid(benchmark::State& state) {
    const int width = static_cast<int>(state.range(0));
    const int stride = static_cast<int>(state.range(1));
    cv::RNG rng(5);
    EpochBlock in;
    for (cv::Mat* m : {&in.blue, &in.green, &in.red, &in.nir}) {
        m->create(kStripRows, width, CV_16UC1);
        rng.fill(*m, cv::RNG::UNIFORM, 200, 4000);
    }
    in.valid = cv::Mat(kStripRows, width, CV_8UC1, cv::Scalar(1));
    FeatureEpoch out;
    for (auto _ : state) {
        to_feature_grid(in, stride, out);
        benchmark::DoNotOptimize(out.red.data);
    }
    add_pixel_counters(state, static_cast<double>(width) * kStripRows);
}
BENCHMARK(BM_ToFeatureGrid)->ArgNames({"width", "stride"})->Args({4096, 1})->Args({4096, 2})->Args({4096, 4});

}  // namespace
