// Morphological reconstruction (Vincent's hybrid algorithm against the dilate-until-stable
// loop) and the building index, on one core, Mpx/s.
#include <benchmark/benchmark.h>

#include <cstdint>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "kernels/building_index.hpp"

namespace {

using namespace weipian::kernels;

// A brightness-like CV_32FC1 scene: smoothed noise (blobs of ~10 px) plus bright 12×12 roofs.
cv::Mat scene(int size) {
    cv::Mat b(size, size, CV_32FC1);
    cv::RNG rng(21);
    rng.fill(b, cv::RNG::UNIFORM, 0.0, 100.0);
    cv::GaussianBlur(b, b, cv::Size(0, 0), 3.0);
    for (int i = 0; i < size * size / 2000; ++i)
        b(cv::Rect(rng.uniform(0, size - 12), rng.uniform(0, size - 12), 12, 12)).setTo(200);
    return b;
}

void add_rate(benchmark::State& state, int size) {
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(size) * size * static_cast<double>(state.iterations()) / 1e6,
                                                 benchmark::Counter::kIsRate);
}

// Args: size, algorithm (0 = hybrid, 1 = naive). Marker: the opening by a 15-pixel line, as in
// the index's top-hats.
void BM_ReconstructByDilation(benchmark::State& state) {
    const int size = static_cast<int>(state.range(0));
    const bool naive = state.range(1) != 0;
    const cv::Mat mask = scene(size);
    cv::Mat marker, out;
    cv::morphologyEx(mask, marker, cv::MORPH_OPEN, cv::Mat::ones(1, 15, CV_8UC1));
    for (auto _ : state) {
        if (naive)
            reconstruct_by_dilation_naive(marker, mask, out);
        else
            reconstruct_by_dilation(marker, mask, out);
        benchmark::DoNotOptimize(out.data);
    }
    state.SetLabel(naive ? "dilate until stable" : "Vincent hybrid");
    add_rate(state, size);
}
BENCHMARK(BM_ReconstructByDilation)
    ->ArgNames({"size", "naive"})
    ->Args({256, 0})
    ->Args({256, 1})
    ->Args({1024, 0})
    ->Args({1024, 1})
    ->Unit(benchmark::kMillisecond);

// Args: size. MBI of one epoch with Huang & Zhang's lengths 2..52 by 5 (44 top-hats).
void BM_BuildingIndex(benchmark::State& state) {
    const int size = static_cast<int>(state.range(0));
    EpochBlock e;
    e.green = scene(size);
    e.red = e.green;
    cv::Mat mbi;
    for (auto _ : state) {
        building_index(e, BuildingIndexParams{}, mbi);
        benchmark::DoNotOptimize(mbi.data);
    }
    add_rate(state, size);
}
BENCHMARK(BM_BuildingIndex)->ArgNames({"size"})->Arg(512)->Unit(benchmark::kMillisecond);

}  // namespace
