#pragma once
// Matching by location, one code path for the feed (a run's parcels against cases,
// ledger_feed.cpp) and the lead import (delivered leads against cases, ledger_leads.cpp):
// LedgerConfig::match_rule overlap_ratio = ∩ / min(areas), iou = ∩ / ∪, on planar areas in the
// ledger CRS; a pair matches at or above LedgerConfig::match_threshold. Internal to
// weipian_ledger.
#include <vector>

#include <ogr_geometry.h>

#include "ledger/ledger.hpp"
#include "pipeline/core/config.hpp"

namespace weipian {

// Throws ConfigError naming ledger.match_rule / ledger.match_threshold when they are not
// usable.
void check_match_options(const LedgerConfig& options);

// A geometry GEOS can intersect: valid ones as they are, others repaired (MakeValid).
OGRGeometryUniquePtr usable_geometry(const OGRGeometry& geometry);

// Planar area of `g` (m² in a projected CRS); 0 for non-surfaces.
double surface_area(const OGRGeometry& g);

// Area of a ∩ b (0 when they do not overlap or meet only along a line).
double intersection_area(const OGRGeometry& a, const OGRGeometry& b);

// Each case's outline made usable (usable_geometry) and its planar area, by case index; a
// case without geometry has a null outline and area 0.
struct CaseOutlines {
    std::vector<OGRGeometryUniquePtr> outlines;
    std::vector<double> areas;
};
CaseOutlines case_outlines_of(const std::vector<LedgerCase>& cases);

// The match ratio of a (area `area_a`) and b (area `area_b`) by options.match_rule; 0 when
// they do not overlap.
double match_ratio(const LedgerConfig& options, const OGRGeometry& a, double area_a, const OGRGeometry& b, double area_b);

}  // namespace weipian
