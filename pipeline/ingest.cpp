#include "pipeline/ingest.hpp"

#include <glob.h>

#include <algorithm>
#include <atomic>
#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdal_utils.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/stage.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;

// RAII for the argv-style option lists the GDAL utilities take.
struct StringList {
    char** list = nullptr;
    ~StringList() { CSLDestroy(list); }
    StringList& add(const std::string& s) {
        list = CSLAddString(list, s.c_str());
        return *this;
    }
};

struct Envelope {
    double minx, miny, maxx, maxy;
    bool empty() const { return !(maxx > minx && maxy > miny); }
};

Envelope raster_envelope(GDALDataset& ds) {
    double gt[6];
    ds.GetGeoTransform(gt);
    const double xs[2] = {gt[0], gt[0] + ds.GetRasterXSize() * gt[1] + ds.GetRasterYSize() * gt[2]};
    const double ys[2] = {gt[3], gt[3] + ds.GetRasterXSize() * gt[4] + ds.GetRasterYSize() * gt[5]};
    return {std::min(xs[0], xs[1]), std::min(ys[0], ys[1]), std::max(xs[0], xs[1]), std::max(ys[0], ys[1])};
}

std::string envelope_text(const Envelope& e) {
    std::ostringstream out;
    out.precision(10);
    out << "[" << e.minx << ", " << e.miny << " – " << e.maxx << ", " << e.maxy << "]";
    return out.str();
}

std::string crs_label(const OGRSpatialReference& srs) {
    const char* authority = srs.GetAuthorityName(nullptr);
    const char* code = srs.GetAuthorityCode(nullptr);
    const char* name = srs.GetName();
    std::string label = name && *name ? std::string(name) : std::string("unnamed CRS");
    if (authority && code) label += std::string(" (") + authority + ":" + code + ")";
    return "'" + label + "'";
}

// Envelope `e` in `from` expressed in `to` (densified edges). `what` names the tiles in the
// message ("epochs.before.tiles (a.tif, b.tif)").
Envelope transform_envelope(const Envelope& e, const OGRSpatialReference& from, const OGRSpatialReference& to,
                            const std::string& what) {
    if (from.IsSame(&to)) return e;
    CPLErrorReset();
    std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&from, &to));
    Envelope out{};
    if (!ct || !ct->TransformBounds(e.minx, e.miny, e.maxx, e.maxy, &out.minx, &out.miny, &out.maxx, &out.maxy, 21))
        throw InputError("ingest: cannot transform the epoch extent between CRSs: " + what + " is in " + crs_label(from) +
                         ", which cannot be transformed to " + crs_label(to) + " (" + last_gdal_error() +
                         "); reproject the tiles into one CRS (gdalwarp -t_srs) or set grid.crs to a CRS both convert to");
    return out;
}

int max_role_band(const BandRoles& r) { return std::max({r.blue, r.green, r.red, r.nir, r.swir1}); }

// The band GDAL marks as alpha (GCI_AlphaBand, what `gdalwarp -dstalpha` writes), the last one
// if several; 0 = none. GDAL itself turns an alpha band into a mask only for 2- and 4-band
// datasets (grey + alpha, RGB + alpha), so a 4-band B, G, R, NIR tile plus alpha would be read
// as if every pixel were valid: ingest honours it explicitly.
int alpha_band_of(GDALDataset& ds) {
    for (int b = ds.GetRasterCount(); b >= 1; --b)
        if (ds.GetRasterBand(b)->GetColorInterpretation() == GCI_AlphaBand) return b;
    return 0;
}

bool same_crs(const OGRSpatialReference* a, const OGRSpatialReference* b) {
    return (!a && !b) || (a && b && a->IsSame(b));
}

// Collects the warnings a GDAL utility emits (gdalbuildvrt skips a tile with only a warning).
class GdalWarnings {
public:
    GdalWarnings() { CPLPushErrorHandlerEx(&GdalWarnings::handler, this); }
    ~GdalWarnings() { CPLPopErrorHandler(); }
    GdalWarnings(const GdalWarnings&) = delete;
    GdalWarnings& operator=(const GdalWarnings&) = delete;
    const std::vector<std::string>& messages() const { return messages_; }

private:
    static void CPL_STDCALL handler(CPLErr level, CPLErrorNum, const char* msg) {
        auto* self = static_cast<GdalWarnings*>(CPLGetErrorHandlerUserData());
        if (level >= CE_Warning && msg) self->messages_.emplace_back(msg);
    }
    std::vector<std::string> messages_;
};

// A tile path as VRT sources should name it: absolute, so a VRT kept in /vsimem/ finds it.
std::string source_path(const std::string& file) {
    if (file.rfind("/vsi", 0) == 0 || fs::path(file).is_absolute()) return file;
    std::error_code ec;
    const fs::path absolute = fs::absolute(file, ec);
    return ec ? file : absolute.string();
}

std::string join_patterns(const std::vector<std::string>& patterns) {
    std::string out;
    for (const auto& p : patterns) out += (out.empty() ? "" : ", ") + p;
    return out;
}

