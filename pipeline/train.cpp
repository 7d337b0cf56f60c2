#include "pipeline/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include <openssl/evp.h>
#include <opencv2/imgproc.hpp>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_invoke.h>
#include <mutex>
#include <xgboost/c_api.h>
#include <yaml-cpp/yaml.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/evaluate.hpp"
#include "pipeline/learned.hpp"
#include "pipeline/stage.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- inputs -------------------------------------------------------------------------------------

// SHA-256 of the files' bytes, file after file (each file's digest, then the digest of those).
std::string digest_files(const std::vector<std::string>& files) {
    static const char* hex = "0123456789abcdef";
    const auto to_hex = [](const unsigned char* d, unsigned n) {
        std::string s;
        for (unsigned i = 0; i < n; ++i) {
            s += hex[d[i] >> 4];
            s += hex[d[i] & 15];
        }
        return s;
    };
    std::string all;
    std::vector<char> buffer(1 << 20);
    for (const auto& file : files) {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
        std::ifstream in(file, std::ios::binary);
        while (in) {
            in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            if (in.gcount() > 0) EVP_DigestUpdate(ctx, buffer.data(), static_cast<std::size_t>(in.gcount()));
        }
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        EVP_DigestFinal_ex(ctx, d, &n);
        EVP_MD_CTX_free(ctx);
        all += to_hex(d, n);
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(all.data(), all.size(), d, &n, EVP_sha256(), nullptr);
    return to_hex(d, n);
}

// A scene read and brought onto the feature grid, with its labels.
struct Prepared {
    std::string name;
    FeatureScene scene;
    cv::Mat label;       // image grid: 1 changed, 0 unchanged, 255 unknown
    cv::Mat grid_label;  // feature grid: 1 changed (≥ half the cell), 0 unchanged (none), 255 other/invalid
    double pixel_w = 0, pixel_h = 0;
    bool sparse = false;  // some pixels unknown
    std::vector<std::string> files;
};

cv::Mat grid_labels(const cv::Mat& label, const FeatureScene& scene) {
    const int s = scene.stride, rows = scene.rows() * s, cols = scene.cols() * s;
    const cv::Mat cropped = label(cv::Rect(0, 0, cols, rows));
    cv::Mat pos = cv::Mat(cropped == 1) / 255, unk = cv::Mat(cropped == 255) / 255;
    cv::Mat pos_f, unk_f, pos_mean, unk_mean;
    pos.convertTo(pos_f, CV_32F);
    unk.convertTo(unk_f, CV_32F);
    cv::resize(pos_f, pos_mean, scene.valid.size(), 0, 0, cv::INTER_AREA);
    cv::resize(unk_f, unk_mean, scene.valid.size(), 0, 0, cv::INTER_AREA);
    cv::Mat out(scene.valid.size(), CV_8UC1, cv::Scalar(255));
    for (int y = 0; y < out.rows; ++y)
        for (int x = 0; x < out.cols; ++x) {
            if (!scene.valid.at<std::uint8_t>(y, x) || unk_mean.at<float>(y, x) > 0) continue;
            const float p = pos_mean.at<float>(y, x);
            if (p >= 0.5F) out.at<std::uint8_t>(y, x) = 1;
            else if (p == 0) out.at<std::uint8_t>(y, x) = 0;
        }
    return out;
}

Prepared prepare(const LabelledScene& in, int& stride, const TrainOptions& options) {
    Prepared p;
    p.name = in.name;
    const AlignedEpochs epochs = ingest_epochs(in.config, in.ingest);
    p.pixel_w = epochs.pixel_width_m();
    p.pixel_h = epochs.pixel_height_m();
    if (stride == 0) stride = options.stride > 0 ? options.stride : (p.pixel_w < 1.0 ? 2 : 1);
    if (in.label.empty()) {
        const cv::Mat raw = read_label_raster(in.label_path, epochs);
        const bool sparse = in.label_kind == LabelKind::Sparse ||
                            (in.label_kind == LabelKind::Automatic && cv::countNonZero(raw == 2) > 0);
        if (sparse) {
            p.label = cv::Mat(raw.size(), CV_8UC1, cv::Scalar(255));
            p.label.setTo(1, raw == 1);
            p.label.setTo(0, raw == 2);
        } else {
            p.label = cv::Mat(raw != 0) / 255;
        }
        p.files.push_back(in.label_path.string());
    } else {
        if (in.label.size() != cv::Size(epochs.width(), epochs.height()) || in.label.type() != CV_8UC1)
            throw std::invalid_argument("train: a scene's label is not CV_8UC1 on its grid");
        p.label = in.label.clone();
    }
    p.sparse = cv::countNonZero(p.label == 255) > 0;
    for (const auto& f : epochs.before_files()) p.files.push_back(f);
    for (const auto& f : epochs.after_files()) p.files.push_back(f);
    p.scene = read_feature_scene(epochs, stride);
    p.grid_label = grid_labels(p.label, p.scene);
    const cv::Mat changed_valid = (p.label == 1) & (p.scene.image_valid != 0);
    if (cv::countNonZero(changed_valid) == 0 || cv::countNonZero(p.grid_label == 1) == 0) {
        const std::string what = in.label_path.empty() ? "the labels of '" + in.name + "'" : "the label '" + in.label_path.string() + "'";
        throw InputError("train: " + what +
                         " has no changed pixels where both images have data; every pair needs some change to learn from "
                         "(labels: nonzero = changed)");
    }
    return p;
}

// ---- sampling -----------------------------------------------------------------------------------

// `k` of `candidates` drawn without replacement (partial Fisher–Yates), appended to `out`.
void draw(std::vector<std::int32_t> candidates, std::size_t k, std::mt19937_64& rng, std::vector<std::int32_t>& out) {
    k = std::min(k, candidates.size());
    for (std::size_t i = 0; i < k; ++i) {
        std::uniform_int_distribution<std::size_t> pick(i, candidates.size() - 1);
        std::swap(candidates[i], candidates[pick(rng)]);
        out.push_back(candidates[i]);
    }
}

struct Samples {
    int features = 0;
    std::vector<float> x;        // rows × features
    std::vector<float> y;        // 1 changed, 0 unchanged
    std::vector<int> scene;      // index of the scene of each row
    std::size_t rows() const { return y.size(); }
};

void sample_scene(const Prepared& p, int index, const kernels::FeatureSpec& spec, const TrainOptions& options,
                  Samples& out) {
    std::mt19937_64 rng(options.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(index) + 1);
    const cv::Mat& g = p.grid_label;
    const double cell_m = p.pixel_w * p.scene.stride;
    const int radius = std::max(1, static_cast<int>(std::lround(options.near_radius_m / cell_m)));
    cv::Mat near;
    cv::dilate(g == 1, near, cv::getStructuringElement(cv::MORPH_RECT, {2 * radius + 1, 2 * radius + 1}));
    std::vector<std::int32_t> changed, unchanged, unchanged_near;
    for (int y = 0; y < g.rows; ++y)
        for (int x = 0; x < g.cols; ++x) {
            const auto i = static_cast<std::int32_t>(y * g.cols + x);
            const std::uint8_t v = g.at<std::uint8_t>(y, x);
            if (v == 1) changed.push_back(i);
            else if (v == 0) {
                unchanged.push_back(i);
                if (near.at<std::uint8_t>(y, x)) unchanged_near.push_back(i);
            }
        }
    const std::size_t half = static_cast<std::size_t>(options.samples) / 2;
    std::vector<std::int32_t> chosen;
    draw(changed, half, rng, chosen);
    const std::size_t n_changed = chosen.size();
    const std::size_t n_unchanged =
        std::min(static_cast<std::size_t>(std::llround(static_cast<double>(n_changed) * options.unchanged_ratio)), unchanged.size());
    const std::size_t n_near = std::min(static_cast<std::size_t>(std::llround(n_unchanged * options.near_fraction)), unchanged_near.size());
    std::vector<std::int32_t> negatives;
    draw(unchanged_near, n_near, rng, negatives);
    {
        std::vector<std::int32_t> sorted_near = negatives;
        std::sort(sorted_near.begin(), sorted_near.end());
        std::vector<std::int32_t> rest;
        rest.reserve(unchanged.size());
        for (const auto i : unchanged)
            if (!std::binary_search(sorted_near.begin(), sorted_near.end(), i)) rest.push_back(i);
        draw(std::move(rest), n_unchanged - negatives.size(), rng, negatives);
    }
    std::vector<std::pair<std::int32_t, float>> rows;
    for (std::size_t i = 0; i < chosen.size(); ++i) rows.emplace_back(chosen[i], 1.0F);
    for (const auto i : negatives) rows.emplace_back(i, 0.0F);
    std::sort(rows.begin(), rows.end());
    // Features strip by strip; gather the chosen cells.
    std::size_t next = 0;
    const int f = out.features;
    for_each_feature_strip(p.scene, spec, kFeatureStripRows, [&](int top, int strip_rows, const std::vector<cv::Mat>& planes) {
        const std::int32_t end = static_cast<std::int32_t>((top + strip_rows) * g.cols);
        for (; next < rows.size() && rows[next].first < end; ++next) {
            const int y = rows[next].first / g.cols - top, x = rows[next].first % g.cols;
            for (int k = 0; k < f; ++k) out.x.push_back(planes[static_cast<std::size_t>(k)].at<float>(y, x));
            out.y.push_back(rows[next].second);
            out.scene.push_back(index);
        }
    });
}

// ---- XGBoost ------------------------------------------------------------------------------------

void xgb_check(int rc, const char* what) {
    if (rc != 0) throw InternalError(std::string("train: XGBoost ") + what + " failed: " + XGBGetLastError());
}

struct Booster {
    DMatrixHandle data = nullptr;
    BoosterHandle booster = nullptr;
    ~Booster() {
        if (booster) XGBoosterFree(booster);
        if (data) XGDMatrixFree(data);
    }
};

json xgboost_params(const TrainOptions& o) {
    return {{"objective", "binary:logistic"}, {"tree_method", "hist"}, {"max_depth", o.depth}, {"eta", o.eta},
            {"subsample", o.subsample},       {"rounds", o.trees},     {"seed", o.seed}};
}

std::string param_text(double v) {
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
}

// Trains on the rows whose scene is in `use` (empty = all); returns XGBoost's JSON model.
json train_booster(const Samples& samples, const std::vector<bool>& use, const TrainOptions& o, int threads,
                   const std::string& stage) {
    std::vector<float> x, y;
    for (std::size_t r = 0; r < samples.rows(); ++r) {
        if (!use[static_cast<std::size_t>(samples.scene[r])]) continue;
        x.insert(x.end(), samples.x.begin() + static_cast<std::ptrdiff_t>(r * samples.features),
                 samples.x.begin() + static_cast<std::ptrdiff_t>((r + 1) * samples.features));
        y.push_back(samples.y[r]);
    }
    Booster b;
    xgb_check(XGDMatrixCreateFromMat_omp(x.data(), y.size(), static_cast<bst_ulong>(samples.features), std::nanf(""), &b.data, threads),
              "DMatrix");
    xgb_check(XGDMatrixSetFloatInfo(b.data, "label", y.data(), y.size()), "labels");
    xgb_check(XGBoosterCreate(&b.data, 1, &b.booster), "booster");
    const std::pair<const char*, std::string> params[] = {
        {"objective", "binary:logistic"}, {"tree_method", "hist"},           {"max_depth", std::to_string(o.depth)},
        {"eta", param_text(o.eta)},       {"subsample", param_text(o.subsample)}, {"nthread", std::to_string(threads)},
        {"seed", std::to_string(o.seed)}, {"verbosity", "0"},                {"base_score", "0.5"}};
    for (const auto& [k, v] : params) xgb_check(XGBoosterSetParam(b.booster, k, v.c_str()), "parameters");
    for (int i = 0; i < o.trees; ++i) {
        xgb_check(XGBoosterUpdateOneIter(b.booster, i, b.data), "training");
        if (o.progress && (i % 10 == 9 || i + 1 == o.trees))
            o.progress(stage + ": tree " + std::to_string(i + 1) + "/" + std::to_string(o.trees));
    }
    bst_ulong length = 0;
    const char* buffer = nullptr;
    xgb_check(XGBoosterSaveModelToBuffer(b.booster, R"({"format": "json"})", &length, &buffer), "export");
    return json::parse(std::string(buffer, length));
}

// ---- figures ------------------------------------------------------------------------------------

constexpr int kSteps = 100;

void add_histogram(const cv::Mat& probability, const cv::Mat& label, const cv::Mat& valid, std::vector<std::int64_t>& changed,
                   std::vector<std::int64_t>& unchanged) {
    for (int y = 0; y < probability.rows; ++y) {
        const float* p = probability.ptr<float>(y);
        const std::uint8_t* l = label.ptr<std::uint8_t>(y);
        const std::uint8_t* v = valid.ptr<std::uint8_t>(y);
        for (int x = 0; x < probability.cols; ++x) {
            if (!v[x] || l[x] > 1) continue;
            const int k = std::clamp(static_cast<int>(p[x] * kSteps), 0, kSteps);
            (l[x] ? changed : unchanged)[static_cast<std::size_t>(k)]++;
        }
    }
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

std::string fixed(double v, int digits = 3) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(digits);
    s << v;
    return s.str();
}

// Evaluates a held-out scene's cleaned mask.
json score_scene(const Prepared& p, const cv::Mat& probability, double threshold, const Config& config) {
    const cv::Mat mask = clean_probability_mask(probability, threshold, p.scene.image_valid, config, p.pixel_w, p.pixel_h);
    if (!p.sparse) return evaluate_mask(mask, p.label, LabelKind::Full, config.clean.connectivity, p.scene.image_valid);
    cv::Mat sparse(p.label.size(), CV_8UC1, cv::Scalar(0));
    sparse.setTo(1, p.label == 1);
    sparse.setTo(2, p.label == 0);
    return evaluate_mask(mask, sparse, LabelKind::Sparse, config.clean.connectivity, p.scene.image_valid);
}

std::string figures_text(const json& r) {
    if (r.value("label_kind", "") == "sparse")
        return "sample recall " + fixed(r.value("sample_recall", 0.0)) + ", false alarms " +
               fixed(r.value("sample_false_alarm_rate", 0.0));
    return "pixel P " + fixed(r.value("precision", 0.0)) + " R " + fixed(r.value("recall", 0.0)) + " F1 " +
           fixed(r.value("f1", 0.0)) + ", objects R " + fixed(r.value("object_recall", 0.0)) + " P " +
           fixed(r.value("object_precision", 0.0));
}

// A model from XGBoost's JSON and the gate and figures around it.
LearnedModel make_model(const json& xgb, const kernels::FeatureSpec& spec, const std::vector<std::string>& names,
                        const Samples& samples, const std::vector<bool>& use, const TrainOptions& options, double pixel_m) {
    LearnedModel m;
    m.spec = spec;
    m.pixel_size_m = pixel_m;
    m.smooth_radius = options.smooth_radius >= 0 ? options.smooth_radius : spec.stride;
    m.feature_names = names;
    m.xgboost = xgb;
    m.ensemble = ensemble_from_xgboost(xgb, static_cast<int>(names.size()));
    const auto gate = std::find(names.begin(), names.end(), options.gate_feature);
    if (!options.gate_feature.empty() && gate != names.end()) {
        const int g = static_cast<int>(gate - names.begin());
        std::vector<float> values;
        for (std::size_t r = 0; r < samples.rows(); ++r)
            if (use[static_cast<std::size_t>(samples.scene[r])] && samples.y[r] > 0.5F)
                values.push_back(samples.x[r * static_cast<std::size_t>(samples.features) + static_cast<std::size_t>(g)]);
        if (!values.empty()) {
            const auto k = static_cast<std::size_t>(std::floor(options.gate_quantile * static_cast<double>(values.size() - 1)));
            std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
            m.gate_feature = options.gate_feature;
            m.gate.feature = g;
            m.gate.minimum = values[k];
        }
    }
    return m;
}

// Probabilities of the scenes in `keep`, the probability histogram of the labelled pixels of
// the scenes in `fit`, and the valid and evaluated (not gated out) cells of both.
struct Predictions {
    std::vector<cv::Mat> probability;  // image grid, per scene (empty when not asked)
    std::vector<std::int64_t> changed = std::vector<std::int64_t>(kSteps + 1), unchanged = std::vector<std::int64_t>(kSteps + 1);
    std::int64_t evaluated = 0, valid_cells = 0;
};

void predict_scenes(const LearnedModel& model, const std::vector<Prepared>& scenes, const std::vector<bool>& fit,
                    const std::vector<bool>& keep, const TrainOptions& options, const std::string& stage, Predictions& out) {
    out.probability.resize(scenes.size());
    for (std::size_t i = 0; i < scenes.size(); ++i) {
        if (!fit[i] && !keep[i]) continue;
        if (options.progress)
            options.progress(stage + ": predicting " + scenes[i].name + " (" + std::to_string(i + 1) + "/" +
                             std::to_string(scenes.size()) + ")");
        const cv::Mat grid = feature_grid_probability(model, scenes[i].scene, &out.evaluated, &out.valid_cells);
        cv::Mat probability = image_probability(grid, scenes[i].scene, model.smooth_radius);
        if (fit[i]) add_histogram(probability, scenes[i].label, scenes[i].scene.image_valid, out.changed, out.unchanged);
        if (keep[i]) out.probability[i] = std::move(probability);
    }
}

// The threshold for a model trained on the scenes in `use`, from probabilities those scenes'
// samples did not train: the used scenes split in two halves (alternately, in order), each
// half predicted by a model trained on the other. A model predicts its own training pixels
// over-confidently (every changed cell of a small scene is a sample), which would push the
// threshold up. With one scene, `model`'s own predictions.
double choose_threshold(const LearnedModel& model, const Samples& samples, const std::vector<Prepared>& scenes,
                        const std::vector<bool>& use, const kernels::FeatureSpec& spec, const std::vector<std::string>& names,
                        const TrainOptions& options, int threads, double pixel_m, const std::string& stage) {
    const std::vector<bool> none(scenes.size(), false);
    std::vector<bool> halves[2] = {none, none};
    int used = 0;
    for (std::size_t i = 0; i < scenes.size(); ++i)
        if (use[i]) halves[used++ % 2][i] = true;
    Predictions pred[2];
    if (used < 2) {
        predict_scenes(model, scenes, use, none, options, stage, pred[0]);
    } else {
        const auto half = [&](int h) {
            const std::string inner = stage + ", threshold model " + std::to_string(h + 1) + "/2";
            const json xgb = train_booster(samples, halves[1 - h], options, threads, inner);
            const LearnedModel m = make_model(xgb, spec, names, samples, halves[1 - h], options, pixel_m);
            predict_scenes(m, scenes, halves[h], none, options, inner, pred[h]);
        };
        tbb::parallel_invoke([&] { half(0); }, [&] { half(1); });
        for (int k = 0; k <= kSteps; ++k) {
            pred[0].changed[static_cast<std::size_t>(k)] += pred[1].changed[static_cast<std::size_t>(k)];
            pred[0].unchanged[static_cast<std::size_t>(k)] += pred[1].unchanged[static_cast<std::size_t>(k)];
        }
    }
    return best_f1_threshold(pred[0].changed, pred[0].unchanged);
}

FeatureStat stat_of(std::vector<float> v) {
    FeatureStat s;
    if (v.empty()) return s;
    double sum = 0, sq = 0;
    for (const float x : v) sum += x;
    s.mean = sum / static_cast<double>(v.size());
    for (const float x : v) sq += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(sq / static_cast<double>(v.size()));
    const auto at = [&](double q) {
        const auto k = static_cast<std::size_t>(std::floor(q * static_cast<double>(v.size() - 1)));
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
        return static_cast<double>(v[k]);
    };
    s.p01 = at(0.01);
    s.p99 = at(0.99);
    return s;
}

}  // namespace

