#pragma once
// Text helpers shared by every part: trimming (ASCII blanks and the full-width space U+3000),
// ASCII lower case, joining, digit checks. One copy each; nothing here knows about GDAL or YAML.
#include <string>
#include <string_view>
#include <vector>

namespace weipian {

// `text` without surrounding blanks: ASCII whitespace and the full-width space U+3000 that
// Chinese spreadsheets often carry.
std::string trim(std::string_view text);

// ASCII letters lowered; other bytes (UTF-8 included) unchanged.
std::string lower_ascii(std::string text);

// The items separated by `separator` ("a, b, c"); empty for no items.
std::string join(const std::vector<std::string>& items, std::string_view separator);

// True for a non-empty string of ASCII digits only.
bool all_digits(std::string_view text);

// True for a 6-digit administrative (county) code such as "140824".
bool is_county_code(std::string_view text);

// True when `text` is valid UTF-8 (CPLIsUTF8).
bool is_utf8(const std::string& text);

// `text` (GBK / CP936 bytes, what Chinese desktop GIS writes into a .dbf without .cpg) as UTF-8
// (CPLRecode); bytes that are not GBK either are dropped.
std::string gbk_to_utf8(const std::string& text);

}  // namespace weipian
