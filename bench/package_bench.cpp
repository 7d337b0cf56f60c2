// The verification package (pipeline/package.hpp) for 3,000 parcels, the size of the Nanjing
// run: index.html, one check card per township, parcels.kmz with the chips inside, and the QGIS
// style added to parcels.gpkg. Synthetic parcels (12 townships, 20–60 m squares in EPSG:4546)
// and chips written once through GDAL's JPEG driver: arg 0 = tiny 16 px chips (the package's own
// work), arg 1 = 320 px chips of noise (~the size the chips helper writes; the KMZ copies them).
// Median of 5 repetitions: --benchmark_filter=Package.
#include <benchmark/benchmark.h>

#include <gdal_priv.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "pipeline/core/township_summary.hpp"
#include "pipeline/emit.hpp"
#include "pipeline/package.hpp"

namespace {

namespace fs = std::filesystem;
using namespace weipian;

constexpr int kParcels = 3000;

void write_chip(const fs::path& path, int size, std::mt19937& rng) {
    GDALDatasetUniquePtr mem(GetGDALDriverManager()->GetDriverByName("MEM")->Create("", size, size, 3, GDT_Byte, nullptr));
    std::vector<unsigned char> pixels(static_cast<std::size_t>(size) * size);
    std::uniform_int_distribution<int> noise(40, 200);
    for (int b = 1; b <= 3; ++b) {
        for (auto& v : pixels) v = static_cast<unsigned char>(noise(rng));
        if (mem->GetRasterBand(b)->RasterIO(GF_Write, 0, 0, size, size, pixels.data(), size, size, GDT_Byte, 0, 0) != CE_None) std::abort();
    }
    char** options = CSLSetNameValue(nullptr, "QUALITY", "85");
    GDALDatasetUniquePtr jpeg(GetGDALDriverManager()->GetDriverByName("JPEG")->CreateCopy(
        path.string().c_str(), mem.get(), FALSE, options, nullptr, nullptr));
    CSLDestroy(options);
    if (!jpeg) std::abort();
}

struct Scene {
    fs::path dir;
    OGRSpatialReference srs;
    std::vector<Parcel> parcels;
    std::vector<TownshipSummary> townships;
    PackageInputs inputs;

    explicit Scene(int chip_px) {
        GDALAllRegister();
        dir = fs::temp_directory_path() / ("weipian-package-bench-" + std::to_string(::getpid()) + "-" + std::to_string(chip_px));
        fs::remove_all(dir);
        fs::create_directories(dir / "chips");
        srs.importFromEPSG(4546);
        srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        std::mt19937 rng(7);
        std::uniform_real_distribution<double> side(20, 60);
        for (int i = 0; i < kParcels; ++i) {
            Parcel p;
            p.id = p.patch_id = i + 1;
            const double x = 480000 + (i % 60) * 500, y = 3920000 + (i / 60) * 500, w = side(rng), h = side(rng);
            auto* ring = new OGRLinearRing;
            ring->addPoint(x, y);
            ring->addPoint(x + w, y);
            ring->addPoint(x + w, y + h);
            ring->addPoint(x, y + h);
            ring->addPoint(x, y);
            auto* polygon = new OGRPolygon;
            polygon->addRingDirectly(ring);
            p.geometry.reset(polygon);
            p.area_m2 = w * h;
            p.cultivated_m2 = p.area_m2 * (i % 3) / 3.0;
            p.centroid_x = x + w / 2;
            p.centroid_y = y + h / 2;
            p.township_name = "乡镇" + std::to_string(i % 12);
            p.township_code = std::to_string(140824100 + i % 12);
            p.overlay.village_name = "村" + std::to_string(i % 97);
            p.tblx = (i % 5 == 0) ? "DP" : "20";
            p.prejudgement.verdict = (i % 4 == 0) ? "存疑" : "非农违法";
            parcels.push_back(std::move(p));
        }
        townships = summarize_by_township(parcels);
        inputs.dir = dir;
        inputs.parcels = &parcels;
        inputs.townships = &townships;
        inputs.srs = &srs;
        inputs.county_name = "江宁区";
        inputs.before_date = "2023-04-10";
        inputs.after_date = "2023-09-18";
        for (const auto& p : parcels) {
            const std::string id = std::to_string(p.id);
            inputs.chips.push_back({"chips/" + id + "_qsx.jpg", "chips/" + id + "_hsx.jpg"});
            write_chip(dir / inputs.chips.back().before, chip_px, rng);
            write_chip(dir / inputs.chips.back().after, chip_px, rng);
        }
        write_chip(dir / "overview.jpg", 1600, rng);
        inputs.overview.width = inputs.overview.height = 1600;
        for (int i = 0; i < kParcels; ++i) inputs.overview.boxes.emplace_back((i % 60) * 26, (i / 60) * 32, 4, 4);
        ParcelAttributes attributes;
        write_parcels_gpkg(dir / "parcels.gpkg", parcels, srs, attributes);
    }
    ~Scene() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

void BM_VerificationPackage3000(benchmark::State& state) {
    static Scene tiny(16);
    static Scene full(320);
    Scene& scene = state.range(0) == 0 ? tiny : full;
    OutputPackageConfig config;
    for (auto _ : state) write_verification_package(scene.inputs, config);
    state.counters["parcels/s"] = benchmark::Counter(kParcels, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["kmz_MB"] = static_cast<double>(fs::file_size(scene.dir / "parcels.kmz")) / 1e6;
}
BENCHMARK(BM_VerificationPackage3000)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true)->UseRealTime();

}  // namespace
