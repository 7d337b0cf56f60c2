// `weipian polygonize MASK --out PARCELS.gpkg`: the polygonize stage (pipeline/polygonize.hpp)
// alone on a mask raster (nonzero = foreground), for side-by-side comparison with
// gdal_polygonize.py.
#include <filesystem>
#include <iostream>
#include <memory>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include "app/commands.hpp"
#include "app/config_options.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/polygonize.hpp"

namespace weipian::app {
namespace {

namespace fs = std::filesystem;

struct PolygonizeOptions {
    std::string mask, out, layer = "parcels";
    int connectivity = static_cast<int>(Config{}.clean.connectivity);
    std::int64_t min_pixels = 1;
    int block_size = Config{}.processing.block_size;
    int threads = Config{}.processing.threads;
};

int polygonize_mask(const PolygonizeOptions& o) {
    PolygonizeStage::Options options = PolygonizeStage::Options::from(Config{});
    options.connectivity = o.connectivity == 8 ? kernels::Connectivity::Eight : kernels::Connectivity::Four;
    options.min_pixels = o.min_pixels;
    options.block_size = o.block_size;
    options.threads = o.threads;
    const PolygonizeStage stage(options);
    stage.validate();
    const int workers = o.threads > 0 ? o.threads : tbb::info::default_concurrency();
    tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));
    const PolygonizedMask result = stage.run(o.mask);
    const std::vector<PatchPolygon>& polygons = result.polygons;
    const GeoTransform& gt = result.geotransform;

    // Written under a temporary name, renamed when complete.
    const fs::path final_path(o.out), partial = o.out + ".partial.gpkg";
    if (final_path.has_parent_path()) fs::create_directories(final_path.parent_path());
    fs::remove(partial);
    GDALDriver* gpkg = GetGDALDriverManager()->GetDriverByName("GPKG");
    {
        GDALDatasetUniquePtr out(gpkg->Create(partial.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!out) throw InputError("polygonize: cannot create '" + o.out + "'; check that the folder is writable");
        const OGRSpatialReference* srs = result.srs.get();
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
    spdlog::info("polygonize: label {:.3f} s, polygonize {:.3f} s (thread time)", result.label_seconds,
                 result.polygonize_seconds);
    return 0;
}

}  // namespace

CommandAction add_polygonize_command(CLI::App& app) {
    auto o = std::make_shared<PolygonizeOptions>();
    CLI::App* cmd = app.add_subcommand("polygonize", "polygonize a mask raster (nonzero = foreground) into a GeoPackage");
    cmd->add_option("mask", o->mask, "mask raster")->required();
    cmd->add_option("--out", o->out, "GeoPackage to write")->required();
    cmd->add_option("--layer", o->layer, "layer name");
    add_config_option(cmd, "--connectivity", o->connectivity, "clean.connectivity")->check(CLI::IsMember({4, 8}));
    cmd->add_option("--min-pixels", o->min_pixels, "drop components smaller than this")->check(CLI::PositiveNumber);
    add_config_option(cmd, "--block-size", o->block_size, "processing.block_size");
    add_config_option(cmd, "--threads", o->threads, "processing.threads");
    return [o]() { return polygonize_mask(*o); };
}

}  // namespace weipian::app
