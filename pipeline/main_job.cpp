#include "pipeline/main_job.hpp"

#include <glob.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "pipeline/chips.hpp"
#include "pipeline/clean.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/location.hpp"
#include "pipeline/core/township_summary.hpp"
#include "pipeline/detect.hpp"
#include "pipeline/emit.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/overlay.hpp"
#include "pipeline/package.hpp"
#include "pipeline/patch_type.hpp"
#include "pipeline/polygonize.hpp"
#include "pipeline/prejudge.hpp"
#include "pipeline/scheduler.hpp"
#include "pipeline/stage.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using Clock = StageClock;

// The files a tile list names: each glob expanded, a pattern matching nothing kept as given.
std::vector<fs::path> expand_tile_paths(const std::vector<std::string>& patterns) {
    std::vector<fs::path> files;
    for (const auto& pattern : patterns) {
        glob_t matches{};
        if (::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &matches) == 0)
            for (std::size_t i = 0; i < matches.gl_pathc; ++i) files.emplace_back(matches.gl_pathv[i]);
        else
            files.emplace_back(pattern);
        ::globfree(&matches);
    }
    return files;
}

}  // namespace

void check_run_paths(const Config& config, const RunOptions& options) {
    const fs::path out = config.output_dir;
    for (const auto& tile : expand_tile_paths(config.before.tiles)) refuse_inside_output(out, tile, "input tile (before)");
    for (const auto& tile : expand_tile_paths(config.after.tiles)) refuse_inside_output(out, tile, "input tile (after)");
    if (!config.source.empty()) refuse_inside_output(out, config.source, "config file");
    if (!config.aoi.empty()) refuse_inside_output(out, config.aoi, "AOI (aoi)");
    if (!config.overlay.townships.path.empty())
        refuse_inside_output(out, config.overlay.townships.path, "township layer (overlay.townships.path)");
    if (!config.overlay.cultivated.path.empty())
        refuse_inside_output(out, config.overlay.cultivated.path, "cultivated-land layer (overlay.cultivated.path)");
    for (const auto& [layer, what] : {std::pair<const VectorLayerConfig*, const char*>{&config.overlay.permanent_farmland, "permanent-farmland layer (overlay.permanent_farmland.path)"},
                                      {&config.overlay.redline, "ecological-redline layer (overlay.redline.path)"},
                                      {&config.overlay.urban_boundary, "urban-boundary layer (overlay.urban_boundary.path)"},
                                      {&config.overlay.villages, "village layer (overlay.villages.path)"}})
        if (layer->configured()) refuse_inside_output(out, layer->path, what);
    for (std::size_t i = 0; i < config.overlay.approvals.size(); ++i)
        refuse_inside_output(out, config.overlay.approvals[i].path,
                             "approval layer (overlay.approvals[" + std::to_string(i + 1) + "].path)");
    if (config.ledger.configured() && !is_postgres_ledger(config.ledger.path))
        refuse_inside_output(out, config.ledger.path, "ledger (--ledger / ledger.path)");
    check_output_folder(out, options.overwrite, "--out (output.dir)");
}

