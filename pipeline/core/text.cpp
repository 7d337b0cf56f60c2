#include "pipeline/core/text.hpp"

#include <cpl_error.h>
#include <cpl_string.h>

#include <cctype>

namespace weipian {

std::string trim(std::string_view text) {
    static constexpr std::string_view full_width_space = "\xE3\x80\x80";
    static constexpr std::string_view blanks = " \t\r\n\v\f";
    std::size_t first = 0, last = text.size();
    for (bool trimmed = true; trimmed;) {
        trimmed = false;
        while (first < last && blanks.find(text[first]) != std::string_view::npos) ++first, trimmed = true;
        while (last > first && blanks.find(text[last - 1]) != std::string_view::npos) --last, trimmed = true;
        if (last - first >= 3 && text.substr(first, 3) == full_width_space) first += 3, trimmed = true;
        if (last - first >= 3 && text.substr(last - 3, 3) == full_width_space) last -= 3, trimmed = true;
    }
    return std::string(text.substr(first, last - first));
}

std::string lower_ascii(std::string text) {
    for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return text;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += separator;
        out += items[i];
    }
    return out;
}

bool all_digits(std::string_view text) {
    if (text.empty()) return false;
    for (const char ch : text)
        if (ch < '0' || ch > '9') return false;
    return true;
}

bool is_county_code(std::string_view text) { return text.size() == 6 && all_digits(text); }

bool is_utf8(const std::string& text) { return CPLIsUTF8(text.c_str(), static_cast<int>(text.size())) != 0; }

std::string gbk_to_utf8(const std::string& text) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    char* recoded = CPLRecode(text.c_str(), "CP936", CPL_ENC_UTF8);
    CPLPopErrorHandler();
    std::string out = recoded ? recoded : "";
    CPLFree(recoded);
    return out;
}

}  // namespace weipian
