#include "bench/workload.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gdal_priv.h>
#include <nlohmann/json.hpp>
#include <ogr_spatialref.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include "kernels/clean.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/ingest.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Bumped whenever the rendered bytes change for the same spec; part of the stamp.
constexpr int kGeneratorVersion = 1;
constexpr int kTile = 256;        // GeoTIFF tile side, and rows per generated strip
constexpr int kEpsg = 4546;       // CGCS2000 / 3-degree GK CM 111E
constexpr int kBlobMargin = 4;    // free pixels around every building: closing (3×3) bridges ≤ 2
constexpr int kMinSide = 4;       // thinnest arm of a building: opening (3×3) keeps ≥ 3
constexpr int kMinBlob = 20, kMaxBlob = 5000;
constexpr float kNoise = 0.035f;  // uniform ±3.5 % per band and epoch (σ ≈ 2 %)
constexpr float kAfterGain = 1.03f, kAfterOffset = 40.0f;  // the later sensor's calibration

// Endmember spectra, surface reflectance × 10000, bands B, G, R, NIR. The detector margins
// (noise-free, worst field brightness 1.17 and darkest roof 0.874): every roof over every
// background scores ≥ 0.25 with NDVI_after ≤ 0.07; every background → background transition
// listed in kTransitions scores ≤ 0.05 or keeps NDVI_after ≥ 0.3.
enum Material : std::uint8_t { Veg, Maize, Senescent, Soil, WetSoil, Margin, Road, OldRoofTile, OldRoofGrey,
                               RoofGrey, RoofBlue, RoofWhite, RoofSteel, kMaterials };
constexpr float kSpectra[kMaterials][4] = {
    {250, 560, 320, 4000},    // green crop (winter wheat)
    {230, 520, 290, 4300},    // summer maize
    {550, 800, 950, 2500},    // ripening / senescent canopy
    {900, 1200, 1500, 2000},  // dry loess soil
    {550, 650, 700, 850},     // wet soil
    {400, 650, 600, 2600},    // grassy field margin
    {1000, 1150, 1300, 1700}, // dirt road
    {900, 1000, 1600, 1900},  // old red tile roof (unchanged)
    {1700, 1800, 1900, 2100}, // old grey roof (unchanged)
    {2000, 2100, 2200, 2400}, // new: grey coated roof
    {2500, 2150, 1600, 1750}, // new: blue steel sheet
    {2600, 2700, 2800, 3000}, // new: white roof
    {2000, 2100, 2150, 2300}, // new: bare steel / concrete
};
constexpr int kFirstNewRoof = RoofGrey, kNewRoofs = 4;

// Field states before → after with weights (per mille): seasonal change that the detector must
// leave alone (green-up, ripening, wetting, crop rotation), never a harvest to bare soil.
struct Transition {
    Material before, after;
    int weight;
};
constexpr Transition kTransitions[] = {
    {Veg, Veg, 200},     {Veg, Maize, 100},   {Veg, Senescent, 150}, {Maize, Maize, 50},
    {Senescent, Veg, 50}, {Soil, Soil, 120},  {Soil, Veg, 100},      {Soil, WetSoil, 50},
    {WetSoil, Veg, 50},  {Senescent, Senescent, 50}, {Maize, Senescent, 40}, {WetSoil, WetSoil, 40},
};

// SplitMix64 (Steele, Lea & Flood 2014): the layout's sequential PRNG and, through mix(), the
// per-pixel counter-based noise. Plain integer arithmetic: identical on every platform.
std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() { return mix(state_ += 0x9e3779b97f4a7c15ULL); }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    int between(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }

private:
    std::uint64_t state_;
};

struct Field {
    int x0 = 0;
    Material before = Veg, after = Veg;
    bool rows_vertical = false;  // crop rows / furrows run along y (texture varies along x)
    int period = 8, phase = 0;   // texture period and phase, pixels
    float amplitude = 0.05f;     // texture: brightness × (1 ± amplitude)
    float brightness = 1.0f;     // field brightness (soil moisture, canopy density)
    float drift_after = 1.0f;    // small brightness drift of the later epoch
};

