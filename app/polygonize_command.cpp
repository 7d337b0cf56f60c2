// `weipian polygonize MASK --out PARCELS.gpkg`: the streaming polygonizer alone on a mask
// raster (nonzero = foreground), for side-by-side comparison with gdal_polygonize.py.
#include <filesystem>
#include <iostream>
#include <memory>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include "app/commands.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/polygonize.hpp"
#include "pipeline/scheduler.hpp"

namespace weipian::app {
namespace {

namespace fs = std::filesystem;

struct PolygonizeOptions {
    std::string mask, out, layer = "parcels";
    int connectivity = 4;
    std::int64_t min_pixels = 1;
    int block_size = 256;
    int threads = 0;
};

int polygonize_mask(const PolygonizeOptions& o) {
    GDALDatasetUniquePtr source(GDALDataset::Open(o.mask.c_str(), GDAL_OF_RASTER));
    if (!source) throw InputError("polygonize: cannot read '" + o.mask + "' as a raster; check the path");
    const int width = source->GetRasterXSize(), height = source->GetRasterYSize();
    GeoTransform gt{0, 1, 0, 0, 0, 1};
    source->GetGeoTransform(gt.data());
    const int workers = o.threads > 0 ? o.threads : tbb::info::default_concurrency();
    tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));

    // Each worker reads its strips through its own handle.
    tbb::enumerable_thread_specific<GDALDatasetUniquePtr> handles(
        [&] { return GDALDatasetUniquePtr(GDALDataset::Open(o.mask.c_str(), GDAL_OF_RASTER)); });
    StreamStats stats;
    const auto connectivity = o.connectivity == 8 ? kernels::Connectivity::Eight : kernels::Connectivity::Four;
    StripStages stages;
    stages.with_score = false;
    stages.fill = [&](Strip& s) {
        cv::Mat rows = s.own(s.mask);
        if (handles.local()->GetRasterBand(1)->RasterIO(GF_Read, 0, s.row0, width, s.rows, rows.data, width, s.rows,
                                                        GDT_Byte, 0, static_cast<GSpacing>(rows.step)) != CE_None)
            throw InputError("polygonize: cannot read rows of '" + o.mask + "'");
    };
    const std::vector<PatchPolygon> polygons =
        label_and_polygonize(width, height, o.block_size, workers + 1, connectivity, o.min_pixels, stages, stats);

    // Written under a temporary name, renamed when complete.
    const fs::path final_path(o.out), partial = o.out + ".partial.gpkg";
    if (final_path.has_parent_path()) fs::create_directories(final_path.parent_path());
    fs::remove(partial);
    GDALDriver* gpkg = GetGDALDriverManager()->GetDriverByName("GPKG");
    {
        GDALDatasetUniquePtr out(gpkg->Create(partial.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!out) throw InputError("polygonize: cannot create '" + o.out + "'; check that the folder is writable");
        const OGRSpatialReference* srs = source->GetSpatialRef();
        OGRLayer* layer = out->CreateLayer(o.layer.c_str(), const_cast<OGRSpatialReference*>(srs), wkbPolygon, nullptr);
        OGRFieldDefn id("id", OFTInteger64), pixels("pixel_count", OFTInteger64), area("area", OFTReal);
        layer->CreateField(&id);
        layer->CreateField(&pixels);
        layer->CreateField(&area);
        out->StartTransaction();
        const double pixel_area = std::abs(gt[1] * gt[5] - gt[2] * gt[4]);
        std::int64_t n = 0;
        for (const auto& p : polygons) {
            OGRFeature feature(layer->GetLayerDefn());
            feature.SetField(0, static_cast<GIntBig>(++n));
            feature.SetField(1, static_cast<GIntBig>(p.area));
            feature.SetField(2, static_cast<double>(p.area) * pixel_area);
            feature.SetGeometryDirectly(to_geometry(p.polygon, gt).release());
            if (layer->CreateFeature(&feature) != OGRERR_NONE) throw InputError("polygonize: cannot write '" + o.out + "'");
        }
        out->CommitTransaction();
    }
    fs::rename(partial, final_path);
    std::cout << "weipian: " << polygons.size() << " polygons written to " << o.out << "\n";
    spdlog::info("polygonize: label {:.3f} s, polygonize {:.3f} s (thread time)", stats.label_ns * 1e-9,
                 stats.polygonize_ns * 1e-9);
    return 0;
}

}  // namespace

CommandAction add_polygonize_command(CLI::App& app) {
    auto o = std::make_shared<PolygonizeOptions>();
    CLI::App* cmd = app.add_subcommand("polygonize", "polygonize a mask raster (nonzero = foreground) into a GeoPackage");
    cmd->add_option("mask", o->mask, "mask raster")->required();
    cmd->add_option("--out", o->out, "GeoPackage to write")->required();
    cmd->add_option("--layer", o->layer, "layer name");
    cmd->add_option("--connectivity", o->connectivity, "4 (GDALPolygonize default) or 8")->check(CLI::IsMember({4, 8}));
    cmd->add_option("--min-pixels", o->min_pixels, "drop components smaller than this")->check(CLI::PositiveNumber);
    cmd->add_option("--block-size", o->block_size, "rows per strip")->check(CLI::Range(1, 65536));
    cmd->add_option("--threads", o->threads, "worker threads (default: all cores)")->check(CLI::Range(0, 1024));
    return [o]() { return polygonize_mask(*o); };
}

}  // namespace weipian::app
