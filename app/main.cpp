// weipian: new construction from two epochs of satellite tiles, as per-township parcels for
// field verification. One executable; the subcommands are listed in main() below.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <cpl_conv.h>
#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "app/global_options.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/log.hpp"

namespace {

// The one error line of a failed command: on stderr, and in the --log file when one is set.
void print_error(const std::string& line) {
    std::cerr << line << "\n";
    weipian::log_to_file_only(line);
}

// The --log file of a command line that was refused before logging was set up (`--log FILE` or
// `--log=FILE`, before or after the command; the last one counts); empty when there is none.
std::filesystem::path log_file_of(const std::vector<std::string>& args) {
    std::filesystem::path file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--log" && i + 1 < args.size())
            file = args[++i];
        else if (args[i].rfind("--log=", 0) == 0)
            file = args[i].substr(6);
    }
    return file;
}

// The error line of a command line weipian refuses (it does not parse, -q with -v, a GDAL option
// without its value): on stderr, and in its --log file when one is given and can be opened, so
// that a cron job's log says why the night did not run.
void print_command_line_error(const std::string& line, const std::vector<std::string>& args) {
    if (const auto file = log_file_of(args); !file.empty()) {
        try {
            weipian::LogOptions options;
            options.quiet = true;
            options.log_file = file;
            weipian::configure_logging(options);
        } catch (const weipian::Error&) {
            // The file cannot be opened: the line goes to stderr alone.
        }
    }
    print_error(line);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace weipian;
    CLI::App app{"weipian: finds new construction between two epochs of satellite tiles and lists it per township "
                 "as parcels (图斑) for field verification",
                 "weipian"};
    app.require_subcommand(1);
    app.set_version_flag("--version", app::version_text, "print the versions of weipian, GDAL, PROJ, GEOS, OpenCV and TBB");
    // -q, -v and --log are the program's, but may also follow the command (`weipian run … -q`):
    // every subcommand (added below, so inheriting it) hands options it does not know up here.
    app.fallthrough();
    app::GlobalOptions global;
    app.add_flag("-v,--verbose", global.verbose, "log every step");
    app.add_flag("-q,--quiet", global.quiet, "log only warnings and errors");
    app.add_option("--log", global.log_file, "also append the log lines, with timestamps, to this file");
    // Only for --help: main() takes these out of the command line itself (app/global_options.hpp).
    app.footer(
        "GDAL configuration options, before or after the command, as GDAL's utilities take them:\n"
        "  --config KEY VALUE  or  --config KEY=VALUE   e.g. weipian --config GDAL_CACHEMAX 512 run --config county.yaml\n"
        "KEY is upper case (GDAL_CACHEMAX, CPL_DEBUG); after a command, --config with one argument that is not\n"
        "such a KEY is the command's YAML file. -q, -v and --log may also follow the command.");

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

    // Each command's --help names what every command also takes.
    const std::function<void(CLI::App*)> add_footer = [&](CLI::App* cmd) {
        cmd->footer("Also after the command: --config KEY VALUE or --config KEY=VALUE (a GDAL option; KEY upper case), "
                    "-q, -v, --log FILE; see `weipian --help`.");
        for (CLI::App* sub : cmd->get_subcommands({})) add_footer(sub);
    };
    for (CLI::App* cmd : app.get_subcommands({})) add_footer(cmd);

    // Exit codes are only those the README documents: --help and --version 0, a command line
    // CLI11 cannot parse 2 (as a configuration error), with its message on one line.
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    const std::vector<std::string> command_line = args;
    try {
        std::vector<std::string> names;
        for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
        // Set before GDAL registers its drivers, as GDAL's utilities do (GDAL_SKIP, GDAL_DRIVER_PATH).
        for (const auto& option : app::take_gdal_config_options(args, names))
            CPLSetConfigOption(option.key.c_str(), option.value.c_str());
    } catch (const Error& e) {
        print_command_line_error(std::string("weipian: error: ") + e.what(), command_line);
        return e.exit_code();
    }
    // GDAL's utilities spell the output format -of; CLI11 takes no single-dash long names.
    for (auto& arg : args)
        if (arg == "-of") arg = "--of";
    try {
        std::reverse(args.begin(), args.end());  // CLI11 takes a vector last argument first
        app.parse(args);
    } catch (const CLI::Success& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string message = e.what();
        for (auto& ch : message)
            if (ch == '\n' || ch == '\r') ch = ' ';
        while (!message.empty() && message.back() == ' ') message.pop_back();
        std::string line = "weipian: error: " + message + "; see `weipian --help`";
        std::string command;
        for (const CLI::App* sub = &app; sub;) {
            const auto parsed = sub->get_subcommands();
            sub = parsed.empty() ? nullptr : parsed.front();
            if (sub) command += " " + sub->get_name();
        }
        if (!command.empty()) line += " or `weipian" + command + " --help`";
        print_command_line_error(line, command_line);
        return ConfigError("").exit_code();
    }
    if (global.verbose && global.quiet) {
        print_command_line_error("weipian: error: -q and -v together: give one of them (-q logs only warnings and "
                                 "errors, -v every step)",
                                 command_line);
        return ConfigError("").exit_code();
    }

    try {
        LogOptions log;
        log.verbose = global.verbose;
        log.quiet = global.quiet;
        log.log_file = global.log_file;
        configure_logging(log);
        ensure_gdal_registered();
        const auto subcommands = app.get_subcommands();
        const auto all = app.get_subcommands({});
        for (std::size_t i = 0; i < all.size(); ++i)
            if (all[i] == subcommands.front()) return actions[i]();
        return 1;
    } catch (const Error& e) {
        print_error(std::string("weipian: error: ") + e.what());
        return e.exit_code();
    } catch (const std::filesystem::filesystem_error& e) {
        // A refusal of the file system that no stage turned into an InputError: still 3, with the path.
        print_error("weipian: error: cannot use '" + e.path1().string() + "' (" + e.code().message() +
                    "); check the path and that its folder is writable");
        return InputError("").exit_code();
    } catch (const std::exception& e) {
        print_error(std::string("weipian: internal error: ") + e.what());
        return 70;
    }
}
