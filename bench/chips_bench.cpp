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
// Measured 2026-12-04 on the shared 2-core build machine, idle (load < 1), medians of 3:
//   BM_ParcelChips/threads:2  2.40 s wall per 3,000 parcels (6,000 JPEGs), threads:1 4.59 s
//     (before write_jpeg moved to OpenCV's encoder, kernels::enlarge_bilinear replaced
//     cv::warpAffine and the labels' outlines lost anti-aliasing: 11.7 s under load 3–9).
//   BM_EncodeJpeg  GDAL's JPEG driver 647 µs, OpenCV's imgcodecs 240 µs (2.7×), 11.6 vs 12.4 kB
//   BM_Enlarge     kernels::enlarge_bilinear 73 µs, cv::warpAffine 412 µs (5.6×)
//   BM_WriteJpeg   521 µs through AtomicFile, 517 µs straight into a folder: after encoding,
//                  creating the file costs about as much as the encoder on this disk (ext4, VM).
//   BM_RenderChip  362 µs (the sample's four tiles through a VRT).
// The Nanjing run (configs/nanjing.yaml, 3,407 parcels, 6,815 JPEGs), timings_s in run.json,
// alternating the two builds into fresh folders: chips 2.03–2.14 s (5.54–5.63 s before), the
// package (index.html, cards, parcels.kmz) 0.72–0.83 s.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include <spdlog/spdlog.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "bench/workload.hpp"
#include "kernels/enlarge.hpp"
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
// (window read, stretch, bilinear enlargement, outline and decorations), write_jpeg (encode and
// write) and the encoders and enlargements side by side, on a 320² chip around object C01.
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

// write_jpeg into a folder: /0 through AtomicFile (temporary, rename), /1 straight into a
// staging folder (the main job's chips).
void BM_WriteJpeg(benchmark::State& state) {
    const ChipSource source(sample_after_tiles(), BandRoles{}, ChipStyle{});
    const cv::Mat chip = source.render(*c01(), "1 HSX 2023-09-18", kChipAfterColour);
    const fs::path dir = fs::temp_directory_path() / ("weipian-chips-jpeg-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const JpegTarget target = state.range(0) == 0 ? JpegTarget::kAtomicFile : JpegTarget::kStagingFolder;
    int i = 0;
    for (auto _ : state) write_jpeg(dir / (std::to_string(i++ % 1000) + ".jpg"), chip, 85, target);
    std::error_code ec;
    fs::remove_all(dir, ec);
}
BENCHMARK(BM_WriteJpeg)->ArgName("staging")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The JPEG encoders side by side, in memory, on the same 320² chip at QUALITY=85: /0 GDAL's
// JPEG driver (MEM → /vsimem/, GDAL_OPEN_AFTER_COPY=NO; it always computes optimised Huffman
// tables), /1 OpenCV's imgcodecs (what write_jpeg uses; the standard tables). Both are
// libjpeg-turbo underneath. Counter "bytes": the file's size.
void BM_EncodeJpeg(benchmark::State& state) {
    const ChipSource source(sample_after_tiles(), BandRoles{}, ChipStyle{});
    const cv::Mat chip = source.render(*c01(), "1 HSX 2023-09-18", kChipAfterColour);
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    GDALDriver* jpeg = GetGDALDriverManager()->GetDriverByName("JPEG");
    const std::string name = "/vsimem/weipian-chips-bench-" + std::to_string(::getpid()) + ".jpg";
    CPLConfigOptionSetter no_reopen("GDAL_OPEN_AFTER_COPY", "NO", false);
    std::size_t bytes = 0;
    for (auto _ : state) {
        if (state.range(0) == 0) {
            GDALDatasetUniquePtr image(mem->Create("", chip.cols, chip.rows, 3, GDT_Byte, nullptr));
            int band_map[3] = {3, 2, 1};
            if (image->RasterIO(GF_Write, 0, 0, chip.cols, chip.rows, const_cast<std::uint8_t*>(chip.ptr<std::uint8_t>()), chip.cols,
                                chip.rows, GDT_Byte, 3, band_map, 3, static_cast<GSpacing>(chip.step), 1, nullptr) != CE_None) {
                state.SkipWithError("MEM RasterIO failed");
                break;
            }
            const char* options[] = {"QUALITY=85", nullptr};
            GDALDatasetUniquePtr out(jpeg->CreateCopy(name.c_str(), image.get(), FALSE, const_cast<char**>(options), nullptr, nullptr));
            out.reset();
            VSIStatBufL stat;
            bytes = VSIStatL(name.c_str(), &stat) == 0 ? static_cast<std::size_t>(stat.st_size) : 0;
        } else {
            std::vector<std::uint8_t> buffer;
            cv::imencode(".jpg", chip, buffer, {cv::IMWRITE_JPEG_QUALITY, 85});
            bytes = buffer.size();
        }
        benchmark::DoNotOptimize(bytes);
    }
    VSIUnlink(name.c_str());
    state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodeJpeg)->ArgName("opencv")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// A 13 × 13 window enlarged to a 320² chip: /0 kernels::enlarge_bilinear, /1 cv::warpAffine
// (WARP_INVERSE_MAP, BORDER_REPLICATE, OpenCV on one thread as in write_parcel_chips).
void BM_Enlarge(benchmark::State& state) {
    cv::Mat native(13, 13, CV_8UC3);
    cv::randu(native, 0, 256);
    cv::Mat chip(320, 320, CV_8UC3);
    const double s = 320 / 12.3, x0 = 0.37, y0 = 0.21;
    const int previous = cv::getNumThreads();
    cv::setNumThreads(1);
    for (auto _ : state) {
        if (state.range(0) == 0)
            kernels::enlarge_bilinear(native, x0, 1 / s, y0, 1 / s, chip);
        else
            cv::warpAffine(native, chip, cv::Matx23d(1 / s, 0, x0, 0, 1 / s, y0), chip.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                           cv::BORDER_REPLICATE);
        benchmark::DoNotOptimize(chip.data);
    }
    cv::setNumThreads(previous);
}
BENCHMARK(BM_Enlarge)->ArgName("warpAffine")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
