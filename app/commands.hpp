#pragma once
// Each subcommand registers its options on the CLI and returns the action that runs it.
// main.cpp holds the one explicit list of commands; nothing registers itself.
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace weipian::app {

// Runs a parsed command; returns the process exit code. Throws weipian::Error for user errors.
using CommandAction = std::function<int()>;

// Options shared by all commands (set before any action runs).
struct GlobalOptions {
    bool verbose = false;
    bool quiet = false;
    std::string log_file;  // --log: appended to with timestamps; empty = none
};

CommandAction add_run_command(CLI::App& app);
CommandAction add_detect_command(CLI::App& app);
CommandAction add_evaluate_command(CLI::App& app);
// `train` (app/train_command.cpp): a learned-detector model from labelled pairs.
CommandAction add_train_command(CLI::App& app);
CommandAction add_config_command(CLI::App& app);
// `ledger import|export|report` (app/ledger_command.cpp).
CommandAction add_ledger_command(CLI::App& app);
CommandAction add_polygonize_command(CLI::App& app);
CommandAction add_bench_command(CLI::App& app);
// `nightly` (app/nightly_command.cpp): the unattended night (pipeline/nightly.hpp); exit 75 when
// another run holds the lock.
CommandAction add_nightly_command(CLI::App& app);

}  // namespace weipian::app
