#include "pipeline/core/verdicts.hpp"

#include <utility>

#include "pipeline/core/text.hpp"

namespace weipian {

const std::vector<VerdictEntry>& verdict_table() {
    static const std::vector<VerdictEntry> table = {
        {"合法", {"批文", "供地手续", "登记发证", "其他"}, "合法"},
        {"其他",
         {"边角细缝", "边坡治理", "地下管廊（网）", "农村宅基地", "水工建筑/涉海", "农村土坟", "203范围及开天窗", "省外飞地", "出入口",
          "紧急用地", "矿山修复治理", "生态修复用地", "电力设施", "灾毁地块", "水面高架桥", "其他"},
         "合法"},
        {"非农违法", {"工矿商服", "民生公益", "道路交通", "圈占堆放等其他用地"}, "违法"},
        {"农村道路", {}, "合法"},
        {"设施农用地", {}, "合法"},
        {"非粮违法", {}, "违法"},
        {"伪变化", {}, "误报"},
    };
    return table;
}

namespace {

const std::vector<std::pair<std::string, std::string>>& verdict_variants() {
    static const std::vector<std::pair<std::string, std::string>> v = {
        {"实地为设施", "设施农用地"}, {"设施农业用地", "设施农用地"}, {"非农建设违法", "非农违法"},
        {"违法", "非农违法"},         {"无变化", "伪变化"},           {"伪变化图斑", "伪变化"},
    };
    return v;
}

const std::vector<std::pair<std::string, std::string>>& category_variants() {
    static const std::vector<std::pair<std::string, std::string>> v = {
        {"203范围", "203范围及开天窗"}, {"开天窗", "203范围及开天窗"}, {"边坡治理地块", "边坡治理"},
        {"批准文号", "批文"},           {"用地批文", "批文"},           {"供地", "供地手续"},
        {"不动产登记", "登记发证"},     {"地下管廊", "地下管廊（网）"}, {"地下管廊(网)", "地下管廊（网）"},
        {"宅基地", "农村宅基地"},       {"圈占堆放", "圈占堆放等其他用地"},
    };
    return v;
}

}  // namespace

std::optional<std::string> normalize_verdict(const std::string& text) {
    const std::string t = trim(text);
    for (const auto& e : verdict_table())
        if (e.verdict == t) return e.verdict;
    for (const auto& [variant, verdict] : verdict_variants())
        if (variant == t) return verdict;
    return std::nullopt;
}

std::optional<std::string> normalize_category(const std::string& verdict, const std::string& text) {
    const std::string t = trim(text);
    if (t.empty()) return std::string();
    for (const auto& e : verdict_table()) {
        if (e.verdict != verdict) continue;
        for (const auto& c : e.categories)
            if (c == t) return c;
        for (const auto& [variant, category] : category_variants())
            if (variant == t)
                for (const auto& c : e.categories)
                    if (c == category) return c;
        return std::nullopt;
    }
    return std::nullopt;
}

std::string allowed_verdicts_text() {
    std::string out;
    for (const auto& e : verdict_table()) out += (out.empty() ? "" : ", ") + e.verdict;
    return out;
}

std::string allowed_categories_text(const std::string& verdict) {
    std::string out;
    for (const auto& e : verdict_table())
        if (e.verdict == verdict)
            for (const auto& c : e.categories) out += (out.empty() ? "" : ", ") + c;
    return out.empty() ? "(none)" : out;
}

const char* verdict_status(const std::string& verdict) {
    for (const auto& e : verdict_table())
        if (e.verdict == verdict) return e.status;
    return nullptr;
}

}  // namespace weipian
