#include "pipeline/core/location.hpp"

namespace weipian {

bool is_postgres_ledger(const std::string& location) {
    return location.rfind("PG:", 0) == 0 || location.rfind("postgresql://", 0) == 0 ||
           location.rfind("postgres://", 0) == 0;
}

std::string redact_ledger_location(const std::string& location) {
    if (!is_postgres_ledger(location)) return location;
    std::string out = location;
    // URI user:password@host
    if (const auto scheme = out.find("://"); scheme != std::string::npos) {
        const auto at = out.find('@', scheme + 3);
        const auto colon = out.find(':', scheme + 3);
        if (at != std::string::npos && colon != std::string::npos && colon < at)
            out.replace(colon + 1, at - colon - 1, "***");
    }
    // password=… as a keyword (PG:…) or a URI parameter.
    for (std::size_t at = out.find("password="); at != std::string::npos; at = out.find("password=", at + 1)) {
        const std::size_t start = at + 9;
        std::size_t end = start;
        if (end < out.size() && out[end] == '\'') {
            end = out.find('\'', end + 1);
            end = end == std::string::npos ? out.size() : end + 1;
        } else {
            while (end < out.size() && out[end] != ' ' && out[end] != '&') ++end;
        }
        out.replace(start, end - start, "***");
    }
    return out;
}

}  // namespace weipian
