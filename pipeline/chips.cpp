#include "pipeline/chips.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <utility>

#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <gdal_utils.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include "kernels/enlarge.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/ingest.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

// The stretch's sample: one read decimated to at most kStatsPx on the longer side when the
// raster has overviews or is at most kDirectStatsMax px a side (the read then touches every
// block once: ≤ 2048² px); else kStatsGrid × kStatsGrid windows of kStatsWindow px at block
// boundaries (≈ 1 Mpx a band, a few MB of blocks however large the epoch).
constexpr int kStatsPx = 512;
constexpr int kDirectStatsMax = 2048;
constexpr int kStatsGrid = 8;
constexpr int kStatsWindow = 128;
constexpr double kLowPercentile = 0.02, kHighPercentile = 0.98;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// A tile path as a VRT in /vsimem/ should name it: absolute.
std::string absolute_source(const std::string& file) {
    if (file.rfind("/vsi", 0) == 0 || fs::path(file).is_absolute()) return file;
    std::error_code ec;
    const fs::path p = fs::absolute(file, ec);
    return ec ? file : p.string();
}

// The raster a source and its clones read: a file, or a /vsimem/ mosaic removed with the last clone.
struct SharedRaster {
    std::string name;       // what GDAL opens
    std::string described;  // for messages
    bool owns_vsimem = false;
    SharedRaster() = default;
    SharedRaster(const SharedRaster&) = delete;
    SharedRaster& operator=(const SharedRaster&) = delete;
    ~SharedRaster() {
        if (owns_vsimem) VSIUnlink(name.c_str());
    }
};

std::shared_ptr<const SharedRaster> shared_raster(const std::vector<std::string>& rasters) {
    if (rasters.empty()) throw InternalError("chips: a chip source needs at least one raster");
    ensure_gdal_registered();
    auto shared = std::make_shared<SharedRaster>();
    if (rasters.size() == 1) {
        shared->name = rasters.front();
        shared->described = rasters.front();
        return shared;
    }
    static std::atomic<int> counter{0};
    shared->name = "/vsimem/weipian/chips-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".vrt";
    shared->described = rasters.front() + " (+" + std::to_string(rasters.size() - 1) + " more tiles)";
    std::vector<std::string> absolute;
    for (const auto& r : rasters) {
        if (r.rfind("/vsi", 0) != 0 && !fs::exists(r))
            throw InputError("chips: raster " + quoted(r) + " does not exist; check the path of the epoch's tiles");
        absolute.push_back(absolute_source(r));
    }
    std::vector<const char*> names;
    for (const auto& a : absolute) names.push_back(a.c_str());
    char* argv[] = {const_cast<char*>("-resolution"), const_cast<char*>("highest"), nullptr};
    GDALBuildVRTOptions* opts = GDALBuildVRTOptionsNew(argv, nullptr);
    CPLErrorReset();
    int usage_error = 0;
    // gdalbuildvrt leaves out a tile it cannot open or match with a mere warning: a chip with a
    // tile missing would be a wrong picture, so the warnings are collected and such a tile refused.
    std::vector<std::string> warnings;
    CPLPushErrorHandlerEx(
        [](CPLErr level, CPLErrorNum, const char* msg) {
            if (level >= CE_Warning && msg) static_cast<std::vector<std::string>*>(CPLGetErrorHandlerUserData())->emplace_back(msg);
        },
        &warnings);
    GDALDatasetH vrt = GDALBuildVRT(shared->name.c_str(), static_cast<int>(names.size()), nullptr, names.data(), opts, &usage_error);
    CPLPopErrorHandler();
    GDALBuildVRTOptionsFree(opts);
    if (!vrt)
        throw InputError("chips: cannot mosaic the tiles " + shared->described + ": " + last_gdal_error() +
                         "; give tiles GDAL reads, with the same bands and CRS");
    GDALClose(vrt);
    shared->owns_vsimem = true;
    for (const auto& w : warnings)
        if (w.find("Skipping") != std::string::npos)
            throw InputError("chips: a tile cannot be mosaicked with the others (" + w +
                             "); give the epoch's tiles GDAL reads, with the same bands, data type and CRS");
    return shared;
}

// CRS units per ground metre along x and y at latitude `lat_deg` (geographic CRS) or for a
// projected CRS with `unit_m` metres per unit.
void units_per_metre(bool geographic, double unit_m, double lat_deg, double& kx, double& ky) {
    if (geographic) {
        kx = 1.0 / (111320.0 * std::max(0.01, std::cos(lat_deg * M_PI / 180.0)));
        ky = 1.0 / 110574.0;
    } else {
        kx = ky = 1.0 / unit_m;
    }
}

