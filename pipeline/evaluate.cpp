#include "pipeline/evaluate.hpp"

#include <stdexcept>

#include <cpl_string.h>
#include <gdal_priv.h>
#include <gdal_utils.h>
#include <opencv2/imgproc.hpp>

#include <nlohmann/json.hpp>

#include "pipeline/core/errors.hpp"
#include "pipeline/stage.hpp"

namespace weipian {
namespace {

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

// Per component of `objects`, the number of its pixels that are set in `other`.
void overlap_counts(const cv::Mat& objects, const cv::Mat& other, int connectivity, std::int64_t& total,
                    std::int64_t& hit) {
    cv::Mat labels, stats, centroids;
    const int n = cv::connectedComponentsWithStats(objects, labels, stats, centroids, connectivity, CV_32S);
    std::vector<std::int64_t> inside(static_cast<std::size_t>(n), 0);
    for (int y = 0; y < labels.rows; ++y) {
        const int* l = labels.ptr<int>(y);
        const std::uint8_t* o = other.ptr<std::uint8_t>(y);
        for (int x = 0; x < labels.cols; ++x)
            if (l[x] && o[x]) ++inside[static_cast<std::size_t>(l[x])];
    }
    total = n - 1;
    hit = 0;
    for (int i = 1; i < n; ++i)
        if (2 * inside[static_cast<std::size_t>(i)] >= stats.at<int>(i, cv::CC_STAT_AREA)) ++hit;
}

}  // namespace

nlohmann::json evaluate_mask(const cv::Mat& mask, const cv::Mat& label, LabelKind kind,
                             kernels::Connectivity connectivity, const cv::Mat& valid) {
    if (mask.type() != CV_8UC1 || label.type() != CV_8UC1 || mask.size() != label.size())
        throw std::invalid_argument("evaluate_mask: mask and label must be CV_8UC1 of one size");
    if (kind == LabelKind::Automatic) {
        double lo, hi;
        cv::minMaxLoc(label, &lo, &hi);
        kind = cv::countNonZero(label == 2) > 0 && hi <= 2 ? LabelKind::Sparse : LabelKind::Full;
    }
    cv::Mat use = valid.empty() ? cv::Mat(mask.size(), CV_8UC1, cv::Scalar(1)) : (valid != 0) / 255;
    const cv::Mat flagged = (mask != 0) / 255;
    nlohmann::json out;
    if (kind == LabelKind::Sparse) {
        const cv::Mat changed = (label == 1) / 255, unchanged = (label == 2) / 255;
        const double n_changed = cv::countNonZero(changed.mul(use));
        const double n_unchanged = cv::countNonZero(unchanged.mul(use));
        const double hit = cv::countNonZero(changed.mul(flagged).mul(use));
        const double false_alarm = cv::countNonZero(unchanged.mul(flagged).mul(use));
        out["label_kind"] = "sparse";
        out["changed_samples"] = n_changed;
        out["unchanged_samples"] = n_unchanged;
        out["flagged_changed"] = hit;
        out["flagged_unchanged"] = false_alarm;
        out["sample_recall"] = ratio(hit, n_changed);
        out["sample_false_alarm_rate"] = ratio(false_alarm, n_unchanged);
        return out;
    }
    const cv::Mat reference = (label != 0) / 255;
    const double tp = cv::countNonZero(flagged.mul(reference).mul(use));
    const double fp = cv::countNonZero(flagged.mul(1 - reference).mul(use));
    const double fn = cv::countNonZero((1 - flagged).mul(reference).mul(use));
    const double precision = ratio(tp, tp + fp), recall = ratio(tp, tp + fn);
    out["label_kind"] = "full";
    out["true_positive"] = tp;
    out["false_positive"] = fp;
    out["false_negative"] = fn;
    out["precision"] = precision;
    out["recall"] = recall;
    out["f1"] = ratio(2 * precision * recall, precision + recall);
    out["iou"] = ratio(tp, tp + fp + fn);
    std::int64_t ref_objects, found, flagged_objects, correct;
    const cv::Mat reference_used = reference.mul(use), flagged_used = flagged.mul(use);
    overlap_counts(reference_used, flagged_used, 8, ref_objects, found);
    overlap_counts(flagged_used, reference_used, static_cast<int>(connectivity), flagged_objects, correct);
    out["reference_objects"] = ref_objects;
    out["found_objects"] = found;
    out["flagged_objects"] = flagged_objects;
    out["correct_objects"] = correct;
    out["object_recall"] = ratio(static_cast<double>(found), static_cast<double>(ref_objects));
    out["object_precision"] = ratio(static_cast<double>(correct), static_cast<double>(flagged_objects));
    return out;
}

cv::Mat read_label_raster(const std::filesystem::path& path, const AlignedEpochs& epochs) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
    if (!ds) throw InputError("label: cannot read the label raster '" + path.string() + "'; check the path given to --label");
    double gt[6];
    const bool georef = ds->GetGeoTransform(gt) == CE_None && ds->GetSpatialRef() && epochs.srs();
    GDALDatasetUniquePtr on_grid;
    GDALDataset* source = ds.get();
    const bool same_size = ds->GetRasterXSize() == epochs.width() && ds->GetRasterYSize() == epochs.height();
    if (georef) {
        char** args = nullptr;
        args = CSLAddString(args, "-of");
        args = CSLAddString(args, "VRT");
        args = CSLAddString(args, "-r");
        args = CSLAddString(args, "near");
        char* wkt = nullptr;
        epochs.srs()->exportToWkt(&wkt);
        args = CSLAddString(args, "-t_srs");
        args = CSLAddString(args, wkt);
        CPLFree(wkt);
        const auto& g = epochs.geotransform();
        args = CSLAddString(args, "-te");
        for (double v : {g[0], g[3] + epochs.height() * g[5], g[0] + epochs.width() * g[1], g[3]})
            args = CSLAddString(args, CPLSPrintf("%.17g", v));
        args = CSLAddString(args, "-ts");
        args = CSLAddString(args, CPLSPrintf("%d", epochs.width()));
        args = CSLAddString(args, CPLSPrintf("%d", epochs.height()));
        GDALWarpAppOptions* opts = GDALWarpAppOptionsNew(args, nullptr);
        CSLDestroy(args);
        GDALDatasetH src = GDALDataset::ToHandle(ds.get());
        GDALDatasetH warped = GDALWarp("", nullptr, 1, &src, opts, nullptr);
        GDALWarpAppOptionsFree(opts);
        if (!warped) throw InputError("label: cannot bring '" + path.string() + "' onto the image grid");
        on_grid.reset(GDALDataset::FromHandle(warped));
        source = on_grid.get();
    } else if (!same_size) {
        throw InputError("label: '" + path.string() + "' is " + std::to_string(ds->GetRasterXSize()) + "×" +
                         std::to_string(ds->GetRasterYSize()) + " px but the images are " + std::to_string(epochs.width()) +
                         "×" + std::to_string(epochs.height()) + "; give a label on the same grid");
    }
    cv::Mat label(epochs.height(), epochs.width(), CV_8UC1);
    if (source->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, label.cols, label.rows, label.data, label.cols, label.rows,
                                           GDT_Byte, 0, static_cast<GSpacing>(label.step)) != CE_None)
        throw InputError("label: cannot read '" + path.string() + "'");
    return label;
}

static_assert(Stage<EvaluateStage>);

nlohmann::json EvaluateStage::run(const cv::Mat& mask, const cv::Mat& label, const cv::Mat& valid) const {
    return evaluate_mask(mask, label, options_.kind, options_.connectivity, valid);
}

}  // namespace weipian
