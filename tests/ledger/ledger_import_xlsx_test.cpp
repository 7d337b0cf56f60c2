// `weipian ledger import X.xlsx` with workbooks as Excel users make them (written here with
// libxlsxwriter, as Excel writes them, not through GDAL): a sheet whose every cell is text,
// a hidden draft sheet next to the real one.
#include <gtest/gtest.h>

#include <xlsxwriter.h>

#include <string>
#include <vector>

#include "pipeline/core/errors.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/log_capture.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using Rows = std::vector<std::vector<std::string>>;

// Writes `rows` (first row = header) as text cells into `sheet`.
void write_text_rows(lxw_worksheet* sheet, const Rows& rows) {
    for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::size_t c = 0; c < rows[r].size(); ++c)
            ASSERT_EQ(worksheet_write_string(sheet, static_cast<lxw_row_t>(r), static_cast<lxw_col_t>(c), rows[r][c].c_str(), nullptr),
                      LXW_NO_ERROR);
}

const Rows kHeader = {{"图斑编号", "核查结果", "整改状态", "日期"}};

Rows sheet_rows(const Rows& body) {
    Rows rows = kHeader;
    rows.insert(rows.end(), body.begin(), body.end());
    return rows;
}

class LedgerImportXlsx : public test::LedgerFixture {
protected:
    void SetUp() override {
        test::LedgerFixture::SetUp();
        if (IsSkipped()) return;
        std::vector<Parcel> parcels;
        parcels.push_back(test::rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100"));
        parcels.push_back(test::rectangle_parcel(100, 0, 30, 10, "稷峰镇", "140824100"));
        parcels.push_back(test::rectangle_parcel(0, 100, 15, 20, "化峪镇", "140824101"));
        feed_ledger(test::ledger_options(location()), parcels, test::gk_zone_37(),
                    test::jishan_context("2023-06-18", "run-A", "2023-04-10"));
    }
    ImportSummary import(const std::vector<ImportRow>& rows) {
        return import_verification(location(), rows, {"张三", "2023-12-31", "book.xlsx"});
    }
};

TEST_P(LedgerImportXlsx, OneSheetTypedAllAsTextIsRead) {
    // Every cell text, ids and dates included (Excel's "Text" cell format, or a sheet pasted
    // from a system export): GDAL's header detection cannot tell the header row from data.
    const fs::path book = dir_ / "all-text.xlsx";
    lxw_workbook* workbook = workbook_new(book.c_str());
    write_text_rows(workbook_add_worksheet(workbook, "核查"),
                    sheet_rows({{"140824-2023-0001", "违法", "整改中", "2023-07-01"},
                                {"140824-2023-0002", "误报", "", "2023-07-02"},
                                {"140824-2023-0003", "合法", "", "2023-07-03"}}));
    ASSERT_EQ(workbook_close(workbook), LXW_NO_ERROR);

    const auto rows = read_import_file(book);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].case_id, "140824-2023-0001");
    EXPECT_EQ(rows[0].rectification, "整改中");
    EXPECT_EQ(rows[2].date, "2023-07-03");
    EXPECT_EQ(rows[0].where, "sheet 核查 line 2");
    EXPECT_EQ(rows[2].where, "sheet 核查 line 4");
    const auto summary = import(rows);
    EXPECT_EQ(summary.applied, 3u);
    EXPECT_EQ(summary.refused, 0u);
    const auto all = cases();
    EXPECT_EQ(find(all, "140824-2023-0001")->status, CaseStatus::Rectifying);
    EXPECT_EQ(find(all, "140824-2023-0002")->status, CaseStatus::FalseAlarm);
    EXPECT_EQ(find(all, "140824-2023-0003")->status, CaseStatus::Legal);
}

