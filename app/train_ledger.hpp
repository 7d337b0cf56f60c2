#pragma once
// `weipian train --ledger L --config C`: the ledger's verified cases as the labelled scene of
// the config's epochs (ledger/ledger_training.hpp); app/train_command.cpp adds the options and
// the scene with one call each.
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "ledger/ledger_training.hpp"

namespace weipian::app {

struct LedgerTrainingArguments {
    std::string ledger;  // GeoPackage path or PostgreSQL connection string; empty = not asked
    LedgerTrainingOptions options;
    bool requested() const { return !ledger.empty(); }
};

// Registers on `train`: --ledger L (needs `config`, the command's --config), --case-buffer M and
// --background-ratio R.
void add_ledger_training_options(CLI::App& train, LedgerTrainingArguments& arguments, CLI::Option* config);

// The labelled scene of the ledger on the epochs of the config at `config_path`, background
// sampled with `seed`; logs the counts line. Throws ConfigError / InputError
// (ledger_labels_for_config).
LabelledScene ledger_training_scene(const LedgerTrainingArguments& arguments, const std::string& config_path,
                                    std::uint64_t seed);

}  // namespace weipian::app
