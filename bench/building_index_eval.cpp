// Measures the training-free building-index change detector (dMBI, kernels/building_index.hpp)
// against the `construction` index on labelled pairs, to decide whether it earns a place as a
// detection method (issue 8, item 4). Not installed: an evaluation tool, like the benchmarks.
//
//   weipian_building_index_eval --config configs/levir.yaml --pixel-size 0.5
//       --before A1.png --after B1.png --label L1.png  [--before … --after … --label …]…
// (one command line; scripts/real_data.sh runs it on LEVIR-CD and OSCD).
//
// Per pair and pooled over all pairs it prints, for
//   index  the configured `construction` detector (its fixed threshold), and
//   dMBI   dMBI > t, cleaned like the index (opening, closing, minimum mapping unit), with t
//          chosen leave-one-pair-out (the t with the best pooled pixel F1 on the other pairs),
//   oracle dMBI at the single t with the best pooled F1 on all pairs (an upper bound; it looks
//          at the test labels),
// pixel precision, recall, F1, IoU and object recall/precision (pipeline/evaluate.hpp).
// Line lengths follow Huang & Zhang (2011): 2..52 px by 5 at 2 m, i.e. 4..104 m by 10 m,
// converted to the pair's pixel size.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gdal_priv.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "kernels/building_index.hpp"
#include "kernels/clean.hpp"
#include "pipeline/clean.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/detect.hpp"
#include "pipeline/evaluate.hpp"
#include "pipeline/ingest.hpp"

namespace {

using namespace weipian;

struct Counts {
    double tp = 0, fp = 0, fn = 0, ref = 0, found = 0, flagged = 0, correct = 0;
    void add(const nlohmann::json& r) {
        tp += r["true_positive"].get<double>();
        fp += r["false_positive"].get<double>();
        fn += r["false_negative"].get<double>();
        ref += r["reference_objects"].get<double>();
        found += r["found_objects"].get<double>();
        flagged += r["flagged_objects"].get<double>();
        correct += r["correct_objects"].get<double>();
    }
    double precision() const { return tp + fp > 0 ? tp / (tp + fp) : 0; }
    double recall() const { return tp + fn > 0 ? tp / (tp + fn) : 0; }
    double f1() const {
        const double p = precision(), r = recall();
        return p + r > 0 ? 2 * p * r / (p + r) : 0;
    }
    double iou() const { return tp + fp + fn > 0 ? tp / (tp + fp + fn) : 0; }
    double object_recall() const { return ref > 0 ? found / ref : 0; }
    double object_precision() const { return flagged > 0 ? correct / flagged : 0; }
};

void print_row(const std::string& name, const Counts& c) {
    std::printf("%-28s %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f\n", name.c_str(), c.precision(), c.recall(), c.f1(), c.iou(),
                c.object_recall(), c.object_precision());
}

struct Pair {
    std::string name;
    AlignedEpochs epochs;
    cv::Mat label, valid, dmbi;
    Counts index;
    std::vector<Counts> at;  // per threshold
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"dMBI against the construction index on labelled pairs"};
    std::string config_path;
    std::vector<std::string> before, after, label;
    double pixel_size = 0;
    int thresholds = 40;
    app.add_option("--config", config_path, "YAML configuration (band roles, detector, cleaning)")->required();
    app.add_option("--before", before, "earlier image, repeated")->required();
    app.add_option("--after", after, "later image, repeated")->required();
    app.add_option("--label", label, "full label map (0 / nonzero), repeated")->required();
    app.add_option("--pixel-size", pixel_size, "pixel size in metres for images without georeferencing");
    app.add_option("--thresholds", thresholds, "dMBI thresholds tried between 0 and the 99.9th percentile");
    bool vegetation = false;
    app.add_flag("--vegetation-test", vegetation, "also require the after vegetation index below detect.after_vegetation_max");
    CLI11_PARSE(app, argc, argv);
    if (before.size() != after.size() || before.size() != label.size()) {
        std::cerr << "building_index_eval: give as many --before, --after and --label as pairs\n";
        return 2;
    }
    GDALAllRegister();
    const Config base = Config::load(config_path);
    IngestOptions ingest;
    ingest.allow_missing_crs = true;
    ingest.pixel_size_m = pixel_size;