// A round length (1, 2, 5 × 10^k metres) nearest to `target` metres in ratio.
double round_length(double target) {
    if (!(target > 0)) return 1;
    const double decade = std::pow(10.0, std::floor(std::log10(target)));
    double best = decade, best_ratio = 1e300;
    for (double m : {1.0, 2.0, 5.0, 10.0}) {
        const double ratio = std::abs(std::log(m * decade / target));
        if (ratio < best_ratio) best_ratio = ratio, best = m * decade;
    }
    return best;
}

std::string length_text(double metres) {
    char text[32];
    if (metres >= 1000)
        std::snprintf(text, sizeof text, "%g km", metres / 1000);
    else
        std::snprintf(text, sizeof text, "%g m", metres);
    return text;
}

// Calls `draw` with each ring or line of `g` (closed = true for rings), in CRS coordinates.
template <typename Draw>
void for_each_line(const OGRGeometry& g, Draw&& draw) {
    switch (wkbFlatten(g.getGeometryType())) {
        case wkbPolygon:
            for (const OGRLinearRing* ring : *g.toPolygon()) draw(*ring, true);
            break;
        case wkbLineString:
        case wkbLinearRing:
            draw(*g.toLineString(), false);
            break;
        case wkbMultiPolygon:
        case wkbMultiLineString:
        case wkbGeometryCollection:
        case wkbMultiPoint:
            for (const OGRGeometry* part : *g.toGeometryCollection()) for_each_line(*part, draw);
            break;
        default:
            if (g.hasCurveGeometry()) {
                std::unique_ptr<OGRGeometry> linear(g.getLinearGeometry());
                if (linear) for_each_line(*linear, draw);
            }
            break;
    }
}

// Text with a dark outline so it reads on any image. The outline is drawn without
// anti-aliasing: OpenCV's anti-aliased strokes wider than 1 px cost 10× a 1 px one (43 vs 4 µs
// for "100 m"), and the white anti-aliased text on top hides the difference.
void outlined_text(cv::Mat& img, const std::string& text, cv::Point at, double scale, int thickness) {
    cv::putText(img, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), thickness + 2, cv::LINE_8);
    cv::putText(img, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255), thickness, cv::LINE_AA);
}

}  // namespace

// ---- ChipStyle, chip names -------------------------------------------------------------------

ChipStyle ChipStyle::from(const Config& config) {
    ChipStyle style;
    style.size_px = config.package.chip_size_px;
    style.margin_m = config.package.chip_margin_m;
    style.false_colour = config.package.chip_colour == "false";
    return style;
}

ChipFiles chip_files_for(std::int64_t parcel_id) {
    const std::string id = std::to_string(parcel_id);
    return {"chips/" + id + "_qsx.jpg", "chips/" + id + "_hsx.jpg"};
}

// ---- ChipSource ------------------------------------------------------------------------------

struct ChipSource::Impl {
    std::shared_ptr<const SharedRaster> raster;
    GDALDatasetUniquePtr ds;
    ChipStyle style;
    ChipStretch stretch;
    GeoTransform gt{};
    std::shared_ptr<const OGRSpatialReference> srs;  // traditional GIS order; null = none
    bool geographic = false;
    double unit_m = 1;            // metres per CRS unit (projected)
    GDALRasterBand* mask = nullptr;  // validity of the first chip band; null = all valid
    int width = 0, height = 0;

    // Opens raster->name and checks it. Throws InputError.
    void open(const BandRoles* roles) {
        ensure_gdal_registered();
        CPLErrorReset();
        ds.reset(GDALDataset::Open(raster->name.c_str(), GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR));
        if (!ds) {
            if (raster->name.rfind("/vsi", 0) != 0 && !fs::exists(raster->name))
                throw InputError("chips: raster " + quoted(raster->name) + " does not exist; check the path of the epoch's tiles");
            throw InputError("chips: GDAL cannot read " + quoted(raster->described) + " as a raster: " + last_gdal_error());
        }
        width = ds->GetRasterXSize();
        height = ds->GetRasterYSize();
        if (ds->GetGeoTransform(gt.data()) != CE_None)
            throw InputError("chips: " + quoted(raster->described) +
                             " has no georeferencing, so no chip can be placed on it; give a georeferenced raster");
        if (gt[2] != 0 || gt[4] != 0 || !(gt[1] > 0) || !(gt[5] < 0))
            throw InputError("chips: " + quoted(raster->described) +
                             " is not north-up (rotated or flipped geotransform); warp it north-up first (gdalwarp)");
        if (roles) {
            const BandRoles& r = *roles;
            if (style.false_colour && r.nir <= 0)
                throw ConfigError("chips: output.chip_colour: false shows near infrared, but bands.nir is 0; "
                                  "set bands.nir to the NIR band or output.chip_colour: true");
            if (!style.false_colour && r.blue <= 0)
                throw ConfigError("chips: output.chip_colour: true shows red, green and blue, but bands.blue is 0; set bands.blue or "
                                  "output.chip_colour: false (NIR, red, green)");
            stretch.bands = style.false_colour ? std::array<int, 3>{r.nir, r.red, r.green} : std::array<int, 3>{r.red, r.green, r.blue};
        }
        for (int b : stretch.bands)
            if (b < 1 || b > ds->GetRasterCount())
                throw InputError("chips: " + quoted(raster->described) + " has " + std::to_string(ds->GetRasterCount()) +
                                 " band(s) but the chips need band " + std::to_string(b) +
                                 "; set bands.red/green/blue/nir to this sensor's band order");
        GDALRasterBand* first = ds->GetRasterBand(stretch.bands[0]);
        mask = (first->GetMaskFlags() & GMF_ALL_VALID) ? nullptr : first->GetMaskBand();
        if (!srs) {
            if (const OGRSpatialReference* s = ds->GetSpatialRef(); s && !s->IsEmpty()) {
                srs = clone_traditional(*s);
                geographic = srs->IsGeographic();
                unit_m = geographic ? 1 : srs->GetLinearUnits();
                if (!(unit_m > 0)) unit_m = 1;
            }
        }
    }