struct RowBand {
    int y0 = 0, y1 = 0;
    int top_rows = 2;            // margin or road rows at the top of the band
    Material top = Margin;
    std::vector<Field> fields;   // ordered by x0, the first at 0
};

struct OldRoof {
    int x0, y0, width, height;
    Material material;
};

// Everything make_workload renders, decided up front from the seed (no pixels).
struct Layout {
    std::vector<RowBand> bands;
    std::vector<OldRoof> old_roofs;
    WorkloadTruth truth;
    std::vector<std::vector<int>> blobs_by_strip, roofs_by_strip;  // indices intersecting each strip
};

// Occupied rectangles (expanded by the margin) on a coarse grid, to keep buildings apart.
class Occupancy {
public:
    explicit Occupancy(int size) : cells_per_side_((size + kCell - 1) / kCell), cells_(static_cast<std::size_t>(cells_per_side_) * cells_per_side_) {}

    bool free(int x0, int y0, int w, int h) const {
        bool ok = true;
        visit(x0, y0, w, h, [&](const std::vector<int>& cell) {
            for (int i : cell) {
                const auto& r = rects_[static_cast<std::size_t>(i)];
                if (x0 < r[0] + r[2] + kBlobMargin && r[0] < x0 + w + kBlobMargin && y0 < r[1] + r[3] + kBlobMargin &&
                    r[1] < y0 + h + kBlobMargin)
                    ok = false;
            }
        });
        return ok;
    }
    void add(int x0, int y0, int w, int h) {
        const int index = static_cast<int>(rects_.size());
        rects_.push_back({x0, y0, w, h});
        visit(x0 - kBlobMargin, y0 - kBlobMargin, w + 2 * kBlobMargin, h + 2 * kBlobMargin,
              [&](std::vector<int>& cell) { cell.push_back(index); });
    }

private:
    static constexpr int kCell = 128;
    template <typename Cells, typename F>
    static void visit_cells(Cells& self, int x0, int y0, int w, int h, F&& f) {
        const int n = self.cells_per_side_;
        const int cx0 = std::clamp(x0 / kCell, 0, n - 1), cx1 = std::clamp((x0 + w) / kCell, 0, n - 1);
        const int cy0 = std::clamp(y0 / kCell, 0, n - 1), cy1 = std::clamp((y0 + h) / kCell, 0, n - 1);
        for (int cy = cy0; cy <= cy1; ++cy)
            for (int cx = cx0; cx <= cx1; ++cx) f(self.cells_[static_cast<std::size_t>(cy) * n + cx]);
    }
    template <typename F>
    void visit(int x0, int y0, int w, int h, F&& f) const { visit_cells(*this, x0, y0, w, h, f); }
    template <typename F>
    void visit(int x0, int y0, int w, int h, F&& f) { visit_cells(*this, x0, y0, w, h, f); }

    int cells_per_side_;
    std::vector<std::vector<int>> cells_;
    std::vector<std::array<int, 4>> rects_;
};

