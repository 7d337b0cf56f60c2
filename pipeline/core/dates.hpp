#pragma once
// Calendar dates: ISO YYYY-MM-DD on the real calendar, what people write in spreadsheets,
// year ranges, and now/today. Used by the configuration (epoch dates, milestones) and the ledger.
#include <optional>
#include <string>
#include <utility>

namespace weipian {

// A calendar date as YYYY-MM-DD from what people write in spreadsheets: 2023-09-30, 2023/9/30,
// 2023.9.30, 2023年9月30日, 20230930, or an Excel day number between 2000 and 2099 (45199 =
// 2023-09-30, 1900 date system); a time of day is dropped. Empty optional when it is none of
// these or not a real day (2023-02-30).
std::optional<std::string> parse_ledger_date(const std::string& text);

// True when `text` is exactly YYYY-MM-DD and a real day (2023-02-29 and 2023-13-45 are not;
// 2023/09/18 is not ISO). ISO dates compare in time order as strings.
bool is_iso_date(const std::string& text);

// Today's local date, YYYY-MM-DD; and now in UTC, YYYY-MM-DDTHH:MM:SSZ.
std::string today_date();
std::string now_utc();

// "2018-2021", "2018—2021", "2018–2021" or "2022" as (first, last) years; empty when not so.
std::optional<std::pair<int, int>> parse_year_range(const std::string& text);

}  // namespace weipian
