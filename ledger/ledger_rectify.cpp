// check_rectification: 整改中 / 已整改 cases compared on new imagery (ledger/ledger_rectify.hpp).
#include "ledger/ledger_rectify.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include <cpl_string.h>
#include <gdal_priv.h>
#include <gdal_utils.h>
#include <ogr_spatialref.h>
#include <opencv2/core.hpp>
#include <spdlog/spdlog.h>

#include "kernels/detect.hpp"
#include "pipeline/chips.hpp"
#include "pipeline/core/dates.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/rasterize.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

constexpr const char* kRestored = "已恢复";
constexpr const char* kPartly = "部分恢复";
constexpr const char* kStillBuilt = "仍有建设";
constexpr const char* kUndecided = "无法判断";
constexpr double kDefaultThreshold = 0.15;
// A window larger than this (pixels) is not read: the case is 无法判断 and says why.
constexpr double kMaxWindowPixels = 64.0 * 1024 * 1024;

std::string percent(double share) { return std::to_string(std::lround(share * 100.0)) + "%"; }

// The tiles of one date opened once, their CRS and extents.
struct OpenedImagery {
    std::vector<std::string> tiles;
    std::vector<GDALDatasetUniquePtr> datasets;
    int bands = 0;
};

OpenedImagery open_imagery(const std::vector<std::string>& tiles, const BandRoles& roles, const std::string& what) {
    OpenedImagery out;
    out.tiles = tiles;
    const int needed = std::max({roles.blue, roles.green, roles.red, roles.nir});
    for (const auto& tile : tiles) {
        CPLErrorReset();
        GDALDatasetUniquePtr ds(GDALDataset::Open(tile.c_str(), GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR));
        if (!ds)
            throw InputError("rectify: cannot open the " + what + " '" + tile + "' (" + last_gdal_error() +
                             "); check that the file exists and is a raster");
        const OGRSpatialReference* srs = ds->GetSpatialRef();
        double gt[6];
        if (!srs || srs->IsEmpty() || ds->GetGeoTransform(gt) != CE_None)
            throw InputError("rectify: the " + what + " '" + tile +
                             "' has no CRS or georeferencing; give it a .prj/.aux.xml or re-export it as a GeoTIFF with its CRS");
        if (ds->GetRasterCount() < needed)
            throw InputError("rectify: the " + what + " '" + tile + "' has " + std::to_string(ds->GetRasterCount()) +
                             " bands but the band roles (bands.*) need band " + std::to_string(needed) +
                             "; check bands.blue/green/red/nir");
        if (out.bands != 0 && ds->GetRasterCount() != out.bands)
            throw InputError("rectify: the " + what + " tiles differ in band count ('" + tile + "' has " +
                             std::to_string(ds->GetRasterCount()) + ", '" + tiles.front() + "' " + std::to_string(out.bands) +
                             "); give tiles of one product per date");
        out.bands = ds->GetRasterCount();
        out.datasets.push_back(std::move(ds));
    }
    return out;
}

// The extent of a dataset as a polygon in `to` (edges densified so a reprojection stays close).
OGRGeometryUniquePtr extent_in(GDALDataset& ds, const OGRSpatialReference& to) {
    double gt[6];
    ds.GetGeoTransform(gt);
    const int w = ds.GetRasterXSize(), h = ds.GetRasterYSize();
    auto ring = std::make_unique<OGRLinearRing>();
    const double corners[5][2] = {{0, 0}, {double(w), 0}, {double(w), double(h)}, {0, double(h)}, {0, 0}};
    for (const auto& c : corners) ring->addPoint(gt[0] + c[0] * gt[1] + c[1] * gt[2], gt[3] + c[0] * gt[4] + c[1] * gt[5]);
    auto polygon = std::make_unique<OGRPolygon>();
    polygon->addRingDirectly(ring.release());
    OGREnvelope e;
    polygon->getEnvelope(&e);
    polygon->segmentize(std::max(e.MaxX - e.MinX, e.MaxY - e.MinY) / 16.0);
    const auto from = clone_traditional(*ds.GetSpatialRef());
    const auto target = clone_traditional(to);
    if (!from->IsSame(target.get())) {
        std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(from.get(), target.get()));
        if (!ct || polygon->transform(ct.get()) != OGRERR_NONE)
            throw InputError("rectify: cannot transform the extent of '" + std::string(ds.GetDescription()) +
                             "' into the ledger's CRS; check the raster's CRS");
    }
    return OGRGeometryUniquePtr(polygon.release());
}

