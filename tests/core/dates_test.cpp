// Dates: what people write in spreadsheets read as ISO dates, and ISO dates on the real calendar.
#include "pipeline/core/dates.hpp"

#include <gtest/gtest.h>

#include <string>

namespace weipian {
namespace {

TEST(LedgerDates, SpreadsheetSpellingsBecomeIsoDates) {
    EXPECT_EQ(parse_ledger_date("2023-09-30"), "2023-09-30");
    EXPECT_EQ(parse_ledger_date("2023/9/30"), "2023-09-30");
    EXPECT_EQ(parse_ledger_date("2023.9.3"), "2023-09-03");
    EXPECT_EQ(parse_ledger_date("2023年9月30日"), "2023-09-30");
    EXPECT_EQ(parse_ledger_date("20230930"), "2023-09-30");
    EXPECT_EQ(parse_ledger_date("45199"), "2023-09-30");  // Excel day number
    EXPECT_EQ(parse_ledger_date("45199.75"), "2023-09-30");
    EXPECT_EQ(parse_ledger_date("2023/09/30 00:00:00"), "2023-09-30");
    EXPECT_EQ(parse_ledger_date("2024-02-29"), "2024-02-29");
    for (const char* bad : {"2023-02-29", "2023-13-01", "2023-9", "30/09/2023", "2023", "soon", "", "2023-09-30x"})
        EXPECT_FALSE(parse_ledger_date(bad)) << bad;
}

TEST(Dates, IsoDateIsExactlyYyyyMmDdOnTheCalendar) {
    EXPECT_TRUE(is_iso_date("2023-09-18"));
    EXPECT_TRUE(is_iso_date("2024-02-29"));
    for (const char* bad : {"2023-13-45", "2023/09/18", "2023-02-29", "2023-9-18", "20230918", "2023-09-18T00:00", "",
                            "45199", "2023-00-10", "2023-04-31"})
        EXPECT_FALSE(is_iso_date(bad)) << bad;
}

}  // namespace
}  // namespace weipian