RunSummary run_main_job(const Config& config, const RunOptions& options) {
    ParcelSink* const sink = options.sink;
    const DetectStage detect(config);
    detect.validate();  // learned: the model is loaded (and refused when missing or corrupt) before any pixel is read
    const CleanStage clean(CleanStage::Options::from(config));
    clean.validate();
    const EmitStage emit(EmitStage::Options::from(config));
    emit.validate();
    if (config.ledger.configured() && !sink)
        throw InternalError("run: ledger.path is set but no ledger is wired to the main job");
    check_run_paths(config, options);
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
    SceneStream stream(epochs, config, detect.model());  // learned: the model is checked against the epochs here
    StreamStats stats;
    const float threshold = stream.threshold(stats);
    // Progress: the share of the scene's rows whose strips have been labelled (strips done / strips).
    std::function<void(const Strip&)> strip_done;
    if (options.progress) {
        options.progress(0.0, "detect", options.progress_data);
        const double rows = std::max(1, epochs.height());
        strip_done = [&options, rows](const Strip& s) {
            options.progress(std::min(1.0, (s.row0 + s.rows) / rows), "detect", options.progress_data);
        };
    }
    const std::vector<PatchPolygon> polygons =
        stream.run(threshold, clean.min_pixels(epochs.pixel_width_m() * epochs.pixel_height_m()), strip_done, stats);
    if (options.progress) options.progress(1.0, "detect", options.progress_data);
    // All nodata, fully transparent, or an AOI over a gap: "no valid pixels", not "nothing found".
    if (stats.valid_pixels == 0) throw_no_valid_pixels(config, "run: no valid pixels");
    timings["stream"] = seconds_since(start);
    spdlog::info("detect: {} threshold {:.3f}, {} px flagged, {} patches after cleaning ({} rows a strip, {} tokens)",
                 config.detect.method, threshold, stats.raw_pixels.load(), polygons.size(), stream.strip_rows(), stream.tokens());

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
    assign_patch_types(parcels, epochs, config.overlay.cultivated.configured());
    nlohmann::json by_type = nlohmann::json::object();
    for (const auto& p : parcels) by_type[p.tblx] = by_type.value(p.tblx, 0) + 1;
    timings["patch_type"] = seconds_since(start);

    // ---- pre-judgement (issue 9): after the patch types (greenhouses), before the ledger sink
    // (cases store cp_verdict/cp_category/cp_rule).
    start = Clock::now();
    const PrejudgeStage prejudge(PrejudgeStage::Options::from(config));
    prejudge.validate();
    prejudge.run(parcels, epochs.srs(), &overlay.area_crs());
    timings[std::string(PrejudgeStage::name)] = seconds_since(start);

    if (options.select) options.select(parcels, *epochs.srs());

    // The sink (the case ledger) is fed, in one transaction, before the outputs are written, so
    // the parcels carry their case and lead ids: a failing feed fails the run with no outputs,
    // and a crash after the feed is harmless (the rerun feeds nothing and sets the same ids).
    std::optional<nlohmann::json> fed;
    if (sink) {
        start = Clock::now();
        fed = sink->accept(parcels, *epochs.srs(), config);
        timings[sink->name()] = seconds_since(start);
    }

    start = Clock::now();
    double area_m2 = 0;
    for (const auto& p : parcels) area_m2 += p.area_m2;
    OutputFolder staging(config.output_dir, options.overwrite, "--out (output.dir)");
    const std::vector<TownshipSummary> rows = emit.run(staging.dir(), parcels, *epochs.srs());
    const TownshipSummary total = total_of(rows);
    timings["emit"] = seconds_since(start);

    // The verification package (issue 10): chips/<id>_qsx.jpg, _hsx.jpg and overview.jpg, then
    // index.html, cards/, parcels.kmz and the QGIS style, all into the staging folder.
    std::vector<ChipFiles> chips;
    OverviewImage overview;
    overview.file.clear();  // none unless written
    if (config.package.chips) {
        start = Clock::now();
        const ChipStyle chip_style = ChipStyle::from(config);
        chips = write_parcel_chips(staging.dir(), epochs, parcels, chip_style, config.before.date, config.after.date);
        if (config.package.html) overview = write_overview(staging.dir(), epochs, parcels, chip_style);
        if (!parcels.empty()) write_chip_sheet(staging.dir() / "chips" / "sheet.jpg", staging.dir(), parcels);
        timings["chips"] = seconds_since(start);
        spdlog::info("chips: {} before/after pairs in chips/, overview.jpg ({:.1f} s)", chips.size(), timings["chips"].get<double>());
    }
    start = Clock::now();
    {
        PackageInputs package;
        package.dir = staging.dir();
        package.parcels = &parcels;
        package.townships = &rows;
        package.srs = epochs.srs();
        package.chips = std::move(chips);
        package.overview = std::move(overview);
        package.county_name = config.county.name;
        package.before_date = config.before.date;
        package.after_date = config.after.date;
        write_verification_package(package, config.package);
    }
    timings["package"] = seconds_since(start);
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
                        {"cultivated_mu", format_mu(total.cultivated_centimu)},
                        {"tblx", by_type}};
    if (stream.threshold_degenerate().empty()) {
        report["threshold"] = threshold;
    } else {
        report["threshold"] = nullptr;  // no pixel flagged: see threshold_degenerate
        report["threshold_degenerate"] = stream.threshold_degenerate();
    }
    report["detector"] = describe_detector(config, stream.model(), threshold);
    if (stream.learned()) report["detector"]["evaluated_pixels"] = stats.evaluated_pixels.load();
    report["streaming"] = {{"strip_rows", stream.strip_rows()}, {"halo_rows", stream.halo()}, {"tokens", stream.tokens()}};
    report["timings_s"] = timings;            // wall clock per phase
    report["stage_thread_s"] = stats.to_json();  // thread time per streamed stage, summed over strips
    if (config.prejudge.enabled) {
        nlohmann::json figures = prejudge_json(summarize_prejudgement(parcels, rows, config.prejudge, config.overlay.cultivated.configured()));
        report["prejudgement"] = std::move(figures["counts"]);
        report["prejudgement_ratio"] = std::move(figures["ratio"]);
    } else {
        report["prejudgement"] = nullptr;
    }
    if (fed) report[sink->name()] = std::move(*fed);
    write_json(staging.dir() / "run.json", report);
    staging.commit();

    RunSummary summary;
    summary.output_dir = config.output_dir;
    summary.parcels = static_cast<std::int64_t>(parcels.size());
    summary.area_mu = static_cast<double>(total.area_centimu) / 100.0;
    summary.report = std::make_shared<const nlohmann::json>(std::move(report));
    return summary;
}

}  // namespace weipian