    // Reads pixels [x0, x1) × [y0, y1) (fractional) of the chip bands into a w × h buffer,
    // stretched to 8-bit BGR; pixels the mask marks invalid are set to `grey`. Throws InputError.
    void read(double x0, double y0, double x1, double y1, int w, int h, GDALRIOResampleAlg alg, cv::Mat& bgr) const {
        bgr.create(h, w, CV_8UC3);
        GDALRasterIOExtraArg extra;
        INIT_RASTERIO_EXTRA_ARG(extra);
        extra.eResampleAlg = alg;
        extra.bFloatingPointWindowValidity = TRUE;
        extra.dfXOff = x0;
        extra.dfYOff = y0;
        extra.dfXSize = x1 - x0;
        extra.dfYSize = y1 - y0;
        const int nx0 = std::max(0, static_cast<int>(std::floor(x0))), ny0 = std::max(0, static_cast<int>(std::floor(y0)));
        const int nx1 = std::min(width, static_cast<int>(std::ceil(x1))), ny1 = std::min(height, static_cast<int>(std::ceil(y1)));
        thread_local std::vector<float> values;
        values.resize(static_cast<std::size_t>(w) * h * 3);
        int bands[3] = {stretch.bands[0], stretch.bands[1], stretch.bands[2]};
        CPLErrorReset();
        if (ds->RasterIO(GF_Read, nx0, ny0, nx1 - nx0, ny1 - ny0, values.data(), w, h, GDT_Float32, 3, bands, 3 * sizeof(float),
                         static_cast<GSpacing>(3 * sizeof(float)) * w, sizeof(float), &extra) != CE_None)
            throw InputError("chips: cannot read " + quoted(raster->described) + ": " + last_gdal_error() +
                             "; check that the file is complete and readable");
        thread_local std::vector<std::uint8_t> valid;
        if (mask) {
            valid.resize(static_cast<std::size_t>(w) * h);
            GDALRasterIOExtraArg nearest = extra;
            nearest.eResampleAlg = GRIORA_NearestNeighbour;
            if (mask->RasterIO(GF_Read, nx0, ny0, nx1 - nx0, ny1 - ny0, valid.data(), w, h, GDT_Byte, 0, 0, &nearest) != CE_None)
                throw InputError("chips: cannot read the validity mask of " + quoted(raster->described) + ": " + last_gdal_error() +
                                 "; check that the file is complete and readable");
        }
        float scale[3], offset[3];
        for (int c = 0; c < 3; ++c) {
            scale[c] = static_cast<float>(255.0 / (stretch.hi[c] - stretch.lo[c]));
            offset[c] = static_cast<float>(-stretch.lo[c] * 255.0 / (stretch.hi[c] - stretch.lo[c]));
        }
        for (int y = 0; y < h; ++y) {
            auto* row = bgr.ptr<cv::Vec3b>(y);
            const float* v = values.data() + static_cast<std::size_t>(y) * w * 3;
            const std::uint8_t* m = mask ? valid.data() + static_cast<std::size_t>(y) * w : nullptr;
            for (int x = 0; x < w; ++x, v += 3) {
                if (m && !m[x]) {
                    row[x] = cv::Vec3b(kChipOutsideGrey, kChipOutsideGrey, kChipOutsideGrey);
                    continue;
                }
                // R, G, B values into B, G, R bytes.
                for (int c = 0; c < 3; ++c) row[x][2 - c] = cv::saturate_cast<std::uint8_t>(v[c] * scale[c] + offset[c]);
            }
        }
    }