// One window of the new image's grid.
struct Window {
    int cols = 0, rows = 0;
    GeoTransform gt{};
};

// An epoch warped onto a window: role bands as CV_32F and the valid mask (alpha ≥ 128).
struct WindowEpoch {
    kernels::EpochBlock block;
    cv::Mat valid;
};

WindowEpoch warp_onto(const OpenedImagery& imagery, const Window& window, const OGRSpatialReference& grid_srs,
                      const BandRoles& roles, const std::string& resampling, const std::string& what) {
    auto* driver = GetGDALDriverManager()->GetDriverByName("MEM");
    if (!driver) throw InternalError("rectify: this GDAL build has no MEM driver");
    GDALDatasetUniquePtr dst(driver->Create("", window.cols, window.rows, imagery.bands + 1, GDT_Float32, nullptr));
    if (!dst) throw InternalError("rectify: cannot create a MEM dataset (" + last_gdal_error() + ")");
    GeoTransform gt = window.gt;
    dst->SetGeoTransform(gt.data());
    dst->SetSpatialRef(&grid_srs);
    dst->GetRasterBand(imagery.bands + 1)->SetColorInterpretation(GCI_AlphaBand);
    CPLStringList argv;
    argv.AddString("-r");
    argv.AddString(resampling.c_str());
    argv.AddString("-dstalpha");
    argv.AddString("-q");
    GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv.List(), nullptr);
    std::vector<GDALDatasetH> sources;
    for (const auto& ds : imagery.datasets) sources.push_back(GDALDataset::ToHandle(ds.get()));
    int usage_error = 0;
    CPLErrorReset();
    GDALDatasetH result = GDALWarp(nullptr, GDALDataset::ToHandle(dst.get()), static_cast<int>(sources.size()), sources.data(),
                                   options, &usage_error);
    GDALWarpAppOptionsFree(options);
    if (!result)
        throw InputError("rectify: cannot read the " + what + " (" + imagery.tiles.front() + (imagery.tiles.size() > 1 ? ", …" : "") +
                         ") onto the new image's grid (" + last_gdal_error() + "); check that the files are readable");
    WindowEpoch out;
    const auto read_band = [&](int band) {
        cv::Mat m(window.rows, window.cols, CV_32FC1);
        if (dst->GetRasterBand(band)->RasterIO(GF_Read, 0, 0, window.cols, window.rows, m.data, window.cols, window.rows,
                                               GDT_Float32, 0, static_cast<GSpacing>(m.step)) != CE_None)
            throw InternalError("rectify: cannot read a MEM band (" + last_gdal_error() + ")");
        return m;
    };
    if (roles.blue > 0) out.block.blue = read_band(roles.blue);
    out.block.green = read_band(roles.green);
    out.block.red = read_band(roles.red);
    if (roles.nir > 0) out.block.nir = read_band(roles.nir);
    const cv::Mat alpha = read_band(imagery.bands + 1);
    out.valid = alpha >= 128.0f;  // CV_8UC1, 255 where valid
    out.block.valid = out.valid;
    return out;
}

std::string file_safe(const std::string& id) {
    std::string out;
    for (const char ch : id) {
        const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                        ch == '_' || ch == '-';
        out += ok ? ch : '_';
    }
    if (out.empty() || out[0] == '.') out = "_" + out;
    return out;
}

