// Polygonizer on synthetic building-like masks: Mpx/s per size and connectivity.
#include <benchmark/benchmark.h>

#include <opencv2/imgproc.hpp>

#include "kernels/polygonize.hpp"

namespace {

using namespace weipian::kernels;

// About 2.7 % foreground in rectangles of 20–5000 px, some touching.
cv::Mat building_mask(int size) {
    cv::Mat mask(size, size, CV_8UC1, cv::Scalar(0));
    cv::RNG rng(7);
    const double target = 0.027 * size * size;
    double filled = 0;
    while (filled < target) {
        const int w = rng.uniform(4, 71), h = rng.uniform(5, 71);
        const int x = rng.uniform(0, size - w), y = rng.uniform(0, size - h);
        cv::rectangle(mask, cv::Rect(x, y, w, h), cv::Scalar(1), cv::FILLED);
        filled += w * h;
    }
    return mask;
}

void BM_Polygonize(benchmark::State& state) {
    const int size = static_cast<int>(state.range(0));
    const auto connectivity = state.range(1) == 8 ? Connectivity::Eight : Connectivity::Four;
    const cv::Mat mask = building_mask(size);
    for (auto _ : state) {
        auto polygons = polygonize(mask, connectivity, 1);
        benchmark::DoNotOptimize(polygons.data());
    }
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(size) * size * state.iterations() / 1e6,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Polygonize)->Args({1024, 4})->Args({4096, 4})->Args({4096, 8})->Unit(benchmark::kMillisecond);

}  // namespace