    // The 2–98 % stretch of the chip bands from a sample of the valid pixels.
    void compute_stretch() {
        std::vector<float> samples[3];
        auto take = [&](int x0, int y0, int xs, int ys, int w, int h) {
            std::vector<float> values(static_cast<std::size_t>(w) * h * 3);
            int bands[3] = {stretch.bands[0], stretch.bands[1], stretch.bands[2]};
            CPLErrorReset();
            if (ds->RasterIO(GF_Read, x0, y0, xs, ys, values.data(), w, h, GDT_Float32, 3, bands, 3 * sizeof(float),
                             static_cast<GSpacing>(3 * sizeof(float)) * w, sizeof(float), nullptr) != CE_None)
                throw InputError("chips: cannot read " + quoted(raster->described) + " for the stretch: " + last_gdal_error() +
                                 "; check that the file is complete and readable");
            std::vector<std::uint8_t> valid;
            if (mask) {
                valid.resize(static_cast<std::size_t>(w) * h);
                if (mask->RasterIO(GF_Read, x0, y0, xs, ys, valid.data(), w, h, GDT_Byte, 0, 0, nullptr) != CE_None)
                    throw InputError("chips: cannot read the validity mask of " + quoted(raster->described) + ": " +
                                     last_gdal_error() + "; check that the file is complete and readable");
            }
            for (std::size_t i = 0; i < static_cast<std::size_t>(w) * h; ++i) {
                if (mask && !valid[i]) continue;
                const float* v = values.data() + 3 * i;
                if (!std::isfinite(v[0]) || !std::isfinite(v[1]) || !std::isfinite(v[2])) continue;
                for (int c = 0; c < 3; ++c) samples[c].push_back(v[c]);
            }
        };
        const int long_side = std::max(width, height);
        const bool overviews = ds->GetRasterBand(stretch.bands[0])->GetOverviewCount() > 0;
        if (overviews || long_side <= kDirectStatsMax) {
            const double f = std::min(1.0, static_cast<double>(kStatsPx) / long_side);
            take(0, 0, width, height, std::max(1, static_cast<int>(std::lround(width * f))),
                 std::max(1, static_cast<int>(std::lround(height * f))));
        } else {
            int bx = 0, by = 0;
            ds->GetRasterBand(stretch.bands[0])->GetBlockSize(&bx, &by);
            bx = std::max(1, bx);
            by = std::max(1, by);
            const int ws = std::min(kStatsWindow, width), hs = std::min(kStatsWindow, height);
            for (int j = 0; j < kStatsGrid; ++j)
                for (int i = 0; i < kStatsGrid; ++i) {
                    int x = static_cast<int>((width - ws) * (i + 0.5) / kStatsGrid);
                    int y = static_cast<int>((height - hs) * (j + 0.5) / kStatsGrid);
                    x = std::min(width - ws, x / bx * bx);
                    y = std::min(height - hs, y / by * by);
                    take(x, y, ws, hs, ws, hs);
                }
        }
        for (int c = 0; c < 3; ++c) {
            auto& s = samples[c];
            if (s.empty()) {
                stretch.lo[c] = 0;
                stretch.hi[c] = 255;
                continue;
            }
            auto at = [&](double q) {
                const std::size_t k = std::min(s.size() - 1, static_cast<std::size_t>(q * static_cast<double>(s.size() - 1) + 0.5));
                std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k), s.end());
                return static_cast<double>(s[k]);
            };
            stretch.lo[c] = at(kLowPercentile);
            stretch.hi[c] = at(kHighPercentile);
            if (!(stretch.hi[c] > stretch.lo[c])) stretch.hi[c] = stretch.lo[c] + 1;
        }
        if (samples[0].empty())
            spdlog::warn("chips: {} has no valid pixel in its sample; its chips are stretched over 0–255", raster->described);
    }
};

ChipSource::ChipSource() : impl_(std::make_unique<Impl>()) {}

ChipSource::ChipSource(const std::vector<std::string>& rasters, const BandRoles& roles, const ChipStyle& style) : ChipSource() {
    impl_->style = style;
    impl_->raster = shared_raster(rasters);
    impl_->open(&roles);
    impl_->compute_stretch();
    spdlog::debug("chips: {} stretch bands {},{},{}: [{}, {}] [{}, {}] [{}, {}]", impl_->raster->described, impl_->stretch.bands[0],
                  impl_->stretch.bands[1], impl_->stretch.bands[2], impl_->stretch.lo[0], impl_->stretch.hi[0], impl_->stretch.lo[1],
                  impl_->stretch.hi[1], impl_->stretch.lo[2], impl_->stretch.hi[2]);
}

ChipSource::ChipSource(const std::vector<std::string>& rasters, const BandRoles& roles, const ChipStyle& style,
                       const ChipStretch& stretch)
    : ChipSource() {
    impl_->style = style;
    impl_->raster = shared_raster(rasters);
    impl_->open(&roles);
    const auto bands = impl_->stretch.bands;
    impl_->stretch = stretch;
    impl_->stretch.bands = bands;
}

ChipSource::~ChipSource() = default;
ChipSource::ChipSource(ChipSource&&) noexcept = default;
ChipSource& ChipSource::operator=(ChipSource&&) noexcept = default;