// Opens one tile and checks what the main job needs of it.
GDALDatasetUniquePtr open_tile(const std::string& path, const std::string& key, const BandRoles& roles,
                               const IngestOptions& options) {
    CPLErrorReset();
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR));
    if (!ds) {
        if (!fs::exists(path))
            throw InputError("ingest: " + key + ": file '" + path + "' does not exist; check the path (relative paths start at the config file's folder)");
        throw InputError("ingest: " + key + ": GDAL cannot read '" + path + "' as a raster: " + last_gdal_error());
    }
    const int needed = max_role_band(roles);
    if (ds->GetRasterCount() < needed)
        throw InputError("ingest: " + key + ": '" + path + "' has " + std::to_string(ds->GetRasterCount()) +
                         " band(s) but the band roles need band " + std::to_string(needed) +
                         "; set bands.blue/green/red/nir/swir1 in the config to this sensor's band order");
    if (const int alpha = alpha_band_of(*ds)) {
        for (const auto& [name, band] : {std::pair{"blue", roles.blue}, {"green", roles.green}, {"red", roles.red},
                                         {"nir", roles.nir}, {"swir1", roles.swir1}})
            if (band == alpha)
                throw InputError("ingest: " + key + ": band " + std::to_string(band) + " of '" + path +
                                 "' is its alpha (transparency) band, but bands." + name +
                                 " names it; set bands." + name + " to the sensor's " + name + " band");
    }
    const bool has_crs = ds->GetSpatialRef() != nullptr && !ds->GetSpatialRef()->IsEmpty();
    if (!has_crs && !options.allow_missing_crs)
        throw InputError("ingest: " + key + ": '" + path +
                         "' has no CRS; assign one, e.g. gdal_edit.py -a_srs EPSG:4546 '" + path + "'");
    if (!has_crs && options.pixel_size_m <= 0) {
        double gt[6];
        if (ds->GetGeoTransform(gt) != CE_None)
            throw InputError("ingest: " + key + ": '" + path +
                             "' has no georeferencing; give the pixel size in metres with --pixel-size");
    }
    return ds;
}

// Mosaics `files` into a VRT written at `name` (a /vsimem/ path), so readers can open it by name.
void build_vrt(const std::vector<std::string>& files, const std::string& name, const std::string& key) {
    std::vector<const char*> names;
    for (const auto& f : files) names.push_back(f.c_str());
    StringList args;
    args.add("-resolution").add("highest");
    GDALBuildVRTOptions* opts = GDALBuildVRTOptionsNew(args.list, nullptr);
    int usage_error = 0;
    CPLErrorReset();
    GDALDatasetH vrt = nullptr;
    std::vector<std::string> warnings;
    {
        GdalWarnings collect;
        vrt = GDALBuildVRT(name.c_str(), static_cast<int>(names.size()), nullptr, names.data(), opts, &usage_error);
        warnings = collect.messages();
    }
    GDALBuildVRTOptionsFree(opts);
    if (!vrt) throw InputError("ingest: " + key + ": cannot mosaic the tiles: " + last_gdal_error());
    GDALClose(vrt);  // flushes the XML to `name`
    // gdalbuildvrt leaves out a tile that does not match the first (band count, data type, …)
    // with a mere warning: a mosaic missing a tile is a wrong answer, so it is refused.
    for (const auto& w : warnings)
        if (w.find("Skipping") != std::string::npos)
            throw InputError("ingest: " + key + ": a tile cannot be mosaicked with the others (" + w +
                             "); give the epoch's tiles the same bands and data type");
}

// Warps `source` onto the grid (srs, extent, size) as a VRT written at `name` (a /vsimem/
// path) with an alpha band, so that coverage gaps and source nodata become invalid pixels.
// Without a grid (`width` 0) it only reprojects onto `srs`.
void warp_to_grid(const std::vector<std::string>& sources, const std::string& name, const OGRSpatialReference* srs,
                  const Envelope& extent, int width, int height, const std::string& resampling, bool alpha,
                  const std::string& key) {
    StringList args;
    args.add("-of").add("VRT").add("-r").add(resampling);
    if (alpha) args.add("-dstalpha");
    if (srs) {
        char* wkt = nullptr;
        srs->exportToWkt(&wkt);
        args.add("-t_srs").add(wkt);
        CPLFree(wkt);
    }
    if (width > 0) {
        std::ostringstream te;
        te.precision(17);
        args.add("-te");
        for (double v : {extent.minx, extent.miny, extent.maxx, extent.maxy}) {
            te.str("");
            te << v;
            args.add(te.str());
        }
        args.add("-ts").add(std::to_string(width)).add(std::to_string(height));
    }
    GDALWarpAppOptions* opts = GDALWarpAppOptionsNew(args.list, nullptr);
    int usage_error = 0;
    CPLErrorReset();
    std::vector<GDALDatasetUniquePtr> opened;
    std::vector<GDALDatasetH> handles;
    for (const auto& s : sources) {
        opened.emplace_back(GDALDataset::Open(s.c_str(), GDAL_OF_RASTER));
        if (!opened.back()) throw InputError("ingest: " + key + ": cannot reopen '" + s + "': " + last_gdal_error());
        handles.push_back(GDALDataset::ToHandle(opened.back().get()));
    }
    GDALDatasetH out = GDALWarp(name.c_str(), nullptr, static_cast<int>(handles.size()), handles.data(), opts, &usage_error);
    GDALWarpAppOptionsFree(opts);
    if (!out) throw InputError("ingest: " + key + ": cannot bring the epoch onto the common grid: " + last_gdal_error());
    GDALClose(out);  // flushes the XML to `name`
}