// A building of about `target` pixels, with its exact pixel count; `large` keeps the count at or
// above the minimum mapping unit `mmu` (and below it when false).
WorkloadBlob shape_blob(Rng& rng, int target, bool large, std::int64_t mmu) {
    WorkloadBlob b;
    const double aspect = 1.0 + 1.5 * rng.uniform();
    const bool l_shape = target >= 200 && rng.uniform() < 0.35;
    if (l_shape) {
        const double notch_share = 0.15 + 0.25 * rng.uniform();
        const double box = target / (1.0 - notch_share);
        b.height = std::max(2 * kMinSide, static_cast<int>(std::lround(std::sqrt(box / aspect))));
        b.width = std::max(2 * kMinSide, static_cast<int>(std::lround(box / b.height)));
        b.notch_width = std::clamp(static_cast<int>(std::lround(b.width * (0.3 + 0.3 * rng.uniform()))), 1, b.width - kMinSide);
        b.notch_height = std::clamp(static_cast<int>(std::lround(notch_share * b.width * b.height / b.notch_width)), 1,
                                    b.height - kMinSide);
        b.notch_corner = rng.between(0, 3);
    } else {
        b.height = std::max(kMinSide, static_cast<int>(std::lround(std::sqrt(target / aspect))));
        b.width = std::max(kMinSide, static_cast<int>(std::lround(static_cast<double>(target) / b.height)));
    }
    if (rng.uniform() < 0.5) {
        std::swap(b.width, b.height);
        std::swap(b.notch_width, b.notch_height);
    }
    auto count = [&] { return static_cast<std::int64_t>(b.width) * b.height - static_cast<std::int64_t>(b.notch_width) * b.notch_height; };
    // Nudge the long side until the count is in its class and within [kMinBlob, kMaxBlob].
    int& long_side = b.width >= b.height ? b.width : b.height;
    const int long_notch_min = (&long_side == &b.width ? b.notch_width : b.notch_height) + kMinSide;
    while ((large && count() < mmu) || count() < kMinBlob) ++long_side;
    while (((!large && count() >= mmu) || count() > kMaxBlob) && long_side > std::max(kMinSide, long_notch_min)) --long_side;
    b.pixel_count = count();
    return b;
}

