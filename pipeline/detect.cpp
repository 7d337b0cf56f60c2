#include "pipeline/detect.hpp"

#include <chrono>
#include <limits>

#include <gdal_priv.h>

#include "pipeline/clean.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/scheduler.hpp"
#include "pipeline/stage.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using Clock = StageClock;

}  // namespace

static_assert(Stage<DetectStage>);

void DetectStage::validate() const {
    if (options_.detect.method != "construction")
        throw ConfigError("config: key 'detect.method': '" + options_.detect.method + "' is not a known detector");
}

ChangeMask DetectStage::run(const AlignedEpochs& epochs) const {
    validate();
    const Config& config = config_;
    ChangeMask out;
    out.mask.create(epochs.height(), epochs.width(), CV_8UC1);
    out.valid.create(epochs.height(), epochs.width(), CV_8UC1);
    const auto start = Clock::now();
    SceneStream stream(epochs, config);
    StreamStats stats;
    out.threshold = stream.threshold(stats);
    // Nothing is polygonized here (min_pixels beyond any component); the strips are gathered.
    stream.run(out.threshold, std::numeric_limits<std::int64_t>::max(),
               [&](const Strip& s) {
                   s.own(s.mask).copyTo(out.mask.rowRange(s.row0, s.row0 + s.rows));
                   s.own(s.valid).copyTo(out.valid.rowRange(s.row0, s.row0 + s.rows));
               },
               stats);
    out.valid_pixels = stats.valid_pixels;
    out.raw_pixels = stats.raw_pixels;
    out.components = CleanStage(CleanStage::Options::from(config)).run(out.mask, epochs.pixel_width_m() * epochs.pixel_height_m());
    out.timings = stats.stage_seconds();
    out.timings.emplace_back("wall", seconds_since(start));
    return out;
}

ChangeMask detect_change(const AlignedEpochs& epochs, const Config& config) { return DetectStage(config).run(epochs); }

void write_mask_geotiff(const fs::path& path, const cv::Mat& mask, const AlignedEpochs& epochs) {
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
    const fs::path partial = path.string() + ".partial";
    if (path.has_parent_path()) fs::create_directories(path.parent_path());
    const char* options[] = {"COMPRESS=DEFLATE", "TILED=YES", nullptr};
    {
        GDALDatasetUniquePtr ds(driver->Create(partial.c_str(), mask.cols, mask.rows, 1, GDT_Byte,
                                               const_cast<char**>(options)));
        if (!ds) throw InputError("detect: cannot create '" + path.string() + "'; check that the folder is writable");
        const bool georeferenced = epochs.srs() != nullptr || epochs.geotransform()[1] != 1.0;
        if (epochs.srs()) ds->SetSpatialRef(epochs.srs());
        if (georeferenced) {
            GeoTransform gt = epochs.geotransform();
            ds->SetGeoTransform(gt.data());
        }
        GDALRasterBand* band = ds->GetRasterBand(1);
        band->SetDescription("new construction (1 = yes)");
        if (band->RasterIO(GF_Write, 0, 0, mask.cols, mask.rows, const_cast<std::uint8_t*>(mask.ptr<std::uint8_t>()),
                           mask.cols, mask.rows, GDT_Byte, 0, static_cast<GSpacing>(mask.step)) != CE_None)
            throw InputError("detect: cannot write '" + path.string() + "'");
    }
    fs::rename(partial, path);
}


}  // namespace weipian
