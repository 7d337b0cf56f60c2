// add_to_zip (pipeline/core/gdal.hpp): entries deflated or stored as asked, read back whole
// through GDAL's /vsizip/, and a closed archive refused.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>

#include <string>

#include "pipeline/core/gdal.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

// The compression method (0 stored, 8 deflate) of the local header of entry `name`.
int method_of(const std::string& zip_bytes, const std::string& name) {
    for (std::size_t at = zip_bytes.find("PK\x03\x04"); at != std::string::npos; at = zip_bytes.find("PK\x03\x04", at + 4)) {
        if (at + 30 > zip_bytes.size()) break;
        const auto u16 = [&](std::size_t o) {
            return static_cast<unsigned char>(zip_bytes[at + o]) | static_cast<unsigned char>(zip_bytes[at + o + 1]) << 8;
        };
        if (zip_bytes.compare(at + 30, static_cast<std::size_t>(u16(26)), name) == 0) return u16(8);
    }
    return -1;
}

std::string read_vsi(const std::string& path) {
    VSILFILE* f = VSIFOpenL(path.c_str(), "rb");
    if (!f) return "(cannot open " + path + ")";
    std::string out;
    char buffer[4096];
    for (std::size_t n; (n = VSIFReadL(buffer, 1, sizeof buffer, f)) > 0;) out.append(buffer, n);
    VSIFCloseL(f);
    return out;
}

TEST(AddToZip, DeflatesOrStoresEachEntryAsAskedAndGdalReadsThemBack) {
    ensure_gdal_registered();
    test::TempDir dir;
    const std::string path = (dir.path() / "parcels.kmz").string();
    const std::string kml(20000, 'k');  // compresses to almost nothing
    std::string jpeg;
    for (int i = 0; i < 5000; ++i) jpeg += static_cast<char>((i * 7919) % 251);
    void* zip = CPLCreateZip(path.c_str(), nullptr);
    ASSERT_TRUE(zip);
    EXPECT_EQ(add_to_zip(zip, "doc.kml", kml, true), CE_None);
    EXPECT_EQ(add_to_zip(zip, "files/1_hsx.jpg", jpeg, false), CE_None);
    EXPECT_EQ(add_to_zip(zip, "files/empty.jpg", "", false), CE_None);
    ASSERT_EQ(CPLCloseZip(zip), CE_None);

    const std::string bytes = test::read_text(dir.path() / "parcels.kmz");
    EXPECT_EQ(method_of(bytes, "doc.kml"), 8);
    EXPECT_EQ(method_of(bytes, "files/1_hsx.jpg"), 0);
    EXPECT_EQ(method_of(bytes, "files/empty.jpg"), 0);
    EXPECT_LT(bytes.size(), kml.size());  // the KML was deflated
    EXPECT_EQ(read_vsi("/vsizip/" + path + "/doc.kml"), kml);
    EXPECT_EQ(read_vsi("/vsizip/" + path + "/files/1_hsx.jpg"), jpeg);
    EXPECT_EQ(read_vsi("/vsizip/" + path + "/files/empty.jpg"), "");
}

}  // namespace
}  // namespace weipian
