#pragma once
// Shared helpers for the ledger tests: a fresh ledger per test on either backend (a GeoPackage
// in a temporary folder, or a PostgreSQL schema dropped at the end), square parcels.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <gdal_priv.h>
#include <ogr_geometry.h>
#include <ogrsf_frmts.h>

#include "pipeline/core/geo.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/core/parcel.hpp"
#include "tests/support/test_support.hpp"

namespace weipian::test {

enum class LedgerBackend { GeoPackage, PostgreSQL };

inline std::string backend_name(const ::testing::TestParamInfo<LedgerBackend>& info) {
    return info.param == LedgerBackend::GeoPackage ? "GeoPackage" : "PostgreSQL";
}

// So that test names and ctest's list say which backend, not "4-byte object".
inline void PrintTo(LedgerBackend backend, std::ostream* out) {
    *out << (backend == LedgerBackend::GeoPackage ? "GeoPackage" : "PostgreSQL");
}

// WEIPIAN_TEST_PG: a "PG:…" connection string to a database with PostGIS where the user may
// create schemas (scripts/test.sh starts a local cluster and sets it).
inline std::optional<std::string> postgres_base() {
    const char* value = std::getenv("WEIPIAN_TEST_PG");
    if (!value || !*value) return std::nullopt;
    return std::string(value);
}

inline constexpr const char* kNoPostgresReason =
    "WEIPIAN_TEST_PG is not set: no PostgreSQL/PostGIS to test against (bash scripts/test.sh starts one and sets it)";

// Runs one SQL statement on the WEIPIAN_TEST_PG database; throws on failure.
inline void postgres_execute(const std::string& sql) {
    ensure_gdal_registered();
    const char* drivers[] = {"PostgreSQL", nullptr};
    GDALDatasetUniquePtr ds(GDALDataset::Open(postgres_base()->c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE, drivers, nullptr, nullptr));
    if (!ds) throw std::runtime_error("cannot open WEIPIAN_TEST_PG: " + std::string(CPLGetLastErrorMsg()));
    CPLErrorReset();
    OGRLayer* result = ds->ExecuteSQL(sql.c_str(), nullptr, nullptr);
    if (result) ds->ReleaseResultSet(result);
    if (CPLGetLastErrorType() >= CE_Failure) throw std::runtime_error(sql + ": " + CPLGetLastErrorMsg());
}

// A ledger location nobody else uses: `dir`/name.gpkg, or a new schema in WEIPIAN_TEST_PG.
class ScratchLedger {
public:
    ScratchLedger(LedgerBackend backend, const fs::path& dir, const std::string& name = "ledger") : backend_(backend) {
        if (backend == LedgerBackend::GeoPackage) {
            location_ = (dir / (name + ".gpkg")).string();
            return;
        }
        static std::atomic<int> counter{0};
        std::random_device random;
        schema_ = "wpt_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(random() % 100000);
        postgres_execute("CREATE SCHEMA " + schema_);
        location_ = *postgres_base() + " active_schema=" + schema_;
    }
    ~ScratchLedger() {
        if (schema_.empty()) return;
        try {
            postgres_execute("DROP SCHEMA " + schema_ + " CASCADE");
        } catch (...) {
        }
    }
    ScratchLedger(const ScratchLedger&) = delete;
    ScratchLedger& operator=(const ScratchLedger&) = delete;
    const std::string& location() const { return location_; }

private:
    LedgerBackend backend_;
    std::string location_;
    std::string schema_;
};

// EPSG:4546 (CGCS2000 / 3-degree GK CM 111E), x = easting.
inline OGRSpatialReference gk_zone_37() {
    OGRSpatialReference srs;
    srs.importFromEPSG(4546);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

// An axis-aligned rectangle parcel in EPSG:4546 near Jishan, areas from its outline.
inline Parcel rectangle_parcel(double x0, double y0, double width, double height, const std::string& township,
                               const std::string& code, double cultivated_m2 = 0) {
    Parcel p;
    auto ring = std::make_unique<OGRLinearRing>();
    const double x = 500000.0 + x0, y = 3940000.0 + y0;
    ring->addPoint(x, y);
    ring->addPoint(x + width, y);
    ring->addPoint(x + width, y + height);
    ring->addPoint(x, y + height);
    ring->addPoint(x, y);
    auto polygon = std::make_unique<OGRPolygon>();
    polygon->addRingDirectly(ring.release());
    p.geometry.reset(polygon.release());
    p.township_name = township;
    p.township_code = code;
    p.area_m2 = width * height;
    p.cultivated_m2 = cultivated_m2;
    p.centroid_x = x + width / 2;
    p.centroid_y = y + height / 2;
    return p;
}

inline FeedContext jishan_context(const std::string& hsx, const std::string& run_id, const std::string& qsx = "") {
    FeedContext context;
    context.county_code = "140824";
    context.qsx = qsx;
    context.hsx = hsx;
    context.run_id = run_id;
    return context;
}

inline LedgerConfig ledger_options(const std::string& location) {
    LedgerConfig options;
    options.path = location;
    return options;
}

// Base fixture: one scratch ledger per test; PostgreSQL tests skip without WEIPIAN_TEST_PG.
class LedgerFixture : public ::testing::TestWithParam<LedgerBackend> {
protected:
    void SetUp() override {
        if (GetParam() == LedgerBackend::PostgreSQL && !postgres_base()) GTEST_SKIP() << kNoPostgresReason;
        ensure_gdal_registered();
        ledger_ = std::make_unique<ScratchLedger>(GetParam(), dir_.path());
    }
    const std::string& location() const { return ledger_->location(); }
    std::vector<LedgerCase> cases(bool with_geometry = false) {
        return LedgerStore::open(location(), LedgerStore::Mode::Read)->load_cases(with_geometry);
    }
    std::vector<HistoryEntry> history() { return LedgerStore::open(location(), LedgerStore::Mode::Read)->load_history(); }
    std::vector<RunRecord> runs() { return LedgerStore::open(location(), LedgerStore::Mode::Read)->load_runs(); }
    static const LedgerCase* find(const std::vector<LedgerCase>& all, const std::string& id) {
        for (const auto& c : all)
            if (c.case_id == id) return &c;
        return nullptr;
    }
    // The pointer would outlive a temporary vector (heap-use-after-free): keep the cases in a
    // variable, or take a copy with case_of().
    static const LedgerCase* find(std::vector<LedgerCase>&& all, const std::string& id) = delete;
    // A copy of the case `id` as stored now (an empty case, and a test failure, when there is none).
    LedgerCase case_of(const std::string& id) {
        const auto all = cases();
        if (const LedgerCase* c = find(all, id)) return *c;
        ADD_FAILURE() << "no case " << id << " in the ledger";
        return {};
    }

    TempDir dir_;
    std::unique_ptr<ScratchLedger> ledger_;
};

}  // namespace weipian::test