std::string ascii_label(const std::string& text) {
    std::string out;
    for (const char ch : text) out += (static_cast<unsigned char>(ch) < 0x80) ? ch : '?';
    return out;
}

// The join of a tile list (a cache key).
std::string key_of(const std::vector<std::string>& tiles) {
    std::string key;
    for (const auto& t : tiles) key += t + "\n";
    return key;
}

// What a warped comparison found on the footprint.
struct Shares {
    std::int64_t valid = 0;
    std::int64_t built = 0;
    double share() const { return valid > 0 ? static_cast<double>(built) / static_cast<double>(valid) : 0.0; }
};

Shares built_share(const WindowEpoch& before, const WindowEpoch& after, const cv::Mat& footprint,
                   const kernels::ConstructionParams& params) {
    cv::Mat score, mask;
    kernels::detect_construction(before.block, after.block, params, score, mask);
    Shares s;
    for (int r = 0; r < footprint.rows; ++r) {
        const auto* f = footprint.ptr<unsigned char>(r);
        const auto* vb = before.valid.ptr<unsigned char>(r);
        const auto* va = after.valid.ptr<unsigned char>(r);
        const auto* m = mask.ptr<unsigned char>(r);
        for (int c = 0; c < footprint.cols; ++c) {
            if (!f[c] || !vb[c] || !va[c]) continue;
            ++s.valid;
            if (m[c]) ++s.built;
        }
    }
    return s;
}

}  // namespace

