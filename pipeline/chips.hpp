#pragma once
// Image chips (issue 10): the pictures a field checker looks at first. For each parcel a before
// (QSX) and an after (HSX) chip: JPEG, true colour (R,G,B) or false colour (NIR,R,G), stretched
// with the epoch's statistics (2–98 % per band from a decimated read of the whole epoch, computed
// once, so neighbouring chips compare), a margin around the parcel, its outline drawn, north up,
// a scale bar and the parcel id. Read with GDAL (window reads: never the whole epoch), encoded
// with OpenCV's imgcodecs (write_jpeg says why not GDAL's JPEG driver).
//
// File names (fixed: the HTML page, the KMZ, the ledger and the tests rely on them), relative to
// the output folder:
//   chips/<parcel_id>_qsx.jpg, chips/<parcel_id>_hsx.jpg   one pair per parcel
//   overview.jpg                                           the scene with every parcel outlined
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <ogr_geometry.h>
#include <opencv2/core.hpp>

#include "pipeline/core/config.hpp"
#include "pipeline/core/parcel.hpp"

namespace weipian {

class AlignedEpochs;

struct ChipStyle {
    int size_px = 320;          // the chip's longer side
    double margin_m = 20;       // ground margin around the outline's envelope
    bool false_colour = false;  // NIR,R,G instead of R,G,B
    int jpeg_quality = 85;
    static ChipStyle from(const Config& config);  // output.chip_*
};

// The chip names of one parcel, relative to the output folder ("chips/7_qsx.jpg").
struct ChipFiles {
    std::string before;
    std::string after;
};
ChipFiles chip_files_for(std::int64_t parcel_id);

// The linear stretch of an epoch's chip bands: value lo[i] → 0 and hi[i] → 255 for the chip's
// red, green and blue channel i (true colour: bands red, green, blue; false colour: nir, red,
// green), from the 2nd and 98th percentiles of the valid pixels (mask ≠ 0) of a decimated read.
struct ChipStretch {
    std::array<int, 3> bands{};  // 1-based source bands shown as R, G, B
    std::array<double, 3> lo{}, hi{};
    bool operator==(const ChipStretch&) const = default;
};

// Where a chip lies on the ground: a north-up ground square (width × height CRS units: equal
// in a projected CRS, the same metres in a geographic one), its top-left corner at (minx, maxy),
// drawn as size_px × size_px pixels.
struct ChipFrame {
    double minx = 0, maxy = 0, width = 0, height = 0;
    int size_px = 0;
    double metres_per_px = 0;  // ground metres per chip pixel (for the scale bar)
    // Chip pixel coordinates (column, row; (0, 0) = top-left corner of the top-left pixel) of a
    // point in the raster's CRS.
    cv::Point2d to_px(double x, double y) const { return {(x - minx) / width * size_px, (maxy - y) / height * size_px}; }
};

// Chip colours (BGR): the outline on the after (HSX) chip and on the before (QSX) chip, and
// the grey of areas outside the raster or without data.
inline const cv::Scalar kChipAfterColour(0, 0, 255);     // red
inline const cv::Scalar kChipBeforeColour(0, 255, 255);  // yellow
inline constexpr int kChipOutsideGrey = 128;

// A raster an epoch's chips are cut from: a file or VRT (any CRS), its band roles and its
// stretch. Not thread-safe; one per thread (clone() gives another handle on the same raster
// with the same stretch, cheaply).
class ChipSource {
public:
    // Opens `rasters` (a file, a /vsimem/ VRT, or several tiles mosaicked with gdalbuildvrt into
    // a VRT kept in /vsimem/ while any clone lives) and computes the stretch from a decimated
    // read (≤ 512 px on the longer side, from overviews when present; rasters above 2048 px
    // without overviews: 8 × 8 windows of 128 px spread over it). Throws InputError naming the
    // file (missing, unreadable, too few bands for the roles, no georeferencing), ConfigError
    // when false colour is asked for without bands.nir.
    ChipSource(const std::vector<std::string>& rasters, const BandRoles& roles, const ChipStyle& style);
    // As above with a given stretch (no statistics read): chips of several sources compare.
    ChipSource(const std::vector<std::string>& rasters, const BandRoles& roles, const ChipStyle& style,
               const ChipStretch& stretch);
    ~ChipSource();
    ChipSource(ChipSource&&) noexcept;
    ChipSource& operator=(ChipSource&&) noexcept;

    // Another GDAL handle on the same raster, with the same stretch and style (for another thread).
    ChipSource clone() const;

