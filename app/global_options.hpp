#pragma once
// What every command takes before (or after) its name: GDAL configuration options
// (`--config KEY VALUE`), the log level (-q, -v), the log file (--log FILE), and --version.
#include <string>
#include <utility>
#include <vector>

namespace weipian::app {

// A GDAL configuration option given on the command line (CPLSetConfigOption(key, value)).
struct GdalConfigOption {
    std::string key, value;
};

// True for a GDAL configuration option name: an upper-case letter, then upper-case letters,
// digits and underscores (GDAL_CACHEMAX, CPL_DEBUG, OGR_SQLITE_SYNCHRONOUS). A YAML file never
// looks like one when it has an extension or a folder (county.yaml, ./COUNTY).
bool is_gdal_option_name(const std::string& text);

// Removes the GDAL configuration options from `args` (argv without the program name, in order)
// and returns them, in order. Taken wherever they stand, as GDAL's utilities take them:
//   --config KEY VALUE, --config KEY=VALUE, --config=KEY=VALUE  (KEY: is_gdal_option_name)
// Any other `--config X` is left in place: the subcommand's YAML file (`run --config county.yaml`).
// `subcommands` are the command names; a `--config FILE` before the first of them is refused
// (there it can only be a GDAL option). Throws ConfigError (one line naming the fix) for a KEY
// without a value, a missing argument, or a YAML file given before the subcommand.
std::vector<GdalConfigOption> take_gdal_config_options(std::vector<std::string>& args,
                                                       const std::vector<std::string>& subcommands);

// `weipian --version`: weipian's version, then the GDAL, PROJ, GEOS, OpenCV and TBB versions
// this process runs with, one "name version" per line.
std::string version_text();

}  // namespace weipian::app