// Writes at `name` (a /vsimem/ path) a VRT of `source`'s bands except its alpha band `alpha`,
// with that alpha band as the per-dataset mask: readers, gdalbuildvrt and gdalwarp all honour a
// per-dataset mask (0 = no data), and the band count no longer includes the alpha band.
void alpha_to_mask(const std::string& source, int alpha, const std::string& name, const std::string& key) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(source.c_str(), GDAL_OF_RASTER));
    if (!ds) throw InputError("ingest: " + key + ": cannot reopen '" + source + "': " + last_gdal_error());
    StringList args;
    args.add("-of").add("VRT");
    for (int b = 1; b <= ds->GetRasterCount(); ++b)
        if (b != alpha) args.add("-b").add(std::to_string(b));
    args.add("-mask").add(std::to_string(alpha));
    GDALTranslateOptions* opts = GDALTranslateOptionsNew(args.list, nullptr);
    int usage_error = 0;
    CPLErrorReset();
    GDALDatasetH out = GDALTranslate(name.c_str(), GDALDataset::ToHandle(ds.get()), opts, &usage_error);
    GDALTranslateOptionsFree(opts);
    if (!out) throw InputError("ingest: " + key + ": cannot use the alpha band of '" + source + "' as its mask: " + last_gdal_error());
    GDALClose(out);
}

double linear_units_m(const OGRSpatialReference& srs) {
    return srs.IsProjected() ? srs.GetLinearUnits() : 1.0;
}

// The same file in both epochs compares a picture with itself: nothing can be found there, and
// it is almost always a copy-paste slip in the config. Said without -v, naming the files.
void warn_shared_files(const std::vector<std::string>& before, const std::vector<std::string>& after) {
    auto key_of = [](const std::string& f) {
        std::error_code ec;
        const fs::path canonical = fs::weakly_canonical(f, ec);
        return ec ? f : canonical.string();
    };
    std::vector<std::string> after_keys;
    for (const auto& f : after) after_keys.push_back(key_of(f));
    std::vector<std::string> shared;
    for (const auto& f : before)
        if (std::find(after_keys.begin(), after_keys.end(), key_of(f)) != after_keys.end()) shared.push_back(f);
    if (shared.empty()) return;
    const bool identical = shared.size() == before.size() && before.size() == after.size();
    std::string list;
    for (std::size_t i = 0; i < shared.size() && i < 5; ++i) list += (i ? ", " : "") + shared[i];
    if (shared.size() > 5) list += ", … (" + std::to_string(shared.size()) + " files)";
    spdlog::warn("ingest: epochs.before.tiles and epochs.after.tiles {} the same file(s): {}; {} — check the "
                 "epochs' tiles in the config",
                 identical ? "are" : "share", list,
                 identical ? "the epochs are identical, so no change can be found"
                           : "no change can be found where they are used");
}

// Metres per CRS unit along a meridian (1 for a plain image or an unknown unit).
double metres_per_unit(const OGRSpatialReference* srs) {
    if (!srs) return 1.0;
    return srs->IsGeographic() ? 110574.0 : srs->GetLinearUnits();
}

std::string gpx_text(double pixels) {
    std::ostringstream out;
    out.precision(3);
    out << pixels / 1e9 << " Gpx";
    return out.str();
}

// Refuses a grid no run can process in bounded memory and time: more than kMaxGridSide pixels
// a side (a strip is at least 16 rows of the full width, and the labeller keeps per-column
// state), more than kMaxGridPixels in all, or pixels more than kMaxUpsampling times finer
// than the reference epoch's (upsampling adds no detail, only pixels).
void check_grid_size(double width, double height, double res, double ref_res, const OGRSpatialReference* grid_srs,
                     const OGRSpatialReference* ref_srs, double configured, const std::string& ref_name) {
    const double pixel_m = res * metres_per_unit(grid_srs);
    const double ref_pixel_m = std::abs(ref_res) * metres_per_unit(ref_srs);
    const double finer = ref_pixel_m / pixel_m;
    const bool too_big = width > kMaxGridSide || height > kMaxGridSide || width * height > kMaxGridPixels;
    const bool too_fine = configured > 0 && finer > kMaxUpsampling * (1 + 1e-9);
    if (!too_big && !too_fine) return;
    std::ostringstream msg;
    msg.precision(6);
    msg << "ingest: ";
    if (configured > 0) msg << "grid.pixel_size " << configured << " makes ";
    msg << "a grid of " << static_cast<std::int64_t>(width) << " × " << static_cast<std::int64_t>(height) << " px ("
        << gpx_text(width * height) << ") at " << pixel_m << " m a pixel";
    if (finer > 1.0 + 1e-9) msg << ", " << finer << "× finer than the " << ref_name << " epoch's " << ref_pixel_m << " m";
    msg << "; the limits are " << static_cast<std::int64_t>(kMaxGridSide) << " px a side, "
        << gpx_text(kMaxGridPixels) << " in all and " << kMaxUpsampling << "× finer than the input; ";
    if (configured > 0)
        msg << "set grid.pixel_size larger (e.g. " << std::abs(ref_res) << ", the " << ref_name
            << " epoch's) or 0 for the reference epoch's";
    else
        msg << "set grid.pixel_size larger or an aoi that covers part of the scene";
    if (configured > 0) throw ConfigError(msg.str());
    throw InputError(msg.str());
}

}  // namespace

