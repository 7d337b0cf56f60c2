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
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/polygonize.hpp"
#include "pipeline/scheduler.hpp"

namespace weipian::app {
namespace {

namespace fs = std::filesystem;

struct PolygonizeOptions {
    std::string mask, out, layer = "parcels";
    int connectivity = static_cast<int>(Config{}.clean.connectivity);
    std::int64_t min_pixels = 1;
    int block_size = Config{}.processing.block_size;
    int threads = Config{}.processing.threads;
    bool overwrite = false;
};

// Refuses, before any work, an --out that weipian must not touch: the mask itself, a file that
// is not a GeoPackage, or a GeoPackage that already has the layer (without --overwrite).
void check_polygonize_out(const PolygonizeOptions& o) {
    if (same_file(o.mask, o.out))
        throw InputError("polygonize: --out '" + o.out + "' is the mask itself; give another file");
    prepare_file_path(o.out, "polygonize");
    if (!fs::exists(o.out)) return;
    const char* drivers[] = {"GPKG", nullptr};
    GDALDatasetUniquePtr existing(GDALDataset::Open(o.out.c_str(), GDAL_OF_VECTOR, drivers, nullptr, nullptr));
    if (!existing)
        throw InputError("polygonize: '" + o.out +
                         "' exists and is not a GeoPackage; weipian never replaces what it did not write: give --out a new "
                         "file or a GeoPackage to add the layer to");
    if (existing->GetLayerByName(o.layer.c_str()) && !o.overwrite)
        throw InputError("polygonize: '" + o.out + "' already has a layer '" + o.layer +
                         "'; pass --overwrite to replace that layer (the other layers are kept), or choose another --layer");
}

int polygonize_mask(const PolygonizeOptions& o) {
    check_polygonize_out(o);
    PolygonizeStage::Options options = PolygonizeStage::Options::from(Config{});
    options.connectivity = o.connectivity == 8 ? kernels::Connectivity::Eight : kernels::Connectivity::Four;
    options.min_pixels = o.min_pixels;
    options.block_size = o.block_size;
    options.threads = o.threads;
    const PolygonizeStage stage(options);
    stage.validate();
    AtomicFile::Options copy;
    copy.copy_existing = true;
    AtomicFile file(o.out, "polygonize", copy);
    const int workers = o.threads > 0 ? o.threads : tbb::info::default_concurrency();
    tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));
    const PolygonizedMask result = stage.run(o.mask);
    const std::vector<PatchPolygon>& polygons = result.polygons;
    const GeoTransform& gt = result.geotransform;

    // Written into a copy of the GeoPackage (or a new one) under a temporary name, renamed when
    // complete: the other layers of an existing file are kept.
    GDALDriver* gpkg = GetGDALDriverManager()->GetDriverByName("GPKG");
    {
        GDALDatasetUniquePtr out;
        if (file.copied_existing()) {
            const char* drivers[] = {"GPKG", nullptr};
            out.reset(GDALDataset::Open(file.path().c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE, drivers, nullptr, nullptr));
            if (!out) throw InputError("polygonize: cannot open the copy of '" + o.out + "' for writing");
            for (int i = 0; i < out->GetLayerCount(); ++i)
                if (EQUAL(out->GetLayer(i)->GetName(), o.layer.c_str()) && out->DeleteLayer(i) != OGRERR_NONE)
                    throw InputError("polygonize: cannot replace layer '" + o.layer + "' of '" + o.out + "'");
        } else {
            out.reset(gpkg->Create(file.path().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        }
        if (!out) throw InputError("polygonize: cannot create '" + o.out + "'; check that the folder is writable");
        const OGRSpatialReference* srs = result.srs.get();
        // 4-connected components are single polygons (as GDALPolygonize writes them); 8-connected
        // ones split at diagonal pinches into valid MultiPolygons.
        const bool multi = options.connectivity == kernels::Connectivity::Eight;
        OGRLayer* layer = out->CreateLayer(o.layer.c_str(), const_cast<OGRSpatialReference*>(srs),
                                           multi ? wkbMultiPolygon : wkbPolygon, nullptr);
        if (!layer) throw InputError("polygonize: cannot create layer '" + o.layer + "' in '" + o.out + "'");
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
            OGRGeometry* geometry = to_geometry(p.polygon, gt).release();
            if (multi) geometry = OGRGeometryFactory::forceToMultiPolygon(geometry);
            feature.SetGeometryDirectly(geometry);
            if (layer->CreateFeature(&feature) != OGRERR_NONE) throw InputError("polygonize: cannot write '" + o.out + "'");
        }
        if (out->CommitTransaction() != OGRERR_NONE)
            throw InputError("polygonize: cannot write '" + o.out + "'; check free space on its disk");
        CPLErrorReset();
        out.reset();
        if (CPLGetLastErrorType() >= CE_Failure)
            throw InputError("polygonize: cannot finish '" + o.out + "'; check free space on its disk");
    }
    file.commit();
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
    cmd->add_option("--out", o->out, "GeoPackage to write, or to add the layer to")->required();
    cmd->add_option("--layer", o->layer, "layer name (an existing GeoPackage keeps its other layers)");
    cmd->add_flag("--overwrite", o->overwrite, "replace the layer when the GeoPackage already has it");
    add_config_option(cmd, "--connectivity", o->connectivity, "clean.connectivity")->check(CLI::IsMember({4, 8}));
    cmd->add_option("--min-pixels", o->min_pixels, "drop components smaller than this")->check(CLI::PositiveNumber);
    add_config_option(cmd, "--block-size", o->block_size, "processing.block_size");
    add_config_option(cmd, "--threads", o->threads, "processing.threads");
    return [o]() { return polygonize_mask(*o); };
}

}  // namespace weipian::app
