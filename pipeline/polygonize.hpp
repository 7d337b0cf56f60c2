#pragma once
// Polygonize stage: kept components of a mask as exact pixel-edge polygons (kernels/polygonize),
// placed on the map by the grid's geotransform. The main job polygonizes inside the strip
// scheduler; `weipian polygonize` runs this stage on a mask raster.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <ogr_geometry.h>
#include <ogr_spatialref.h>

#include "kernels/connectivity.hpp"
#include "kernels/polygonize.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/scheduler.hpp"

namespace weipian {

// The geometry whose rings are the pixel edges of `polygon`, placed by the geotransform
// (pixel corner (c, r) -> gt). Exact: no smoothing, holes kept. An OGRPolygon when the polygon
// has one part (always so with 4-connectivity), an OGRMultiPolygon of its parts otherwise
// (8-connected components with diagonal pinches); valid OGC geometry either way. Never null.
OGRGeometryUniquePtr to_geometry(const kernels::PixelPolygon& polygon, const GeoTransform& gt);

// What polygonizing a mask raster gave.
struct PolygonizedMask {
    std::vector<PatchPolygon> polygons;  // ordered by first pixel (raster order)
    int width = 0, height = 0;
    GeoTransform geotransform{0, 1, 0, 0, 0, 1};
    std::unique_ptr<OGRSpatialReference> srs;  // null when the raster has none
    double label_seconds = 0, polygonize_seconds = 0;  // thread time
};

class PolygonizeStage {
public:
    static constexpr std::string_view name = "polygonize";
    struct Options {
        kernels::Connectivity connectivity = kernels::Connectivity::Four;  // clean.connectivity
        std::int64_t min_pixels = 1;  // components smaller than this are dropped
        int block_size = 256;         // rows per strip (processing.block_size)
        int threads = 0;              // processing.threads; 0 = all cores
        static Options from(const Config& config);
    };

    explicit PolygonizeStage(Options options) : options_(options) {}

    // min_pixels ≥ 1, block size and threads inside the ranges of processing.block_size and
    // processing.threads. Throws ConfigError naming the key.
    void validate() const;

    // Streams the first band of the raster `mask_path` (nonzero = foreground) in strips through
    // the labeller and the polygonizer (pipeline/scheduler.hpp). Throws InputError naming the
    // file when it cannot be read.
    PolygonizedMask run(const std::string& mask_path) const;

private:
    Options options_;
};

}  // namespace weipian
