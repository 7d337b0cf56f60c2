#include "pipeline/core/units.hpp"

#include <cmath>
#include <cstdio>

#include "pipeline/core/errors.hpp"

namespace weipian {

std::int64_t to_centimu(double area_m2) {
    if (!std::isfinite(area_m2)) {
        throw InternalError("units: area " + std::to_string(area_m2) + " m² is not a finite number");
    }
    // 亩 = m² × 0.0015, so centimu = m² × 3 / 20. Multiplying by 3 is exact for any area a parcel
    // can have and the division is correctly rounded, so an exact half (10 m² = 1.5 centimu)
    // stays a half; 0.15 as a double is not exact and would tip some halves down.
    return std::llround(area_m2 * 3.0 / 20.0);
}

std::string format_mu(std::int64_t centimu) {
    const bool negative = centimu < 0;
    // Work in unsigned so INT64_MIN does not overflow.
    const auto magnitude = negative ? 0 - static_cast<std::uint64_t>(centimu) : static_cast<std::uint64_t>(centimu);
    std::string text = (negative ? "-" : "") + std::to_string(magnitude / 100);
    const auto hundredths = magnitude % 100;
    if (hundredths != 0) {
        text += '.';
        text += static_cast<char>('0' + hundredths / 10);
        if (hundredths % 10 != 0) text += static_cast<char>('0' + hundredths % 10);
    }
    return text;
}

std::string format_mu_fixed2(std::int64_t centimu) {
    const bool negative = centimu < 0;
    const auto magnitude = negative ? 0 - static_cast<std::uint64_t>(centimu) : static_cast<std::uint64_t>(centimu);
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%s%llu.%02llu", negative ? "-" : "",
                  static_cast<unsigned long long>(magnitude / 100), static_cast<unsigned long long>(magnitude % 100));
    return buffer;
}

double round2(double value) { return std::round(value * 100.0) / 100.0; }

}  // namespace weipian
