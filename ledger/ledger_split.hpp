#pragma once
// `weipian ledger split` and `weipian ledger merge`: one case into sub-parcels (子图斑, ids
// CASE_1, CASE_2, … as the platform numbers them, ENFORCEMENT.md §1) and several cases into one.
// Both write everything (cases and history rows) in one LedgerStore transaction, or nothing.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace weipian {

// The largest tolerated gap or overlap when splitting: 0.01 亩 (the form's precision),
// 20/3 m² — one hundredth of a 亩.
inline constexpr double kSplitToleranceM2 = 20.0 / 3.0;

struct SplitOptions {
    std::string who;          // recorded in the history rows
    std::string order_field;  // order the pieces by this field of the file (numbers numerically); empty = file order
};

struct SplitSummary {
    std::string ledger;  // redacted location
    std::string parent;
    std::vector<std::string> pieces;          // CASE_1, CASE_2, …
    std::vector<std::int64_t> piece_centimu;  // their 地块面积 in hundredths of a 亩 (sum = the parent's)
    std::int64_t parent_centimu = 0;
    // "weipian: case X (3.20 亩) split into X_1 (1.20 亩), X_2 (2.00 亩)\n"
    std::string text() const;
};

// Splits `case_id` by the polygons of `pieces_file` (any OGR polygon source, first layer, any
// CRS — reprojected to the ledger CRS; a file without a CRS is refused). Each feature is one
// piece, numbered in file order (or by `order_field`): piece n becomes case <case_id>_n with
// geometry piece ∩ parent, the parent's status and result (the lifecycle's "(split)" row in
// ledger.hpp: a piece is then verified on its own through `ledger import`), the parent's form,
// lead and plan fields, and its share of the parent's areas: 地块面积, 耕地, 非耕农用地, 未利用地,
// 建设用地, 未调查, 永农, 红线 and the rectification quantities are apportioned in proportion to
// the pieces' clipped areas by the largest-remainder method, so that each column sums exactly to
// the parent's (in 0.01 亩; m² to 0.01 m²) and each piece's parts sum exactly to its 地块面积
// (controlled rounding). Evidence numbers and shares are copied. The parent becomes 已拆分 with
// a history row naming the pieces. Each piece's history starts with "拆分自 <parent>".
// Refused (InputError, one line, the ledger unchanged): an unknown case; a case that is not open
// (销号, 已合并) or already split; a file that cannot be read, has no CRS, holds fewer than 2
// pieces or a feature that is not a polygon; a piece lying outside the parent (less than 0.01 亩
// inside it); two pieces overlapping by more than 0.01 亩; pieces leaving more than 0.01 亩 of
// the parent uncovered; a piece id already in the ledger.
SplitSummary split_case(const std::string& ledger, const std::string& case_id, const std::filesystem::path& pieces_file,
                        const SplitOptions& options);

struct MergeOptions {
    std::string who;
    std::string into;  // the surviving case; empty = the first of the ids
};

struct MergeSummary {
    std::string ledger;
    std::string survivor;
    std::vector<std::string> merged;  // the others, now 已合并
    std::int64_t area_centimu = 0;    // the survivor's 地块面积 after the merge
    // "weipian: cases Y, Z merged into X (4.20 亩)\n"
    std::string text() const;
};

// Merges `case_ids` (at least 2) into one: the survivor (`options.into`, else the first) takes
// the union of the outlines, the sums of every area figure (parts, 永农, 红线; rectification
// quantities summed over the cases that recorded them), the joined evidence numbers (shares
// weighted by area), the earliest first_seen_run and latest last_seen_run, and keeps its own
// status, result, year, dates, form and lead fields (an empty one is filled from the first merged
// case that has it). The others become 已合并 with a history row
// "合并入 <survivor>"; the survivor's row names them. Refused (InputError, the ledger unchanged):
// fewer than 2 cases, a case named twice (merging a case with itself), an unknown case, a case
// that is not open (销号, 已拆分, 已合并), cases of different townships (a case belongs to one
// township, the unit the report ranks), cases with different statuses (bring them to one status
// through `ledger import` first), an --into that is not one of the cases.
MergeSummary merge_cases(const std::string& ledger, const std::vector<std::string>& case_ids, const MergeOptions& options);

}  // namespace weipian
