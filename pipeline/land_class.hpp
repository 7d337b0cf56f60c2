#pragma once
// The land-use classes of the survey layer (三调 DLTB, field DLBM) and the groups of the
// county's form (ENFORCEMENT.md §2): 耕地, 非耕农用地, 未利用地, 建设用地. Declared once here;
// the overlay (pipeline/overlay.hpp) sorts every bit of a parcel into one group by this table.
//
// Source: GB/T 21010-2017 《土地利用现状分类》, 附录A 表A.1 (土地利用现状分类与《土地管理法》
// “三大类”对照表): 农用地 = 01 耕地, 02 园地, 03 林地, 04 草地 except 0404, 1006 农村道路,
// 1103 水库水面, 1104 坑塘水面, 1107 沟渠, 1202 设施农用地, 1203 田坎; 建设用地 = 05, 06,
// 07, 08, 09, 10 except 1006, 1109 水工建筑用地, 1201 空闲地; 未利用地 = 0404 其他草地,
// 1101 河流水面, 1102 湖泊水面, 1105 沿海滩涂, 1106 内陆滩涂, 1108 沼泽地, 1110 冰川及永久
// 积雪, 1204–1207 (盐碱地, 沙地, 裸土地, 裸岩石砾地). 耕地 is the 农用地 part named by
// overlay.cultivated.classes (default 0101 水田, 0102 水浇地, 0103 旱地); the rest of 农用地
// is 非耕农用地. The 三调 working classes (TD/T 1055-2019 《第三次全国国土调查技术规程》附录A)
// are accepted too: 05H1, 08H1, 08H2, 09 (特殊用地, not subdivided), 0810A 广场用地,
// 1104A 养殖坑塘, 1107A 干渠, and the K-suffixed 可调整 classes (0201K–0204K, 0301K, 0302K,
// 0307K, 0403K, 1104K: 耕地 turned into orchard, forest, grass or ponds with the plough layer
// intact), each in the group of its base class (a K class is not 耕地 in the form).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weipian {

// The form's area groups, in the form's order (also the priority in which overlapping DLTB
// polygons are resolved: see pipeline/overlay.hpp).
enum class LandGroup { Cultivated = 0, OtherAgricultural, Unused, Construction };
inline constexpr int kLandGroups = 4;

// 耕地, 非耕农用地, 未利用地, 建设用地.
const char* land_group_name(LandGroup group);

// The class codes the pre-judgement rules need apart (ENFORCEMENT.md §3).
inline constexpr const char* kFacilityClass = "1202";    // 设施农用地
inline constexpr const char* kRuralRoadClass = "1006";   // 农村道路
inline constexpr const char* kHomesteadClass = "0702";   // 农村宅基地
// 城镇村属性码 (CZCSXM) of 村庄: 203, and 203A (村庄范围内的独立工业用地 in 三调) counts with it.
inline constexpr const char* kUrbanVillageCode = "203";
bool is_urban_village_code(std::string_view value);

// The GB/T 21010 class a DLBM value stands for: the value trimmed and upper-cased, with a
// trailing K (可调整) or A (三调 sub-class) removed when what remains is in the table;
// std::nullopt when it is not a class of the table (e.g. "9999", "水田", "").
std::optional<std::string> base_land_class(std::string_view value);

// The group of one DLBM value given the configured cultivated classes.
class LandClassTable {
public:
    // `cultivated_classes` (overlay.cultivated.classes) are compared after trimming; they may
    // be any text (a layer classed by name, e.g. 水田, works through them).
    // `class_groups` (overlay.cultivated.class_groups): "VALUE=GROUP" entries, already checked
    // by Config::validate, for values that are not GB/T 21010 codes.
    explicit LandClassTable(const std::vector<std::string>& cultivated_classes,
                            const std::vector<std::string>& class_groups = {});

    // True for a value mapped to 未调查: its features are left out of the land survey.
    bool unsurveyed(std::string_view value) const;

    // 耕地 for a configured cultivated value; otherwise the group of its base class, with a
    // 01 class that is not configured counted as 非耕农用地 (still 农用地, not 耕地 by the
    // configuration). std::nullopt for a value that is neither configured nor in the table.
    std::optional<LandGroup> group_of(std::string_view value) const;

private:
    std::vector<std::string> cultivated_;
    std::vector<std::pair<std::string, std::optional<LandGroup>>> mapped_;  // nullopt = 未调查
};

}  // namespace weipian