double best_f1_threshold(const std::vector<std::int64_t>& changed, const std::vector<std::int64_t>& unchanged) {
    const std::int64_t total_changed = std::accumulate(changed.begin(), changed.end(), std::int64_t{0});
    double best_f1 = -1, best = 0.5;
    std::int64_t tp = 0, fp = 0;
    // Sweep from the top: at threshold k/100, flagged = bins k..100.
    for (int k = static_cast<int>(changed.size()) - 1; k >= 1; --k) {
        tp += changed[static_cast<std::size_t>(k)];
        fp += unchanged[static_cast<std::size_t>(k)];
        if (k >= kSteps) continue;  // thresholds in (0, 1)
        const double precision = ratio(static_cast<double>(tp), static_cast<double>(tp + fp));
        const double recall = ratio(static_cast<double>(tp), static_cast<double>(total_changed));
        const double f1 = ratio(2 * precision * recall, precision + recall);
        if (f1 > best_f1) {
            best_f1 = f1;
            best = k / static_cast<double>(kSteps);
        }
    }
    return best;
}

std::vector<PairFiles> read_pair_list(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("train: cannot read the pair list '" + path.string() + "'; check the path given to --pairs");
    std::stringstream text;
    text << in.rdbuf();
    YAML::Node root;
    try {
        root = YAML::Load(text.str());
    } catch (const YAML::Exception& e) {
        throw InputError("train: the pair list '" + path.string() + "' is not YAML (line " + std::to_string(e.mark.line + 1) +
                         ": " + e.msg + ")");
    }
    if (!root.IsSequence() || root.size() == 0)
        throw InputError("train: the pair list '" + path.string() +
                         "' is not a list of pairs; write one `- {before: A, after: B, label: L}` per line");
    std::vector<PairFiles> pairs;
    const fs::path folder = path.parent_path();
    const auto resolve = [&](const std::string& p) { return fs::path(p).is_absolute() || folder.empty() ? p : (folder / p).string(); };
    for (std::size_t i = 0; i < root.size(); ++i) {
        const YAML::Node e = root[i];
        PairFiles f;
        for (const char* key : {"before", "after", "label"}) {
            if (!e.IsMap() || !e[key] || !e[key].IsScalar())
                throw InputError("train: entry " + std::to_string(i + 1) + " of the pair list '" + path.string() +
                                 "' has no '" + key + "' path; each entry needs before, after and label");
            const std::string v = resolve(e[key].as<std::string>());
            (std::string(key) == "before" ? f.before : std::string(key) == "after" ? f.after : f.label) = v;
        }
        pairs.push_back(f);
    }
    return pairs;
}

