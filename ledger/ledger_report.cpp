#include "ledger/ledger_report.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "pipeline/core/errors.hpp"
#include "ledger/ledger_store.hpp"

namespace weipian {

namespace {

// A case as it stood on some date, from its history.
struct CaseState {
    bool exists = false;
    CaseStatus status = CaseStatus::ToVerify;
    std::optional<CaseStatus> result;
};

bool judged_illegal(const CaseState& s) {
    return s.exists && s.result == CaseStatus::Illegal;
}

bool rectified(const CaseState& s) {
    return judged_illegal(s) && (s.status == CaseStatus::Rectified || s.status == CaseStatus::Closed);
}

bool needs_work(const CaseState& s) {
    return s.exists && (s.status == CaseStatus::ToVerify || s.status == CaseStatus::Illegal || s.status == CaseStatus::Rectifying);
}

// Replays `entries` (one case's, ordered by date then write order) up to `date`.
CaseState state_on(const std::vector<const HistoryEntry*>& entries, const std::string& date) {
    CaseState s;
    for (const HistoryEntry* e : entries) {
        if (e->at > date) break;
        s.exists = !superseded(e->to_status);  // split or merged: its pieces or survivor count instead
        s.status = e->to_status;
        if (e->to_status == CaseStatus::Legal || e->to_status == CaseStatus::FalseAlarm || e->to_status == CaseStatus::Illegal)
            s.result = e->to_status;
    }
    return s;
}

// m² whose to_centimu() gives back `centimu` exactly (亩 = m² × 0.0015).
double m2_of_centimu(std::int64_t centimu) {
    const double m2 = static_cast<double>(centimu) * 20.0 / 3.0;
    if (to_centimu(m2) != centimu) throw InternalError("report: " + std::to_string(centimu) + " centimu does not round-trip");
    return m2;
}

// "50.8%": one decimal, rounded half up.
std::string percent_text(std::int64_t part, std::int64_t whole) {
    if (whole == 0) return "—";
    const std::int64_t permille = (part * 2000 + whole) / (2 * whole);
    return std::to_string(permille / 10) + "." + std::to_string(permille % 10) + "%";
}

std::string chinese_ordinal(std::size_t n) {
    static const char* digits[] = {"", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    if (n < 10) return digits[n];
    if (n < 20) return std::string("十") + digits[n % 10];
    if (n < 100) return std::string(digits[n / 10]) + "十" + digits[n % 10];
    return std::to_string(n);
}

bool in_cohort(int year, const std::optional<std::pair<int, int>>& cohort) {
    return !cohort || (year >= cohort->first && year <= cohort->second);
}

}  // namespace

std::string cohort_label(int first_year, int last_year) {
    if (first_year == last_year) return std::to_string(first_year) + " 年";
    return std::to_string(first_year) + "—" + std::to_string(last_year) + "年";
}

LedgerReport build_ledger_report(const std::string& ledger, const LedgerReportOptions& options) {
    const std::string as_of = options.as_of.empty() ? today_date() : options.as_of;
    if (const auto parsed = parse_ledger_date(as_of); !parsed || *parsed != as_of)
        throw ConfigError("report: --as-of '" + as_of + "' is not a date YYYY-MM-DD");
    const int as_of_year = std::stoi(as_of.substr(0, 4));

    auto store = LedgerStore::open(ledger, LedgerStore::Mode::Read);
    const std::vector<LedgerCase> cases = store->load_cases(false);
    const std::vector<HistoryEntry> history = store->load_history();
    std::set<std::string> not_assessed_runs;
    for (const auto& run : store->load_runs())
        if (!run.cultivated_assessed) not_assessed_runs.insert(run.run_id);
    store.reset();

    std::map<std::string, std::vector<const HistoryEntry*>> by_case;
    for (const auto& e : history) by_case[e.case_id].push_back(&e);
    for (auto& [id, entries] : by_case)
        std::stable_sort(entries.begin(), entries.end(), [](const HistoryEntry* a, const HistoryEntry* b) {
            return std::tie(a->at, a->fid) < std::tie(b->at, b->fid);
        });
    const auto state = [&](const LedgerCase& c, const std::string& date) { return state_on(by_case[c.case_id], date); };

    LedgerReport report;
    report.ledger = redact_ledger_location(ledger);
    report.as_of = as_of;
    std::vector<CaseState> now(cases.size());
    std::set<int> years;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        now[i] = state(cases[i], as_of);
        if (!now[i].exists) continue;
        ++report.cases;
        years.insert(cases[i].year);
    }

    // The cohorts: the one asked for, else those of the milestones, then each 年清 year.
    std::vector<std::pair<int, int>> cohorts;
    const auto add_cohort = [&](std::pair<int, int> c) {
        if (std::find(cohorts.begin(), cohorts.end(), c) == cohorts.end()) cohorts.push_back(c);
    };
    if (options.cohort) {
        add_cohort(*options.cohort);
    } else {
        for (const auto& m : options.milestones) add_cohort({m.first_year, m.last_year});
        for (const int y : years)
            if (options.annual_clearance_from > 0 && y >= options.annual_clearance_from) add_cohort({y, y});
        if (cohorts.empty())
            for (const int y : years) add_cohort({y, y});
    }

