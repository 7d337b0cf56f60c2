// `ledger export` carries every LedgerCase field: the XLSX in 台账 habits (title row, 序号, frozen
// header, autofilter, Excel dates in Beijing time, print setup, 汇总 ranked like the report) and
// the Shapefile with text fields wide enough to be filled in afterwards.
#include <gtest/gtest.h>

#include <map>

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_split.hpp"
#include "ledger/ledger_store.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/ledger/xlsx_test_support.hpp"
#include "tests/support/message_test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::book_part;
using test::cell;
using test::sheet_rows;

class LedgerExportFields : public test::LedgerFixture {
protected:
    void SetUp() override {
        test::LedgerFixture::SetUp();
        if (IsSkipped()) return;
        std::vector<Parcel> parcels;
        parcels.push_back(test::rectangle_parcel(0, 0, 30, 40, "稷峰镇", "140824100", 800));  // 1.80 亩, 耕地 1.20
        parcels.push_back(test::rectangle_parcel(100, 0, 20, 30, "稷峰镇", "140824100"));     // 0.90 亩
        parcels.push_back(test::rectangle_parcel(300, 0, 50, 60, "化峪镇", "140824101", 2000));  // 4.50 亩, 耕地 3.00
        feed_ledger(test::ledger_options(location()), parcels, test::gk_zone_37(), test::jishan_context("2023-09-18", "run-A", "2023-03-01"));
        auto store = LedgerStore::open(location(), LedgerStore::Mode::Update);
        auto all = store->load_cases(true);
        auto transaction = store->begin();
        for (auto& c : all) {
            if (c.case_id != "140824-2023-0001") continue;
            c.status = CaseStatus::Illegal;
            c.result = CaseStatus::Illegal;
            c.source = kSourceDelivered;
            c.lead_id = "140824SJBG23210001";
            c.batch = "七月一批";
            c.delivered_at = "2023-07-15";
            c.earlier_id = "140824-2022-0009";
            c.linked_case = "140824-2023-0002";
            c.detected_run = "run-A";
            c.verdict = "非农违法";
            c.category = "工矿商服";
            c.use_detail = "厂房类";
            c.project = "某某厂房";
            c.developer = "某某公司";
            c.built_at = "2023-05";
            c.field_notes = "实地为在建厂房";
            c.other_agricultural_centimu = 30;
            c.unused_centimu = 0;
            c.construction_centimu = 30;
            c.permanent_farmland_centimu = 50;
            c.redline_centimu = 10;
            c.approval_no = "晋政地〔2020〕12号";
            c.approval_share = 25.5;
            c.facility_no = "SS-2023-01";
            c.facility_share = 100;
            c.cp_verdict = "非农违法";
            c.cp_category = "工矿商服";
            c.cp_rule = "无批文占耕地";
            c.rectify_method = "拆除";
            c.demolished_centimu = 120;
            c.review_ended_at = "2023-12-20";
            c.updated_at = "2023-12-31T17:30:00Z";  // Beijing: 2024-01-01 01:30
            store->update_case(c);
        }
        transaction.commit();
    }
};

