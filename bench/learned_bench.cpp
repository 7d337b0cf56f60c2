// Kernels of the learned detector on synthetic blocks, on one core (TBB capped at one thread):
// feature planes per feature-grid pixel (ns/px, Mpx/s) and tree-ensemble prediction.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include <opencv2/core.hpp>
#include <tbb/global_control.h>

#include "kernels/features.hpp"
#include "kernels/forest.hpp"

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
    compute_features(before, after, halo, kStripRows, spec, planes, workspace);  // buffers allocated and touched
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

// A complete random tree ensemble: `trees` trees of depth `depth` (2^depth leaves each) over
// `features` features with splits uniform in [0, 1), children numbered after their parent.
TreeEnsemble random_ensemble(int trees, int depth, int features, int seed) {
    cv::RNG rng(static_cast<std::uint64_t>(seed));
    TreeEnsemble e;
    e.feature_count = features;
    for (int t = 0; t < trees; ++t) {
        const auto root = static_cast<std::int32_t>(e.nodes.size());
        e.roots.push_back(root);
        const int count = (1 << (depth + 1)) - 1;  // heap order: children of i are 2i + 1, 2i + 2
        for (int i = 0; i < count; ++i) {
            TreeNode n;
            if (2 * i + 1 < count) {
                n.feature = rng.uniform(0, features);
                n.split = static_cast<float>(rng.uniform(0.0, 1.0));
                n.left = root + 2 * i + 1;
                n.right = root + 2 * i + 2;
            } else {
                n.leaf = static_cast<float>(rng.uniform(-0.1, 0.1));
            }
            e.nodes.push_back(n);
        }
    }
    return e;
}

// Args: width, percentage of pixels passing the gate, parallel (0/1). 150 trees of depth 6 over
// 70 planes of kStripRows rows; px/s counts every pixel of the plane, evaluated or gated out.
void BM_PredictPlanes(benchmark::State& state) {
    const int width = static_cast<int>(state.range(0));
    const int percent = static_cast<int>(state.range(1));
    const bool parallel = state.range(2) != 0;
    std::unique_ptr<tbb::global_control> one_core;
    if (!parallel) one_core = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, 1);
    constexpr int kFeatures = 70;
    const TreeEnsemble ensemble = random_ensemble(150, 6, kFeatures, 9);
    cv::RNG rng(13);
    std::vector<cv::Mat> planes(kFeatures);
    for (cv::Mat& p : planes) {
        p.create(kStripRows, width, CV_32FC1);
        rng.fill(p, cv::RNG::UNIFORM, 0.0, 1.0);
    }
    // Gate on plane 0: uniform in [0, 1), so a minimum of 1 − percent/100 passes `percent` %.
    const EvaluationGate gate{percent < 100 ? 0 : -1, 1.0f - static_cast<float>(percent) / 100.0f};
    cv::Mat probability;
    PredictWorkspace workspace;
    std::int64_t evaluated = predict_planes(ensemble, planes, cv::Mat(), gate, probability, workspace, parallel);
    for (auto _ : state) {
        evaluated = predict_planes(ensemble, planes, cv::Mat(), gate, probability, workspace, parallel);
        benchmark::DoNotOptimize(probability.data);
    }
    state.SetLabel(parallel ? "all cores" : "one core");
    state.counters["evaluated"] = static_cast<double>(evaluated);
    state.counters["Mrow/s"] = benchmark::Counter(static_cast<double>(evaluated) * static_cast<double>(state.iterations()) / 1e6,
                                                  benchmark::Counter::kIsRate);
    add_pixel_counters(state, static_cast<double>(width) * kStripRows);
}
BENCHMARK(BM_PredictPlanes)
    ->ArgNames({"width", "gate%", "parallel"})
    ->Args({1024, 10, 0})
    ->Args({1024, 100, 0})
    ->Args({1024, 10, 1})
    ->Args({1024, 100, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
