#pragma once
// Overlay stage: gives each parcel its township and its cultivated-land area, and computes
// areas in a projected CRS. Comparable to PDAL's OverlayFilter, on polygons.
#include <memory>
#include <string>
#include <vector>

#include <ogr_spatialref.h>

#include "pipeline/config.hpp"
#include "pipeline/parcel.hpp"

namespace weipian {

class OverlayStage {
public:
    // `image_srs` is the CRS of the parcels' geometry. `lon`, `lat` (degrees) locate the scene
    // for the default area CRS.
    OverlayStage(OverlayConfig options, const OGRSpatialReference& image_srs, double lon, double lat);
    ~OverlayStage();

    // Opens the configured layers and checks their fields before any pixel is read.
    // Throws InputError naming the file, layer and field, and ConfigError for a bad area CRS.
    void validate();

    // Splits patches at township boundaries (a patch spanning two townships becomes one parcel
    // per township, with the same patch_id), sets township name/code, area_m2, cultivated_m2 and
    // centroid (area CRS). Parcels outside every township keep "unassigned". Renumbers ids 1..n in
    // (township code, patch id) order. Input geometries are in the image CRS and stay so.
    std::vector<Parcel> run(std::vector<Parcel> patches);

    // The projected CRS used for areas and centroids (valid after validate()).
    const OGRSpatialReference& area_crs() const;

    const char* name() const { return "overlay"; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace weipian
