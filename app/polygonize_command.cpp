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
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/polygonize.hpp"
#include "pipeline/scheduler.hpp"

namespace weipian::app {
namespace {

namespace fs = std::filesystem;

struct PolygonizeOptions {
    std::string mask, out, layer = "parcels", format;
    int connectivity = static_cast<int>(Config{}.clean.connectivity);
    std::int64_t min_pixels = 1;
    int block_size = Config{}.processing.block_size;
    int threads = Config{}.processing.threads;
    bool overwrite = false;
};

std::string lower(std::string text) {
    for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return text;
}

// The OGR driver that writes --out: -of when given (any vector driver that can create), else
// from the extension. CSV gets the geometry as WKT, a Shapefile a .cpg saying UTF-8.
struct OutputFormat {
    GDALDriver* driver = nullptr;
    std::vector<std::string> layer_options;
    bool gpkg() const { return EQUAL(driver->GetDescription(), "GPKG"); }
    bool shapefile() const { return EQUAL(driver->GetDescription(), "ESRI Shapefile"); }
};

OutputFormat output_format(const PolygonizeOptions& o) {
    std::string name = o.format;
    if (name.empty()) {
        const std::string ext = lower(fs::path(o.out).extension().string());
        if (ext == ".gpkg") name = "GPKG";
        else if (ext == ".shp") name = "ESRI Shapefile";
        else if (ext == ".geojson" || ext == ".json") name = "GeoJSON";
        else if (ext == ".kml") name = "KML";
        else if (ext == ".csv") name = "CSV";
        else if (ext == ".fgb") name = "FlatGeobuf";
        else
            throw ConfigError("polygonize: --out '" + o.out + "': no format is known for the extension '" + ext +
                              "'; use .gpkg, .shp, .geojson, .json, .kml, .csv or .fgb, or name the OGR driver with -of "
                              "(e.g. -of GPKG)");
    }
    OutputFormat format;
    format.driver = GetGDALDriverManager()->GetDriverByName(name.c_str());
    if (!format.driver || !format.driver->GetMetadataItem(GDAL_DCAP_VECTOR) ||
        !format.driver->GetMetadataItem(GDAL_DCAP_CREATE))
        throw ConfigError("polygonize: -of '" + name +
                          "' is not an OGR vector driver that can create files; give one such as GPKG, \"ESRI Shapefile\", "
                          "GeoJSON, KML, CSV or FlatGeobuf (`ogrinfo --formats` lists them)");
    if (format.shapefile()) format.layer_options = {"ENCODING=UTF-8"};
    if (EQUAL(name.c_str(), "CSV")) format.layer_options = {"GEOMETRY=AS_WKT"};
    return format;
}

// The files a Shapefile at `out` consists of (those weipian writes).
std::vector<fs::path> shapefile_parts(const fs::path& out) {
    std::vector<fs::path> parts;
    for (const char* ext : {".shp", ".shx", ".dbf", ".prj", ".cpg"}) parts.push_back(fs::path(out).replace_extension(ext));
    return parts;
}

// Refuses, before any work, an --out that weipian must not touch: an existing file of a format
// other than GeoPackage (or a Shapefile's sidecar), a file named .gpkg that is not a GeoPackage,
// or a GeoPackage that already has the layer (without --overwrite). Only a GeoPackage is added
// to; any other format is written as a new file (set).
void check_polygonize_out(const PolygonizeOptions& o, const OutputFormat& format) {
    prepare_file_path(o.out, "polygonize");
    if (!format.gpkg()) {
        std::vector<fs::path> parts = format.shapefile() ? shapefile_parts(o.out) : std::vector<fs::path>{o.out};
        for (const auto& part : parts)
            if (fs::exists(fs::symlink_status(part)))
                throw InputError("polygonize: '" + part.string() + "' exists; weipian adds layers only to a GeoPackage and "
                                 "never replaces what it did not write: give --out a new file, or remove that one yourself");
        return;
    }
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

// Writes the polygons as layer o.layer of `out` (open for writing), in one transaction where the
// driver has them.
void write_polygons(GDALDataset& out, const PolygonizeOptions& o, const OutputFormat& format,
                    const PolygonizedMask& result, bool multi) {
    const OGRSpatialReference* srs = result.srs.get();
    const GeoTransform& gt = result.geotransform;
    std::vector<const char*> layer_options;
    for (const auto& option : format.layer_options) layer_options.push_back(option.c_str());
    layer_options.push_back(nullptr);
    OGRLayer* layer = out.CreateLayer(o.layer.c_str(), const_cast<OGRSpatialReference*>(srs),
                                      multi ? wkbMultiPolygon : wkbPolygon, const_cast<char**>(layer_options.data()));
    if (!layer)
        throw InputError("polygonize: cannot create layer '" + o.layer + "' in '" + o.out + "' with the " +
                         out.GetDriver()->GetDescription() + " driver (" + last_gdal_error() +
                         "); write polygons in a format that holds them, e.g. .gpkg or .shp");
    OGRFieldDefn id("id", OFTInteger64), pixels("pixel_count", OFTInteger64), area("area", OFTReal);
    layer->CreateField(&id);
    layer->CreateField(&pixels);
    layer->CreateField(&area);
    const bool transaction = out.TestCapability(ODsCTransactions);
    if (transaction) out.StartTransaction();
    const double pixel_area = std::abs(gt[1] * gt[5] - gt[2] * gt[4]);
    std::int64_t n = 0;
    for (const auto& p : result.polygons) {
        OGRFeature feature(layer->GetLayerDefn());
        feature.SetField(0, static_cast<GIntBig>(++n));
        feature.SetField(1, static_cast<GIntBig>(p.area));
        feature.SetField(2, static_cast<double>(p.area) * pixel_area);
        OGRGeometry* geometry = to_geometry(p.polygon, gt).release();
        if (multi) geometry = OGRGeometryFactory::forceToMultiPolygon(geometry);
        feature.SetGeometryDirectly(geometry);
        if (layer->CreateFeature(&feature) != OGRERR_NONE) throw InputError("polygonize: cannot write '" + o.out + "' (" + last_gdal_error() +
                                                                         "); check free space on its disk");
    }
    if (transaction && out.CommitTransaction() != OGRERR_NONE)
        throw InputError("polygonize: cannot write '" + o.out + "'; check free space on its disk");
}

int polygonize_mask(const PolygonizeOptions& o) {
    if (same_file(o.mask, o.out))  // first: whatever its extension says
        throw InputError("polygonize: --out '" + o.out + "' is the mask itself; give another file");
    const OutputFormat format = output_format(o);
    check_polygonize_out(o, format);
    PolygonizeStage::Options options = PolygonizeStage::Options::from(Config{});
    options.connectivity = o.connectivity == 8 ? kernels::Connectivity::Eight : kernels::Connectivity::Four;
    options.min_pixels = o.min_pixels;
    options.block_size = o.block_size;
    options.threads = o.threads;
    const PolygonizeStage stage(options);
    stage.validate();
    // A GeoPackage: written into a copy of the file (or a new one) under a temporary name, renamed
    // when complete, so the other layers of an existing file are kept. Any other format: written
    // into a staging folder beside --out, then each of its files (a Shapefile's .shp .shx .dbf
    // .prj .cpg) moved into place, the one a reader opens last.
    std::unique_ptr<AtomicFile> file;
    std::unique_ptr<AtomicFileSet> set;
    fs::path target;
    if (format.gpkg()) {
        AtomicFile::Options copy;
        copy.copy_existing = true;
        file = std::make_unique<AtomicFile>(o.out, "polygonize", copy);
        target = file->path();
    } else {
        set = std::make_unique<AtomicFileSet>(fs::path(o.out).parent_path(), fs::path(o.out).filename().string(), "polygonize");
        target = set->dir() / fs::path(o.out).filename();
    }
    const int workers = o.threads > 0 ? o.threads : tbb::info::default_concurrency();
    tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));
    const PolygonizedMask result = stage.run(o.mask);
    {
        GDALDatasetUniquePtr out;
        if (file && file->copied_existing()) {
            const char* drivers[] = {"GPKG", nullptr};
            out.reset(GDALDataset::Open(target.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE, drivers, nullptr, nullptr));
            if (!out) throw InputError("polygonize: cannot open the copy of '" + o.out + "' for writing");
            for (int i = 0; i < out->GetLayerCount(); ++i)
                if (EQUAL(out->GetLayer(i)->GetName(), o.layer.c_str()) && out->DeleteLayer(i) != OGRERR_NONE)
                    throw InputError("polygonize: cannot replace layer '" + o.layer + "' of '" + o.out + "'");
        } else {
            out.reset(format.driver->Create(target.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        }
        if (!out) throw InputError("polygonize: cannot create '" + o.out + "'; check that the folder is writable");
        // 4-connected components are single polygons (as GDALPolygonize writes them); 8-connected
        // ones split at diagonal pinches into valid MultiPolygons.
        write_polygons(*out, o, format, result, options.connectivity == kernels::Connectivity::Eight);
        CPLErrorReset();
        out.reset();
        if (CPLGetLastErrorType() >= CE_Failure)
            throw InputError("polygonize: cannot finish '" + o.out + "'; check free space on its disk");
    }
    if (file) {
        file->commit();
    } else {
        // A driver may write files beside the one named (sidecars): none may replace a file there.
        for (const auto& entry : fs::directory_iterator(set->dir())) {
            const fs::path final_path = fs::path(o.out).parent_path() / entry.path().filename();
            if (fs::exists(fs::symlink_status(final_path)))
                throw InputError("polygonize: '" + final_path.string() + "' exists; weipian adds layers only to a GeoPackage "
                                 "and never replaces what it did not write: give --out a new file, or remove that one yourself");
        }
        set->commit(fs::path(o.out).extension().string());
    }
    std::cout << "weipian: " << result.polygons.size() << " polygons written to " << o.out << " ("
              << format.driver->GetDescription() << ")\n";
    spdlog::info("polygonize: label {:.3f} s, polygonize {:.3f} s (thread time)", result.label_seconds,
                 result.polygonize_seconds);
    return 0;
}

}  // namespace

CommandAction add_polygonize_command(CLI::App& app) {
    auto o = std::make_shared<PolygonizeOptions>();
    CLI::App* cmd = app.add_subcommand("polygonize", "polygonize a mask raster (nonzero = foreground) into a vector file");
    cmd->add_option("mask", o->mask, "mask raster")->required();
    cmd->add_option("--out", o->out,
                    "vector file to write, its format from the extension: .gpkg (GeoPackage; an existing one gets the layer "
                    "added), .shp (Shapefile, UTF-8 .cpg), .geojson/.json, .kml, .csv (geometry as WKT), .fgb")
        ->required();
    // GDAL's spelling -of reaches CLI11 as --of (main.cpp), which takes no single-dash long names.
    cmd->add_option("--of", o->format,
                    "(or -of) OGR vector driver to write with, whatever the extension (e.g. -of GPKG, -of \"ESRI Shapefile\")");
    cmd->add_option("--layer", o->layer, "layer name (an existing GeoPackage keeps its other layers)");
    cmd->add_flag("--overwrite", o->overwrite, "replace the layer when the GeoPackage already has it");
    add_config_option(cmd, "--connectivity", o->connectivity, "clean.connectivity")->check(CLI::IsMember({4, 8}));
    cmd->add_option("--min-pixels", o->min_pixels, "drop components smaller than this")->check(CLI::PositiveNumber);
    add_config_option(cmd, "--block-size", o->block_size, "processing.block_size");
    add_config_option(cmd, "--threads", o->threads, "processing.threads");
    return [o]() { return polygonize_mask(*o); };
}

}  // namespace weipian::app