    // 1. The plan's summary per cohort.
    for (const auto& [first, last] : cohorts) {
        CohortSummary summary;
        summary.first_year = first;
        summary.last_year = last;
        std::vector<Parcel> parcels;
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const LedgerCase& c = cases[i];
            if (c.year < first || c.year > last || !judged_illegal(now[i])) continue;
            Parcel p;
            p.township_name = c.township_name;
            p.township_code = c.township_code;
            p.area_m2 = m2_of_centimu(c.area_centimu);
            p.cultivated_m2 = m2_of_centimu(c.cultivated_centimu);
            parcels.push_back(std::move(p));
            if (not_assessed_runs.count(c.first_seen_run)) ++summary.cultivated_not_assessed;
        }
        summary.rows = summarize_by_township(parcels);
        summary.total = total_of(summary.rows);
        report.cohorts.push_back(std::move(summary));
    }

    // 2. Progress against the milestones, then 年清.
    std::vector<std::pair<LedgerMilestone, bool>> milestones;
    for (const auto& m : options.milestones)
        if (!options.cohort || (m.first_year <= options.cohort->second && m.last_year >= options.cohort->first))
            milestones.emplace_back(m, false);
    if (options.annual_clearance_from > 0)
        for (const int y : years)
            if (y >= options.annual_clearance_from && y <= as_of_year && in_cohort(y, options.cohort))
                milestones.emplace_back(LedgerMilestone{y, y, 100, std::to_string(y) + "-12-31"}, true);
    for (const auto& [milestone, annual] : milestones) {
        MilestoneReport m;
        m.milestone = milestone;
        m.annual_clearance = annual;
        m.evaluated_on = std::min(milestone.deadline, as_of);
        const bool due = milestone.deadline <= as_of;
        std::map<std::pair<std::string, std::string>, MilestoneProgress> rows;
        m.county.township_name = "全县";
        m.county.due = due;
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const LedgerCase& c = cases[i];
            if (c.year < milestone.first_year || c.year > milestone.last_year || !judged_illegal(now[i])) continue;
            auto& row = rows[{c.township_code, township_label(c.township_name, c.township_code)}];
            row.township_code = c.township_code;
            row.township_name = township_label(c.township_name, c.township_code);
            row.due = due;
            ++row.cases;
            ++m.county.cases;
            if (rectified(state(c, m.evaluated_on))) {
                ++row.rectified;
                ++m.county.rectified;
            }
        }
        const auto require = [&](MilestoneProgress& p) { p.required = (milestone.percent * p.cases + 99) / 100; };
        require(m.county);
        for (auto& [key, row] : rows) {
            require(row);
            m.townships.push_back(row);
        }
        // Worst first: lowest rate (cross-multiplied), then more cases, then code.
        std::sort(m.townships.begin(), m.townships.end(), [](const MilestoneProgress& a, const MilestoneProgress& b) {
            const auto lhs = a.rectified * b.cases, rhs = b.rectified * a.cases;
            if (lhs != rhs) return lhs < rhs;
            if (a.cases != b.cases) return a.cases > b.cases;
            return std::tie(a.township_code, a.township_name) < std::tie(b.township_code, b.township_name);
        });
        report.milestones.push_back(std::move(m));
    }

    // 3. Past their year and still needing work; 4. rectification not visible.
    std::vector<std::size_t> order(cases.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::tie(cases[a].township_code, cases[a].case_id) < std::tie(cases[b].township_code, cases[b].case_id);
    });
    for (const std::size_t i : order) {
        const LedgerCase& c = cases[i];
        if (!now[i].exists || !in_cohort(c.year, options.cohort)) continue;
        if (c.year < as_of_year && needs_work(now[i])) {
            OverdueCase o;
            o.case_id = c.case_id;
            o.township = township_label(c.township_name, c.township_code);
            o.year = c.year;
            o.status = now[i].status;
            o.area_centimu = c.area_centimu;
            o.plan = c.plan;
            o.missing = c.plan.missing();
            o.deadline_passed = !c.plan.deadline.empty() && c.plan.deadline < as_of;
            report.overdue.push_back(std::move(o));
        }
        if (!c.flag.empty() && c.flag_date <= as_of)
            report.flagged.push_back({c.case_id, township_label(c.township_name, c.township_code), c.flag, c.flag_date, c.status});
    }
    return report;
}

