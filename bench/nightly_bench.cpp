// `weipian nightly` with nothing new (issue 10, Speed: under a second on a catalog of 10,000
// tiles): run_nightly (lock, catalog open, unfinished-night check, base, scan, pending, latest
// link) over an inbox whose every tile is registered and processed by an earlier night.
//   build/bench/weipian_nightly_bench --benchmark_repetitions=7 --benchmark_report_aggregates_only=true
// The set-up writes N 16×16 GeoTIFFs (EPSG:4546, dated names, 100 per folder), registers them and
// records one finished night over all of them; kept under /tmp/weipian-nightly-bench-<N>/ for the
// next run (a set-up interrupted before its marker file is written starts over).
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
#include "pipeline/nightly.hpp"

namespace {

namespace fs = std::filesystem;
using namespace weipian;

struct Fixture {
    Config config;
    bool ok = false;
    std::string error;
};

const Fixture& fixture(int count) {
    static std::map<int, Fixture> made;
    if (auto it = made.find(count); it != made.end()) return it->second;
    Fixture& f = made[count];
    const fs::path root = fs::temp_directory_path() / ("weipian-nightly-bench-" + std::to_string(count));
    const fs::path inbox = root / "inbox", marker = root / "complete";
    f.config.county = {"稷山县", "140824"};
    f.config.output_dir = (root / "out").string();
    f.config.nightly.inbox = {inbox.string()};
    spdlog::set_level(spdlog::level::warn);
    try {
        if (!fs::exists(marker)) {
            fs::remove_all(root);
            fs::create_directories(inbox);
            write_dated_tiles(inbox, count);
            auto catalog = ImageryCatalog::open(catalog_location(f.config), f.config.county);
            catalog.scan(f.config.nightly);
            std::vector<std::int64_t> ids;
            for (const auto& t : catalog.pending()) ids.push_back(t.id);
            if (static_cast<int>(ids.size()) != count)
                throw std::runtime_error("set-up registered " + std::to_string(ids.size()) + " of " + std::to_string(count) + " tiles");
            fs::create_directories(root / "out" / "2023-09-20");
            catalog.finish_night(catalog.begin_night("2023-09-20", root / "out" / "2023-09-20", ids), "done", {{"parcels", 0}});
            std::ofstream(marker) << count << "\n";
        }
        f.ok = true;
    } catch (const std::exception& e) {
        f.error = e.what();
    }
    return f;
}

void BM_NightlyNothingNew(benchmark::State& state) {
    const int count = static_cast<int>(state.range(0));
    const Fixture& f = fixture(count);
    if (!f.ok) {
        state.SkipWithError(f.error.c_str());
        return;
    }
    for (auto _ : state) {
        const NightlyResult result = run_nightly(f.config, {});
        if (!result.nothing_new || result.registered != count) {
            state.SkipWithError("the inbox changed since the set-up: remove the cached folder");
            return;
        }
        benchmark::DoNotOptimize(result.registered);
    }
    state.counters["tiles"] = count;
}
BENCHMARK(BM_NightlyNothingNew)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
