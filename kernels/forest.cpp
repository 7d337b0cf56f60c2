#include "kernels/forest.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <opencv2/imgproc.hpp>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

namespace weipian::kernels {
namespace {

// Samples evaluated together: each tree is walked for the whole batch before the next tree, so
// its nodes stay in L1 while the batch's feature vectors (kBatch × features × 4 bytes, 18 KB at
// 70 features) stay in L1/L2.
constexpr int kBatch = 64;

// Evaluation form of a tree node (12 bytes): the children of a split are adjacent, so the next
// node is left + !(x[feature] < split) with no branch. A leaf has split NaN (never "less") and
// left = itself − 1, so it steps to itself: every sample takes exactly the tree's depth steps.
struct FlatNode {
    std::int32_t feature;
    float split;
    std::int32_t left;
};

struct FlatEnsemble {
    std::vector<FlatNode> nodes;
    std::vector<float> leaf;          // leaf value per flat node (0 for splits)
    std::vector<std::int32_t> roots;  // per tree, index into nodes
    std::vector<int> depth;           // per tree, the longest root-to-leaf path in splits
};

std::string str(std::int64_t v) { return std::to_string(v); }

// Trees renumbered tree by tree, breadth first, the two children of a split in adjacent slots.
// Slot 0 is a dummy so that a root leaf's left (itself − 1) is a valid index.
FlatEnsemble flatten(const TreeEnsemble& e) {
    FlatEnsemble f;
    f.nodes.reserve(e.nodes.size() + 1);
    f.leaf.reserve(e.nodes.size() + 1);
    f.nodes.push_back({0, 0.0f, 0});
    f.leaf.push_back(0.0f);
    struct Item {
        std::int32_t source, slot;
        int depth;
    };
    std::vector<Item> queue;
    for (const std::int32_t root : e.roots) {
        const auto root_slot = static_cast<std::int32_t>(f.nodes.size());
        f.roots.push_back(root_slot);
        f.nodes.emplace_back();
        f.leaf.push_back(0.0f);
        int depth = 0;
        queue.assign(1, Item{root, root_slot, 0});
        for (std::size_t q = 0; q < queue.size(); ++q) {
            const Item item = queue[q];
            const TreeNode& n = e.nodes[static_cast<std::size_t>(item.source)];
            FlatNode& slot = f.nodes[static_cast<std::size_t>(item.slot)];
            if (n.feature < 0) {
                slot = {0, std::numeric_limits<float>::quiet_NaN(), item.slot - 1};
                f.leaf[static_cast<std::size_t>(item.slot)] = n.leaf;
                depth = std::max(depth, item.depth);
                continue;
            }
            const auto left = static_cast<std::int32_t>(f.nodes.size());
            slot = {n.feature, n.split, left};
            f.nodes.emplace_back();
            f.nodes.emplace_back();
            f.leaf.push_back(0.0f);
            f.leaf.push_back(0.0f);
            queue.push_back({n.left, left, item.depth + 1});
            queue.push_back({n.right, left + 1, item.depth + 1});
        }
        f.depth.push_back(depth);
    }
    return f;
}

float sigmoid(float margin) { return 1.0f / (1.0f + std::exp(-margin)); }

// Margins of `count` samples (sample-major, `features` floats each) into `margin`. Samples go
// through a tree in groups of kLanes independent walks held in registers (the loads of one
// walk's steps depend on each other; the lanes hide that latency).
void evaluate_batch(const FlatEnsemble& f, float base_margin, const float* samples, int features, int count,
                    float* margin) {
    constexpr int kLanes = 8;
    for (int s = 0; s < count; ++s) margin[s] = base_margin;
    const FlatNode* nodes = f.nodes.data();
    const float* leaf = f.leaf.data();
    const std::size_t stride = static_cast<std::size_t>(features);
    for (std::size_t t = 0; t < f.roots.size(); ++t) {
        const std::int32_t root = f.roots[t];
        const int depth = f.depth[t];
        int s = 0;
        for (; s + kLanes <= count; s += kLanes) {
            const float* x = samples + static_cast<std::size_t>(s) * stride;
            std::int32_t at[kLanes];
            for (int l = 0; l < kLanes; ++l) at[l] = root;
            for (int level = 0; level < depth; ++level) {
                for (int l = 0; l < kLanes; ++l) {
                    const FlatNode& n = nodes[at[l]];
                    at[l] = n.left + static_cast<std::int32_t>(!(x[static_cast<std::size_t>(l) * stride + static_cast<std::size_t>(n.feature)] < n.split));
                }
            }
            for (int l = 0; l < kLanes; ++l) margin[s + l] += leaf[at[l]];
        }
        for (; s < count; ++s) {
            const float* x = samples + static_cast<std::size_t>(s) * stride;
            std::int32_t at = root;
            for (int level = 0; level < depth; ++level) {
                const FlatNode& n = nodes[at];
                at = n.left + static_cast<std::int32_t>(!(x[n.feature] < n.split));
            }
            margin[s] += leaf[at];
        }
    }
}

// Rows [y0, y1) of the probability plane.
std::int64_t predict_rows(const FlatEnsemble& f, const TreeEnsemble& e, const std::vector<cv::Mat>& planes,
                          const cv::Mat& valid, const EvaluationGate& gate, cv::Mat& probability,
                          PredictWorkspace& ws, int y0, int y1) {
    const int features = e.feature_count;
    const int width = probability.cols;
    ws.rows.resize(static_cast<std::size_t>(kBatch) * features);
    ws.index.resize(static_cast<std::size_t>(width));
    std::vector<const float*> row(static_cast<std::size_t>(features));
    float margin[kBatch];
    std::int64_t evaluated = 0;
    for (int y = y0; y < y1; ++y) {
        float* out = probability.ptr<float>(y);
        std::fill(out, out + width, 0.0f);
        for (int k = 0; k < features; ++k) row[static_cast<std::size_t>(k)] = planes[static_cast<std::size_t>(k)].ptr<float>(y);
        const std::uint8_t* v = valid.empty() ? nullptr : valid.ptr<std::uint8_t>(y);
        const float* g = gate.feature >= 0 ? row[static_cast<std::size_t>(gate.feature)] : nullptr;
        int n = 0;
        for (int x = 0; x < width; ++x)
            if ((!v || v[x]) && (!g || !(g[x] < gate.minimum))) ws.index[static_cast<std::size_t>(n++)] = x;
        evaluated += n;
        for (int b = 0; b < n; b += kBatch) {
            const int count = std::min(kBatch, n - b);
            const int* cols = ws.index.data() + b;
            float* samples = ws.rows.data();
            for (int k = 0; k < features; ++k) {
                const float* src = row[static_cast<std::size_t>(k)];
                for (int s = 0; s < count; ++s) samples[static_cast<std::size_t>(s) * features + k] = src[cols[s]];
            }
            evaluate_batch(f, e.base_margin, samples, features, count, margin);
            for (int s = 0; s < count; ++s) out[cols[s]] = sigmoid(margin[s]);
        }
    }
    return evaluated;
}

}  // namespace

void validate_ensemble(const TreeEnsemble& e) {
    const auto size = static_cast<std::int64_t>(e.nodes.size());
    if (e.feature_count < 1) throw std::invalid_argument("validate_ensemble: the ensemble has no features");
    if (e.roots.empty()) throw std::invalid_argument("validate_ensemble: the ensemble has no trees");
    if (!std::isfinite(e.base_margin)) throw std::invalid_argument("validate_ensemble: the base margin is not finite");
    for (std::size_t t = 0; t < e.roots.size(); ++t)
        if (e.roots[t] < 0 || e.roots[t] >= size)
            throw std::invalid_argument("validate_ensemble: root " + str(e.roots[t]) + " of tree " + str(static_cast<std::int64_t>(t)) +
                                        " is outside the " + str(size) + " nodes");
    for (std::int64_t i = 0; i < size; ++i) {
        const TreeNode& n = e.nodes[static_cast<std::size_t>(i)];
        if (n.feature < 0) {
            if (!std::isfinite(n.leaf))
                throw std::invalid_argument("validate_ensemble: leaf " + str(i) + " has a value that is not finite");
            continue;
        }
        if (n.feature >= e.feature_count)
            throw std::invalid_argument("validate_ensemble: node " + str(i) + " splits on feature " + str(n.feature) +
                                        " but the ensemble has " + str(e.feature_count) + " features");
        if (std::isnan(n.split)) throw std::invalid_argument("validate_ensemble: node " + str(i) + " has a NaN split");
        for (const std::int32_t child : {n.left, n.right}) {
            if (child < 0 || child >= size)
                throw std::invalid_argument("validate_ensemble: node " + str(i) + " has child " + str(child) +
                                            " outside the " + str(size) + " nodes");
            if (child <= i)
                throw std::invalid_argument("validate_ensemble: node " + str(i) + " has child " + str(child) +
                                            " that does not follow it (a cycle)");
        }
    }
}

float ensemble_margin(const TreeEnsemble& e, const float* x) {
    float margin = e.base_margin;
    for (const std::int32_t root : e.roots) {
        const TreeNode* n = &e.nodes[static_cast<std::size_t>(root)];
        while (n->feature >= 0) n = &e.nodes[static_cast<std::size_t>(x[n->feature] < n->split ? n->left : n->right)];
        margin += n->leaf;
    }
    return margin;
}

float ensemble_probability(const TreeEnsemble& e, const float* x) { return sigmoid(ensemble_margin(e, x)); }

std::int64_t predict_planes(const TreeEnsemble& ensemble, const std::vector<cv::Mat>& planes, const cv::Mat& valid,
                            const EvaluationGate& gate, cv::Mat& probability, PredictWorkspace& workspace,
                            bool parallel) {
    validate_ensemble(ensemble);
    if (static_cast<int>(planes.size()) != ensemble.feature_count)
        throw std::invalid_argument("predict_planes: " + str(static_cast<std::int64_t>(planes.size())) +
                                    " feature planes for a model of " + str(ensemble.feature_count) + " features");
    const cv::Size size = planes[0].size();
    for (const cv::Mat& p : planes)
        if (p.type() != CV_32FC1 || p.size() != size)
            throw std::invalid_argument("predict_planes: feature planes must all be CV_32FC1 of one size");
    if (!valid.empty() && (valid.type() != CV_8UC1 || valid.size() != size))
        throw std::invalid_argument("predict_planes: validity must be CV_8UC1 of the planes' size or empty");
    if (gate.feature >= ensemble.feature_count)
        throw std::invalid_argument("predict_planes: the gate's feature " + str(gate.feature) + " is not below the model's " +
                                    str(ensemble.feature_count) + " features");
    probability.create(size, CV_32FC1);
    const FlatEnsemble flat = flatten(ensemble);
    if (!parallel || size.height < 2)
        return predict_rows(flat, ensemble, planes, valid, gate, probability, workspace, 0, size.height);
    tbb::enumerable_thread_specific<PredictWorkspace> workspaces;
    tbb::enumerable_thread_specific<std::int64_t> counts(0);
    tbb::parallel_for(tbb::blocked_range<int>(0, size.height, 4), [&](const tbb::blocked_range<int>& r) {
        counts.local() += predict_rows(flat, ensemble, planes, valid, gate, probability, workspaces.local(), r.begin(), r.end());
    });
    std::int64_t total = 0;
    for (const std::int64_t c : counts) total += c;
    return total;
}

void probability_to_mask(const cv::Mat& probability, int stride, int smooth_radius, float threshold,
                         const cv::Mat& valid, cv::Mat& mask, cv::Mat* probability_out) {
    if (probability.empty() || probability.type() != CV_32FC1)
        throw std::invalid_argument("probability_to_mask: the probability must be a non-empty CV_32FC1 plane");
    if (stride < 1 || stride > 8)
        throw std::invalid_argument("probability_to_mask: stride must be 1..8 (got " + str(stride) + ")");
    if (smooth_radius < 0)
        throw std::invalid_argument("probability_to_mask: the smoothing radius must be ≥ 0 (got " + str(smooth_radius) + ")");
    const cv::Size image(probability.cols * stride, probability.rows * stride);
    if (!valid.empty() && (valid.type() != CV_8UC1 || valid.size() != image))
        throw std::invalid_argument("probability_to_mask: validity must be CV_8UC1 of the image grid (" + str(image.width) +
                                    " × " + str(image.height) + ") or empty");
    cv::Mat local;
    cv::Mat& p = probability_out ? *probability_out : local;
    if (stride == 1)
        probability.copyTo(p);
    else
        cv::resize(probability, p, image, 0, 0, cv::INTER_LINEAR);
    if (smooth_radius > 0)
        cv::boxFilter(p, p, CV_32F, cv::Size(2 * smooth_radius + 1, 2 * smooth_radius + 1), cv::Point(-1, -1), true,
                      cv::BORDER_REFLECT_101);
    mask.create(image, CV_8UC1);
    for (int y = 0; y < image.height; ++y) {
        const float* q = p.ptr<float>(y);
        const std::uint8_t* v = valid.empty() ? nullptr : valid.ptr<std::uint8_t>(y);
        std::uint8_t* m = mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < image.width; ++x) m[x] = (q[x] >= threshold && (!v || v[x])) ? 1 : 0;
    }
}

}  // namespace weipian::kernels
