#include "pipeline/main_job.hpp"

#include <chrono>
#include <limits>
#include <optional>

#include <gdal_priv.h>
#include <spdlog/spdlog.h>

#include "pipeline/core/errors.hpp"
#include "ledger/ledger.hpp"
#include "pipeline/emit.hpp"
#include "pipeline/overlay.hpp"
#include "pipeline/polygonize.hpp"
#include "pipeline/core/township_summary.hpp"
#include "pipeline/scheduler.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void check_method(const Config& config) {
    if (config.detect.method != "construction")
        throw ConfigError("config: key 'detect.method': '" + config.detect.method + "' is not a known detector");
}

std::int64_t min_pixels_of(const Config& config, const AlignedEpochs& epochs) {
    return config.clean.min_area_m2 > 0
               ? kernels::area_in_pixels(config.clean.min_area_m2, epochs.pixel_width_m() * epochs.pixel_height_m())
               : 1;
}

}  // namespace

ChangeMask detect_change(const AlignedEpochs& epochs, const Config& config) {
    check_method(config);
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
    out.components = kernels::remove_small_components(out.mask, min_pixels_of(config, epochs), config.clean.connectivity);
    out.timings = stats.to_json();
    out.timings["wall"] = seconds_since(start);
    return out;
}

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

RunSummary run_main_job(const Config& config) {
    check_method(config);
    const auto job_start = Clock::now();
    nlohmann::json timings = nlohmann::json::object();
    auto start = Clock::now();
    AlignedEpochs epochs = ingest_epochs(config);
    if (!epochs.srs()) throw InternalError("run: ingest returned no CRS");
    // Overlay layers are opened and checked before any pixel is read.
    OverlayStage overlay(config.overlay, *epochs.srs(), epochs.centre_lon(), epochs.centre_lat());
    overlay.validate();
    timings["ingest"] = seconds_since(start);
    spdlog::info("ingest: {}×{} px at {:.3g} m ({})", epochs.width(), epochs.height(), epochs.pixel_width_m(),
                 epochs.describe());

    // Read → detect → clean → label → polygonize, streamed.
    start = Clock::now();
    SceneStream stream(epochs, config);
    StreamStats stats;
    const float threshold = stream.threshold(stats);
    const std::vector<PatchPolygon> polygons = stream.run(threshold, min_pixels_of(config, epochs), {}, stats);
    timings["stream"] = seconds_since(start);
    spdlog::info("detect: threshold {:.3f}, {} px flagged, {} patches after cleaning ({} rows a strip, {} tokens)",
                 threshold, stats.raw_pixels.load(), polygons.size(), stream.strip_rows(), stream.tokens());

    start = Clock::now();
    std::vector<Parcel> patches;
    patches.reserve(polygons.size());
    for (const auto& p : polygons) {
        Parcel parcel;
        parcel.patch_id = static_cast<std::int64_t>(patches.size()) + 1;
        parcel.id = parcel.patch_id;
        parcel.geometry = to_geometry(p.polygon, epochs.geotransform());
        parcel.pixel_count = p.area;
        parcel.change_score = p.score_sum / static_cast<double>(p.area);
        patches.push_back(std::move(parcel));
    }
    std::vector<Parcel> parcels = overlay.run(std::move(patches));
    timings["overlay"] = seconds_since(start);

    start = Clock::now();
    const std::vector<TownshipSummary> rows = summarize_by_township(parcels);
    const TownshipSummary total = total_of(rows);
    double area_m2 = 0;
    for (const auto& p : parcels) area_m2 += p.area_m2;
    OutputStaging staging(config.output_dir);
    ParcelAttributes attributes{config.before.date, config.after.date};
    attributes.cultivated_assessed = config.overlay.cultivated.configured();
    write_parcels_gpkg(staging.dir() / "parcels.gpkg", parcels, *epochs.srs(), attributes);
    write_townships_csv(staging.dir() / "townships.csv", rows);
    write_summary_txt(staging.dir() / "summary.txt", config.county.name, attributes, rows);
    timings["emit"] = seconds_since(start);

    // The ledger is fed (in one transaction) before the outputs appear: a failing feed fails the
    // run with no outputs, and a crash after the feed is harmless (the rerun is a no-op there).
    std::optional<LedgerFeedSummary> fed;
    if (config.ledger.configured()) {
        start = Clock::now();
        fed = feed_ledger(config.ledger, parcels, *epochs.srs(), feed_context_for(config));
        timings["ledger"] = seconds_since(start);
    }
    timings["total"] = seconds_since(job_start);

    nlohmann::json report;
    report["version"] = WEIPIAN_VERSION;
    report["inputs"] = {{"before", epochs.before_files()}, {"after", epochs.after_files()},
                        {"config", config.source.string()}, {"alignment", epochs.describe()}};
    report["config"] = config.to_json();
    char* wkt = nullptr;
    epochs.srs()->exportToWkt(&wkt);
    report["grid"] = {{"width", epochs.width()},
                      {"height", epochs.height()},
                      {"geotransform", epochs.geotransform()},
                      {"pixel_size_m", {epochs.pixel_width_m(), epochs.pixel_height_m()}},
                      {"crs_wkt", wkt ? wkt : ""}};
    CPLFree(wkt);
    const char* area_name = overlay.area_crs().GetName();
    report["area_crs"] = area_name ? area_name : "";
    report["counts"] = {{"valid_pixels", stats.valid_pixels.load()},
                        {"flagged_pixels_raw", stats.raw_pixels.load()},
                        {"patches", polygons.size()},
                        {"parcels", parcels.size()},
                        {"townships", rows.size()},
                        {"area_m2", area_m2},
                        {"area_mu", format_mu(total.area_centimu)},
                        {"cultivated_cases", total.cultivated_cases},
                        {"cultivated_mu", format_mu(total.cultivated_centimu)}};
    report["threshold"] = threshold;
    report["streaming"] = {{"strip_rows", stream.strip_rows()}, {"halo_rows", stream.halo()}, {"tokens", stream.tokens()}};
    report["timings_s"] = timings;            // wall clock per phase
    report["stage_thread_s"] = stats.to_json();  // thread time per streamed stage, summed over strips
    if (fed) report["ledger"] = fed->to_json();
    write_json(staging.dir() / "run.json", report);
    staging.commit();

    RunSummary summary;
    summary.output_dir = config.output_dir;
    summary.parcels = static_cast<std::int64_t>(parcels.size());
    summary.area_mu = static_cast<double>(total.area_centimu) / 100.0;
    summary.report = std::move(report);
    return summary;
}

}  // namespace weipian
