// `ledger split` and `ledger merge` (ledger/ledger_split.hpp): pieces CASE_n whose areas sum
// exactly to the parent's, the parent 已拆分, merges summing areas; every refusal's message, each
// leaving the ledger unchanged.
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_report.hpp"
#include "ledger/ledger_split.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/core/errors.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

using test::message_of;
namespace fs = std::filesystem;

constexpr const char* kParent = "140824-2023-0001";  // 30 m × 40 m = 1.80 亩, 稷峰镇
constexpr const char* kSecond = "140824-2023-0002";  // 20 m × 30 m = 0.90 亩, 稷峰镇
constexpr const char* kOther = "140824-2023-0003";   // 10 m × 10 m = 0.15 亩, 化峪镇

// A rectangle in EPSG:4546 metres relative to the test parcels' origin (500000, 3940000).
OGRPolygon* rectangle(double x0, double y0, double x1, double y1) {
    auto ring = std::make_unique<OGRLinearRing>();
    ring->addPoint(500000 + x0, 3940000 + y0);
    ring->addPoint(500000 + x1, 3940000 + y0);
    ring->addPoint(500000 + x1, 3940000 + y1);
    ring->addPoint(500000 + x0, 3940000 + y1);
    ring->addPoint(500000 + x0, 3940000 + y0);
    auto polygon = std::make_unique<OGRPolygon>();
    polygon->addRingDirectly(ring.release());
    return polygon.release();
}

struct Box {
    double x0, y0, x1, y1;
    std::string no = "";
};

