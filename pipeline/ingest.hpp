#pragma once
// Ingest stage: each epoch's tiles (any format GDAL reads), mosaicked virtually, brought onto
// one common grid (the reference epoch's unless configured), with nodata and an optional AOI
// turned into a validity mask. Nothing is copied: both epochs are VRTs read block by block.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include "kernels/detect.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/geo.hpp"

namespace weipian {

// Limits of the common grid (ingest refuses a grid beyond them, with the numbers): pixels a
// side (a strip spans the full width), pixels in all, and how much finer than the reference
// epoch's pixel a configured grid.pixel_size may be.
inline constexpr double kMaxGridSide = 524288;                 // 2^19 px
inline constexpr double kMaxGridPixels = 17179869184.0;        // 2^34 px ≈ 17.2 Gpx
inline constexpr double kMaxUpsampling = 10;

struct IngestOptions {
    // Accept rasters without a CRS (plain PNG/JPEG) when the pixel size is given in metres;
    // used by `detect` and `evaluate`. The main job always requires a CRS.
    bool allow_missing_crs = false;
    double pixel_size_m = 0;  // > 0: pixel size in metres for rasters without georeferencing
};

class EpochReader;

// Both epochs on one grid, ready to be read in strips. Each epoch is a named source (the tile
// itself, or a VRT mosaic / warped VRT kept in /vsimem/) read through a pixel offset, so any
// number of threads can open their own reader.
class AlignedEpochs {
public:
    AlignedEpochs();
    ~AlignedEpochs();
    AlignedEpochs(AlignedEpochs&&) noexcept;
    AlignedEpochs& operator=(AlignedEpochs&&) noexcept;

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
    const std::vector<std::string>& before_files() const { return before_.files; }
    const std::vector<std::string>& after_files() const { return after_.files; }
    const BandRoles& roles() const { return roles_; }
    // What readers open for one epoch: the dataset name (a tile, or a VRT in /vsimem/ living as
    // long as this object), georeferenced in the grid's CRS, and the grid's origin in it, pixels
    // (chips read it by name, pipeline/chips.hpp).
    struct EpochSource {
        std::string name;
        int xoff = 0, yoff = 0;
    };
    EpochSource epoch_source(bool after) const {
        const Epoch& e = after ? after_ : before_;
        return {e.source, e.xoff, e.yoff};
    }

    // A reader with its own GDAL handles: one per thread. Throws InputError.
    std::unique_ptr<EpochReader> open_reader() const;

    // Reads rows [row0, row0 + rows) of one epoch through a reader owned by this object (not
    // thread-safe; use open_reader() from threads).
    void read_block(bool after, int row0, int rows, kernels::EpochBlock& block) const;

    // Says how each epoch was brought onto the grid (for run.json).
    std::string describe() const;

private:
    friend AlignedEpochs ingest_epochs(const Config&, const IngestOptions&);
    friend class EpochReader;
    struct Epoch {
        std::vector<std::string> files;
        std::string source;        // what readers open: a file or a /vsimem/ VRT
        int xoff = 0, yoff = 0;    // the grid's origin in `source`, pixels
        std::string how;           // "window" or "warped (…)"
    };
    Epoch before_, after_;
    std::vector<std::string> vsimem_files_;  // removed with this object
    std::unique_ptr<OGRSpatialReference> srs_;
    GeoTransform gt_{};
    int width_ = 0, height_ = 0;
    double pixel_width_m_ = 0, pixel_height_m_ = 0;
    double centre_lon_ = 0, centre_lat_ = 0;
    BandRoles roles_;
    std::unique_ptr<OGRGeometry> aoi_;  // in the grid's CRS; null = no AOI
    mutable std::unique_ptr<EpochReader> own_reader_;
};

// Reads strips of both epochs in their native pixel type (Byte, UInt16 and Int16 stay as they
// are; anything else is read as Float32), with validity from the bands' masks (nodata, alpha,
// warp coverage) and the AOI. Buffers of the block are reused when their size and type match.
class EpochReader {
public:
    explicit EpochReader(const AlignedEpochs& epochs);
    ~EpochReader();
    // Reads rows [row0, row0 + rows) of the chosen epoch into `block`. The band views point
    // into this reader's buffer for that epoch and stay valid until it reads that epoch again.
    // Throws InputError.
    void read(bool after, int row0, int rows, kernels::EpochBlock& block);

private:
    const AlignedEpochs& epochs_;
    GDALDatasetUniquePtr before_, after_;
    cv::Mat planes_before_, planes_after_;  // the role bands of a strip, one plane after another
    cv::Mat packed_before_, packed_after_;  // pixel-interleaved reads before the split
    cv::Mat scratch_;
    int alpha_before_ = 0, alpha_after_ = 0;  // an alpha band GDAL does not treat as a mask; 0 = none
};

// Resolves the epochs' tile lists (globs), opens and checks every tile, mosaics and aligns them.
// Throws InputError naming the file and what to do: missing file, glob with no match, raster
// without CRS, too few bands for the configured roles, epochs that do not overlap, bad AOI.
AlignedEpochs ingest_epochs(const Config& config, const IngestOptions& options = {});

// Throws NoValidPixelsError: no pixel has data in both epochs (inside the overlap and the AOI).
// `head` starts the message: the stage and "no valid pixels" ("run: no valid pixels").
[[noreturn]] void throw_no_valid_pixels(const Config& config, const std::string& head);

// Expands a list of paths/globs into sorted file paths. `key` names the setting in messages.
std::vector<std::string> expand_tiles(const std::vector<std::string>& patterns, const std::string& key);

// The ingest stage in the common shape (pipeline/stage.hpp).
class IngestStage {
public:
    static constexpr std::string_view name = "ingest";
    // What the configuration does not say (the epochs, bands, grid and AOI come from it).
    struct Options {
        IngestOptions ingest;
        static Options from(const Config&) { return {}; }
    };

    explicit IngestStage(const Config& config, Options options = {}) : config_(config), options_(options) {}

    // Both epochs' tile lists resolve to files (globs match). Throws InputError naming the key.
    void validate() const;

    // ingest_epochs(config, options).
    AlignedEpochs run() const;

private:
    const Config& config_;
    Options options_;
};


}  // namespace weipian
