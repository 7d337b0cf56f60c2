// SSE2 row kernels of detect_construction: the x86-64 baseline (every x86-64 CPU has SSE2), so
// this unit needs no extra compiler flags. Same operations as the scalar path (detect_rows_impl.hpp).
#include <emmintrin.h>

#include "kernels/detect_rows_impl.hpp"

namespace weipian::kernels::detect_rows {
namespace {

// 4 float lanes; 16 pixels are four vectors.
struct Sse2 {
    using F = __m128;
    static constexpr int kLanes = 4;

    static F zero() { return _mm_setzero_ps(); }
    static F set1(float v) { return _mm_set1_ps(v); }
    static F add(F a, F b) { return _mm_add_ps(a, b); }
    static F sub(F a, F b) { return _mm_sub_ps(a, b); }
    static F mul(F a, F b) { return _mm_mul_ps(a, b); }
    static F div(F a, F b) { return _mm_div_ps(a, b); }
    static F and_(F a, F b) { return _mm_and_ps(a, b); }
    static F andnot(F a, F b) { return _mm_andnot_ps(a, b); }  // ~a & b
    static F eq(F a, F b) { return _mm_cmpeq_ps(a, b); }
    static F gt(F a, F b) { return _mm_cmpgt_ps(a, b); }
    static F lt(F a, F b) { return _mm_cmplt_ps(a, b); }

    static __m128i load(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
    static F from_i32(__m128i v) { return _mm_cvtepi32_ps(v); }

    static void load16(const float* p, F (&out)[4]) {
        for (int g = 0; g < 4; ++g) out[g] = _mm_loadu_ps(p + 4 * g);
    }
    static void load16(const std::uint16_t* p, F (&out)[4]) {
        const __m128i zero = _mm_setzero_si128();
        for (int h = 0; h < 2; ++h) {
            const __m128i v = load(p + 8 * h);
            out[2 * h] = from_i32(_mm_unpacklo_epi16(v, zero));
            out[2 * h + 1] = from_i32(_mm_unpackhi_epi16(v, zero));
        }
    }
    static void load16(const std::int16_t* p, F (&out)[4]) {
        for (int h = 0; h < 2; ++h) {
            const __m128i v = load(p + 8 * h);  // (v, v) pairs then an arithmetic shift sign-extend
            out[2 * h] = from_i32(_mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16));
            out[2 * h + 1] = from_i32(_mm_srai_epi32(_mm_unpackhi_epi16(v, v), 16));
        }
    }
    static void load16(const std::uint8_t* p, F (&out)[4]) {
        const __m128i zero = _mm_setzero_si128();
        const __m128i v = load(p);
        const __m128i lo = _mm_unpacklo_epi8(v, zero), hi = _mm_unpackhi_epi8(v, zero);
        out[0] = from_i32(_mm_unpacklo_epi16(lo, zero));
        out[1] = from_i32(_mm_unpackhi_epi16(lo, zero));
        out[2] = from_i32(_mm_unpacklo_epi16(hi, zero));
        out[3] = from_i32(_mm_unpackhi_epi16(hi, zero));
    }

    // All-ones lanes where either valid mask is 0; all zero when both masks are absent.
    static void invalid16(const std::uint8_t* valid_b, const std::uint8_t* valid_a, F (&out)[4]) {
        const __m128i zero = _mm_setzero_si128();
        __m128i bad = zero;
        if (valid_b) bad = _mm_cmpeq_epi8(load(valid_b), zero);
        if (valid_a) bad = _mm_or_si128(bad, _mm_cmpeq_epi8(load(valid_a), zero));
        const __m128i lo = _mm_unpacklo_epi8(bad, bad), hi = _mm_unpackhi_epi8(bad, bad);
        out[0] = _mm_castsi128_ps(_mm_unpacklo_epi16(lo, lo));
        out[1] = _mm_castsi128_ps(_mm_unpackhi_epi16(lo, lo));
        out[2] = _mm_castsi128_ps(_mm_unpacklo_epi16(hi, hi));
        out[3] = _mm_castsi128_ps(_mm_unpackhi_epi16(hi, hi));
    }

    static void store_score16(float* p, const F (&s)[4]) {
        for (int g = 0; g < 4; ++g) _mm_storeu_ps(p + 4 * g, s[g]);
    }
    // Lane masks (all ones / zero) to bytes 1 / 0 in pixel order.
    static void store_mask16(std::uint8_t* p, const F (&m)[4]) {
        __m128i bits[4];
        for (int g = 0; g < 4; ++g) bits[g] = _mm_srli_epi32(_mm_castps_si128(m[g]), 31);
        const __m128i bytes = _mm_packs_epi16(_mm_packs_epi32(bits[0], bits[1]), _mm_packs_epi32(bits[2], bits[3]));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p), bytes);
    }
};

template <class T, bool Nir, bool Blue>
using Sse2Rows = VectorRows<Sse2, T, Nir, Blue>;

}  // namespace

RowsFn sse2_rows(Depth depth, bool nir, bool blue) { return pick<Sse2Rows>(depth, nir, blue); }

}  // namespace weipian::kernels::detect_rows
