// AVX2 row kernels of detect_construction. Compiled with -mavx2 -mfma -ffp-contract=off and
// called only when the CPU reports AVX2 and FMA (detect.cpp). FMA is deliberately not used in the
// arithmetic: a fused multiply-add rounds once where the scalar path rounds twice, and the paths
// must agree to the bit (see detect_rows_impl.hpp). Includes no OpenCV/TBB header (detect_rows.hpp).
#include <immintrin.h>

#include "kernels/detect_rows_impl.hpp"

namespace weipian::kernels::detect_rows {
namespace {

// 8 float lanes; 16 pixels are two vectors.
struct Avx2 {
    using F = __m256;
    static constexpr int kLanes = 8;

    static F zero() { return _mm256_setzero_ps(); }
    static F set1(float v) { return _mm256_set1_ps(v); }
    static F add(F a, F b) { return _mm256_add_ps(a, b); }
    static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
    static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F div(F a, F b) { return _mm256_div_ps(a, b); }
    static F and_(F a, F b) { return _mm256_and_ps(a, b); }
    static F andnot(F a, F b) { return _mm256_andnot_ps(a, b); }  // ~a & b
    static F eq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
    static F gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static F lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }

    static void load16(const float* p, F (&out)[2]) {
        out[0] = _mm256_loadu_ps(p);
        out[1] = _mm256_loadu_ps(p + 8);
    }
    static void load16(const std::uint16_t* p, F (&out)[2]) {
        out[0] = _mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
        out[1] = _mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8))));
    }
    static void load16(const std::int16_t* p, F (&out)[2]) {
        out[0] = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
        out[1] = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8))));
    }
    static void load16(const std::uint8_t* p, F (&out)[2]) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        out[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
        out[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(v, 8)));
    }

    // All-ones lanes where either valid mask is 0; all zero when both masks are absent.
    static void invalid16(const std::uint8_t* valid_b, const std::uint8_t* valid_a, F (&out)[2]) {
        const __m128i zero = _mm_setzero_si128();
        __m128i bad = zero;
        if (valid_b) bad = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(valid_b)), zero);
        if (valid_a) bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(valid_a)), zero));
        out[0] = _mm256_castsi256_ps(_mm256_cvtepi8_epi32(bad));
        out[1] = _mm256_castsi256_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(bad, 8)));
    }

    static void store_score16(float* p, const F (&s)[2]) {
        _mm256_storeu_ps(p, s[0]);
        _mm256_storeu_ps(p + 8, s[1]);
    }
    // Lane masks (all ones / zero) to bytes 1 / 0 in pixel order.
    static void store_mask16(std::uint8_t* p, const F (&m)[2]) {
        const __m256i a = _mm256_srli_epi32(_mm256_castps_si256(m[0]), 31);
        const __m256i b = _mm256_srli_epi32(_mm256_castps_si256(m[1]), 31);
        const __m256i words = _mm256_packs_epi32(a, b);         // a0-3 b0-3 | a4-7 b4-7
        const __m256i bytes = _mm256_packs_epi16(words, words);  // dwords: a0-3 b0-3 a0-3 b0-3 | a4-7 b4-7 ..
        const __m256i ordered = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 0, 4, 1, 5));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(ordered));
    }
};

template <class T, bool Nir, bool Blue>
using Avx2Rows = VectorRows<Avx2, T, Nir, Blue>;

}  // namespace

RowsFn avx2_rows(Depth depth, bool nir, bool blue) { return pick<Avx2Rows>(depth, nir, blue); }

}  // namespace weipian::kernels::detect_rows
