#pragma once
// The platform's verdict vocabulary (核实认定意见 + 分类, ENFORCEMENT.md §2), declared once: the
// pre-judgement (pipeline/prejudge.hpp) suggests from it, `ledger import` accepts it (with its
// spelling variants), and the ledger maps a verdict onto its lifecycle (ledger/ledger.hpp).
#include <optional>
#include <string>
#include <vector>

namespace weipian {

// One 核实认定意见 with its 分类 list (empty = the platform shows none, e.g. 农村道路).
// `status` is the ledger status a verified case takes: 合法, 误报 or 违法.
struct VerdictEntry {
    std::string verdict;                  // 合法, 其他, 非农违法, 农村道路, 设施农用地, 非粮违法, 伪变化
    std::vector<std::string> categories;  // 分类 allowed with it
    const char* status;                   // "合法", "违法" or "误报"
};

// The list printed for county staff (ENFORCEMENT.md §2) plus 非粮违法 and 伪变化 met in the
// platform. 非农违法 categories are the four groups; their finer uses (厂房类, 光伏, …) are
// 用途分类细化 and are accepted as that.
const std::vector<VerdictEntry>& verdict_table();

// The suggestion word for "cannot decide, evidence missing" (never stored as a verdict).
inline constexpr const char* kDoubtful = "存疑";

// Reads a verdict, folding spelling variants (实地为设施 → 设施农用地, 非农建设违法 → 非农违法,
// surrounding blanks). Empty optional when it is not in the table.
std::optional<std::string> normalize_verdict(const std::string& text);

// Reads a 分类 of `verdict` (a normalized verdict), folding variants (203范围 → 203范围及开天窗,
// 边坡治理地块 → 边坡治理, 批准文号/批文 → 批文). Empty text stays empty (allowed where the
// verdict has no categories, or left unfilled). Empty optional when not allowed with `verdict`.
std::optional<std::string> normalize_category(const std::string& verdict, const std::string& text);

// "合法, 其他, 非农违法, 农村道路, 设施农用地, 非粮违法, 伪变化" and, for one verdict,
// "批文, 供地手续, 登记发证, 其他": for messages that name the allowed values.
std::string allowed_verdicts_text();
std::string allowed_categories_text(const std::string& verdict);

// The ledger status a verified verdict implies ("合法", "违法" or "误报"); nullptr for an unknown one.
const char* verdict_status(const std::string& verdict);

}  // namespace weipian
