// `weipian nightly`: see pipeline/nightly.hpp.
#include "pipeline/nightly.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>

#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/test_point.hpp"
#include "pipeline/core/units.hpp"

namespace weipian {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A step of the night reached (a test point: tests kill the night there).
void kill_point(const char* step) {
    spdlog::default_logger()->flush();
    test_point(step);
}

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

std::string today_local() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buffer[16];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &tm);
    return buffer;
}

std::string host_name() {
    char buffer[256] = {};
    if (::gethostname(buffer, sizeof buffer - 1) != 0) return "?";
    return buffer;
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

std::unique_ptr<OGRSpatialReference> traditional(const OGRSpatialReference& srs) {
    auto out = std::unique_ptr<OGRSpatialReference>(srs.Clone());
    out->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return out;
}

std::unique_ptr<OGRSpatialReference> lonlat_srs() {
    auto srs = std::make_unique<OGRSpatialReference>();
    srs->importFromEPSG(4490);
    srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

// `g` (in `from`) transformed into `to`; null when it cannot be.
std::unique_ptr<OGRGeometry> transformed(const OGRGeometry& g, const OGRSpatialReference& from, const OGRSpatialReference& to) {
    std::unique_ptr<OGRGeometry> copy(g.clone());
    if (from.IsSame(&to)) return copy;
    auto f = traditional(from), t = traditional(to);
    std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(f.get(), t.get()));
    if (!ct || copy->transform(ct.get()) != OGRERR_NONE) return nullptr;
    copy->assignSpatialReference(nullptr);
    return copy;
}

double area_of(const OGRGeometry* g) {
    if (!g || g->IsEmpty()) return 0;
    const auto type = wkbFlatten(g->getGeometryType());
    if (type == wkbPolygon || type == wkbMultiPolygon || type == wkbGeometryCollection || type == wkbCurvePolygon ||
        type == wkbMultiSurface)
        return OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(g)));
    return 0;
}

// Area of a ∩ b (0 when they do not overlap).
double overlap_area(const OGRGeometry& a, const OGRGeometry& b) {
    if (!a.Intersects(&b)) return 0;
    std::unique_ptr<OGRGeometry> i(a.Intersection(&b));
    return area_of(i.get());
}

std::unique_ptr<OGRGeometry> union_of(const std::vector<std::unique_ptr<OGRGeometry>>& parts) {
    OGRMultiPolygon all;
    for (const auto& p : parts) {
        if (!p) continue;
        const auto type = wkbFlatten(p->getGeometryType());
        if (type == wkbPolygon)
            all.addGeometry(p.get());
        else if (type == wkbMultiPolygon)
            for (const auto* q : *p->toMultiPolygon()) all.addGeometry(q);
    }
    if (all.IsEmpty()) return std::make_unique<OGRMultiPolygon>();
    std::unique_ptr<OGRGeometry> u(all.UnionCascaded());
    if (!u) return std::make_unique<OGRMultiPolygon>();
    return u;
}

// A tile's footprint in `srs`: its raster extent (read from the file), else the catalog's
// lon/lat footprint transformed; null when neither can be had.
std::unique_ptr<OGRGeometry> footprint_in(const CatalogTile& tile, const OGRSpatialReference& srs) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(tile.path.c_str(), GDAL_OF_RASTER));
    double gt[6];
    if (ds && ds->GetSpatialRef() && ds->GetGeoTransform(gt) == CE_None) {
        const double w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
        OGRLinearRing ring;
        for (const auto& [c, r] : {std::pair<double, double>{0, 0}, {w, 0}, {w, h}, {0, h}, {0, 0}})
            ring.addPoint(gt[0] + c * gt[1] + r * gt[2], gt[3] + c * gt[4] + r * gt[5]);
        OGRPolygon poly;
        poly.addRing(&ring);
        if (auto g = transformed(poly, *ds->GetSpatialRef(), srs)) return g;
    }
    if (tile.footprint) return transformed(*tile.footprint, *lonlat_srs(), srs);
    return nullptr;
}

// The night's working CRS and pixel size: the first new tile's.
struct NightGrid {
    std::unique_ptr<OGRSpatialReference> srs;
    double pixel = 1;
};

NightGrid grid_of(const CatalogTile& tile) {
    NightGrid grid;
    GDALDatasetUniquePtr ds(GDALDataset::Open(tile.path.c_str(), GDAL_OF_RASTER));
    double gt[6];
    if (ds && ds->GetSpatialRef()) {
        grid.srs = traditional(*ds->GetSpatialRef());
        if (ds->GetGeoTransform(gt) == CE_None) grid.pixel = std::abs(gt[1]);
    } else {
        grid.srs = std::make_unique<OGRSpatialReference>();
        if (grid.srs->SetFromUserInput(tile.crs.c_str()) != OGRERR_NONE) grid.srs = lonlat_srs();
        grid.srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        if (tile.pixel_size > 0) grid.pixel = tile.pixel_size;
    }
    return grid;
}