TEST_P(LedgerExportFields, XlsxInLedgerHabitsCarriesEveryField) {
    const fs::path out = dir_ / "台账.xlsx";
    ExportOptions options;
    options.county_name = "稷山县";
    options.date = "2024-03-01";
    export_ledger(location(), ExportFormat::Xlsx, out, options);

    std::string name;
    const auto summary = sheet_rows(out, 0, &name);
    EXPECT_EQ(name, "汇总");
    ASSERT_GE(summary.size(), 5u);
    EXPECT_EQ(summary[0][0], "稷山县卫片执法图斑台账汇总（2024-03-01）");
    // Ranked as the report ranks: 耕地 亩 first — 化峪镇 (3.00) before 稷峰镇 (1.20).
    EXPECT_EQ(cell(summary, 0, "排名"), "1");
    EXPECT_EQ(cell(summary, 0, "乡镇名称"), "化峪镇");
    EXPECT_EQ(cell(summary, 1, "乡镇名称"), "稷峰镇");
    EXPECT_EQ(cell(summary, 1, "图斑（宗）"), "2");
    EXPECT_EQ(cell(summary, 1, "违法用地（宗）"), "1");
    EXPECT_EQ(cell(summary, 1, "违法用地面积（亩）"), "1.8");
    EXPECT_EQ(cell(summary, 2, "乡镇名称"), "合计");
    EXPECT_EQ(cell(summary, 2, "图斑（宗）"), "3");
    EXPECT_EQ(cell(summary, 2, "监测面积（亩）"), "7.2");

    const auto rows = sheet_rows(out, 1, &name);
    EXPECT_EQ(name, "稷峰镇");
    ASSERT_EQ(rows.size(), 4u);  // title, header, two cases
    EXPECT_EQ(rows[0][0], "稷山县卫片执法图斑台账（2024-03-01） 稷峰镇");
    EXPECT_EQ(rows[1][0], "序号");
    EXPECT_EQ(cell(rows, 0, "序号"), "1");
    EXPECT_EQ(cell(rows, 1, "序号"), "2");
    EXPECT_EQ(cell(rows, 0, "图斑编号"), "140824-2023-0001");
    EXPECT_EQ(cell(rows, 0, "线索编号"), "140824SJBG23210001");
    EXPECT_EQ(cell(rows, 0, "图斑来源"), "下发线索");
    EXPECT_EQ(cell(rows, 1, "图斑来源"), "自主发现");
    EXPECT_EQ(cell(rows, 0, "批次"), "七月一批");
    EXPECT_EQ(cell(rows, 0, "往期图斑编号"), "140824-2022-0009");
    EXPECT_EQ(cell(rows, 0, "关联图斑"), "140824-2023-0002");
    EXPECT_EQ(cell(rows, 0, "检出运行"), "run-A");
    EXPECT_EQ(cell(rows, 0, "核实认定意见"), "非农违法");
    EXPECT_EQ(cell(rows, 0, "分类"), "工矿商服");
    EXPECT_EQ(cell(rows, 0, "用途分类细化"), "厂房类");
    EXPECT_EQ(cell(rows, 0, "项目名称"), "某某厂房");
    EXPECT_EQ(cell(rows, 0, "项目主体"), "某某公司");
    EXPECT_EQ(cell(rows, 0, "建设时间"), "2023-05");  // a month stays text
    EXPECT_EQ(cell(rows, 0, "现场核查描述"), "实地为在建厂房");
    EXPECT_EQ(cell(rows, 0, "地块面积（亩）"), "1.8");
    EXPECT_EQ(cell(rows, 0, "占耕地面积（亩）"), "1.2");
    EXPECT_EQ(cell(rows, 0, "占基本农田面积（亩）"), "0.5");
    EXPECT_EQ(cell(rows, 0, "占非耕农用地面积（亩）"), "0.3");
    EXPECT_EQ(cell(rows, 0, "占生态红线面积（亩）"), "0.1");
    EXPECT_EQ(cell(rows, 0, "建设用地面积（亩）"), "0.3");
    EXPECT_EQ(cell(rows, 0, "用地审批批准文号"), "晋政地〔2020〕12号");
    EXPECT_EQ(cell(rows, 0, "用地审批占比（%）"), "25.5");
    EXPECT_EQ(cell(rows, 0, "设施农用地上图入库号"), "SS-2023-01");
    EXPECT_EQ(cell(rows, 0, "设施农用地占比（%）"), "100");
    EXPECT_EQ(cell(rows, 0, "初判核实认定意见（建议）"), "非农违法");
    EXPECT_EQ(cell(rows, 0, "初判分类（建议）"), "工矿商服");
    EXPECT_EQ(cell(rows, 0, "初判依据（建议）"), "无批文占耕地");
    EXPECT_EQ(cell(rows, 0, "整改方式"), "拆除");
    EXPECT_EQ(cell(rows, 0, "拆除面积（亩）"), "1.2");
    EXPECT_EQ(cell(rows, 0, "补办面积（亩）"), "");  // not recorded
    // Dates are Excel dates (GDAL reads them back as dates), the UTC time in Beijing time.
    EXPECT_EQ(cell(rows, 0, "下发日期"), "2023/07/15");
    EXPECT_EQ(cell(rows, 0, "后时相"), "2023/09/18");
    EXPECT_EQ(cell(rows, 0, "审核通过日期"), "2023/12/20");
    EXPECT_EQ(cell(rows, 0, "更新时间（北京时间）"), "2024/01/01 01:30:00");

    // The sheet's XML: frozen under the header, autofilter on the header, landscape A4 fit to
    // the width, the title and header rows printed on every page.
    const std::string sheet = book_part(out, "xl/worksheets/sheet2.xml");
    EXPECT_NE(sheet.find("<pane xSplit=\"2\" ySplit=\"2\" topLeftCell=\"C3\""), std::string::npos) << sheet.substr(0, 800);
    EXPECT_NE(sheet.find("<autoFilter ref=\"A2:"), std::string::npos);
    EXPECT_NE(sheet.find("<mergeCell ref=\"A1:"), std::string::npos);
    EXPECT_NE(sheet.find("<pageSetup paperSize=\"9\""), std::string::npos);
    EXPECT_NE(sheet.find("orientation=\"landscape\""), std::string::npos);
    EXPECT_NE(sheet.find("fitToHeight=\"0\""), std::string::npos);
    EXPECT_NE(sheet.find("fitToPage=\"1\""), std::string::npos);
    const std::string workbook = book_part(out, "xl/workbook.xml");
    EXPECT_NE(workbook.find("_xlnm.Print_Titles"), std::string::npos);
    EXPECT_NE(workbook.find("稷峰镇'!$1:$2"), std::string::npos);
}

