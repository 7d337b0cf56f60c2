#include "ledger/ledger.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/township_summary.hpp"

namespace weipian {

namespace {

struct StatusName {
    CaseStatus status;
    const char* label;
    const char* english;
};

constexpr std::array<StatusName, 9> kStatusNames = {{
    {CaseStatus::ToVerify, "待核查", "to_verify"},
    {CaseStatus::Legal, "合法", "legal"},
    {CaseStatus::FalseAlarm, "误报", "false_alarm"},
    {CaseStatus::Illegal, "违法", "illegal"},
    {CaseStatus::Rectifying, "整改中", "rectifying"},
    {CaseStatus::Rectified, "已整改", "rectified"},
    {CaseStatus::Closed, "销号", "closed"},
    {CaseStatus::Split, "已拆分", "split"},
    {CaseStatus::Merged, "已合并", "merged"},
}};

}  // namespace

std::string township_label(const std::string& name, const std::string& code) {
    return name == kUnassignedTownship && code.empty() ? std::string(kUnassignedTownshipLabel) : name;
}

const char* status_label(CaseStatus status) {
    for (const auto& name : kStatusNames)
        if (name.status == status) return name.label;
    return "?";
}

std::optional<CaseStatus> parse_status(const std::string& raw) {
    const std::string text = lower_ascii(trim(raw));
    for (const auto& name : kStatusNames)
        if (text == name.label || text == name.english) return name.status;
    return std::nullopt;
}

const std::vector<CaseStatus>& allowed_next(CaseStatus from) {
    using S = CaseStatus;
    static const std::vector<S> to_verify = {S::Legal, S::FalseAlarm, S::Illegal};
    static const std::vector<S> legal = {S::Closed, S::FalseAlarm, S::Illegal};
    static const std::vector<S> false_alarm = {S::Closed, S::Legal, S::Illegal};
    static const std::vector<S> illegal = {S::Rectifying, S::Legal, S::FalseAlarm};
    static const std::vector<S> rectifying = {S::Rectified};
    static const std::vector<S> rectified = {S::Closed, S::Rectifying};
    static const std::vector<S> closed = {};
    switch (from) {
        case S::ToVerify: return to_verify;
        case S::Legal: return legal;
        case S::FalseAlarm: return false_alarm;
        case S::Illegal: return illegal;
        case S::Rectifying: return rectifying;
        case S::Rectified: return rectified;
        case S::Closed:
        case S::Split:
        case S::Merged: return closed;
    }
    return closed;
}

bool transition_allowed(CaseStatus from, CaseStatus to) {
    const auto& next = allowed_next(from);
    return std::find(next.begin(), next.end(), to) != next.end();
}

std::string refused_transition_message(const std::string& case_id, CaseStatus from, CaseStatus to) {
    std::string message = "case " + case_id + ": " + status_label(from) + " → " + status_label(to) + " is not allowed; ";
    const auto& next = allowed_next(from);
    if (next.empty()) return message + status_label(from) + " is final, no status may follow it";
    message += std::string("from ") + status_label(from) + " the allowed next statuses are ";
    for (std::size_t i = 0; i < next.size(); ++i) message += (i ? ", " : "") + std::string(status_label(next[i]));
    return message;
}

std::vector<std::string> RectificationPlan::missing() const {
    std::vector<std::string> out;
    if (trim(measures).empty()) out.emplace_back("整改措施");
    if (trim(deadline).empty()) out.emplace_back("整改时限");
    if (trim(responsible).empty()) out.emplace_back("责任人");
    return out;
}

bool counted_by_status_only(const LedgerCase& c) { return c.remaining_centimu < 0; }

bool review_ended(const LedgerCase& c, CaseStatus status, std::optional<CaseStatus> result, const std::string& on) {
    if (!c.review_ended_at.empty() && (on.empty() || c.review_ended_at <= on)) return true;
    return status == CaseStatus::Closed && result == CaseStatus::Illegal;
}

bool counts_as_rectified(const LedgerCase& c, CaseStatus status, std::optional<CaseStatus> result, const std::string& on) {
    if (result != CaseStatus::Illegal) return false;
    if (counted_by_status_only(c)) return status == CaseStatus::Rectified || status == CaseStatus::Closed;
    return c.remaining_centimu == 0 && review_ended(c, status, result, on);
}

bool counts_as_rectified(const LedgerCase& c) { return counts_as_rectified(c, c.status, c.result, {}); }

std::string format_case_id(const std::string& county_code, int year, int seq) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "-%d-%04d", year, seq);
    return county_code + buffer;
}

std::shared_ptr<const OGRGeometry> share_geometry(OGRGeometry* geometry) {
    return std::shared_ptr<const OGRGeometry>(geometry, [](const OGRGeometry* g) {
        OGRGeometryFactory::destroyGeometry(const_cast<OGRGeometry*>(g));
    });
}

FeedContext feed_context_for(const Config& config, std::string run_id) {
    FeedContext context;
    context.county_code = config.county.code;
    context.qsx = config.before.date;
    context.hsx = config.after.date;
    context.run_id = std::move(run_id);
    context.cultivated_assessed = config.overlay.cultivated.configured();
    return context;
}

nlohmann::json LedgerFeedSummary::to_json() const {
    return {{"ledger", ledger},
            {"run_id", run_id},
            {"already_fed", already_fed},
            {"parcels", parcels},
            {"new_cases", new_cases},
            {"updated_cases", updated_cases},
            {"flagged_cases", flagged_cases},
            {"lead_parcels", lead_parcels},
            {"detected_leads", detected_leads},
            {"new_case_ids", new_case_ids}};
}

void apply_ledger_override(Config& config, const std::string& ledger) {
    if (ledger.empty()) return;
    config.ledger.path = ledger;
    config.validate();
}

}  // namespace weipian
