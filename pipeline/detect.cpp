#include "pipeline/detect.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <limits>
#include <sstream>

#include <fstream>

#include <gdal_priv.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "kernels/detect.hpp"
#include "pipeline/clean.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/model.hpp"
#include "pipeline/scheduler.hpp"
#include "pipeline/stage.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using Clock = StageClock;

}  // namespace

static_assert(Stage<DetectStage>);

void DetectStage::validate() const {
    const DetectConfig& detect = options_.detect;
    if (detect.method != "construction" && detect.method != "learned")
        throw ConfigError("config: key 'detect.method': '" + detect.method + "' is not a known detector");
    if (detect.method == "learned") {
        if (detect.model.empty())
            throw ConfigError("config: key 'detect.model' is required with detect.method: learned; give the model file `weipian train` wrote");
        if (detect.threshold_given && !(detect.threshold && *detect.threshold > 0 && *detect.threshold < 1))
            throw ConfigError("config: key 'detect.threshold' must be a probability in (0, 1) with detect.method: learned");
        if (!model_) model_ = std::make_shared<const LearnedModel>(load_model(detect.model));
    }
    // The kernel path WEIPIAN_SIMD asks for, resolved before any work: the kernels throw
    // std::invalid_argument for a value they do not know or a path this CPU lacks, which is the
    // user's setting, not a bug.
    try {
        kernels::resolve_kernel_path(std::getenv("WEIPIAN_SIMD"));
    } catch (const std::invalid_argument& e) {
        throw ConfigError(std::string("detect: the environment variable ") + e.what());
    }
}

std::shared_ptr<const LearnedModel> DetectStage::model() const { return model_; }

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
    SceneStream stream(epochs, config, model_);
    StreamStats stats;
    out.threshold = stream.threshold(stats);
    out.detector = std::make_shared<nlohmann::json>(describe_detector(config, stream.model(), out.threshold));
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

std::string file_sha256(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("detect: cannot read '" + path.string() + "' for its digest; check that it exists and is readable");
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw InternalError("detect: SHA-256 failed (OpenSSL)");
    std::vector<char> buffer(1 << 16);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        if (in.gcount() > 0 && EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(in.gcount())) != 1)
            throw InternalError("detect: SHA-256 failed (OpenSSL)");
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) throw InternalError("detect: SHA-256 failed (OpenSSL)");
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

nlohmann::json describe_detector(const Config& config, const LearnedModel* model, float threshold) {
    nlohmann::json out = {{"method", config.detect.method}};
    if (std::isfinite(threshold))
        out["threshold"] = threshold;
    else
        out["threshold"] = nullptr;
    if (model) {
        out["threshold_source"] = config.detect.threshold_given ? "config" : "model";
        out["model"] = {{"path", config.detect.model},
                        {"sha256", config.detect.model.empty() ? nlohmann::json(nullptr) : nlohmann::json(file_sha256(config.detect.model))},
                        {"feature_set", model->feature_set},
                        {"stride", model->spec.stride},
                        {"pixel_size_m", model->pixel_size_m},
                        {"training_digest", model->training.is_object() ? model->training.value("digest", "") : ""},
                        {"model_threshold", model->threshold}};
    }
    return out;
}

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
