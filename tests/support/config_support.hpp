#pragma once
// Config tests: the message a configuration text is refused with.
#include <string>

#include "pipeline/core/config.hpp"
#include "pipeline/core/errors.hpp"

namespace weipian::test {

// The ConfigError message Config::parse gives for `yaml` read as if from `origin`; "" when the
// text is accepted (any other exception escapes and fails the test).
inline std::string config_refusal(const std::string& yaml, const std::string& origin = "/data/jishan.yaml") {
    try {
        Config::parse(yaml, origin);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace weipian::test