Layout plan_layout(const WorkloadSpec& spec) {
    if (spec.size < kTile) throw ConfigError("workload: size " + std::to_string(spec.size) + " is below " + std::to_string(kTile) + " px; use a larger --size");
    if (!(spec.pixel_size_m > 0)) {
        std::ostringstream value;
        value << spec.pixel_size_m;
        throw ConfigError("workload: pixel size " + value.str() + " m is not positive; give a pixel size > 0");
    }
    const int n = spec.size;
    Layout layout;
    Rng rng(mix(spec.seed ^ 0x5745495049414eULL));

    // Fields: bands of rows 48–220 px high, each cut into fields 40–320 px wide.
    int total_weight = 0;
    for (const auto& t : kTransitions) total_weight += t.weight;
    for (int y = 0; y < n;) {
        RowBand band;
        band.y0 = y;
        band.y1 = std::min(n, y + rng.between(48, 220));
        const bool road = rng.uniform() < 0.25;
        band.top = road ? Road : Margin;
        band.top_rows = road ? 4 : 2;
        for (int x = 0; x < n;) {
            Field f;
            f.x0 = x;
            int pick = rng.between(0, total_weight - 1);
            for (const auto& t : kTransitions) {
                if (pick < t.weight) {
                    f.before = t.before;
                    f.after = t.after;
                    break;
                }
                pick -= t.weight;
            }
            f.rows_vertical = rng.uniform() < 0.5;
            f.period = rng.between(5, 12);
            f.phase = rng.between(0, f.period - 1);
            f.amplitude = static_cast<float>(0.03 + 0.05 * rng.uniform());
            f.brightness = static_cast<float>(0.92 + 0.16 * rng.uniform());
            f.drift_after = static_cast<float>(0.98 + 0.04 * rng.uniform());
            band.fields.push_back(f);
            x += rng.between(40, 320);
        }
        layout.bands.push_back(std::move(band));
        y = layout.bands.back().y1;
    }

    Occupancy occupancy(n);
    // Old villages (unchanged roofs): about one per 1024² px, 15–40 houses each.
    const std::int64_t villages = std::max<std::int64_t>(1, static_cast<std::int64_t>(n) * n / (1024 * 1024));
    for (std::int64_t v = 0; v < villages; ++v) {
        const int cx = rng.between(0, n - 1), cy = rng.between(0, n - 1);
        const int houses = rng.between(15, 40);
        for (int h = 0; h < houses; ++h) {
            OldRoof r{};
            r.width = rng.between(8, 30);
            r.height = rng.between(8, 30);
            r.x0 = cx + rng.between(-150, 150);
            r.y0 = cy + rng.between(-150, 150);
            r.material = rng.uniform() < 0.5 ? OldRoofTile : OldRoofGrey;
            if (r.x0 < 2 || r.y0 < 2 || r.x0 + r.width > n - 2 || r.y0 + r.height > n - 2) continue;
            if (!occupancy.free(r.x0, r.y0, r.width, r.height)) continue;
            occupancy.add(r.x0, r.y0, r.width, r.height);
            layout.old_roofs.push_back(r);
        }
    }

    // New buildings until the changed share is reached: 15 % below the minimum mapping unit
    // (20–312 px at 0.8 m), the rest above it with a long tail to 5000 px (mean ≈ 1000 px).
    const std::int64_t mmu = workload_mmu_pixels(spec);
    const std::int64_t target = std::llround(spec.changed_fraction * static_cast<double>(n) * n);
    WorkloadTruth& truth = layout.truth;
    int misses = 0;
    while (target - truth.changed_pixels >= kMinBlob && misses < 1000) {
        const bool small = rng.uniform() < 0.15;
        double u = rng.uniform();
        int size = small ? static_cast<int>(kMinBlob + (mmu - 1 - kMinBlob) * u * u)
                         : static_cast<int>(mmu + (kMaxBlob - mmu) * u * u * u * u * u * u);
        size = static_cast<int>(std::min<std::int64_t>(size, target - truth.changed_pixels));
        WorkloadBlob b = shape_blob(rng, size, size >= mmu, mmu);
        b.roof = kFirstNewRoof + rng.between(0, kNewRoofs - 1);
        b.brightness = 0.92 + 0.18 * rng.uniform();
        bool placed = false;
        for (int attempt = 0; attempt < 50 && !placed; ++attempt) {
            b.x0 = rng.between(2, n - 2 - b.width);
            b.y0 = rng.between(2, n - 2 - b.height);
            placed = occupancy.free(b.x0, b.y0, b.width, b.height);
        }
        if (!placed) {
            ++misses;
            continue;
        }
        occupancy.add(b.x0, b.y0, b.width, b.height);
        truth.changed_pixels += b.pixel_count;
        truth.blobs.push_back(b);
    }

    const int strips = (n + kTile - 1) / kTile;
    layout.blobs_by_strip.resize(static_cast<std::size_t>(strips));
    layout.roofs_by_strip.resize(static_cast<std::size_t>(strips));
    for (std::size_t i = 0; i < truth.blobs.size(); ++i)
        for (int s = truth.blobs[i].y0 / kTile; s <= (truth.blobs[i].y0 + truth.blobs[i].height - 1) / kTile; ++s)
            layout.blobs_by_strip[static_cast<std::size_t>(s)].push_back(static_cast<int>(i));
    for (std::size_t i = 0; i < layout.old_roofs.size(); ++i)
        for (int s = layout.old_roofs[i].y0 / kTile; s <= (layout.old_roofs[i].y0 + layout.old_roofs[i].height - 1) / kTile; ++s)
            layout.roofs_by_strip[static_cast<std::size_t>(s)].push_back(static_cast<int>(i));
    return layout;
}

// One strip of both epochs, pixel-interleaved (B, G, R, NIR per pixel), as the files store it.
struct Strip {
    int row0 = 0, rows = 0;
    std::vector<std::uint16_t> before, after;
};

// Per-pixel noise factors (1 ± kNoise) for the four bands from one hash of (epoch, x, y).
struct Noise {
    std::uint64_t epoch_seed;
    void factors(int x, int y, float out[4]) const {
        const std::uint64_t h = mix(epoch_seed + (static_cast<std::uint64_t>(y) << 32) + static_cast<std::uint64_t>(x));
        for (int b = 0; b < 4; ++b)
            out[b] = 1.0f + kNoise * (static_cast<float>((h >> (16 * b)) & 0xffff) * (2.0f / 65536.0f) - 1.0f);
    }
};

std::uint16_t to_dn(float v) { return static_cast<std::uint16_t>(std::clamp(std::lround(v), 1L, 65535L)); }