ChipSource ChipSource::clone() const {
    ChipSource copy;
    copy.impl_->raster = impl_->raster;
    copy.impl_->style = impl_->style;
    copy.impl_->stretch = impl_->stretch;
    copy.impl_->srs = impl_->srs;
    copy.impl_->geographic = impl_->geographic;
    copy.impl_->unit_m = impl_->unit_m;
    copy.impl_->open(nullptr);
    return copy;
}

const OGRSpatialReference* ChipSource::srs() const { return impl_->srs.get(); }
const ChipStretch& ChipSource::stretch() const { return impl_->stretch; }
const ChipStyle& ChipSource::style() const { return impl_->style; }
int ChipSource::width() const { return impl_->width; }
int ChipSource::height() const { return impl_->height; }

ChipFrame ChipSource::frame(const OGRGeometry& outline) const {
    if (outline.IsEmpty()) throw InternalError("chips: a parcel outline is empty; no chip can be placed");
    OGREnvelope e;
    outline.getEnvelope(&e);
    const double cx = 0.5 * (e.MinX + e.MaxX), cy = 0.5 * (e.MinY + e.MaxY);
    double kx = 1, ky = 1;
    units_per_metre(impl_->geographic, impl_->unit_m, cy, kx, ky);
    const double margin = std::max(0.0, impl_->style.margin_m);
    double side_m = std::max((e.MaxX - e.MinX) / kx, (e.MaxY - e.MinY) / ky) + 2 * margin;
    const double pixel_m = impl_->gt[1] / kx;
    side_m = std::max(side_m, 16 * pixel_m);  // a point with no margin still shows some ground
    ChipFrame f;
    f.size_px = std::max(1, impl_->style.size_px);
    f.width = side_m * kx;
    f.height = side_m * ky;
    f.minx = cx - 0.5 * f.width;
    f.maxy = cy + 0.5 * f.height;
    f.metres_per_px = side_m / f.size_px;
    return f;
}

cv::Mat ChipSource::read(double x0, double y0, double x1, double y1, int width, int height) const {
    if (!(x1 > x0 && y1 > y0) || width < 1 || height < 1 || x0 < 0 || y0 < 0 || x1 > impl_->width || y1 > impl_->height)
        throw InternalError("chips: window outside the raster " + quoted(impl_->raster->described));
    cv::Mat bgr;
    impl_->read(x0, y0, x1, y1, width, height, width >= x1 - x0 ? GRIORA_Bilinear : GRIORA_Average, bgr);
    return bgr;
}