TEST_P(LedgerExportFields, XlsxSummaryLeavesOutSplitCasesAndTheBookImportsBack) {
    // Split 0003 into two halves: the 汇总 counts the pieces, not the parent.
    {
        const fs::path pieces = dir_ / "pieces.gpkg";
        GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GPKG")->Create(pieces.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        OGRSpatialReference gk = test::gk_zone_37();
        OGRLayer* layer = ds->CreateLayer("pieces", &gk, wkbPolygon, nullptr);
        for (const auto& [x0, x1] : {std::pair{300.0, 325.0}, std::pair{325.0, 350.0}}) {
            OGRPolygon polygon;
            OGRLinearRing ring;
            ring.addPoint(500000 + x0, 3940000);
            ring.addPoint(500000 + x1, 3940000);
            ring.addPoint(500000 + x1, 3940060);
            ring.addPoint(500000 + x0, 3940060);
            ring.addPoint(500000 + x0, 3940000);
            polygon.addRing(&ring);
            OGRFeatureUniquePtr f(OGRFeature::CreateFeature(layer->GetLayerDefn()));
            f->SetGeometry(&polygon);
            ASSERT_EQ(layer->CreateFeature(f.get()), OGRERR_NONE);
        }
        ds.reset();
        SplitOptions options;
        options.who = "test";
        split_case(location(), "140824-2023-0003", pieces, options);
    }
    const fs::path out = dir_ / "cases.xlsx";
    export_ledger(location(), ExportFormat::Xlsx, out);
    const auto summary = sheet_rows(out, 0);
    EXPECT_EQ(cell(summary, 0, "乡镇名称"), "化峪镇");
    EXPECT_EQ(cell(summary, 0, "图斑（宗）"), "2");
    EXPECT_EQ(cell(summary, 0, "监测面积（亩）"), "4.5");
    EXPECT_EQ(cell(summary, 2, "图斑（宗）"), "4");
    EXPECT_EQ(summary[0][0].find("140824卫片执法图斑台账汇总（"), 0u);  // no county name given: its code
    const auto rows = sheet_rows(out, 2);
    EXPECT_EQ(cell(rows, 0, "图斑编号"), "140824-2023-0003");
    EXPECT_EQ(cell(rows, 0, "状态"), "已拆分");
    EXPECT_EQ(cell(rows, 1, "图斑编号"), "140824-2023-0003_1");
    EXPECT_EQ(cell(rows, 1, "地块面积（亩）"), "2.25");

    // The title row does not stop `ledger import`: it finds the header under it.
    const auto imported = read_import_file(out);
    ASSERT_EQ(imported.size(), 5u);
    EXPECT_EQ(imported[0].case_id, "140824-2023-0001");
    EXPECT_EQ(imported[0].result, "违法");
}

