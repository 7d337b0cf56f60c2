#include "app/global_options.hpp"

#include <algorithm>
#include <sstream>

#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <oneapi/tbb/version.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/core/version.hpp>

#include "pipeline/core/errors.hpp"

namespace weipian::app {

bool is_gdal_option_name(const std::string& text) {
    if (text.empty() || !(text[0] >= 'A' && text[0] <= 'Z')) return false;
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
}

namespace {

// "KEY=VALUE" with a GDAL option name before the '='.
bool split_key_value(const std::string& text, GdalConfigOption& option) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || !is_gdal_option_name(text.substr(0, eq))) return false;
    option = {text.substr(0, eq), text.substr(eq + 1)};
    return true;
}

}  // namespace

std::vector<GdalConfigOption> take_gdal_config_options(std::vector<std::string>& args,
                                                       const std::vector<std::string>& subcommands) {
    std::vector<GdalConfigOption> options;
    std::vector<std::string> rest;
    bool in_command = false;  // a subcommand name has been seen
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        GdalConfigOption option;
        if (arg.rfind("--config=", 0) == 0) {
            if (split_key_value(arg.substr(9), option)) {
                options.push_back(option);
                continue;
            }
        } else if (arg == "--config") {
            if (i + 1 >= args.size())
                throw ConfigError(
                    "--config needs an argument: --config KEY VALUE sets a GDAL option (e.g. --config GDAL_CACHEMAX 512); "
                    "after a command, --config FILE is its YAML file (weipian run --config county.yaml)");
            const std::string& next = args[i + 1];
            if (split_key_value(next, option)) {
                options.push_back(option);
                ++i;
                continue;
            }
            if (is_gdal_option_name(next)) {
                // Before the command, a command name is never a GDAL option's value: the value is
                // missing (`weipian --config GDAL_CACHEMAX run …`).
                const bool is_command = !in_command && i + 2 < args.size() &&
                                        std::find(subcommands.begin(), subcommands.end(), args[i + 2]) != subcommands.end();
                if (i + 2 >= args.size() || args[i + 2].rfind("--", 0) == 0 || is_command)
                    throw ConfigError("--config " + next + " has no value: give --config " + next + " VALUE or --config " +
                                      next + "=VALUE (a GDAL option); if '" + next + "' is the YAML file, give it as ./" +
                                      next);
                options.push_back({next, args[i + 2]});
                i += 2;
                continue;
            }
            if (!in_command)
                throw ConfigError("--config '" + next +
                                  "' before the command: there --config sets a GDAL option (--config KEY VALUE); give the "
                                  "YAML file after the command (weipian run --config " + next + ")");
        } else if (!in_command && arg.rfind("-", 0) != 0 &&
                   std::find(subcommands.begin(), subcommands.end(), arg) != subcommands.end()) {
            in_command = true;
        }
        rest.push_back(arg);
    }
    args = std::move(rest);
    return options;
}

std::string version_text() {
    std::ostringstream out;
    out << "weipian " << WEIPIAN_VERSION << "\n";
    out << "GDAL " << GDALVersionInfo("RELEASE_NAME") << "\n";
    int major = 0, minor = 0, patch = 0;
    OSRGetPROJVersion(&major, &minor, &patch);
    out << "PROJ " << major << "." << minor << "." << patch << "\n";
    if (OGRGetGEOSVersion(&major, &minor, &patch))
        out << "GEOS " << major << "." << minor << "." << patch << "\n";
    else
        out << "GEOS none (GDAL was built without GEOS)\n";
    out << "OpenCV " << cv::getVersionString() << "\n";
    out << "TBB " << TBB_runtime_version();  // CLI11 ends the last line
    return out.str();
}

}  // namespace weipian::app