// Metres in the units of `srs` (degrees for a geographic CRS, roughly).
double metres_in(const OGRSpatialReference& srs, double metres) {
    if (srs.IsGeographic()) return metres / 111320.0;
    const double unit = srs.GetLinearUnits();
    return unit > 0 ? metres / unit : metres;
}

// What a night over `tiles` reads and where it looks.
struct NightPlan {
    std::vector<CatalogTile> tiles;    // new
    std::vector<CatalogTile> later;    // new + neighbouring, same date
    std::vector<CatalogTile> earlier;  // dated before, oldest first
    std::string date, earlier_date;
    std::vector<std::string> earlier_dates;
    NightGrid grid;
    std::unique_ptr<OGRGeometry> footprint;  // new tiles, grid CRS
    std::unique_ptr<OGRGeometry> region;     // the run's AOI, grid CRS
    std::unique_ptr<OGRGeometry> beyond;     // registered coverage outside the region, grid CRS
    // Of that, imagery already delivered that tonight does not read (non-base tiles outside the
    // region), per date; and the rest, where new imagery may still arrive (the base alone).
    std::vector<std::pair<std::string, std::unique_ptr<OGRGeometry>>> delivered_beyond;
    std::unique_ptr<OGRGeometry> awaiting;
};

std::vector<std::unique_ptr<OGRGeometry>> footprints(const std::vector<CatalogTile>& tiles, const OGRSpatialReference& srs) {
    std::vector<std::unique_ptr<OGRGeometry>> out;
    for (const auto& t : tiles) out.push_back(footprint_in(t, srs));
    return out;
}