// Writes `boxes` (EPSG:4546 offsets) as a polygon file in `epsg` (0 = no CRS), field NO.
void write_pieces(const fs::path& path, const std::vector<Box>& boxes, int epsg = 4546, const char* driver_name = "GPKG") {
    auto* driver = GetGDALDriverManager()->GetDriverByName(driver_name);
    GDALDatasetUniquePtr ds(driver->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    ASSERT_TRUE(ds);
    OGRSpatialReference gk = test::gk_zone_37();
    std::unique_ptr<OGRSpatialReference> srs;
    if (epsg > 0) {
        srs = std::make_unique<OGRSpatialReference>();
        srs->importFromEPSG(epsg);
        srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    }
    OGRLayer* layer = ds->CreateLayer("pieces", srs.get(), wkbPolygon, nullptr);
    ASSERT_TRUE(layer);
    OGRFieldDefn no("NO", OFTString);
    layer->CreateField(&no);
    std::unique_ptr<OGRCoordinateTransformation> to(srs && epsg != 4546 ? OGRCreateCoordinateTransformation(&gk, srs.get()) : nullptr);
    for (const auto& b : boxes) {
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        OGRGeometry* g = rectangle(b.x0, b.y0, b.x1, b.y1);
        if (to) g->transform(to.get());
        f->SetGeometryDirectly(g);
        f->SetField("NO", b.no.c_str());
        ASSERT_EQ(layer->CreateFeature(f.get()), OGRERR_NONE);
    }
}

class LedgerSplitMerge : public test::LedgerFixture {
protected:
    void SetUp() override {
        test::LedgerFixture::SetUp();
        if (IsSkipped()) return;
        std::vector<Parcel> parcels;
        parcels.push_back(test::rectangle_parcel(0, 0, 30, 40, "稷峰镇", "140824100", 800));
        parcels.push_back(test::rectangle_parcel(100, 0, 20, 30, "稷峰镇", "140824100"));
        parcels.push_back(test::rectangle_parcel(300, 0, 10, 10, "化峪镇", "140824101"));
        feed_ledger(test::ledger_options(location()), parcels, test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A"));
        // The form's parts of the parent: 耕地 1.00 + 非耕农用地 0.33 + 未利用地 0.07 + 建设用地 0.40 = 1.80 亩.
        edit(kParent, [](LedgerCase& c) {
            c.cultivated_centimu = 100;
            c.other_agricultural_centimu = 33;
            c.unused_centimu = 7;
            c.construction_centimu = 40;
            c.unsurveyed_centimu = 0;
            c.permanent_farmland_centimu = 50;
            c.redline_centimu = 10;
            c.remaining_centimu = 101;
            c.lead_id = "140824SJBG23210001";
            c.batch = "七月一批";
            c.source = kSourceDelivered;
            c.earlier_id = "140824-2022-0009";
            c.verdict = "非农违法";
            c.approval_no = "晋政地〔2020〕12号";
            c.approval_share = 20;
        });
    }
    template <typename F>
    void edit(const std::string& id, F change) {
        auto store = LedgerStore::open(location(), LedgerStore::Mode::Update);
        auto all = store->load_cases(true);
        auto transaction = store->begin();
        for (auto& c : all)
            if (c.case_id == id) {
                change(c);
                store->update_case(c);
            }
        transaction.commit();
    }
    SplitOptions split_options() {
        SplitOptions o;
        o.who = "张三";
        return o;
    }
    MergeOptions merge_options(const std::string& into = "") {
        MergeOptions o;
        o.who = "张三";
        o.into = into;
        return o;
    }
    // The refusal of a split, with the ledger unchanged.
    std::string split_refusal(const std::string& id, const fs::path& file, SplitOptions options = {}) {
        const auto before = cases().size();
        const auto before_history = history().size();
        const std::string m = message_of<InputError>([&] { split_case(location(), id, file, options); });
        EXPECT_EQ(cases().size(), before);
        EXPECT_EQ(history().size(), before_history);
        EXPECT_EQ(case_of(kParent).status, CaseStatus::ToVerify);
        return m;
    }
    std::string merge_refusal(const std::vector<std::string>& ids, const std::string& into = "") {
        const auto before_history = history().size();
        const std::string m = message_of<InputError>([&] { merge_cases(location(), ids, merge_options(into)); });
        EXPECT_EQ(history().size(), before_history);
        return m;
    }
    fs::path pieces_path(const std::string& name = "pieces.gpkg") { return dir_ / name; }
};

TEST_P(LedgerSplitMerge, ThreePiecesInAnotherCrsSumExactlyToTheParent) {
    // Three strips drawn 1 m beyond the parent's outline, in longitude/latitude.
    write_pieces(pieces_path(), {{-1, -1, 10, 41}, {10, -1, 20, 41}, {20, -1, 31, 41}}, 4490);
    const auto summary = split_case(location(), kParent, pieces_path(), split_options());
    EXPECT_EQ(summary.pieces, (std::vector<std::string>{"140824-2023-0001_1", "140824-2023-0001_2", "140824-2023-0001_3"}));
    EXPECT_EQ(summary.text(), "weipian: case 140824-2023-0001 (1.80 亩) split into 140824-2023-0001_1 (0.60 亩), "
                              "140824-2023-0001_2 (0.60 亩), 140824-2023-0001_3 (0.60 亩)\n");
    const auto all = cases(true);
    ASSERT_EQ(all.size(), 6u);
    const LedgerCase* parent = find(all, kParent);
    ASSERT_TRUE(parent);
    EXPECT_EQ(parent->status, CaseStatus::Split);
    EXPECT_FALSE(parent->open());
    std::int64_t area = 0, cultivated = 0, other = 0, unused = 0, construction = 0, farmland = 0, redline = 0, remaining = 0;
    double m2 = 0;
    for (const auto& id : summary.pieces) {
        const LedgerCase* p = find(all, id);
        ASSERT_TRUE(p) << id;
        EXPECT_EQ(p->status, CaseStatus::ToVerify);
        EXPECT_EQ(p->township_name, "稷峰镇");
        EXPECT_EQ(p->lead_id, "140824SJBG23210001");
        EXPECT_EQ(p->batch, "七月一批");
        EXPECT_EQ(p->source, kSourceDelivered);
        EXPECT_EQ(p->earlier_id, "140824-2022-0009");
        EXPECT_EQ(p->approval_no, "晋政地〔2020〕12号");
        // Each piece's parts add up to its 地块面积 (the form's identity).
        EXPECT_EQ(p->cultivated_centimu + p->other_agricultural_centimu + p->unused_centimu + p->construction_centimu + p->unsurveyed_centimu,
                  p->area_centimu) << id;
        EXPECT_LE(p->permanent_farmland_centimu, p->cultivated_centimu);
        // Clipped to the parent: a 10 m × 40 m strip.
        EXPECT_NEAR(OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(p->geometry.get()))), 400.0, 0.05) << id;
        area += p->area_centimu;
        cultivated += p->cultivated_centimu;
        other += p->other_agricultural_centimu;
        unused += p->unused_centimu;
        construction += p->construction_centimu;
        farmland += p->permanent_farmland_centimu;
        redline += p->redline_centimu;
        remaining += p->remaining_centimu;
        m2 += p->area_m2;
        EXPECT_EQ(p->demolished_centimu, -1);  // not recorded stays not recorded
    }
    EXPECT_EQ(area, 180);
    EXPECT_EQ(cultivated, 100);
    EXPECT_EQ(other, 33);
    EXPECT_EQ(unused, 7);
    EXPECT_EQ(construction, 40);
    EXPECT_EQ(farmland, 50);
    EXPECT_EQ(redline, 10);
    EXPECT_EQ(remaining, 101);
    EXPECT_NEAR(m2, 1200.0, 1e-6);
    // Largest remainder: one piece takes the odd hundredth of 耕地 (100 = 34 + 33 + 33).
    std::multiset<std::int64_t> shares;
    for (const auto& id : summary.pieces) shares.insert(find(all, id)->cultivated_centimu);
    EXPECT_EQ(shares, (std::multiset<std::int64_t>{33, 33, 34}));
    EXPECT_NEAR(find(all, "140824-2023-0001_2")->centroid_x, 500015.0, 0.01);

    std::vector<std::string> whats;
    for (const auto& e : history())
        if (e.case_id.rfind(kParent, 0) == 0 && e.recorded_at >= parent->updated_at) whats.push_back(e.case_id + " " + e.what);
    EXPECT_NE(std::find(whats.begin(), whats.end(),
                        "140824-2023-0001 拆分为 140824-2023-0001_1、140824-2023-0001_2、140824-2023-0001_3"),
              whats.end());
    EXPECT_NE(std::find(whats.begin(), whats.end(), "140824-2023-0001_2 拆分自 140824-2023-0001（第 2 块，共 3 块）"), whats.end());

    // The report counts the pieces, not the parent: 3 cases before, 5 after.
    LedgerReportOptions options;
    options.as_of = "2099-12-31";
    EXPECT_EQ(build_ledger_report(location(), options).cases, 5);
}

