#include "pipeline/run.hpp"

#include <chrono>
#include <thread>

#include <gdal_priv.h>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>

#include "kernels/detect.hpp"
#include "kernels/polygonize.hpp"
#include "kernels/threshold.hpp"
#include "pipeline/errors.hpp"
#include "pipeline/outputs.hpp"
#include "pipeline/overlay.hpp"
#include "pipeline/polygons.hpp"
#include "pipeline/report.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

ChangeMask detect_change(const AlignedEpochs& epochs, const Config& config) {
    if (config.detect.method != "construction")
        throw ConfigError("config: key 'detect.method': '" + config.detect.method + "' is not a known detector");
    ChangeMask out;
    const int width = epochs.width(), height = epochs.height();
    out.mask.create(height, width, CV_8UC1);
    cv::Mat score(height, width, CV_32FC1);
    out.valid.create(height, width, CV_8UC1);
    cv::Mat& valid = out.valid;

    kernels::ConstructionParams params;
    params.brightness_weight = static_cast<float>(config.detect.brightness_weight);
    params.after_vegetation_max = static_cast<float>(config.detect.after_vegetation_max);
    const bool automatic = !config.detect.threshold.has_value();
    // With an automatic threshold the first pass marks every eligible pixel (valid, not
    // vegetated after) and the threshold is applied once the histogram is known.
    params.threshold = automatic ? -std::numeric_limits<float>::infinity() : static_cast<float>(*config.detect.threshold);

    auto start = Clock::now();
    kernels::EpochBlock before, after;
    kernels::ScoreHistogram histogram;
    for (int row0 = 0; row0 < height; row0 += config.processing.block_size) {
        const int rows = std::min(config.processing.block_size, height - row0);
        epochs.read_block(false, row0, rows, before);
        epochs.read_block(true, row0, rows, after);
        cv::Mat score_rows = score.rowRange(row0, row0 + rows);
        cv::Mat mask_rows = out.mask.rowRange(row0, row0 + rows);
        kernels::detect_construction(before, after, params, score_rows, mask_rows);
        cv::Mat valid_rows = valid.rowRange(row0, row0 + rows);
        cv::bitwise_and(before.valid, after.valid, valid_rows);
        out.valid_pixels += cv::countNonZero(valid_rows);
        if (automatic)
            for (int y = 0; y < rows; ++y)
                histogram.add(score_rows.ptr<float>(y), mask_rows.ptr<std::uint8_t>(y), static_cast<std::size_t>(width));
    }
    if (automatic) {
        out.threshold = histogram.total() > 0 ? kernels::otsu_threshold(histogram) : 0.0f;
        cv::Mat above = score > out.threshold;
        cv::bitwise_and(out.mask, above / 255, out.mask);
    } else {
        out.threshold = params.threshold;
    }
    out.raw_pixels = cv::countNonZero(out.mask);
    out.timings["detect"] = seconds_since(start);

    start = Clock::now();
    const int open_px = kernels::radius_in_pixels(config.clean.open_radius_m, epochs.pixel_width_m());
    const int close_px = kernels::radius_in_pixels(config.clean.close_radius_m, epochs.pixel_width_m());
    kernels::open_close(out.mask, open_px, close_px, valid);
    const std::int64_t min_pixels =
        config.clean.min_area_m2 > 0
            ? kernels::area_in_pixels(config.clean.min_area_m2, epochs.pixel_width_m() * epochs.pixel_height_m())
            : 1;
    out.components = kernels::remove_small_components(out.mask, min_pixels, config.clean.connectivity);
    out.score_sum.assign(out.components.areas.size(), 0.0);
    for (int y = 0; y < height; ++y) {
        const int* l = out.components.labels.ptr<int>(y);
        const float* s = score.ptr<float>(y);
        for (int x = 0; x < width; ++x)
            if (l[x]) out.score_sum[static_cast<std::size_t>(l[x])] += s[x];
    }
    out.timings["clean"] = seconds_since(start);
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

    ChangeMask change = detect_change(epochs, config);
    timings.update(change.timings);
    spdlog::info("detect: threshold {:.3f}, {} px flagged, {} parcels after cleaning", change.threshold,
                 change.raw_pixels, change.components.count());

    start = Clock::now();
    std::vector<kernels::PixelPolygon> polygons = kernels::polygonize(change.mask, config.clean.connectivity, 1);
    std::vector<Parcel> patches;
    patches.reserve(polygons.size());
    for (const auto& polygon : polygons) {
        Parcel p;
        p.patch_id = static_cast<std::int64_t>(patches.size()) + 1;
        p.id = p.patch_id;
        p.geometry = to_geometry(polygon, epochs.geotransform());
        p.pixel_count = polygon.pixel_count;
        const int label = change.components.labels.at<int>(polygon.first_pixel);
        p.change_score = label > 0 ? change.score_sum[static_cast<std::size_t>(label)] /
                                         static_cast<double>(change.components.areas[static_cast<std::size_t>(label)])
                                   : 0.0;
        patches.push_back(std::move(p));
    }
    timings["polygonize"] = seconds_since(start);

    start = Clock::now();
    std::vector<Parcel> parcels = overlay.run(std::move(patches));
    timings["overlay"] = seconds_since(start);

    start = Clock::now();
    const std::vector<TownshipSummary> rows = summarize_by_township(parcels);
    const TownshipSummary total = total_of(rows);
    double area_m2 = 0;
    for (const auto& p : parcels) area_m2 += p.area_m2;
    OutputStaging staging(config.output_dir);
    const ParcelAttributes attributes{config.before.date, config.after.date};
    write_parcels_gpkg(staging.dir() / "parcels.gpkg", parcels, *epochs.srs(), attributes);
    write_townships_csv(staging.dir() / "townships.csv", rows);
    write_summary_txt(staging.dir() / "summary.txt", config.county.name, attributes, rows);
    timings["emit"] = seconds_since(start);
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
    char* area_wkt = nullptr;
    overlay.area_crs().exportToWkt(&area_wkt);
    const char* area_name = overlay.area_crs().GetName();
    report["area_crs"] = area_name ? area_name : (area_wkt ? area_wkt : "");
    CPLFree(area_wkt);
    report["counts"] = {{"valid_pixels", change.valid_pixels},
                        {"flagged_pixels_raw", change.raw_pixels},
                        {"patches", change.components.count()},
                        {"parcels", parcels.size()},
                        {"townships", rows.size()},
                        {"area_m2", area_m2},
                        {"area_mu", format_mu(total.area_centimu)},
                        {"cultivated_cases", total.cultivated_cases},
                        {"cultivated_mu", format_mu(total.cultivated_centimu)}};
    report["threshold"] = change.threshold;
    report["timings_s"] = timings;
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