std::vector<std::string> expand_tiles(const std::vector<std::string>& patterns, const std::string& key) {
    std::vector<std::string> files;
    if (patterns.empty())
        throw InputError("ingest: " + key + " lists no tiles; give files or globs in the config or on the command line");
    for (const auto& pattern : patterns) {
        if (pattern.find_first_of("*?[") == std::string::npos) {
            files.push_back(pattern);  // a plain path (or /vsi… path): checked when opened
            continue;
        }
        glob_t g{};
        const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
        std::vector<std::string> matched;
        if (rc == 0)
            for (std::size_t i = 0; i < g.gl_pathc; ++i) matched.emplace_back(g.gl_pathv[i]);
        globfree(&g);
        if (matched.empty())
            throw InputError("ingest: " + key + ": '" + pattern + "' matches no file; check the pattern (relative paths start at the config file's folder)");
        std::sort(matched.begin(), matched.end());
        files.insert(files.end(), matched.begin(), matched.end());
    }
    return files;
}


AlignedEpochs::AlignedEpochs() = default;
AlignedEpochs::AlignedEpochs(AlignedEpochs&&) noexcept = default;
AlignedEpochs& AlignedEpochs::operator=(AlignedEpochs&&) noexcept = default;
AlignedEpochs::~AlignedEpochs() {
    own_reader_.reset();
    for (const auto& f : vsimem_files_) VSIUnlink(f.c_str());
}

