#pragma once
// Internal to kernels/detect*.cpp: the per-pixel formula of detect_construction as templates,
// instantiated once per instruction set by detect.cpp (scalar), detect_sse2.cpp and
// detect_avx2.cpp. Everything here has internal linkage (unnamed namespace) so that the copies
// compiled with -mavx2 never stand in for the baseline ones at link time.
//
// Bit-identical paths: per pixel, every path evaluates
//   V   = nd(NIR, R)  or nd(G, R)         nd(a, b) = (a − b)/(a + b), 0 when a + b == 0
//   sum = (B + G) + R or G + R             (the brightness mean; the 1/3 or 1/2 cancels in nd)
//   value = (V_before − V_after) + w · nd(sum_after, sum_before)
// with the same IEEE single-precision operations (true division, no FMA contraction: the
// detect*.cpp files are compiled with -ffp-contract=off) on the same operands, so scores agree
// to the bit and masks agree exactly, also for pixels lying exactly on the threshold.
// Integer bands convert exactly to float and their sums and differences stay below 2^24, so for
// uint8/uint16/int16 the only roundings are the three divisions, the product and the two sums.
#include <cstdint>

#include "kernels/detect_rows.hpp"

namespace weipian::kernels::detect_rows {
namespace {

template <class T>
inline const T* row_of(const Plane& plane, int y) {
    return plane.data ? reinterpret_cast<const T*>(plane.data + static_cast<std::size_t>(y) * plane.step) : nullptr;
}

inline const std::uint8_t* mask_row_of(const Plane& plane, int y) { return row_of<std::uint8_t>(plane, y); }

// Normalised difference (a − b)/(a + b), 0 when a + b == 0.
inline float normalized_difference(float a, float b) {
    const float s = a + b;
    return s != 0.0f ? (a - b) / s : 0.0f;
}

// Row pointers of one epoch's role bands.
template <class T>
struct EpochRow {
    const T* band[4];
    EpochRow(const Plane (&planes)[4], int y) {
        for (int r = 0; r < 4; ++r) band[r] = row_of<T>(planes[r], y);
    }
};

// Vegetation index and visible-band sum of one pixel.
template <class T, bool Nir, bool Blue>
inline void epoch_at(const EpochRow<T>& e, int x, float& vegetation, float& brightness_sum) {
    const float red = static_cast<float>(e.band[kRed][x]);
    const float green = static_cast<float>(e.band[kGreen][x]);
    if constexpr (Nir)
        vegetation = normalized_difference(static_cast<float>(e.band[kNir][x]), red);
    else
        vegetation = normalized_difference(green, red);
    if constexpr (Blue)
        brightness_sum = (static_cast<float>(e.band[kBlue][x]) + green) + red;
    else
        brightness_sum = green + red;
}

// The reference: columns [x_begin, width) of row y, one pixel at a time. Also the vector tails.
template <class T, bool Nir, bool Blue>
inline void scalar_row(const Block& b, int y, int x_begin) {
    const EpochRow<T> before(b.before, y), after(b.after, y);
    const std::uint8_t* valid_b = mask_row_of(b.valid_before, y);
    const std::uint8_t* valid_a = mask_row_of(b.valid_after, y);
    float* score = reinterpret_cast<float*>(b.score + static_cast<std::size_t>(y) * b.score_step);
    std::uint8_t* mask = b.mask + static_cast<std::size_t>(y) * b.mask_step;
    for (int x = x_begin; x < b.width; ++x) {
        float v_b, sum_b, v_a, sum_a;
        epoch_at<T, Nir, Blue>(before, x, v_b, sum_b);
        epoch_at<T, Nir, Blue>(after, x, v_a, sum_a);
        const bool ok = (!valid_b || valid_b[x]) && (!valid_a || valid_a[x]);
        const float value = (v_b - v_a) + b.brightness_weight * normalized_difference(sum_a, sum_b);
        score[x] = ok ? value : 0.0f;
        mask[x] = (ok && value > b.threshold && v_a < b.after_vegetation_max) ? 1 : 0;
    }
}

template <class T, bool Nir, bool Blue>
struct ScalarRows {
    static void rows(const Block& b, int row_begin, int row_end) {
        for (int y = row_begin; y < row_end; ++y) scalar_row<T, Nir, Blue>(b, y, 0);
    }
};

// Vector rows over an instruction-set description V (see detect_sse2.cpp / detect_avx2.cpp):
// 16 pixels per step as kGroups vectors of V::kLanes floats; the remaining columns go through
// scalar_row.
template <class V, class T, bool Nir, bool Blue>
struct VectorRows {
    using F = typename V::F;
    static constexpr int kGroups = 16 / V::kLanes;

