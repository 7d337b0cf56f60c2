#include "pipeline/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <sstream>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <tbb/concurrent_queue.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include "kernels/threshold.hpp"
#include "pipeline/core/errors.hpp"

namespace weipian {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ns_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

kernels::ConstructionParams params_of(const Config& config, float threshold) {
    kernels::ConstructionParams p;
    p.threshold = threshold;
    p.brightness_weight = static_cast<float>(config.detect.brightness_weight);
    p.after_vegetation_max = static_cast<float>(config.detect.after_vegetation_max);
    return p;
}

// Objects recycled through a free list and owned here, so nothing leaks when a stage throws and
// TBB cancels the pipeline. At most tokens + 1 strips exist at once (one is held by the halo
// exchange).
template <typename T>
class Pool {
public:
    T* acquire() {
        T* item = nullptr;
        if (free_.try_pop(item)) return item;
        std::lock_guard<std::mutex> lock(mutex_);
        all_.push_back(std::make_unique<T>());
        return all_.back().get();
    }
    void release(T* item) { free_.push(item); }

private:
    std::mutex mutex_;
    std::vector<std::unique_ptr<T>> all_;
    tbb::concurrent_queue<T*> free_;
};

// Components closed by one strip, on their way to the polygonizer.
struct Batch {
    std::vector<kernels::StreamComponent> components;
    std::vector<PatchPolygon> polygons;
};

// Sets a strip's rows and sizes its buffers (no allocation when the size repeats).
void lay_out(Strip& s, int index, int width, int height, int strip_rows, int halo, bool with_score) {
    s.index = index;
    s.row0 = index * strip_rows;
    s.rows = std::min(strip_rows, height - s.row0);
    s.read0 = std::max(0, s.row0 - halo);
    s.read_rows = std::min(height, s.row0 + s.rows + halo) - s.read0;
    s.mask.create(s.read_rows, width, CV_8UC1);
    s.valid.create(s.read_rows, width, CV_8UC1);
    if (with_score)
        s.score.create(s.rows, width, CV_32FC1);
    else
        s.score.release();
}

// Copies the rows where `from`'s mask/valid overlap `to`'s halo.
void copy_overlap(const Strip& from, Strip& to) {
    const int first = std::max(from.row0, to.read0);
    const int last = std::min(from.row0 + from.rows, to.read0 + to.read_rows);
    if (first >= last) return;
    for (const auto& [src, dst] : {std::pair{&from.mask, &to.mask}, std::pair{&from.valid, &to.valid}}) {
        cv::Mat target = dst->rowRange(first - to.read0, last - to.read0);
        src->rowRange(first - from.read0, last - from.read0).copyTo(target);
    }
}

}  // namespace

std::vector<std::pair<std::string, double>> StreamStats::stage_seconds() const {
    auto s = [](const std::atomic<std::int64_t>& ns) { return static_cast<double>(ns.load()) * 1e-9; };
    return {{"read", s(read_ns)}, {"detect", s(detect_ns)}, {"clean", s(clean_ns)}, {"label", s(label_ns)},
            {"polygonize", s(polygonize_ns)}};
}

nlohmann::json StreamStats::to_json() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [stage, seconds] : stage_seconds()) out[stage] = seconds;
    return out;
}

