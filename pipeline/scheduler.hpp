#pragma once
// The streaming schedule of the main job: strips of rows flow through a TBB pipeline
//   read + detect (parallel) → halo exchange (serial) → clean (parallel)
//   → label (serial, in order) → polygonize (parallel) → collect
// with a pool of reusable strip buffers, so memory follows the strip size and the number of
// tokens, never the image. Kernels handle one strip; this layer owns tiling and threads.
//
// The learned detector (detect.method: learned) fills a strip differently: its strips are
// aligned to the model's stride, and each reads its own rows plus the rows its feature windows,
// the bilinear upsampling and the probability smoothing reach (see SceneStream::learned_reach),
// computes the feature planes of those rows on the feature grid, evaluates the tree ensemble
// where the model's gate passes, and turns the probability into its own mask rows. Feature
// planes and scratch are per worker thread, sized by kLearnedPlanePixels, never by the scene.
//
// Morphology needs `halo` mask rows beyond a strip. Rather than reading the bands again for
// them (a read that is not tile-aligned defeats GDAL's direct GeoTIFF I/O: 0.78 s instead of
// 0.34 s of read time for two 8192² epochs, measured), each strip detects its own rows only,
// and the serial stage copies the neighbours' first/last mask rows into its halo.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

#include "kernels/clean.hpp"
#include "kernels/components.hpp"
#include "kernels/detect.hpp"
#include "kernels/features.hpp"
#include "kernels/forest.hpp"
#include "kernels/threshold.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/ingest.hpp"

namespace weipian {

struct LearnedModel;

// One strip and its reusable buffers. `mask` and `valid` cover rows [read0, read0 + read_rows):
// the strip's own rows [row0, row0 + rows) plus up to `halo` rows on each side; `score` covers
// its own rows only.
struct Strip {
    int index = 0;
    int row0 = 0, rows = 0;
    int read0 = 0, read_rows = 0;
    kernels::EpochBlock before, after;
    cv::Mat score, mask, valid;
    kernels::MorphologyWorkspace morphology;

    cv::Mat own(const cv::Mat& m) const { return m.rowRange(row0 - read0, row0 - read0 + rows); }
};

// A kept component and its polygon.
struct PatchPolygon {
    kernels::PixelPolygon polygon;
    std::int64_t area = 0;   // pixels
    double score_sum = 0;
};

// Thread time per stage, summed over strips (seconds), and counters. The construction detector
// spends `detect`; the learned one `features` (feature grid and planes), `predict` (tree
// ensemble) and `upsample` (probability to the image grid, smoothing, threshold).
struct StreamStats {
    std::atomic<std::int64_t> read_ns{0}, detect_ns{0}, features_ns{0}, predict_ns{0}, upsample_ns{0}, clean_ns{0},
        label_ns{0}, polygonize_ns{0};
    std::atomic<std::int64_t> valid_pixels{0}, raw_pixels{0};
    std::atomic<std::int64_t> evaluated_pixels{0};  // learned: feature-grid pixels the ensemble evaluated
    // read, detect (construction) or features, predict, upsample (learned), clean, label, polygonize
    std::vector<std::pair<std::string, double>> stage_seconds() const;
    nlohmann::json to_json() const;  // the same as an object
};

// What the schedule runs on each strip; every function may be empty except `fill`.
struct StripStages {
    int halo = 0;                                     // mask rows needed beyond each strip
    bool with_score = true;                           // allocate `score` for the strip's own rows
    std::function<void(Strip&)> fill;                 // parallel: own rows of mask, valid (and score)
    std::function<void(Strip&)> clean;                // parallel, once the halo rows are in place
    std::function<void(const Strip&)> sink;           // serial, in row order, before labelling
};

// Streams `height` rows in strips of `strip_rows` (raised to at least `halo`) through the
// stages, the component labeller and the polygonizer; components with at least `min_pixels`
// pixels are kept. Returns them ordered by first pixel (raster order).
std::vector<PatchPolygon> label_and_polygonize(int width, int height, int strip_rows, int tokens,
                                               kernels::Connectivity connectivity, std::int64_t min_pixels,
                                               const StripStages& stages, StreamStats& stats);

// Most pixels one strip may span, its halo rows included ((rows + 2·halo) × width): a scene whose
// grid and clean radii need more is refused (ConfigError with the numbers), so memory stays
// bounded whatever grid.pixel_size is (2^25 px ≈ 34 Mpx, about 1 GB of strip buffers).
inline constexpr double kMaxStripPixels = 33554432;

// Why an automatic threshold `t` chosen on `histogram` (scores of every pixel with data in both
// epochs) is degenerate, or "" when it is usable. Degenerate when
//  - the scores have no spread (all in one histogram bin, e.g. identical epochs): there is no
//    second population to separate;
//  - t ≤ 0: an unchanged pixel scores exactly 0, so the threshold would call unchanged pixels new
//    construction (Otsu splitting the unchanged mode gave −0.999 on identical epochs);
//  - more than half of the pixels score above t: new construction is a minority of a scene, a
//    threshold below the median has split the unchanged population, not found change.
std::string threshold_degeneracy(const kernels::ScoreHistogram& histogram, float t);

// Most feature-grid pixels whose planes one learned strip holds at once (its own feature rows
// plus the reach of upsampling and smoothing, times the feature grid's width): with about 70
// CV_32F planes, 2^17 px is 34 MB of planes per worker thread (plus the kernels' scratch and the
// reader's buffers for the strip and its reach: peak RSS 464 MB at 2^18 on the 8192² workload with
// stride 3, measured).
inline constexpr double kLearnedPlanePixels = 131072;

// Feature-grid columns a learned strip computes its planes for at once (plus feature_halo
// columns on each side): the planes follow this tile, not the scene's width, so a strip keeps
// the same number of rows, and the same share of re-read margin rows, on a 8192 or a 16384 px
// wide scene (RSS flat, throughput flat).
inline constexpr int kLearnedTileColumns = 1024;

// Image pixels (own rows times the scene's width) of a learned strip, its margin rows not included.
inline constexpr int kLearnedImagePixels = 1 << 20;

// The scene's mean of each feature plane (over sampled valid feature-grid pixels) against the
// model's training statistics: "" when fewer than max(1, 10 %) of the features have their scene
// mean outside the training p01–p99 range, else the warning the user sees (how many, which,
// and what to do). Throws InternalError when the sizes differ.
std::string out_of_distribution(const LearnedModel& model, const std::vector<double>& scene_means);

class SceneStream {
public:
    // Sizes come from the config (processing.block_size rows per strip, processing.threads).
    // detect.method learned: `model` is the model (loaded from detect.model when null); it is
    // checked to fit the epochs' band roles and pixel size (check_model_fits: ConfigError or
    // InputError), and the strips are sized by kLearnedPlanePixels and aligned to its stride.
    SceneStream(const AlignedEpochs& epochs, const Config& config, std::shared_ptr<const LearnedModel> model = nullptr);
    ~SceneStream();

