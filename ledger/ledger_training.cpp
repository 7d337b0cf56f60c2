// Training labels from the ledger's verdicts (ledger/ledger_training.hpp).
#include "ledger/ledger_training.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "ledger/ledger_store.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/text.hpp"
#include "pipeline/ingest.hpp"
#include "pipeline/rasterize.hpp"

namespace weipian {

const char* training_class_name(TrainingClass c) {
    switch (c) {
        case TrainingClass::Positive: return "positive";
        case TrainingClass::Negative: return "negative";
        case TrainingClass::Ignored: return "ignored";
    }
    return "ignored";
}

const std::vector<VerdictRule>& training_verdict_table() {
    using S = CaseStatus;
    using C = TrainingClass;
    static const std::vector<VerdictRule> table = {
        {"违法", S::Illegal, C::Positive, false, "verified illegal construction: the change is real"},
        {"合法", S::Legal, C::Positive, false, "legal (approved) construction: the change is real"},
        {"整改中", S::Rectifying, C::Positive, false, "reached only from 违法"},
        {"已整改", S::Rectified, C::Positive, false, "reached only from 违法 via 整改中"},
        {"销号", S::Closed, C::Ignored, true, "closed: counts as the result it was verified with"},
        {"误报", S::FalseAlarm, C::Negative, false, "no real change (false alarm)"},
        {"待核查", S::ToVerify, C::Ignored, false, "not verified yet"},
        {"已拆分", S::Split, C::Ignored, false, "split: its pieces carry the labels (ledger split)"},
        {"已合并", S::Merged, C::Ignored, false, "merged: the surviving case carries the label (ledger merge)"},
        // The platform's words (ENFORCEMENT.md §2) this ledger cannot store yet.
        {"其他", std::nullopt, C::Positive, false, "real change judged under another class"},
        {"非农违法", std::nullopt, C::Positive, false, "non-agricultural illegal use: the change is real"},
        {"农村道路", std::nullopt, C::Positive, false, "rural road: the change is real"},
        {"设施农用地", std::nullopt, C::Positive, false, "facility agriculture: the change is real"},
        {"伪变化", std::nullopt, C::Negative, false, "no real change"},
        {"存疑", std::nullopt, C::Ignored, false, "doubtful: evidence missing"},
    };
    return table;
}

std::optional<TrainingClass> verdict_class(const std::string& word) {
    const std::string key = trim(word);
    for (const auto& rule : training_verdict_table())
        if (key == rule.word && !rule.by_result) return rule.training_class;
    return std::nullopt;
}

namespace {

const VerdictRule* rule_of(CaseStatus status) {
    for (const auto& rule : training_verdict_table())
        if (rule.status == status) return &rule;
    return nullptr;
}

// The word a case is counted under: its result, else its status.
std::string verdict_word(const LedgerCase& c) {
    return c.result ? status_label(*c.result) : status_label(c.status);
}

}  // namespace

TrainingClass training_class(const LedgerCase& c) {
    if (superseded(c.status)) return TrainingClass::Ignored;  // the pieces or the survivor are labelled instead
    if (c.result) {
        const VerdictRule* rule = rule_of(*c.result);
        if (rule && !rule->by_result) return rule->training_class;
    }
    const VerdictRule* rule = rule_of(c.status);
    if (!rule || rule->by_result) return TrainingClass::Ignored;  // 销号 without a result
    return rule->training_class;
}

nlohmann::json LedgerLabelCounts::to_json() const {
    return {{"ledger", ledger},
            {"qsx", qsx},
            {"hsx", hsx},
            {"cases", cases},
            {"other_epochs", other_epochs},
            {"unverified", unverified},
            {"positive_cases", positive_cases},
            {"negative_cases", negative_cases},
            {"off_grid", off_grid},
            {"by_verdict", by_verdict},
            {"positive_pixels", positive_pixels},
            {"negative_case_pixels", negative_case_pixels},
            {"background_pixels", background_pixels},
            {"conflict_pixels", conflict_pixels},
            {"unknown_pixels", unknown_pixels}};
}

std::string LedgerLabelCounts::text() const {
    return "ledger " + ledger + ", epochs " + qsx + "→" + hsx + ": " + std::to_string(positive_cases) + " positive cases (" +
           std::to_string(positive_pixels) + " px), " + std::to_string(negative_cases) + " negative (" +
           std::to_string(negative_case_pixels) + " px), " + std::to_string(background_pixels) +
           " background px; skipped: " + std::to_string(unverified) + " 待核查, " + std::to_string(other_epochs) +
           " on other epochs, " + std::to_string(off_grid) + " off the grid";
}

namespace {

std::string config_name_of(const Config& config) {
    return config.source.empty() ? std::string("the configuration") : "'" + config.source.string() + "'";
}

void require_epoch_dates(const Config& config) {
    if (config.before.date.empty() || config.after.date.empty())
        throw ConfigError("train: --ledger needs the epochs' dates to find the cases found on them: set epochs.before.date "
                          "and epochs.after.date in " + config_name_of(config));
}

}  // namespace

LedgerLabels ledger_labels_for_config(const std::string& ledger, const std::filesystem::path& config_path,
                                      const LedgerTrainingOptions& options) {
    const Config config = Config::load(config_path);
    require_epoch_dates(config);
    LedgerStore::open(ledger, LedgerStore::Mode::Read);  // its errors before any imagery is opened
    const AlignedEpochs epochs = ingest_epochs(config);
    return ledger_labelled_scene(ledger, config, epochs, options);
}

LedgerLabels ledger_labelled_scene(const std::string& ledger, const Config& config, const AlignedEpochs& epochs,
                                   const LedgerTrainingOptions& options) {
    const std::string config_name = config_name_of(config);
    require_epoch_dates(config);
    if (!(options.buffer_m >= 0) || !(options.background_per_positive >= 0))
        throw InternalError("train: ledger training options out of range");
    if (!epochs.srs()) throw InternalError("train: ledger labels need georeferenced epochs");

    auto store = LedgerStore::open(ledger, LedgerStore::Mode::Read);
    const std::vector<LedgerCase> cases = store->load_cases(true);

    LedgerLabels out;
    LedgerLabelCounts& n = out.counts;
    n.ledger = store->redacted_location();
    n.qsx = config.before.date;
    n.hsx = config.after.date;
    n.cases = static_cast<std::int64_t>(cases.size());
    const std::string where = "ledger '" + n.ledger + "'";
    const std::string epochs_text = n.qsx + "→" + n.hsx;

    // Case outlines in the grid's CRS.
    const auto ledger_srs = clone_traditional(store->srs());
    const auto grid_srs = clone_traditional(*epochs.srs());
    std::unique_ptr<OGRCoordinateTransformation> to_grid;
    if (!ledger_srs->IsSame(grid_srs.get())) {
        to_grid.reset(OGRCreateCoordinateTransformation(ledger_srs.get(), grid_srs.get()));
        if (!to_grid)
            throw InputError("train: cannot transform the CRS of " + where + " into the CRS of the imagery of " + config_name +
                             "; check both CRSs");
    }
    std::vector<OGRGeometryUniquePtr> outlines(cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        if (!cases[i].geometry) continue;
        OGRGeometryUniquePtr g(cases[i].geometry->clone());
        if (to_grid) {
            g->assignSpatialReference(ledger_srs.get());
            CPLPushErrorHandler(CPLQuietErrorHandler);
            const bool ok = g->transform(to_grid.get()) == OGRERR_NONE;
            CPLPopErrorHandler();
            if (!ok) continue;  // cannot be placed on the grid: off the grid
        }
        g->assignSpatialReference(nullptr);
        outlines[i] = std::move(g);
    }

    // One byte a pixel for the whole grid: bit 1 inside a positive case, bit 2 inside a negative
    // one, bit 4 within the buffer of any case. Each case is rasterized (and buffered) in its own
    // window only, so the work follows the cases, not cases × grid.
    const int width = epochs.width(), height = epochs.height();
    const GeoTransform& gt = epochs.geotransform();
    constexpr std::uint8_t kPositive = 1, kNegative = 2, kNear = 4;
    cv::Mat flags = cv::Mat::zeros(height, width, CV_8UC1);
    const double pixel_m = std::sqrt(epochs.pixel_width_m() * epochs.pixel_height_m());
    const int radius = pixel_m > 0 ? static_cast<int>(std::ceil(options.buffer_m / pixel_m)) : 0;
    const cv::Mat disc = cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * radius + 1, 2 * radius + 1});
    // The case's pixels in its window (grown by the buffer radius), or an empty window off the grid.
    const auto place = [&](const OGRGeometry& outline, cv::Rect& window) {
        OGREnvelope e;
        outline.getEnvelope(&e);
        double c0 = (e.MinX - gt[0]) / gt[1], c1 = (e.MaxX - gt[0]) / gt[1];
        double r0 = (e.MaxY - gt[3]) / gt[5], r1 = (e.MinY - gt[3]) / gt[5];
        if (c0 > c1) std::swap(c0, c1);
        if (r0 > r1) std::swap(r0, r1);
        const double pad = radius + 1;
        const double x0 = std::max(0.0, std::floor(c0) - pad), y0 = std::max(0.0, std::floor(r0) - pad);
        const double x1 = std::min<double>(width, std::ceil(c1) + pad), y1 = std::min<double>(height, std::ceil(r1) + pad);
        if (!(x1 > x0 && y1 > y0)) {
            window = cv::Rect();
            return cv::Mat();
        }
        window = cv::Rect(static_cast<int>(x0), static_cast<int>(y0), static_cast<int>(x1 - x0), static_cast<int>(y1 - y0));
        cv::Mat inside = cv::Mat::zeros(window.height, window.width, CV_8UC1);
        rasterize_into(inside, window_geotransform(gt, window.x, window.y), {&outline}, 1);
        return inside;
    };
    if (gt[2] != 0 || gt[4] != 0) throw InternalError("train: a rotated grid (ingest refuses rotated epochs)");
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const LedgerCase& c = cases[i];
        cv::Rect window;
        const cv::Mat inside = outlines[i] ? place(*outlines[i], window) : cv::Mat();
        if (!inside.empty()) {
            cv::Mat grown;
            cv::dilate(inside, grown, disc, {-1, -1}, 1, cv::BORDER_CONSTANT, 0);
            cv::Mat bits = flags(window);
            cv::bitwise_or(bits, cv::Scalar(kNear), bits, grown);
        }
        if (c.qsx != n.qsx || c.hsx != n.hsx) {
            ++n.other_epochs;
            continue;
        }
        ++n.by_verdict[verdict_word(c)];
        const TrainingClass cls = training_class(c);
        if (cls == TrainingClass::Ignored) {
            ++n.unverified;
            continue;
        }
        if (inside.empty() || cv::countNonZero(inside) == 0) {
            ++n.off_grid;
            continue;
        }
        ++(cls == TrainingClass::Positive ? n.positive_cases : n.negative_cases);
        cv::Mat bits = flags(window);
        cv::bitwise_or(bits, cv::Scalar(cls == TrainingClass::Positive ? kPositive : kNegative), bits, inside);
    }
    if (n.positive_cases + n.negative_cases == 0 && n.off_grid == 0)
        throw InputError(where + " has no verified case on epochs " + epochs_text + " to learn from: " +
                         std::to_string(n.unverified) + " cases are 待核查, " + std::to_string(n.other_epochs) +
                         " on other epochs; record verdicts with `weipian ledger import` first");
    if (n.positive_cases == 0 && n.off_grid > 0)
        throw InputError(where + ": no positive case on epochs " + epochs_text + " lies on the imagery of " + config_name +
                         " (" + std::to_string(n.off_grid) + " verified cases off its grid, " +
                         std::to_string(n.negative_cases) + " 误报 on it); give the config of the imagery the cases were found on");
    if (n.positive_cases == 0)
        throw InputError(where + " has no case on epochs " + epochs_text +
                         " whose verdict says the change is real (违法, 合法, 整改中, 已整改): its " +
                         std::to_string(n.negative_cases) +
                         " verified cases are 误报; a model needs positive examples, record them with `weipian ledger import`");

    // Labels: cases first, a pixel in both a positive and a negative case stays unknown.
    cv::Mat& label = out.scene.label;
    label = cv::Mat(height, width, CV_8UC1, cv::Scalar(255));
    const cv::Mat case_bits = flags & (kPositive | kNegative);
    label.setTo(1, case_bits == kPositive);
    label.setTo(0, case_bits == kNegative);
    n.conflict_pixels = cv::countNonZero(case_bits == (kPositive | kNegative));
    n.positive_pixels = cv::countNonZero(label == 1);
    n.negative_case_pixels = cv::countNonZero(label == 0);

    // Background: away from every case (any verdict, any epochs), seeded selection sampling
    // (Knuth, TAOCP vol. 2, algorithm S): exactly k of the N candidates, in one pass.
    const cv::Mat near = flags & kNear;
    const std::int64_t candidates = static_cast<std::int64_t>(width) * height - cv::countNonZero(near);
    std::int64_t wanted = std::min<std::int64_t>(
        candidates, static_cast<std::int64_t>(std::llround(options.background_per_positive * static_cast<double>(n.positive_pixels))));
    std::mt19937_64 random(options.seed);
    std::int64_t seen = 0;
    for (int y = 0; y < height && wanted > 0; ++y) {
        const std::uint8_t* m = flags.ptr<std::uint8_t>(y);
        std::uint8_t* l = label.ptr<std::uint8_t>(y);
        for (int x = 0; x < width && wanted > 0; ++x) {
            if (m[x] & kNear) continue;
            // A uniform draw in [0, 1) from the generator's bits, the same on every platform.
            const double u = static_cast<double>(random() >> 11) * 0x1.0p-53;
            if (static_cast<double>(candidates - seen) * u < static_cast<double>(wanted)) {
                l[x] = 0;
                --wanted;
                ++n.background_pixels;
            }
            ++seen;
        }
    }
    n.unknown_pixels = static_cast<std::int64_t>(width) * height - n.positive_pixels - n.negative_case_pixels - n.background_pixels;
    out.scene.config = config;
    out.scene.name = "ledger " + n.ledger;
    spdlog::info("train: {}", n.text());
    return out;
}

}  // namespace weipian
