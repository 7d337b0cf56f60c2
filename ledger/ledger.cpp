#include "ledger/ledger.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/township_summary.hpp"

namespace weipian {

namespace {

std::string lower_ascii(std::string text) {
    for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return text;
}

bool all_digits(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

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

struct StatusName {
    CaseStatus status;
    const char* label;
    const char* english;
};

constexpr std::array<StatusName, 7> kStatusNames = {{
    {CaseStatus::ToVerify, "待核查", "to_verify"},
    {CaseStatus::Legal, "合法", "legal"},
    {CaseStatus::FalseAlarm, "误报", "false_alarm"},
    {CaseStatus::Illegal, "违法", "illegal"},
    {CaseStatus::Rectifying, "整改中", "rectifying"},
    {CaseStatus::Rectified, "已整改", "rectified"},
    {CaseStatus::Closed, "销号", "closed"},
}};

}  // namespace

std::string trim_cell(const std::string& text) {
    static const std::string full_width_space = "\xE3\x80\x80";
    std::size_t first = 0, last = text.size();
    for (bool trimmed = true; trimmed;) {
        trimmed = false;
        while (first < last && std::string(" \t\r\n").find(text[first]) != std::string::npos) ++first, trimmed = true;
        while (last > first && std::string(" \t\r\n").find(text[last - 1]) != std::string::npos) --last, trimmed = true;
        if (last - first >= 3 && text.compare(first, 3, full_width_space) == 0) first += 3, trimmed = true;
        if (last - first >= 3 && text.compare(last - 3, 3, full_width_space) == 0) last -= 3, trimmed = true;
    }
    return text.substr(first, last - first);
}

std::string township_label(const std::string& name, const std::string& code) {
    return name == kUnassignedTownship && code.empty() ? std::string(kUnassignedTownshipLabel) : name;
}

std::optional<std::string> parse_ledger_date(const std::string& raw) {
    std::string text = trim_cell(raw);
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

std::string today_date() {
    return utc_or_local("%Y-%m-%d", false);
}

std::string now_utc() {
    return utc_or_local("%Y-%m-%dT%H:%M:%SZ", true);
}

std::optional<std::pair<int, int>> parse_year_range(const std::string& raw) {
    const std::string text = trim_cell(raw);
    for (const char* dash : {"-", "—", "–", "~"}) {
        const auto at = text.find(dash);
        if (at == std::string::npos) continue;
        const std::string first = trim_cell(text.substr(0, at)), last = trim_cell(text.substr(at + std::string(dash).size()));
        if (first.size() != 4 || last.size() != 4 || !all_digits(first) || !all_digits(last)) return std::nullopt;
        const int a = std::stoi(first), b = std::stoi(last);
        if (a > b) return std::nullopt;
        return std::make_pair(a, b);
    }
    if (text.size() != 4 || !all_digits(text)) return std::nullopt;
    return std::make_pair(std::stoi(text), std::stoi(text));
}

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

const char* status_label(CaseStatus status) {
    for (const auto& name : kStatusNames)
        if (name.status == status) return name.label;
    return "?";
}

std::optional<CaseStatus> parse_status(const std::string& raw) {
    const std::string text = lower_ascii(trim_cell(raw));
    for (const auto& name : kStatusNames)
        if (text == name.label || text == name.english) return name.status;
    return std::nullopt;
}

const std::vector<CaseStatus>& allowed_next(CaseStatus from) {
    using S = CaseStatus;
    static const std::vector<S> to_verify = {S::Legal, S::FalseAlarm, S::Illegal};
    static const std::vector<S> legal = {S::Closed, S::FalseAlarm, S::Illegal};
    static const std::vector<S> false_alarm = {S::Closed, S::Legal, S::Illegal};
    static const std::vector<S> illegal = {S::Rectifying, S::Legal, S::FalseAlarm};
    static const std::vector<S> rectifying = {S::Rectified};
    static const std::vector<S> rectified = {S::Closed, S::Rectifying};
    static const std::vector<S> closed = {};
    switch (from) {
        case S::ToVerify: return to_verify;
        case S::Legal: return legal;
        case S::FalseAlarm: return false_alarm;
        case S::Illegal: return illegal;
        case S::Rectifying: return rectifying;
        case S::Rectified: return rectified;
        case S::Closed: return closed;
    }
    return closed;
}

bool transition_allowed(CaseStatus from, CaseStatus to) {
    const auto& next = allowed_next(from);
    return std::find(next.begin(), next.end(), to) != next.end();
}

std::string refused_transition_message(const std::string& case_id, CaseStatus from, CaseStatus to) {
    std::string message = "case " + case_id + ": " + status_label(from) + " → " + status_label(to) + " is not allowed; ";
    const auto& next = allowed_next(from);
    if (next.empty()) return message + status_label(from) + " is final, no status may follow it";
    message += std::string("from ") + status_label(from) + " the allowed next statuses are ";
    for (std::size_t i = 0; i < next.size(); ++i) message += (i ? ", " : "") + std::string(status_label(next[i]));
    return message;
}

std::vector<std::string> RectificationPlan::missing() const {
    std::vector<std::string> out;
    if (trim_cell(measures).empty()) out.emplace_back("整改措施");
    if (trim_cell(deadline).empty()) out.emplace_back("整改时限");
    if (trim_cell(responsible).empty()) out.emplace_back("责任人");
    return out;
}

std::string format_case_id(const std::string& county_code, int year, int seq) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "-%d-%04d", year, seq);
    return county_code + buffer;
}

std::shared_ptr<const OGRGeometry> share_geometry(OGRGeometry* geometry) {
    return std::shared_ptr<const OGRGeometry>(geometry, [](const OGRGeometry* g) {
        OGRGeometryFactory::destroyGeometry(const_cast<OGRGeometry*>(g));
    });
}

FeedContext feed_context_for(const Config& config, std::string run_id) {
    FeedContext context;
    context.county_code = config.county.code;
    context.qsx = config.before.date;
    context.hsx = config.after.date;
    context.run_id = std::move(run_id);
    context.cultivated_assessed = config.overlay.cultivated.configured();
    return context;
}

nlohmann::json LedgerFeedSummary::to_json() const {
    return {{"ledger", ledger},
            {"run_id", run_id},
            {"already_fed", already_fed},
            {"parcels", parcels},
            {"new_cases", new_cases},
            {"updated_cases", updated_cases},
            {"flagged_cases", flagged_cases},
            {"new_case_ids", new_case_ids}};
}

void apply_ledger_override(Config& config, const std::string& ledger) {
    if (ledger.empty()) return;
    config.ledger.path = ledger;
    config.validate();
}

}  // namespace weipian
