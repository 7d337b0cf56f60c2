#pragma once
// Run-length building blocks shared by the streaming labeller (kernels/components.cpp) and the
// polygonizer (kernels/polygonize.cpp), so both find the same runs and join them the same way:
//  - the runs of nonzero bytes of one mask row;
//  - the sweep that finds which runs of the row above a run touches;
//  - a union–find (disjoint sets) over run or record indices.
// Run-based labelling after He, Chao & Suzuki, "A run-based two-scan labeling algorithm",
// IEEE Trans. Image Processing 17(5), 2008; union–find with path halving after Tarjan & van
// Leeuwen, "Worst-case analysis of set union algorithms", J. ACM 31(2), 1984.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "kernels/connectivity.hpp"

namespace weipian::kernels::runs {

// Index of the first nonzero byte of p[x, n), or n. Eight bytes at a time, because change masks
// are mostly background and this is the only pass over every pixel.
inline int find_nonzero(const std::uint8_t* p, int x, int n) {
    while (n - x >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p + x, 8);
        if (w != 0) break;
        x += 8;
    }
    while (x < n && p[x] == 0) ++x;
    return x;
}

// Index of the first zero byte of p[x, n), or n. Eight bytes at a time.
inline int find_zero(const std::uint8_t* p, int x, int n) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    while (n - x >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p + x, 8);
        if (((w - ones) & ~w & highs) != 0) break;  // some byte of w is zero
        x += 8;
    }
    while (x < n && p[x] != 0) ++x;
    return x;
}

// Calls emit(x0, x1) for every run [x0, x1) of nonzero bytes in row[0, width), left to right.
template <class Emit>
void for_each_run(const std::uint8_t* row, int width, Emit&& emit) {
    for (int x = find_nonzero(row, 0, width); x < width; x = find_nonzero(row, x, width)) {
        const int end = find_zero(row, x, width);
        emit(x, end);
        x = end;
    }
}

// How far (in columns) two runs of consecutive rows may be apart and still touch: runs touch
// when their column ranges overlap (Four: 0) or overlap or meet at a corner (Eight: 1).
constexpr int reach_of(Connectivity connectivity) { return connectivity == Connectivity::Eight ? 1 : 0; }

// Whether pixel ranges [a0, a1) and [b0, b1) of consecutive rows touch with the given reach.
constexpr bool touch(int a0, int a1, int b0, int b1, int reach) { return a0 < b1 + reach && b0 < a1 + reach; }

// Finds, for the runs of a row taken left to right, the runs of the row above they touch.
// `Run` is any type with int members x0 and x1 (pixels [x0, x1)); `above` must be sorted left
// to right and disjoint, as for_each_run gives them. The touching runs of one run form a
// contiguous index range. O(|above| + number of calls + pairs) over a whole row.
template <class Run>
class RowSweep {
public:
    RowSweep(std::span<const Run> above, int reach) : above_(above), reach_(reach) {}

    // Indices [first, last) into `above` of the runs touching [x0, x1). Calls must come in
    // left-to-right order of disjoint ranges.
    std::pair<std::size_t, std::size_t> touching(int x0, int x1) {
        while (next_ < above_.size() && above_[next_].x1 + reach_ <= x0) ++next_;
        std::size_t last = next_;
        while (last < above_.size() && above_[last].x0 < x1 + reach_) ++last;
        return {next_, last};
    }

private:
    std::span<const Run> above_;
    int reach_;
    std::size_t next_ = 0;
};

// Disjoint sets over indices 0 … size() − 1, with path halving. Which root survives a union is
// the caller's choice: unite_to_smallest keeps the smallest index (so a root is the first
// element of its set in insertion order), link makes one given root the other's parent.
// Indices are 32-bit: callers check their counts (polygonize throws std::length_error).
class DisjointSets {
public:
    // Adds a singleton set and returns its index.
    std::uint32_t add() {
        const auto id = static_cast<std::uint32_t>(parent_.size());
        parent_.push_back(id);
        return id;
    }
    std::size_t size() const { return parent_.size(); }
    void clear() { parent_.clear(); }
    void reserve(std::size_t n) { parent_.reserve(n); }

    std::uint32_t find(std::uint32_t x) {
        while (parent_[x] != x) {
            parent_[x] = parent_[parent_[x]];  // path halving
            x = parent_[x];
        }
        return x;
    }

    // Joins the sets of a and b under the smaller of their roots; returns that root. Keeps
    // parent(i) <= i for every i.
    std::uint32_t unite_to_smallest(std::uint32_t a, std::uint32_t b) {
        a = find(a);
        b = find(b);
        if (a < b) parent_[b] = a;
        else if (b < a) parent_[a] = b;
        return a < b ? a : b;
    }

    // Makes root `child` a child of root `root` (both must be roots, and distinct).
    void link(std::uint32_t child, std::uint32_t root) { parent_[child] = root; }

    // Moves out the parent array (parent[i] == i for roots), leaving the sets empty.
    std::vector<std::uint32_t> release() { return std::exchange(parent_, {}); }

private:
    std::vector<std::uint32_t> parent_;
};

}  // namespace weipian::kernels::runs
