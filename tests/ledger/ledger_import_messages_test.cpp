// Every message of pipeline/ledger_import.cpp that refuses a whole file: missing, unreadable,
// empty, not a workbook, no case-id column. Each names the file and says what to give instead.
#include <gtest/gtest.h>

#include <unistd.h>

#include <ogrsf_frmts.h>

#include "pipeline/core/errors.hpp"
#include "ledger/ledger_io.hpp"
#include "tests/support/message_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

using test::message_of;
namespace fs = std::filesystem;

std::string refusal(const fs::path& path) {
    return message_of<InputError>([&] { read_import_file(path); });
}

TEST(LedgerImportMessages, MissingFile) {
    test::TempDir dir;
    EXPECT_EQ(refusal(dir / "核查.csv"), "import: '" + (dir / "核查.csv").string() + "' does not exist; check the path");
}

TEST(LedgerImportMessages, UnreadableFile) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
    test::TempDir dir;
    test::write_text(dir / "核查.csv", "图斑编号,核查结果\n");
    fs::permissions(dir / "核查.csv", fs::perms::none);
    EXPECT_EQ(refusal(dir / "核查.csv"), "import: cannot read '" + (dir / "核查.csv").string() + "'; check the path");
}

TEST(LedgerImportMessages, EmptySheet) {
    test::TempDir dir;
    test::write_text(dir / "核查.csv", "\xEF\xBB\xBF\r\n");
    EXPECT_EQ(refusal(dir / "核查.csv"), "import: '" + (dir / "核查.csv").string() + "' is empty; give a sheet with a header row");
}

TEST(LedgerImportMessages, NeitherCsvNorXlsx) {
    test::TempDir dir;
    test::write_text(dir / "核查.xls", "old Excel");
    EXPECT_EQ(refusal(dir / "核查.xls"),
              "import: '" + (dir / "核查.xls").string() + "' is neither .csv nor .xlsx; save the sheet as one of them");
}

TEST(LedgerImportMessages, FileNamedXlsxThatIsNoWorkbook) {
    test::TempDir dir;
    test::write_text(dir / "核查.xlsx", "图斑编号,核查结果\n140824-2023-0001,合法\n");
    const std::string m = refusal(dir / "核查.xlsx");
    EXPECT_CONTAINS(m, "import: cannot read '" + (dir / "核查.xlsx").string() + "' as an XLSX workbook (");
    EXPECT_CONTAINS(m, "); save it as .xlsx or .csv");
}

TEST(LedgerImportMessages, WorkbookWithoutACaseIdColumn) {
    test::TempDir dir;
    const fs::path book = dir / "核查.xlsx";
    {
        GDALAllRegister();
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("XLSX")->Create(book.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        ASSERT_TRUE(ds);
        OGRLayer* sheet = ds->CreateLayer("核查", nullptr, wkbNone, nullptr);
        OGRFieldDefn name("名称", OFTString), result("核查结果", OFTString);
        sheet->CreateField(&name);
        sheet->CreateField(&result);
        OGRFeature row(sheet->GetLayerDefn());
        row.SetField(0, "某地块");
        row.SetField(1, "合法");
        sheet->CreateFeature(&row);
    }
    const std::string m = refusal(book);
    EXPECT_CONTAINS(m, "import: no sheet of '" + book.string() + "'");
    EXPECT_CONTAINS(m, "has a case-id column in its first row; name one 图斑编号 (or JCBH, case_id)");
}

TEST(LedgerImportMessages, CsvWithoutACaseIdColumn) {
    test::TempDir dir;
    test::write_text(dir / "核查.csv", "名称,核查结果\n某地块,合法\n");
    EXPECT_EQ(refusal(dir / "核查.csv"), "import: '" + (dir / "核查.csv").string() +
                                            "' has no case-id column in its first line; name one 图斑编号 (or JCBH, case_id)");
}

}  // namespace
}  // namespace weipian