void put(std::uint16_t* px, Material m, float gain, const float noise[4], float scale, float offset) {
    for (int b = 0; b < 4; ++b) px[b] = to_dn(kSpectra[m][b] * gain * noise[b] * scale + offset);
}

void render_strip(const Layout& layout, const WorkloadSpec& spec, const Noise& noise_before, const Noise& noise_after,
                  Strip& strip) {
    const int n = spec.size;
    const std::size_t row_values = static_cast<std::size_t>(n) * 4;
    strip.before.resize(row_values * static_cast<std::size_t>(strip.rows));
    strip.after.resize(row_values * static_cast<std::size_t>(strip.rows));
    float nb[4], na[4];
    for (int r = 0; r < strip.rows; ++r) {
        const int y = strip.row0 + r;
        const auto band = std::upper_bound(layout.bands.begin(), layout.bands.end(), y,
                                           [](int v, const RowBand& b) { return v < b.y0; }) - 1;
        std::uint16_t* before = strip.before.data() + row_values * static_cast<std::size_t>(r);
        std::uint16_t* after = strip.after.data() + row_values * static_cast<std::size_t>(r);
        const bool top = y - band->y0 < band->top_rows;
        const auto& fields = band->fields;
        for (std::size_t f = 0; f < fields.size(); ++f) {
            const Field& field = fields[f];
            const int x1 = f + 1 < fields.size() ? fields[f + 1].x0 : n;
            for (int x = field.x0; x < x1; ++x) {
                noise_before.factors(x, y, nb);
                noise_after.factors(x, y, na);
                std::uint16_t* pb = before + 4 * static_cast<std::size_t>(x);
                std::uint16_t* pa = after + 4 * static_cast<std::size_t>(x);
                if (top || x - field.x0 < 2) {
                    const Material m = top ? band->top : Margin;
                    put(pb, m, 1.0f, nb, 1.0f, 0.0f);
                    put(pa, m, kAfterGain, na, 1.0f, kAfterOffset);
                    continue;
                }
                // Crop rows / furrows: a triangle wave across the rows.
                const int along = field.rows_vertical ? x : y;
                const int t = (along + field.phase) % field.period;
                const float tri = static_cast<float>(std::abs(2 * t - field.period)) / static_cast<float>(field.period);
                const float texture = field.brightness * (1.0f + field.amplitude * (2.0f * tri - 1.0f));
                put(pb, field.before, 1.0f, nb, texture, 0.0f);
                put(pa, field.after, kAfterGain, na, texture * field.drift_after, kAfterOffset);
            }
        }
    }
    const int row1 = strip.row0 + strip.rows;
    const std::size_t strip_index = static_cast<std::size_t>(strip.row0 / kTile);
    for (int i : layout.roofs_by_strip[strip_index]) {
        const OldRoof& roof = layout.old_roofs[static_cast<std::size_t>(i)];
        for (int y = std::max(roof.y0, strip.row0); y < std::min(roof.y0 + roof.height, row1); ++y)
            for (int x = roof.x0; x < roof.x0 + roof.width; ++x) {
                noise_before.factors(x, y, nb);
                noise_after.factors(x, y, na);
                const std::size_t at = row_values * static_cast<std::size_t>(y - strip.row0) + 4 * static_cast<std::size_t>(x);
                put(&strip.before[at], roof.material, 1.0f, nb, 1.0f, 0.0f);
                put(&strip.after[at], roof.material, kAfterGain, na, 1.0f, kAfterOffset);
            }
    }
    for (int i : layout.blobs_by_strip[strip_index]) {
        const WorkloadBlob& blob = layout.truth.blobs[static_cast<std::size_t>(i)];
        const bool ridge_along_x = blob.width >= blob.height;  // gable roof: two faces, one shaded
        for (int y = std::max(blob.y0, strip.row0); y < std::min(blob.y0 + blob.height, row1); ++y)
            for (int x = blob.x0; x < blob.x0 + blob.width; ++x) {
                if (!blob.contains(x, y)) continue;
                noise_after.factors(x, y, na);
                const bool shaded = ridge_along_x ? 2 * (y - blob.y0) >= blob.height : 2 * (x - blob.x0) >= blob.width;
                const float gain = static_cast<float>(blob.brightness) * (shaded ? 0.95f : 1.0f) * kAfterGain;
                const std::size_t at = row_values * static_cast<std::size_t>(y - strip.row0) + 4 * static_cast<std::size_t>(x);
                put(&strip.after[at], static_cast<Material>(blob.roof), gain, na, 1.0f, kAfterOffset);
            }
    }
}

