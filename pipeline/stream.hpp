#pragma once
// The streaming schedule of the main job: strips of rows flow through a TBB pipeline
//   read + detect + clean (parallel) → label (serial, in order) → polygonize (parallel) → collect
// with a fixed pool of strip buffers, so memory follows the strip size and the number of
// tokens, never the image. Kernels handle one strip; this layer owns tiling and threads.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "kernels/clean.hpp"
#include "kernels/components.hpp"
#include "kernels/detect.hpp"
#include "pipeline/config.hpp"
#include "pipeline/ingest.hpp"

namespace weipian {

// One strip and its reusable buffers. Rows [read0, read0 + read_rows) are read (the strip's
// own rows plus a halo for morphology); rows [row0, row0 + rows) are its own.
struct Strip {
    int index = 0;
    int row0 = 0, rows = 0;
    int read0 = 0, read_rows = 0;
    kernels::EpochBlock before, after;
    cv::Mat score, mask, valid;  // read_rows × width
    kernels::MorphologyWorkspace morphology;

    cv::Mat own(const cv::Mat& m) const { return m.rowRange(row0 - read0, row0 - read0 + rows); }
};

// A kept component and its polygon.
struct PatchPolygon {
    kernels::PixelPolygon polygon;
    std::int64_t area = 0;   // pixels
    double score_sum = 0;
};

// Thread-time per stage, summed over strips (seconds), and counters.
struct StreamStats {
    std::atomic<std::int64_t> read_ns{0}, detect_ns{0}, clean_ns{0}, label_ns{0}, polygonize_ns{0};
    std::atomic<std::int64_t> valid_pixels{0}, raw_pixels{0};
    nlohmann::json to_json() const;
};

class SceneStream {
public:
    // Sizes come from the config (processing.block_size rows per strip, processing.threads).
    SceneStream(const AlignedEpochs& epochs, const Config& config);
    ~SceneStream();

    int strip_rows() const { return strip_rows_; }
    int halo() const { return halo_; }
    int tokens() const { return tokens_; }
    int open_radius_px() const { return open_px_; }
    int close_radius_px() const { return close_px_; }

    // The threshold to use: the configured one, or one chosen (detect.auto_method: robust
    // median + k·MAD, or Otsu) from the scores of every pixel with data in both epochs (one
    // extra pass over the scene).
    float threshold(StreamStats& stats);

    // Streams every strip through read, detect (with `threshold`) and clean, then, in row order,
    // through `sink` (may be empty) and the component labeller; components with at least
    // `min_pixels` pixels are polygonized. Returns them ordered by first pixel (raster order).
    std::vector<PatchPolygon> run(float threshold, std::int64_t min_pixels,
                                  const std::function<void(const Strip&)>& sink, StreamStats& stats);

private:
    struct Workers;
    void fill(Strip& strip, float threshold, bool clean, StreamStats& stats);

    const AlignedEpochs& epochs_;
    const Config& config_;
    int strip_rows_, halo_, tokens_, open_px_, close_px_;
    std::unique_ptr<Workers> workers_;
};

// The labelling half of the schedule, for any source of strips: `fill` (parallel) sets a
// strip's rows and its own `mask` (and `score`, or leaves it empty) for strip `index`; strips
// then pass in row order through `sink` and the labeller, and kept components (≥ `min_pixels`)
// are polygonized in parallel. Returns them ordered by first pixel.
std::vector<PatchPolygon> label_and_polygonize(int width, int strips, int tokens, kernels::Connectivity connectivity,
                                               std::int64_t min_pixels, const std::function<void(Strip&)>& fill,
                                               const std::function<void(const Strip&)>& sink, StreamStats& stats);

}  // namespace weipian
