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
#include "pipeline/learned.hpp"
#include "pipeline/model.hpp"

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
    std::vector<std::pair<std::string, double>> out = {{"read", s(read_ns)}};
    if (features_ns.load() > 0 || predict_ns.load() > 0) {
        out.insert(out.end(), {{"features", s(features_ns)}, {"predict", s(predict_ns)}, {"upsample", s(upsample_ns)}});
    } else {
        out.emplace_back("detect", s(detect_ns));
    }
    out.insert(out.end(), {{"clean", s(clean_ns)}, {"label", s(label_ns)}, {"polygonize", s(polygonize_ns)}});
    return out;
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

// One worker's buffers for the learned path: the image block with its reach, the feature grid,
// the planes (in `block`) and the image-grid probability of the block; reused strip after strip.
struct LearnedScratch {
    kernels::EpochBlock before, after;  // image rows of the block (views into the reader's buffers)
    kernels::FeatureEpoch grid_before, grid_after;
    LearnedWorkspace block;
    cv::Mat probability, tile_probability, image_valid, mask, image_probability;
    std::vector<double> sums;  // per feature, over sampled valid feature-grid pixels
    std::int64_t samples = 0;
};

struct SceneStream::Workers {
    explicit Workers(const AlignedEpochs& epochs) : readers([&epochs] { return epochs.open_reader(); }) {}
    tbb::enumerable_thread_specific<std::unique_ptr<EpochReader>> readers;
    tbb::enumerable_thread_specific<LearnedScratch> learned;
};

namespace {

// Rows [row0, row0 + rows) and the first `cols` columns of a block (views).
kernels::EpochBlock crop(const kernels::EpochBlock& b, int row0, int rows, int cols) {
    const auto part = [&](const cv::Mat& m) { return m.empty() ? cv::Mat() : m(cv::Rect(0, row0, cols, rows)); };
    return {part(b.blue), part(b.green), part(b.red), part(b.nir), part(b.valid)};
}

}  // namespace

std::string out_of_distribution(const LearnedModel& model, const std::vector<double>& scene_means) {
    if (scene_means.size() != model.feature_stats.size())
        throw InternalError("detect: " + std::to_string(scene_means.size()) + " scene feature means for a model with " +
                            std::to_string(model.feature_stats.size()) + " feature statistics");
    const std::vector<std::string> names = kernels::feature_names(model.spec);
    std::vector<std::string> outside;
    for (std::size_t i = 0; i < scene_means.size(); ++i) {
        const auto& f = model.feature_stats[i];
        if (scene_means[i] < f.p01 || scene_means[i] > f.p99) outside.push_back(i < names.size() ? names[i] : std::to_string(i));
    }
    const std::size_t count = scene_means.size();
    const std::size_t limit = std::max<std::size_t>(1, (count + 9) / 10);
    if (outside.size() < limit) return "";
    std::ostringstream msg;
    msg << "detect: this imagery falls outside the model's training data: the scene mean of " << outside.size() << " of "
        << count << " features lies outside the training p01–p99 range (";
    for (std::size_t i = 0; i < outside.size() && i < 5; ++i) msg << (i ? ", " : "") << outside[i];
    if (outside.size() > 5) msg << ", …";
    msg << "); models do not travel between sensors and regions: check the parcels on site before trusting them, or train a "
           "model on labelled pairs or ledger verdicts of this imagery (weipian train)";
    return msg.str();
}