std::vector<PatchPolygon> label_and_polygonize(int width, int height, int strip_rows, int tokens,
                                               kernels::Connectivity connectivity, std::int64_t min_pixels,
                                               const StripStages& stages, StreamStats& stats) {
    strip_rows = std::max({1, strip_rows, stages.halo});
    const int strips = (height + strip_rows - 1) / strip_rows;
    kernels::StreamingLabeller labeller(width, connectivity);
    Pool<Strip> pool;
    Pool<Batch> batches;
    Strip end_of_image;  // sentinel that flushes the strip held by the halo exchange
    Strip* held = nullptr;
    std::vector<PatchPolygon> patches;
    int next = 0;

    auto keep = [min_pixels](std::vector<kernels::StreamComponent> closed) {
        closed.erase(std::remove_if(closed.begin(), closed.end(),
                                    [&](const kernels::StreamComponent& c) { return c.area < min_pixels; }),
                     closed.end());
        return closed;
    };
    auto polygonize = [&](Batch& batch) {
        const auto start = Clock::now();
        batch.polygons.resize(batch.components.size());
        for (std::size_t i = 0; i < batch.components.size(); ++i) {
            const auto& c = batch.components[i];
            batch.polygons[i] = {kernels::polygonize_component(c, connectivity), c.area, c.score_sum};
        }
        stats.polygonize_ns += ns_since(start);
    };

    using tbb::filter_mode;
    tbb::parallel_pipeline(
        static_cast<std::size_t>(tokens),
        tbb::make_filter<void, Strip*>(filter_mode::serial_in_order,
                                       [&](tbb::flow_control& fc) -> Strip* {
                                           if (next > strips) {
                                               fc.stop();
                                               return nullptr;
                                           }
                                           if (next++ == strips) return &end_of_image;
                                           Strip* s = pool.acquire();
                                           lay_out(*s, next - 1, width, height, strip_rows, stages.halo, stages.with_score);
                                           return s;
                                       }) &
            tbb::make_filter<Strip*, Strip*>(filter_mode::parallel,
                                             [&](Strip* s) {
                                                 // Isolated: a thread waiting inside a kernel's
                                                 // parallel_for must not pick up another strip,
                                                 // which would reuse its reader's buffers.
                                                 if (s != &end_of_image) tbb::this_task_arena::isolate([&] { stages.fill(*s); });
                                                 return s;
                                             }) &
            // A strip is complete once its successor's first rows are in its halo: hand on the
            // previous one.
            tbb::make_filter<Strip*, Strip*>(filter_mode::serial_in_order,
                                             [&](Strip* s) -> Strip* {
                                                 Strip* ready = held;
                                                 held = nullptr;
                                                 if (s == &end_of_image) return ready;
                                                 if (ready) {
                                                     copy_overlap(*ready, *s);
                                                     copy_overlap(*s, *ready);
                                                 }
                                                 held = s;
                                                 return ready;
                                             }) &
            tbb::make_filter<Strip*, Strip*>(filter_mode::parallel,
                                             [&](Strip* s) {
                                                 if (s && stages.clean) stages.clean(*s);
                                                 return s;
                                             }) &
            tbb::make_filter<Strip*, Batch*>(filter_mode::serial_in_order,
                                             [&](Strip* s) -> Batch* {
                                                 if (!s) return nullptr;
                                                 const auto start = Clock::now();
                                                 if (stages.sink) stages.sink(*s);
                                                 labeller.add_rows(s->own(s->mask), s->score, s->row0);
                                                 Batch* batch = batches.acquire();
                                                 batch->components = keep(labeller.take_closed());
                                                 pool.release(s);
                                                 stats.label_ns += ns_since(start);
                                                 return batch;
                                             }) &
            tbb::make_filter<Batch*, Batch*>(filter_mode::parallel,
                                             [&](Batch* batch) {
                                                 if (batch) polygonize(*batch);
                                                 return batch;
                                             }) &
            tbb::make_filter<Batch*, void>(filter_mode::serial_out_of_order, [&](Batch* batch) {
                if (!batch) return;
                for (auto& p : batch->polygons) patches.push_back(std::move(p));
                batch->polygons.clear();
                batches.release(batch);
            }));

    labeller.finish();
    Batch last{keep(labeller.take_closed()), {}};
    polygonize(last);
    for (auto& p : last.polygons) patches.push_back(std::move(p));
    std::sort(patches.begin(), patches.end(), [](const PatchPolygon& a, const PatchPolygon& b) {
        const auto &fa = a.polygon.first_pixel, &fb = b.polygon.first_pixel;
        return fa.y != fb.y ? fa.y < fb.y : fa.x < fb.x;
    });
    return patches;
}

struct SceneStream::Workers {
    explicit Workers(const AlignedEpochs& epochs) : readers([&epochs] { return epochs.open_reader(); }) {}
    tbb::enumerable_thread_specific<std::unique_ptr<EpochReader>> readers;
};

SceneStream::SceneStream(const AlignedEpochs& epochs, const Config& config)
    : epochs_(epochs), config_(config), workers_(std::make_unique<Workers>(epochs)) {
    open_px_ = kernels::radius_in_pixels(config.clean.open_radius_m, epochs.pixel_width_m());
    close_px_ = kernels::radius_in_pixels(config.clean.close_radius_m, epochs.pixel_width_m());
    // Opening then closing reads 2·(r_open + r_close) rows beyond a strip's own rows.
    halo_ = 2 * (open_px_ + close_px_);
    // At most 2 Mpx a strip, so that buffers stay bounded for very wide scenes: 256 rows at
    // 8192 px, 128 at 16384 px (peak RSS 397 MB → 330 MB for the 16384² workload, measured).
    const int budget_rows = std::max(16, (1 << 21) / std::max(1, epochs.width()) / 16 * 16);
    strip_rows_ = std::min({std::max(std::min(config.processing.block_size, budget_rows), halo_), epochs.height()});
    const double strip_pixels = (static_cast<double>(strip_rows_) + 2.0 * halo_) * epochs.width();
    if (strip_pixels > kMaxStripPixels) {
        std::ostringstream msg;
        msg.precision(4);
        msg << "detect: clean.open_radius_m " << config.clean.open_radius_m << " and clean.close_radius_m "
            << config.clean.close_radius_m << " are " << open_px_ << " and " << close_px_ << " px at "
            << epochs.pixel_width_m() << " m a pixel, so each strip needs " << halo_ << " halo rows on each side: "
            << strip_rows_ + 2 * halo_ << " rows × " << epochs.width() << " px = " << strip_pixels / 1e6
            << " Mpx, beyond the limit of " << kMaxStripPixels / 1e6
            << " Mpx; set grid.pixel_size larger or the radii smaller";
        throw ConfigError(msg.str());
    }
    // One strip per worker in flight plus one being labelled keeps every core busy while the
    // serial stages run (2 cores: 3 tokens, measured as fast as 4 with weipian bench).
    tokens_ = tbb::this_task_arena::max_concurrency() + 1;
}