TEST_P(LedgerSplitMerge, PiecesKeepTheParentsVerificationAndCanBeOrderedByAField) {
    edit(kParent, [](LedgerCase& c) {
        c.status = CaseStatus::Rectifying;
        c.result = CaseStatus::Illegal;
    });
    write_pieces(pieces_path(), {{0, 0, 30, 10, "2"}, {0, 10, 30, 40, "1"}});
    SplitOptions options = split_options();
    options.order_field = "NO";
    const auto summary = split_case(location(), kParent, pieces_path(), options);
    EXPECT_EQ(summary.piece_centimu, (std::vector<std::int64_t>{135, 45}));  // NO 1 is the 30 m × 30 m piece
    const LedgerCase first = case_of("140824-2023-0001_1");
    EXPECT_EQ(first.status, CaseStatus::Rectifying);
    EXPECT_EQ(first.result, CaseStatus::Illegal);
    std::vector<std::string> rows;
    for (const auto& e : history())
        if (e.case_id == "140824-2023-0001_1") rows.push_back(std::string(e.from_status ? status_label(*e.from_status) : "(new)") + "→" + status_label(e.to_status));
    EXPECT_EQ(rows, (std::vector<std::string>{"(new)→违法", "违法→整改中"}));
}

TEST_P(LedgerSplitMerge, SevenUnevenPiecesKeepEveryColumnAndEveryPieceExact) {
    std::vector<Box> boxes;
    double x = 0;
    for (const double width : {1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0}) {
        boxes.push_back({x, 0, x + width, 40});
        x += width;
    }
    write_pieces(pieces_path(), boxes);
    const auto summary = split_case(location(), kParent, pieces_path(), split_options());
    ASSERT_EQ(summary.pieces.size(), 7u);
    const auto all = cases();
    std::vector<std::int64_t> columns(7, 0);
    for (const auto& id : summary.pieces) {
        const LedgerCase* p = find(all, id);
        ASSERT_TRUE(p);
        const std::vector<std::int64_t> parts = {p->cultivated_centimu, p->other_agricultural_centimu, p->unused_centimu,
                                                 p->construction_centimu, p->unsurveyed_centimu};
        EXPECT_EQ(std::accumulate(parts.begin(), parts.end(), std::int64_t{0}), p->area_centimu) << id;
        EXPECT_LE(p->permanent_farmland_centimu, p->cultivated_centimu) << id;
        EXPECT_LE(p->redline_centimu, p->area_centimu) << id;
        for (std::size_t i = 0; i < parts.size(); ++i) columns[i] += parts[i];
        columns[5] += p->permanent_farmland_centimu;
        columns[6] += p->area_centimu;
    }
    EXPECT_EQ(columns, (std::vector<std::int64_t>{100, 33, 7, 40, 0, 50, 180}));
    // 1 m of 30 is 6 of the 180 hundredths.
    EXPECT_EQ(summary.piece_centimu, (std::vector<std::int64_t>{6, 12, 18, 24, 30, 42, 48}));
}

