// weipian_io_floor: the I/O (or decode) floor of the main job. Reads epochs completely with GDAL
// in strips of --rows rows, band by band in the native type, as pipeline/ingest.cpp reads them
// (or all bands in one call with --dataset), and does nothing else. For DEFLATE inputs run it
// with GDAL_NUM_THREADS=ALL_CPUS (or --gdal-threads) to get the multi-threaded decode floor.
//   weipian_io_floor [--rows 256] [--dataset] [--gdal-threads N|ALL_CPUS] BEFORE.tif AFTER.tif
// Prints one line: files, pixels, bytes, seconds and Mpx/s (pixels of one epoch per second).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gdal_priv.h>

int main(int argc, char** argv) {
    CLI::App app{"weipian_io_floor: read rasters completely in strips with GDAL (the main job's I/O floor)"};
    std::vector<std::string> files;
    int rows = 256;
    bool dataset_io = false;
    std::string gdal_threads;
    app.add_option("files", files, "rasters read one strip of each per step, like the epochs of a run")->required();
    app.add_option("--rows", rows, "rows per strip")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    app.add_flag("--dataset", dataset_io, "read all bands in one RasterIO call (pixel-interleaved buffer)");
    app.add_option("--gdal-threads", gdal_threads, "GDAL_NUM_THREADS for decoding (default: the environment's)");
    CLI11_PARSE(app, argc, argv);

    GDALAllRegister();
    if (!gdal_threads.empty()) CPLSetConfigOption("GDAL_NUM_THREADS", gdal_threads.c_str());
    std::vector<GDALDatasetUniquePtr> datasets;
    for (const auto& f : files) {
        datasets.emplace_back(GDALDataset::Open(f.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
        if (!datasets.back()) {
            std::fprintf(stderr, "weipian_io_floor: cannot open '%s'\n", f.c_str());
            return 3;
        }
    }
    const int width = datasets.front()->GetRasterXSize(), height = datasets.front()->GetRasterYSize();
    for (const auto& ds : datasets)
        if (ds->GetRasterXSize() != width || ds->GetRasterYSize() != height) {
            std::fprintf(stderr, "weipian_io_floor: the files differ in size; give epochs on one grid\n");
            return 3;
        }

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::uint8_t> buffer;
    std::uint64_t bytes = 0, checksum = 0;
    for (int row0 = 0; row0 < height; row0 += rows) {
        const int n = std::min(rows, height - row0);
        for (auto& ds : datasets) {
            const int bands = ds->GetRasterCount();
            const GDALDataType type = ds->GetRasterBand(1)->GetRasterDataType();
            const int type_bytes = GDALGetDataTypeSizeBytes(type);
            const std::size_t band_bytes = static_cast<std::size_t>(width) * n * type_bytes;
            buffer.resize(band_bytes * bands);
            CPLErr err = CE_None;
            if (dataset_io) {
                err = ds->RasterIO(GF_Read, 0, row0, width, n, buffer.data(), width, n, type, bands, nullptr,
                                   static_cast<GSpacing>(type_bytes) * bands, static_cast<GSpacing>(type_bytes) * bands * width,
                                   type_bytes, nullptr);
            } else {
                for (int b = 1; b <= bands && err == CE_None; ++b)
                    err = ds->GetRasterBand(b)->RasterIO(GF_Read, 0, row0, width, n, buffer.data() + band_bytes * (b - 1), width, n,
                                                         type, 0, 0, nullptr);
            }
            if (err != CE_None) {
                std::fprintf(stderr, "weipian_io_floor: read failed at row %d: %s\n", row0, CPLGetLastErrorMsg());
                return 3;
            }
            bytes += buffer.size();
            checksum += buffer[buffer.size() / 2];  // touch the data so nothing is optimised away
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("weipian_io_floor: %zu files, %d x %d px, %.2f GB read in %.3f s: %.1f Mpx/s per epoch, %.0f MB/s (check %llu)\n",
                files.size(), width, height, static_cast<double>(bytes) / 1e9, seconds,
                static_cast<double>(width) * height / seconds / 1e6, static_cast<double>(bytes) / seconds / 1e6,
                static_cast<unsigned long long>(checksum));
    return 0;
}