json spec_stamp(const WorkloadSpec& spec) {
    return {{"generator", kGeneratorVersion}, {"size", spec.size},           {"pixel_size_m", spec.pixel_size_m},
            {"seed", spec.seed},              {"changed_fraction", spec.changed_fraction},
            {"origin_x", spec.origin_x},      {"origin_y", spec.origin_y},  {"epsg", kEpsg},
            {"tile", kTile},                  {"deflate", spec.deflate}};
}

// The stamp in `dir` matches when everything but `deflate` is equal and deflate copies exist
// whenever they are asked for.
bool stamp_matches(const fs::path& stamp_path, const WorkloadSpec& spec, const std::vector<fs::path>& files) {
    std::error_code ec;
    if (!fs::exists(stamp_path, ec)) return false;
    for (const auto& f : files)
        if (!fs::exists(f, ec)) return false;
    try {
        std::ifstream in(stamp_path);
        json stamp = json::parse(in);
        json wanted = spec_stamp(spec);
        const bool has_deflate = stamp.value("deflate", false);
        stamp.erase("deflate");
        wanted.erase("deflate");
        return stamp == wanted && (has_deflate || !spec.deflate);
    } catch (const std::exception&) {
        return false;
    }
}

// Creates the GeoTIFF at `path` (a temporary name); messages name `final_path`.
GDALDatasetUniquePtr create_epoch(const fs::path& path, const fs::path& final_path, const WorkloadSpec& spec, bool deflate) {
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
    CPLStringList options;
    options.SetNameValue("TILED", "YES");
    options.SetNameValue("BLOCKXSIZE", std::to_string(kTile).c_str());
    options.SetNameValue("BLOCKYSIZE", std::to_string(kTile).c_str());
    options.SetNameValue("INTERLEAVE", "PIXEL");
    if (deflate) {
        options.SetNameValue("COMPRESS", "DEFLATE");
        options.SetNameValue("PREDICTOR", "2");
        options.SetNameValue("NUM_THREADS", "ALL_CPUS");
        options.SetNameValue("BIGTIFF", "IF_SAFER");
    }
    GDALDatasetUniquePtr ds(driver->Create(path.c_str(), spec.size, spec.size, 4, GDT_UInt16, options.List()));
    if (!ds) throw InputError("workload: cannot create '" + final_path.string() + "'; check that the folder is writable and has space");
    double gt[6] = {spec.origin_x, spec.pixel_size_m, 0, spec.origin_y, 0, -spec.pixel_size_m};
    ds->SetGeoTransform(gt);
    OGRSpatialReference srs;
    srs.importFromEPSG(kEpsg);
    ds->SetSpatialRef(&srs);
    const char* names[4] = {"blue", "green", "red", "nir"};
    for (int b = 0; b < 4; ++b) ds->GetRasterBand(b + 1)->SetDescription(names[b]);
    return ds;
}

void write_strip(GDALDataset& ds, const fs::path& path, const Strip& strip, const std::vector<std::uint16_t>& values, int width) {
    int bands[4] = {1, 2, 3, 4};
    const CPLErr err = ds.RasterIO(GF_Write, 0, strip.row0, width, strip.rows, const_cast<std::uint16_t*>(values.data()), width,
                                   strip.rows, GDT_UInt16, 4, bands, 8, static_cast<GSpacing>(width) * 8, 2, nullptr);
    if (err != CE_None) throw InputError("workload: cannot write '" + path.string() + "'; check free disk space");
    ds.FlushCache(false);  // tiles of this strip are complete: write them and free the cache
}

