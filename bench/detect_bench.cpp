// Detection and cleaning kernels on synthetic blocks: Mpx/s per block width (256-row blocks),
// pixel type and kernel path, on one core and on all cores.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include <opencv2/core.hpp>
#include <tbb/global_control.h>

#include "kernels/clean.hpp"
#include "kernels/detect.hpp"

namespace {

using namespace weipian::kernels;

constexpr int kBlockRows = 256;  // pipeline blocks are row strips of processing.block_size rows

// An epoch with all four role bands and a valid mask (about 1 pixel in 64 without data), with
// values typical of the pixel type (uint8 stretch, uint16/int16 DN, float reflectance).
EpochBlock random_epoch(int type, int width, int seed) {
    cv::RNG rng(static_cast<std::uint64_t>(seed));
    EpochBlock e;
    for (cv::Mat* m : {&e.blue, &e.green, &e.red, &e.nir}) {
        m->create(kBlockRows, width, type);
        switch (type) {
            case CV_8UC1: rng.fill(*m, cv::RNG::UNIFORM, 0, 256); break;
            case CV_32FC1: rng.fill(*m, cv::RNG::UNIFORM, 0.02, 0.4); break;
            default: rng.fill(*m, cv::RNG::UNIFORM, 200, 4000); break;
        }
    }
    cv::Mat noise(kBlockRows, width, CV_8UC1);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 64);
    e.valid = noise != 0;
    return e;
}

const char* type_name(int type) {
    switch (type) {
        case CV_8UC1: return "u8";
        case CV_16UC1: return "u16";
        case CV_16SC1: return "s16";
        default: return "f32";
    }
}

// Args: block width, OpenCV pixel type, KernelPath. `threads` caps TBB; 0 leaves it at the default.
void run_detect(benchmark::State& state, int threads) {
    const int width = static_cast<int>(state.range(0));
    const int type = static_cast<int>(state.range(1));
    const auto path = static_cast<KernelPath>(state.range(2));
    state.SetLabel(std::string(type_name(type)) + " " + kernel_path_name(path));
    if (!kernel_path_available(path)) {
        state.SkipWithError("kernel path not available on this CPU");
        return;
    }
    std::unique_ptr<tbb::global_control> limit;
    if (threads > 0)
        limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                      static_cast<std::size_t>(threads));
    const EpochBlock before = random_epoch(type, width, 1), after = random_epoch(type, width, 2);
    cv::Mat score(kBlockRows, width, CV_32FC1), mask(kBlockRows, width, CV_8UC1);
    for (auto _ : state) {
        detect_construction(before, after, ConstructionParams{}, score, mask, path);
        benchmark::DoNotOptimize(score.data);
        benchmark::DoNotOptimize(mask.data);
        benchmark::ClobberMemory();
    }
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(width) * kBlockRows * state.iterations() / 1e6,
                                                 benchmark::Counter::kIsRate);
}

void detect_cases(benchmark::internal::Benchmark* b) {
    b->ArgNames({"width", "type", "path"});
    for (int type : {CV_8UC1, CV_16UC1, CV_16SC1, CV_32FC1})
        for (KernelPath path : {KernelPath::Scalar, KernelPath::Sse2, KernelPath::Avx2})
            for (int width : {256, 1024, 4096}) b->Args({width, type, static_cast<int>(path)});
}

// Per core: TBB capped at one thread, so the block runs on the calling thread and the rate is
// per CPU second of that thread (robust to other processes sharing the machine).
void BM_DetectConstruction(benchmark::State& state) { run_detect(state, 1); }
BENCHMARK(BM_DetectConstruction)->Apply(detect_cases)->Unit(benchmark::kMicrosecond);

// All cores (TBB default): rate per wall-clock second, since the work runs on TBB workers.
void BM_DetectConstructionAllCores(benchmark::State& state) { run_detect(state, 0); }
BENCHMARK(BM_DetectConstructionAllCores)->Apply(detect_cases)->UseRealTime()->Unit(benchmark::kMicrosecond);

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
