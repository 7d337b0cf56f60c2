// feed_ledger: a run's parcels into the ledger (see pipeline/ledger.hpp for the rules).
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include <ogr_geometry.h>
#include <ogr_spatialref.h>
#include <spdlog/spdlog.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/geo.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_match.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/core/form_fields.hpp"
#include "pipeline/core/township_summary.hpp"

namespace weipian {

namespace {

std::string format_centimu(std::int64_t centimu) {
    return format_mu(centimu) + " 亩";
}

// The bytes that identify a run's parcels: epoch dates, county, year, and per parcel its
// township, reported areas and outline (WKB in the parcels' CRS).
std::string parcels_digest(const std::vector<Parcel>& parcels, const OGRSpatialReference& srs, const FeedContext& context,
                           int year) {
    std::string bytes = "weipian ledger feed v1\n" + context.county_code + "\n" + context.qsx + "\n" + context.hsx + "\n" +
                        std::to_string(year) + "\n";
    char* wkt = nullptr;
    srs.exportToWkt(&wkt);
    bytes += wkt ? wkt : "";
    CPLFree(wkt);
    bytes += "\n";
    std::vector<unsigned char> wkb;
    for (const auto& p : parcels) {
        bytes += p.township_code + "\t" + p.township_name + "\t" + std::to_string(to_centimu(p.area_m2)) + "\t" +
                 std::to_string(to_centimu(p.cultivated_m2)) + "\t";
        if (p.geometry) {
            wkb.resize(static_cast<std::size_t>(p.geometry->WkbSize()));
            p.geometry->exportToWkb(wkbNDR, wkb.data(), wkbVariantIso);
            bytes.append(reinterpret_cast<const char*>(wkb.data()), wkb.size());
        }
        bytes += "\n";
    }
    return sha256_hex(bytes);
}

// A case takes a parcel's figures: areas (and their rounding to hundredths of a 亩), centroid and
// patch type (a parcel not typed leaves the case's type as it was).
// With the outline come the run's form figures (ENFORCEMENT.md §2): the area parts
// (land_parts_centimu; with DLTB assessed 耕地 is its part, so the parts add up to the area to
// 0.01 亩), the five evidence columns (form_evidence) and the pre-judgement (初判, a suggestion).
void take_figures(LedgerCase& c, const Parcel& p) {
    if (!p.tblx.empty()) c.tblx = p.tblx;
    c.area_m2 = p.area_m2;
    c.cultivated_m2 = p.cultivated_m2;
    c.area_centimu = to_centimu(p.area_m2);
    c.cultivated_centimu = to_centimu(p.cultivated_m2);
    c.centroid_x = p.centroid_x;
    c.centroid_y = p.centroid_y;
    const LandPartsMu parts = land_parts_centimu(p);
    if (p.overlay.land_assessed) c.cultivated_centimu = parts.cultivated;
    c.other_agricultural_centimu = parts.other_agricultural;
    c.unused_centimu = parts.unused;
    c.construction_centimu = parts.construction;
    c.unsurveyed_centimu = parts.unsurveyed;
    c.permanent_farmland_centimu = parts.permanent_farmland;
    c.redline_centimu = parts.redline;
    const FormEvidence evidence = form_evidence(p.overlay);
    const auto column = [&](EvidenceColumn k, std::string& number, double& share) {
        number = evidence.numbers[static_cast<int>(k)];
        share = evidence.share_percent[static_cast<int>(k)];
    };
    column(EvidenceColumn::Approval, c.approval_no, c.approval_share);
    column(EvidenceColumn::Supply, c.supply_no, c.supply_share);
    column(EvidenceColumn::Title, c.title_no, c.title_share);
    column(EvidenceColumn::Temporary, c.temporary_no, c.temporary_share);
    column(EvidenceColumn::Facility, c.facility_no, c.facility_share);
    c.cp_verdict = p.prejudgement.verdict;
    c.cp_category = p.prejudgement.category;
    c.cp_rule = p.prejudgement.rule;
}

// The run's chips of parcel `p` (chips/<id>_qsx.jpg and _hsx.jpg, the names chip_files_for in
// pipeline/chips.hpp gives; the ledger does not link the pipeline, a test checks they agree).
void set_chips(LedgerCase& c, const Parcel& p, const FeedContext& context) {
    if (context.chips_dir.empty()) return;
    const std::filesystem::path dir(context.chips_dir);
    c.chip_before = (dir / (std::to_string(p.id) + "_qsx.jpg")).string();
    c.chip_after = (dir / (std::to_string(p.id) + "_hsx.jpg")).string();
}

}  // namespace

void check_match_options(const LedgerConfig& options) {
    if (options.match_rule != "overlap_ratio" && options.match_rule != "iou")
        throw ConfigError("ledger: key 'ledger.match_rule': '" + options.match_rule + "' is not one of: overlap_ratio, iou");
    if (!(options.match_threshold >= 0.0 && options.match_threshold <= 1.0))
        throw ConfigError("ledger: key 'ledger.match_threshold': " + std::to_string(options.match_threshold) +
                          " is out of range [0, 1]");
}

OGRGeometryUniquePtr usable_geometry(const OGRGeometry& geometry) {
    if (geometry.IsValid()) return OGRGeometryUniquePtr(geometry.clone());
    OGRGeometryUniquePtr fixed(geometry.MakeValid());
    return fixed ? std::move(fixed) : OGRGeometryUniquePtr(geometry.clone());
}

double intersection_area(const OGRGeometry& a, const OGRGeometry& b) {
    OGREnvelope ea, eb;
    a.getEnvelope(&ea);
    b.getEnvelope(&eb);
    if (!ea.Intersects(eb)) return 0.0;
    OGRGeometryUniquePtr both(a.Intersection(&b));
    if (!both || both->IsEmpty()) return 0.0;
    const auto type = wkbFlatten(both->getGeometryType());
    if (type == wkbPolygon || type == wkbMultiPolygon || type == wkbGeometryCollection)
        return OGR_G_Area(OGRGeometry::ToHandle(both.get()));
    return 0.0;
}

double surface_area(const OGRGeometry& g) {
    return OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(&g)));
}

