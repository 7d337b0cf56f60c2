// Every message of pipeline/ledger_store.cpp a user can reach: a ledger that cannot be created,
// opened, or is not a weipian ledger; each names the ledger and says what to do.
#include "ledger/ledger_store.hpp"

#include <gtest/gtest.h>

#include "pipeline/core/errors.hpp"
#include "ledger/ledger.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

using test::message_of;
namespace fs = std::filesystem;

// A ledger with one case (140824-2023-0001) at `path`.
void seed_ledger(const std::string& path) {
    std::vector<Parcel> parcels;
    parcels.push_back(test::rectangle_parcel(0, 0, 20, 30, "稷峰镇", "140824100"));
    feed_ledger(test::ledger_options(path), parcels, test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A"));
}

// Copies the tables of the GeoPackage ledger `from` into a new GeoPackage `to`, leaving out
// column `drop` of table 'cases' and, when `cases_crs` is false, the CRS of 'cases'.
void copy_tables(const fs::path& from, const fs::path& to, const std::string& drop, bool cases_crs) {
    GDALDatasetUniquePtr source(GDALDataset::Open(from.c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(source);
    GDALDatasetUniquePtr target(GetGDALDriverManager()->GetDriverByName("GPKG")->Create(to.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    ASSERT_TRUE(target);
    for (const char* name : {"cases", "history", "runs"}) {
        OGRLayer* layer = source->GetLayerByName(name);
        ASSERT_NE(layer, nullptr) << name;
        const bool cases = std::string(name) == "cases";
        OGRLayer* copy = target->CreateLayer(name, cases && cases_crs ? layer->GetSpatialRef() : nullptr, layer->GetGeomType(), nullptr);
        ASSERT_NE(copy, nullptr) << name;
        OGRFeatureDefn* definition = layer->GetLayerDefn();
        for (int i = 0; i < definition->GetFieldCount(); ++i)
            if (!(cases && drop == definition->GetFieldDefn(i)->GetNameRef())) copy->CreateField(definition->GetFieldDefn(i));
    }
}

TEST(LedgerStoreMessages, EmptyLocationSaysHowToGiveOne) {
    EXPECT_EQ(message_of<ConfigError>([] { LedgerStore::open("", LedgerStore::Mode::Read); }),
              "ledger: no ledger given; set ledger.path in the config or pass --ledger");
}

TEST(LedgerStoreMessages, FolderThatCannotBeCreated) {
    test::TempDir dir;
    test::write_text(dir / "notes.txt", "field notes\n");
    const fs::path ledger = dir / "notes.txt" / "ledger.gpkg";
    const auto srs = test::gk_zone_37();
    const std::string m = message_of<InputError>([&] { LedgerStore::open(ledger.string(), LedgerStore::Mode::UpdateOrCreate, &srs); });
    EXPECT_EQ(m, "ledger: '" + (dir / "notes.txt").string() + "' is a file, not a folder; give a path in a folder");
}

TEST(LedgerStoreMessages, GeoPackageThatCannotBeCreated) {
    // Nobody, not even root, creates files in /proc.
    const std::string ledger = "/proc/weipian-ledger-messages-test.gpkg";
    const auto srs = test::gk_zone_37();
    const std::string m = message_of<InputError>([&] { LedgerStore::open(ledger, LedgerStore::Mode::UpdateOrCreate, &srs); });
    EXPECT_CONTAINS(m, "ledger '" + ledger + "': cannot create the GeoPackage (");
    EXPECT_CONTAINS(m, "); check that the folder is writable");
}

TEST(LedgerStoreMessages, FileThatIsNotAGeoPackage) {
    test::TempDir dir;
    const fs::path ledger = dir / "ledger.gpkg";
    test::write_text(ledger, "图斑编号,核查结果\n");
    const std::string m = message_of<InputError>([&] { LedgerStore::open(ledger.string(), LedgerStore::Mode::Read); });
    EXPECT_CONTAINS(m, "ledger '" + ledger.string() + "': cannot open it (");
    EXPECT_CONTAINS(m, "); check that it is a GeoPackage and readable");
}

TEST(LedgerStoreMessages, PostgreSQLServerThatDoesNotAnswer) {
    // Port 1 on the loopback: connection refused at once. The password is not repeated.
    const std::string ledger = "PG:host=127.0.0.1 port=1 dbname=ledger user=weipian password=secret connect_timeout=2";
    const std::string m = message_of<InputError>([&] { LedgerStore::open(ledger, LedgerStore::Mode::Read); });
    EXPECT_CONTAINS(m, "ledger 'PG:host=127.0.0.1 port=1 dbname=ledger user=weipian password=*** connect_timeout=2': cannot open it (");
    EXPECT_CONTAINS(m, "check the connection string and that the server runs");
    EXPECT_EQ(m.find("secret"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
}

TEST(LedgerStoreMessages, PostgreSQLSchemaWithoutLedgerTables) {
    if (!test::postgres_base()) GTEST_SKIP() << test::kNoPostgresReason;
    test::TempDir dir;
    test::ScratchLedger empty(test::LedgerBackend::PostgreSQL, dir.path());
    const std::string m = message_of<InputError>([&] { LedgerStore::open(empty.location(), LedgerStore::Mode::Read); });
    EXPECT_CONTAINS(m, " has no ledger tables (cases, history, runs); a run with this ledger creates them");
    EXPECT_EQ(m.rfind("ledger '", 0), 0u) << m;
}

TEST(LedgerStoreMessages, TableWithoutAColumnIsNotALedger) {
    test::TempDir dir;
    seed_ledger((dir / "ledger.gpkg").string());
    copy_tables(dir / "ledger.gpkg", dir / "old.gpkg", "status", true);
    EXPECT_EQ(message_of<InputError>([&] { LedgerStore::open((dir / "old.gpkg").string(), LedgerStore::Mode::Read); }),
              "ledger '" + (dir / "old.gpkg").string() +
                  "' is not a weipian ledger: table 'cases' has no column 'status'; give the ledger a run created, or a new path");
}

TEST(LedgerStoreMessages, CasesWithoutACrs) {
    test::TempDir dir;
    seed_ledger((dir / "ledger.gpkg").string());
    copy_tables(dir / "ledger.gpkg", dir / "nocrs.gpkg", "", false);
    EXPECT_EQ(message_of<InputError>([&] { LedgerStore::open((dir / "nocrs.gpkg").string(), LedgerStore::Mode::Read); }),
              "ledger '" + (dir / "nocrs.gpkg").string() + "': table 'cases' has no CRS; it was not created by weipian");
}

TEST(LedgerStoreMessages, CaseWithAnUnknownStatusNamesTheCaseAndTheStatuses) {
    test::TempDir dir;
    const fs::path ledger = dir / "ledger.gpkg";
    seed_ledger(ledger.string());
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(ledger.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE));
        ASSERT_TRUE(ds);
        ds->ReleaseResultSet(ds->ExecuteSQL("UPDATE cases SET status = '待定'", nullptr, nullptr));
    }
    EXPECT_EQ(message_of<InputError>([&] { LedgerStore::open(ledger.string(), LedgerStore::Mode::Read)->load_cases(); }),
              "ledger '" + ledger.string() +
                  "': case 140824-2023-0001 has an unknown status '待定'; fix it to one of 待核查, 合法, 误报, 违法, 整改中, 已整改, 销号");
}

}  // namespace
}  // namespace weipian
