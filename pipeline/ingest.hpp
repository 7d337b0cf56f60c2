#pragma once
// Ingest stage: each epoch's tiles (any format GDAL reads), mosaicked virtually, brought onto
// one common grid (the reference epoch's unless configured), with nodata and an optional AOI
// turned into a validity mask. Nothing is copied: both epochs are VRTs read block by block.
#include <memory>
#include <string>
#include <vector>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include "kernels/detect.hpp"
#include "pipeline/config.hpp"
#include "pipeline/geo.hpp"

namespace weipian {

struct IngestOptions {
    // Accept rasters without a CRS (plain PNG/JPEG) when the pixel size is given in metres;
    // used by `detect` and `evaluate`. The main job always requires a CRS.
    bool allow_missing_crs = false;
    double pixel_size_m = 0;  // > 0: pixel size in metres for rasters without georeferencing
};

// Both epochs on one grid, ready to be read in strips.
class AlignedEpochs {
public:
    int width() const { return width_; }
    int height() const { return height_; }
    const GeoTransform& geotransform() const { return gt_; }
    // Empty (no CRS) only when IngestOptions::allow_missing_crs was set and the inputs have none.
    const OGRSpatialReference* srs() const { return srs_.get(); }
    double pixel_width_m() const { return pixel_width_m_; }
    double pixel_height_m() const { return pixel_height_m_; }
    // Scene centre in degrees (lon, lat); 0, 0 without a CRS.
    double centre_lon() const { return centre_lon_; }
    double centre_lat() const { return centre_lat_; }
    const std::vector<std::string>& before_files() const { return before_files_; }
    const std::vector<std::string>& after_files() const { return after_files_; }

    // Reads rows [row0, row0 + rows) of the chosen epoch into `block` (CV_32F per role, reusing
    // its buffers), and its validity (band masks: nodata, alpha, warp coverage; AOI) into
    // block.valid. Throws InputError when GDAL fails to read.
    void read_block(bool after, int row0, int rows, kernels::EpochBlock& block) const;

    // Writes nothing; says how each epoch was brought onto the grid (for run.json).
    std::string describe() const;

private:
    friend AlignedEpochs ingest_epochs(const Config&, const IngestOptions&);
    struct Epoch {
        std::vector<GDALDatasetUniquePtr> tiles;  // kept open: warped mosaics refer to them
        GDALDatasetUniquePtr mosaic;   // the tiles as one dataset (VRT, or the file itself)
        GDALDatasetUniquePtr on_grid;  // the mosaic on the common grid (VRT window or warped VRT)
        std::string how;               // "direct", "window", "warped"
    };
    Epoch before_, after_;
    std::vector<std::string> before_files_, after_files_;
    std::unique_ptr<OGRSpatialReference> srs_;
    GeoTransform gt_{};
    int width_ = 0, height_ = 0;
    double pixel_width_m_ = 0, pixel_height_m_ = 0;
    double centre_lon_ = 0, centre_lat_ = 0;
    BandRoles roles_;
    GDALDatasetUniquePtr aoi_mask_;  // Byte, 1 inside the AOI; null = no AOI
};

// Resolves the epochs' tile lists (globs), opens and checks every tile, mosaics and aligns them.
// Throws InputError naming the file and what to do: missing file, glob with no match, raster
// without CRS, too few bands for the configured roles, epochs that do not overlap, bad AOI.
AlignedEpochs ingest_epochs(const Config& config, const IngestOptions& options = {});

// Expands a list of paths/globs into sorted file paths. `key` names the setting in messages.
std::vector<std::string> expand_tiles(const std::vector<std::string>& patterns, const std::string& key);

// Routes GDAL/CPL messages to the log (once per process) instead of stderr.
void install_gdal_error_handler();

}  // namespace weipian