TEST_P(LedgerImportXlsx, DateCellsAndNumberCellsStillReadAsText) {
    // Cells typed by Excel (a date-formatted date, a number) next to text: all read as text.
    const fs::path book = dir_ / "typed.xlsx";
    lxw_workbook* workbook = workbook_new(book.c_str());
    lxw_format* date_format = workbook_add_format(workbook);
    format_set_num_format(date_format, "yyyy-mm-dd");
    lxw_worksheet* sheet = workbook_add_worksheet(workbook, "核查");
    write_text_rows(sheet, {{"图斑编号", "核查结果", "日期", "序号"}, {"140824-2023-0001", "违法"}});
    lxw_datetime date = {2023, 7, 1, 0, 0, 0};
    ASSERT_EQ(worksheet_write_datetime(sheet, 1, 2, &date, date_format), LXW_NO_ERROR);
    ASSERT_EQ(worksheet_write_number(sheet, 1, 3, 1, nullptr), LXW_NO_ERROR);
    ASSERT_EQ(workbook_close(workbook), LXW_NO_ERROR);
    const auto rows = read_import_file(book);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(parse_ledger_date(rows[0].date), std::optional<std::string>("2023-07-01")) << rows[0].date;
    EXPECT_EQ(import(rows).applied, 1u);
    EXPECT_EQ(case_of("140824-2023-0001").status, CaseStatus::Illegal);
}

TEST_P(LedgerImportXlsx, HiddenDraftSheetIsSkippedWithAWarningNamingIt) {
    const fs::path book = dir_ / "with-draft.xlsx";
    lxw_workbook* workbook = workbook_new(book.c_str());
    write_text_rows(workbook_add_worksheet(workbook, "核查结果"), sheet_rows({{"140824-2023-0001", "违法", "", "2023-07-01"}}));
    lxw_worksheet* draft = workbook_add_worksheet(workbook, "草稿");
    // The draft says otherwise: imported, it would overrule the visible sheet.
    write_text_rows(draft, sheet_rows({{"140824-2023-0001", "合法", "", "2023-07-05"},
                                       {"140824-2023-0002", "违法", "", "2023-07-05"}}));
    worksheet_hide(draft);
    ASSERT_EQ(workbook_close(workbook), LXW_NO_ERROR);

    test::LogCapture log;
    const auto rows = read_import_file(book);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].where, "sheet 核查结果 line 2");
    EXPECT_EQ(rows[0].result, "违法");
    EXPECT_NE(log.text().find("warning: import: '" + book.string() +
                              "': sheet '草稿' is hidden and is not imported; unhide it in Excel"),
              std::string::npos)
        << log.text();
    EXPECT_EQ(log.text().find("核查结果' is hidden"), std::string::npos);
    const auto summary = import(rows);
    EXPECT_EQ(summary.applied, 1u);
    const auto all = cases();
    EXPECT_EQ(find(all, "140824-2023-0001")->status, CaseStatus::Illegal);
    EXPECT_EQ(find(all, "140824-2023-0002")->status, CaseStatus::ToVerify);
}

TEST_P(LedgerImportXlsx, OnlyHiddenSheetsHaveIdsIsRefusedSayingVisible) {
    const fs::path book = dir_ / "only-hidden.xlsx";
    lxw_workbook* workbook = workbook_new(book.c_str());
    write_text_rows(workbook_add_worksheet(workbook, "说明"), {{"填写说明"}, {"见草稿"}});
    lxw_worksheet* draft = workbook_add_worksheet(workbook, "草稿");
    write_text_rows(draft, sheet_rows({{"140824-2023-0001", "合法", "", "2023-07-05"}}));
    worksheet_hide(draft);
    ASSERT_EQ(workbook_close(workbook), LXW_NO_ERROR);
    test::LogCapture log;
    try {
        read_import_file(book);
        FAIL() << "no InputError";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), "import: no visible sheet of '" + book.string() +
                                             "' has a case-id column in its first row; name one 图斑编号 (or JCBH, case_id)");
    }
    EXPECT_NE(log.text().find("sheet '草稿' is hidden"), std::string::npos) << log.text();
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerImportXlsx,
                         ::testing::Values(test::LedgerBackend::GeoPackage, test::LedgerBackend::PostgreSQL),
                         test::backend_name);

}  // namespace
}  // namespace weipian
