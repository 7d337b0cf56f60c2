// weipian: new construction from two epochs of satellite tiles, as per-township parcels for
// field verification. One executable; the subcommands are listed in main() below.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/log.hpp"

int main(int argc, char** argv) {
    using namespace weipian;
    CLI::App app{"weipian: finds new construction between two epochs of satellite tiles and lists it per township "
                 "as parcels (图斑) for field verification"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("weipian ") + WEIPIAN_VERSION);
    app::GlobalOptions global;
    app.add_flag("-v,--verbose", global.verbose, "log every step");
    app.add_flag("-q,--quiet", global.quiet, "log only warnings and errors");

    // The commands, in the order `weipian --help` lists them.
    const std::vector<app::CommandAction> actions = {
        app::add_run_command(app),
        app::add_nightly_command(app),
        app::add_detect_command(app),
        app::add_evaluate_command(app),
        app::add_train_command(app),
        app::add_polygonize_command(app),
        app::add_config_command(app),
        app::add_ledger_command(app),
        app::add_bench_command(app),
    };

    // Exit codes are only those the README documents: --help and --version 0, a command line
    // CLI11 cannot parse 2 (as a configuration error), with its message on one line.
    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string message = e.what();
        for (auto& ch : message)
            if (ch == '\n' || ch == '\r') ch = ' ';
        while (!message.empty() && message.back() == ' ') message.pop_back();
        std::cerr << "weipian: error: " << message << "; see `weipian --help`";
        std::string command;
        for (const CLI::App* sub = &app; sub;) {
            const auto parsed = sub->get_subcommands();
            sub = parsed.empty() ? nullptr : parsed.front();
            if (sub) command += " " + sub->get_name();
        }
        if (!command.empty()) std::cerr << " or `weipian" << command << " --help`";
        std::cerr << "\n";
        return ConfigError("").exit_code();
    }

    try {
        LogOptions log;
        log.verbose = global.verbose;
        log.quiet = global.quiet;
        configure_logging(log);
        ensure_gdal_registered();
        const auto subcommands = app.get_subcommands();
        const auto all = app.get_subcommands({});
        for (std::size_t i = 0; i < all.size(); ++i)
            if (all[i] == subcommands.front()) return actions[i]();
        return 1;
    } catch (const Error& e) {
        std::cerr << "weipian: error: " << e.what() << "\n";
        return e.exit_code();
    } catch (const std::filesystem::filesystem_error& e) {
        // A refusal of the file system that no stage turned into an InputError: still 3, with the path.
        std::cerr << "weipian: error: cannot use '" << e.path1().string() << "' (" << e.code().message()
                  << "); check the path and that its folder is writable\n";
        return InputError("").exit_code();
    } catch (const std::exception& e) {
        std::cerr << "weipian: internal error: " << e.what() << "\n";
        return 70;
    }
}
