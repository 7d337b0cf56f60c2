#include "pipeline/polygonize.hpp"

#include <gdal_priv.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/info.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/stage.hpp"

namespace weipian {
namespace {

OGRLinearRing* to_ring(const kernels::Ring& ring, const GeoTransform& gt) {
    auto* out = new OGRLinearRing();
    out->setNumPoints(static_cast<int>(ring.size()), FALSE);
    for (std::size_t i = 0; i < ring.size(); ++i) {
        double x, y;
        pixel_to_geo(gt, ring[i].x, ring[i].y, x, y);
        out->setPoint(static_cast<int>(i), x, y);
    }
    return out;
}

}  // namespace

OGRGeometryUniquePtr to_geometry(const kernels::PixelPolygon& polygon, const GeoTransform& gt) {
    const auto to_polygon = [&gt](const kernels::PolygonPart& part) {
        auto* out = new OGRPolygon();
        out->addRingDirectly(to_ring(part.outer, gt));
        for (const auto& hole : part.holes) out->addRingDirectly(to_ring(hole, gt));
        return out;
    };
    if (polygon.parts.size() == 1) return OGRGeometryUniquePtr(to_polygon(polygon.parts.front()));
    auto* out = new OGRMultiPolygon();
    for (const auto& part : polygon.parts) out->addGeometryDirectly(to_polygon(part));
    return OGRGeometryUniquePtr(out);
}

static_assert(Stage<PolygonizeStage>);

PolygonizeStage::Options PolygonizeStage::Options::from(const Config& config) {
    Options o;
    o.connectivity = config.clean.connectivity;
    o.block_size = config.processing.block_size;
    o.threads = config.processing.threads;
    return o;
}

void PolygonizeStage::validate() const {
    const auto check = [](double value, std::string_view key) {
        const ConfigKey& k = config_key(key);
        if (value < k.lo || value > k.hi)
            throw ConfigError("polygonize: " + std::string(key) + " " + std::to_string(static_cast<long long>(value)) +
                              " is out of range " + k.range);
    };
    check(options_.block_size, "processing.block_size");
    check(options_.threads, "processing.threads");
    if (options_.min_pixels < 1)
        throw ConfigError("polygonize: min_pixels " + std::to_string(options_.min_pixels) + " must be at least 1");
}

PolygonizedMask PolygonizeStage::run(const std::string& mask_path) const {
    validate();
    ensure_gdal_registered();
    GDALDatasetUniquePtr source(GDALDataset::Open(mask_path.c_str(), GDAL_OF_RASTER));
    if (!source) throw InputError("polygonize: cannot read '" + mask_path + "' as a raster; check the path");
    PolygonizedMask out;
    const int width = source->GetRasterXSize(), height = source->GetRasterYSize();
    out.width = width;
    out.height = height;
    source->GetGeoTransform(out.geotransform.data());
    if (const OGRSpatialReference* srs = source->GetSpatialRef()) out.srs.reset(srs->Clone());
    const int workers = options_.threads > 0 ? options_.threads : tbb::info::default_concurrency();

    // Each worker reads its strips through its own handle.
    tbb::enumerable_thread_specific<GDALDatasetUniquePtr> handles(
        [&] { return GDALDatasetUniquePtr(GDALDataset::Open(mask_path.c_str(), GDAL_OF_RASTER)); });
    StreamStats stats;
    StripStages stages;
    stages.with_score = false;
    stages.fill = [&](Strip& s) {
        cv::Mat rows = s.own(s.mask);
        if (handles.local()->GetRasterBand(1)->RasterIO(GF_Read, 0, s.row0, width, s.rows, rows.data, width, s.rows,
                                                        GDT_Byte, 0, static_cast<GSpacing>(rows.step)) != CE_None)
            throw InputError("polygonize: cannot read rows of '" + mask_path + "'");
    };
    out.polygons = label_and_polygonize(width, height, options_.block_size, workers + 1, options_.connectivity,
                                        options_.min_pixels, stages, stats);
    out.label_seconds = static_cast<double>(stats.label_ns.load()) * 1e-9;
    out.polygonize_seconds = static_cast<double>(stats.polygonize_ns.load()) * 1e-9;
    return out;
}

}  // namespace weipian