std::string LedgerReport::text() const {
    std::ostringstream out;
    out << "卫片执法违法用地整改台账报告（截至 " << as_of << "）\n\n";
    out << "台账：" << ledger << "，截至当日共 " << cases << " 宗图斑。\n\n";

    out << "一、新增建设违法违规用地情况\n";
    for (std::size_t k = 0; k < cohorts.size(); ++k) {
        const auto& cohort = cohorts[k];
        const std::string label = cohort_label(cohort.first_year, cohort.last_year);
        out << "\n（" << chinese_ordinal(k + 1) << "）" << label << "新增建设违法违规用地情况\n\n";
        // The plan: "2018—2021年，全县…" but "2022 年全县…".
        const std::string prefix = label + (cohort.first_year == cohort.last_year ? "" : "，") + "全县土地卫片执法";
        if (cohort.total.cases == 0) {
            out << prefix << "未发现违法用地。\n";
            continue;
        }
        out << format_county_line(prefix, cohort.total, "违法用地") << "各乡镇违法占用耕地面积从大到小依次排名如下。\n\n";
        int rank = 0;
        for (const auto& row : cohort.rows) out << format_township_line(++rank, row, "违法用地") << "\n";
        if (cohort.cultivated_not_assessed > 0)
            out << "注：其中 " << cohort.cultivated_not_assessed
                << " 宗发现时未配置耕地图层，耕地面积未核算，“不涉及耕地”不代表未占用耕地。\n";
    }

    out << "\n二、整改进度（截至 " << as_of << "）\n";
    if (milestones.empty()) out << "\n无整改节点。\n";
    for (std::size_t k = 0; k < milestones.size(); ++k) {
        const auto& m = milestones[k];
        const auto& ms = m.milestone;
        const bool due = ms.deadline <= as_of;
        out << "\n（" << chinese_ordinal(k + 1) << "）" << cohort_label(ms.first_year, ms.last_year) << "违法用地";
        if (m.annual_clearance)
            out << "年清：" << ms.deadline << " 前全部整改到位";
        else if (ms.percent == 100)
            out << " " << ms.deadline << " 前全部整改到位";
        else
            out << " " << ms.deadline << " 前整改率不低于 " << ms.percent << "%";
        out << (due ? "（已到期）" : "（未到期，按 " + as_of + " 计）") << "\n\n";
        const auto line = [&](const MilestoneProgress& p) {
            std::string text = p.township_name + "违法用地 " + std::to_string(p.cases) + " 宗，已整改 " +
                               std::to_string(p.rectified) + " 宗，整改率 " + percent_text(p.rectified, p.cases);
            if (p.rectified >= p.required)
                text += due ? "，达标。" : "，已达到要求。";
            else if (due)
                text += "，应整改 " + std::to_string(p.required) + " 宗，差 " + std::to_string(p.required - p.rectified) +
                        " 宗，未达标（落后）。";
            else
                text += "，尚差 " + std::to_string(p.required - p.rectified) + " 宗。";
            return text;
        };
        if (m.county.cases == 0) {
            out << "全县无违法用地。\n";
            continue;
        }
        out << line(m.county) << "\n";
        int rank = 0;
        for (const auto& p : m.townships) out << ++rank << ". " << line(p) << "\n";
    }

    out << "\n三、逾期未整改到位图斑（所属年度已过，截至 " << as_of << " 仍为待核查、违法或整改中）\n\n";
    if (overdue.empty()) out << "无。\n";
    int rank = 0;
    for (const auto& o : overdue) {
        out << ++rank << ". " << o.case_id << "（" << o.township << "，" << o.year << " 年，" << status_label(o.status) << "，"
            << format_mu(o.area_centimu) << " 亩）：";
        std::vector<std::string> parts;
        if (o.status == CaseStatus::ToVerify) parts.emplace_back("尚未核查");
        if (o.missing.size() == 3) {
            parts.emplace_back("缺整改方案（整改措施、整改时限、责任人）");
        } else {
            if (!o.plan.measures.empty()) parts.push_back("整改措施：" + o.plan.measures);
            if (!o.plan.deadline.empty()) parts.push_back("整改时限：" + o.plan.deadline + (o.deadline_passed ? "（已过期）" : ""));
            if (!o.plan.responsible.empty()) parts.push_back("责任人：" + o.plan.responsible);
            if (!o.missing.empty()) {
                std::string missing = "整改方案不全（缺";
                for (std::size_t i = 0; i < o.missing.size(); ++i) missing += (i ? "、" : "") + o.missing[i];
                parts.push_back(missing + "）");
            }
        }
        for (std::size_t i = 0; i < parts.size(); ++i) out << (i ? "；" : "") << parts[i];
        out << "。\n";
    }

    out << "\n四、影像复核：整改不到位（已整改图斑在新一期影像上仍显示建设）\n\n";
    if (flagged.empty()) out << "无。\n";
    rank = 0;
    for (const auto& f : flagged)
        out << ++rank << ". " << f.case_id << "（" << f.township << "，" << status_label(f.status) << "）：" << f.flag << "。\n";
    return out.str();
}

}  // namespace weipian