    // The chip around `outline` (in the raster's CRS) as an 8-bit BGR image, outline drawn in
    // `colour` (BGR), with north arrow, scale bar and the text `label` (ASCII, e.g. the parcel id
    // and the date). Areas outside the raster are grey. Only the chip's window is read: when
    // enlarging, the window's pixels, then bilinear (OpenCV); when reducing, GDAL's average
    // (overviews used when present). Throws InputError on a read failure, InternalError for an
    // empty outline.
    cv::Mat render(const OGRGeometry& outline, const std::string& label, const cv::Scalar& colour) const;
    // The ground square render() shows for `outline`: its envelope plus style.margin_m on each
    // side, widened to a square about the envelope's centre.
    ChipFrame frame(const OGRGeometry& outline) const;
    // Raster pixels [x0, x1) × [y0, y1) (fractional, inside the raster) stretched into a
    // width × height BGR image (GDAL average when reducing, bilinear when enlarging; overviews
    // used when present); pixels without data grey. Throws InputError.
    cv::Mat read(double x0, double y0, double x1, double y1, int width, int height) const;

    const OGRSpatialReference* srs() const;
    const ChipStretch& stretch() const;
    const ChipStyle& style() const;
    int width() const;   // raster size, pixels
    int height() const;

private:
    ChipSource();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// How write_jpeg puts the file in place.
enum class JpegTarget {
    kAtomicFile,     // a temporary beside the final path, renamed when whole (AtomicFile)
    kStagingFolder,  // straight at the path: the path is inside a staging folder that appears
                     // whole or not at all (OutputFolder), so a chip needs no rename of its own
};

// Writes an 8-bit BGR image (CV_8UC3) as a baseline JFIF JPEG (YCbCr 4:2:0, the standard
// Huffman tables of ITU-T T.81 Annex K.3, QUALITY=quality) with OpenCV's imgcodecs, i.e.
// libjpeg-turbo. Not GDAL's JPEG driver: that one always computes optimised Huffman tables
// (jpgdataset.cpp sets optimize_coding unless ARITHMETIC, which browsers cannot decode), a
// second pass that makes a 320² chip 2.7–4.7× slower to encode (0.65 vs 0.24 ms for the
// sample's chip, bench/chips_bench.cpp BM_EncodeJpeg; 1.10 vs 0.23 ms for a Nanjing chip) for a
// file about 6 % smaller (400 Nanjing chips). The files read back with any
// reader, GDAL's included (read_chip). Throws InputError naming the path (unwritable folder,
// full disk), InternalError for an empty or non-BGR image.
void write_jpeg(const std::filesystem::path& path, const cv::Mat& bgr, int quality = 85,
                JpegTarget target = JpegTarget::kAtomicFile);

// Reads a JPEG (any 3-band Byte raster) written by write_jpeg back as BGR. Throws InputError.
cv::Mat read_chip(const std::filesystem::path& path);

// The main job's chips: chips/<id>_qsx.jpg and chips/<id>_hsx.jpg for every parcel (geometry
// in the epochs' CRS), in parallel (TBB, one ChipSource per thread), into `dir` (the staging
// folder). Returns the files, parallel to `parcels`.
std::vector<ChipFiles> write_parcel_chips(const std::filesystem::path& dir, const AlignedEpochs& epochs,
                                          const std::vector<Parcel>& parcels, const ChipStyle& style,
                                          const std::string& before_date, const std::string& after_date);

// The overview: the after epoch decimated to at most `max_px` on its longer side with every
// parcel outlined and numbered, written to dir/overview.jpg. Returns the pixel box of each
// parcel in the image (x, y, width, height), parallel to `parcels`, for the HTML page's image map.
struct OverviewImage {
    std::string file = "overview.jpg";
    int width = 0, height = 0;
    std::vector<cv::Rect> boxes;
};
OverviewImage write_overview(const std::filesystem::path& dir, const AlignedEpochs& epochs,
                             const std::vector<Parcel>& parcels, const ChipStyle& style, int max_px = 1600);

// The chip sheet for people and the note: the before/after pairs of the first `max_parcels`
// parcels (at most 24) tiled four pairs a row, each chip scaled to `cell_px`, with the parcel
// id under each pair, read back from dir/chips/ (chip_files_for) and written to `path` (e.g.
// dir/chips/sheet.jpg) with write_jpeg. Throws InputError when a chip is missing or unreadable.
void write_chip_sheet(const std::filesystem::path& path, const std::filesystem::path& dir,
                      const std::vector<Parcel>& parcels, int max_parcels = 24, int cell_px = 160);

}  // namespace weipian
