// `weipian train`: a learned-detector model from labelled pairs (pipeline/train.hpp).
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include <tbb/global_control.h>
#include <tbb/info.h>

#include "app/commands.hpp"
#include "app/train_ledger.hpp"
#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/train.hpp"

namespace weipian::app {
namespace {

namespace fs = std::filesystem;

struct TrainCommandOptions {
    std::string config_path;
    std::vector<std::string> before, after, label;
    std::string pairs;
    std::string out;
    bool overwrite = false;
    double pixel_size = 0;
    std::string cv;
    std::string label_kind = "auto";
    int threads = 0;
    TrainOptions train;
    LedgerTrainingArguments ledger;
};

// --cv: "loo" or a number of folds ≥ 2.
int parse_folds(const std::string& text) {
    if (text.empty()) return 0;
    if (text == "loo") return -1;
    try {
        std::size_t used = 0;
        const int k = std::stoi(text, &used);
        if (used == text.size() && k >= 2) return k;
    } catch (const std::exception&) {
    }
    throw ConfigError("train: --cv '" + text + "' is neither a number of folds (2 or more) nor loo; give e.g. --cv 5 (folds by pair) or --cv loo "
                      "(leave one pair out)");
}

}  // namespace

CommandAction add_train_command(CLI::App& app) {
    auto o = std::make_shared<TrainCommandOptions>();
    CLI::App* cmd = app.add_subcommand("train", "train a learned-detector model from labelled pairs (before, after, label)");
    auto* config = cmd->add_option("--config", o->config_path,
                                   "YAML configuration (band roles, grid, clean settings for cross-validation; with --ledger "
                                   "its epochs are the imagery the cases were found on)");
    add_ledger_training_options(*cmd, o->ledger, config);
    cmd->add_option("--before", o->before, "earlier-epoch image of a pair (repeat once per pair)");
    cmd->add_option("--after", o->after, "later-epoch image of a pair (repeat once per pair)");
    cmd->add_option("--label", o->label, "label raster of a pair: nonzero = changed (0/255 or 0/1; repeat once per pair)");
    cmd->add_option("--label-kind", o->label_kind, "auto (sparse when a 2 occurs), full (nonzero = changed) or sparse (1 changed, 2 unchanged, 0 unknown)")
        ->check(CLI::IsMember({"auto", "full", "sparse"}));
    cmd->add_option("--pairs", o->pairs, "YAML list of pairs: `- {before: A, after: B, label: L}`, paths relative to it");
    cmd->add_option("--out", o->out, "model file to write (JSON)")->required();
    cmd->add_flag("--overwrite", o->overwrite, "replace the model file when it exists");
    cmd->add_option("--pixel-size", o->pixel_size, "pixel size in metres for images without georeferencing (PNG)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--cv", o->cv, "cross-validate first: K folds by pair (one pair: K blocks of columns), or loo (leave one pair out)");
    cmd->add_option("--seed", o->train.seed, "seed of the sampling and of XGBoost (same inputs and seed: same model file)");
    cmd->add_option("--stride", o->train.stride, "feature grid stride in pixels (default: 2 below 1 m pixels, else 1)")
        ->check(CLI::Range(1, 8));
    cmd->add_option("--trees", o->train.trees, "boosting rounds (trees)")->check(CLI::Range(1, 2000));
    cmd->add_option("--depth", o->train.depth, "maximum tree depth")->check(CLI::Range(1, 12));
    cmd->add_option("--eta", o->train.eta, "learning rate")->check(CLI::Range(0.001, 1.0));
    cmd->add_option("--samples", o->train.samples, "samples per pair, half changed and half unchanged")
        ->check(CLI::Range(2, 10000000));
    cmd->add_option("--unchanged-ratio", o->train.unchanged_ratio, "unchanged samples per changed sample (1 = balanced)")
        ->check(CLI::Range(0.1, 20.0));
    cmd->add_option("--threads", o->threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
    return [o]() {
        const int folds = parse_folds(o->cv);
        std::vector<PairFiles> pairs;
        if (!o->pairs.empty()) pairs = read_pair_list(o->pairs);
        if (o->before.size() != o->after.size() || o->before.size() != o->label.size())
            throw ConfigError("train: give --before, --after and --label once per pair (" + std::to_string(o->before.size()) +
                              " --before, " + std::to_string(o->after.size()) + " --after, " +
                              std::to_string(o->label.size()) + " --label)");
        for (std::size_t i = 0; i < o->before.size(); ++i) pairs.push_back({o->before[i], o->after[i], o->label[i]});
        if (pairs.empty() && !o->ledger.requested())
            throw ConfigError("train: no pairs to learn from; give --before, --after and --label, or --pairs");
        std::error_code ec;
        if (fs::exists(o->out, ec) && !o->overwrite)
            throw InputError("train: '" + o->out + "' exists; give --overwrite to replace it, or another --out");
        for (const auto& p : pairs)
            for (const auto& input : {p.before, p.after, p.label})
                if (same_file(input, o->out))
                    throw InputError("train: --out '" + o->out + "' is the input '" + input + "'; give another file for the model");
        if (o->ledger.requested() && same_file(o->ledger.ledger, o->out))
            throw InputError("train: --out '" + o->out + "' is the ledger '" + o->ledger.ledger + "'; give another file for the model");
        prepare_file_path(o->out, "train");  // refused before any work

        const Config base = o->config_path.empty() ? Config{} : Config::load(o->config_path);
        const int workers = o->threads > 0 ? o->threads : tbb::info::default_concurrency();
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));
        std::vector<LabelledScene> scenes;
        for (const auto& p : pairs) {
            LabelledScene s;
            s.name = fs::path(p.after).filename().string();
            s.config = base;
            s.config.before.tiles = {p.before};
            s.config.after.tiles = {p.after};
            s.ingest.allow_missing_crs = true;
            s.ingest.pixel_size_m = o->pixel_size;
            s.label_path = p.label;
            s.label_kind = o->label_kind == "full" ? LabelKind::Full : o->label_kind == "sparse" ? LabelKind::Sparse : LabelKind::Automatic;
            scenes.push_back(std::move(s));
        }
        if (o->ledger.requested()) scenes.push_back(ledger_training_scene(o->ledger, o->config_path, o->train.seed));
        // Names must tell the pairs apart in the figures: the after image's file name, else its
        // folder and file name (oscd-s2/<city>/after.tif), else its path.
        const auto unique = [&] {
            for (std::size_t i = 0; i < scenes.size(); ++i)
                for (std::size_t j = i + 1; j < scenes.size(); ++j)
                    if (scenes[i].name == scenes[j].name) return false;
            return true;
        };
        if (!unique())
            for (std::size_t i = 0; i < pairs.size(); ++i)
                scenes[i].name = (fs::path(pairs[i].after).parent_path().filename() / fs::path(pairs[i].after).filename()).string();
        if (!unique())
            for (std::size_t i = 0; i < pairs.size(); ++i) scenes[i].name = pairs[i].after;

        TrainOptions options = o->train;
        options.folds = folds;
        const bool terminal = ::isatty(STDERR_FILENO) != 0;
        if (terminal)
            options.progress = [](const std::string& line) { std::cerr << "\r\033[K" << line << std::flush; };
        options.report = [terminal](const std::string& line) {
            if (terminal) std::cerr << "\r\033[K" << std::flush;
            std::cout << line << "\n" << std::flush;
        };
        const TrainResult result = train_model(scenes, base, options);
        if (terminal) std::cerr << "\r\033[K" << std::flush;
        save_model(o->out, result.model);
        const LearnedModel& m = result.model;
        std::cout << "train: " << scenes.size() << " pairs, " << result.samples << " samples, "
                  << m.feature_names.size() << " features at stride " << m.spec.stride << "; threshold " << m.threshold;
        if (!m.gate_feature.empty())
            std::cout << ", gate " << m.gate_feature << " ≥ " << m.gate.minimum << " (" << 100 * result.gated_out_fraction
                      << " % of the valid cells not evaluated)";
        std::cout << "; " << result.seconds << " s; model written to " << o->out << "\n";
        return 0;
    };
}

}  // namespace weipian::app
