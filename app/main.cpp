// weipian: new construction from two epochs of satellite tiles, as per-township parcels for
// field verification. One executable; the subcommands are listed in main() below.
#include <iostream>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"

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
        app::add_detect_command(app),
        app::add_evaluate_command(app),
        app::add_polygonize_command(app),
        app::add_config_command(app),
        app::add_ledger_command(app),
        app::add_bench_command(app),
    };

    CLI11_PARSE(app, argc, argv);

    spdlog::set_default_logger(spdlog::stderr_color_mt("weipian"));
    spdlog::set_pattern("%^%l%$ %v");
    spdlog::set_level(global.verbose ? spdlog::level::debug : global.quiet ? spdlog::level::warn : spdlog::level::info);

    try {
        ensure_gdal_registered();
        const auto subcommands = app.get_subcommands();
        const auto all = app.get_subcommands({});
        for (std::size_t i = 0; i < all.size(); ++i)
            if (all[i] == subcommands.front()) return actions[i]();
        return 1;
    } catch (const Error& e) {
        std::cerr << "weipian: error: " << e.what() << "\n";
        return e.exit_code();
    } catch (const std::exception& e) {
        std::cerr << "weipian: internal error: " << e.what() << "\n";
        return 70;
    }
}