SceneStream::SceneStream(const AlignedEpochs& epochs, const Config& config, std::shared_ptr<const LearnedModel> model)
    : epochs_(epochs), config_(config), model_(std::move(model)), workers_(std::make_unique<Workers>(epochs)) {
    if (config.detect.method == "learned" && !model_)
        model_ = std::make_shared<const LearnedModel>(load_model(config.detect.model));
    if (config.detect.method != "learned") model_.reset();
    open_px_ = kernels::radius_in_pixels(config.clean.open_radius_m, epochs.pixel_width_m());
    close_px_ = kernels::radius_in_pixels(config.clean.close_radius_m, epochs.pixel_width_m());
    // Opening then closing reads 2·(r_open + r_close) rows beyond a strip's own rows.
    halo_ = 2 * (open_px_ + close_px_);
    if (model_) {
        check_model_fits(*model_, epochs.roles(), epochs.pixel_width_m(), "detect.model '" + config.detect.model + "'");
        const int stride = model_->spec.stride;
        if (epochs.width() < stride || epochs.height() < stride) {
            std::ostringstream msg;
            msg << "detect: the scene is " << epochs.width() << " × " << epochs.height()
                << " px, smaller than one feature-grid cell of the model (stride " << stride << " px); use a larger scene";
            throw InputError(msg.str());
        }
        reach_.probability = 1 + (model_->smooth_radius + stride - 1) / stride;
        reach_.features = kernels::feature_halo(model_->spec);
        // Own feature rows so that own + 2·reach rows of planes of one column tile stay within
        // kLearnedPlanePixels, and the strip's own image rows within kLearnedImagePixels.
        const int grid_width = std::max(1, epochs.width() / stride);
        const int tile_width = std::min(grid_width, kLearnedTileColumns) + 2 * reach_.features;
        const int plane_rows = static_cast<int>(kLearnedPlanePixels / tile_width);
        const int image_rows = kLearnedImagePixels / std::max(1, epochs.width()) / stride;
        const int own = std::max({16, std::min(plane_rows - 2 * reach_.probability - 2 * reach_.features, image_rows),
                                  (halo_ + stride - 1) / stride});
        // processing.block_size lowers it (rounded down to the stride, at least the clean halo).
        const int asked = std::max({1, config.processing.block_size / stride, (halo_ + stride - 1) / stride});
        strip_rows_ = std::min(own, asked) * stride;
        if (strip_rows_ >= epochs.height()) strip_rows_ = (epochs.height() + stride - 1) / stride * stride;
    } else {
        // At most 2 Mpx a strip, so that buffers stay bounded for very wide scenes: 256 rows at
        // 8192 px, 128 at 16384 px (peak RSS 397 MB → 330 MB for the 16384² workload, measured).
        const int budget_rows = std::max(16, (1 << 21) / std::max(1, epochs.width()) / 16 * 16);
        strip_rows_ = std::min({std::max(std::min(config.processing.block_size, budget_rows), halo_), epochs.height()});
    }
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

void SceneStream::learned_rows(Strip& s, float threshold, StreamStats& stats) {
    const LearnedModel& model = *model_;
    const int stride = model.spec.stride;
    const int width = epochs_.width(), height = epochs_.height();
    // The feature grid covers the largest multiple of the stride (pipeline/learned.hpp); the
    // image rows and columns beyond it get probability 0.
    const int grid_width = width / stride, grid_height = height / stride;
    // Feature-grid rows: own [g0, g1), probability [p0, p1), features read [q0, q1).
    const int g0 = std::min(grid_height, s.row0 / stride);
    const int g1 = std::min(grid_height, (s.row0 + s.rows + stride - 1) / stride);
    const int p0 = std::max(0, g0 - reach_.probability), p1 = std::min(grid_height, g1 + reach_.probability);
    const int q0 = std::max(0, p0 - reach_.features), q1 = std::min(grid_height, p1 + reach_.features);
    // Image rows read: the feature rows', and at the bottom edge the rows beyond the grid too.
    const int image0 = std::min(q0 * stride, s.row0);
    const int image1 = std::max(q1 == grid_height ? height : q1 * stride, s.row0 + s.rows);
    LearnedScratch& w = workers_->learned.local();

    auto start = Clock::now();
    auto& reader = workers_->readers.local();
    reader->read(false, image0, image1 - image0, w.before);
    reader->read(true, image0, image1 - image0, w.after);
    stats.read_ns += ns_since(start);

    // Pixel validity of every row read (both epochs).
    start = Clock::now();
    if (w.before.valid.empty() && w.after.valid.empty()) {
        w.image_valid.create(image1 - image0, width, CV_8UC1);
        w.image_valid.setTo(1);
    } else if (!w.before.valid.empty() && !w.after.valid.empty())
        cv::bitwise_and(w.before.valid, w.after.valid, w.image_valid);
    else if (!w.before.valid.empty())
        w.before.valid.copyTo(w.image_valid);
    else if (!w.after.valid.empty())
        w.after.valid.copyTo(w.image_valid);
    cv::Mat mask = s.own(s.mask), valid = s.own(s.valid);
    w.image_valid.rowRange(s.row0 - image0, s.row0 - image0 + s.rows).copyTo(valid);
    mask.setTo(0);
    s.score.setTo(0);

    // Feature grid, planes, gate and ensemble: the steps of the whole scene's
    // (pipeline/learned.hpp: to_feature_grid on the cropped grid, then learned_block_probability's
    // compute_features and predict_planes, called here one by one to time them apart).
    const int grid0 = q0 * stride - image0, grid_rows = (q1 - q0) * stride;  // the grid's image rows in the block
    kernels::to_feature_grid(crop(w.before, grid0, grid_rows, grid_width * stride), stride, w.grid_before);
    kernels::to_feature_grid(crop(w.after, grid0, grid_rows, grid_width * stride), stride, w.grid_after);
    stats.features_ns += ns_since(start);

    // Planes and prediction one column tile at a time: tile [c0, c1) with feature_halo columns
    // on each side (windows reflect only at the scene's own first and last column, as for rows).
    w.probability.create(p1 - p0, grid_width, CV_32FC1);
    const auto n = static_cast<std::size_t>(kernels::feature_count(model.spec));
    if (w.sums.size() != n) w.sums.assign(n, 0.0);
    for (int c0 = 0; c0 < grid_width; c0 += tile_columns_) {
        const int c1 = std::min(grid_width, c0 + tile_columns_);
        // Every tile of one width (the last one shifted left), so the planes are reused, never
        // reallocated: its own columns stay feature_halo away from its edges or on the scene's.
        const int span = std::min(grid_width, tile_columns_ + 2 * reach_.features);
        const int a0 = std::clamp(c0 - reach_.features, 0, grid_width - span), a1 = a0 + span;
        const auto columns = [&](const kernels::FeatureEpoch& e) {
            const auto part = [&](const cv::Mat& m) { return m.empty() ? cv::Mat() : m.colRange(a0, a1); };
            return kernels::FeatureEpoch{part(e.blue), part(e.green), part(e.red), part(e.nir), part(e.valid)};
        };
        start = Clock::now();
        kernels::compute_features(columns(w.grid_before), columns(w.grid_after), p0 - q0, p1 - p0, model.spec, w.block.planes,
                                  w.block.features);
        stats.features_ns += ns_since(start);

        start = Clock::now();
        cv::bitwise_and(w.grid_before.valid(cv::Range(p0 - q0, p1 - q0), cv::Range(a0, a1)),
                        w.grid_after.valid(cv::Range(p0 - q0, p1 - q0), cv::Range(a0, a1)), w.block.valid);
        stats.evaluated_pixels += kernels::predict_planes(model.ensemble, w.block.planes, w.block.valid, model.gate,
                                                          w.tile_probability, w.block.predict, false);
        cv::Mat to = w.probability.colRange(c0, c1);
        w.tile_probability.colRange(c0 - a0, c1 - a0).copyTo(to);
        stats.predict_ns += ns_since(start);

        // Scene feature means for the out-of-distribution check: every 4th own feature row.
        for (int y = g0 + (4 - g0 % 4) % 4; y < g1; y += 4) {
            const std::uint8_t* ok = w.block.valid.ptr<std::uint8_t>(y - p0);
            for (std::size_t f = 0; f < n; ++f) {
                const float* v = w.block.planes[f].ptr<float>(y - p0);
                double sum = 0;
                for (int x = c0 - a0; x < c1 - a0; ++x)
                    if (ok[x]) sum += v[x];
                w.sums[f] += sum;
            }
            w.samples += cv::countNonZero(w.block.valid(cv::Range(y - p0, y - p0 + 1), cv::Range(c0 - a0, c1 - a0)));
        }
    }

    // Upsampled, smoothed and thresholded over the block's probability rows; the strip keeps its own.
    start = Clock::now();
    const int block0 = p0 * stride - image0, block_rows = (p1 - p0) * stride;
    kernels::probability_to_mask(w.probability, stride, model.smooth_radius, threshold,
                                 w.image_valid(cv::Rect(0, block0, grid_width * stride, block_rows)), w.mask, &w.image_probability);
    const int own0 = s.row0, own1 = std::min(s.row0 + s.rows, grid_height * stride);
    if (own1 > own0) {
        const cv::Rect from(0, own0 - p0 * stride, grid_width * stride, own1 - own0);
        const cv::Rect to(0, own0 - s.row0, grid_width * stride, own1 - own0);
        cv::Mat mask_to = mask(to), score_to = s.score(to);
        w.mask(from).copyTo(mask_to);
        w.image_probability(from).copyTo(score_to, w.image_valid(cv::Rect(0, own0 - image0, grid_width * stride, own1 - own0)));
    }
    stats.upsample_ns += ns_since(start);
    stats.valid_pixels += cv::countNonZero(valid);
    stats.raw_pixels += cv::countNonZero(mask);

}

float SceneStream::threshold(StreamStats& stats) {
    degenerate_.clear();
    if (model_)
        return static_cast<float>(config_.detect.threshold_given && config_.detect.threshold ? *config_.detect.threshold : model_->threshold);
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
    if (model_)
        stages.fill = [&](Strip& s) { learned_rows(s, threshold, stats); };
    else
        stages.fill = [&](Strip& s) { detect_rows(s, threshold, stats); };
    stages.clean = [&](Strip& s) {
        const auto start = Clock::now();
        kernels::open_close(s.mask, open_px_, close_px_, s.valid, s.morphology);
        stats.clean_ns += ns_since(start);
    };
    stages.sink = sink;
    for (auto& w : workers_->learned) {
        w.sums.clear();
        w.samples = 0;
    }
    auto patches = label_and_polygonize(epochs_.width(), epochs_.height(), strip_rows_, tokens_, config_.clean.connectivity,
                                        min_pixels, stages, stats);
    if (model_) {
        std::vector<double> sums;
        std::int64_t samples = 0;
        for (const auto& w : workers_->learned) {
            if (sums.size() < w.sums.size()) sums.resize(w.sums.size(), 0.0);
            for (std::size_t f = 0; f < w.sums.size(); ++f) sums[f] += w.sums[f];
            samples += w.samples;
        }
        feature_means_.clear();
        if (samples > 0) {
            for (double sum : sums) feature_means_.push_back(sum / static_cast<double>(samples));
            if (!model_->feature_stats.empty()) {
                const std::string warning = out_of_distribution(*model_, feature_means_);
                if (!warning.empty()) spdlog::warn("{}", warning);
            }
        }
    }
    return patches;
}

}  // namespace weipian