TEST_P(LedgerSplitMerge, UncoveredPartIsRefused) {
    write_pieces(pieces_path(), {{0, 0, 14, 40}, {15, 0, 30, 40}});
    EXPECT_EQ(split_refusal(kParent, pieces_path()),
              "split: pieces cover 1.74 of 1.80 亩 of case 140824-2023-0001; 0.06 亩 is uncovered; draw pieces over all of the case's outline");
}

TEST_P(LedgerSplitMerge, OverlappingPiecesAreRefused) {
    write_pieces(pieces_path(), {{0, 0, 16, 40}, {14, 0, 30, 40}});
    EXPECT_EQ(split_refusal(kParent, pieces_path()),
              "split: pieces 1 and 2 of '" + pieces_path().string() +
                  "' overlap by 0.12 亩 inside case 140824-2023-0001; each part of the case belongs to one piece");
}

TEST_P(LedgerSplitMerge, PieceOutsideTheParentIsRefused) {
    write_pieces(pieces_path(), {{0, 0, 30, 40}, {50, 0, 60, 10}});
    EXPECT_EQ(split_refusal(kParent, pieces_path()),
              "split: piece 2 (feature 2 of '" + pieces_path().string() +
                  "') lies outside case 140824-2023-0001 (0.00 亩 inside it); draw the pieces over the case's outline");
}

TEST_P(LedgerSplitMerge, OnePieceIsNotASplit) {
    write_pieces(pieces_path(), {{0, 0, 30, 40}});
    EXPECT_EQ(split_refusal(kParent, pieces_path()), "split: '" + pieces_path().string() + "' holds 1 piece; a split needs at least 2");
}

TEST_P(LedgerSplitMerge, UnknownClosedAndAlreadySplitCases) {
    write_pieces(pieces_path(), {{0, 0, 15, 40}, {15, 0, 30, 40}});
    EXPECT_CONTAINS(split_refusal("140824-2023-0099", pieces_path()),
                    "split: no case '140824-2023-0099' in the ledger ");
    EXPECT_CONTAINS(split_refusal("140824-2023-0099", pieces_path()), "; see `weipian ledger export` for the case ids");
    edit(kSecond, [](LedgerCase& c) { c.status = CaseStatus::Closed; });
    EXPECT_EQ(split_refusal(kSecond, pieces_path()),
              "split: case 140824-2023-0002 is 销号; only an open case (not 销号, 已拆分 or 已合并) can be split");
    split_case(location(), kParent, pieces_path(), split_options());
    EXPECT_EQ(message_of<InputError>([&] { split_case(location(), kParent, pieces_path(), split_options()); }),
              "split: case 140824-2023-0001 was already split into 140824-2023-0001_1, 140824-2023-0001_2; split one of its pieces instead");
}