cv::Mat ChipSource::render(const OGRGeometry& outline, const std::string& label, const cv::Scalar& colour) const {
    const ChipFrame f = frame(outline);
    const int size = f.size_px;
    cv::Mat chip(size, size, CV_8UC3, cv::Scalar::all(kChipOutsideGrey));
    const auto& gt = impl_->gt;
    // The frame in source pixels, and its part inside the raster.
    const double px0 = (f.minx - gt[0]) / gt[1], px1 = (f.minx + f.width - gt[0]) / gt[1];
    const double py0 = (f.maxy - gt[3]) / gt[5], py1 = (f.maxy - f.height - gt[3]) / gt[5];
    const double ix0 = std::max(px0, 0.0), ix1 = std::min(px1, static_cast<double>(impl_->width));
    const double iy0 = std::max(py0, 0.0), iy1 = std::min(py1, static_cast<double>(impl_->height));
    if (ix1 > ix0 && iy1 > iy0) {
        const double sx = size / (px1 - px0), sy = size / (py1 - py0);
        const int cx0 = std::clamp(static_cast<int>(std::lround((ix0 - px0) * sx)), 0, size);
        const int cx1 = std::clamp(static_cast<int>(std::lround((ix1 - px0) * sx)), 0, size);
        const int cy0 = std::clamp(static_cast<int>(std::lround((iy0 - py0) * sy)), 0, size);
        const int cy1 = std::clamp(static_cast<int>(std::lround((iy1 - py0) * sy)), 0, size);
        if (cx1 > cx0 && cy1 > cy0) {
            // The window exactly as the chip's pixels [cx0, cx1) × [cy0, cy1) cover it.
            const double wx0 = px0 + cx0 / sx, wx1 = px0 + cx1 / sx, wy0 = py0 + cy0 / sy, wy1 = py0 + cy1 / sy;
            cv::Mat target = chip(cv::Rect(cx0, cy0, cx1 - cx0, cy1 - cy0));
            if (sx >= 1 && sy >= 1) {
                // Enlarging (the usual chip): the window's own pixels, stretched, then bilinear
                // (kernels::enlarge_bilinear), pixel centres on pixel centres. GDAL's resampled
                // RasterIO gives the same picture at several times the cost (bench/chips_bench.cpp).
                const int nx0 = std::max(0, static_cast<int>(std::floor(wx0 - 0.5)));
                const int ny0 = std::max(0, static_cast<int>(std::floor(wy0 - 0.5)));
                const int nx1 = std::min(impl_->width, static_cast<int>(std::ceil(wx1 + 0.5)));
                const int ny1 = std::min(impl_->height, static_cast<int>(std::ceil(wy1 + 0.5)));
                thread_local cv::Mat native;
                impl_->read(nx0, ny0, nx1, ny1, nx1 - nx0, ny1 - ny0, GRIORA_NearestNeighbour, native);
                // Chip pixel i (centre cx0 + i + 0.5) ↦ window column (cx0 + i + 0.5) / sx + px0 − nx0 − 0.5.
                kernels::enlarge_bilinear(native, (cx0 + 0.5) / sx + px0 - nx0 - 0.5, 1 / sx, (cy0 + 0.5) / sy + py0 - ny0 - 0.5,
                                          1 / sy, target);
            } else {
                cv::Mat part;
                impl_->read(std::max(0.0, wx0), std::max(0.0, wy0), std::min<double>(impl_->width, wx1),
                            std::min<double>(impl_->height, wy1), cx1 - cx0, cy1 - cy0, GRIORA_Average, part);
                part.copyTo(target);
            }
        }
    }

    // The outline, 2 px, sub-pixel positions (3 fractional bits).
    constexpr int kShift = 3;
    for_each_line(outline, [&](const OGRSimpleCurve& line, bool closed) {
        std::vector<cv::Point> pts;
        pts.reserve(static_cast<std::size_t>(line.getNumPoints()));
        for (int i = 0; i < line.getNumPoints(); ++i) {
            const cv::Point2d p = f.to_px(line.getX(i), line.getY(i));
            pts.emplace_back(static_cast<int>(std::lround(p.x * (1 << kShift))), static_cast<int>(std::lround(p.y * (1 << kShift))));
        }
        if (pts.size() >= 2) cv::polylines(chip, std::vector<std::vector<cv::Point>>{pts}, closed, colour, 2, cv::LINE_8, kShift);
    });

    const double u = size / 320.0;  // the decorations scale with the chip
    const double font = std::max(0.35, 0.45 * u);
    const int thick = std::max(1, static_cast<int>(std::lround(u)));
    const int pad = std::max(2, static_cast<int>(std::lround(4 * u)));

    // The label, top left, white on a dark box.
    if (!label.empty()) {
        int baseline = 0;
        const cv::Size ts = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, font, thick, &baseline);
        cv::rectangle(chip, cv::Rect(0, 0, std::min(size, ts.width + 2 * pad), std::min(size, ts.height + baseline + 2 * pad)),
                      cv::Scalar(32, 32, 32), cv::FILLED);
        cv::putText(chip, label, cv::Point(pad, pad + ts.height), cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(255, 255, 255), thick,
                    cv::LINE_AA);
    }

    // North arrow, top right: "N" above an upward triangle (the chip is north-up).
    {
        int baseline = 0;
        const cv::Size ns = cv::getTextSize("N", cv::FONT_HERSHEY_SIMPLEX, font, thick, &baseline);
        const int cx = size - pad - std::max(ns.width, static_cast<int>(12 * u)) / 2 - pad;
        const int top = pad + ns.height + pad;
        outlined_text(chip, "N", cv::Point(cx - ns.width / 2, pad + ns.height), font, thick);
        const int half = std::max(3, static_cast<int>(std::lround(6 * u))), len = std::max(8, static_cast<int>(std::lround(20 * u)));
        const std::vector<cv::Point> arrow = {{cx, top}, {cx + half, top + len}, {cx, top + len - half}, {cx - half, top + len}};
        cv::polylines(chip, std::vector<std::vector<cv::Point>>{arrow}, true, cv::Scalar(0, 0, 0), thick + 2, cv::LINE_8);
        cv::fillPoly(chip, std::vector<std::vector<cv::Point>>{arrow}, cv::Scalar(255, 255, 255), cv::LINE_AA);
    }

    // Scale bar, bottom left: a round length about a quarter of the chip's width.
    if (f.metres_per_px > 0) {
        const double metres = round_length(size / 4.0 * f.metres_per_px);
        const int bar = std::max(1, static_cast<int>(std::lround(metres / f.metres_per_px)));
        const int x0 = pad + 2, y = size - pad - 2, tick = std::max(3, static_cast<int>(std::lround(4 * u)));
        const std::vector<cv::Point> shape = {{x0, y - tick}, {x0, y}, {x0 + bar, y}, {x0 + bar, y - tick}};
        cv::polylines(chip, std::vector<std::vector<cv::Point>>{shape}, false, cv::Scalar(0, 0, 0), thick + 3, cv::LINE_8);
        cv::polylines(chip, std::vector<std::vector<cv::Point>>{shape}, false, cv::Scalar(255, 255, 255), thick + 1, cv::LINE_8);
        outlined_text(chip, length_text(metres), cv::Point(x0 + 2 * thick, y - tick - pad), font, thick);
    }
    return chip;
}

