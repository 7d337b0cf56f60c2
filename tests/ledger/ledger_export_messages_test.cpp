// Every message of pipeline/ledger_export.cpp a user can reach: an --out that cannot be written
// in each format, and a ledger CRS without longitude/latitude. Each names the file.
#include <gtest/gtest.h>

#include "pipeline/core/errors.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

using test::message_of;
namespace fs = std::filesystem;

class LedgerExportMessages : public ::testing::Test {
protected:
    void SetUp() override {
        std::vector<Parcel> parcels;
        parcels.push_back(test::rectangle_parcel(0, 0, 20, 30, "稷峰镇", "140824100"));
        feed_ledger(test::ledger_options(ledger), parcels, test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A"));
    }
    std::string refusal(ExportFormat format, const fs::path& out) {
        return message_of<InputError>([&] { export_ledger(ledger, format, out); });
    }
    test::TempDir dir;
    std::string ledger = (dir / "ledger.gpkg").string();
};

TEST_F(LedgerExportMessages, WrongExtensionSaysWhichOneToUse) {
    EXPECT_EQ(message_of<ConfigError>([&] { export_ledger(ledger, ExportFormat::Kml, dir / "cases.kmz"); }),
              "export: --out '" + (dir / "cases.kmz").string() + "' does not end in .kml; give a path ending in .kml");
}

TEST_F(LedgerExportMessages, XlsxInAFolderNobodyMayWrite) {
    const std::string m = refusal(ExportFormat::Xlsx, "/proc/weipian-cases.xlsx");
    EXPECT_CONTAINS(m, "export: cannot write '/proc/weipian-cases.xlsx': libxlsxwriter: ");
    EXPECT_CONTAINS(m, "; check that the folder is writable");
}

TEST_F(LedgerExportMessages, KmlInAFolderNobodyMayWrite) {
    const std::string m = refusal(ExportFormat::Kml, "/proc/weipian-cases.kml");
    EXPECT_CONTAINS(m, "export: cannot write '/proc/weipian-cases.kml': GDAL cannot create the KML file (");
    EXPECT_CONTAINS(m, "; check that the folder is writable");
}

TEST_F(LedgerExportMessages, ShapefileUnderAFile) {
    test::write_text(dir / "notes.txt", "field notes\n");
    const fs::path out = dir / "notes.txt" / "cases.shp";
    const std::string m = refusal(ExportFormat::Shapefile, out);
    EXPECT_CONTAINS(m, "export: '" + (dir / "notes.txt").string() + "' is a file, not a folder; give a path in a folder");
}

TEST_F(LedgerExportMessages, ShapefileWhoseSiblingIsAFolder) {
    fs::create_directories(dir / "cases.dbf" / "x");
    const std::string m = refusal(ExportFormat::Shapefile, dir / "cases.shp");
    EXPECT_CONTAINS(m, "export: '" + (dir / "cases.dbf").string() + "' is a folder, not a file; give another path (weipian never replaces a folder)");
    EXPECT_FALSE(fs::exists(dir / "cases.shp"));  // the .shp moves last: no half Shapefile under the name
}

TEST_F(LedgerExportMessages, OutThatIsAFolder) {
    fs::create_directories(dir / "cases.kml" / "old");
    const std::string m = refusal(ExportFormat::Kml, dir / "cases.kml");
    EXPECT_CONTAINS(m, "export: '" + (dir / "cases.kml").string() + "' is a folder, not a file; give a file path (weipian never replaces a folder)");
    EXPECT_TRUE(fs::exists(dir / "cases.kml" / "old"));
    for (const auto& entry : fs::directory_iterator(dir.path()))
        EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
}

TEST(LedgerExportCrsMessages, LedgerCrsWithoutLongitudeLatitude) {
    test::TempDir dir;
    const std::string ledger = (dir / "site.gpkg").string();
    OGRSpatialReference site_grid;
    site_grid.SetLocalCS("site grid");
    LedgerStore::open(ledger, LedgerStore::Mode::UpdateOrCreate, &site_grid);
    EXPECT_EQ(message_of<InputError>([&] { export_ledger(ledger, ExportFormat::Kml, dir / "cases.kml"); }),
              "export: cannot transform the ledger's CRS to longitude/latitude; check its CRS");
}

}  // namespace
}  // namespace weipian
