#include "pipeline/patch_type.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <memory>
#include <utility>

#include <spdlog/spdlog.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/rasterize.hpp"

namespace weipian {

namespace {

std::string fixed(double value, int digits = 2) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

bool striped(const kernels::PatchStats& s) { return s.anisotropy >= 0.3 && s.stripe_regularity >= 0.3; }

}  // namespace

const std::vector<PatchTypeCode>& patch_type_codes() {
    static const std::vector<PatchTypeCode> codes = {
        {"20", "建筑", "building: roofs, steel sheds"},
        {"YH", "硬化", "hardened ground: concrete, asphalt, gravel yards"},
        {"DT", "动土", "earthworks: bare, dug, heaped or levelled earth (TD/TP refined in the field)"},
        {"GF", "光伏", "solar farm: rows of dark panels"},
        {"DP", "大棚", "greenhouse (facility agriculture): checked against the filings, not a building"},
        {"DL", "道路", "road (grade DL1–DL3 set in the field)"},
        {"QT", "其他", "other, or too small to type"},
    };
    return codes;
}

PatchType classify_patch(const kernels::PatchStats& s, double pixel_size_m, std::optional<double> cultivated_share) {
    PatchType t;
    const auto decide = [&](const char* code, std::string reason) {
        t.code = code;
        t.reason = std::move(reason);
        t.filing_check = t.code == "DP";
        return t;
    };
    if (s.pixels < kPatchTypeMinPixels)
        return decide("QT", "rule 1: " + std::to_string(s.pixels) + " px, too small to type");
    const double rel = s.surround_brightness > 0 ? s.brightness / s.surround_brightness : 1.0;
    const double width_m = s.width_px * pixel_size_m;
    const double period_m = s.stripe_period_px * pixel_size_m;
    const double variation = s.brightness > 0 ? s.brightness_sd / s.brightness : 0.0;
    if (s.elongation >= 6 && width_m >= 2 && width_m <= 30)
        return decide("DL", "rule 2: elongation " + fixed(s.elongation, 1) + ", width " + fixed(width_m, 1) + " m");
    if (rel <= 0.8 && s.vi < 0.3 && striped(s))
        return decide("GF", "rule 3: " + fixed(rel) + " × the surroundings' brightness, stripes (anisotropy " +
                                fixed(s.anisotropy) + ", regularity " + fixed(s.stripe_regularity) + ")");
    const bool on_cultivated = !cultivated_share || *cultivated_share >= 0.5;
    if (rel >= 1.15 && s.saturation <= 0.2 && striped(s) && period_m >= 2 && period_m <= 30 && on_cultivated)
        return decide("DP", "rule 4: " + fixed(rel) + " × the surroundings' brightness, saturation " + fixed(s.saturation) +
                                ", stripes every " + fixed(period_m, 1) + " m" +
                                (cultivated_share ? ", " + fixed(100 * *cultivated_share, 0) + " % on cultivated land"
                                                  : std::string(", cultivated land not assessed")));
    if (s.blue_share >= 0.5 && s.saturation >= 0.15)
        return decide("20", "rule 5: blue steel-sheet roof (" + fixed(100 * s.blue_share, 0) + " % blue pixels)");
    const bool brown = s.saturation >= 0.18 && s.blue_share < 0.3;
    if (brown && s.vi < 0.2 && (variation >= 0.03 || s.edge_density >= 0.1))
        return decide("DT", "rule 6: bare earth (saturation " + fixed(s.saturation) + ", brightness variation " +
                                fixed(variation, 3) + ", edge density " + fixed(s.edge_density) + ")");
    if (s.compactness >= 0.45 && (s.edge_density >= 0.15 || s.shadow_share >= 0.15))
        return decide("20", "rule 7: compact (" + fixed(s.compactness) + ") with edge density " + fixed(s.edge_density) +
                                ", shadow " + fixed(100 * s.shadow_share, 0) + " % of the outline");
    if (rel >= 1.1 && s.saturation < 0.18)
        return decide("YH", "rule 8: bright (" + fixed(rel) + " × the surroundings) and grey (saturation " +
                                fixed(s.saturation) + ")");
    if (brown && s.compactness >= 0.45)
        return decide("20", "rule 9: brown, smooth and compact (tiled roof)");
    return decide("QT", "rule 10: no rule matched");
}

void assign_patch_types(std::vector<Parcel>& parcels, const AlignedEpochs& epochs, bool cultivated_assessed) {
    if (parcels.empty()) return;
    const GeoTransform& gt = epochs.geotransform();
    if (gt[2] != 0 || gt[4] != 0) {
        // A rotated grid: the windows below assume a north-up grid.
        for (auto& p : parcels) p.tblx = "QT";
        spdlog::warn("patch type: the grid is rotated; every parcel is typed QT (other)");
        return;
    }
    struct Window {
        std::size_t parcel;
        int col0, row0, col1, row1;
    };
    std::vector<Window> windows;
    windows.reserve(parcels.size());
    for (std::size_t i = 0; i < parcels.size(); ++i) {
        const auto& g = parcels[i].geometry;
        if (!g) throw InternalError("patch type: parcel " + std::to_string(parcels[i].id) + " has no geometry");
        OGREnvelope e;
        g->getEnvelope(&e);
        // Pixel bounds of the envelope (dy < 0 for a north-up grid: MaxY is the top row).
        double c0 = (e.MinX - gt[0]) / gt[1], c1 = (e.MaxX - gt[0]) / gt[1];
        double r0 = (e.MaxY - gt[3]) / gt[5], r1 = (e.MinY - gt[3]) / gt[5];
        if (c0 > c1) std::swap(c0, c1);
        if (r0 > r1) std::swap(r0, r1);
        Window w{i, std::max(0, static_cast<int>(std::floor(c0)) - kPatchTypeMarginPx),
                 std::max(0, static_cast<int>(std::floor(r0)) - kPatchTypeMarginPx),
                 std::min(epochs.width(), static_cast<int>(std::ceil(c1)) + kPatchTypeMarginPx),
                 std::min(epochs.height(), static_cast<int>(std::ceil(r1)) + kPatchTypeMarginPx)};
        if (w.col1 <= w.col0 || w.row1 <= w.row0) {
            parcels[i].tblx = "QT";
            continue;
        }
        windows.push_back(w);
    }
    std::sort(windows.begin(), windows.end(), [](const Window& a, const Window& b) { return a.row0 < b.row0; });
    // Groups of windows read as one strip: at most kStripRows rows unless one window is taller.
    constexpr int kStripRows = 256;
    const double pixel_m = std::sqrt(epochs.pixel_width_m() * epochs.pixel_height_m());
    // Groups of windows, then the groups in parallel, each thread with its own reader (the
    // windows' parcels are distinct, so each parcel is written by one thread).
    std::vector<std::pair<std::size_t, std::size_t>> groups;
    for (std::size_t start = 0; start < windows.size();) {
        int row0 = windows[start].row0, row1 = windows[start].row1;
        std::size_t end = start + 1;
        while (end < windows.size() && std::max(row1, windows[end].row1) - row0 <= kStripRows) {
            row1 = std::max(row1, windows[end].row1);
            ++end;
        }
        groups.emplace_back(start, end);
        start = end;
    }
    tbb::enumerable_thread_specific<std::unique_ptr<EpochReader>> readers([&epochs] { return epochs.open_reader(); });
    tbb::parallel_for(std::size_t{0}, groups.size(), [&](std::size_t g) {
        const auto [start, end] = groups[g];
        int row0 = windows[start].row0, row1 = windows[start].row1;
        for (std::size_t k = start; k < end; ++k) row1 = std::max(row1, windows[k].row1);
        kernels::EpochBlock block;
        // Isolated: a thread waiting inside a nested parallel loop must not take another group,
        // which would reuse its reader's buffers.
        tbb::this_task_arena::isolate([&] {
        readers.local()->read(true, row0, row1 - row0, block);
        for (std::size_t k = start; k < end; ++k) {
            const Window& w = windows[k];
            Parcel& parcel = parcels[w.parcel];
            const cv::Rect roi(w.col0, w.row0 - row0, w.col1 - w.col0, w.row1 - w.row0);
            kernels::PatchWindow window;
            const auto band = [&](const cv::Mat& source, cv::Mat& out) {
                if (!source.empty()) source(roi).convertTo(out, CV_32F);
            };
            band(block.blue, window.blue);
            band(block.green, window.green);
            band(block.red, window.red);
            band(block.nir, window.nir);
            if (!block.valid.empty()) window.valid = block.valid(roi).clone();
            window.mask = cv::Mat::zeros(roi.height, roi.width, CV_8UC1);
            rasterize_into(window.mask, window_geotransform(gt, w.col0, w.row0), {parcel.geometry.get()}, 1);
            const kernels::PatchStats stats = kernels::patch_statistics(window);
            std::optional<double> share;
            if (cultivated_assessed && parcel.area_m2 > 0) share = parcel.cultivated_m2 / parcel.area_m2;
            const PatchType type = classify_patch(stats, pixel_m, share);
            parcel.tblx = type.code;
            if (type.filing_check) parcel.remarks = kFacilityCheckRemark;
            spdlog::debug("patch type: parcel {} → {} ({})", parcel.id, type.code, type.reason);
        }
        });
    });
}

}  // namespace weipian
