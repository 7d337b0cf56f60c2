#pragma once
// The main job: ingest, then read → detect → clean → label → polygonize streamed strip by strip
// (pipeline/scheduler.hpp), overlay, emit; the final parcels go to an optional ParcelSink (the
// case ledger, wired in by app/) before the outputs appear.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <memory>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/config.hpp"
#include "pipeline/core/parcel_sink.hpp"

namespace weipian {

// What a run produced.
struct RunSummary {
    std::filesystem::path output_dir;
    std::int64_t parcels = 0;
    double area_mu = 0;
    std::shared_ptr<const nlohmann::json> report;  // the content of run.json (never null after a run)
};

// The main job: ingest, detect, clean, polygonize, overlay, emit. Outputs appear in
// config.output_dir only when all are complete; `sink` (may be null) receives the final parcels
// before that (a throw there fails the run with no outputs). Throws ConfigError / InputError;
// InternalError when config.ledger is set but no sink is given (the ledger would silently not
// be fed).
RunSummary run_main_job(const Config& config, ParcelSink* sink = nullptr);

}  // namespace weipian
