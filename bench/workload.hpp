#pragma once
// The standard benchmark workload: two epochs of a synthetic farmland scene with new buildings,
// generated deterministically and streamed to disk strip by strip (memory follows the strip,
// never the image), plus the truth the detector should find.
//
// Scene: rectangular fields of crops and soil with row texture and sensor noise, field margins,
// dirt roads and old village roofs (unchanged), and a few thousand new buildings per 8192²
// (rectangles and L-shapes, 20–5000 px, most at or above the 200 m² minimum mapping unit) that
// are vegetation or soil before and roof after. Spectra are chosen so that weipian's default
// detector (kernels/detect.hpp, threshold 0.15, NDVI_after < 0.3) flags the buildings and
// nothing else survives cleaning; seasonal decoys (green-up, ripening, wetting) stay below it.
// Every random draw comes from the generator's own PRNG (SplitMix64) and plain arithmetic, so
// the bytes are the same on every machine and library version for the same spec.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace weipian {

// What to generate. Everything that changes the bytes is in here and in the stamp.
struct WorkloadSpec {
    int size = 8192;               // pixels per side (N × N), ≥ 256
    double pixel_size_m = 0.8;     // metres per pixel (EPSG:4546 units)
    std::uint64_t seed = 140824;   // fixes the scene
    bool deflate = false;          // also write DEFLATE (PREDICTOR=2) copies of both epochs
    double changed_fraction = 0.027;  // share of pixels inside new buildings
    double origin_x = 497000;      // top-left corner, EPSG:4546 easting (Jishan)
    double origin_y = 3941000;     // top-left corner, northing
};

// One new building: a rectangle, or an L-shape (the rectangle minus one corner rectangle).
struct WorkloadBlob {
    int x0 = 0, y0 = 0, width = 0, height = 0;  // bounding box in pixels
    int notch_width = 0, notch_height = 0;      // removed corner (0 = rectangle)
    int notch_corner = 0;                       // 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right
    int roof = 0;                               // roof spectrum index
    double brightness = 1.0;                    // roof gain (shade of the material)
    std::int64_t pixel_count = 0;               // exact pixels of the shape

    bool contains(int x, int y) const;
};

// The deterministic scene layout: fields, roads, old roofs and new buildings (no pixels).
struct WorkloadTruth {
    std::vector<WorkloadBlob> blobs;  // the new buildings, in placement order
    std::int64_t changed_pixels = 0;  // sum of blobs' pixel counts
};

// The default minimum mapping unit (clean.min_area_m2's declared default) in pixels of the spec.
std::int64_t workload_mmu_pixels(const WorkloadSpec& spec);

// The layout make_workload renders for `spec`; cheap (no pixels), used by tests and the truth file.
WorkloadTruth plan_workload_truth(const WorkloadSpec& spec);

// Where the workload lives and what it holds.
struct WorkloadFiles {
    std::filesystem::path dir;
    std::filesystem::path before, after;                  // uncompressed, 256² tiles
    std::filesystem::path before_deflate, after_deflate;  // empty unless spec.deflate
    std::filesystem::path truth;                          // truth.json
    std::int64_t blobs = 0, changed_pixels = 0;
    bool generated = false;       // false: reused files whose stamp matched
    double generate_seconds = 0;  // wall time of generation (0 when reused)
};

// Makes (or reuses) the workload in `dir`: before.tif, after.tif (4-band uint16 B,G,R,NIR
// GeoTIFFs, EPSG:4546, 256 × 256 tiles, uncompressed), before_deflate.tif / after_deflate.tif
// when spec.deflate, truth.json (blob count, changed pixels) and workload.json (the spec stamp,
// written last). Files are reused when the stamp matches the spec. Strips of 256 rows are
// generated in parallel (TBB, current arena) and written in order; memory is a few strips.
// Throws InputError when the folder or a file cannot be written.
WorkloadFiles make_workload(const WorkloadSpec& spec, const std::filesystem::path& dir);

// An inbox of `count` tiny deliveries for the nightly benchmarks: 16×16 one-band GeoTIFFs in
// EPSG:4546 (2 m pixels, side by side), GF-2 scene names dated 2023-09-18, 100 per folder
// row<R>/, each with distinct bytes (no duplicates). Throws std::runtime_error on a write failure.
void write_dated_tiles(const std::filesystem::path& inbox, int count);

}  // namespace weipian
