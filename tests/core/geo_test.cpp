// Geo helpers: CRS parsing with the traditional GIS axis order, the default area CRS (CGCS2000
// Gauss–Krüger zone inside China, UTM elsewhere), cloning with the axis order.
#include "pipeline/core/geo.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pipeline/core/errors.hpp"

namespace weipian {
namespace {

TEST(GeoTest, DefaultAreaCrsIsTheCgcs2000GaussKrugerZoneInsideChina) {
    EXPECT_STREQ(default_area_crs(110.9, 35.6)->GetAuthorityCode(nullptr), "4546");  // Jishan, CM 111°E
    EXPECT_STREQ(default_area_crs(75.2, 39.5)->GetAuthorityCode(nullptr), "4534");   // CM 75°E
    EXPECT_STREQ(default_area_crs(73.5, 39.5)->GetAuthorityCode(nullptr), "4534");   // west of 75°E still zone 25
    EXPECT_STREQ(default_area_crs(116.4, 39.9)->GetAuthorityCode(nullptr), "4548");  // Beijing, CM 117°E
    EXPECT_STREQ(default_area_crs(109.4, 35.0)->GetAuthorityCode(nullptr), "4545");  // nearest CM 108°E
    EXPECT_STREQ(default_area_crs(135.5, 48.0)->GetAuthorityCode(nullptr), "4554");  // CM 135°E
}

TEST(GeoTest, DefaultAreaCrsIsUtmOutsideChina) {
    EXPECT_STREQ(default_area_crs(2.35, 48.85)->GetAuthorityCode(nullptr), "32631");   // Paris
    EXPECT_STREQ(default_area_crs(-70.6, -33.4)->GetAuthorityCode(nullptr), "32719");  // Santiago
    EXPECT_STREQ(default_area_crs(179.9, 10.0)->GetAuthorityCode(nullptr), "32660");
    EXPECT_EQ(default_area_crs(2.35, 48.85)->GetAxisMappingStrategy(), OAMS_TRADITIONAL_GIS_ORDER);
}

TEST(GeoTest, ParseCrsUsesLongitudeFirstForCgcs2000) {
    const auto geographic = parse_crs("EPSG:4490", "grid.crs");
    const auto projected = parse_crs("EPSG:4546", "grid.crs");
    EXPECT_EQ(geographic->GetAxisMappingStrategy(), OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> transform(
        OGRCreateCoordinateTransformation(geographic.get(), projected.get()));
    ASSERT_NE(transform, nullptr);
    double x = 110.9, y = 35.6;  // lon, lat
    ASSERT_TRUE(transform->Transform(1, &x, &y));
    EXPECT_NEAR(x, 490938.318, 0.01);  // easting (gdaltransform -s_srs EPSG:4490 -t_srs EPSG:4546)
    EXPECT_NEAR(y, 3941165.154, 0.01);
}

TEST(GeoTest, ParseCrsRejectsUnknownCodeWithHint) {
    try {
        parse_crs("EPSG:99999", "overlay.area_crs");
        FAIL() << "no error";
    } catch (const ConfigError& error) {
        EXPECT_STREQ(error.what(),
                     "config: overlay.area_crs: cannot parse 'EPSG:99999' as a CRS; give an EPSG code such as "
                     "EPSG:4546 or a WKT");
    }
    EXPECT_THROW(parse_crs("", "grid.crs"), ConfigError);
}

TEST(GeoTest, CloneTraditionalSetsTheAxisOrder) {
    OGRSpatialReference srs;
    ASSERT_EQ(srs.importFromEPSG(4490), OGRERR_NONE);
    EXPECT_EQ(srs.GetAxisMappingStrategy(), OAMS_AUTHORITY_COMPLIANT);
    const auto copy = clone_traditional(srs);
    EXPECT_EQ(copy->GetAxisMappingStrategy(), OAMS_TRADITIONAL_GIS_ORDER);
    EXPECT_EQ(copy->GetDataAxisToSRSAxisMapping(), (std::vector<int>{2, 1}));
}
}  // namespace
}  // namespace weipian
