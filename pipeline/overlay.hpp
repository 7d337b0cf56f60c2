#pragma once
// Overlay stage: gives each parcel its township, its area in a projected CRS and its enforcement
// overlay (ENFORCEMENT.md §2): the DLTB area parts in GB/T 21010 groups (pipeline/land_class.hpp),
// 永久基本农田 / 生态保护红线 / 城镇开发边界 areas, the village, and per approval layer the
// covered share and document numbers. Comparable to PDAL's OverlayFilter, on polygons.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <ogr_spatialref.h>

#include "pipeline/core/config.hpp"
#include "pipeline/core/parcel.hpp"

namespace weipian {

// Township rule (a product decision): a 图斑 is split at township boundaries, so each township
// answers for exactly the land inside it and the township lines sum to the county total. A
// patch spanning two townships becomes two parcels with the same patch_id; the part outside
// every township polygon stays one parcel named kUnassignedTownship. Land where township
// polygons overlap (a data error) goes to the township with the smallest (code, name).
// Geometry work happens in the area CRS; split pieces are transformed back to the image CRS,
// an unsplit parcel keeps its original outline. Pieces under 1 cm² (slivers) are dropped.
class OverlayStage {
public:
    static constexpr std::string_view name = "overlay";
    using Options = OverlayConfig;  // Options::from(config) = config.overlay

    // `image_srs` is the CRS of the parcels' geometry. `lon`, `lat` (degrees) locate the scene
    // for the default area CRS.
    OverlayStage(OverlayConfig options, const OGRSpatialReference& image_srs, double lon, double lat);
    ~OverlayStage();

    // Opens the configured layers (townships, DLTB, 永农, 红线, 城镇开发边界, villages, each
    // approval layer), checks their fields and loads their polygons (reprojected to the area
    // CRS, axis order forced to x = lon/easting, invalid outlines repaired) before any pixel is
    // read. Throws InputError (exit 3) naming the file, layer and field (and the fields the layer
    // has) for a missing configured field; a DLTB class value that is neither configured as
    // cultivated nor a GB/T 21010 class (naming value and feature count); a 临时用地 end date
    // that is not a date (naming the feature); ConfigError for a bad area CRS.
    void validate();

    // Splits patches at township boundaries (a patch spanning two townships becomes one parcel
    // per township, with the same patch_id), sets township name/code, area_m2, cultivated_m2 and
    // centroid (area CRS). Parcels outside every township keep "unassigned". Renumbers ids 1..n in
    // (township code, patch id) order, unassigned parcels last. Input geometries are in the image
    // CRS and stay so. pixel_count is shared among the pieces in proportion to area (the shares
    // add up to the patch's count); change_score is kept. cultivated_m2 is the area of the piece
    // ∩ the union of cultivated polygons, so overlapping cultivated polygons count once.
    // Parcel::overlay per piece (m², area CRS): LandParts — each bit of the piece assigned to
    // one DLTB polygon in the priority 耕地, 非耕农用地, 未利用地, 建设用地 (then file order), so
    // overlapping DLTB polygons never count twice, and unsurveyed = area − the four parts (all
    // of it without DLTB); 1202/1006/0702/CZCSXM 203 sub-areas; dominant_class. 永农/红线/城镇开发
    // 边界 = piece ∩ union of the layer (`_assessed` = configured). Village = the (code, name)
    // with the largest area in the piece, ties to the smaller. Approvals in config order:
    // covered_m2 = piece ∩ union of the layer, share = covered / area, numbers of the features
    // covering > 1 cm² (sorted, unique, empty ones left out), end_date = their latest (临时用地).
    // Layers are envelope-grid indexed: the work per parcel grows with the features near it.
    // Calls validate() first if it has not run.
    std::vector<Parcel> run(std::vector<Parcel> patches);

    // The projected CRS used for areas and centroids (valid after validate()).
    const OGRSpatialReference& area_crs() const;


private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace weipian
