#pragma once
// Clean stage: morphological opening/closing (radii in metres) and the minimum mapping unit
// (m²) turned into pixels on the scene's grid (kernels/clean.hpp does the pixel work; the strip
// scheduler applies the morphology strip by strip).
#include <cstdint>
#include <string_view>
#include <utility>

#include <opencv2/core.hpp>

#include "kernels/clean.hpp"
#include "pipeline/core/config.hpp"

namespace weipian {

class CleanStage {
public:
    static constexpr std::string_view name = "clean";
    struct Options {
        CleanConfig clean;
        static Options from(const Config& config) { return {config.clean}; }
    };

    explicit CleanStage(Options options) : options_(std::move(options)) {}

    // Radii and minimum area finite and ≥ 0. Throws ConfigError naming the key.
    void validate() const;

    // The minimum mapping unit in pixels for pixels of `pixel_area_m2` (1 when it is off).
    std::int64_t min_pixels(double pixel_area_m2) const;

    // Removes the components of `mask` (CV_8UC1) smaller than the minimum mapping unit, in
    // place, under the configured connectivity; returns the kept ones.
    kernels::Components run(cv::Mat& mask, double pixel_area_m2) const;

    const Options& options() const { return options_; }

private:
    Options options_;
};

}  // namespace weipian
