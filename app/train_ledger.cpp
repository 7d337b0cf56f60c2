#include "app/train_ledger.hpp"

namespace weipian::app {

void add_ledger_training_options(CLI::App& train, LedgerTrainingArguments& arguments, CLI::Option* config) {
    auto* ledger = train.add_option("--ledger", arguments.ledger,
                                    "case ledger (GeoPackage or PostgreSQL) whose verdicts label the epochs of --config: "
                                    "违法, 合法, 整改中, 已整改 positive, 误报 negative, 待核查 ignored, cases on other epochs "
                                    "skipped, plus background sampled away from all cases");
    if (config) ledger->needs(config);
    train.add_option("--case-buffer", arguments.options.buffer_m,
                     "with --ledger: metres around every case never taken as background")
        ->default_val(arguments.options.buffer_m)
        ->check(CLI::Range(0.0, 1000.0));
    train.add_option("--background-ratio", arguments.options.background_per_positive,
                     "with --ledger: background pixels sampled per positive pixel")
        ->default_val(arguments.options.background_per_positive)
        ->check(CLI::Range(0.0, 1000.0));
}

LabelledScene ledger_training_scene(const LedgerTrainingArguments& arguments, const std::string& config_path,
                                    std::uint64_t seed) {
    LedgerTrainingOptions options = arguments.options;
    options.seed = seed;
    LedgerLabels labels = ledger_labels_for_config(arguments.ledger, config_path, options);
    return std::move(labels.scene);
}

}  // namespace weipian::app
