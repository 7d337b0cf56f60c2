// The imagery catalog kept in the ledger's own database (issue 10): its weipian_* tables sit
// beside cases/history/runs, and neither side disturbs the other (GeoPackage and PostgreSQL).
#include <gtest/gtest.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/catalog.hpp"
#include "tests/ledger/ledger_test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::rectangle_parcel;

const fs::path kHsx = fs::path(WEIPIAN_SOURCE_DIR) / "sample_tiles" / "hsx";

class LedgerCatalog : public test::LedgerFixture {};

TEST_P(LedgerCatalog, CatalogAndLedgerShareTheDatabase) {
    LedgerConfig options;
    options.path = location();
    std::vector<Parcel> first;
    first.push_back(rectangle_parcel(0, 0, 20, 20, "稷峰镇", "140824100", 100));
    first.push_back(rectangle_parcel(100, 0, 30, 10, "稷峰镇", "140824100"));
    EXPECT_EQ(feed_ledger(options, first, test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A", "2023-04-10")).new_cases, 2);

    const fs::path inbox = dir_.path() / "inbox";
    fs::create_directories(inbox);
    fs::copy_file(kHsx / "HSX_20230918_r0c0.tif", inbox / "HSX_20230918_r0c0.tif");
    NightlyConfig nightly;
    nightly.inbox = {inbox.string()};
    {
        auto catalog = ImageryCatalog::open(location(), CountyConfig{"稷山县", "140824"});
        ASSERT_EQ(catalog.scan(nightly).registered.size(), 1u);
        catalog.finish_night(catalog.begin_night("2026-12-02", dir_.path() / "out", {catalog.pending()[0].id}), "done", {{"parcels", 2}});
    }
    // The ledger reads its cases, history and runs as before, and takes another run.
    const auto cases_now = cases(true);
    ASSERT_EQ(cases_now.size(), 2u);
    EXPECT_EQ(cases_now[0].case_id, "140824-2023-0001");
    EXPECT_NEAR(cases_now[0].area_m2, 400, 1e-6);
    EXPECT_EQ(runs().size(), 1u);
    std::vector<Parcel> later;
    later.push_back(rectangle_parcel(300, 0, 20, 20, "稷峰镇", "140824100"));
    EXPECT_EQ(feed_ledger(options, later, test::gk_zone_37(), test::jishan_context("2023-10-18", "run-B", "2023-09-18")).new_cases, 1);
    EXPECT_EQ(cases().size(), 3u);
    // And the catalog still has its tile and night.
    auto catalog = ImageryCatalog::open(location(), CountyConfig{"稷山县", "140824"});
    EXPECT_EQ(catalog.tiles().size(), 1u);
    EXPECT_EQ(catalog.nights().at(0).status, "done");
    EXPECT_EQ(catalog.scan(nightly).unchanged, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerCatalog, ::testing::Values(test::LedgerBackend::GeoPackage, test::LedgerBackend::PostgreSQL),
                         test::backend_name);

}  // namespace
}  // namespace weipian
