// weipian_io_floor: the I/O (or decode) floor of the main job. Reads epochs completely with GDAL
// in strips of --rows rows and does nothing else, the way pipeline/ingest.cpp reads them: all
// bands of a strip in one dataset-level RasterIO in the native type, into a pixel-interleaved
// buffer for pixel-interleaved files (so GTIFF_DIRECT_IO=YES copies tiles straight from the file)
// and a band-sequential one otherwise, a 64 MB block cache unless GDAL_CACHEMAX is set, and one
// reader per worker thread with its own dataset handles, strips handed out in order (the main
// job reads strips in parallel the same way).
// For DEFLATE inputs run it with GDAL_NUM_THREADS=ALL_CPUS (or --gdal-threads) as well.
//   weipian_io_floor [--rows 256] [--halo 0] [--threads N] [--per-band] [--gdal-threads N|ALL_CPUS] BEFORE.tif AFTER.tif
// Prints one line: files, pixels, bytes, seconds and Mpx/s (pixels of one epoch per second).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <gdal_priv.h>

namespace {

struct Totals {
    std::atomic<std::uint64_t> bytes{0}, checksum{0};
    std::atomic<bool> failed{false};
};

bool pixel_interleaved(GDALDataset& ds) {
    const char* interleave = ds.GetMetadataItem("INTERLEAVE", "IMAGE_STRUCTURE");
    return interleave && EQUAL(interleave, "PIXEL");
}

// Reads the strips handed out by `next` (in order, shared by all workers) of every file.
void read_strips(const std::vector<std::string>& files, int rows, int halo, bool per_band, std::atomic<int>& next, Totals& totals) {
    std::vector<GDALDatasetUniquePtr> datasets;
    for (const auto& f : files) {
        datasets.emplace_back(GDALDataset::Open(f.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
        if (!datasets.back()) {
            std::fprintf(stderr, "weipian_io_floor: cannot open '%s'\n", f.c_str());
            totals.failed = true;
            return;
        }
    }
    const int width = datasets.front()->GetRasterXSize(), height = datasets.front()->GetRasterYSize();
    std::vector<std::uint8_t> buffer;
    std::uint64_t bytes = 0, checksum = 0;
    for (int strip = next++; strip * static_cast<std::int64_t>(rows) < height && !totals.failed; strip = next++) {
        // With a halo each strip also reads `halo` rows above and below (as a job that cleans
        // strips independently must): tiles next to strip borders are then read twice.
        const int row0 = std::max(0, strip * rows - halo), n = std::min(strip * rows + rows + halo, height) - row0;
        for (auto& ds : datasets) {
            const int bands = ds->GetRasterCount();
            const GDALDataType type = ds->GetRasterBand(1)->GetRasterDataType();
            const int type_bytes = GDALGetDataTypeSizeBytes(type);
            const std::size_t band_bytes = static_cast<std::size_t>(width) * n * type_bytes;
            buffer.resize(band_bytes * bands);
            CPLErr err = CE_None;
            if (per_band) {
                for (int b = 1; b <= bands && err == CE_None; ++b)
                    err = ds->GetRasterBand(b)->RasterIO(GF_Read, 0, row0, width, n, buffer.data() + band_bytes * (b - 1), width, n,
                                                         type, 0, 0, nullptr);
            } else if (pixel_interleaved(*ds) && bands > 1) {
                err = ds->RasterIO(GF_Read, 0, row0, width, n, buffer.data(), width, n, type, bands, nullptr,
                                   static_cast<GSpacing>(type_bytes) * bands, static_cast<GSpacing>(type_bytes) * bands * width,
                                   type_bytes, nullptr);
            } else {
                err = ds->RasterIO(GF_Read, 0, row0, width, n, buffer.data(), width, n, type, bands, nullptr, 0, 0,
                                   static_cast<GSpacing>(band_bytes), nullptr);
            }
            if (err != CE_None) {
                std::fprintf(stderr, "weipian_io_floor: read failed at row %d: %s\n", row0, CPLGetLastErrorMsg());
                totals.failed = true;
                return;
            }
            bytes += buffer.size();
            checksum += buffer[buffer.size() / 2];  // touch the data so nothing is optimised away
        }
    }
    totals.bytes += bytes;
    totals.checksum += checksum;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"weipian_io_floor: read rasters completely in strips with GDAL (the main job's I/O floor)"};
    std::vector<std::string> files;
    int rows = 256, halo = 0;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    bool per_band = false;
    std::string gdal_threads;
    app.add_option("files", files, "rasters read one strip of each per step, like the epochs of a run")->required();
    app.add_option("--rows", rows, "rows per strip")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    app.add_option("--halo", halo, "extra rows read above and below each strip")->check(CLI::Range(0, 1 << 20))->capture_default_str();
    app.add_option("--threads", threads, "reader threads, each with its own dataset handles")->check(CLI::Range(1, 1024))->capture_default_str();
    app.add_flag("--per-band", per_band, "read band by band instead of one dataset-level request");
    app.add_option("--gdal-threads", gdal_threads, "GDAL_NUM_THREADS for decoding (default: the environment's)");
    CLI11_PARSE(app, argc, argv);

    GDALAllRegister();
    // As the main job (pipeline/geo.cpp, ensure_gdal_registered); the environment wins.
    if (!CPLGetConfigOption("GDAL_CACHEMAX", nullptr)) GDALSetCacheMax64(64LL << 20);
    if (!CPLGetConfigOption("GTIFF_DIRECT_IO", nullptr)) CPLSetConfigOption("GTIFF_DIRECT_IO", "YES");
    if (!gdal_threads.empty()) CPLSetConfigOption("GDAL_NUM_THREADS", gdal_threads.c_str());
    int width = 0, height = 0;
    for (const auto& f : files) {
        GDALDatasetUniquePtr ds(GDALDataset::Open(f.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
        if (!ds) {
            std::fprintf(stderr, "weipian_io_floor: cannot open '%s'\n", f.c_str());
            return 3;
        }
        if (width && (ds->GetRasterXSize() != width || ds->GetRasterYSize() != height)) {
            std::fprintf(stderr, "weipian_io_floor: the files differ in size; give epochs on one grid\n");
            return 3;
        }
        width = ds->GetRasterXSize();
        height = ds->GetRasterYSize();
    }

    const auto start = std::chrono::steady_clock::now();
    std::atomic<int> next{0};
    Totals totals;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) workers.emplace_back(read_strips, std::cref(files), rows, halo, per_band, std::ref(next), std::ref(totals));
    for (auto& w : workers) w.join();
    if (totals.failed) return 3;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double bytes = static_cast<double>(totals.bytes.load());
    std::printf("weipian_io_floor: %zu files, %d x %d px, %d threads, %.2f GB read in %.3f s: %.1f Mpx/s per epoch, %.0f MB/s (check %llu)\n",
                files.size(), width, height, threads, bytes / 1e9, seconds, static_cast<double>(width) * height / seconds / 1e6,
                bytes / seconds / 1e6, static_cast<unsigned long long>(totals.checksum.load()));
    return 0;
}
