#pragma once
// The shape every stage of the main job shares, so that a new stage (a learned detector, a rule
// engine) is one more file of the same form:
//   - `static constexpr std::string_view name`: the stage's name in logs, timings and run.json;
//   - `Options`: what the stage needs, taken from the configuration (the one declaration of
//     each key, pipeline/core/config.hpp) by `Options::from(config)`;
//   - `validate()`: every check that can be made before any pixel is read (throws ConfigError /
//     InputError naming the file, key or value);
//   - `run(...)`: the work; its arguments and result are the stage's own.
// Stages: ingest, detect, clean, polygonize, overlay, prejudge, emit, evaluate (one file each in
// pipeline/). The strip scheduler (pipeline/scheduler.hpp) fuses detect, clean and polygonize
// strip by strip for the main job (pipeline/main_job.hpp).
#include <chrono>
#include <concepts>
#include <string_view>

#include "pipeline/core/config.hpp"

namespace weipian {

template <typename S>
concept Stage = requires(const Config& config, S& stage) {
    { S::name } -> std::convertible_to<std::string_view>;
    typename S::Options;
    { S::Options::from(config) } -> std::convertible_to<typename S::Options>;
    stage.validate();
};

// Wall-clock seconds since `start` (steady clock), for the stages' timings in run.json.
using StageClock = std::chrono::steady_clock;
inline double seconds_since(StageClock::time_point start) {
    return std::chrono::duration<double>(StageClock::now() - start).count();
}

}  // namespace weipian