TEST_P(LedgerSplitMerge, PieceIdAlreadyInTheLedger) {
    {
        auto store = LedgerStore::open(location(), LedgerStore::Mode::Update);
        LedgerCase taken = store->load_cases(true).front();
        taken.case_id = "140824-2023-0001_2";
        auto transaction = store->begin();
        store->insert_case(taken);
        transaction.commit();
    }
    write_pieces(pieces_path(), {{0, 0, 15, 40}, {15, 0, 30, 40}});
    EXPECT_EQ(split_refusal(kParent, pieces_path()),
              "split: case 140824-2023-0001_2 already exists in the ledger; a piece id must be new");
}

TEST_P(LedgerSplitMerge, PiecesFileProblems) {
    EXPECT_CONTAINS(split_refusal(kParent, dir_ / "missing.gpkg"), "split: cannot read '" + (dir_ / "missing.gpkg").string() +
                                                                      "' as a polygon layer (");
    EXPECT_CONTAINS(split_refusal(kParent, dir_ / "missing.gpkg"), "); give a GeoPackage, Shapefile or another OGR polygon file");
    write_pieces(dir_ / "nocrs.shp", {{0, 0, 15, 40}, {15, 0, 30, 40}}, 0, "ESRI Shapefile");
    EXPECT_EQ(split_refusal(kParent, dir_ / "nocrs.shp"),
              "split: '" + (dir_ / "nocrs.shp").string() +
                  "' has no CRS; save it with its coordinate system (e.g. a .prj) so it can be placed on the ledger");
    write_pieces(pieces_path(), {{0, 0, 15, 40}, {15, 0, 30, 40}});
    SplitOptions options;
    options.order_field = "BH";
    EXPECT_EQ(split_refusal(kParent, pieces_path(), options), "split: '" + pieces_path().string() + "' has no field 'BH'; its fields are NO");
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GPKG")->Create((dir_ / "lines.gpkg").c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRSpatialReference gk = test::gk_zone_37();
        OGRLayer* layer = ds->CreateLayer("lines", &gk, wkbLineString, nullptr);
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        auto line = std::make_unique<OGRLineString>();
        line->addPoint(500000, 3940000);
        line->addPoint(500010, 3940010);
        f->SetGeometryDirectly(line.release());
        ASSERT_EQ(layer->CreateFeature(f.get()), OGRERR_NONE);
    }
    EXPECT_EQ(split_refusal(kParent, dir_ / "lines.gpkg"),
              "split: feature 1 of '" + (dir_ / "lines.gpkg").string() +
                  "' is not a polygon; every feature of the file is one piece of the case");
    {
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GPKG")->Create((dir_ / "site.gpkg").c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRSpatialReference site;
        site.SetLocalCS("site grid");
        OGRLayer* layer = ds->CreateLayer("pieces", &site, wkbPolygon, nullptr);
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        f->SetGeometryDirectly(rectangle(0, 0, 1, 1));
        ASSERT_EQ(layer->CreateFeature(f.get()), OGRERR_NONE);
    }
    EXPECT_EQ(split_refusal(kParent, dir_ / "site.gpkg"),
              "split: cannot transform '" + (dir_ / "site.gpkg").string() + "' from its CRS to the ledger's; check the file's CRS");
}

