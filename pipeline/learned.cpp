#include "pipeline/learned.hpp"

#include <algorithm>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "kernels/clean.hpp"
#include "pipeline/clean.hpp"

namespace weipian {
namespace {

// Rows [r0, r1) of every plane of a feature-grid epoch (views).
kernels::FeatureEpoch slice(const kernels::FeatureEpoch& e, int r0, int r1) {
    kernels::FeatureEpoch out;
    const auto rows = [&](const cv::Mat& m) { return m.empty() ? cv::Mat() : m.rowRange(r0, r1); };
    out.blue = rows(e.blue);
    out.green = rows(e.green);
    out.red = rows(e.red);
    out.nir = rows(e.nir);
    out.valid = rows(e.valid);
    return out;
}

// The top-left rows × cols of a block (views).
kernels::EpochBlock crop(const kernels::EpochBlock& b, int rows, int cols) {
    kernels::EpochBlock out;
    const auto part = [&](const cv::Mat& m) { return m.empty() ? cv::Mat() : m(cv::Rect(0, 0, cols, rows)); };
    out.blue = part(b.blue);
    out.green = part(b.green);
    out.red = part(b.red);
    out.nir = part(b.nir);
    out.valid = part(b.valid);
    return out;
}

cv::Mat deep(const cv::Mat& m) { return m.empty() ? cv::Mat() : m.clone(); }

kernels::FeatureEpoch own(const kernels::FeatureEpoch& e) {
    return {deep(e.blue), deep(e.green), deep(e.red), deep(e.nir), deep(e.valid)};
}

}  // namespace

FeatureScene read_feature_scene(const AlignedEpochs& epochs, int stride) {
    FeatureScene scene;
    scene.stride = stride;
    scene.image_rows = epochs.height();
    scene.image_cols = epochs.width();
    const int rows = epochs.height() / stride * stride, cols = epochs.width() / stride * stride;
    if (rows == 0 || cols == 0)
        throw std::invalid_argument("read_feature_scene: the scene is smaller than one feature-grid cell");
    scene.image_valid = cv::Mat::zeros(epochs.height(), epochs.width(), CV_8UC1);
    for (const bool after : {false, true}) {
        kernels::EpochBlock block;
        epochs.read_block(after, 0, epochs.height(), block);
        kernels::FeatureEpoch grid;
        kernels::to_feature_grid(crop(block, rows, cols), stride, grid);
        (after ? scene.after : scene.before) = own(grid);
        if (!after) {
            cv::Mat v = block.valid.empty() ? cv::Mat(epochs.height(), epochs.width(), CV_8UC1, cv::Scalar(1)) : block.valid;
            cv::compare(v, 0, scene.image_valid, cv::CMP_NE);
        } else if (!block.valid.empty()) {
            cv::Mat v;
            cv::compare(block.valid, 0, v, cv::CMP_NE);
            cv::bitwise_and(scene.image_valid, v, scene.image_valid);
        }
    }
    scene.image_valid.setTo(1, scene.image_valid);  // 0/1
    const auto ones = [&](const cv::Mat& v) { return v.empty() ? cv::Mat(rows / stride, cols / stride, CV_8UC1, cv::Scalar(1)) : v; };
    cv::Mat a, b;
    cv::compare(ones(scene.before.valid), 0, a, cv::CMP_NE);
    cv::compare(ones(scene.after.valid), 0, b, cv::CMP_NE);
    cv::bitwise_and(a, b, scene.valid);
    scene.valid.setTo(1, scene.valid);
    return scene;
}

void for_each_feature_strip(const FeatureScene& scene, const kernels::FeatureSpec& spec, int strip_rows,
                            const std::function<void(int top, int rows, const std::vector<cv::Mat>& planes)>& visit) {
    const int halo = kernels::feature_halo(spec);
    std::vector<cv::Mat> planes;
    kernels::FeatureWorkspace workspace;
    for (int top = 0; top < scene.rows(); top += strip_rows) {
        const int rows = std::min(strip_rows, scene.rows() - top);
        const int r0 = std::max(0, top - halo), r1 = std::min(scene.rows(), top + rows + halo);
        kernels::compute_features(slice(scene.before, r0, r1), slice(scene.after, r0, r1), top - r0, rows, spec, planes,
                                  workspace);
        visit(top, rows, planes);
    }
}

std::int64_t learned_block_probability(const LearnedModel& model, const kernels::FeatureEpoch& before,
                                       const kernels::FeatureEpoch& after, int top, int rows, cv::Mat& probability,
                                       LearnedWorkspace& workspace, bool parallel) {
    kernels::compute_features(before, after, top, rows, model.spec, workspace.planes, workspace.features);
    const cv::Mat bv = before.valid.empty() ? cv::Mat() : before.valid.rowRange(top, top + rows);
    const cv::Mat av = after.valid.empty() ? cv::Mat() : after.valid.rowRange(top, top + rows);
    if (bv.empty() && av.empty()) workspace.valid.release();
    else if (bv.empty()) av.copyTo(workspace.valid);
    else if (av.empty()) bv.copyTo(workspace.valid);
    else cv::bitwise_and(bv, av, workspace.valid);
    return kernels::predict_planes(model.ensemble, workspace.planes, workspace.valid, model.gate, probability,
                                   workspace.predict, parallel);
}

cv::Mat feature_grid_probability(const LearnedModel& model, const FeatureScene& scene, std::int64_t* evaluated,
                                 std::int64_t* valid_cells) {
    cv::Mat probability(scene.rows(), scene.cols(), CV_32FC1, cv::Scalar(0));
    const int halo = kernels::feature_halo(model.spec);
    LearnedWorkspace workspace;
    cv::Mat strip;
    for (int top = 0; top < scene.rows(); top += kFeatureStripRows) {
        const int rows = std::min(kFeatureStripRows, scene.rows() - top);
        const int r0 = std::max(0, top - halo), r1 = std::min(scene.rows(), top + rows + halo);
        const std::int64_t n = learned_block_probability(model, slice(scene.before, r0, r1), slice(scene.after, r0, r1),
                                                         top - r0, rows, strip, workspace, true);
        strip.copyTo(probability.rowRange(top, top + rows));
        if (evaluated) *evaluated += n;
    }
    if (valid_cells) *valid_cells += cv::countNonZero(scene.valid);
    return probability;
}

cv::Mat image_probability(const cv::Mat& grid_probability, const FeatureScene& scene, int smooth_radius) {
    const int rows = scene.rows() * scene.stride, cols = scene.cols() * scene.stride;
    const cv::Mat valid = scene.image_valid(cv::Rect(0, 0, cols, rows));
    cv::Mat mask, smoothed;
    kernels::probability_to_mask(grid_probability, scene.stride, smooth_radius, 2.0F, valid, mask, &smoothed);
    cv::Mat out(scene.image_rows, scene.image_cols, CV_32FC1, cv::Scalar(0));
    smoothed.copyTo(out(cv::Rect(0, 0, cols, rows)), valid);
    return out;
}

cv::Mat learned_probability(const LearnedModel& model, const AlignedEpochs& epochs) {
    const FeatureScene scene = read_feature_scene(epochs, model.spec.stride);
    return image_probability(feature_grid_probability(model, scene), scene, model.smooth_radius);
}

cv::Mat clean_probability_mask(const cv::Mat& probability, double threshold, const cv::Mat& valid, const Config& config,
                               double pixel_w_m, double pixel_h_m) {
    cv::Mat mask;
    cv::compare(probability, threshold, mask, cv::CMP_GE);
    if (!valid.empty()) mask.setTo(0, valid == 0);
    mask.setTo(1, mask);
    kernels::open_close(mask, kernels::radius_in_pixels(config.clean.open_radius_m, pixel_w_m),
                        kernels::radius_in_pixels(config.clean.close_radius_m, pixel_w_m), valid);
    CleanStage(CleanStage::Options::from(config)).run(mask, pixel_w_m * pixel_h_m);
    return mask;
}

}  // namespace weipian
