#include "pipeline/stream.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>

#include <tbb/concurrent_queue.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include "kernels/threshold.hpp"

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

// Strips are recycled through a free list; at most `tokens` exist at once.
class StripPool {
public:
    Strip* acquire() {
        Strip* s = nullptr;
        if (free_.try_pop(s)) return s;
        std::lock_guard<std::mutex> lock(mutex_);
        all_.push_back(std::make_unique<Strip>());
        return all_.back().get();
    }
    void release(Strip* s) { free_.push(s); }

private:
    std::mutex mutex_;
    std::vector<std::unique_ptr<Strip>> all_;
    tbb::concurrent_queue<Strip*> free_;
};

// Components closed by one strip, on their way to the polygonizer.
struct Batch {
    std::vector<kernels::StreamComponent> components;
    std::vector<PatchPolygon> polygons;
};

}  // namespace

nlohmann::json StreamStats::to_json() const {
    auto s = [](const std::atomic<std::int64_t>& ns) { return static_cast<double>(ns.load()) * 1e-9; };
    return {{"read", s(read_ns)}, {"detect", s(detect_ns)}, {"clean", s(clean_ns)}, {"label", s(label_ns)},
            {"polygonize", s(polygonize_ns)}};
}

struct SceneStream::Workers {
    explicit Workers(const AlignedEpochs& epochs) : readers([&epochs] { return epochs.open_reader(); }) {}
    tbb::enumerable_thread_specific<std::unique_ptr<EpochReader>> readers;
};

SceneStream::SceneStream(const AlignedEpochs& epochs, const Config& config)
    : epochs_(epochs), config_(config), workers_(std::make_unique<Workers>(epochs)) {
    strip_rows_ = std::min(config.processing.block_size, epochs.height());
    open_px_ = kernels::radius_in_pixels(config.clean.open_radius_m, epochs.pixel_width_m());
    close_px_ = kernels::radius_in_pixels(config.clean.close_radius_m, epochs.pixel_width_m());
    // Opening then closing reads 2·(r_open + r_close) rows beyond a strip's own rows.
    halo_ = 2 * (open_px_ + close_px_);
    // One strip per worker in flight plus one being labelled: enough to keep every core busy
    // while the serial labeller runs (measured on 2 cores: 3 tokens ≈ 4 tokens in wall time).
    tokens_ = tbb::this_task_arena::max_concurrency() + 1;
}

SceneStream::~SceneStream() = default;

void SceneStream::fill(Strip& s, float threshold, bool clean, StreamStats& stats) {
    const int height = epochs_.height();
    s.row0 = s.index * strip_rows_;
    s.rows = std::min(strip_rows_, height - s.row0);
    s.read0 = std::max(0, s.row0 - halo_);
    s.read_rows = std::min(height, s.row0 + s.rows + halo_) - s.read0;

    auto start = Clock::now();
    auto& reader = workers_->readers.local();
    reader->read(false, s.read0, s.read_rows, s.before);
    reader->read(true, s.read0, s.read_rows, s.after);
    stats.read_ns += ns_since(start);

    start = Clock::now();
    kernels::detect_construction(s.before, s.after, params_of(config_, threshold), s.score, s.mask);
    cv::bitwise_and(s.before.valid, s.after.valid, s.valid);
    stats.detect_ns += ns_since(start);
    stats.valid_pixels += cv::countNonZero(s.own(s.valid));
    stats.raw_pixels += cv::countNonZero(s.own(s.mask));

    if (clean) {
        start = Clock::now();
        kernels::open_close(s.mask, open_px_, close_px_, s.valid, s.morphology);
        stats.clean_ns += ns_since(start);
    }
}

float SceneStream::threshold(StreamStats& stats) {
    if (config_.detect.threshold) return static_cast<float>(*config_.detect.threshold);
    // Otsu over the scores of every pixel with data in both epochs: the unchanged mode near 0
    // and the change mode (the vegetation test then applies as usual).
    const int strips = (epochs_.height() + strip_rows_ - 1) / strip_rows_;
    tbb::enumerable_thread_specific<kernels::ScoreHistogram> histograms;
    StreamStats scratch;
    tbb::parallel_for(0, strips, [&](int i) {
        thread_local Strip strip;
        strip.index = i;
        fill(strip, -std::numeric_limits<float>::infinity(), false, scratch);
        const cv::Mat score = strip.own(strip.score), valid = strip.own(strip.valid);
        auto& h = histograms.local();
        for (int y = 0; y < score.rows; ++y)
            h.add(score.ptr<float>(y), valid.ptr<std::uint8_t>(y), static_cast<std::size_t>(score.cols));
    });
    stats.read_ns += scratch.read_ns.load();
    stats.detect_ns += scratch.detect_ns.load();
    kernels::ScoreHistogram total;
    for (const auto& h : histograms) total.merge(h);
    if (total.total() == 0) return 0.0f;
    return config_.detect.auto_method == "otsu" ? kernels::otsu_threshold(total)
                                                : kernels::robust_threshold(total, static_cast<float>(config_.detect.auto_k));
}

std::vector<PatchPolygon> SceneStream::run(float threshold, std::int64_t min_pixels,
                                           const std::function<void(const Strip&)>& sink, StreamStats& stats) {
    const int strips = (epochs_.height() + strip_rows_ - 1) / strip_rows_;
    return label_and_polygonize(epochs_.width(), strips, tokens_, config_.clean.connectivity, min_pixels,
                                [&](Strip& s) { fill(s, threshold, true, stats); }, sink, stats);
}

std::vector<PatchPolygon> label_and_polygonize(int width, int strips, int tokens, kernels::Connectivity connectivity,
                                               std::int64_t min_pixels, const std::function<void(Strip&)>& fill,
                                               const std::function<void(const Strip&)>& sink, StreamStats& stats) {
    kernels::StreamingLabeller labeller(width, connectivity);
    StripPool pool;
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

    tbb::parallel_pipeline(
        static_cast<std::size_t>(tokens),
        tbb::make_filter<void, Strip*>(tbb::filter_mode::serial_in_order,
                                       [&](tbb::flow_control& fc) -> Strip* {
                                           if (next >= strips) {
                                               fc.stop();
                                               return nullptr;
                                           }
                                           Strip* s = pool.acquire();
                                           s->index = next++;
                                           return s;
                                       }) &
            tbb::make_filter<Strip*, Strip*>(tbb::filter_mode::parallel,
                                             [&](Strip* s) {
                                                 fill(*s);
                                                 return s;
                                             }) &
            tbb::make_filter<Strip*, Batch*>(tbb::filter_mode::serial_in_order,
                                             [&](Strip* s) {
                                                 const auto start = Clock::now();
                                                 if (sink) sink(*s);
                                                 labeller.add_rows(s->own(s->mask), s->own(s->score), s->row0);
                                                 auto* batch = new Batch{keep(labeller.take_closed()), {}};
                                                 pool.release(s);
                                                 stats.label_ns += ns_since(start);
                                                 return batch;
                                             }) &
            tbb::make_filter<Batch*, Batch*>(tbb::filter_mode::parallel,
                                             [&](Batch* batch) {
                                                 polygonize(*batch);
                                                 return batch;
                                             }) &
            tbb::make_filter<Batch*, void>(tbb::filter_mode::serial_out_of_order, [&](Batch* batch) {
                std::unique_ptr<Batch> owned(batch);
                for (auto& p : owned->polygons) patches.push_back(std::move(p));
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

}  // namespace weipian