void write_json_file(const fs::path& path, const json& value) {
    write_file_atomically(path, value.dump(2) + "\n", "workload");
}

}  // namespace

bool WorkloadBlob::contains(int x, int y) const {
    if (x < x0 || y < y0 || x >= x0 + width || y >= y0 + height) return false;
    if (notch_width == 0) return true;
    const bool right = notch_corner == 1 || notch_corner == 3, bottom = notch_corner >= 2;
    const bool in_x = right ? x >= x0 + width - notch_width : x < x0 + notch_width;
    const bool in_y = bottom ? y >= y0 + height - notch_height : y < y0 + notch_height;
    return !(in_x && in_y);
}

WorkloadTruth plan_workload_truth(const WorkloadSpec& spec) { return plan_layout(spec).truth; }

WorkloadFiles make_workload(const WorkloadSpec& spec, const fs::path& dir) {
    ensure_gdal_registered();
    WorkloadFiles files;
    files.dir = dir;
    files.before = dir / "before.tif";
    files.after = dir / "after.tif";
    if (spec.deflate) {
        files.before_deflate = dir / "before_deflate.tif";
        files.after_deflate = dir / "after_deflate.tif";
    }
    files.truth = dir / "truth.json";
    const fs::path stamp = dir / "workload.json";
    std::vector<fs::path> expected = {files.before, files.after, files.truth};
    if (spec.deflate) expected.insert(expected.end(), {files.before_deflate, files.after_deflate});

    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw InputError("workload: cannot create folder '" + dir.string() + "': " + ec.message());
    if (stamp_matches(stamp, spec, expected)) {
        std::ifstream in(files.truth);
        const json truth = json::parse(in, nullptr, false);
        if (!truth.is_discarded()) {
            files.blobs = truth.value("blobs", std::int64_t{0});
            files.changed_pixels = truth.value("changed_pixels", std::int64_t{0});
            if (spec.deflate) return files;
            files.before_deflate.clear();
            files.after_deflate.clear();
            return files;
        }
    }

    const auto start = std::chrono::steady_clock::now();
    fs::remove(stamp, ec);  // an interrupted generation never leaves a matching stamp behind
    const Layout layout = plan_layout(spec);
    struct Output {
        fs::path path;
        std::unique_ptr<AtomicFile> file;
        GDALDatasetUniquePtr ds;
        bool after;
    };
    std::vector<Output> outputs;
    auto open_output = [&](const fs::path& path, bool after, bool deflate) {
        Output o{path, std::make_unique<AtomicFile>(path, "workload"), nullptr, after};
        o.ds = create_epoch(o.file->path(), path, spec, deflate);
        outputs.push_back(std::move(o));
    };
    open_output(files.before, false, false);
    open_output(files.after, true, false);
    if (spec.deflate) {
        open_output(files.before_deflate, false, true);
        open_output(files.after_deflate, true, true);
    }

    const Noise noise_before{mix(spec.seed * 2 + 1)}, noise_after{mix(spec.seed * 2 + 2)};
    const int strips = (spec.size + kTile - 1) / kTile;
    int next_strip = 0;
    // Tokens: one strip per worker in flight plus one being written; each token holds
    // 2 epochs × 256 rows × N × 8 bytes (16 MiB per epoch at 8192², 32 MiB at 16384²).
    const std::size_t tokens = static_cast<std::size_t>(tbb::this_task_arena::max_concurrency()) + 1;
    tbb::parallel_pipeline(
        tokens,
        tbb::make_filter<void, std::shared_ptr<Strip>>(tbb::filter_mode::serial_in_order,
                                                       [&](tbb::flow_control& fc) -> std::shared_ptr<Strip> {
                                                           if (next_strip >= strips) {
                                                               fc.stop();
                                                               return nullptr;
                                                           }
                                                           auto s = std::make_shared<Strip>();
                                                           s->row0 = next_strip++ * kTile;
                                                           s->rows = std::min(kTile, spec.size - s->row0);
                                                           return s;
                                                       }) &
            tbb::make_filter<std::shared_ptr<Strip>, std::shared_ptr<Strip>>(
                tbb::filter_mode::parallel,
                [&](std::shared_ptr<Strip> s) {
                    render_strip(layout, spec, noise_before, noise_after, *s);
                    return s;
                }) &
            tbb::make_filter<std::shared_ptr<Strip>, void>(tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Strip> s) {
                for (auto& o : outputs) write_strip(*o.ds, o.path, *s, o.after ? s->after : s->before, spec.size);
            }));
    for (auto& o : outputs) {
        CPLErrorReset();
        o.ds.reset();  // closing writes the last tiles and the directory (GDAL 3.6 has no Close())
        if (CPLGetLastErrorType() >= CE_Failure)
            throw InputError("workload: cannot finish '" + o.path.string() + "'; check free disk space");
        o.file->commit();
    }

    const auto& truth = layout.truth;
    const std::int64_t mmu = workload_mmu_pixels(spec);
    std::int64_t at_least_mmu = 0, smallest = truth.blobs.empty() ? 0 : truth.blobs.front().pixel_count, largest = 0;
    for (const auto& b : truth.blobs) {
        at_least_mmu += b.pixel_count >= mmu;
        smallest = std::min(smallest, b.pixel_count);
        largest = std::max(largest, b.pixel_count);
    }
    const double pixels = static_cast<double>(spec.size) * spec.size;
    write_json_file(files.truth, {{"blobs", truth.blobs.size()},
                                  {"changed_pixels", truth.changed_pixels},
                                  {"changed_fraction", static_cast<double>(truth.changed_pixels) / pixels},
                                  {"mmu_pixels", mmu},
                                  {"blobs_at_least_mmu", at_least_mmu},
                                  {"pixels_at_least_mmu", [&] {
                                       std::int64_t s = 0;
                                       for (const auto& b : truth.blobs) s += b.pixel_count >= mmu ? b.pixel_count : 0;
                                       return s;
                                   }()},
                                  {"smallest_blob_px", smallest},
                                  {"largest_blob_px", largest},
                                  {"old_roofs", layout.old_roofs.size()},
                                  {"spec", spec_stamp(spec)}});
    write_json_file(stamp, spec_stamp(spec));
    files.blobs = static_cast<std::int64_t>(truth.blobs.size());
    files.changed_pixels = truth.changed_pixels;
    files.generated = true;
    files.generate_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return files;
}

