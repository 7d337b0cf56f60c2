#pragma once
// `weipian train --ledger L --config C`: the ledger's verified cases as the labelled scene of
// the config's epochs (ledger/ledger_training.hpp). The options and the call are here so that
// app/train_command.cpp (helper train) adds them with one call each.
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "ledger/ledger_training.hpp"

namespace weipian::app {

struct LedgerTrainingArguments {
    std::string ledger;  // GeoPackage path or PostgreSQL connection string; empty = not asked
    std::string config;  // the run config whose epochs the cases were found on
    LedgerTrainingOptions options;
    bool requested() const { return !ledger.empty(); }
};

// Registers on `train`: --ledger L (needs --config), --case-buffer M, --background-ratio R and,
// when `add_config` (the command has no --config of its own), --config C.
void add_ledger_training_options(CLI::App& train, LedgerTrainingArguments& arguments, bool add_config = true);

// The labelled scene of the ledger on the config's epochs, background sampled with `seed`; logs
// the counts line (spdlog info). Throws ConfigError / InputError (ledger_labels_for_config).
LabelledScene ledger_training_scene(const LedgerTrainingArguments& arguments, std::uint64_t seed);

}  // namespace weipian::app