TrainResult train_model(const std::vector<LabelledScene>& inputs, const Config& config, const TrainOptions& given) {
    // Progress comes from parallel folds: one line at a time.
    std::mutex progress_mutex;
    TrainOptions options = given;
    if (given.progress)
        options.progress = [&](const std::string& line) {
            const std::lock_guard<std::mutex> lock(progress_mutex);
            given.progress(line);
        };
    const auto start = StageClock::now();
    if (inputs.empty()) throw InternalError("train: no scenes");
    // One scene with K ≥ 2 folds: K spatial blocks of columns (see train.hpp).
    const bool blocks = inputs.size() == 1 && options.folds >= 2;
    const int n = blocks ? options.folds : static_cast<int>(inputs.size());
    const int folds = options.folds < 0 ? n : options.folds;
    if (folds == 1 || folds > n)
        throw ConfigError("train: --cv " + (options.folds < 0 ? std::string("loo") : std::to_string(folds)) +
                          " needs at least " + std::to_string(std::max(folds, 2)) + " pairs to hold out, " +
                          std::to_string(n) + " given");

    // Read every scene once.
    int stride = 0;
    std::vector<Prepared> scenes;
    std::vector<std::string> files;
    for (int i = 0; i < n; ++i) {
        if (blocks && i > 0) {
            // Block i of the one scene: its labels only (the planes are shared, not copied).
            Prepared b = scenes.front();
            b.label = scenes.front().label.clone();
            b.grid_label = scenes.front().grid_label.clone();
            b.name = scenes.front().name + " block " + std::to_string(i + 1) + "/" + std::to_string(n);
            b.files.clear();
            scenes.push_back(std::move(b));
            continue;
        }
        if (options.progress) options.progress("train: reading " + inputs[static_cast<std::size_t>(i)].name);
        scenes.push_back(prepare(inputs[static_cast<std::size_t>(i)], stride, options));
        const Prepared& p = scenes.back();
        const double first = scenes.front().pixel_w;
        if (std::max(p.pixel_w, first) / std::min(p.pixel_w, first) > 1.5)
            throw InputError("train: '" + p.name + "' has " + fixed(p.pixel_w, 2) + " m pixels but '" + scenes.front().name +
                             "' has " + fixed(first, 2) + " m (more than 1.5 times off); train one model per pixel size");
        files.insert(files.end(), p.files.begin(), p.files.end());
    }
    if (blocks) {
        // Keep block k's labels in scene k: image columns [k·W/n, (k+1)·W/n), on the feature grid
        // the cells whose first column lies there.
        const int width = scenes.front().label.cols, grid_width = scenes.front().grid_label.cols;
        for (int k = 0; k < n; ++k) {
            Prepared& b = scenes[static_cast<std::size_t>(k)];
            if (k == 0) {
                b.label = b.label.clone();
                b.grid_label = b.grid_label.clone();
                b.name += " block 1/" + std::to_string(n);
            }
            const int x0 = k * width / n, x1 = (k + 1) * width / n;
            const int g0 = (x0 + stride - 1) / stride, g1 = std::min(grid_width, (x1 + stride - 1) / stride);
            if (x0 > 0) b.label.colRange(0, x0).setTo(255);
            if (x1 < width) b.label.colRange(x1, width).setTo(255);
            if (g0 > 0) b.grid_label.colRange(0, std::min(g0, grid_width)).setTo(255);
            if (g1 < grid_width) b.grid_label.colRange(std::max(0, g1), grid_width).setTo(255);
            b.sparse = true;
            if (cv::countNonZero(b.grid_label == 1) == 0)
                throw InputError("train: block " + std::to_string(k + 1) + "/" + std::to_string(n) + " of '" + b.name +
                                 "' holds no changed pixel; use fewer --cv folds");
        }
    }
    const kernels::FeatureSpec spec = feature_spec_for(inputs.front().config.bands, stride);
    const std::vector<std::string> names = kernels::feature_names(spec);
    double pixel_m = 0;
    for (const auto& p : scenes) pixel_m += p.pixel_w;
    pixel_m /= n;  // the mean pixel width

    // Samples, once: folds select rows by scene.
    Samples samples;
    samples.features = static_cast<int>(names.size());
    for (int i = 0; i < n; ++i) {
        if (options.progress) options.progress("train: sampling " + scenes[static_cast<std::size_t>(i)].name);
        sample_scene(scenes[static_cast<std::size_t>(i)], i, spec, options, samples);
    }

    json cv_json;
    if (folds > 0) {
        json fold_list = json::array();
        double tp = 0, fp = 0, fn = 0, ref = 0, found = 0, flagged = 0, correct = 0;
        double hit = 0, n_changed = 0, alarm = 0, n_unchanged = 0;
        // Folds in parallel (each XGBoost training single-threaded: results do not depend on
        // the schedule), then their figures in order.
        struct FoldResult {
            double threshold = 0;
            std::vector<std::pair<int, json>> scores;  // held-out scene, its figures
        };
        std::vector<FoldResult> results(static_cast<std::size_t>(folds));
        tbb::parallel_for(0, folds, [&](int k) {
            std::vector<bool> use(static_cast<std::size_t>(n)), held(static_cast<std::size_t>(n));
            for (int i = 0; i < n; ++i) {
                held[static_cast<std::size_t>(i)] = i % folds == k;
                use[static_cast<std::size_t>(i)] = !held[static_cast<std::size_t>(i)];
            }
            const std::string stage = "train: fold " + std::to_string(k + 1) + "/" + std::to_string(folds);
            LearnedModel model;
            double threshold = 0;
            tbb::parallel_invoke(
                [&] { model = make_model(train_booster(samples, use, options, 1, stage), spec, names, samples, use, options, pixel_m); },
                [&] {
                    if (n - 1 >= 2)
                        threshold = choose_threshold(LearnedModel(), samples, scenes, use, spec, names, options, 1, pixel_m, stage);
                });
            if (n - 1 < 2) threshold = choose_threshold(model, samples, scenes, use, spec, names, options, 1, pixel_m, stage);
            Predictions pred;
            predict_scenes(model, scenes, std::vector<bool>(static_cast<std::size_t>(n), false), held, options, stage, pred);
            FoldResult& out = results[static_cast<std::size_t>(k)];
            out.threshold = threshold;
            for (int i = 0; i < n; ++i)
                if (held[static_cast<std::size_t>(i)]) {
                    json r = score_scene(scenes[static_cast<std::size_t>(i)], pred.probability[static_cast<std::size_t>(i)], threshold, config);
                    r["scene"] = scenes[static_cast<std::size_t>(i)].name;
                    out.scores.emplace_back(i, std::move(r));
                }
        });
        for (int k = 0; k < folds; ++k) {
            const FoldResult& f = results[static_cast<std::size_t>(k)];
            json fold = {{"fold", k + 1}, {"held_out", json::array()}, {"threshold", f.threshold}};
            for (const auto& [i, r] : f.scores) {
                const Prepared& p = scenes[static_cast<std::size_t>(i)];
                if (r.value("label_kind", "") == "sparse") {
                    hit += r.value("flagged_changed", 0.0);
                    n_changed += r.value("changed_samples", 0.0);
                    alarm += r.value("flagged_unchanged", 0.0);
                    n_unchanged += r.value("unchanged_samples", 0.0);
                } else {
                    tp += r.value("true_positive", 0.0);
                    fp += r.value("false_positive", 0.0);
                    fn += r.value("false_negative", 0.0);
                    ref += r.value("reference_objects", 0.0);
                    found += r.value("found_objects", 0.0);
                    flagged += r.value("flagged_objects", 0.0);
                    correct += r.value("correct_objects", 0.0);
                }
                if (options.report)
                    options.report("fold " + std::to_string(k + 1) + "/" + std::to_string(folds) + " (" + p.name +
                                   "): threshold " + fixed(f.threshold, 2) + ", " + figures_text(r));
                fold["held_out"].push_back(r);
            }
            fold_list.push_back(fold);
        }
        const double precision = ratio(tp, tp + fp), recall = ratio(tp, tp + fn);
        json pooled = {{"label_kind", "full"},
                       {"true_positive", tp},
                       {"false_positive", fp},
                       {"false_negative", fn},
                       {"precision", precision},
                       {"recall", recall},
                       {"f1", ratio(2 * precision * recall, precision + recall)},
                       {"reference_objects", ref},
                       {"found_objects", found},
                       {"flagged_objects", flagged},
                       {"correct_objects", correct},
                       {"object_recall", ratio(found, ref)},
                       {"object_precision", ratio(correct, flagged)}};
        if (n_changed + n_unchanged > 0) {
            if (ref == 0 && tp + fp + fn == 0) pooled["label_kind"] = "sparse";
            pooled["changed_samples"] = n_changed;
            pooled["unchanged_samples"] = n_unchanged;
            pooled["sample_recall"] = ratio(hit, n_changed);
            pooled["sample_false_alarm_rate"] = ratio(alarm, n_unchanged);
        }
        cv_json = {{"method", options.folds < 0 ? "leave-one-out" : std::to_string(folds) + "-fold"},
                   {"folds", fold_list},
                   {"pooled", pooled}};
        if (options.report) {
            std::string line = "pooled over " + std::to_string(folds) + " folds: ";
            if (ref > 0 || tp + fp + fn > 0) line += figures_text(pooled);
            if (n_changed + n_unchanged > 0) {
                json s = {{"label_kind", "sparse"}, {"sample_recall", ratio(hit, n_changed)},
                          {"sample_false_alarm_rate", ratio(alarm, n_unchanged)}};
                line += (ref > 0 || tp + fp + fn > 0 ? "; " : "") + figures_text(s);
            }
            options.report(line);
        }
    }

    // The final model on every scene.
    const std::vector<bool> all(static_cast<std::size_t>(n), true), none(static_cast<std::size_t>(n), false);
    LearnedModel model;
    double threshold = 0;
    tbb::parallel_invoke(
        [&] { model = make_model(train_booster(samples, all, options, 1, "train: final model"), spec, names, samples, all, options, pixel_m); },
        [&] {
            if (n >= 2) threshold = choose_threshold(LearnedModel(), samples, scenes, all, spec, names, options, 1, pixel_m, "train: final model");
        });
    model.threshold = n >= 2 ? threshold : choose_threshold(model, samples, scenes, all, spec, names, options, 1, pixel_m, "train: final model");
    Predictions pred;  // for the share of cells the gate keeps from the trees
    predict_scenes(model, scenes, all, none, options, "train: final model", pred);
    model.cv = cv_json;
    for (int f = 0; f < samples.features; ++f) {
        std::vector<float> column(samples.rows());
        for (std::size_t r = 0; r < samples.rows(); ++r) column[r] = samples.x[r * static_cast<std::size_t>(samples.features) + static_cast<std::size_t>(f)];
        model.feature_stats.push_back(stat_of(std::move(column)));
    }
    std::int64_t positives = 0;
    for (const float y : samples.y) positives += y > 0.5F ? 1 : 0;
    json scenes_json = json::array();
    for (std::size_t i = 0; i < scenes.size(); ++i) scenes_json.push_back(scenes[i].name);
    json params = xgboost_params(options);
    params["samples_per_pair"] = options.samples;
    params["unchanged_ratio"] = options.unchanged_ratio;
    params["near_fraction"] = options.near_fraction;
    params["near_radius_m"] = options.near_radius_m;
    params["gate_quantile"] = options.gate_quantile;
    model.training = {{"digest", digest_files(files)},
                      {"pairs", scenes_json},
                      {"samples", samples.rows()},
                      {"changed_samples", positives},
                      {"params", params},
                      {"seed", options.seed},
                      {"gated_out_fraction", ratio(static_cast<double>(pred.valid_cells - pred.evaluated),
                                                   static_cast<double>(pred.valid_cells))}};

    TrainResult result;
    result.model = std::move(model);
    result.samples = static_cast<std::int64_t>(samples.rows());
    result.gated_out_fraction = ratio(static_cast<double>(pred.valid_cells - pred.evaluated), static_cast<double>(pred.valid_cells));
    result.seconds = seconds_since(start);
    return result;
}

}  // namespace weipian