AlignedEpochs ingest_epochs(const Config& config, const IngestOptions& options) {
    ensure_gdal_registered();
    static std::atomic<int> instance{0};
    const std::string vsimem = "/vsimem/weipian/" + std::to_string(::getpid()) + "-" + std::to_string(instance++) + "/";

    AlignedEpochs out;
    out.roles_ = config.bands;
    out.before_.files = expand_tiles(config.before.tiles, "epochs.before.tiles");
    out.after_.files = expand_tiles(config.after.tiles, "epochs.after.tiles");
    warn_shared_files(out.before_.files, out.after_.files);

    // Check every tile; mosaic each epoch into one named source (one tile = the file itself).
    // The epoch's CRS is the one most of its tiles share (the first tile's on a tie); a tile in
    // another CRS is first warped (grid.resampling) onto that CRS, at the epoch's finest pixel
    // size and aligned to its first tile's grid, with its coverage as alpha. A tile's alpha band
    // becomes its mask. Then all are mosaicked with gdalbuildvrt (nodata/masks kept).
    auto mosaic = [&](AlignedEpochs::Epoch& epoch, const std::string& key, const std::string& label) {
        std::vector<GDALDatasetUniquePtr> tiles;
        for (const auto& f : epoch.files) tiles.push_back(open_tile(f, key, config.bands, options));
        std::vector<const OGRSpatialReference*> crs;
        for (const auto& t : tiles) crs.push_back(t->GetSpatialRef());
        std::size_t home = 0;
        long best = -1;
        for (std::size_t i = 0; i < crs.size(); ++i) {
            const long n = std::count_if(crs.begin(), crs.end(), [&](const auto* c) { return same_crs(c, crs[i]); });
            if (n > best) best = n, home = i;
        }
        const OGRSpatialReference* epoch_srs = crs[home];
        // The epoch's grid: the home tile's origin, the finest pixel among the tiles in its CRS.
        double origin[6];
        tiles[home]->GetGeoTransform(origin);
        double res_x = std::abs(origin[1]), res_y = std::abs(origin[5]);
        for (std::size_t i = 0; i < tiles.size(); ++i) {
            double gt[6];
            if (!same_crs(crs[i], epoch_srs) || tiles[i]->GetGeoTransform(gt) != CE_None) continue;
            res_x = std::min(res_x, std::abs(gt[1]));
            res_y = std::min(res_y, std::abs(gt[5]));
        }
        std::vector<std::string> sources;
        int warped = 0;
        for (std::size_t i = 0; i < tiles.size(); ++i) {
            std::string source = source_path(epoch.files[i]);
            int alpha = alpha_band_of(*tiles[i]);
            if (!same_crs(crs[i], epoch_srs)) {
                if (!crs[i] || !epoch_srs)
                    throw InputError("ingest: " + key + ": '" + epoch.files[i] + "' and '" + epoch.files[home] +
                                     "' are not both georeferenced; give every tile of an epoch a CRS");
                const auto from = clone_traditional(*crs[i]);
                const auto to = clone_traditional(*epoch_srs);
                const Envelope e = transform_envelope(raster_envelope(*tiles[i]), *from, *to,
                                                      key + " ('" + epoch.files[i] + "')");
                // Outward to the epoch's grid, so the warped tile lines up with the others.
                const double c0 = std::floor((e.minx - origin[0]) / res_x), c1 = std::ceil((e.maxx - origin[0]) / res_x);
                const double r0 = std::floor((origin[3] - e.maxy) / res_y), r1 = std::ceil((origin[3] - e.miny) / res_y);
                const Envelope snapped{origin[0] + c0 * res_x, origin[3] - r1 * res_y, origin[0] + c1 * res_x,
                                       origin[3] - r0 * res_y};
                const std::string name = vsimem + label + "_tile" + std::to_string(i) + "_warped.vrt";
                out.vsimem_files_.push_back(name);
                warp_to_grid({source}, name, to.get(), snapped, static_cast<int>(c1 - c0), static_cast<int>(r1 - r0),
                             config.grid.resampling, true, key);
                GDALDatasetUniquePtr w(GDALDataset::Open(name.c_str(), GDAL_OF_RASTER));
                if (!w) throw InternalError("ingest: cannot reopen a warped tile: " + last_gdal_error());
                alpha = alpha_band_of(*w);
                source = name;
                ++warped;
            }
            if (alpha > 0) {
                const std::string name = vsimem + label + "_tile" + std::to_string(i) + ".vrt";
                out.vsimem_files_.push_back(name);
                alpha_to_mask(source, alpha, name, key);
                source = name;
            }
            sources.push_back(source);
        }
        if (warped > 0) {
            const char* name = epoch_srs->GetName();
            spdlog::info("ingest: {}: {} of {} tiles warped onto the epoch's CRS ({})", key, warped, tiles.size(),
                         name ? name : "?");
        }
        if (sources.size() == 1) {
            epoch.source = sources.front();
            return;
        }
        epoch.source = vsimem + label + "_mosaic.vrt";
        out.vsimem_files_.push_back(epoch.source);
        build_vrt(sources, epoch.source, key);
    };
    mosaic(out.before_, "epochs.before.tiles", "before");
    mosaic(out.after_, "epochs.after.tiles", "after");

    GDALDatasetUniquePtr before_ds(GDALDataset::Open(out.before_.source.c_str(), GDAL_OF_RASTER));
    GDALDatasetUniquePtr after_ds(GDALDataset::Open(out.after_.source.c_str(), GDAL_OF_RASTER));
    if (!before_ds || !after_ds) throw InternalError("ingest: cannot reopen an epoch mosaic: " + last_gdal_error());
    const bool after_is_reference = config.grid.reference == "after";
    GDALDataset& reference = after_is_reference ? *after_ds : *before_ds;
    GDALDataset& other = after_is_reference ? *before_ds : *after_ds;
    const std::string ref_name = after_is_reference ? "after" : "before";

    // Target CRS and pixel size.
    const OGRSpatialReference* ref_srs = reference.GetSpatialRef();
    if (ref_srs) out.srs_ = clone_traditional(*ref_srs);
    if (!config.grid.crs.empty()) out.srs_ = parse_crs(config.grid.crs, "grid.crs");
    double ref_gt[6] = {0, 1, 0, 0, 0, 1};
    const bool plain = [&] {
        double gt[6];
        return reference.GetGeoTransform(gt) != CE_None || (!ref_srs && options.pixel_size_m > 0);
    }();
    if (plain) {
        // A plain image: the pixel grid is the geometry, y pointing down as on a map.
        const double p = options.pixel_size_m > 0 ? options.pixel_size_m : 1.0;
        ref_gt[0] = 0; ref_gt[1] = p; ref_gt[2] = 0; ref_gt[3] = 0; ref_gt[4] = 0; ref_gt[5] = -p;
    } else {
        reference.GetGeoTransform(ref_gt);
    }
    if (std::abs(ref_gt[2]) > 1e-12 || std::abs(ref_gt[4]) > 1e-12)
        throw InputError("ingest: the " + ref_name + " epoch is rotated; north-up rasters are required (gdalwarp it first)");
    double res_x = ref_gt[1], res_y = -ref_gt[5];
    if (config.grid.pixel_size > 0) res_x = res_y = config.grid.pixel_size;

    // Common extent: the reference epoch ∩ the other epoch (in the target CRS) ∩ the AOI.
    auto envelope_of = [&](GDALDataset& ds, const std::string& name) {
        const std::string what = "epochs." + name + ".tiles (" +
                                 join_patterns(name == "before" ? config.before.tiles : config.after.tiles) + ")";
        double gt[6];
        if (ds.GetGeoTransform(gt) != CE_None || (!ds.GetSpatialRef() && options.pixel_size_m > 0))
            return Envelope{ref_gt[0], ref_gt[3] + ds.GetRasterYSize() * ref_gt[5], ref_gt[0] + ds.GetRasterXSize() * ref_gt[1], ref_gt[3]};
        const Envelope e = raster_envelope(ds);
        if (out.srs_ && ds.GetSpatialRef()) return transform_envelope(e, *clone_traditional(*ds.GetSpatialRef()), *out.srs_, what);
        return e;
    };
    const Envelope ref_env = envelope_of(reference, ref_name);
    const Envelope other_env = envelope_of(other, after_is_reference ? "before" : "after");
    Envelope common{std::max(ref_env.minx, other_env.minx), std::max(ref_env.miny, other_env.miny),
                    std::min(ref_env.maxx, other_env.maxx), std::min(ref_env.maxy, other_env.maxy)};
    if (common.empty())
        throw InputError("ingest: the epochs do not overlap: before (epochs.before.tiles: " +
                         join_patterns(config.before.tiles) + ") covers " +
                         envelope_text(after_is_reference ? other_env : ref_env) + ", after (epochs.after.tiles: " +
                         join_patterns(config.after.tiles) + ") covers " +
                         envelope_text(after_is_reference ? ref_env : other_env) +
                         " (working CRS); check that the tiles show the same area");

    if (!config.aoi.empty()) {
        GDALDatasetUniquePtr aoi(GDALDataset::Open(config.aoi.c_str(), GDAL_OF_VECTOR));
        if (!aoi || aoi->GetLayerCount() == 0)
            throw InputError("ingest: aoi: cannot open '" + config.aoi + "' as a polygon layer; check the path");
        OGRLayer* layer = aoi->GetLayer(0);
        auto polygons = std::make_unique<OGRMultiPolygon>();
        for (auto& feature : *layer) {
            const OGRGeometry* g = feature->GetGeometryRef();
            if (!g) continue;
            std::unique_ptr<OGRGeometry> copy(g->clone());
            if (layer->GetSpatialRef() && out.srs_) {
                auto from = clone_traditional(*layer->GetSpatialRef());
                copy->assignSpatialReference(from.get());
                if (copy->transformTo(out.srs_.get()) != OGRERR_NONE)
                    throw InputError("ingest: aoi: cannot transform '" + config.aoi + "' to the working CRS");
            }
            const auto type = wkbFlatten(copy->getGeometryType());
            if (type == wkbPolygon)
                polygons->addGeometry(copy.get());
            else if (type == wkbMultiPolygon)
                for (const auto* p : *copy->toMultiPolygon()) polygons->addGeometry(p);
        }
        if (polygons->IsEmpty())
            throw InputError("ingest: aoi: '" + config.aoi + "' holds no polygon; give a polygon layer");
        OGREnvelope ae;
        polygons->getEnvelope(&ae);
        common = {std::max(common.minx, ae.MinX), std::max(common.miny, ae.MinY), std::min(common.maxx, ae.MaxX),
                  std::min(common.maxy, ae.MaxY)};
        if (common.empty())
            throw InputError("ingest: aoi: '" + config.aoi + "' does not overlap the epochs; check its CRS and extent");
        polygons->assignSpatialReference(nullptr);
        out.aoi_ = std::move(polygons);
    }

    // Snap the common extent outward to the reference grid, so the reference epoch is read
    // pixel for pixel without resampling.
    if (config.grid.crs.empty() && config.grid.pixel_size <= 0) {
        const double c0 = std::floor((common.minx - ref_gt[0]) / res_x + 1e-6);
        const double c1 = std::ceil((common.maxx - ref_gt[0]) / res_x - 1e-6);
        const double r0 = std::floor((ref_gt[3] - common.maxy) / res_y + 1e-6);
        const double r1 = std::ceil((ref_gt[3] - common.miny) / res_y - 1e-6);
        common = {ref_gt[0] + c0 * res_x, ref_gt[3] - r1 * res_y, ref_gt[0] + c1 * res_x, ref_gt[3] - r0 * res_y};
    }
    const double width_px = std::round((common.maxx - common.minx) / res_x);
    const double height_px = std::round((common.maxy - common.miny) / res_y);
    check_grid_size(width_px, height_px, res_x, ref_gt[1], out.srs_.get(), plain ? nullptr : ref_srs,
                    config.grid.pixel_size, ref_name);
    out.width_ = static_cast<int>(width_px);
    out.height_ = static_cast<int>(height_px);
    if (out.width_ <= 0 || out.height_ <= 0)
        throw InputError("ingest: the epochs overlap by less than one pixel; check that the tiles show the same area");
    out.gt_ = {common.minx, res_x, 0, common.maxy, 0, -res_y};

    // Each epoch onto the grid: a pixel offset into its source when it already lies on the
    // grid (read as is), else a warped VRT.
    auto place = [&](AlignedEpochs::Epoch& epoch, GDALDataset& ds, const std::string& key, const std::string& label) {
        double gt[6];
        const bool georef = ds.GetGeoTransform(gt) == CE_None && !(options.pixel_size_m > 0 && !ds.GetSpatialRef());
        if (!georef) {
            if (ds.GetRasterXSize() != reference.GetRasterXSize() || ds.GetRasterYSize() != reference.GetRasterYSize())
                throw InputError("ingest: " + key + ": images without georeferencing must have the same size (" +
                                 std::to_string(ds.GetRasterXSize()) + "×" + std::to_string(ds.GetRasterYSize()) + " vs " +
                                 std::to_string(reference.GetRasterXSize()) + "×" + std::to_string(reference.GetRasterYSize()) + ")");
            epoch.how = "window";
            return;
        }
        const OGRSpatialReference* s = ds.GetSpatialRef();
        const bool same_crs = (!s && !out.srs_) || (s && out.srs_ && s->IsSame(out.srs_.get()));
        const double fx = (out.gt_[0] - gt[0]) / gt[1], fy = (out.gt_[3] - gt[3]) / gt[5];
        const bool aligned = same_crs && std::abs(gt[2]) < 1e-12 && std::abs(gt[4]) < 1e-12 &&
                             std::abs(gt[1] - res_x) < 1e-9 * res_x && std::abs(-gt[5] - res_y) < 1e-9 * res_y &&
                             std::abs(fx - std::round(fx)) < 1e-6 && std::abs(fy - std::round(fy)) < 1e-6;
        const int xoff = static_cast<int>(std::lround(fx)), yoff = static_cast<int>(std::lround(fy));
        if (aligned && xoff >= 0 && yoff >= 0 && xoff + out.width_ <= ds.GetRasterXSize() &&
            yoff + out.height_ <= ds.GetRasterYSize()) {
            epoch.xoff = xoff;
            epoch.yoff = yoff;
            epoch.how = "window";
        } else {
            const std::string warped = vsimem + label + "_on_grid.vrt";
            out.vsimem_files_.push_back(warped);
            warp_to_grid({epoch.source}, warped, out.srs_.get(), common, out.width_, out.height_, config.grid.resampling,
                         true, key);
            epoch.source = warped;
            epoch.how = "warped (" + config.grid.resampling + ")";
        }
    };
    place(out.before_, *before_ds, "epochs.before.tiles", "before");
    place(out.after_, *after_ds, "epochs.after.tiles", "after");

    // Pixel size in metres and the scene centre in degrees.
    if (out.srs_) {
        if (out.srs_->IsGeographic()) {
            const double lat = 0.5 * (common.miny + common.maxy) * M_PI / 180.0;
            out.pixel_width_m_ = res_x * 111320.0 * std::cos(lat);
            out.pixel_height_m_ = res_y * 110574.0;
        } else {
            out.pixel_width_m_ = res_x * linear_units_m(*out.srs_);
            out.pixel_height_m_ = res_y * linear_units_m(*out.srs_);
        }
        OGRSpatialReference wgs84;
        wgs84.SetWellKnownGeogCS("WGS84");
        wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(out.srs_.get(), &wgs84));
        double x = 0.5 * (common.minx + common.maxx), y = 0.5 * (common.miny + common.maxy);
        if (ct && ct->Transform(1, &x, &y)) {
            out.centre_lon_ = x;
            out.centre_lat_ = y;
        }
    } else {
        out.pixel_width_m_ = res_x;
        out.pixel_height_m_ = res_y;
    }
    return out;
}