std::int64_t workload_mmu_pixels(const WorkloadSpec& spec) {
    return kernels::area_in_pixels(Config{}.clean.min_area_m2, spec.pixel_size_m * spec.pixel_size_m);
}

void write_dated_tiles(const std::filesystem::path& inbox, int count) {
    GDALAllRegister();
    GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    std::vector<unsigned char> pixels(256);
    for (int i = 0; i < count; ++i) {
        const int row = i / 100, col = i % 100;
        const std::filesystem::path folder = inbox / ("row" + std::to_string(row));
        std::filesystem::create_directories(folder);
        const std::filesystem::path path = folder / ("GF2_PMS1_20230918_r" + std::to_string(row) + "c" + std::to_string(col) + ".tif");
        GDALDatasetUniquePtr ds(gtiff->Create(path.c_str(), 16, 16, 1, GDT_Byte, nullptr));
        if (!ds) throw std::runtime_error("cannot create " + path.string());
        double gt[6] = {480000.0 + col * 32.0, 2, 0, 3960000.0 - row * 32.0, 0, -2};
        ds->SetGeoTransform(gt);
        ds->SetSpatialRef(&srs);
        for (std::size_t p = 0; p < pixels.size(); ++p) pixels[p] = static_cast<unsigned char>((i * 31 + p) & 0xff);
        if (ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 16, 16, pixels.data(), 16, 16, GDT_Byte, 0, 0) != CE_None)
            throw std::runtime_error("cannot write " + path.string());
        ds->SetMetadataItem("TILE", std::to_string(i).c_str());  // distinct bytes: no duplicates
    }
}

}  // namespace weipian