    int strip_rows() const { return strip_rows_; }
    int halo() const { return halo_; }
    int tokens() const { return tokens_; }
    bool learned() const { return model_ != nullptr; }
    const LearnedModel* model() const { return model_.get(); }

    // Learned: feature-grid rows needed beyond a block's own rows so that its probability on
    // the image grid equals the whole scene's: bilinear upsampling (1) plus the smoothing radius
    // (ceil(smooth_radius / stride)) as `probability`, and the feature windows
    // (feature_halo) beyond those as `features`.
    struct Reach {
        int probability = 0, features = 0;
    };
    Reach learned_reach() const { return reach_; }
    // Feature-grid columns per plane tile of the learned path (kLearnedTileColumns); tests set
    // fewer to exercise the tiles on small scenes. Values below 1 are taken as 1.
    void set_learned_tile_columns(int columns) { tile_columns_ = std::max(1, columns); }
    // Learned, after run(): the mean of each feature plane over every 4th valid feature-grid row
    // of the scene (empty before), and whether out_of_distribution warned.
    const std::vector<double>& feature_means() const { return feature_means_; }

    // The threshold to use. Learned: detect.threshold when it was given, else the model's
    // cross-validated threshold (a probability). Construction: the configured one, or one chosen (detect.auto_method: robust
    // median + k·MAD, or Otsu) from the scores of every pixel with data in both epochs (one
    // extra pass over the scene).
    // A degenerate automatic threshold (see threshold_degeneracy) is reported with spdlog::warn
    // and returned as +∞: no pixel is flagged. Throws NoValidPixelsError when no pixel has data
    // in both epochs.
    float threshold(StreamStats& stats);
    // Why the last automatic threshold was degenerate; empty when it was not.
    const std::string& threshold_degenerate() const { return degenerate_; }

    // Streams every strip through read, detect (with `threshold`) and clean, then, in row order,
    // through `sink` (may be empty) and the component labeller; components with at least
    // `min_pixels` pixels are polygonized. Returns them ordered by first pixel (raster order).
    // Learned: a strip's score is the smoothed probability; once every strip is done the scene's
    // feature means are compared with the model's (out_of_distribution, spdlog::warn).
    std::vector<PatchPolygon> run(float threshold, std::int64_t min_pixels,
                                  const std::function<void(const Strip&)>& sink, StreamStats& stats);

private:
    struct Workers;
    // Reads both epochs' own rows of the strip and detects into its own mask/score/valid rows.
    void detect_rows(Strip& strip, float threshold, StreamStats& stats);
    // The learned detector on the strip's own rows (reads its reach as well).
    void learned_rows(Strip& strip, float threshold, StreamStats& stats);

    const AlignedEpochs& epochs_;
    const Config& config_;
    std::shared_ptr<const LearnedModel> model_;
    int strip_rows_, halo_, tokens_, open_px_, close_px_;
    Reach reach_;
    int tile_columns_ = kLearnedTileColumns;
    std::unique_ptr<Workers> workers_;
    std::string degenerate_;
    std::vector<double> feature_means_;
};

}  // namespace weipian
