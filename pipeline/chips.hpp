#pragma once
// Image chips (issue 10): the pictures a field checker looks at first. For each parcel a before
// (QSX) and an after (HSX) chip: JPEG, true colour (R,G,B) or false colour (NIR,R,G), stretched
// with the epoch's statistics (2–98 % per band from a decimated read of the whole epoch, computed
// once, so neighbouring chips compare), a margin around the parcel, its outline drawn, north up,
// a scale bar and the parcel id. Written with GDAL's JPEG driver. Only the chip's window is read
// (never the whole epoch).
//
// File names (fixed: the HTML page, the KMZ, the ledger and the tests rely on them), relative to
// the output folder:
//   chips/<parcel_id>_qsx.jpg, chips/<parcel_id>_hsx.jpg   one pair per parcel
//   overview.jpg                                           the scene with every parcel outlined
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

// A raster an epoch's chips are cut from: a file or VRT (any CRS), its band roles and its
// stretch. Not thread-safe; one per thread.
class ChipSource {
public:
    // Opens `raster` (a file, a /vsimem/ VRT, or several tiles mosaicked into a VRT) and computes
    // the stretch. Throws InputError naming the file.
    ChipSource(const std::vector<std::string>& rasters, const BandRoles& roles, const ChipStyle& style);
    ~ChipSource();
    ChipSource(ChipSource&&) noexcept;
    // The chip around `outline` (in the raster's CRS) as an 8-bit BGR image, outline drawn in
    // `colour` (BGR), with north arrow, scale bar and the text `label` (ASCII, e.g. the parcel id
    // and the date). Areas outside the raster are grey.
    cv::Mat render(const OGRGeometry& outline, const std::string& label, const cv::Scalar& colour) const;
    const OGRSpatialReference* srs() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Writes an 8-bit BGR image as a JPEG through GDAL (MEM dataset → JPEG driver), atomically.
void write_jpeg(const std::filesystem::path& path, const cv::Mat& bgr, int quality = 85);

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

}  // namespace weipian
