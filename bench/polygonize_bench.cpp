// Polygonizer on synthetic building-like masks: Mpx/s per size and connectivity, side by side
// with GDALPolygonize (GDAL's own, into an in-memory layer) on the same mask in the same run:
//   build/bench/weipian_bench --benchmark_filter=Polygonize --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

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
        state.counters["polygons"] = static_cast<double>(polygons.size());
    }
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(size) * size * state.iterations() / 1e6,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Polygonize)->Args({1024, 4})->Args({4096, 4})->Args({4096, 8})->Args({8192, 4})->Args({8192, 8})
    ->Unit(benchmark::kMillisecond);

// GDALPolygonize on the same mask: MEM raster, the band as its own mask (zeros excluded), into
// a Memory layer, so neither side pays for file I/O.
void BM_GdalPolygonize(benchmark::State& state) {
    const int size = static_cast<int>(state.range(0));
    cv::Mat mask = building_mask(size);
    GDALAllRegister();
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    GDALDatasetUniquePtr raster(mem->Create("", size, size, 1, GDT_Byte, nullptr));
    GDALRasterBand* band = raster->GetRasterBand(1);
    if (band->RasterIO(GF_Write, 0, 0, size, size, mask.data, size, size, GDT_Byte, 0, 0) != CE_None) {
        state.SkipWithError("cannot fill the MEM raster");
        return;
    }
    GDALDriver* memory = GetGDALDriverManager()->GetDriverByName("Memory");
    char** options = state.range(1) == 8 ? CSLSetNameValue(nullptr, "8CONNECTED", "8") : nullptr;
    std::int64_t polygons = 0;
    for (auto _ : state) {
        GDALDatasetUniquePtr vector(memory->Create("", 0, 0, 0, GDT_Unknown, nullptr));
        OGRLayer* layer = vector->CreateLayer("p", nullptr, wkbPolygon, nullptr);
        OGRFieldDefn value("value", OFTInteger);
        layer->CreateField(&value);
        GDALPolygonize(GDALRasterBand::ToHandle(band), GDALRasterBand::ToHandle(band), OGRLayer::ToHandle(layer), 0,
                       options, nullptr, nullptr);
        polygons = layer->GetFeatureCount();
        benchmark::DoNotOptimize(polygons);
    }
    CSLDestroy(options);
    state.counters["polygons"] = static_cast<double>(polygons);
    state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(size) * size * state.iterations() / 1e6,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GdalPolygonize)->Args({4096, 4})->Args({4096, 8})->Args({8192, 4})->Args({8192, 8})
    ->Unit(benchmark::kMillisecond);

}  // namespace
