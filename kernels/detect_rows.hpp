#pragma once
// Internal to kernels/detect*.cpp: the row kernels of detect_construction behind plain pointers.
//
// This header is included by translation units compiled with different instruction sets
// (detect_avx2.cpp with -mavx2 -mfma), so it declares only plain structs and functions and
// includes no OpenCV or TBB header: an inline function emitted from such a header in the AVX2
// unit could be the copy the linker keeps for the baseline units and fault on an older CPU.
#include <cstddef>
#include <cstdint>

namespace weipian::kernels::detect_rows {

// Native pixel type of the role bands.
enum class Depth { U8, U16, S16, F32 };

// Role slots in Block::before / Block::after.
enum Role : int { kBlue = 0, kGreen = 1, kRed = 2, kNir = 3 };

// One plane: row y starts at data + y * step (bytes). data == nullptr for an absent role or mask.
struct Plane {
    const std::uint8_t* data = nullptr;
    std::size_t step = 0;
};

// A block as the row kernels see it. Outputs: score float32, mask uint8 (1/0), `width` columns.
struct Block {
    Plane before[4], after[4];  // indexed by Role; blue and nir absent together in both epochs
    Plane valid_before, valid_after;
    std::uint8_t* score = nullptr;
    std::size_t score_step = 0;
    std::uint8_t* mask = nullptr;
    std::size_t mask_step = 0;
    int width = 0;
    float threshold = 0.0f;
    float brightness_weight = 0.0f;
    float after_vegetation_max = 0.0f;
};

// Computes rows [row_begin, row_end) of a block.
using RowsFn = void (*)(const Block& block, int row_begin, int row_end);

// Row kernel for a depth and band set, per instruction set. Every path performs the same IEEE
// operations in the same order (no FMA, true division), so all paths give bit-identical results.
RowsFn scalar_rows(Depth depth, bool nir, bool blue);
#if WEIPIAN_DETECT_X86_SIMD
RowsFn sse2_rows(Depth depth, bool nir, bool blue);
RowsFn avx2_rows(Depth depth, bool nir, bool blue);
#endif

}  // namespace weipian::kernels::detect_rows