SceneStream::~SceneStream() = default;

void SceneStream::detect_rows(Strip& s, float threshold, StreamStats& stats) {
    auto start = Clock::now();
    auto& reader = workers_->readers.local();
    reader->read(false, s.row0, s.rows, s.before);
    reader->read(true, s.row0, s.rows, s.after);
    stats.read_ns += ns_since(start);

    start = Clock::now();
    cv::Mat mask = s.own(s.mask), valid = s.own(s.valid);
    kernels::detect_construction(s.before, s.after, params_of(config_, threshold), s.score, mask);
    cv::bitwise_and(s.before.valid, s.after.valid, valid);
    stats.detect_ns += ns_since(start);
    stats.valid_pixels += cv::countNonZero(valid);
    stats.raw_pixels += cv::countNonZero(mask);
}

float SceneStream::threshold(StreamStats& stats) {
    degenerate_.clear();
    if (config_.detect.threshold) return static_cast<float>(*config_.detect.threshold);
    // Scores of every pixel with data in both epochs: the unchanged mode near 0 and the change
    // tail (the vegetation test then applies as usual).
    const int strips = (epochs_.height() + strip_rows_ - 1) / strip_rows_;
    tbb::enumerable_thread_specific<kernels::ScoreHistogram> histograms;
    tbb::enumerable_thread_specific<Strip> buffers;
    StreamStats scratch;
    tbb::parallel_for(0, strips, [&](int i) {
        // Isolated for the same reason as the pipeline's fill stage (thread-local buffers).
        tbb::this_task_arena::isolate([&] {
            Strip& strip = buffers.local();
            lay_out(strip, i, epochs_.width(), epochs_.height(), strip_rows_, 0, true);
            detect_rows(strip, -std::numeric_limits<float>::infinity(), scratch);
            auto& h = histograms.local();
            for (int y = 0; y < strip.rows; ++y)
                h.add(strip.score.ptr<float>(y), strip.valid.ptr<std::uint8_t>(y), static_cast<std::size_t>(strip.score.cols));
        });
    });
    stats.read_ns += scratch.read_ns.load();
    stats.detect_ns += scratch.detect_ns.load();
    kernels::ScoreHistogram total;
    for (const auto& h : histograms) total.merge(h);
    if (total.total() == 0) throw_no_valid_pixels(config_, "detect (detect.threshold: auto): no valid pixels");
    const float t = config_.detect.auto_method == "otsu"
                        ? kernels::otsu_threshold(total)
                        : kernels::robust_threshold(total, static_cast<float>(config_.detect.auto_k));
    degenerate_ = threshold_degeneracy(total, t);
    if (degenerate_.empty()) return t;
    spdlog::warn("detect: the automatic threshold (detect.auto_method {}) gave {:.3f}, which is degenerate: {}; no "
                 "pixel is flagged: set detect.threshold (e.g. 0.15) or check that the epochs differ",
                 config_.detect.auto_method, t, degenerate_);
    return std::numeric_limits<float>::infinity();
}

std::string threshold_degeneracy(const kernels::ScoreHistogram& histogram, float t) {
    const auto& counts = histogram.counts;
    const std::int64_t total = histogram.total();
    if (total <= 0) return "no pixel has data in both epochs";
    const auto populated = std::count_if(counts.begin(), counts.end(), [](std::int64_t c) { return c > 0; });
    const double width = (histogram.hi - histogram.lo) / static_cast<double>(counts.size());
    std::ostringstream why;
    if (populated <= 1) {
        why << "every pixel with data has the same score (no spread, as with identical epochs)";
        return why.str();
    }
    if (!(t > 0.0f)) {
        why << "it is not above 0, the score of an unchanged pixel, so unchanged pixels would count as new construction";
        return why.str();
    }
    // Pixels above t: the bins whose centre is above t (exact to one bin).
    std::int64_t above = 0;
    for (std::size_t i = 0; i < counts.size(); ++i)
        if (histogram.lo + (static_cast<double>(i) + 0.5) * width > t) above += counts[i];
    if (2 * above > total) {
        why.precision(3);
        why << "it would flag " << 100.0 * static_cast<double>(above) / static_cast<double>(total)
            << " % of the pixels with data, and new construction is a minority of a scene";
        return why.str();
    }
    return "";
}

std::vector<PatchPolygon> SceneStream::run(float threshold, std::int64_t min_pixels,
                                           const std::function<void(const Strip&)>& sink, StreamStats& stats) {
    StripStages stages;
    stages.halo = halo_;
    stages.fill = [&](Strip& s) { detect_rows(s, threshold, stats); };
    stages.clean = [&](Strip& s) {
        const auto start = Clock::now();
        kernels::open_close(s.mask, open_px_, close_px_, s.valid, s.morphology);
        stats.clean_ns += ns_since(start);
    };
    stages.sink = sink;
    return label_and_polygonize(epochs_.width(), epochs_.height(), strip_rows_, tokens_, config_.clean.connectivity,
                                min_pixels, stages, stats);
}

}  // namespace weipian
