#include "pipeline/core/dates.hpp"

#include <cstdio>
#include <ctime>
#include <vector>

#include "pipeline/core/text.hpp"

namespace weipian {
namespace {

bool leap(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap(year) ? 29 : days[month - 1];
}

std::optional<std::string> make_date(int year, int month, int day) {
    if (year < 1900 || year > 2999 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return std::nullopt;
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", year, month, day);
    return std::string(buffer);
}

// Civil date of a day count since 1970-01-01 (H. Hinnant's algorithm).
std::optional<std::string> date_of_days(long long z) {
    z += 719468;
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const long long doe = z - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    const int year = static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0));
    return make_date(year, month, day);
}

std::string utc_or_local(const char* format, bool utc) {
    const std::time_t now = std::time(nullptr);
    std::tm parts{};
    if (utc)
        gmtime_r(&now, &parts);
    else
        localtime_r(&now, &parts);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, format, &parts);
    return buffer;
}

}  // namespace

std::optional<std::string> parse_ledger_date(const std::string& raw) {
    std::string text = trim(raw);
    if (text.empty()) return std::nullopt;
    // An Excel day number, possibly with a time fraction (45199, 45199.5).
    const auto dot = text.find('.');
    const std::string whole = dot == std::string::npos ? text : text.substr(0, dot);
    const std::string fraction = dot == std::string::npos ? std::string() : text.substr(dot + 1);
    if (all_digits(whole) && whole.size() <= 5 && (dot == std::string::npos || all_digits(fraction))) {
        const long long serial = std::stoll(whole);
        // Only 2000-01-01 … 2099-12-31, so that a bare year such as "2023" is not read as a day.
        // Day 0 of Excel's 1900 system is 1899-12-30 once its phantom 1900-02-29 is passed.
        if (serial < 36526 || serial > 73050) return std::nullopt;
        return date_of_days(serial - 25569);
    }
    if (all_digits(text) && text.size() == 8)
        return make_date(std::stoi(text.substr(0, 4)), std::stoi(text.substr(4, 2)), std::stoi(text.substr(6, 2)));
    // Drop a time of day ("2023-09-30 00:00:00", "2023-09-30T08:00").
    if (const auto space = text.find_first_of(" T"); space != std::string::npos) text = text.substr(0, space);
    std::vector<std::string> parts(1);
    std::size_t i = 0;
    while (i < text.size()) {
        const unsigned char ch = static_cast<unsigned char>(text[i]);
        if (ch >= '0' && ch <= '9') {
            parts.back() += text[i];
            ++i;
            continue;
        }
        std::size_t width = 1;
        if (ch == '-' || ch == '/' || ch == '.') {
            width = 1;
        } else if (text.compare(i, 3, "年") == 0 || text.compare(i, 3, "月") == 0) {
            width = 3;
        } else if (text.compare(i, 3, "日") == 0 && i + 3 == text.size()) {
            break;
        } else {
            return std::nullopt;
        }
        parts.emplace_back();
        i += width;
    }
    if (parts.size() != 3 || parts[0].size() != 4 || parts[1].empty() || parts[1].size() > 2 || parts[2].empty() ||
        parts[2].size() > 2)
        return std::nullopt;
    return make_date(std::stoi(parts[0]), std::stoi(parts[1]), std::stoi(parts[2]));
}

bool is_iso_date(const std::string& text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
    const auto date = parse_ledger_date(text);
    return date && *date == text;
}

std::string today_date() {
    return utc_or_local("%Y-%m-%d", false);
}

std::string now_utc() {
    return utc_or_local("%Y-%m-%dT%H:%M:%SZ", true);
}

std::optional<std::pair<int, int>> parse_year_range(const std::string& raw) {
    const std::string text = trim(raw);
    for (const char* dash : {"-", "—", "–", "~"}) {
        const auto at = text.find(dash);
        if (at == std::string::npos) continue;
        const std::string first = trim(text.substr(0, at)), last = trim(text.substr(at + std::string(dash).size()));
        if (first.size() != 4 || last.size() != 4 || !all_digits(first) || !all_digits(last)) return std::nullopt;
        const int a = std::stoi(first), b = std::stoi(last);
        if (a > b) return std::nullopt;
        return std::make_pair(a, b);
    }
    if (text.size() != 4 || !all_digits(text)) return std::nullopt;
    return std::make_pair(std::stoi(text), std::stoi(text));
}

}  // namespace weipian