// ---- JPEG ------------------------------------------------------------------------------------

void write_jpeg(const fs::path& path, const cv::Mat& bgr, int quality, JpegTarget target) {
    if (bgr.empty() || bgr.type() != CV_8UC3)
        throw InternalError("chips: write_jpeg needs an 8-bit 3-channel (BGR) image for " + quoted(path.string()));
    thread_local std::vector<std::uint8_t> bytes;
    bool encoded = false;
    try {
        encoded = cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, std::clamp(quality, 1, 100)});
    } catch (const cv::Exception& e) {
        throw InternalError("chips: OpenCV cannot encode the JPEG " + quoted(path.string()) + ": " + e.what());
    }
    if (!encoded) throw InternalError("chips: OpenCV cannot encode the JPEG " + quoted(path.string()) + " (no JPEG codec)");
    const std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (target == JpegTarget::kAtomicFile)
        write_file_atomically(path, view, "chips");
    else
        write_file_in_staging(path, view, "chips");
}

cv::Mat read_chip(const fs::path& path) {
    ensure_gdal_registered();
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
    if (!ds || ds->GetRasterCount() != 3)
        throw InputError("chips: cannot read the chip " + quoted(path.string()) + " (" +
                         (ds ? "not 3 bands" : last_gdal_error()) + "); write the chips again");
    cv::Mat bgr(ds->GetRasterYSize(), ds->GetRasterXSize(), CV_8UC3);
    int band_map[3] = {3, 2, 1};
    if (ds->RasterIO(GF_Read, 0, 0, bgr.cols, bgr.rows, bgr.data, bgr.cols, bgr.rows, GDT_Byte, 3, band_map, 3,
                     static_cast<GSpacing>(bgr.step), 1, nullptr) != CE_None)
        throw InputError("chips: cannot read the chip " + quoted(path.string()) + " (" + last_gdal_error() + "); write the chips again");
    return bgr;
}

// ---- the main job's chips --------------------------------------------------------------------

std::vector<ChipFiles> write_parcel_chips(const fs::path& dir, const AlignedEpochs& epochs, const std::vector<Parcel>& parcels,
                                          const ChipStyle& style, const std::string& before_date, const std::string& after_date) {
    std::vector<ChipFiles> files(parcels.size());
    if (parcels.empty()) return files;
    ensure_gdal_registered();
    // One stretch per epoch, computed here once; each thread clones the two sources.
    const ChipSource before({epochs.epoch_source(false).name}, epochs.roles(), style);
    const ChipSource after({epochs.epoch_source(true).name}, epochs.roles(), style);
    std::error_code ec;
    fs::create_directories(dir / "chips", ec);  // AtomicFile names the problem when it matters
    const std::string before_tail = before_date.empty() ? " QSX" : " QSX " + before_date;
    const std::string after_tail = after_date.empty() ? " HSX" : " HSX " + after_date;
    struct Pair {
        ChipSource before, after;
    };
    // The chips are parallel already (TBB, a chip per task): OpenCV's own thread pool inside each
    // small warpAffine only spins beside them (seen as sched_yield in perf). Restored after.
    struct SerialOpenCV {
        int previous = cv::getNumThreads();
        SerialOpenCV() { cv::setNumThreads(1); }
        ~SerialOpenCV() { cv::setNumThreads(previous); }
    } serial_opencv;
    tbb::enumerable_thread_specific<std::unique_ptr<Pair>> local;
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, parcels.size(), 4), [&](const tbb::blocked_range<std::size_t>& range) {
        auto& sources = local.local();
        if (!sources) sources = std::make_unique<Pair>(Pair{before.clone(), after.clone()});
        for (std::size_t i = range.begin(); i != range.end(); ++i) {
            const Parcel& p = parcels[i];
            if (!p.geometry) throw InternalError("chips: parcel " + std::to_string(p.id) + " has no geometry");
            files[i] = chip_files_for(p.id);
            const std::string id = std::to_string(p.id);
            write_jpeg(dir / files[i].before, sources->before.render(*p.geometry, id + before_tail, kChipBeforeColour), style.jpeg_quality,
                       JpegTarget::kStagingFolder);
            write_jpeg(dir / files[i].after, sources->after.render(*p.geometry, id + after_tail, kChipAfterColour), style.jpeg_quality,
                       JpegTarget::kStagingFolder);
        }
    });
    return files;
}