std::vector<RectificationCheck> check_rectification(LedgerStore& store, const RectifyOptions& options) {
    if (!options.config) throw InternalError("rectify: no configuration given");
    const Config& config = *options.config;
    std::vector<RectificationCheck> checks;
    if (!config.rectify.enabled) return checks;
    const std::string& date = options.new_imagery.date;
    if (!is_iso_date(date))
        throw InputError("rectify: the new imagery's date '" + date + "' is not a date YYYY-MM-DD; check the catalog's date of its tiles");
    if (options.new_imagery.tiles.empty()) return checks;
    ensure_gdal_registered();

    const BandRoles& roles = config.bands;
    kernels::ConstructionParams params;
    params.brightness_weight = static_cast<float>(config.detect.brightness_weight);
    params.after_vegetation_max = static_cast<float>(config.detect.after_vegetation_max);
    if (config.detect.method == "construction" && config.detect.threshold) {
        params.threshold = static_cast<float>(*config.detect.threshold);
    } else {
        params.threshold = static_cast<float>(kDefaultThreshold);
        spdlog::warn("rectify: detect.threshold is not a fixed construction-score threshold (detect.method {}, threshold {}); the "
                     "rectification check uses {}; set detect.threshold to choose another",
                     config.detect.method, config.detect.threshold ? std::to_string(*config.detect.threshold) : std::string("auto"),
                     kDefaultThreshold);
    }

    // Tonight's imagery: its grid is its first tile's.
    const OpenedImagery fresh = open_imagery(options.new_imagery.tiles, roles, "new image");
    GDALDataset& first = *fresh.datasets.front();
    const auto grid_srs = clone_traditional(*first.GetSpatialRef());
    double grid_gt[6];
    first.GetGeoTransform(grid_gt);
    if (grid_gt[2] != 0.0 || grid_gt[4] != 0.0)
        throw InputError("rectify: the new image '" + fresh.tiles.front() +
                         "' is rotated (its geotransform has rotation terms); warp it north-up first (gdalwarp)");
    const double px = grid_gt[1], py = -grid_gt[5];

    const auto ledger_srs = clone_traditional(store.srs());
    std::vector<OGRGeometryUniquePtr> coverage;
    for (const auto& ds : fresh.datasets) coverage.push_back(extent_in(*ds, *ledger_srs));
    std::unique_ptr<OGRCoordinateTransformation> to_grid;
    if (!ledger_srs->IsSame(grid_srs.get())) {
        to_grid.reset(OGRCreateCoordinateTransformation(ledger_srs.get(), grid_srs.get()));
        if (!to_grid) throw InputError("rectify: cannot transform the ledger's CRS into the new image's CRS; check both CRSs");
    }
    OGRSpatialReference lonlat;
    lonlat.importFromEPSG(4490);
    lonlat.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> to_lonlat(OGRCreateCoordinateTransformation(ledger_srs.get(), &lonlat));
    if (!to_lonlat) throw InputError("rectify: cannot transform the ledger's CRS to longitude/latitude (EPSG:4490); check its CRS");

    const ChipStyle style = ChipStyle::from(config);
    std::map<std::string, OpenedImagery> opened;            // QSX / HSX tiles by tile list
    std::map<std::string, std::unique_ptr<ChipSource>> chip_sources;  // by tile list
    const auto opened_for = [&](const DatedImagery& imagery, const std::string& what) -> const OpenedImagery& {
        const std::string key = key_of(imagery.tiles);
        auto it = opened.find(key);
        if (it == opened.end()) it = opened.emplace(key, open_imagery(imagery.tiles, roles, what)).first;
        return it->second;
    };
    const auto chip_source_for = [&](const std::vector<std::string>& tiles) -> const ChipSource& {
        const std::string key = key_of(tiles);
        auto it = chip_sources.find(key);
        if (it == chip_sources.end()) it = chip_sources.emplace(key, std::make_unique<ChipSource>(tiles, roles, style)).first;
        return *it->second;
    };

    const fs::path chips_dir = options.chips_dir.empty() ? fs::path() : fs::absolute(options.chips_dir).lexically_normal();
    const fs::path chips_recorded =
        options.chips_recorded_dir.empty() ? chips_dir : fs::absolute(options.chips_recorded_dir).lexically_normal();

    // The cases the new imagery may check, and their QSX / HSX imagery looked up before the
    // transaction starts: the lookup may read the imagery catalog kept in the ledger's database
    // through a connection of its own, which must not wait for this one's write lock.
    const auto candidate = [&](const LedgerCase& c) {
        if (c.status != CaseStatus::Rectifying && c.status != CaseStatus::Rectified) return false;
        if (!c.geometry) return false;
        if (!c.hsx.empty() && !(date > c.hsx)) return false;  // not newer than the imagery the case was found on
        for (const auto& extent : coverage)
            if (extent->Intersects(c.geometry.get())) return true;
        return false;
    };
    std::map<std::pair<std::string, std::string>, std::optional<DatedImagery>> looked_up;  // (case id, date)
    const auto look_up = [&](const LedgerCase& c, const std::string& when) -> std::optional<DatedImagery> {
        if (!options.lookup || when.empty()) return std::nullopt;
        const auto key = std::make_pair(c.case_id, when);
        if (const auto it = looked_up.find(key); it != looked_up.end()) return it->second;
        OGRGeometryUniquePtr in_lonlat(c.geometry->clone());
        if (in_lonlat->transform(to_lonlat.get()) != OGRERR_NONE)
            throw InputError("rectify: cannot transform case " + c.case_id + " to longitude/latitude; check the ledger's CRS");
        std::optional<DatedImagery> found = options.lookup(*in_lonlat, when);
        if (found && found->tiles.empty()) found.reset();
        return looked_up[key] = found;
    };
    for (const LedgerCase& c : store.load_cases(true))
        if (candidate(c)) {
            look_up(c, c.qsx);
            look_up(c, c.hsx);
        }

    auto transaction = store.begin();
    std::vector<LedgerCase> cases = store.load_cases(true);
    const std::vector<HistoryEntry> history = store.load_history();
    const std::string prefix = "影像复查 " + date + "：";
    std::map<std::string, std::string> rectified_on;   // when each case last became 已整改
    std::map<std::string, std::vector<std::string>> checked_rows;  // this date's check rows per case
    for (const auto& e : history) {
        if (e.to_status == CaseStatus::Rectified && e.from_status != CaseStatus::Rectified) rectified_on[e.case_id] = e.at;
        if (e.at == date && e.what.rfind(prefix, 0) == 0) checked_rows[e.case_id].push_back(e.what);
    }
    const std::string recorded_at = now_utc();
    const std::string source = options.source.empty() ? "rectify " + date : options.source;

    for (LedgerCase& c : cases) {
        if (!candidate(c)) continue;

        RectificationCheck check;
        check.case_id = c.case_id;
        check.image_date = date;
        const auto rows = checked_rows.find(c.case_id);
        // The footprint on the new image's grid.
        OGRGeometryUniquePtr in_grid(c.geometry->clone());
        if (to_grid && in_grid->transform(to_grid.get()) != OGRERR_NONE)
            throw InputError("rectify: cannot transform case " + c.case_id + " into the new image's CRS; check the ledger's CRS");
        OGREnvelope env;
        in_grid->getEnvelope(&env);
        const double margin_x = 2 * px, margin_y = 2 * py;
        const double col0 = std::floor((env.MinX - margin_x - grid_gt[0]) / px);
        const double col1 = std::ceil((env.MaxX + margin_x - grid_gt[0]) / px);
        const double row0 = std::floor((grid_gt[3] - (env.MaxY + margin_y)) / py);
        const double row1 = std::ceil((grid_gt[3] - (env.MinY - margin_y)) / py);
        Window window;
        const double cols = col1 - col0, rows_n = row1 - row0;

        // (reset when their files cannot be read: the case is then 无法判断, the night goes on)
        std::optional<DatedImagery> qsx = look_up(c, c.qsx), hsx = look_up(c, c.hsx);

        // Chips of the three dates: written into chips_dir, recorded at chips_recorded_dir.
        const std::string stem = file_safe(c.case_id);
        const auto recorded_path = [&](const std::string& suffix) {
            return (chips_recorded / (stem + "_" + suffix + ".jpg")).string();
        };
        const auto chip = [&](const std::vector<std::string>& tiles, const std::string& suffix, const std::string& label,
                              const cv::Scalar& colour) {
            const ChipSource& chip_source = chip_source_for(tiles);
            OGRGeometryUniquePtr outline(c.geometry->clone());
            if (const OGRSpatialReference* chip_srs = chip_source.srs()) {
                const auto target = clone_traditional(*chip_srs);
                if (!target->IsSame(ledger_srs.get())) {
                    std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(ledger_srs.get(), target.get()));
                    if (!ct || outline->transform(ct.get()) != OGRERR_NONE)
                        throw InputError("rectify: cannot transform case " + c.case_id + " into the CRS of '" + tiles.front() +
                                         "'; check the raster's CRS");
                }
            }
            write_jpeg(chips_dir / (stem + "_" + suffix + ".jpg"),
                       chip_source.render(*outline, ascii_label(c.case_id + " " + label), colour), style.jpeg_quality);
            return recorded_path(suffix);
        };
        struct ChipKind {
            const char* suffix;
            const std::optional<DatedImagery>* imagery;  // nullptr: the new imagery
            std::string label;
            cv::Scalar colour;
            std::string LedgerCase::*recorded;
        };
        const ChipKind kinds[] = {
            {"qsx", &qsx, "QSX " + c.qsx, kChipBeforeColour, &LedgerCase::chip_check_qsx},
            {"hsx", &hsx, "HSX " + c.hsx, kChipAfterColour, &LedgerCase::chip_check_hsx},
            {"new", nullptr, "NEW " + date, cv::Scalar(0, 255, 0), &LedgerCase::chip_check_new},  // green: the check
        };
        const auto tiles_of = [&](const ChipKind& kind) -> const std::vector<std::string>* {
            if (!kind.imagery) return &options.new_imagery.tiles;
            return *kind.imagery ? &(**kind.imagery).tiles : nullptr;
        };
        // A chip that cannot be made (its imagery unreadable for the chip, the folder not
        // writable) is left out with a warning: the check itself stands.
        const auto safe_chip = [&](const std::vector<std::string>& tiles, const ChipKind& kind) -> std::string {
            try {
                return chip(tiles, kind.suffix, kind.label, kind.colour);
            } catch (const InputError& e) {
                spdlog::warn("rectify: case {}: no {} chip: {}", c.case_id, kind.suffix, e.what());
                return {};
            }
        };
        // A check recorded before whose chip files are gone (a night killed before its folder
        // appeared): the chips are made again under the same names, the ledger left as it is.
        const auto restore_missing_chips = [&](RectificationCheck& done) {
            if (options.chips_dir.empty() || c.check_date != date) return;
            for (const ChipKind& kind : kinds) {
                const std::string& recorded = c.*kind.recorded;
                if (recorded.empty()) continue;
                done.chips.push_back(recorded);
                std::error_code ec;
                if (recorded != recorded_path(kind.suffix) || fs::exists(recorded, ec)) continue;
                if (const auto* tiles = tiles_of(kind)) safe_chip(*tiles, kind);
            }
        };

        const bool decided_before =
            rows != checked_rows.end() && std::any_of(rows->second.begin(), rows->second.end(), [](const std::string& what) {
                return what.find(kUndecided) == std::string::npos;
            });
        if (decided_before) {
            // The same check again: nothing changes.
            check.already_checked = true;
            check.state = c.check_date == date ? c.check_state : std::string();
            check.built_share = c.check_date == date ? std::max(0.0, c.check_built_share) : 0.0;
            restore_missing_chips(check);
            checks.push_back(std::move(check));
            continue;
        }

        std::string reason;
        if (c.qsx.empty())
            reason = "前时相日期未知";
        else if (!qsx)
            reason = "前时相 " + c.qsx + " 影像缺失";
        else if (cols * rows_n > kMaxWindowPixels)
            reason = "图斑过大（" + std::to_string(static_cast<long long>(cols * rows_n)) + " 像元），请人工复核";
        std::string hsx_note;
        if (reason.empty()) {
            window.cols = static_cast<int>(cols);
            window.rows = static_cast<int>(rows_n);
            window.gt = {grid_gt[0] + col0 * px, px, 0.0, grid_gt[3] - row0 * py, 0.0, -py};
            try {
                opened_for(*qsx, "QSX image");
            } catch (const InputError& e) {
                spdlog::warn("rectify: case {}: {}; recorded as 无法判断 (cannot judge)", c.case_id, e.what());
                qsx.reset();
            }
        }
        if (reason.empty() && !qsx) reason = "前时相 " + c.qsx + " 影像无法读取";
        if (reason.empty()) {
            cv::Mat footprint(window.rows, window.cols, CV_8UC1, cv::Scalar(0));
            rasterize_into(footprint, window.gt, {in_grid.get()}, 1);
            const WindowEpoch after = warp_onto(fresh, window, *grid_srs, roles, "near", "new image");
            const WindowEpoch before = warp_onto(opened_for(*qsx, "QSX image"), window, *grid_srs, roles, config.grid.resampling,
                                                 "QSX image");
            const Shares shares = built_share(before, after, footprint, params);
            check.valid_pixels = shares.valid;
            check.built_pixels = shares.built;
            if (shares.valid == 0) {
                reason = "足迹内无有效像元";
            } else {
                check.built_share = shares.share();
                if (check.built_share >= config.rectify.built_min_share)
                    check.state = kStillBuilt;
                else if (check.built_share < config.rectify.restored_max_share)
                    check.state = kRestored;
                else
                    check.state = kPartly;
            }
            std::optional<WindowEpoch> built;
            if (hsx) {
                try {
                    opened_for(*hsx, "HSX image");
                    built = warp_onto(opened_for(*hsx, "HSX image"), window, *grid_srs, roles, config.grid.resampling, "HSX image");
                } catch (const InputError& e) {
                    spdlog::warn("rectify: case {}: {}; the check goes on without the HSX image", c.case_id, e.what());
                    hsx.reset();
                    hsx_note = "后时相 " + c.hsx + " 影像无法读取";
                }
            }
            if (built) {
                const Shares confirmed = built_share(before, *built, footprint, params);
                hsx_note = confirmed.valid > 0 ? "后时相 " + c.hsx + " 建设占比 " + percent(confirmed.share())
                                               : "后时相 " + c.hsx + " 影像在足迹内无有效像元";
            } else if (!c.hsx.empty() && hsx_note.empty()) {
                hsx_note = "后时相 " + c.hsx + " 影像缺失";
            }
        }
        if (!reason.empty()) {
            check.state = kUndecided;
            check.built_share = 0;
            check.note = reason;
        } else {
            check.note = hsx_note;
        }

        std::string what = prefix + check.state;
        if (check.state == kUndecided)
            what += "（" + reason + "）";
        else if (check.state == kPartly)
            what += "（仍有建设 " + percent(check.built_share) + "）";
        else
            what += "（建设占比 " + percent(check.built_share) + "）";
        if (!hsx_note.empty()) what += "；" + hsx_note;

        // The same undecided check again changes nothing either.
        if (rows != checked_rows.end() && std::find(rows->second.begin(), rows->second.end(), what) != rows->second.end()) {
            check.already_checked = true;
            restore_missing_chips(check);
            checks.push_back(std::move(check));
            continue;
        }

        // 整改不到位: a 已整改 case still (partly) built on an image later than its rectification.
        if (c.status == CaseStatus::Rectified && (check.state == kStillBuilt || check.state == kPartly)) {
            const auto rectified = rectified_on.find(c.case_id);
            const bool after_rectification = rectified == rectified_on.end() || date > rectified->second;
            if (after_rectification && c.flag_date != date) {
                c.flag = "整改不到位：新影像 " + date + " 仍显示建设（建设占比 " + percent(check.built_share) + "，" + source + "）";
                c.flag_date = date;
                check.flagged = true;
                what += "；" + c.flag;
            }
        }
        // A flag that a later image answers: the land is restored after all. The flag's row stays
        // in the history; the case no longer shows 整改不到位 (as when the county sets 整改中).
        if (c.status == CaseStatus::Rectified && check.state == kRestored && !c.flag.empty() && date > c.flag_date) {
            what += "；整改不到位标记解除（" + c.flag_date + " 的标记，新影像 " + date + " 已恢复）";
            c.flag.clear();
            c.flag_date.clear();
            check.flag_cleared = true;
        }

        std::string chip_paths[3];
        if (!options.chips_dir.empty())
            for (int k = 0; k < 3; ++k)
                if (const auto* tiles = tiles_of(kinds[k])) {
                    chip_paths[k] = safe_chip(*tiles, kinds[k]);
                    if (!chip_paths[k].empty()) check.chips.push_back(chip_paths[k]);
                }

        store.append_history({-1, c.case_id, date, recorded_at, options.who, c.status, c.status, what, source});
        if (c.check_date.empty() || date >= c.check_date) {
            c.check_state = check.state;
            c.check_date = date;
            c.check_built_share = check.state == kUndecided ? -1.0 : check.built_share;
            for (int k = 0; k < 3; ++k) c.*kinds[k].recorded = chip_paths[k];
        }
        c.updated_at = recorded_at;
        store.update_case(c);
        spdlog::info("rectify: case {} on the image of {}: {} (built share {:.2f}, {} valid pixels){}", c.case_id, date,
                     check.state, check.built_share, check.valid_pixels, check.flagged ? ", flagged 整改不到位" : "");
        checks.push_back(std::move(check));
    }
    pause_in_transaction_for_tests("rectify");
    transaction.commit();
    return checks;
}

}  // namespace weipian