CaseOutlines case_outlines_of(const std::vector<LedgerCase>& cases) {
    CaseOutlines out;
    out.outlines.resize(cases.size());
    out.areas.assign(cases.size(), 0.0);
    for (std::size_t c = 0; c < cases.size(); ++c) {
        if (!cases[c].geometry) continue;
        out.outlines[c] = usable_geometry(*cases[c].geometry);
        out.areas[c] = surface_area(*out.outlines[c]);
    }
    return out;
}

double match_ratio(const LedgerConfig& options, const OGRGeometry& a, double area_a, const OGRGeometry& b, double area_b) {
    const double both = intersection_area(a, b);
    if (both <= 0.0) return 0.0;
    if (options.match_rule == "iou") return both / (area_a + area_b - both);
    const double smaller = std::min(area_a, area_b);
    return smaller > 0.0 ? both / smaller : 0.0;
}

bool is_lead_case(const LedgerCase& c) { return c.source == kSourceDelivered; }

namespace {

// What one parcel fed: the case and the delivered lead it is linked to (Parcel::case_id, lead_id).
struct ParcelLink {
    std::string case_id;
    std::string lead_id;
};

// The feed proper; `links` receives one entry per parcel.
LedgerFeedSummary feed(const LedgerConfig& options, const std::vector<Parcel>& parcels, const OGRSpatialReference& parcel_srs,
                       const FeedContext& context, std::vector<ParcelLink>& links) {
    if (!options.configured()) throw ConfigError("ledger: no ledger given; set ledger.path in the config or pass --ledger");
    if (!is_county_code(context.county_code))
        throw ConfigError("ledger: county code '" + context.county_code +
                          "' is not 6 digits; set county.code (e.g. \"140824\"): case ids start with it");
    const auto hsx = parse_ledger_date(context.hsx);
    if (!hsx || *hsx != context.hsx)
        throw ConfigError("ledger: HSX date '" + context.hsx + "' is not YYYY-MM-DD; set epochs.after.date");
    check_match_options(options);
    const int year = context.year > 0 ? context.year : std::stoi(context.hsx.substr(0, 4));
    const std::string run_id = context.run_id.empty() ? now_utc() : context.run_id;
    const std::string recorded_at = now_utc();
    const std::string source = "run " + run_id;

    LedgerFeedSummary summary;
    summary.ledger = redact_ledger_location(options.path);
    summary.run_id = run_id;
    summary.parcels = static_cast<std::int64_t>(parcels.size());
    links.assign(parcels.size(), ParcelLink{});
    const std::string digest = parcels_digest(parcels, parcel_srs, context, year);

    auto store = LedgerStore::open(options.path, LedgerStore::Mode::UpdateOrCreate, &parcel_srs);
    auto transaction = store->begin();
    const auto previous = store->find_run(digest);
    std::vector<LedgerCase> cases = store->load_cases();

    // Parcel outlines in the ledger CRS.
    const auto from = clone_traditional(parcel_srs);
    const auto ledger_srs = clone_traditional(store->srs());
    std::unique_ptr<OGRCoordinateTransformation> to_ledger;
    if (!from->IsSame(ledger_srs.get())) {
        to_ledger.reset(OGRCreateCoordinateTransformation(from.get(), ledger_srs.get()));
        if (!to_ledger) throw InputError("ledger: cannot transform the parcels' CRS into the ledger's CRS; check both CRSs");
    }
    std::vector<OGRGeometryUniquePtr> outlines;
    std::vector<double> outline_areas;
    outlines.reserve(parcels.size());
    for (const auto& p : parcels) {
        if (!p.geometry) throw InternalError("ledger: parcel " + std::to_string(p.id) + " has no geometry");
        OGRGeometryUniquePtr g(p.geometry->clone());
        g->assignSpatialReference(from.get());
        if (to_ledger && g->transform(to_ledger.get()) != OGRERR_NONE)
            throw InputError("ledger: cannot transform parcel " + std::to_string(p.id) +
                             " into the ledger's CRS; check that the imagery's CRS fits its coordinates");
        g->assignSpatialReference(nullptr);  // cases outlive ledger_srs; the CRS is the ledger's by convention
        outlines.push_back(usable_geometry(*g));
        outline_areas.push_back(surface_area(*outlines.back()));
    }

    std::map<std::string, std::size_t> index_of;
    for (std::size_t c = 0; c < cases.size(); ++c) index_of[cases[c].case_id] = c;
    CaseOutlines known = case_outlines_of(cases);
    const auto& case_outlines = known.outlines;
    const auto& case_areas = known.areas;
    // A parcel may feed an open self-found case of its own township, or an open lead case
    // wherever it lies (a lead imported without a township layer is unassigned).
    const auto candidate = [&](std::size_t c, std::size_t i, bool open_only) {
        // Split or merged cases (已拆分, 已合并) live on in their pieces or survivor: never matched.
        if (!case_outlines[c] || superseded(cases[c].status) || (open_only && !cases[c].open())) return false;
        return is_lead_case(cases[c]) ||
               (cases[c].township_code == parcels[i].township_code && cases[c].township_name == parcels[i].township_name);
    };
    const auto best_case = [&](std::size_t i, bool open_only) {
        double best_ratio = -1.0;
        std::size_t best = cases.size();
        for (std::size_t c = 0; c < cases.size(); ++c) {
            if (!candidate(c, i, open_only)) continue;
            const double ratio = match_ratio(options, *outlines[i], outline_areas[i], *case_outlines[c], case_areas[c]);
            if (ratio <= 0.0 || ratio < options.match_threshold) continue;
            // Ties go to a lead case: the place is then one case, the delivered one.
            if (ratio > best_ratio || (ratio == best_ratio && is_lead_case(cases[c]) && !is_lead_case(cases[best]))) {
                best_ratio = ratio;
                best = c;
            }
        }
        // A lead linked to a self-found case (found before the lead arrived): that case is the
        // place's working case and is fed; the parcel still shows the lead.
        if (best < cases.size() && is_lead_case(cases[best]) && !cases[best].linked_case.empty()) {
            const auto linked = index_of.find(cases[best].linked_case);
            if (linked != index_of.end() && (!open_only || cases[linked->second].open())) best = linked->second;
        }
        return best;
    };
    const auto link_of = [](const LedgerCase& c) { return ParcelLink{c.case_id, c.lead_id}; };

    if (previous) {
        // The same parcels again: nothing changes; each parcel gets the case it fed then (the
        // case it matches now, 销号 included: a case it opened has its very outline).
        for (std::size_t i = 0; i < parcels.size(); ++i) {
            std::size_t best = best_case(i, true);
            if (best == cases.size()) best = best_case(i, false);
            if (best < cases.size()) links[i] = link_of(cases[best]);
        }
        summary.already_fed = true;
        summary.run_id = previous->run_id;
        spdlog::info("ledger: these parcels were fed by run {} already; the ledger is unchanged", previous->run_id);
        return summary;  // the transaction rolls back: nothing was written
    }

    // When each case last became 已整改 (the date rectification was reported).
    std::map<std::string, std::string> rectified_on;
    for (const auto& entry : store->load_history())
        if (entry.to_status == CaseStatus::Rectified && entry.from_status != CaseStatus::Rectified)
            rectified_on[entry.case_id] = entry.at;

    // Each parcel goes to the open case it overlaps most, if enough.
    std::map<std::size_t, std::vector<std::size_t>> matched;  // case index -> parcel indices
    std::vector<std::size_t> unmatched;
    for (std::size_t i = 0; i < parcels.size(); ++i) {
        const std::size_t best = best_case(i, true);
        if (best < cases.size())
            matched[best].push_back(i);
        else
            unmatched.push_back(i);
    }

    const std::size_t planned_writes = matched.size() + unmatched.size();
    std::size_t writes = 0;
    const auto wrote = [&] {
        if (++writes == planned_writes / 2 + 1) pause_in_transaction_for_tests("feed");
    };

    // Cases seen again.
    for (auto& [index, parcel_indices] : matched) {
        LedgerCase& c = cases[index];
        c.last_seen_run = run_id;
        c.updated_at = recorded_at;
        const auto largest = *std::max_element(parcel_indices.begin(), parcel_indices.end(), [&](std::size_t a, std::size_t b) {
            return parcels[a].area_m2 < parcels[b].area_m2;
        });
        const Parcel& p = parcels[largest];
        set_chips(c, p, context);
        if (is_lead_case(c)) {
            // A delivered lead keeps its delivered outline and area; the run marks it detected
            // (the place stays one case) and gives it a township when it had none.
            std::string what;
            if (c.detected_run.empty()) {
                c.detected_run = run_id;
                what = "线索已检测：运行 " + run_id + " 的图斑与之重合";
                ++summary.detected_leads;
            }
            if (c.township_name == kUnassignedTownship && c.township_code.empty() &&
                !(p.township_name == kUnassignedTownship && p.township_code.empty())) {
                c.township_name = p.township_name;
                c.township_code = p.township_code;
                what += std::string(what.empty() ? "" : "；") + "乡镇：" + township_label(c.township_name, c.township_code);
            }
            if (!what.empty())
                store->append_history({-1, c.case_id, context.hsx, recorded_at, context.who, c.status, c.status, what, source});
        } else if (c.status == CaseStatus::ToVerify) {
            // While unverified, the case takes the largest outline seen.
            if (to_centimu(p.area_m2) > c.area_centimu) {
                const std::string before = format_centimu(c.area_centimu);
                c.geometry = share_geometry(outlines[largest]->clone());
                take_figures(c, p);
                store->append_history({-1, c.case_id, context.hsx, recorded_at, context.who, c.status, c.status,
                                       "再次发现，范围扩大：" + before + " → " + format_centimu(c.area_centimu), source});
            }
        } else if (c.status == CaseStatus::Rectified) {
            const auto rectified = rectified_on.find(c.case_id);
            const bool after_rectification = rectified == rectified_on.end() || context.hsx > rectified->second;
            if (after_rectification && c.flag_date != context.hsx) {
                c.flag = "整改不到位：后时相 " + context.hsx + " 影像仍显示建设（运行 " + run_id + "）";
                c.flag_date = context.hsx;
                store->append_history({-1, c.case_id, context.hsx, recorded_at, context.who, c.status, c.status, c.flag, source});
                ++summary.flagged_cases;
            }
        }
        for (const std::size_t i : parcel_indices) {
            links[i] = link_of(c);
            if (!links[i].lead_id.empty()) ++summary.lead_parcels;
        }
        store->update_case(c);
        ++summary.updated_cases;
        wrote();
    }

    // New cases, numbered on from the highest number of this county and year.
    int seq = 0;
    for (const auto& c : cases)
        if (c.county_code == context.county_code && c.year == year) seq = std::max(seq, c.seq);
    const std::size_t existing = cases.size();
    for (const std::size_t i : unmatched) {
        const Parcel& p = parcels[i];
        LedgerCase c;
        c.county_code = context.county_code;
        c.year = year;
        c.seq = ++seq;
        c.case_id = format_case_id(c.county_code, year, c.seq);
        c.source = kSourceSelfFound;
        c.township_name = p.township_name;
        c.township_code = p.township_code;
        take_figures(c, p);
        c.qsx = context.qsx;
        c.hsx = context.hsx;
        c.first_seen_run = c.last_seen_run = run_id;
        c.updated_at = recorded_at;
        c.geometry = share_geometry(outlines[i]->clone());
        c.notes = p.remarks;  // 设施农用地：核对备案 for a greenhouse
        set_chips(c, p, context);
        // Cross-period link: the earlier case at this place (closed, or of an earlier year or epoch).
        double best_ratio = -1.0;
        for (std::size_t k = 0; k < existing; ++k) {
            const LedgerCase& e = cases[k];
            if (!case_outlines[k] || !(!e.open() || (e.year > 0 && e.year < year) || (!e.hsx.empty() && e.hsx < context.hsx)))
                continue;
            const double ratio = match_ratio(options, *outlines[i], outline_areas[i], *case_outlines[k], case_areas[k]);
            if (ratio > 0.0 && ratio >= options.match_threshold && ratio > best_ratio) {
                best_ratio = ratio;
                c.earlier_id = e.case_id;
            }
        }
        store->insert_case(c);
        store->append_history({-1, c.case_id, context.hsx, recorded_at, context.who, std::nullopt, CaseStatus::ToVerify,
                               "新图斑：面积 " + format_centimu(c.area_centimu) + "，耕地 " +
                                   format_centimu(c.cultivated_centimu) +
                                   (c.earlier_id.empty() ? std::string() : "；往期图斑 " + c.earlier_id),
                               source});
        links[i] = link_of(c);
        summary.new_case_ids.push_back(c.case_id);
        ++summary.new_cases;
        wrote();
    }
    if (planned_writes == 0) pause_in_transaction_for_tests("feed");

    RunRecord run;
    run.run_id = run_id;
    run.digest = digest;
    run.fed_at = recorded_at;
    run.qsx = context.qsx;
    run.hsx = context.hsx;
    run.year = year;
    run.county_code = context.county_code;
    run.cultivated_assessed = context.cultivated_assessed;
    run.parcels = summary.parcels;
    run.new_cases = summary.new_cases;
    run.updated_cases = summary.updated_cases;
    run.flagged_cases = summary.flagged_cases;
    run.version = WEIPIAN_VERSION;
    store->insert_run(run);
    transaction.commit();
    spdlog::info("ledger {}: {} parcels, {} new cases, {} seen again, {} flagged as rectification not visible, {} parcels on "
                 "delivered leads ({} leads newly detected)",
                 summary.ledger, summary.parcels, summary.new_cases, summary.updated_cases, summary.flagged_cases,
                 summary.lead_parcels, summary.detected_leads);
    return summary;
}

}  // namespace

LedgerFeedSummary feed_ledger(const LedgerConfig& options, const std::vector<Parcel>& parcels,
                              const OGRSpatialReference& parcel_srs, const FeedContext& context) {
    std::vector<ParcelLink> links;
    return feed(options, parcels, parcel_srs, context, links);
}

LedgerFeedSummary feed_ledger(const LedgerConfig& options, std::vector<Parcel>& parcels, const OGRSpatialReference& parcel_srs,
                              const FeedContext& context) {
    std::vector<ParcelLink> links;
    auto summary = feed(options, std::as_const(parcels), parcel_srs, context, links);
    for (std::size_t i = 0; i < parcels.size(); ++i) {
        parcels[i].case_id = links[i].case_id;
        parcels[i].lead_id = links[i].lead_id;
    }
    return summary;
}

}  // namespace weipian