OverviewImage write_overview(const fs::path& dir, const AlignedEpochs& epochs, const std::vector<Parcel>& parcels,
                             const ChipStyle& style, int max_px) {
    const auto source = epochs.epoch_source(true);
    const ChipSource after({source.name}, epochs.roles(), style);
    OverviewImage out;
    const int gw = epochs.width(), gh = epochs.height();
    const double f = std::min(1.0, static_cast<double>(std::max(16, max_px)) / std::max(gw, gh));
    out.width = std::max(1, static_cast<int>(std::lround(gw * f)));
    out.height = std::max(1, static_cast<int>(std::lround(gh * f)));
    // The grid's window of the after epoch, averaged down (GDAL uses overviews when present).
    cv::Mat image = after.read(source.xoff, source.yoff, source.xoff + gw, source.yoff + gh, out.width, out.height);
    const GeoTransform& gt = epochs.geotransform();
    const double sx = out.width / static_cast<double>(gw), sy = out.height / static_cast<double>(gh);
    auto to_px = [&](double x, double y) { return cv::Point2d((x - gt[0]) / gt[1] * sx, (y - gt[3]) / gt[5] * sy); };
    const double font = std::max(0.35, out.width / 3200.0);
    const int thick = out.width >= 1200 ? 2 : 1;
    out.boxes.reserve(parcels.size());
    for (const auto& p : parcels) {
        if (!p.geometry || p.geometry->IsEmpty()) {
            out.boxes.emplace_back();
            continue;
        }
        for_each_line(*p.geometry, [&](const OGRSimpleCurve& line, bool closed) {
            std::vector<cv::Point> pts;
            for (int i = 0; i < line.getNumPoints(); ++i) {
                const cv::Point2d q = to_px(line.getX(i), line.getY(i));
                pts.emplace_back(static_cast<int>(std::lround(q.x * 8)), static_cast<int>(std::lround(q.y * 8)));
            }
            if (pts.size() >= 2) cv::polylines(image, std::vector<std::vector<cv::Point>>{pts}, closed, kChipAfterColour, thick, cv::LINE_8, 3);
        });
        OGREnvelope e;
        p.geometry->getEnvelope(&e);
        const cv::Point2d a = to_px(e.MinX, e.MaxY), b = to_px(e.MaxX, e.MinY);
        const int x0 = std::clamp(static_cast<int>(std::floor(a.x)), 0, out.width), y0 = std::clamp(static_cast<int>(std::floor(a.y)), 0, out.height);
        const int x1 = std::clamp(static_cast<int>(std::ceil(b.x)), 0, out.width), y1 = std::clamp(static_cast<int>(std::ceil(b.y)), 0, out.height);
        out.boxes.emplace_back(x0, y0, std::max(1, x1 - x0), std::max(1, y1 - y0));
    }
    // Numbers after all outlines, so no outline crosses a number.
    for (std::size_t i = 0; i < parcels.size(); ++i) {
        const cv::Rect& box = out.boxes[i];
        if (box.area() == 0) continue;
        outlined_text(image, std::to_string(parcels[i].id), cv::Point(box.x + box.width + 2, std::max(10, box.y + 8)), font, thick);
    }
    write_jpeg(dir / out.file, image, style.jpeg_quality);
    return out;
}

void write_chip_sheet(const fs::path& path, const fs::path& dir, const std::vector<Parcel>& parcels, int max_parcels, int cell_px) {
    const int n = static_cast<int>(std::min<std::size_t>(parcels.size(), static_cast<std::size_t>(std::clamp(max_parcels, 0, 24))));
    if (n == 0) throw InputError("chips: no parcel to put on the chip sheet " + quoted(path.string()));
    constexpr int kPerRow = 4;
    const int cell = std::max(32, cell_px), gap = 8, caption = 22;
    const int pair_w = 2 * cell + 2, cols = std::min(n, kPerRow), rows = (n + kPerRow - 1) / kPerRow;
    cv::Mat sheet(rows * (cell + caption + gap) + gap, cols * (pair_w + gap) + gap, CV_8UC3, cv::Scalar(255, 255, 255));
    for (int k = 0; k < n; ++k) {
        const Parcel& p = parcels[static_cast<std::size_t>(k)];
        const ChipFiles names = chip_files_for(p.id);
        const int x = gap + (k % kPerRow) * (pair_w + gap), y = gap + (k / kPerRow) * (cell + caption + gap);
        int slot = 0;
        for (const std::string& name : {names.before, names.after}) {
            cv::Mat chip = read_chip(dir / name), scaled;
            cv::resize(chip, scaled, cv::Size(cell, cell), 0, 0, cv::INTER_AREA);
            scaled.copyTo(sheet(cv::Rect(x + slot * (cell + 2), y, cell, cell)));
            ++slot;
        }
        std::string caption = std::to_string(p.id);
        caption.insert(0, 1, '#');
        caption += "  before | after";
        cv::putText(sheet, caption, cv::Point(x, y + cell + 16), cv::FONT_HERSHEY_SIMPLEX, 0.45,
                    cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
    write_jpeg(path, sheet, 90);
}

}  // namespace weipian
