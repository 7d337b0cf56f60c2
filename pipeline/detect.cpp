#include "pipeline/detect.hpp"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <limits>
#include <sstream>

#include <gdal_priv.h>

#include "kernels/detect.hpp"
#include "pipeline/clean.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/ingest.hpp"
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
    // The kernel path WEIPIAN_SIMD asks for, resolved before any work: the kernels throw
    // std::invalid_argument for a value they do not know or a path this CPU lacks, which is the
    // user's setting, not a bug.
    try {
        kernels::resolve_kernel_path(std::getenv("WEIPIAN_SIMD"));
    } catch (const std::invalid_argument& e) {
        throw ConfigError(std::string("detect: the environment variable ") + e.what());
    }
}

ChangeMask DetectStage::run(const AlignedEpochs& epochs) const {
    validate();
    const Config& config = config_;
    const double scene_pixels = static_cast<double>(epochs.width()) * epochs.height();
    if (scene_pixels > kMaxWholeScenePixels) {
        std::ostringstream msg;
        msg.precision(4);
        msg << "detect: the scene is " << epochs.width() << " × " << epochs.height() << " px (" << scene_pixels / 1e9
            << " Gpx) and `weipian detect`/`evaluate` hold its whole mask in memory (2 bytes a pixel), at most "
            << kMaxWholeScenePixels / 1e9 << " Gpx; use `weipian run`, which streams, or a larger grid.pixel_size";
        throw InputError(msg.str());
    }
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
    if (stats.valid_pixels == 0) throw_no_valid_pixels(config, "detect: no valid pixels");
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
    AtomicFile file(path, "detect");
    const char* options[] = {"COMPRESS=DEFLATE", "TILED=YES", nullptr};
    {
        GDALDatasetUniquePtr ds(driver->Create(file.path().c_str(), mask.cols, mask.rows, 1, GDT_Byte,
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
            throw InputError("detect: cannot write '" + path.string() + "'; check free space on its disk");
        CPLErrorReset();
        ds.reset();  // closing writes the last tiles
        if (CPLGetLastErrorType() >= CE_Failure)
            throw InputError("detect: cannot finish '" + path.string() + "'; check free space on its disk");
    }
    file.commit();
}


}  // namespace weipian
