#include "pipeline/emit.hpp"

#include <nlohmann/json.hpp>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <system_error>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/form_fields.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/stage.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

std::ofstream open_text(const fs::path& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw InputError("outputs: cannot write '" + path.string() +
                         "'; check that the output folder exists and is writable");
    }
    return out;
}

void close_text(std::ofstream& out, const fs::path& path) {
    out.close();
    if (!out) {
        throw InputError("outputs: writing '" + path.string() + "' failed; check free space on the output disk");
    }
}

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + '"';
}

std::string date_or_unknown(const std::string& date) { return date.empty() ? std::string("未注明") : date; }

}  // namespace

void write_parcels_gpkg(const fs::path& path, const std::vector<Parcel>& parcels, const OGRSpatialReference& srs,
                        const ParcelAttributes& attributes) {
    ensure_gdal_registered();
    auto* driver = GetGDALDriverManager()->GetDriverByName("GPKG");
    if (!driver) throw InternalError("outputs: this GDAL build has no GPKG driver");
    // `detail`: GDAL's message, read before anything else (a rollback) resets it.
    const auto fail = [&](const std::string& what, const std::string& detail = last_gdal_error()) {
        throw InputError("outputs: cannot write '" + path.string() + "': " + what + " (" + detail +
                         "); check that the output folder is writable");
    };
    VSIUnlink(path.string().c_str());  // GPKG Create() refuses to overwrite
    CPLErrorReset();
    GDALDatasetUniquePtr dataset(driver->Create(path.string().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    if (!dataset) fail("cannot create the GeoPackage");
    // x = easting/longitude in the file, whatever order the CRS declares (EPSG:4490, 45xx).
    const auto layer_srs = clone_traditional(srs);
    OGRLayer* layer = dataset->CreateLayer("parcels", layer_srs.get(), wkbMultiPolygon, nullptr);
    if (!layer) fail("cannot create layer 'parcels'");
    struct FieldSpec {
        const char* name;
        OGRFieldType type;
        // The form's heading: the field's alternative name, which GDAL ≥ 3.7 stores in the
        // GeoPackage (gpkg_data_columns) and QGIS shows; Debian 12's GDAL 3.6 drops it.
        const char* alias;
    };
    static const FieldSpec fields[] = {
        {"parcel_id", OFTInteger64, "图斑序号"}, {"patch_id", OFTInteger64, "变化斑块号"},
        {"xzmc", OFTString, "乡镇名称"},         {"xzqdm", OFTString, "乡镇代码"},
        {"cjmc", OFTString, "村名称"},           {"cjdm", OFTString, "村代码"},
        {"area_m2", OFTReal, "地块面积（平方米）"}, {"area_mu", OFTReal, "地块面积（亩）"},
        {"cultivated_m2", OFTReal, "占耕地面积（平方米）"}, {"cultivated_mu", OFTReal, "占耕地面积（亩）"},
        {"fgnyd_mu", OFTReal, "占非耕农用地面积（亩）"}, {"wlyd_mu", OFTReal, "占未利用地面积（亩）"},
        {"jsyd_mu", OFTReal, "建设用地面积（亩）"}, {"wdc_mu", OFTReal, "未调查面积（亩）"},
        {"yjjbnt_mu", OFTReal, "占基本农田面积（亩）"}, {"sthx_mu", OFTReal, "占生态红线面积（亩）"},
        {"czkfbj_mu", OFTReal, "城镇开发边界内面积（亩）"}, {"dlbm", OFTString, "主要原地类"},
        {"sfyn", OFTString, "是否占永农"},       {"sfhx", OFTString, "是否占红线"},
        {"xsmk", OFTString, "刑事门槛"},
        {"pzwh", OFTString, "用地审批批准文号"}, {"pzwh_share", OFTReal, "用地审批覆盖比例（%）"},
        {"gdwh", OFTString, "土地供应批准文号"}, {"gdwh_share", OFTReal, "土地供应覆盖比例（%）"},
        {"bdcqzh", OFTString, "不动产权证号"},   {"bdcqzh_share", OFTReal, "不动产登记覆盖比例（%）"},
        {"lsydwh", OFTString, "临时用地批准文号"}, {"lsydwh_share", OFTReal, "临时用地覆盖比例（%）"},
        {"ssnydh", OFTString, "设施农用地上图入库号"}, {"ssnydh_share", OFTReal, "设施农用地覆盖比例（%）"},
        {"cp_yj", OFTString, "初判意见（建议）"}, {"cp_fl", OFTString, "初判分类（建议）"},
        {"cp_rule", OFTString, "初判规则（建议）"}, {"cp_evidence", OFTString, "初判依据（建议）"},
        {"cp_missing", OFTString, "存疑缺少材料（建议）"},
        {"case_id", OFTString, "案件编号"},      {"lead_id", OFTString, "线索编号"},
        {"centroid_x", OFTReal, "中心点X"},      {"centroid_y", OFTReal, "中心点Y"},
        {"qsx", OFTString, "前时相"},            {"hsx", OFTString, "后时相"},
        {"change_score", OFTReal, "变化分值"},   {"pixel_count", OFTInteger64, "像元数"},
        {"tblx", OFTString, "图斑类型"},         {"bz", OFTString, "备注"},
    };
    for (const auto& spec : fields) {
        OGRFieldDefn definition(spec.name, spec.type);
        definition.SetAlternativeName(spec.alias);
        if (layer->CreateField(&definition) != OGRERR_NONE)
            fail(std::string("cannot create field '") + spec.name + "'");
    }
    if (dataset->StartTransaction() != OGRERR_NONE) fail("cannot start a transaction");
    for (const auto& parcel : parcels) {
        if (!parcel.geometry) throw InternalError("outputs: parcel " + std::to_string(parcel.id) + " has no geometry");
        auto feature = OGRFeatureUniquePtr(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        feature->SetField("parcel_id", static_cast<GIntBig>(parcel.id));
        feature->SetField("patch_id", static_cast<GIntBig>(parcel.patch_id));
        feature->SetField("xzmc", parcel.township_name.c_str());
        feature->SetField("xzqdm", parcel.township_code.c_str());
        // *_mu are the report's own rounded values (to_centimu / 100), so summing the column
        // in a GIS gives exactly the totals of townships.csv and summary.txt.
        feature->SetField("area_m2", round2(parcel.area_m2));
        feature->SetField("area_mu", static_cast<double>(to_centimu(parcel.area_m2)) / 100.0);
        feature->SetField("cultivated_m2", round2(parcel.cultivated_m2));
        feature->SetField("cultivated_mu", static_cast<double>(to_centimu(parcel.cultivated_m2)) / 100.0);
        const ParcelOverlay& overlay = parcel.overlay;
        const LandPartsMu parts = land_parts_centimu(parcel);
        const auto mu = [](std::int64_t centimu) { return static_cast<double>(centimu) / 100.0; };
        feature->SetField("cjmc", overlay.village_name.c_str());
        feature->SetField("cjdm", overlay.village_code.c_str());
        feature->SetField("fgnyd_mu", mu(parts.other_agricultural));
        feature->SetField("wlyd_mu", mu(parts.unused));
        feature->SetField("jsyd_mu", mu(parts.construction));
        feature->SetField("wdc_mu", mu(parts.unsurveyed));
        feature->SetField("yjjbnt_mu", mu(parts.permanent_farmland));
        feature->SetField("sthx_mu", mu(parts.redline));
        feature->SetField("czkfbj_mu", mu(to_centimu(overlay.urban_boundary_m2)));
        feature->SetField("dlbm", overlay.land.dominant_class.c_str());
        feature->SetField("sfyn", touches_text(overlay.permanent_farmland_assessed, overlay.permanent_farmland_m2).c_str());
        feature->SetField("sfhx", touches_text(overlay.redline_assessed, overlay.redline_m2).c_str());
        feature->SetField("xsmk", criminal_exposure(parts).c_str());
        const FormEvidence evidence = form_evidence(overlay);
        for (int i = 0; i < kEvidenceColumns; ++i) {
            const std::string field = evidence_field(static_cast<EvidenceColumn>(i));
            feature->SetField(field.c_str(), evidence.numbers[i].c_str());
            feature->SetField((field + "_share").c_str(), evidence.share_percent[i]);
        }
        const Prejudgement& cp = parcel.prejudgement;
        feature->SetField("cp_yj", cp.verdict.c_str());
        feature->SetField("cp_fl", cp.category.c_str());
        feature->SetField("cp_rule", cp.rule.c_str());
        feature->SetField("cp_evidence", cp.evidence.c_str());
        feature->SetField("cp_missing", cp.missing.c_str());
        feature->SetField("case_id", parcel.case_id.c_str());
        feature->SetField("lead_id", parcel.lead_id.c_str());
        feature->SetField("centroid_x", round2(parcel.centroid_x));
        feature->SetField("centroid_y", round2(parcel.centroid_y));
        feature->SetField("qsx", attributes.before_date.c_str());
        feature->SetField("hsx", attributes.after_date.c_str());
        feature->SetField("change_score", parcel.change_score);
        feature->SetField("pixel_count", static_cast<GIntBig>(parcel.pixel_count));
        feature->SetField("tblx", parcel.tblx.c_str());
        if (!parcel.remarks.empty()) feature->SetField("bz", parcel.remarks.c_str());
        OGRGeometryUniquePtr multi(OGRGeometryFactory::forceToMultiPolygon(parcel.geometry->clone()));
        multi->assignSpatialReference(layer_srs.get());
        feature->SetGeometryDirectly(multi.release());
        if (layer->CreateFeature(feature.get()) != OGRERR_NONE) {
            const std::string detail = last_gdal_error();
            dataset->RollbackTransaction();
            fail("cannot write parcel " + std::to_string(parcel.id), detail);
        }
    }
    if (dataset->CommitTransaction() != OGRERR_NONE) fail("cannot commit the parcels");
    CPLErrorReset();
    dataset.reset();  // closes the file
    if (CPLGetLastErrorType() >= CE_Failure) fail("closing the GeoPackage failed");
}

void write_townships_csv(const fs::path& path, const std::vector<TownshipSummary>& rows) {
    auto out = open_text(path);
    out << "\xEF\xBB\xBF"
        << "rank,township,code,cases,area_mu,cultivated_cases,cultivated_mu\n";
    int rank = 0;
    for (const auto& row : rows) {
        out << ++rank << ',' << csv_field(row.name) << ',' << csv_field(row.code) << ',' << row.cases << ','
            << format_mu_fixed2(row.area_centimu) << ',' << row.cultivated_cases << ',' << format_mu_fixed2(row.cultivated_centimu) << '\n';
    }
    const auto total = total_of(rows);
    out << ",合计,," << total.cases << ',' << format_mu_fixed2(total.area_centimu) << ',' << total.cultivated_cases << ','
        << format_mu_fixed2(total.cultivated_centimu) << '\n';
    close_text(out, path);
}

void write_summary_txt(const fs::path& path, const std::string& county_name, const ParcelAttributes& attributes,
                       const std::vector<TownshipSummary>& rows, const GreenhouseCount& greenhouses,
                       const PrejudgeSummary* prejudge) {
    const std::string noun = "疑似违法用地";
    const std::string county = county_name.empty() ? std::string("本县") : county_name;
    auto out = open_text(path);
    out << county << "卫片监测新增建设疑似违法用地图斑汇总（前时相 QSX " << date_or_unknown(attributes.before_date)
        << "，后时相 HSX " << date_or_unknown(attributes.after_date) << "）\n\n";
    const auto total = total_of(rows);
    if (total.cases == 0) {
        out << "本期卫片监测未发现新增建设疑似违法用地图斑。\n";
    } else {
        out << format_county_line("本期卫片监测", total, noun) << "各乡镇涉及耕地面积从大到小依次排名如下。\n\n";
        int rank = 0;
        for (const auto& row : rows) out << format_township_line(++rank, row, noun) << '\n';
        if (greenhouses.parcels > 0)
            out << "\n其中图斑类型为大棚（DP，设施农业）的 " << greenhouses.parcels << " 宗，面积 " << format_mu(greenhouses.centimu)
                << " 亩：须核对设施农用地备案，不按建筑统计。\n";
        if (prejudge) {
            const std::string lines = format_prejudge_lines(*prejudge);
            if (!lines.empty()) out << '\n' << lines;
        }
        out << "\n说明：以上图斑由卫片自动提取，是外业核查的线索，不是违法认定结论；每宗须经外业核查后方可定性。"
               "面积为平面面积（亩 = 平方米 × 0.0015），每宗先保留两位小数再合计，各乡镇之和等于全县合计。\n";
        if (!attributes.cultivated_assessed) {
            out << "本次未配置耕地图层（overlay.cultivated），耕地面积未核算：“不涉及耕地”不代表图斑未占用耕地。\n";
        }
    }
    close_text(out, path);
}

void write_json(const fs::path& path, const nlohmann::json& document) {
    auto out = open_text(path);
    // Replace rather than throw on invalid UTF-8 (a GBK field that slipped through).
    out << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    close_text(out, path);
}

static_assert(Stage<EmitStage>);

EmitStage::Options EmitStage::Options::from(const Config& config) {
    Options o;
    o.county_name = config.county.name;
    o.attributes = ParcelAttributes{config.before.date, config.after.date};
    o.attributes.cultivated_assessed = config.overlay.cultivated.configured();
    o.output_dir = config.output_dir;
    o.prejudge = config.prejudge;
    return o;
}

void EmitStage::validate() const {
    if (options_.output_dir.empty())
        throw ConfigError("config: key 'output.dir' is empty; give the output folder (or pass --out)");
}

std::vector<TownshipSummary> EmitStage::run(const fs::path& dir, const std::vector<Parcel>& parcels,
                                            const OGRSpatialReference& srs) const {
    std::vector<TownshipSummary> rows = summarize_by_township(parcels);
    write_parcels_gpkg(dir / "parcels.gpkg", parcels, srs, options_.attributes);
    write_townships_csv(dir / "townships.csv", rows);
    GreenhouseCount greenhouses;
    for (const auto& p : parcels)
        if (p.tblx == "DP") {
            ++greenhouses.parcels;
            greenhouses.centimu += to_centimu(p.area_m2);
        }
    const PrejudgeSummary prejudge = summarize_prejudgement(parcels, rows, options_.prejudge, options_.attributes.cultivated_assessed);
    write_summary_txt(dir / "summary.txt", options_.county_name, options_.attributes, rows, greenhouses,
                      options_.prejudge.enabled ? &prejudge : nullptr);
    return rows;
}

}  // namespace weipian