// Plans a night over `tiles` (one date). Tiles no earlier coverage reaches go to `uncovered`
// (when given) and the plan is made without them.
NightPlan plan_night(const ImageryCatalog& catalog, std::vector<CatalogTile> tiles, double margin_m,
                     std::vector<CatalogTile>* uncovered) {
    NightPlan plan;
    plan.grid = grid_of(tiles.front());
    plan.date = tiles.front().date;
    const auto& srs = *plan.grid.srs;
    const auto ll = lonlat_srs();
    const double margin = metres_in(srs, margin_m);
    const double px2 = plan.grid.pixel * plan.grid.pixel;

    auto earlier_of = [&](const OGRGeometry& where) {
        std::vector<CatalogTile> out;
        auto where_ll = transformed(where, srs, *ll);
        if (!where_ll) return out;
        for (auto& t : catalog.intersecting(*where_ll, "", plan.date))
            if (t.date < plan.date) out.push_back(std::move(t));
        return out;
    };

    if (uncovered) {
        std::vector<CatalogTile> kept;
        for (auto& t : tiles) {
            auto fp = footprint_in(t, srs);
            bool covered = false;
            if (fp) {
                auto earlier = earlier_of(*fp);
                auto cover = union_of(footprints(earlier, srs));
                covered = overlap_area(*fp, *cover) > px2;
            }
            (covered ? kept : *uncovered).push_back(std::move(t));
        }
        tiles = std::move(kept);
        if (tiles.empty()) return plan;
    }
    plan.tiles = tiles;
    plan.footprint = union_of(footprints(plan.tiles, srs));
    std::unique_ptr<OGRGeometry> buffered(plan.footprint->Buffer(margin, 8));
    auto buffered_ll = transformed(*buffered, srs, *ll);
    if (!buffered_ll) throw InputError("nightly: cannot transform the footprint of '" + plan.tiles.front().path + "' to lon/lat; check its CRS");

    std::set<std::int64_t> ids;
    for (const auto& t : plan.tiles) ids.insert(t.id);
    plan.later = plan.tiles;
    for (auto& t : catalog.intersecting(*buffered_ll, plan.date, plan.date))
        if (t.date == plan.date && !ids.count(t.id)) plan.later.push_back(std::move(t));
    std::sort(plan.later.begin(), plan.later.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    auto later_cover = union_of(footprints(plan.later, srs));
    std::unique_ptr<OGRGeometry> reach(buffered->Intersection(later_cover.get()));
    if (!reach) reach = std::make_unique<OGRMultiPolygon>();

    plan.earlier = earlier_of(*reach);
    std::stable_sort(plan.earlier.begin(), plan.earlier.end(),
                     [](const auto& a, const auto& b) { return a.date != b.date ? a.date < b.date : a.path < b.path; });
    // An earlier tile wholly under more recent earlier coverage (within the reach) is never seen:
    // leave it out, so QSX and earlier_dates name only dates whose pixels are compared.
    {
        std::vector<CatalogTile> visible;
        std::unique_ptr<OGRGeometry> hidden = std::make_unique<OGRMultiPolygon>();
        for (auto it = plan.earlier.rbegin(); it != plan.earlier.rend();) {  // newest date first
            const std::string date = it->date;
            std::vector<std::unique_ptr<OGRGeometry>> of_date;
            for (; it != plan.earlier.rend() && it->date == date; ++it) {
                auto fp = footprint_in(*it, srs);
                bool seen = true;
                if (fp) {
                    std::unique_ptr<OGRGeometry> inside(fp->Intersection(reach.get()));
                    std::unique_ptr<OGRGeometry> open(inside ? inside->Difference(hidden.get()) : nullptr);
                    seen = open && area_of(open.get()) > px2;
                }
                if (seen) visible.push_back(*it);
                of_date.push_back(std::move(fp));
            }
            of_date.push_back(std::move(hidden));
            hidden = union_of(of_date);
        }
        std::reverse(visible.begin(), visible.end());
        plan.earlier = std::move(visible);
    }
    for (const auto& t : plan.earlier)
        if (std::find(plan.earlier_dates.begin(), plan.earlier_dates.end(), t.date) == plan.earlier_dates.end())
            plan.earlier_dates.push_back(t.date);
    if (!plan.earlier_dates.empty()) plan.earlier_date = plan.earlier_dates.front();
    auto earlier_cover = union_of(footprints(plan.earlier, srs));
    plan.region.reset(reach->Intersection(earlier_cover.get()));
    if (!plan.region) plan.region = std::make_unique<OGRMultiPolygon>();

    // Registered coverage (any date, base included) around the region, outside it.
    std::vector<CatalogTile> around;
    std::unique_ptr<OGRGeometry> wide(plan.footprint->Buffer(margin + 4 * plan.grid.pixel, 8));
    if (auto wide_ll = transformed(*wide, srs, *ll)) around = catalog.intersecting(*wide_ll);
    auto all_cover = union_of(footprints(around, srs));
    plan.beyond.reset(all_cover->Difference(plan.region.get()));
    if (!plan.beyond) plan.beyond = std::make_unique<OGRMultiPolygon>();
    std::set<std::int64_t> read_tonight;
    for (const auto& t : plan.later) read_tonight.insert(t.id);
    std::map<std::string, std::vector<std::unique_ptr<OGRGeometry>>> delivered;
    std::vector<std::unique_ptr<OGRGeometry>> all_delivered;
    for (const auto& t : around)
        if (!t.base && !read_tonight.count(t.id))
            if (auto fp = footprint_in(t, srs)) {
                all_delivered.emplace_back(fp->clone());
                delivered[t.date].push_back(std::move(fp));
            }
    for (auto& [date, parts] : delivered) {
        auto cover = union_of(parts);
        std::unique_ptr<OGRGeometry> outside(cover->Difference(plan.region.get()));
        if (outside && !outside->IsEmpty()) plan.delivered_beyond.emplace_back(date, std::move(outside));
    }
    auto delivered_cover = union_of(all_delivered);
    plan.awaiting.reset(plan.beyond->Difference(delivered_cover.get()));
    if (!plan.awaiting) plan.awaiting = std::make_unique<OGRMultiPolygon>();
    return plan;
}

// Writes `region` (grid CRS) as a one-feature GeoPackage at `path` (atomically).
void write_region(const fs::path& path, const OGRGeometry& region, const OGRSpatialReference& srs) {
    fs::create_directories(path.parent_path());
    AtomicFile file(path, "nightly");
    {
        GDALDriver* gpkg = GetGDALDriverManager()->GetDriverByName("GPKG");
        GDALDatasetUniquePtr ds(gpkg->Create(file.path().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!ds) throw InputError("nightly: cannot write the night's region " + quoted(path) + "; check that output.dir can be written");
        OGRLayer* layer = ds->CreateLayer("region", const_cast<OGRSpatialReference*>(&srs), wkbMultiPolygon, nullptr);
        std::unique_ptr<OGRFeature> f(layer ? new OGRFeature(layer->GetLayerDefn()) : nullptr);
        if (f) f->SetGeometry(&region);
        if (!layer || layer->CreateFeature(f.get()) != OGRERR_NONE)
            throw InputError("nightly: cannot write the night's region " + quoted(path) + "; check free space on the output disk");
    }
    file.commit();
}

// Adds night.json / night.txt (and `extra` files already in `folder`) to the folder's marker.
void add_to_marker(const fs::path& folder, const std::vector<std::string>& names) {
    const fs::path marker = folder / kOutputMarker;
    json m;
    {
        std::ifstream in(marker, std::ios::binary);
        if (in) m = json::parse(in, nullptr, false);
    }
    if (!m.is_object() || !m.contains("files")) return;
    for (const auto& name : names) {
        std::error_code ec;
        const auto bytes = fs::file_size(folder / name, ec);
        if (ec) continue;
        bool found = false;
        for (auto& f : m["files"])
            if (f.value("name", "") == name) f["bytes"] = bytes, found = true;
        if (!found) m["files"].push_back({{"name", name}, {"bytes", bytes}});
    }
    write_file_atomically(marker, m.dump(), "nightly");
}

// A redone night's folder: night.json / night.txt this job wrote but did not list in the marker
// yet (killed in between) are removed, so the folder is again a plain previous weipian output.
void forget_unlisted_night_files(const fs::path& folder) {
    json m;
    {
        std::ifstream in(folder / kOutputMarker, std::ios::binary);
        if (!in) return;
        m = json::parse(in, nullptr, false);
    }
    if (!m.is_object()) return;
    std::set<std::string> listed;
    for (const auto& f : m.value("files", json::array())) listed.insert(f.value("name", ""));
    for (const auto& f : m.value("files", json::array()))
        if (f.value("name", "").rfind(std::string(kNightlyHookFolder) + "/", 0) == 0) listed.insert(kNightlyHookFolder);
    for (const char* name : {"night.json", "night.txt", kNightlyHookFolder})
        if (!listed.count(name)) {
            std::error_code ec;
            fs::remove_all(folder / name, ec);
        }
}

// Staging folders of the night's folder left by a killed process (".NAME.partial-<pid>").
void remove_stale_staging(const fs::path& folder) {
    std::error_code ec;
    const std::string prefix = "." + folder.filename().string() + ".partial-";
    for (const auto& entry : fs::directory_iterator(folder.parent_path(), ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const std::string pid = name.substr(prefix.size());
        if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
        if (fs::exists("/proc/" + pid)) continue;
        fs::remove_all(entry.path(), ec);
    }
}

// output.dir/latest → `folder` (relative), replaced atomically; a `latest` that is not a
// symlink is left alone with a warning.
void point_latest(const fs::path& root, const fs::path& folder) {
    const fs::path latest = root / "latest";
    std::error_code ec;
    const auto status = fs::symlink_status(latest, ec);
    if (fs::exists(status) && !fs::is_symlink(status)) {
        spdlog::warn("nightly: {} is not a symbolic link weipian made; it was left as it is (rename it to get the latest-night link)",
                     quoted(latest));
        return;
    }
    const fs::path target = folder.filename();
    if (fs::is_symlink(status) && fs::read_symlink(latest, ec) == target) return;
    const fs::path temp = root / (".latest.partial-" + std::to_string(::getpid()));
    fs::remove(temp, ec);
    fs::create_symlink(target, temp, ec);
    if (ec) throw InputError("nightly: cannot create the link " + quoted(temp) + " (" + ec.message() + "); check that output.dir can be written");
    fs::rename(temp, latest, ec);
    if (ec) {
        fs::remove(temp, ec);
        throw InputError("nightly: cannot replace " + quoted(latest) + "; check that output.dir can be written");
    }
}

// Where the nightly job keeps what a redo needs (regions, skipped files), beside the nights.
fs::path state_dir(const fs::path& root) { return root / ".weipian-nightly"; }

std::string what_to_do_of(const std::string& message) {
    const auto semi = message.find("; ");
    return semi == std::string::npos ? message : message.substr(semi + 2);
}

SkippedFile skipped_of(const CatalogIssue& issue) {
    return {issue.path, issue_kind_name(issue.kind), issue.message};
}

json skipped_json(const std::vector<SkippedFile>& list) {
    json out = json::array();
    for (const auto& s : list) out.push_back({{"file", s.file}, {"reason", s.reason}, {"what_to_do", what_to_do_of(s.what_to_do)}, {"line", s.what_to_do}});
    return out;
}

std::vector<std::int64_t> ids_of(const std::vector<CatalogTile>& tiles) {
    std::vector<std::int64_t> out;
    for (const auto& t : tiles) out.push_back(t.id);
    return out;
}

// A folder name for a new night: NIGHT, else NIGHT-2, NIGHT-3 … (not on disk, not a recorded night).
std::string free_night_name(const fs::path& root, const std::string& night, const std::vector<NightRecord>& nights) {
    std::set<std::string> used;  // a failed night's name is free again unless its folder exists
    for (const auto& n : nights)
        if (n.status != "failed") used.insert(fs::path(n.folder).filename().string());
    for (int i = 1;; ++i) {
        const std::string name = i == 1 ? night : night + "-" + std::to_string(i);
        std::error_code ec;
        if (!used.count(name) && !fs::exists(fs::symlink_status(root / name, ec))) return name;
    }
}

class Night {
public:
    Night(const Config& config, const NightlyOptions& options, ImageryCatalog& catalog, const fs::path& root)
        : config_(config), options_(options), catalog_(catalog), root_(root) {}

    NightOutcome run(std::int64_t night_id, const std::string& name, NightPlan plan, std::vector<SkippedFile> skipped, bool redo) {
        NightOutcome out;
        out.night = name;
        out.folder = root_ / name;
        out.imagery_date = plan.date;
        out.earlier_date = plan.earlier_date;
        out.redone = redo;
        out.skipped = std::move(skipped);
        for (const auto& t : plan.tiles) out.tiles.push_back(t.path);
        kill_point("nightly:begun");

        if (redo) {
            remove_stale_staging(out.folder);
            forget_unlisted_night_files(out.folder);
        }
        const fs::path region_path = state_dir(root_) / (name + "-region.gpkg");
        write_region(region_path, *plan.region, *plan.grid.srs);

        Config night = config_;
        night.before.tiles.clear();
        for (const auto& t : plan.earlier) night.before.tiles.push_back(t.path);
        night.after.tiles.clear();
        for (const auto& t : plan.later) night.after.tiles.push_back(t.path);
        night.before.date = plan.earlier_date;
        night.after.date = plan.date;
        night.aoi = region_path.string();
        night.output_dir = out.folder.string();

        spdlog::info("nightly: night {}: {} new tiles of {} ({} neighbouring), earlier epoch {} tiles ({}), region {:.0f} m²",
                     name, plan.tiles.size(), plan.date, plan.later.size() - plan.tiles.size(), plan.earlier.size(),
                     plan.earlier_dates.empty() ? std::string("-") : plan.earlier_dates.front() + (plan.earlier_dates.size() > 1 ? "…" + plan.earlier_dates.back() : std::string()),
                     area_of(plan.region.get()));

        RunOptions run;
        run.overwrite = true;  // only ever replaces this night's own previous (killed) output
        run.sink = options_.sink;
        run.progress = options_.progress;
        run.progress_data = options_.progress_data;
        std::vector<DeferredParcel> deferred, edge_reported;
        const OGRGeometry* footprint = plan.footprint.get();
        const OGRGeometry* awaiting = plan.awaiting.get();
        const OGRSpatialReference* grid_srs = plan.grid.srs.get();
        const double pixel = plan.grid.pixel;
        run.select = [&](std::vector<Parcel>& parcels, const OGRSpatialReference& srs) {
            kill_point("nightly:select");
            auto fp = transformed(*footprint, *grid_srs, srs);
            auto by = transformed(*awaiting, *grid_srs, srs);  // where new imagery may still arrive
            if (!fp || !by) throw InputError("nightly: cannot transform tonight's footprint to the epochs' CRS; check the tiles' CRS");
            std::vector<std::pair<std::string, std::unique_ptr<OGRGeometry>>> delivered;
            for (const auto& [date, where] : plan.delivered_beyond) {
                auto w = transformed(*where, *grid_srs, srs);
                if (!w) throw InputError("nightly: cannot transform tonight's footprint to the epochs' CRS; check the tiles' CRS");
                delivered.emplace_back(date, std::move(w));
            }
            const double px = pixel, px2 = pixel * pixel;
            // A patch reaching coverage whose new imagery may still arrive waits for it (deferred);
            // one reaching only imagery delivered separately is reported now with tonight's part.
            std::set<std::int64_t> inside, edge;
            std::map<std::int64_t, std::set<std::string>> reaches;  // patch → dates of delivered imagery beyond the edge
            for (const auto& p : parcels) {
                if (!p.geometry) continue;
                if (overlap_area(*p.geometry, *fp) > 0.01 * px2) inside.insert(p.patch_id);
                std::unique_ptr<OGRGeometry> grown(p.geometry->Buffer(1.5 * px, 2));
                if (!grown) continue;
                if (overlap_area(*grown, *by) > 0.25 * px2) edge.insert(p.patch_id);
                for (const auto& [date, where] : delivered)
                    if (overlap_area(*grown, *where) > 0.25 * px2) reaches[p.patch_id].insert(date);
            }
            std::vector<Parcel> kept;
            for (auto& p : parcels) {
                if (!inside.count(p.patch_id)) continue;  // another night's (or a later one's)
                DeferredParcel d{p.id, p.patch_id, p.area_m2, p.area_mu(), p.centroid_x, p.centroid_y, {}};
                if (edge.count(p.patch_id)) {
                    deferred.push_back(std::move(d));
                    continue;
                }
                if (const auto it = reaches.find(p.patch_id); it != reaches.end()) {
                    d.neighbour_dates.assign(it->second.begin(), it->second.end());
                    std::string dates;
                    for (const auto& date : d.neighbour_dates) dates += (dates.empty() ? "" : "、") + date;
                    const std::string remark = "影像接边：图斑延伸到 " + dates + " 的相邻影像，只含本次影像部分，外业核查时请核对完整范围";
                    p.remarks = p.remarks.empty() ? remark : p.remarks + "；" + remark;
                    edge_reported.push_back(std::move(d));
                }
                kept.push_back(std::move(p));
            }
            parcels = std::move(kept);
            for (const auto& d : deferred)
                spdlog::info("nightly: parcel {} ({:.2f} 亩 at {:.1f}, {:.1f}) reaches the edge of tonight's coverage; "
                             "deferred until the neighbouring imagery arrives",
                             d.id, d.area_mu, d.centroid_x, d.centroid_y);
            for (const auto& d : edge_reported) {
                std::string dates;
                for (const auto& date : d.neighbour_dates) dates += (dates.empty() ? "" : ", ") + date;
                spdlog::warn("nightly: parcel {} ({:.2f} 亩 at {:.1f}, {:.1f}) reaches imagery of {} delivered separately, which tonight "
                             "does not read; it is reported with tonight's part only (remark in bz): check its full extent in the field",
                             d.id, d.area_mu, d.centroid_x, d.centroid_y, dates);
            }
        };
        const RunSummary summary = run_main_job(night, run);
        kill_point("nightly:run");

        const json& report = *summary.report;
        out.parcels = summary.parcels;
        out.area_mu = report["counts"].value("area_mu", std::string("0"));
        out.deferred = deferred;
        out.edge_reported = edge_reported;

        json s;
        s["night"] = name;
        s["folder"] = out.folder.string();
        s["imagery_date"] = plan.date;
        s["qsx"] = plan.earlier_date;
        s["hsx"] = plan.date;
        s["earlier_dates"] = plan.earlier_dates;
        s["new_tiles"] = out.tiles;
        json neighbouring = json::array(), earlier = json::array();
        for (const auto& t : plan.later)
            if (std::find(out.tiles.begin(), out.tiles.end(), t.path) == out.tiles.end()) neighbouring.push_back(t.path);
        for (const auto& t : plan.earlier) earlier.push_back({{"file", t.path}, {"date", t.date}});
        s["neighbouring_tiles"] = neighbouring;
        s["earlier_tiles"] = earlier;
        s["region"] = region_path.string();
        s["parcels"] = out.parcels;
        s["area_mu"] = out.area_mu;
        json dj = json::array();
        for (const auto& d : deferred)
            dj.push_back({{"id", d.id}, {"area_m2", round2(d.area_m2)}, {"area_mu", format_mu(to_centimu(d.area_m2))},
                          {"centroid_x", round2(d.centroid_x)}, {"centroid_y", round2(d.centroid_y)}});
        s["deferred"] = dj;
        json ej = json::array();
        for (const auto& d : edge_reported)
            ej.push_back({{"id", d.id}, {"area_m2", round2(d.area_m2)}, {"area_mu", format_mu(to_centimu(d.area_m2))},
                          {"centroid_x", round2(d.centroid_x)}, {"centroid_y", round2(d.centroid_y)}, {"neighbour_dates", d.neighbour_dates}});
        s["edge_reported"] = ej;
        s["skipped"] = skipped_json(out.skipped);
        s["redone"] = redo;
        if (report.contains("ledger")) s["ledger"] = report["ledger"];
        s["files"] = json::array();

        // ---- rectification (issue 10): the coordinator wires check_rectification here through
        // options.after_run (app/nightly_command.cpp), after the night's outputs and before the
        // night is recorded done (a killed check is redone with the night).
        if (options_.after_run) options_.after_run(night, catalog_, plan.tiles, out.folder, s);

        out.summary = s;
        s["summary"] = night_summary_text(out);
        out.summary = s;
        write_file_atomically(out.folder / "night.json", s.dump(2) + "\n", "nightly");
        write_file_atomically(out.folder / "night.txt", s["summary"].get<std::string>() + "\n", "nightly");
        std::vector<std::string> names = {"night.json", "night.txt"};
        for (const auto& f : s["files"]) names.push_back(f.get<std::string>());
        kill_point("nightly:summary");
        add_to_marker(out.folder, names);
        catalog_.finish_night(night_id, "done", s);
        kill_point("nightly:done");
        point_latest(root_, out.folder);
        return out;
    }

private:
    const Config& config_;
    const NightlyOptions& options_;
    ImageryCatalog& catalog_;
    fs::path root_;
};

}  // namespace

fs::path nightly_lock_path(const fs::path& root) { return root / ".weipian-nightly.lock"; }

NightlyLock::NightlyLock(const fs::path& root, const Config& config) : path_(nightly_lock_path(root)) {
    std::error_code ec;
    fs::create_directories(root, ec);
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw InputError("nightly: cannot open the lock file " + quoted(path_) + " (" + std::strerror(errno) +
                         "); check that output.dir is writable");
    std::string content;
    {
        char buffer[4096];
        ssize_t n;
        while ((n = ::pread(fd_, buffer, sizeof buffer, static_cast<off_t>(content.size()))) > 0) content.append(buffer, static_cast<std::size_t>(n));
    }
    const json held = json::parse(content, nullptr, false);
    const bool locked = ::flock(fd_, LOCK_EX | LOCK_NB) != 0;
    const std::string county = held.is_object() ? held.value("county", std::string()) : std::string();
    if (!county.empty() && county != config.county.code) {
        ::close(fd_);
        fd_ = -1;
        throw InputError("nightly: the lock file " + quoted(path_) + " was written for county " + county + " (config " +
                         (held.is_object() ? held.value("config", std::string("?")) : std::string("?")) + "), not " +
                         config.county.code + "; give each county its own output.dir");
    }
    if (locked) {
        ::close(fd_);
        fd_ = -1;
        auto field = [&](const char* key) {
            if (!held.is_object() || !held.contains(key)) return std::string("?");
            return held[key].is_string() ? held[key].get<std::string>() : held[key].dump();
        };
        throw NightlyLockedError("nightly: another run holds " + path_.string() + " (pid " + field("pid") + ", host " +
                                 field("host") + ", since " + field("started") +
                                 "); it ends by itself — wait, or stop that process");
    }
    const json mine = {{"pid", static_cast<long>(::getpid())},
                       {"host", host_name()},
                       {"county", config.county.code},
                       {"started", utc_now()},
                       {"config", config.source.string()}};
    const std::string text = mine.dump() + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
        spdlog::warn("nightly: cannot write the lock file {} ({}); the lock holds, its content is not up to date", quoted(path_),
                     std::strerror(errno));
}

NightlyLock::~NightlyLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock; the file stays (removing it would race)
}

std::string night_summary_text(const NightOutcome& night) {
    std::ostringstream s;
    s << night.night << " 夜间处理：新到影像 " << night.tiles.size() << " 景（" << night.imagery_date << "）";
    if (!night.earlier_date.empty()) s << "，前时相 " << night.earlier_date;
    s << "；疑似新增建设图斑 " << night.parcels << " 宗，共 " << night.area_mu << " 亩";
    if (!night.deferred.empty())
        s << "；暂缓 " << night.deferred.size() << " 宗（位于本次影像边缘，待相邻影像到达后完整提取）";
    if (!night.edge_reported.empty())
        s << "；接边图斑 " << night.edge_reported.size() << " 宗（延伸到其他时相的相邻影像，只含本次影像部分，已在备注中注明）";
    if (!night.skipped.empty()) {
        s << "；跳过文件 " << night.skipped.size() << " 个（";
        for (std::size_t i = 0; i < night.skipped.size(); ++i) {
            const auto& k = night.skipped[i];
            const std::string reason = k.reason == "corrupt" ? "文件损坏"
                                       : k.reason == "undatable" ? "无法确定拍摄日期"
                                       : k.reason == "unknown_crs" ? "坐标系未知"
                                       : k.reason == "duplicate" ? "重复影像"
                                       : k.reason == "unreadable" ? "无法读取"
                                       : k.reason == "changed" ? "已登记影像被改动"
                                       : k.reason == "missing earlier coverage" ? "缺少前时相影像"
                                                                                  : k.reason;
            s << (i ? "、" : "") << fs::path(k.file).filename().string() << "：" << reason;
        }
        s << "）";
    }
    // The rectification check on the night's imagery (ledger/ledger_rectify.hpp), when it ran.
    if (night.summary.is_object() && night.summary.contains("rectification") && !night.summary["rectification"].empty()) {
        std::map<std::string, int> states;
        std::vector<std::string> flagged, cleared;
        for (const auto& c : night.summary["rectification"]) {
            ++states[c.value("state", std::string())];
            if (c.value("flagged", false)) flagged.push_back(c.value("case_id", std::string()));
            if (c.value("flag_cleared", false)) cleared.push_back(c.value("case_id", std::string()));
        }
        s << "；整改复查 " << night.summary["rectification"].size() << " 宗（";
        bool first = true;
        for (const char* state : {"已恢复", "部分恢复", "仍有建设", "无法判断"})
            if (states.count(state)) {
                s << (first ? "" : "、") << state << " " << states[state] << " 宗";
                first = false;
            }
        s << "）";
        if (!flagged.empty()) {
            s << "，其中整改不到位 " << flagged.size() << " 宗：";
            for (std::size_t i = 0; i < flagged.size(); ++i) s << (i ? "、" : "") << flagged[i];
        }
        if (!cleared.empty()) {
            s << "，整改不到位标记解除 " << cleared.size() << " 宗：";
            for (std::size_t i = 0; i < cleared.size(); ++i) s << (i ? "、" : "") << cleared[i];
        }
    }
    s << "。";
    return s.str();
}

NightlyResult run_nightly(const Config& config, const NightlyOptions& options) {
    ensure_gdal_registered();
    if (config.nightly.inbox.empty())
        throw ConfigError("nightly: config " + quoted(config.source) +
                          ": key 'nightly.inbox' is empty; list the folders where new imagery arrives");
    const fs::path root = fs::absolute(config.output_dir).lexically_normal();
    const std::string night_date = options.night.empty() ? today_local() : options.night;
    NightlyLock lock(root, config);
    spdlog::debug("nightly: lock {} taken", lock.path().string());
    ImageryCatalog catalog = ImageryCatalog::open(catalog_location(config), config.county);
    Night night(config, options, catalog, root);
    NightlyResult result;

    // A night left running (killed): redo it, same tiles, same folder.
    if (auto unfinished = catalog.unfinished_night()) {
        std::map<std::int64_t, CatalogTile> by_id;
        for (auto& t : catalog.tiles()) by_id[t.id] = t;
        std::vector<CatalogTile> tiles;
        for (auto id : unfinished->tiles)
            if (by_id.count(id)) tiles.push_back(by_id[id]);
        spdlog::warn("nightly: the night {} did not finish (started {}); redoing it: {} tiles into {}", unfinished->night,
                     unfinished->started_at, tiles.size(), unfinished->folder);
        if (!tiles.empty()) {
            std::vector<SkippedFile> skipped;
            const std::string name = fs::path(unfinished->folder).filename().string();
            std::ifstream in(state_dir(root) / (name + "-skipped.json"), std::ios::binary);
            const json saved = in ? json::parse(in, nullptr, false) : json();
            if (saved.is_array())
                for (const auto& k : saved)
                    skipped.push_back({k.value("file", ""), k.value("reason", ""), k.value("line", k.value("what_to_do", ""))});
            NightPlan plan = plan_night(catalog, tiles, config.nightly.margin_m, nullptr);
            result.nights.push_back(
                night.run(unfinished->id, fs::path(unfinished->folder).filename().string(), std::move(plan), skipped, true));
        } else {
            catalog.finish_night(unfinished->id, "nothing", json::object());
        }
    }

    std::vector<SkippedFile> skipped;
    std::exception_ptr failure;
    auto report = [&](const ScanResult& scan) {
        for (const auto& issue : scan.issues) {
            spdlog::debug("nightly: skipped {} ({})", issue.path, issue_kind_name(issue.kind));  // the catalog printed its line
            skipped.push_back(skipped_of(issue));
        }
    };
    report(catalog.register_base(config.nightly));
    const ScanResult scan = catalog.scan(config.nightly);
    report(scan);
    if (!scan.registered.empty()) spdlog::info("nightly: {} new tiles registered", scan.registered.size());

    std::vector<CatalogTile> pending = catalog.pending();
    std::map<std::string, std::vector<CatalogTile>> by_date;
    for (auto& t : pending) by_date[t.date].push_back(std::move(t));
    bool first = true;
    for (auto& [date, tiles] : by_date) {
        std::vector<CatalogTile> uncovered;
        NightPlan plan = plan_night(catalog, tiles, config.nightly.margin_m, &uncovered);
        std::vector<SkippedFile> night_skipped = first ? skipped : std::vector<SkippedFile>{};
        for (const auto& t : uncovered) {
            const std::string line = "nightly: '" + t.path + "' (" + t.date +
                                     ") has no earlier coverage in the catalog; skipped: set nightly.base to imagery dated before " +
                                     t.date + " that covers it, then run nightly again";
            spdlog::warn("{}", line);
            SkippedFile k{t.path, "missing earlier coverage", line};
            night_skipped.push_back(k);
            skipped.push_back(k);
        }
        if (plan.tiles.empty()) continue;
        first = false;
        const std::string name = free_night_name(root, night_date, catalog.nights());
        // What was skipped this start goes with the night: a redo (after a kill) lists it again.
        write_file_atomically(state_dir(root) / (name + "-skipped.json"), skipped_json(night_skipped).dump(2) + "\n", "nightly");
        const std::int64_t id = catalog.begin_night(name, root / name, ids_of(plan.tiles));
        const std::size_t count = plan.tiles.size();
        try {
            result.nights.push_back(night.run(id, name, std::move(plan), night_skipped, false));
        } catch (const InternalError&) {
            throw;  // a bug: the night stays running and is redone next start
        } catch (const Error& e) {
            // Refused input (no valid pixels, an unreadable tile …): the night is recorded failed,
            // its tiles stay pending for the next start, and the other dates still run.
            spdlog::error("nightly: night {} failed: {}; its {} tiles stay pending and are tried again on the next start", name,
                          e.what(), count);
            catalog.finish_night(id, "failed", {{"error", e.what()}});
            if (!failure) failure = std::current_exception();
        }
    }
    result.skipped = skipped;
    result.registered = static_cast<std::int64_t>(catalog.tiles().size());

    // The latest finished night (a kill between the catalog and the link leaves it behind).
    {
        const auto nights = catalog.nights();
        for (auto it = nights.rbegin(); it != nights.rend(); ++it)
            if (it->status == "done" && fs::is_directory(it->folder)) {
                point_latest(root, it->folder);
                break;
            }
    }

    if (result.nights.empty()) {
        std::string inbox;
        for (const auto& i : config.nightly.inbox) inbox += (inbox.empty() ? "" : ", ") + i;
        result.nothing_new = true;
        if (skipped.empty())
            result.message = "nightly: nothing new in " + inbox + " (" + std::to_string(result.registered) +
                             " tiles registered); nothing to do";
        else
            result.message = "nightly: nothing processed in " + inbox + ": " + std::to_string(skipped.size()) +
                             " files skipped (see the lines above), " + std::to_string(result.registered) + " tiles registered";
    } else {
        std::int64_t parcels = 0, deferred = 0;
        for (const auto& n : result.nights) parcels += n.parcels, deferred += static_cast<std::int64_t>(n.deferred.size());
        result.message = "nightly: " + std::to_string(result.nights.size()) + " night(s) written (" +
                         std::to_string(parcels) + " parcels, " + std::to_string(deferred) + " deferred, " +
                         std::to_string(skipped.size()) + " files skipped); latest → " + result.nights.back().folder.string();
    }
    if (failure) std::rethrow_exception(failure);  // after the other dates and the latest link
    spdlog::info("{}", result.message);
    return result;
}

}  // namespace weipian
