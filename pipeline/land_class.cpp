#include "pipeline/land_class.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/text.hpp"

namespace weipian {

namespace {

using G = LandGroup;

// GB/T 21010-2017 second-level classes and the 三调 working classes, with their 三大类 group
// (land_class.hpp gives the sources). 01 classes are listed as 耕地 here; LandClassTable
// decides by the configured classes.
const std::map<std::string, LandGroup, std::less<>>& table() {
    static const std::map<std::string, LandGroup, std::less<>> t = [] {
        std::map<std::string, LandGroup, std::less<>> m;
        const auto put = [&m](std::initializer_list<const char*> codes, LandGroup group) {
            for (const char* code : codes) m.emplace(code, group);
        };
        put({"0101", "0102", "0103"}, G::Cultivated);
        // 农用地 other than 耕地
        put({"0201", "0202", "0203", "0204"}, G::OtherAgricultural);                           // 园地
        put({"0301", "0302", "0303", "0304", "0305", "0306", "0307"}, G::OtherAgricultural);   // 林地
        put({"0401", "0402", "0403"}, G::OtherAgricultural);                                   // 草地 but 0404
        put({"1006", "1103", "1104", "1107", "1202", "1203"}, G::OtherAgricultural);
        // 未利用地
        put({"0404", "1101", "1102", "1105", "1106", "1108", "1110", "1204", "1205", "1206", "1207"}, G::Unused);
        // 建设用地
        put({"0501", "0502", "0503", "0504", "0505", "0506", "0507", "0508", "05H1"}, G::Construction);
        put({"0601", "0602", "0603", "0604"}, G::Construction);
        put({"0701", "0702"}, G::Construction);
        put({"0801", "0802", "0803", "0804", "0805", "0806", "0807", "0808", "0809", "0810", "08H1", "08H2"},
            G::Construction);
        put({"09", "0901", "0902", "0903", "0904", "0905", "0906"}, G::Construction);
        put({"1001", "1002", "1003", "1004", "1005", "1007", "1008", "1009"}, G::Construction);
        put({"1109", "1201"}, G::Construction);
        return m;
    }();
    return t;
}

std::string upper(std::string text) {
    for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

}  // namespace

const char* land_group_name(LandGroup group) {
    switch (group) {
        case LandGroup::Cultivated: return "耕地";
        case LandGroup::OtherAgricultural: return "非耕农用地";
        case LandGroup::Unused: return "未利用地";
        case LandGroup::Construction: return "建设用地";
    }
    return "";
}

bool is_urban_village_code(std::string_view value) {
    const std::string v = upper(trim(value));
    return v == kUrbanVillageCode || v == std::string(kUrbanVillageCode) + "A";
}

std::optional<std::string> base_land_class(std::string_view value) {
    std::string v = upper(trim(value));
    if (table().contains(v)) return v;
    if (v.size() > 1 && (v.back() == 'K' || v.back() == 'A')) {
        v.pop_back();
        if (table().contains(v)) return v;
    }
    return std::nullopt;
}

LandClassTable::LandClassTable(const std::vector<std::string>& cultivated_classes,
                               const std::vector<std::string>& class_groups) {
    for (const auto& c : cultivated_classes) cultivated_.push_back(trim(c));
    for (const auto& entry : class_groups) {
        const auto eq = entry.rfind('=');
        if (eq == std::string::npos) throw InternalError("land classes: '" + entry + "' is not VALUE=GROUP");
        const std::string group = trim(entry.substr(eq + 1));
        std::optional<LandGroup> g;
        if (group == "非耕农用地")
            g = LandGroup::OtherAgricultural;
        else if (group == "未利用地")
            g = LandGroup::Unused;
        else if (group == "建设用地")
            g = LandGroup::Construction;
        else if (group != "未调查")
            throw InternalError("land classes: unknown group '" + group + "'");
        mapped_.emplace_back(trim(entry.substr(0, eq)), g);
    }
}

bool LandClassTable::unsurveyed(std::string_view value) const {
    const std::string v = trim(value);
    for (const auto& [name, group] : mapped_)
        if (name == v) return !group;
    return false;
}

std::optional<LandGroup> LandClassTable::group_of(std::string_view value) const {
    const std::string v = trim(value);
    if (std::find(cultivated_.begin(), cultivated_.end(), v) != cultivated_.end()) return LandGroup::Cultivated;
    for (const auto& [name, group] : mapped_)
        if (name == v) return group;
    const auto base = base_land_class(v);
    if (!base) return std::nullopt;
    const LandGroup group = table().find(*base)->second;
    return group == LandGroup::Cultivated ? LandGroup::OtherAgricultural : group;
}

}  // namespace weipian