TEST_P(LedgerExportFields, ShapefileFieldsAreWideEnoughToFillInAfterwards) {
    const fs::path out = dir_ / "shp" / "cases.shp";
    export_ledger(location(), ExportFormat::Shapefile, out);
    EXPECT_EQ(test::read_text(dir_ / "shp" / "cases.cpg"), "GBK");
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(out.c_str(), GDAL_OF_VECTOR));
        ASSERT_TRUE(ds);
        OGRFeatureDefn* defn = ds->GetLayer(0)->GetLayerDefn();
        std::map<std::string, int> width;
        for (int i = 0; i < defn->GetFieldCount(); ++i) {
            const std::string field = defn->GetFieldDefn(i)->GetNameRef();
            EXPECT_LE(field.size(), 10u) << field;
            width[field] = defn->GetFieldDefn(i)->GetWidth();
        }
        // Free text 254, words 50, codes 30, dates and statuses 20 — also when every value is empty.
        for (const char* field : {"XMMC", "XMZT", "XCHCMS", "BZ", "ZGCS", "PZWH", "GDWH", "BDCQZH", "LSYDWH", "SSNYDH"})
            EXPECT_EQ(width[field], 254) << field;
        for (const char* field : {"HSRDYJ", "FL", "XSBH", "PC", "WQBH", "CP_YJ", "CP_FL", "ZRR", "XZMC"}) EXPECT_EQ(width[field], 50) << field;
        for (const char* field : {"JCBH", "GLBH"}) EXPECT_EQ(width[field], 30) << field;
        for (const char* field : {"ZT", "HFXSC", "ZGFS", "XFRQ", "SHTGRQ", "JSSJ", "ZGQX", "TBLX"}) EXPECT_EQ(width[field], 20) << field;
        for (const char* field : {"YJJBNT_MU", "FGNYD_MU", "WLYD_MU", "STHX_MU", "JSYD_MU", "WDC_MU", "PZWH_ZB", "SSNYDH_ZB", "CC_MU", "SY_MU"})
            EXPECT_TRUE(width.count(field)) << field;
        OGRLayer* layer = ds->GetLayer(0);
        OGRFeatureUniquePtr f(layer->GetNextFeature());
        EXPECT_STREQ(f->GetFieldAsString("XSBH"), "140824SJBG23210001");
        EXPECT_STREQ(f->GetFieldAsString("HSRDYJ"), "非农违法");
        EXPECT_STREQ(f->GetFieldAsString("CP_YJ"), "非农违法");
        EXPECT_STREQ(f->GetFieldAsString("LY"), "下发线索");
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("PZWH_ZB"), 25.5);
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("CC_MU"), 1.2);
        EXPECT_FALSE(f->IsFieldSetAndNotNull(f->GetFieldIndex("BB_MU")));  // not recorded
        EXPECT_DOUBLE_EQ(f->GetFieldAsDouble("YJJBNT_MU"), 0.5);
    }
    // A county fills in the verdict of the second case (empty in the export) in desktop GIS.
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(out.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE));
        ASSERT_TRUE(ds);
        OGRLayer* layer = ds->GetLayer(0);
        OGRFeatureUniquePtr f(layer->GetFeature(1));
        ASSERT_TRUE(f);
        EXPECT_STREQ(f->GetFieldAsString("JCBH"), "140824-2023-0002");
        EXPECT_FALSE(f->IsFieldSetAndNotNull(f->GetFieldIndex("HSRDYJ")));
        f->SetField("HSRDYJ", "违法");
        f->SetField("XMMC", "某某村委会扩建养殖场附属用房及硬化场地工程");
        CPLErrorReset();
        ASSERT_EQ(layer->SetFeature(f.get()), OGRERR_NONE);
        EXPECT_EQ(CPLGetLastErrorType(), CE_None) << CPLGetLastErrorMsg();  // no truncation warning
    }
    GDALDatasetUniquePtr ds(GDALDataset::Open(out.c_str(), GDAL_OF_VECTOR));
    OGRFeatureUniquePtr f(ds->GetLayer(0)->GetFeature(1));
    EXPECT_STREQ(f->GetFieldAsString("HSRDYJ"), "违法");
    EXPECT_STREQ(f->GetFieldAsString("XMMC"), "某某村委会扩建养殖场附属用房及硬化场地工程");
}

TEST_P(LedgerExportFields, KmlCarriesTheLeadTheVerdictAndThePreJudgementAsASuggestion) {
    const fs::path out = dir_ / "cases.kml";
    export_ledger(location(), ExportFormat::Kml, out);
    const std::string kml = test::read_text(out);
    EXPECT_NE(kml.find("线索 140824SJBG23210001"), std::string::npos);
    EXPECT_NE(kml.find("核实认定意见 非农违法（工矿商服）"), std::string::npos);
    EXPECT_NE(kml.find("初判（建议）非农违法（工矿商服）"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerExportFields, ::testing::Values(test::LedgerBackend::GeoPackage, test::LedgerBackend::PostgreSQL),
                         test::backend_name);

}  // namespace
}  // namespace weipian