void throw_no_valid_pixels(const Config& config, const std::string& head) {
    std::string where = "inside the epochs' overlap";
    if (!config.aoi.empty()) where += " and the aoi '" + config.aoi + "'";
    throw NoValidPixelsError(head + ": no pixel has data in both the before (epochs.before.tiles: " +
                             join_patterns(config.before.tiles) + ") and the after epoch (epochs.after.tiles: " +
                             join_patterns(config.after.tiles) + ") " + where +
                             "; check the tiles' nodata value and alpha band, and that the aoi covers imagery");
}

std::unique_ptr<EpochReader> AlignedEpochs::open_reader() const { return std::make_unique<EpochReader>(*this); }

void AlignedEpochs::read_block(bool after, int row0, int rows, kernels::EpochBlock& block) const {
    if (!own_reader_) own_reader_ = open_reader();
    own_reader_->read(after, row0, rows, block);
}

std::string AlignedEpochs::describe() const { return "before: " + before_.how + ", after: " + after_.how; }

EpochReader::EpochReader(const AlignedEpochs& epochs) : epochs_(epochs) {
    auto open = [](const std::string& source) {
        GDALDatasetUniquePtr ds(GDALDataset::Open(source.c_str(), GDAL_OF_RASTER));
        if (!ds) throw InputError("ingest: cannot open '" + source + "': " + last_gdal_error());
        return ds;
    };
    before_ = open(epochs.before_.source);
    after_ = open(epochs.after_.source);
    // An alpha band GDAL already serves as the role bands' mask (RGBA) is read with the masks.
    auto alpha_of = [&](GDALDataset& ds) {
        const int alpha = alpha_band_of(ds);
        return alpha > 0 && !(ds.GetRasterBand(epochs.roles_.red)->GetMaskFlags() & GMF_ALPHA) ? alpha : 0;
    };
    alpha_before_ = alpha_of(*before_);
    alpha_after_ = alpha_of(*after_);
}

