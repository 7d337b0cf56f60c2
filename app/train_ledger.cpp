#include "app/train_ledger.hpp"


namespace weipian::app {

void add_ledger_training_options(CLI::App& train, LedgerTrainingArguments& arguments, bool add_config) {
    CLI::Option* config = add_config ? train.add_option("--config", arguments.config,
                                                        "run config (YAML) naming the epochs the ledger's cases were found on "
                                                        "(with --ledger: cases whose QSX/HSX equal its epoch dates are labels)")
                                     : train.get_option("--config");
    auto* ledger = train.add_option("--ledger", arguments.ledger,
                                    "case ledger (GeoPackage or PostgreSQL) whose verdicts are the labels: 违法, 合法, 整改中, 已整改 "
                                    "positive, 误报 negative, 待核查 ignored (ledger/ledger_training.hpp), plus background "
                                    "sampled away from all cases");
    ledger->needs(config);
    train.add_option("--case-buffer", arguments.options.buffer_m,
                     "with --ledger: metres around every case never taken as background")
        ->default_val(arguments.options.buffer_m)
        ->check(CLI::Range(0.0, 1000.0));
    train.add_option("--background-ratio", arguments.options.background_per_positive,
                     "with --ledger: background pixels sampled per positive pixel")
        ->default_val(arguments.options.background_per_positive)
        ->check(CLI::Range(0.0, 1000.0));
}

LabelledScene ledger_training_scene(const LedgerTrainingArguments& arguments, std::uint64_t seed) {
    LedgerTrainingOptions options = arguments.options;
    options.seed = seed;
    LedgerLabels labels = ledger_labels_for_config(arguments.ledger, arguments.config, options);
    return std::move(labels.scene);
}

}  // namespace weipian::app