    static inline F nd(F a, F b) {
        const F s = V::add(a, b);
        const F q = V::div(V::sub(a, b), s);
        return V::andnot(V::eq(s, V::zero()), q);
    }

    static inline void epoch16(const EpochRow<T>& e, int x, F (&vegetation)[kGroups], F (&sum)[kGroups]) {
        F red[kGroups], green[kGroups];
        V::load16(e.band[kRed] + x, red);
        V::load16(e.band[kGreen] + x, green);
        if constexpr (Nir) {
            F nir[kGroups];
            V::load16(e.band[kNir] + x, nir);
            for (int g = 0; g < kGroups; ++g) vegetation[g] = nd(nir[g], red[g]);
        } else {
            for (int g = 0; g < kGroups; ++g) vegetation[g] = nd(green[g], red[g]);
        }
        if constexpr (Blue) {
            F blue[kGroups];
            V::load16(e.band[kBlue] + x, blue);
            for (int g = 0; g < kGroups; ++g) sum[g] = V::add(V::add(blue[g], green[g]), red[g]);
        } else {
            for (int g = 0; g < kGroups; ++g) sum[g] = V::add(green[g], red[g]);
        }
    }

    static void rows(const Block& b, int row_begin, int row_end) {
        const F threshold = V::set1(b.threshold);
        const F weight = V::set1(b.brightness_weight);
        const F vegetation_max = V::set1(b.after_vegetation_max);
        for (int y = row_begin; y < row_end; ++y) {
            const EpochRow<T> before(b.before, y), after(b.after, y);
            const std::uint8_t* valid_b = mask_row_of(b.valid_before, y);
            const std::uint8_t* valid_a = mask_row_of(b.valid_after, y);
            float* score = reinterpret_cast<float*>(b.score + static_cast<std::size_t>(y) * b.score_step);
            std::uint8_t* mask = b.mask + static_cast<std::size_t>(y) * b.mask_step;
            int x = 0;
            for (; x + 16 <= b.width; x += 16) {
                F v_b[kGroups], sum_b[kGroups], v_a[kGroups], sum_a[kGroups], invalid[kGroups];
                epoch16(before, x, v_b, sum_b);
                epoch16(after, x, v_a, sum_a);
                V::invalid16(valid_b ? valid_b + x : nullptr, valid_a ? valid_a + x : nullptr, invalid);
                F s[kGroups], m[kGroups];
                for (int g = 0; g < kGroups; ++g) {
                    const F value = V::add(V::sub(v_b[g], v_a[g]), V::mul(weight, nd(sum_a[g], sum_b[g])));
                    s[g] = V::andnot(invalid[g], value);
                    m[g] = V::andnot(invalid[g], V::and_(V::gt(value, threshold), V::lt(v_a[g], vegetation_max)));
                }
                V::store_score16(score + x, s);
                V::store_mask16(mask + x, m);
            }
            if (x < b.width) scalar_row<T, Nir, Blue>(b, y, x);
        }
    }
};

// The row function of a kernel family K<T, Nir, Blue>::rows for a depth and band set.
template <template <class, bool, bool> class K, class T>
RowsFn pick_bands(bool nir, bool blue) {
    if (nir) return blue ? &K<T, true, true>::rows : &K<T, true, false>::rows;
    return blue ? &K<T, false, true>::rows : &K<T, false, false>::rows;
}

template <template <class, bool, bool> class K>
RowsFn pick(Depth depth, bool nir, bool blue) {
    switch (depth) {
        case Depth::U8: return pick_bands<K, std::uint8_t>(nir, blue);
        case Depth::U16: return pick_bands<K, std::uint16_t>(nir, blue);
        case Depth::S16: return pick_bands<K, std::int16_t>(nir, blue);
        case Depth::F32: return pick_bands<K, float>(nir, blue);
    }
    return nullptr;
}

}  // namespace
}  // namespace weipian::kernels::detect_rows
