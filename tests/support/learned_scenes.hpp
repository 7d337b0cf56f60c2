#pragma once
// Small labelled pairs for the learned detector's tests: textured scrub (seeded noise) in both
// epochs and, in the after epoch only, bright square roofs; the label (Byte, 1 = changed) marks
// the roofs. 4-band UInt16 GeoTIFFs (B, G, R, NIR) in EPSG:32650 at `pixel` m.
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

namespace weipian::test {

struct Square {
    int x0, y0, side;
};

struct PairPaths {
    std::filesystem::path before, after, label;
};

inline void write_raster(const std::filesystem::path& path, int size, int bands, GDALDataType type, double pixel,
                         const std::vector<std::vector<std::uint16_t>>& data) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), size, size, bands, type, nullptr));
    double gt[6] = {500000, pixel, 0, 3500000, 0, -pixel};
    ds->SetGeoTransform(gt);
    OGRSpatialReference srs;
    srs.importFromEPSG(32650);
    ds->SetSpatialRef(&srs);
    for (int b = 0; b < bands; ++b)
        (void)ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, size, size, const_cast<std::uint16_t*>(data[static_cast<std::size_t>(b)].data()), size, size,
                                                 GDT_UInt16, 0, 0);
}

// Writes <stem>_before.tif, <stem>_after.tif, <stem>_label.tif in `dir`.
inline PairPaths write_labelled_pair(const std::filesystem::path& dir, const std::string& stem, int size,
                                     const std::vector<Square>& roofs, std::uint32_t seed, double pixel = 0.5,
                                     bool label_roofs = true) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0, 1);
    const float scrub[4] = {400, 700, 600, 2800}, roof[4] = {2200, 2300, 2400, 2500};
    std::vector<std::vector<std::uint16_t>> before(4, std::vector<std::uint16_t>(static_cast<std::size_t>(size) * size));
    auto after = before;
    std::vector<std::vector<std::uint16_t>> label(1, std::vector<std::uint16_t>(static_cast<std::size_t>(size) * size, 0));
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
            const std::size_t i = static_cast<std::size_t>(y) * size + x;
            bool in_roof = false;
            for (const auto& r : roofs) in_roof |= x >= r.x0 && x < r.x0 + r.side && y >= r.y0 && y < r.y0 + r.side;
            const float t1 = noise(rng), t2 = noise(rng);
            for (int b = 0; b < 4; ++b) {
                before[static_cast<std::size_t>(b)][i] = static_cast<std::uint16_t>(scrub[b] * (1 + 0.12F * t1));
                after[static_cast<std::size_t>(b)][i] =
                    static_cast<std::uint16_t>((in_roof ? roof[b] : scrub[b]) * (1 + (in_roof ? 0.03F : 0.12F) * t2));
            }
            if (in_roof && label_roofs) label[0][i] = 1;
        }
    PairPaths p{dir / (stem + "_before.tif"), dir / (stem + "_after.tif"), dir / (stem + "_label.tif")};
    write_raster(p.before, size, 4, GDT_UInt16, pixel, before);
    write_raster(p.after, size, 4, GDT_UInt16, pixel, after);
    write_raster(p.label, size, 1, GDT_Byte, pixel, label);
    return p;
}

}  // namespace weipian::test
