// The imagery catalog's "nothing new" night (issue 10, Speed: under a second on 10,000 tiles):
// ImageryCatalog::open + scan over an inbox whose every file is registered already.
//   build/bench/weipian_catalog_bench --benchmark_repetitions=7 --benchmark_report_aggregates_only=true
// The set-up writes N 16×16 GeoTIFFs (EPSG:4546, dated names, 100 per folder) and registers them
// once; both are kept under /tmp/weipian-catalog-bench-<N>/ for the next run (a run that was
// interrupted before the marker file is written starts over).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <spdlog/spdlog.h>

#include "bench/workload.hpp"
#include "pipeline/catalog.hpp"

namespace {

namespace fs = std::filesystem;
using namespace weipian;

CountyConfig county() { return CountyConfig{"稷山县", "140824"}; }

struct Fixture {
    fs::path root, inbox, catalog;
    bool ok = false;
    std::string error;
};

const Fixture& fixture(int count) {
    static std::map<int, Fixture> made;
    if (auto it = made.find(count); it != made.end()) return it->second;
    Fixture& f = made[count];
    f.root = fs::temp_directory_path() / ("weipian-catalog-bench-" + std::to_string(count));
    f.inbox = f.root / "inbox";
    f.catalog = f.root / "catalog.gpkg";
    const fs::path marker = f.root / "complete";
    spdlog::set_level(spdlog::level::warn);
    try {
        if (!fs::exists(marker)) {
            fs::remove_all(f.root);
            fs::create_directories(f.inbox);
            write_dated_tiles(f.inbox, count);
            NightlyConfig nightly;
            nightly.inbox = {f.inbox.string()};
            auto catalog = ImageryCatalog::open(f.catalog.string(), county());
            const ScanResult scan = catalog.scan(nightly);
            if (static_cast<int>(scan.registered.size()) != count)
                throw std::runtime_error("set-up registered " + std::to_string(scan.registered.size()) + " of " + std::to_string(count) +
                                         " tiles");
            std::ofstream(marker) << count << "\n";
        }
        f.ok = true;
    } catch (const std::exception& e) {
        f.error = e.what();
    }
    return f;
}

void BM_CatalogNothingNew(benchmark::State& state) {
    const int count = static_cast<int>(state.range(0));
    const Fixture& f = fixture(count);
    if (!f.ok) {
        state.SkipWithError(f.error.c_str());
        return;
    }
    NightlyConfig nightly;
    nightly.inbox = {f.inbox.string()};
    for (auto _ : state) {
        auto catalog = ImageryCatalog::open(f.catalog.string(), county());
        const ScanResult scan = catalog.scan(nightly);
        if (!scan.registered.empty() || scan.unchanged != count) {
            state.SkipWithError("the inbox changed since the set-up: remove the cached folder");
            return;
        }
        benchmark::DoNotOptimize(scan.unchanged);
    }
    state.counters["tiles"] = count;
}
BENCHMARK(BM_CatalogNothingNew)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