EpochReader::~EpochReader() = default;

void EpochReader::read(bool after, int row0, int rows, kernels::EpochBlock& block) {
    const AlignedEpochs::Epoch& epoch = after ? epochs_.after_ : epochs_.before_;
    GDALDataset& ds = after ? *after_ : *before_;
    const int width = epochs_.width_;
    const int x0 = epoch.xoff, y0 = epoch.yoff + row0;
    const cv::Size size(width, rows);
    const BandRoles& roles = epochs_.roles_;

    // Native types stay native: the detector reads uint8/uint16/int16 directly.
    // Mixed types across the role bands are read as Float32, so nothing is clipped.
    GDALDataType native = ds.GetRasterBand(roles.red)->GetRasterDataType();
    for (int band : {roles.blue, roles.green, roles.nir})
        if (band > 0 && ds.GetRasterBand(band)->GetRasterDataType() != native) native = GDT_Float32;
    const int cv_type = native == GDT_Byte ? CV_8UC1 : native == GDT_UInt16 ? CV_16UC1 : native == GDT_Int16 ? CV_16SC1 : CV_32FC1;
    const GDALDataType read_type = cv_type == CV_32FC1 ? GDT_Float32 : native;

    // All role bands in one dataset-level request: a pixel-interleaved tile is then decoded once
    // per strip instead of once per band (band-by-band reads of a 4-band 8192-wide strip
    // re-decoded evicted tiles and took 5× longer, measured with a 64 MB block cache).
    int bands[4];
    cv::Mat* views[4];
    int n = 0;
    for (auto [band, view] : {std::pair{roles.blue, &block.blue}, {roles.green, &block.green}, {roles.red, &block.red},
                              {roles.nir, &block.nir}}) {
        if (band <= 0) {
            view->release();
            continue;
        }
        bands[n] = band;
        views[n++] = view;
    }
    cv::Mat& planes = after ? planes_after_ : planes_before_;
    planes.create(rows * n, width, cv_type);
    const std::size_t element = CV_ELEM_SIZE(cv_type);
    const char* interleave = ds.GetMetadataItem("INTERLEAVE", "IMAGE_STRUCTURE");
    // GDAL says which file failed and why (libtiff: "after.tif: Read error at scanline …"):
    // kept from this thread's messages, which a later call could reset.
    std::optional<GdalWarnings> gdal_messages(std::in_place);
    CPLErr err;
    if (interleave && EQUAL(interleave, "PIXEL") && n > 1) {
        // Pixel-interleaved files are read into a pixel-interleaved buffer, which lets GDAL copy
        // tiles straight from the file (GTIFF_DIRECT_IO), then split into planes: 0.4 s instead
        // of 1.9 s of thread time for two 8192² 4-band epochs, measured with weipian bench.
        // In column chunks of whole 256-px tiles, so the interleaved buffer stays small
        // (256 rows × 2048 px × 4 bands × 2 B = 4 MB instead of 32 MB per epoch at 16384 px).
        cv::Mat& packed = after ? packed_after_ : packed_before_;
        constexpr int kChunk = 2048;
        err = CE_None;
        for (int c0 = 0; c0 < width && err == CE_None; c0 += kChunk) {
            const int cols = std::min(kChunk, width - c0);
            packed.create(rows, cols, CV_MAKETYPE(CV_MAT_DEPTH(cv_type), n));
            err = ds.RasterIO(GF_Read, x0 + c0, y0, cols, rows, packed.data, cols, rows, read_type, n, bands,
                              static_cast<GSpacing>(element * n), static_cast<GSpacing>(packed.step),
                              static_cast<GSpacing>(element), nullptr);
            if (err != CE_None) break;
            cv::Mat split[4];
            for (int i = 0; i < n; ++i) split[i] = planes.rowRange(i * rows, (i + 1) * rows).colRange(c0, c0 + cols);
            cv::split(packed, split);
        }
    } else {
        err = ds.RasterIO(GF_Read, x0, y0, width, rows, planes.data, width, rows, read_type, n, bands, 0,
                          static_cast<GSpacing>(planes.step), static_cast<GSpacing>(planes.step) * rows, nullptr);
    }
    if (err != CE_None) {
        std::string detail;
        for (const auto& m : gdal_messages->messages()) detail += (detail.empty() ? "" : "; ") + m;
        gdal_messages.reset();
        if (detail.empty()) detail = last_gdal_error();
        const std::string name = after ? "after" : "before";
        throw InputError("ingest: cannot read rows " + std::to_string(row0) + "–" + std::to_string(row0 + rows) + " of the " +
                         name + " epoch (epochs." + name + ".tiles: " + join_patterns(epoch.files) + "): " + detail +
                         "; a tile is truncated or corrupt: check each with `gdalinfo -checksum FILE` and copy it again");
    }
    gdal_messages.reset();
    for (int i = 0; i < n; ++i) *views[i] = planes.rowRange(i * rows, (i + 1) * rows);

    // Validity: every role band's mask (nodata, alpha, per-dataset mask), and the AOI.
    block.valid.create(size, CV_8UC1);
    block.valid.setTo(1);
    scratch_.create(size, CV_8UC1);
    bool per_dataset_done = false;
    for (int band : {roles.blue, roles.green, roles.red, roles.nir}) {
        if (band <= 0) continue;
        GDALRasterBand* b = ds.GetRasterBand(band);
        const int flags = b->GetMaskFlags();
        if (flags & GMF_ALL_VALID) continue;
        if (flags & GMF_PER_DATASET) {
            if (per_dataset_done) continue;
            per_dataset_done = true;
        }
        if (b->GetMaskBand()->RasterIO(GF_Read, x0, y0, width, rows, scratch_.data, width, rows, GDT_Byte, 0,
                                       static_cast<GSpacing>(scratch_.step)) != CE_None)
            throw InputError("ingest: cannot read the validity mask of the " + std::string(after ? "after" : "before") +
                             " epoch: " + last_gdal_error());
        block.valid.setTo(0, scratch_ == 0);
    }
    // An alpha band (a warped epoch's coverage, `gdalwarp -dstalpha`): alpha 0 = no data.
    if (const int alpha = after ? alpha_after_ : alpha_before_) {
        if (ds.GetRasterBand(alpha)->RasterIO(GF_Read, x0, y0, width, rows, scratch_.data, width, rows, GDT_Byte, 0,
                                              static_cast<GSpacing>(scratch_.step)) != CE_None)
            throw InputError("ingest: cannot read the alpha band of the " + std::string(after ? "after" : "before") +
                             " epoch: " + last_gdal_error());
        block.valid.setTo(0, scratch_ == 0);
    }
    if (epochs_.aoi_) {
        // Rasterize the AOI onto this strip only, so memory follows the strip.
        scratch_.setTo(0);
        GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
        GDALDatasetUniquePtr strip(mem->Create("", width, rows, 0, GDT_Byte, nullptr));
        char pointer[64];
        CPLPrintPointer(pointer, scratch_.data, sizeof(pointer));
        char** band_options = CSLSetNameValue(nullptr, "DATAPOINTER", pointer);
        band_options = CSLSetNameValue(band_options, "LINEOFFSET", std::to_string(scratch_.step).c_str());
        strip->AddBand(GDT_Byte, band_options);
        CSLDestroy(band_options);
        const GeoTransform& g = epochs_.gt_;
        double gt[6] = {g[0], g[1], g[2], g[3] + row0 * g[5], g[4], g[5]};
        strip->SetGeoTransform(gt);
        int band = 1;
        double burn = 1;
        OGRGeometryH geometry = OGRGeometry::ToHandle(epochs_.aoi_.get());
        if (GDALRasterizeGeometries(GDALDataset::ToHandle(strip.get()), 1, &band, 1, &geometry, nullptr, nullptr, &burn,
                                    nullptr, nullptr, nullptr) != CE_None)
            throw InputError("ingest: aoi: cannot rasterize the AOI: " + last_gdal_error());
        block.valid.setTo(0, scratch_ == 0);
    }
}

static_assert(Stage<IngestStage>);

void IngestStage::validate() const {
    expand_tiles(config_.before.tiles, "epochs.before.tiles");
    expand_tiles(config_.after.tiles, "epochs.after.tiles");
}

AlignedEpochs IngestStage::run() const { return ingest_epochs(config_, options_.ingest); }

}  // namespace weipian