TEST_P(LedgerSplitMerge, MergeSumsAreasAndClosesTheOthers) {
    edit(kSecond, [](LedgerCase& c) {
        c.cultivated_centimu = 20;
        c.construction_centimu = 70;
        c.approval_no = "晋政地〔2021〕3号";
        c.approval_share = 50;
    });
    const auto summary = merge_cases(location(), {kParent, kSecond}, merge_options(kSecond));
    EXPECT_EQ(summary.text(), "weipian: case 140824-2023-0001 merged into 140824-2023-0002 (2.70 亩)\n");
    const auto all = cases(true);
    const LedgerCase* survivor = find(all, kSecond);
    const LedgerCase* merged = find(all, kParent);
    ASSERT_TRUE(survivor && merged);
    EXPECT_EQ(merged->status, CaseStatus::Merged);
    EXPECT_EQ(survivor->status, CaseStatus::ToVerify);
    EXPECT_EQ(survivor->area_centimu, 270);
    EXPECT_EQ(survivor->cultivated_centimu, 120);
    EXPECT_EQ(survivor->construction_centimu, 110);
    EXPECT_EQ(survivor->other_agricultural_centimu, 33);
    EXPECT_NEAR(survivor->area_m2, 1800.0, 1e-6);
    EXPECT_EQ(survivor->lead_id, "140824SJBG23210001");  // filled from the merged case
    EXPECT_EQ(survivor->first_seen_run, "run-A");
    EXPECT_EQ(survivor->approval_no, "晋政地〔2020〕12号、晋政地〔2021〕3号");
    EXPECT_NEAR(survivor->approval_share, 30.0, 1e-9);  // (20 × 1200 + 50 × 600) / 1800
    EXPECT_NEAR(OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(survivor->geometry.get()))), 1800.0, 1e-6);
    bool into = false, from = false;
    for (const auto& e : history()) {
        into = into || (e.case_id == kParent && e.what == "合并入 140824-2023-0002" && e.to_status == CaseStatus::Merged);
        from = from || (e.case_id == kSecond && e.what == "合并 140824-2023-0001（共 2 宗，合计 2.70 亩）");
    }
    EXPECT_TRUE(into);
    EXPECT_TRUE(from);
    LedgerReportOptions options;
    options.as_of = "2099-12-31";
    EXPECT_EQ(build_ledger_report(location(), options).cases, 2);
}

TEST_P(LedgerSplitMerge, MergeRefusals) {
    EXPECT_EQ(merge_refusal({kParent}), "merge: give at least two cases to merge");
    EXPECT_EQ(merge_refusal({kParent, kParent}), "merge: case 140824-2023-0001 is named twice; a case cannot be merged with itself");
    EXPECT_EQ(merge_refusal({kParent, kSecond}, kOther),
              "merge: --into 140824-2023-0003 is not one of the cases to merge (140824-2023-0001, 140824-2023-0002); name one of them");
    EXPECT_CONTAINS(merge_refusal({kParent, "140824-2023-0099"}), "merge: no case '140824-2023-0099' in the ledger ");
    EXPECT_EQ(merge_refusal({kParent, kOther}),
              "merge: cases 140824-2023-0001 (稷峰镇) and 140824-2023-0003 (化峪镇) are in different townships; a case belongs to one "
              "township, merge only cases of the same township");
    edit(kSecond, [](LedgerCase& c) {
        c.status = CaseStatus::Illegal;
        c.result = CaseStatus::Illegal;
    });
    EXPECT_EQ(merge_refusal({kParent, kSecond}),
              "merge: cases 140824-2023-0001 (待核查) and 140824-2023-0002 (违法) have different statuses; bring them to one status first "
              "(ledger import), then merge");
    edit(kSecond, [](LedgerCase& c) { c.status = CaseStatus::Closed; });
    EXPECT_EQ(merge_refusal({kParent, kSecond}),
              "merge: case 140824-2023-0002 is 销号; only open cases (not 销号, 已拆分 or 已合并) can be merged");
    EXPECT_EQ(case_of(kParent).area_centimu, 180);
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerSplitMerge, ::testing::Values(test::LedgerBackend::GeoPackage, test::LedgerBackend::PostgreSQL),
                         test::backend_name);

}  // namespace
}  // namespace weipian
