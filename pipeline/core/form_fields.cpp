#include "pipeline/core/form_fields.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/units.hpp"

namespace weipian {

LandPartsMu land_parts_centimu(const Parcel& parcel) {
    LandPartsMu out;
    out.total = to_centimu(parcel.area_m2);
    const LandParts& land = parcel.overlay.land;
    const double m2[5] = {parcel.cultivated_m2, land.other_agricultural_m2, land.unused_m2, land.construction_m2,
                          land.unsurveyed_m2};
    std::int64_t* parts[5] = {&out.cultivated, &out.other_agricultural, &out.unused, &out.construction, &out.unsurveyed};
    double sum_m2 = 0;
    for (double v : m2) sum_m2 += std::max(0.0, v);
    if (out.total <= 0 || sum_m2 <= 0) {
        out.unsurveyed = out.total;
    } else {
        // Shares of the total in hundredths, scaled so they add up to the total exactly.
        double exact[5];
        std::int64_t given = 0;
        for (int i = 0; i < 5; ++i) {
            exact[i] = std::max(0.0, m2[i]) / sum_m2 * static_cast<double>(out.total);
            *parts[i] = static_cast<std::int64_t>(std::floor(exact[i]));
            given += *parts[i];
        }
        int order[5] = {0, 1, 2, 3, 4};
        std::stable_sort(order, order + 5, [&](int a, int b) {
            return exact[a] - std::floor(exact[a]) > exact[b] - std::floor(exact[b]);
        });
        for (int k = 0; given < out.total; k = (k + 1) % 5, ++given) ++*parts[order[k]];
    }
    out.permanent_farmland = std::min(to_centimu(parcel.overlay.permanent_farmland_m2), out.cultivated);
    out.redline = std::min(to_centimu(parcel.overlay.redline_m2), out.total);
    return out;
}

const char* evidence_field(EvidenceColumn column) {
    static const char* names[] = {"pzwh", "gdwh", "bdcqzh", "lsydwh", "ssnydh"};
    return names[static_cast<int>(column)];
}

const char* evidence_heading(EvidenceColumn column) {
    static const char* names[] = {"用地审批批准文号", "土地供应批准文号", "不动产权证号", "临时用地批准文号", "设施农用地上图入库号"};
    return names[static_cast<int>(column)];
}

EvidenceColumn evidence_column_of(const std::string& kind) {
    if (kind == "批准用地" || kind == "增减挂钩") return EvidenceColumn::Approval;
    if (kind == "供地") return EvidenceColumn::Supply;
    if (kind == "不动产登记") return EvidenceColumn::Title;
    if (kind == "临时用地") return EvidenceColumn::Temporary;
    if (kind == "设施农用地") return EvidenceColumn::Facility;
    throw InternalError("form: approval kind '" + kind + "' has no evidence column");
}

FormEvidence form_evidence(const ParcelOverlay& overlay) {
    FormEvidence out;
    std::array<std::set<std::string>, kEvidenceColumns> numbers;
    for (const auto& cover : overlay.approvals) {
        const int column = static_cast<int>(evidence_column_of(cover.kind));
        numbers[column].insert(cover.numbers.begin(), cover.numbers.end());
        out.share_percent[column] = std::max(out.share_percent[column], std::round(cover.share * 10000.0) / 100.0);
    }
    for (int i = 0; i < kEvidenceColumns; ++i)
        for (const auto& n : numbers[i]) out.numbers[i] += (out.numbers[i].empty() ? "" : "、") + n;
    return out;
}

std::string touches_text(bool assessed, double area_m2) {
    if (!assessed) return "未评估";
    return area_m2 >= kTouchMinimumM2 ? "是" : "否";
}

std::string criminal_exposure(const LandPartsMu& parts) {
    std::string out;
    if (parts.permanent_farmland >= 500) out = "基本农田≥5亩";
    if (parts.cultivated - parts.permanent_farmland >= 1000) out += std::string(out.empty() ? "" : "；") + "耕地≥10亩";
    return out;
}

}  // namespace weipian
