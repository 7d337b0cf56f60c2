#include "pipeline/clean.hpp"

#include <cmath>

#include "kernels/clean.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/stage.hpp"

namespace weipian {

static_assert(Stage<CleanStage>);

void CleanStage::validate() const {
    const auto check = [](double value, const char* key) {
        if (!std::isfinite(value) || value < 0)
            throw ConfigError("config: key '" + std::string(key) + "': " + std::to_string(value) +
                              " is not a finite number ≥ 0");
    };
    check(options_.clean.open_radius_m, "clean.open_radius_m");
    check(options_.clean.close_radius_m, "clean.close_radius_m");
    check(options_.clean.min_area_m2, "clean.min_area_m2");
}

std::int64_t CleanStage::min_pixels(double pixel_area_m2) const {
    return options_.clean.min_area_m2 > 0 ? kernels::area_in_pixels(options_.clean.min_area_m2, pixel_area_m2) : 1;
}

kernels::Components CleanStage::run(cv::Mat& mask, double pixel_area_m2) const {
    return kernels::remove_small_components(mask, min_pixels(pixel_area_m2), options_.clean.connectivity);
}

}  // namespace weipian
