#include "ledger/ledger_report.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/units.hpp"
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

bool rectified(const LedgerCase& c, const CaseState& s, const std::string& on) {
    return s.exists && counts_as_rectified(c, s.status, s.result, on);
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

std::string mu_text(std::int64_t centimu) { return format_mu(centimu); }

// Adds case `c` (judged illegal; rectified or not on the evaluation date) to `f`.
void add_case(RectificationFigures& f, const LedgerCase& c, bool is_rectified) {
    f.total.add(1, c.area_centimu, c.cultivated_centimu);
    if (!is_rectified) {
        f.not_rectified.add(1, c.area_centimu, c.cultivated_centimu);
        return;
    }
    f.rectified.add(1, c.area_centimu, c.cultivated_centimu);
    if (counted_by_status_only(c)) {
        f.by_status.add(1, c.area_centimu, c.cultivated_centimu);
        return;
    }
    const std::int64_t d = std::max<std::int64_t>(c.demolished_centimu, 0), r = std::max<std::int64_t>(c.regularised_centimu, 0);
    const std::int64_t dc = std::max<std::int64_t>(c.demolished_cultivated_centimu, 0);
    const std::int64_t rc = std::max<std::int64_t>(c.regularised_cultivated_centimu, 0);
    const bool counted_as_demolished = d >= r;
    f.demolished.add(counted_as_demolished ? 1 : 0, d, dc);
    f.regularised.add(counted_as_demolished ? 0 : 1, r, rc);
    if (d > 0 && r > 0) ++f.combined;
}

// The identity checks of section 5 for `who` (全县 or a township), as printed; `failures` gets
// the failing ones.
std::vector<std::string> identity_lines(const std::string& who, const RectificationFigures& f, std::vector<std::string>& failures) {
    std::vector<std::string> lines;
    const auto& t = f.total;
    const auto& y = f.rectified;
    const auto& n = f.not_rectified;
    // total = rectified + not rectified
    const bool total_ok = t.cases == y.cases + n.cases && t.centimu == y.centimu + n.centimu &&
                          t.cultivated_centimu == y.cultivated_centimu + n.cultivated_centimu;
    std::string line = "合计 " + std::to_string(t.cases) + " 宗 = 整改到位 " + std::to_string(y.cases) + " 宗 + 未整改到位 " +
                       std::to_string(n.cases) + " 宗；" + mu_text(t.centimu) + " 亩 = " + mu_text(y.centimu) + " + " +
                       mu_text(n.centimu) + "；耕地 " + mu_text(t.cultivated_centimu) + " 亩 = " + mu_text(y.cultivated_centimu) + " + " +
                       mu_text(n.cultivated_centimu);
    if (total_ok) {
        lines.push_back("核对：" + line + "，相符。");
    } else {
        lines.push_back("！核对不符：" + who + " " + line + " 不成立，请核查台账。");
        failures.push_back(lines.back());
    }
    // rectified = 拆除 + 补办 (+ rectified on status alone, without quantities)
    const auto& d = f.demolished;
    const auto& r = f.regularised;
    const auto& b = f.by_status;
    const bool status_term = b.cases > 0;
    const auto terms = [&](std::int64_t dv, std::int64_t rv, std::int64_t bv, const std::string& unit, bool named) {
        std::string text = (named ? "拆除 " : "") + (unit == "宗" ? std::to_string(dv) : mu_text(dv)) + (unit == "宗" ? " 宗" : "") +
                           " + " + (named ? "补办 " : "") + (unit == "宗" ? std::to_string(rv) : mu_text(rv)) + (unit == "宗" ? " 宗" : "");
        if (status_term)
            text += " + " + std::string(named ? "按整改状态计 " : "") + (unit == "宗" ? std::to_string(bv) : mu_text(bv)) +
                    (unit == "宗" ? " 宗" : "");
        return text;
    };
    const bool split_ok = y.cases == d.cases + r.cases + b.cases && y.centimu == d.centimu + r.centimu + b.centimu &&
                          y.cultivated_centimu == d.cultivated_centimu + r.cultivated_centimu + b.cultivated_centimu;
    line = "整改到位 " + std::to_string(y.cases) + " 宗 = " + terms(d.cases, r.cases, b.cases, "宗", true) + "；" + mu_text(y.centimu) +
           " 亩 = " + terms(d.centimu, r.centimu, b.centimu, "亩", false) + "；耕地 " + mu_text(y.cultivated_centimu) + " 亩 = " +
           terms(d.cultivated_centimu, r.cultivated_centimu, b.cultivated_centimu, "亩", false);
    std::string note;
    if (f.combined > 0) note += "拆补组合 " + std::to_string(f.combined) + " 宗按拆除、补办面积较大的一项计数";
    if (status_term) note += std::string(note.empty() ? "" : "；") + "按整改状态计的未填整改数量，面积按图斑计";
    if (!note.empty()) line += "（" + note + "）";
    if (split_ok) {
        lines.push_back("核对：" + line + "，相符。");
    } else {
        lines.push_back("！核对不符：" + who + " " + line + " 不成立，请核对拆除面积、补办面积与地块面积。");
        failures.push_back(lines.back());
    }
    return lines;
}

// "10%", "12.5%": a configured share as a percentage.
std::string share_text(double share) {
    std::ostringstream out;
    out << share * 100 << "%";
    return out.str();
}

int ratio_level(std::int64_t part, std::int64_t whole, double warning, double limit) {
    if (whole <= 0) return 0;
    // part / whole ≥ level, in hundredths of a 亩 (exact for the configured shares up to 1e-9).
    const auto at_least = [&](double level) { return static_cast<double>(part) >= level * static_cast<double>(whole) - 1e-9; };
    return at_least(limit) ? 2 : at_least(warning) ? 1 : 0;
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
    // A self-found case linked to a delivered lead is the same place as the lead: the place is
    // counted once, through the lead (the platform's id, on which its verdicts are recorded).
    std::set<std::string> lead_ids;
    for (const auto& c : cases)
        if (is_lead_case(c)) lead_ids.insert(c.case_id);
    const auto state = [&](const LedgerCase& c, const std::string& date) {
        if (!is_lead_case(c) && !c.linked_case.empty() && lead_ids.count(c.linked_case)) return CaseState{};
        return state_on(by_case[c.case_id], date);
    };

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
            const bool is_rectified = rectified(c, state(c, m.evaluated_on), m.evaluated_on);
            if (is_rectified) {
                ++row.rectified;
                ++m.county.rectified;
            }
            add_case(row.figures, c, is_rectified);
            add_case(m.county.figures, c, is_rectified);
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

    // 5. The identity checks (the figures are in the milestones) and the notes.
    for (const auto& m : report.milestones) {
        const std::string label = cohort_label(m.milestone.first_year, m.milestone.last_year) + (m.annual_clearance ? "年清" : "");
        identity_lines(label + " 全县", m.county.figures, report.identity_failures);
        for (const auto& t : m.townships) identity_lines(label + " " + t.township_name, t.figures, report.identity_failures);
    }
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const LedgerCase& c = cases[i];
        if (!judged_illegal(now[i]) || !in_cohort(c.year, options.cohort)) continue;
        const bool done = now[i].status == CaseStatus::Rectified || now[i].status == CaseStatus::Closed;
        const std::string township = township_label(c.township_name, c.township_code);
        if (counted_by_status_only(c)) {
            if (done) report.by_status_only.push_back({c.case_id, township, "未填整改数量"});
        } else if (done && !rectified(c, now[i], as_of)) {
            std::string why;
            if (c.remaining_centimu > 0) why = "剩余未整改 " + format_mu(c.remaining_centimu) + " 亩";
            if (!review_ended(c, now[i].status, now[i].result, as_of)) why += (why.empty() ? "" : "，") + std::string("审核未结束");
            report.not_counted.push_back({c.case_id, township, why});
        }
    }
    const auto by_id = [](const RectificationNote& a, const RectificationNote& b) { return a.case_id < b.case_id; };
    std::sort(report.by_status_only.begin(), report.by_status_only.end(), by_id);
    std::sort(report.not_counted.begin(), report.not_counted.end(), by_id);

    // 6. The 15 % ratio per year.
    report.ratio_warning = options.ratio_warning;
    report.ratio_limit = options.ratio_limit;
    for (const int y : years) {
        if (!in_cohort(y, options.cohort) || y > as_of_year) continue;
        RatioYear ratio;
        ratio.year = y;
        ratio.county.township_name = "全县";
        std::map<std::pair<std::string, std::string>, RatioRow> rows;
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const LedgerCase& c = cases[i];
            if (c.year != y || !now[i].exists) continue;
            if (now[i].result == CaseStatus::FalseAlarm || c.verdict == "伪变化") continue;
            const std::string name = township_label(c.township_name, c.township_code);
            RatioRow& row = rows[{c.township_code, name}];
            row.township_name = name;
            row.township_code = c.township_code;
            const bool illegal = now[i].result == CaseStatus::Illegal || c.verdict == "非农违法" || c.verdict == "非粮违法";
            const bool suspected = !illegal && !now[i].result && c.cp_verdict == "非农违法";
            for (RatioRow* r : {&row, &ratio.county}) {
                r->base_centimu += c.cultivated_centimu;
                if (illegal) r->illegal_centimu += c.cultivated_centimu;
                if (suspected) r->suspected_centimu += c.cultivated_centimu;
            }
        }
        const auto level = [&](RatioRow& r) {
            r.level = ratio_level(r.illegal_centimu, r.base_centimu, options.ratio_warning, options.ratio_limit);
            r.level_with_suspected =
                ratio_level(r.illegal_centimu + r.suspected_centimu, r.base_centimu, options.ratio_warning, options.ratio_limit);
        };
        level(ratio.county);
        for (auto& [key, row] : rows) {
            level(row);
            ratio.townships.push_back(row);
        }
        // Highest ratio first (cross-multiplied), then more 耕地, then code.
        std::sort(ratio.townships.begin(), ratio.townships.end(), [](const RatioRow& a, const RatioRow& b) {
            const auto lhs = static_cast<long double>(a.illegal_centimu) * b.base_centimu;
            const auto rhs = static_cast<long double>(b.illegal_centimu) * a.base_centimu;
            if (lhs != rhs) return lhs > rhs;
            if (a.base_centimu != b.base_centimu) return a.base_centimu > b.base_centimu;
            return a.township_code < b.township_code;
        });
        report.ratios.push_back(std::move(ratio));
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

    out << "\n五、整改率（省口径：剩余未整改面积为 0 且审核结束方计为整改到位；按宗数、亩、耕地亩）\n";
    if (milestones.empty()) out << "\n无整改节点。\n";
    const auto rate_line = [](const std::string& who, const RectificationFigures& f) {
        return who + "违法用地 " + std::to_string(f.total.cases) + " 宗 " + format_mu(f.total.centimu) + " 亩（耕地 " +
               format_mu(f.total.cultivated_centimu) + " 亩），整改到位 " + std::to_string(f.rectified.cases) + " 宗 " +
               format_mu(f.rectified.centimu) + " 亩（耕地 " + format_mu(f.rectified.cultivated_centimu) + " 亩）；整改率：按宗数 " +
               percent_text(f.rectified.cases, f.total.cases) + "，按亩 " + percent_text(f.rectified.centimu, f.total.centimu) +
               "，按耕地亩 " + percent_text(f.rectified.cultivated_centimu, f.total.cultivated_centimu) + "。";
    };
    for (std::size_t k = 0; k < milestones.size(); ++k) {
        const auto& m = milestones[k];
        const auto& ms = m.milestone;
        out << "\n（" << chinese_ordinal(k + 1) << "）" << cohort_label(ms.first_year, ms.last_year) << "违法用地"
            << (m.annual_clearance ? "年清" : "") << "（" << ms.deadline << " 前"
            << (ms.percent == 100 ? std::string("全部整改到位") : "整改率不低于 " + std::to_string(ms.percent) + "%") << "，按 "
            << m.evaluated_on << " 计）\n\n";
        if (m.county.cases == 0) {
            out << "全县无违法用地。\n";
            continue;
        }
        std::vector<std::string> ignored;
        const std::string label = cohort_label(ms.first_year, ms.last_year) + (m.annual_clearance ? "年清" : "");
        out << rate_line("全县", m.county.figures) << "\n";
        for (const auto& line : identity_lines(label + " 全县", m.county.figures, ignored)) out << "  " << line << "\n";
        int n = 0;
        for (const auto& t : m.townships) {
            out << ++n << ". " << rate_line(t.township_name, t.figures) << "\n";
            for (const auto& line : identity_lines(label + " " + t.township_name, t.figures, ignored)) out << "  " << line << "\n";
        }
    }
    const auto note_list = [&](const std::vector<RectificationNote>& notes) {
        std::string text;
        for (std::size_t i = 0; i < notes.size(); ++i)
            text += (i ? "、" : "") + notes[i].case_id + "（" + notes[i].township + (notes[i].why.empty() ? "" : "，" + notes[i].why) + "）";
        return text;
    };
    if (!by_status_only.empty())
        out << "\n注：以下 " << by_status_only.size()
            << " 宗未填整改数量（剩余未整改面积），按整改状态（已整改、销号）计为整改到位，面积按图斑计；补填整改数量后按省口径计：" << note_list(by_status_only)
            << "。\n";
    if (!not_counted.empty())
        out << "\n注：以下 " << not_counted.size() << " 宗状态为已整改或销号，但按省口径不计为整改到位：" << note_list(not_counted) << "。\n";
    if (!identity_failures.empty())
        out << "\n！共 " << identity_failures.size() << " 项核对不符，见上。\n";

    out << "\n六、违法占用耕地比例（占当年新增建设占用耕地，预警线 " << share_text(ratio_warning) << "，红线 " << share_text(ratio_limit)
        << "）\n";
    if (ratios.empty()) out << "\n无。\n";
    const auto ratio_lines = [&](const RatioRow& r, int year) {
        std::string text = r.township_name + "新增建设占用耕地 " + format_mu(r.base_centimu) + " 亩";
        if (r.base_centimu == 0) return text + "。\n";
        text += "，其中违法占用 " + format_mu(r.illegal_centimu) + " 亩，占 " + percent_text(r.illegal_centimu, r.base_centimu);
        if (r.suspected_centimu > 0)
            text += "；另有疑似违法（初判非农违法，尚未核查）" + format_mu(r.suspected_centimu) + " 亩，计入后占 " +
                    percent_text(r.illegal_centimu + r.suspected_centimu, r.base_centimu);
        text += "。\n";
        const std::string who = std::to_string(year) + " 年" + r.township_name;
        if (r.level == 2)
            text += "！警告：" + who + "违法占用耕地比例 " + percent_text(r.illegal_centimu, r.base_centimu) + "，已达 " +
                    share_text(ratio_limit) + " 红线。\n";
        else if (r.level == 1)
            text += "！预警：" + who + "违法占用耕地比例 " + percent_text(r.illegal_centimu, r.base_centimu) + "，已达预警线 " +
                    share_text(ratio_warning) + "（红线 " + share_text(ratio_limit) + "）。\n";
        if (r.level_with_suspected > r.level)
            text += "！预警：" + who + "计入疑似违法后比例 " + percent_text(r.illegal_centimu + r.suspected_centimu, r.base_centimu) +
                    "，达到" + (r.level_with_suspected == 2 ? share_text(ratio_limit) + " 红线" : "预警线 " + share_text(ratio_warning)) +
                    "，请尽快核查疑似图斑。\n";
        return text;
    };
    for (std::size_t k = 0; k < ratios.size(); ++k) {
        const auto& y = ratios[k];
        out << "\n（" << chinese_ordinal(k + 1) << "）" << y.year << " 年\n\n" << ratio_lines(y.county, y.year);
        int n = 0;
        for (const auto& t : y.townships) out << ++n << ". " << ratio_lines(t, y.year);
    }
    return out.str();
}

}  // namespace weipian
