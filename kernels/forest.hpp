#pragma once
// A compact evaluator for gradient-boosted tree ensembles (XGBoost's binary:logistic models,
// Chen & Guestrin, KDD 2016) over feature planes: the model is exported once into flat nodes,
// then evaluated per pixel without the library. Only pixels that pass a cheap gate (one feature
// plane at or above a minimum, e.g. the change-vector magnitude) are evaluated; the others get
// probability 0.
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

namespace weipian::kernels {

// One node. A split node sends x to `left` when x[feature] < split (XGBoost's rule), else to
// `right`; a leaf (feature < 0) adds `leaf` to the margin. Children index the ensemble's nodes.
struct TreeNode {
    std::int32_t feature = -1;
    float split = 0;
    std::int32_t left = -1, right = -1;
    float leaf = 0;
};

// Trees stored back to back; roots[t] is the index of tree t's root. The probability of a
// feature vector x is 1 / (1 + exp(−(base_margin + Σ leaf(t, x)))).
struct TreeEnsemble {
    std::vector<TreeNode> nodes;
    std::vector<std::int32_t> roots;
    float base_margin = 0;
    int feature_count = 0;
};

// Throws std::invalid_argument unless every child index is inside `nodes`, every split feature
// is below feature_count, trees are acyclic (children follow their parent: child index > parent
// index, as XGBoost numbers them) and roots are valid; also when there are no trees or no
// features, or a split is NaN, or a leaf or the base margin is not finite.
void validate_ensemble(const TreeEnsemble& ensemble);

// Margin and probability of one feature vector of ensemble.feature_count values (the reference:
// predict_planes gives the same bits). The margin is base_margin + leaf(tree 0) + leaf(tree 1) + …
// added in that order in float; a NaN feature goes right (it is not less than the split).
float ensemble_margin(const TreeEnsemble& ensemble, const float* x);
float ensemble_probability(const TreeEnsemble& ensemble, const float* x);

// Gate of the evaluation: pixels where planes[feature] < minimum are not evaluated
// (probability 0). feature < 0 evaluates every valid pixel.
struct EvaluationGate {
    int feature = -1;
    float minimum = 0;
};

struct PredictWorkspace {
    std::vector<float> rows;  // gathered feature vectors
    std::vector<int> index;   // their columns
};

// Probability (CV_32FC1, size of the planes) of every pixel that is valid (CV_8UC1 nonzero, or
// `valid` empty) and passes `gate`; 0 elsewhere. Bit-identical to ensemble_probability per pixel:
// the gated pixels of a row are gathered into a sample-major batch (workspace) and every tree is
// walked for the whole batch before the next (a leaf points to itself, so each tree takes its
// depth in branch-free steps). `planes` are ensemble.feature_count CV_32FC1
// planes of one size. Returns the number of pixels evaluated. Parallel over rows (TBB) when
// `parallel`. Throws std::invalid_argument on a plane count, size or type mismatch.
std::int64_t predict_planes(const TreeEnsemble& ensemble, const std::vector<cv::Mat>& planes,
                            const cv::Mat& valid, const EvaluationGate& gate, cv::Mat& probability,
                            PredictWorkspace& workspace, bool parallel = false);

// From the feature grid back to the image: bilinear upsampling of `probability` (feature grid,
// CV_32FC1) by `stride`, a box mean of side 2·smooth_radius + 1 image pixels, then
// mask = probability ≥ threshold (CV_8UC1, 0/1) inside `valid` (image grid, or empty).
// `probability_out` (may be nullptr) receives the smoothed image-grid probability.
// Alignment: a feature-grid cell is the mean of its stride × stride pixels, so its value sits at
// the cell's centre, image coordinate (c + 0.5)·stride − 0.5 in pixel-centre units; image pixel i
// interpolates at cell coordinate (i + 0.5)/stride − 0.5 (cv::resize INTER_LINEAR's half-pixel
// rule); beyond the outer cell centres the edge cells' values repeat, and the box mean reflects
// (BORDER_REFLECT_101) at the plane's edges, so a strip needs one feature-grid row plus
// smooth_radius image rows of halo to match the whole image. Throws std::invalid_argument for an
// empty or non-CV_32FC1 probability, a stride outside 1..8, a negative radius, or a validity
// that is not CV_8UC1 of the image grid's size.
void probability_to_mask(const cv::Mat& probability, int stride, int smooth_radius, float threshold,
                         const cv::Mat& valid, cv::Mat& mask, cv::Mat* probability_out = nullptr);

}  // namespace weipian::kernels