    std::vector<Pair> pairs;
    std::vector<float> magnitudes;
    for (std::size_t i = 0; i < before.size(); ++i) {
        Config config = base;
        config.before.tiles = {before[i]};
        config.after.tiles = {after[i]};
        Pair p;
        p.name = std::filesystem::path(before[i]).parent_path().filename().string() + "/" + std::filesystem::path(before[i]).stem().string();
        p.epochs = ingest_epochs(config, ingest);
        p.label = read_label_raster(label[i], p.epochs);
        const ChangeMask index = detect_change(p.epochs, config);
        p.valid = index.valid;
        p.index.add(evaluate_mask(index.mask, p.label, LabelKind::Full, config.clean.connectivity, p.valid));
        kernels::EpochBlock b, a;
        p.epochs.read_block(false, 0, p.epochs.height(), b);
        kernels::EpochBlock bc = b;  // views into the reader's buffer: keep a copy before the next read
        bc.blue = b.blue.clone(); bc.green = b.green.clone(); bc.red = b.red.clone(); bc.nir = b.nir.clone();
        bc.valid = b.valid.clone();
        p.epochs.read_block(true, 0, p.epochs.height(), a);
        const double metres_per_px = p.epochs.pixel_width_m();
        kernels::BuildingIndexParams params;
        params.min_length = std::max(1, static_cast<int>(std::lround(4.0 / metres_per_px)));
        params.step = std::max(1, static_cast<int>(std::lround(10.0 / metres_per_px)));
        params.max_length = std::max(params.min_length + params.step, static_cast<int>(std::lround(104.0 / metres_per_px)));
        kernels::building_index_change(bc, a, params, p.dmbi);
        if (vegetation) {
            cv::Mat vi;
            kernels::vegetation_index(a, vi);
            p.dmbi.setTo(0, vi >= static_cast<float>(base.detect.after_vegetation_max));
        }
        for (int y = 0; y < p.dmbi.rows; ++y)
            for (int x = 0; x < p.dmbi.cols; ++x)
                if (p.valid.at<std::uint8_t>(y, x)) magnitudes.push_back(std::abs(p.dmbi.at<float>(y, x)));
        pairs.push_back(std::move(p));
    }
    std::sort(magnitudes.begin(), magnitudes.end());
    const float top = magnitudes.empty() ? 1.0f : magnitudes[static_cast<std::size_t>(0.999 * (magnitudes.size() - 1))];
    std::vector<float> ts;
    // Quadratic spacing: fine near 0, where the best thresholds of 8-bit imagery lie.
    for (int k = 0; k < thresholds; ++k) {
        const float f = static_cast<float>(k) / static_cast<float>(thresholds);
        ts.push_back(top * f * f);
    }

    for (auto& p : pairs) {
        const Config& config = base;
        const CleanStage clean(CleanStage::Options::from(config));
        const int open = kernels::radius_in_pixels(config.clean.open_radius_m, p.epochs.pixel_width_m());
        const int close = kernels::radius_in_pixels(config.clean.close_radius_m, p.epochs.pixel_width_m());
        for (float t : ts) {
            cv::Mat mask = (p.dmbi > t) & p.valid;
            mask.setTo(1, mask);
            kernels::open_close(mask, open, close, p.valid);
            clean.run(mask, p.epochs.pixel_width_m() * p.epochs.pixel_height_m());
            Counts c;
            c.add(evaluate_mask(mask, p.label, LabelKind::Full, config.clean.connectivity, p.valid));
            p.at.push_back(c);
        }
    }
    auto pooled_at = [&](std::size_t k, std::size_t skip) {
        Counts c;
        for (std::size_t i = 0; i < pairs.size(); ++i)
            if (i != skip) {
                const Counts& x = pairs[i].at[k];
                c.tp += x.tp; c.fp += x.fp; c.fn += x.fn; c.ref += x.ref; c.found += x.found; c.flagged += x.flagged;
                c.correct += x.correct;
            }
        return c;
    };
    auto best = [&](std::size_t skip) {
        std::size_t arg = 0;
        for (std::size_t k = 1; k < ts.size(); ++k)
            if (pooled_at(k, skip).f1() > pooled_at(arg, skip).f1()) arg = k;
        return arg;
    };
    Counts index_all, loo_all;
    std::printf("%-28s %6s %6s %6s %6s %6s %6s\n", "pair / method", "P", "R", "F1", "IoU", "objR", "objP");
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const std::size_t k = best(i);
        const Counts& loo = pairs[i].at[k];
        print_row(pairs[i].name + " index", pairs[i].index);
        char name[96];
        std::snprintf(name, sizeof name, "%s dMBI>%.3g", pairs[i].name.c_str(), ts[k]);
        print_row(name, loo);
        for (const Counts* c : {&pairs[i].index}) {
            index_all.tp += c->tp; index_all.fp += c->fp; index_all.fn += c->fn; index_all.ref += c->ref;
            index_all.found += c->found; index_all.flagged += c->flagged; index_all.correct += c->correct;
        }
        loo_all.tp += loo.tp; loo_all.fp += loo.fp; loo_all.fn += loo.fn; loo_all.ref += loo.ref;
        loo_all.found += loo.found; loo_all.flagged += loo.flagged; loo_all.correct += loo.correct;
    }
    const std::size_t oracle = best(pairs.size());
    print_row("pooled index", index_all);
    print_row("pooled dMBI (t leave-one-out)", loo_all);
    char name[96];
    std::snprintf(name, sizeof name, "pooled dMBI oracle t=%.3g", ts[oracle]);
    print_row(name, pooled_at(oracle, pairs.size()));
    return 0;
}
