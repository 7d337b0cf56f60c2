#pragma once
// Command-line options that mirror a configuration key take their range and help from the
// key's one declaration (pipeline/core/config.hpp, config_key), never a copy.
#include <string>
#include <string_view>
#include <type_traits>

#include <CLI/CLI.hpp>

#include "pipeline/core/config.hpp"

namespace weipian::app {

// Adds `--name` bound to `value`, described as "<help> (config key <key>)" and checked against
// the key's range when it is numeric.
template <typename T>
CLI::Option* add_config_option(CLI::App* cmd, const std::string& name, T& value, std::string_view key,
                               const std::string& help_prefix = {}) {
    const ConfigKey& k = config_key(key);
    CLI::Option* option = cmd->add_option(name, value, (help_prefix.empty() ? k.help : help_prefix + ": " + k.help) +
                                                           " (config key " + k.key + ", " + k.range + ")");
    if (k.numeric) {
        if constexpr (std::is_integral_v<T>)
            option->check(CLI::Range(static_cast<T>(k.lo), static_cast<T>(k.hi)));
        else
            option->check(CLI::Range(k.lo, k.hi));
    }
    return option;
}

}  // namespace weipian::app
