// Every message of pipeline/ledger_feed.cpp a user can reach: no ledger, and parcels whose CRS
// or coordinates cannot be brought into the ledger's CRS.
#include <gtest/gtest.h>

#include "pipeline/core/errors.hpp"
#include "ledger/ledger.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

using test::message_of;

std::vector<Parcel> one_parcel() {
    std::vector<Parcel> parcels;
    parcels.push_back(test::rectangle_parcel(0, 0, 20, 30, "稷峰镇", "140824100"));
    return parcels;
}

TEST(LedgerFeedMessages, NoLedgerSaysWhereToSetIt) {
    EXPECT_EQ(message_of<ConfigError>([] {
                  feed_ledger(LedgerConfig{}, one_parcel(), test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A"));
              }),
              "ledger: no ledger given; set ledger.path in the config or pass --ledger");
}

TEST(LedgerFeedMessages, ParcelsInACrsWithoutATransformation) {
    test::TempDir dir;
    const std::string ledger = (dir / "ledger.gpkg").string();
    feed_ledger(test::ledger_options(ledger), one_parcel(), test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A"));
    OGRSpatialReference site_grid;  // an engineering CRS: no transformation to or from EPSG:4546
    site_grid.SetLocalCS("site grid");
    EXPECT_EQ(message_of<InputError>([&] {
                  feed_ledger(test::ledger_options(ledger), one_parcel(), site_grid, test::jishan_context("2023-10-18", "run-B"));
              }),
              "ledger: cannot transform the parcels' CRS into the ledger's CRS; check both CRSs");
}

TEST(LedgerFeedMessages, ParcelOutsideItsCrsNamesTheParcel) {
    test::TempDir dir;
    const std::string ledger = (dir / "ledger.gpkg").string();
    feed_ledger(test::ledger_options(ledger), one_parcel(), test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A"));
    // Metre coordinates declared as longitude/latitude: latitude 3 940 000° is no place on Earth.
    OGRSpatialReference lonlat;
    lonlat.importFromEPSG(4490);
    lonlat.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    auto parcels = one_parcel();
    parcels[0].id = 7;
    const std::string m = message_of<InputError>([&] {
        feed_ledger(test::ledger_options(ledger), parcels, lonlat, test::jishan_context("2023-10-18", "run-B"));
    });
    EXPECT_CONTAINS(m, "ledger: cannot transform parcel 7 into the ledger's CRS");
    EXPECT_CONTAINS(m, "check that the imagery's CRS fits its coordinates");
}

}  // namespace
}  // namespace weipian
