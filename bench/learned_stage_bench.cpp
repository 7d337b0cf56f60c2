// The learned detector's last per-strip stage on one core: the feature-grid probability back to
// the image grid (bilinear upsampling by the stride, box smoothing, threshold; kernels/forest.hpp
// probability_to_mask), per image pixel. The other stages (feature grid, feature planes,
// prediction) are in learned_bench.cpp; the whole job in end_to_end_bench.cpp (BM_LearnedJob).
#include <benchmark/benchmark.h>

#include <opencv2/core.hpp>
#include <tbb/global_control.h>

#include "kernels/forest.hpp"

namespace {

using namespace weipian::kernels;

// Args: image width, stride, smooth radius (image px). One strip of 128 image rows plus the reach
// the streaming path gives it (one feature row and the radius each side).
void BM_ProbabilityToMask(benchmark::State& state) {
    tbb::global_control one_core(tbb::global_control::max_allowed_parallelism, 1);
    const int width = static_cast<int>(state.range(0));
    const int stride = static_cast<int>(state.range(1));
    const int radius = static_cast<int>(state.range(2));
    const int reach = 1 + (radius + stride - 1) / stride;
    const int grid_rows = 128 / stride + 2 * reach, grid_cols = width / stride;
    cv::Mat probability(grid_rows, grid_cols, CV_32FC1);
    cv::RNG rng(3);
    rng.fill(probability, cv::RNG::UNIFORM, 0.0, 1.0);
    cv::Mat valid(grid_rows * stride, grid_cols * stride, CV_8UC1, cv::Scalar(1));
    cv::Mat mask, smoothed;
    for (auto _ : state) {
        probability_to_mask(probability, stride, radius, 0.5f, valid, mask, &smoothed);
        benchmark::DoNotOptimize(mask.data);
        benchmark::DoNotOptimize(smoothed.data);
    }
    const double pixels = static_cast<double>(valid.total()) * static_cast<double>(state.iterations());
    state.counters["Mpx/s"] = benchmark::Counter(pixels / 1e6, benchmark::Counter::kIsRate);
    state.counters["ns/px"] = benchmark::Counter(pixels / 1e9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ProbabilityToMask)
    ->ArgNames({"width", "stride", "radius"})
    ->Args({8192, 2, 2})
    ->Args({8192, 3, 3})
    ->Args({8192, 2, 0})
    ->Unit(benchmark::kMillisecond);

}  // namespace
