// `weipian ledger split` / `weipian ledger merge` (ledger_split.hpp).
#include "ledger/ledger_split.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include <cpl_error.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_store.hpp"
#include "pipeline/core/dates.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/units.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

double area_of(const OGRGeometry* g) {
    return g ? OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(g))) : 0.0;
}

std::string mu_text(std::int64_t centimu) { return format_mu_fixed2(centimu); }

std::string joined(const std::vector<std::string>& items, const std::string& sep) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
    return out;
}

// Weights: the pieces' areas in whole cm², so that the rounding below is exact integer arithmetic
// (products in 128 bits: a 10⁸ m² case is 10¹² cm², times 10⁷ hundredths of a 亩).
using Weights = std::vector<std::int64_t>;
__extension__ typedef __int128 Wide;

// Largest remainder: `total` split in proportion to `weights` (sum > 0); parts sum to `total`
// exactly; ties go to the earlier part.
std::vector<std::int64_t> apportion(std::int64_t total, const Weights& weights) {
    const Wide sum = std::accumulate(weights.begin(), weights.end(), Wide{0});
    std::vector<std::int64_t> out(weights.size(), 0);
    std::vector<std::pair<Wide, std::size_t>> remainders;
    std::int64_t given = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const Wide product = static_cast<Wide>(total) * weights[i];
        out[i] = static_cast<std::int64_t>(product / sum);
        given += out[i];
        remainders.emplace_back(product % sum, i);
    }
    std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; given < total; k = (k + 1) % remainders.size(), ++given) ++out[remainders[k].second];
    return out;
}

// Controlled rounding: cell (i, p) ≈ columns[p] × w_i / Σw, each column summing to columns[p] and
// each row to rows[i] (rows = apportion(Σcolumns, weights), so that every floor sum fits under
// its row): floors first, then +1 to the cells with the largest remainders whose row and column
// still lack hundredths, then whatever is left to any cell whose row and column lack it.
std::vector<std::vector<std::int64_t>> apportion_table(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& columns,
                                                       const Weights& weights) {
    const Wide sum = std::accumulate(weights.begin(), weights.end(), Wide{0});
    const std::size_t n = rows.size(), m = columns.size();
    std::vector<std::vector<std::int64_t>> cells(n, std::vector<std::int64_t>(m, 0));
    std::vector<std::int64_t> row_need = rows, column_need = columns;
    std::vector<std::tuple<Wide, std::size_t, std::size_t>> remainders;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t p = 0; p < m; ++p) {
            const Wide product = static_cast<Wide>(columns[p]) * weights[i];
            cells[i][p] = static_cast<std::int64_t>(product / sum);
            row_need[i] -= cells[i][p];
            column_need[p] -= cells[i][p];
            remainders.emplace_back(product % sum, i, p);
        }
    std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
    for (const auto& [r, i, p] : remainders)
        if (row_need[i] > 0 && column_need[p] > 0) {
            ++cells[i][p];
            --row_need[i];
            --column_need[p];
        }
    // Whatever is left (the totals always balance): any cell whose row and column still need it.
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t p = 0; p < m && row_need[i] > 0; ++p) {
            const std::int64_t k = std::min(row_need[i], column_need[p]);
            if (k <= 0) continue;
            cells[i][p] += k;
            row_need[i] -= k;
            column_need[p] -= k;
        }
    return cells;
}

// Moves hundredths of `part` from pieces where it exceeds `limit` to pieces with room, so that
// part ≤ limit per piece (possible because Σpart ≤ Σlimit).
void clamp_under(std::vector<std::int64_t>& part, const std::vector<std::int64_t>& limit) {
    for (std::size_t i = 0; i < part.size(); ++i)
        for (std::size_t j = 0; j < part.size() && part[i] > limit[i]; ++j) {
            const std::int64_t room = limit[j] - part[j];
            if (j == i || room <= 0) continue;
            const std::int64_t k = std::min(room, part[i] - limit[i]);
            part[i] -= k;
            part[j] += k;
        }
}

std::vector<double> apportion_m2(double total, const Weights& weights) {
    std::vector<double> out;
    for (const auto hundredths : apportion(std::llround(total * 100.0), weights)) out.push_back(static_cast<double>(hundredths) / 100.0);
    return out;
}

// The ledger's MultiPolygon for `g` (GEOS results may be polygons or collections).
std::shared_ptr<const OGRGeometry> as_outline(OGRGeometry* g) {
    OGRGeometryUniquePtr owned(g);
    OGRGeometry* multi = OGRGeometryFactory::forceToMultiPolygon(owned.release());
    return share_geometry(multi);
}

void set_centroid(LedgerCase& c) {
    OGRPoint point;
    if (c.geometry && c.geometry->Centroid(&point) == OGRERR_NONE) {
        c.centroid_x = std::round(point.getX() * 100.0) / 100.0;
        c.centroid_y = std::round(point.getY() * 100.0) / 100.0;
    }
}

LedgerCase* find_case(std::vector<LedgerCase>& cases, const std::string& id) {
    for (auto& c : cases)
        if (c.case_id == id) return &c;
    return nullptr;
}

// Ids of the pieces of `parent` in the ledger (X_1, X_2, …).
std::vector<std::string> pieces_of(const std::vector<LedgerCase>& cases, const std::string& parent) {
    std::vector<std::string> out;
    for (const auto& c : cases)
        if (c.case_id.size() > parent.size() + 1 && c.case_id.compare(0, parent.size() + 1, parent + "_") == 0) out.push_back(c.case_id);
    return out;
}

struct Piece {
    GIntBig fid = 0;
    std::string key;  // the order field's value
    OGRGeometryUniquePtr geometry;
};

std::vector<Piece> read_pieces(const fs::path& file, const OGRSpatialReference& ledger_srs, const std::string& order_field) {
    ensure_gdal_registered();
    CPLErrorReset();
    GDALDatasetUniquePtr ds(GDALDataset::Open(file.c_str(), GDAL_OF_VECTOR));
    if (!ds || ds->GetLayerCount() == 0)
        throw InputError("split: cannot read '" + file.string() + "' as a polygon layer (" + last_gdal_error() +
                         "); give a GeoPackage, Shapefile or another OGR polygon file");
    OGRLayer* layer = ds->GetLayer(0);
    const OGRSpatialReference* srs = layer->GetSpatialRef();
    if (!srs)
        throw InputError("split: '" + file.string() + "' has no CRS; save it with its coordinate system (e.g. a .prj) so it can be placed on the ledger");
    int order_index = -1;
    if (!order_field.empty()) {
        order_index = layer->GetLayerDefn()->GetFieldIndex(order_field.c_str());
        if (order_index < 0) {
            std::vector<std::string> names;
            for (int i = 0; i < layer->GetLayerDefn()->GetFieldCount(); ++i) names.emplace_back(layer->GetLayerDefn()->GetFieldDefn(i)->GetNameRef());
            throw InputError("split: '" + file.string() + "' has no field '" + order_field + "'; its fields are " +
                             (names.empty() ? std::string("(none)") : joined(names, ", ")));
        }
    }
    const auto from = clone_traditional(*srs);
    const auto to = clone_traditional(ledger_srs);
    std::unique_ptr<OGRCoordinateTransformation> transform;
    if (!from->IsSame(to.get())) {
        transform.reset(OGRCreateCoordinateTransformation(from.get(), to.get()));
        if (!transform)
            throw InputError("split: cannot transform '" + file.string() + "' from its CRS to the ledger's; check the file's CRS");
    }
    std::vector<Piece> pieces;
    for (auto& f : *layer) {
        const OGRGeometry* g = f->GetGeometryRef();
        const auto type = g ? wkbFlatten(g->getGeometryType()) : wkbUnknown;
        if (!g || g->IsEmpty() || (type != wkbPolygon && type != wkbMultiPolygon && type != wkbCurvePolygon && type != wkbMultiSurface))
            throw InputError("split: feature " + std::to_string(f->GetFID()) + " of '" + file.string() +
                             "' is not a polygon; every feature of the file is one piece of the case");
        Piece piece;
        piece.fid = f->GetFID();
        if (order_index >= 0) piece.key = f->GetFieldAsString(order_index);
        piece.geometry.reset(g->clone());
        piece.geometry->assignSpatialReference(nullptr);
        if (transform && piece.geometry->transform(transform.get()) != OGRERR_NONE)
            throw InputError("split: cannot transform feature " + std::to_string(piece.fid) + " of '" + file.string() + "' to the ledger's CRS");
        if (!piece.geometry->IsValid()) piece.geometry.reset(piece.geometry->MakeValid());
        pieces.push_back(std::move(piece));
    }
    if (order_index >= 0) {
        const bool numeric = std::all_of(pieces.begin(), pieces.end(), [](const Piece& p) {
            char* end = nullptr;
            std::strtod(p.key.c_str(), &end);
            return !p.key.empty() && end && *end == '\0';
        });
        std::stable_sort(pieces.begin(), pieces.end(), [numeric](const Piece& a, const Piece& b) {
            return numeric ? std::strtod(a.key.c_str(), nullptr) < std::strtod(b.key.c_str(), nullptr) : a.key < b.key;
        });
    }
    return pieces;
}

HistoryEntry entry(const std::string& id, const std::string& at, const std::string& recorded_at, const std::string& who,
                   std::optional<CaseStatus> from, CaseStatus to, const std::string& what, const std::string& source) {
    return {-1, id, at, recorded_at, who, from, to, what, source};
}

}  // namespace

std::string SplitSummary::text() const {
    std::string out = "weipian: case " + parent + " (" + mu_text(parent_centimu) + " 亩) split into ";
    for (std::size_t i = 0; i < pieces.size(); ++i) out += (i ? ", " : "") + pieces[i] + " (" + mu_text(piece_centimu[i]) + " 亩)";
    return out + "\n";
}

SplitSummary split_case(const std::string& ledger, const std::string& case_id, const fs::path& pieces_file, const SplitOptions& options) {
    auto store = LedgerStore::open(ledger, LedgerStore::Mode::Update);
    std::vector<LedgerCase> cases = store->load_cases(true);
    LedgerCase* found = find_case(cases, case_id);
    if (!found)
        throw InputError("split: no case '" + case_id + "' in the ledger " + store->redacted_location() +
                         "; see `weipian ledger export` for the case ids");
    LedgerCase& parent = *found;
    if (parent.status == CaseStatus::Split)
        throw InputError("split: case " + case_id + " was already split into " + joined(pieces_of(cases, case_id), ", ") +
                         "; split one of its pieces instead");
    if (!parent.open())
        throw InputError("split: case " + case_id + " is " + status_label(parent.status) +
                         "; only an open case (not 销号, 已拆分 or 已合并) can be split");
    if (!parent.geometry || area_of(parent.geometry.get()) <= 0)
        throw InputError("split: case " + case_id + " has no outline in the ledger; it cannot be split by location");

    std::vector<Piece> pieces = read_pieces(pieces_file, store->srs(), options.order_field);
    if (pieces.size() < 2)
        throw InputError("split: '" + pieces_file.string() + "' holds " + std::to_string(pieces.size()) +
                         " piece" + (pieces.size() == 1 ? "" : "s") + "; a split needs at least 2");

    // Clip each piece to the parent.
    const double parent_m2 = area_of(parent.geometry.get());
    std::vector<OGRGeometryUniquePtr> clipped;
    Weights weights;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        OGRGeometryUniquePtr inside(pieces[i].geometry->Intersection(parent.geometry.get()));
        const double m2 = area_of(inside.get());
        if (!inside || m2 < kSplitToleranceM2)
            throw InputError("split: piece " + std::to_string(i + 1) + " (feature " + std::to_string(pieces[i].fid) + " of '" +
                             pieces_file.string() + "') lies outside case " + case_id + " (" + mu_text(to_centimu(m2)) +
                             " 亩 inside it); draw the pieces over the case's outline");
        clipped.push_back(std::move(inside));
        weights.push_back(std::llround(m2 * 1e4));  // cm²
    }
    for (std::size_t i = 0; i < clipped.size(); ++i)
        for (std::size_t j = i + 1; j < clipped.size(); ++j) {
            OGRGeometryUniquePtr both(clipped[i]->Intersection(clipped[j].get()));
            const double m2 = area_of(both.get());
            if (m2 > kSplitToleranceM2)
                throw InputError("split: pieces " + std::to_string(i + 1) + " and " + std::to_string(j + 1) + " of '" + pieces_file.string() +
                                 "' overlap by " + mu_text(to_centimu(m2)) + " 亩 inside case " + case_id +
                                 "; each part of the case belongs to one piece");
        }
    {
        OGRGeometryUniquePtr covered(clipped[0]->clone());
        for (std::size_t i = 1; i < clipped.size(); ++i) covered.reset(covered->Union(clipped[i].get()));
        const std::int64_t total = to_centimu(parent_m2);
        const std::int64_t inside = std::min(total, to_centimu(area_of(covered.get())));
        if (total - inside > 1)
            throw InputError("split: pieces cover " + mu_text(inside) + " of " + mu_text(total) + " 亩 of case " + case_id + "; " +
                             mu_text(total - inside) + " 亩 is uncovered; draw pieces over all of the case's outline");
    }
    const std::size_t n = pieces.size();
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < n; ++i) {
        ids.push_back(case_id + "_" + std::to_string(i + 1));
        if (find_case(cases, ids.back()))
            throw InputError("split: case " + ids.back() + " already exists in the ledger; a piece id must be new");
    }

    // Areas: the columns of the form apportioned by the pieces' areas.
    const std::vector<std::int64_t> totals = apportion(parent.area_centimu, weights);
    std::vector<std::int64_t> parts = {parent.cultivated_centimu, parent.other_agricultural_centimu, parent.unused_centimu,
                                       parent.construction_centimu, parent.unsurveyed_centimu};
    const std::int64_t rest = parent.area_centimu - std::accumulate(parts.begin(), parts.end(), std::int64_t{0});
    std::vector<std::vector<std::int64_t>> table;
    if (rest >= 0) {
        parts.push_back(rest);  // a ledger from before the area parts: the unattributed rest
        table = apportion_table(totals, parts, weights);
    } else {  // parts larger than the total (never written by weipian): each column on its own
        table.assign(n, std::vector<std::int64_t>(parts.size(), 0));
        for (std::size_t p = 0; p < parts.size(); ++p) {
            const auto column = apportion(parts[p], weights);
            for (std::size_t i = 0; i < n; ++i) table[i][p] = column[i];
        }
    }
    std::vector<std::int64_t> cultivated(n), farmland = apportion(parent.permanent_farmland_centimu, weights),
                                           redline = apportion(parent.redline_centimu, weights);
    for (std::size_t i = 0; i < n; ++i) cultivated[i] = table[i][0];
    clamp_under(farmland, cultivated);
    clamp_under(redline, totals);
    const auto area_m2 = apportion_m2(parent.area_m2, weights), cultivated_m2 = apportion_m2(parent.cultivated_m2, weights);
    const auto quantity = [&](std::int64_t value) {
        return value < 0 ? std::vector<std::int64_t>(n, -1) : apportion(value, weights);
    };
    const auto demolished = quantity(parent.demolished_centimu), demolished_cultivated = quantity(parent.demolished_cultivated_centimu),
               regularised = quantity(parent.regularised_centimu), regularised_cultivated = quantity(parent.regularised_cultivated_centimu),
               remaining = quantity(parent.remaining_centimu);

    const std::string at = today_date(), recorded_at = now_utc();
    const std::string source = "split " + pieces_file.filename().string();
    std::vector<LedgerCase> made;
    std::vector<HistoryEntry> entries;
    for (std::size_t i = 0; i < n; ++i) {
        LedgerCase piece = parent;
        piece.fid = -1;
        piece.case_id = ids[i];
        piece.geometry = as_outline(clipped[i].release());
        set_centroid(piece);
        piece.area_centimu = totals[i];
        piece.cultivated_centimu = table[i][0];
        piece.other_agricultural_centimu = table[i][1];
        piece.unused_centimu = table[i][2];
        piece.construction_centimu = table[i][3];
        piece.unsurveyed_centimu = table[i][4];
        piece.permanent_farmland_centimu = farmland[i];
        piece.redline_centimu = redline[i];
        piece.area_m2 = area_m2[i];
        piece.cultivated_m2 = cultivated_m2[i];
        piece.demolished_centimu = demolished[i];
        piece.demolished_cultivated_centimu = demolished_cultivated[i];
        piece.regularised_centimu = regularised[i];
        piece.regularised_cultivated_centimu = regularised_cultivated[i];
        piece.remaining_centimu = remaining[i];
        piece.updated_at = recorded_at;
        const std::string what = "拆分自 " + case_id + "（第 " + std::to_string(i + 1) + " 块，共 " + std::to_string(n) + " 块）";
        const CaseStatus first = parent.result && parent.status != CaseStatus::ToVerify ? *parent.result : parent.status;
        entries.push_back(entry(piece.case_id, at, recorded_at, options.who, std::nullopt, first, what, source));
        if (first != parent.status)
            entries.push_back(entry(piece.case_id, at, recorded_at, options.who, first, parent.status,
                                    std::string("沿用 ") + case_id + " 的状态：" + status_label(parent.status), source));
        made.push_back(std::move(piece));
    }
    entries.push_back(entry(case_id, at, recorded_at, options.who, parent.status, CaseStatus::Split, "拆分为 " + joined(ids, "、"), source));
    parent.status = CaseStatus::Split;
    parent.updated_at = recorded_at;

    auto transaction = store->begin();
    store->update_case(parent);
    for (auto& piece : made) store->insert_case(piece);
    for (const auto& e : entries) store->append_history(e);
    transaction.commit();

    SplitSummary summary;
    summary.ledger = store->redacted_location();
    summary.parent = case_id;
    summary.pieces = ids;
    summary.piece_centimu = totals;
    summary.parent_centimu = parent.area_centimu;
    return summary;
}

std::string MergeSummary::text() const {
    return "weipian: case" + std::string(merged.size() == 1 ? " " : "s ") + joined(merged, ", ") + " merged into " + survivor + " (" +
           mu_text(area_centimu) + " 亩)\n";
}

MergeSummary merge_cases(const std::string& ledger, const std::vector<std::string>& case_ids, const MergeOptions& options) {
    if (case_ids.size() < 2) throw InputError("merge: give at least two cases to merge");
    {
        std::set<std::string> seen;
        for (const auto& id : case_ids)
            if (!seen.insert(id).second) throw InputError("merge: case " + id + " is named twice; a case cannot be merged with itself");
    }
    const std::string into = options.into.empty() ? case_ids.front() : options.into;
    if (std::find(case_ids.begin(), case_ids.end(), into) == case_ids.end())
        throw InputError("merge: --into " + into + " is not one of the cases to merge (" + joined(case_ids, ", ") + "); name one of them");
    auto store = LedgerStore::open(ledger, LedgerStore::Mode::Update);
    std::vector<LedgerCase> cases = store->load_cases(true);
    std::vector<LedgerCase*> chosen;
    for (const auto& id : case_ids) {
        LedgerCase* c = find_case(cases, id);
        if (!c)
            throw InputError("merge: no case '" + id + "' in the ledger " + store->redacted_location() +
                             "; see `weipian ledger export` for the case ids");
        if (!c->open())
            throw InputError("merge: case " + id + " is " + status_label(c->status) + "; only open cases (not 销号, 已拆分 or 已合并) can be merged");
        chosen.push_back(c);
    }
    for (const LedgerCase* c : chosen) {
        const LedgerCase& first = *chosen.front();
        if (c->township_code != first.township_code || c->township_name != first.township_name)
            throw InputError("merge: cases " + first.case_id + " (" + township_label(first.township_name, first.township_code) + ") and " +
                             c->case_id + " (" + township_label(c->township_name, c->township_code) +
                             ") are in different townships; a case belongs to one township, merge only cases of the same township");
        if (c->status != first.status)
            throw InputError("merge: cases " + first.case_id + " (" + status_label(first.status) + ") and " + c->case_id + " (" +
                             status_label(c->status) + ") have different statuses; bring them to one status first (ledger import), then merge");
    }
    LedgerCase& survivor = *find_case(cases, into);
    std::vector<LedgerCase*> others;
    for (LedgerCase* c : chosen)
        if (c != &survivor) others.push_back(c);

    // Geometry: the union of the outlines.
    OGRGeometryUniquePtr outline(survivor.geometry ? survivor.geometry->clone() : nullptr);
    for (const LedgerCase* c : others) {
        if (!c->geometry) continue;
        if (!outline) outline.reset(c->geometry->clone());
        else outline.reset(outline->Union(c->geometry.get()));
    }
    // Evidence: numbers joined, shares weighted by area.
    struct Evidence {
        std::string LedgerCase::*numbers;
        double LedgerCase::*share;
    };
    const Evidence evidence[] = {{&LedgerCase::approval_no, &LedgerCase::approval_share}, {&LedgerCase::supply_no, &LedgerCase::supply_share},
                                 {&LedgerCase::title_no, &LedgerCase::title_share},       {&LedgerCase::temporary_no, &LedgerCase::temporary_share},
                                 {&LedgerCase::facility_no, &LedgerCase::facility_share}};
    double total_m2 = 0;
    for (const LedgerCase* c : chosen) total_m2 += c->area_m2;
    for (const auto& e : evidence) {
        std::vector<std::string> numbers;
        double weighted = 0;
        for (const LedgerCase* c : chosen) {
            std::string rest = c->*e.numbers;
            while (!rest.empty()) {
                const std::size_t pos = rest.find("、");
                const std::string one = trim(rest.substr(0, pos));
                if (!one.empty() && std::find(numbers.begin(), numbers.end(), one) == numbers.end()) numbers.push_back(one);
                rest = pos == std::string::npos ? std::string() : rest.substr(pos + std::string("、").size());
            }
            weighted += c->*e.share * (total_m2 > 0 ? c->area_m2 / total_m2 : 1.0 / static_cast<double>(chosen.size()));
        }
        survivor.*e.numbers = joined(numbers, "、");
        survivor.*e.share = std::round(weighted * 100.0) / 100.0;
    }
    // Areas: sums.
    for (std::int64_t LedgerCase::*field :
         {&LedgerCase::area_centimu, &LedgerCase::cultivated_centimu, &LedgerCase::other_agricultural_centimu, &LedgerCase::unused_centimu,
          &LedgerCase::construction_centimu, &LedgerCase::unsurveyed_centimu, &LedgerCase::permanent_farmland_centimu,
          &LedgerCase::redline_centimu})
        for (const LedgerCase* c : others) survivor.*field += c->*field;
    for (double LedgerCase::*field : {&LedgerCase::area_m2, &LedgerCase::cultivated_m2}) {
        double hundredths = 0;
        for (const LedgerCase* c : chosen) hundredths += static_cast<double>(std::llround(c->*field * 100.0));
        survivor.*field = hundredths / 100.0;
    }
    for (std::int64_t LedgerCase::*field : {&LedgerCase::demolished_centimu, &LedgerCase::demolished_cultivated_centimu,
                                            &LedgerCase::regularised_centimu, &LedgerCase::regularised_cultivated_centimu,
                                            &LedgerCase::remaining_centimu}) {
        std::int64_t sum = -1;
        for (const LedgerCase* c : chosen)
            if (c->*field >= 0) sum = std::max<std::int64_t>(sum, 0) + c->*field;
        survivor.*field = sum;
    }
    // Text fields the survivor lacks, from the first merged case that has them.
    for (std::string LedgerCase::*field :
         {&LedgerCase::lead_id, &LedgerCase::linked_case, &LedgerCase::batch, &LedgerCase::delivered_at, &LedgerCase::earlier_id,
          &LedgerCase::detected_run, &LedgerCase::verdict, &LedgerCase::category, &LedgerCase::use_detail, &LedgerCase::project,
          &LedgerCase::developer, &LedgerCase::built_at, &LedgerCase::field_notes, &LedgerCase::tblx})
        for (const LedgerCase* c : others)
            if ((survivor.*field).empty() && !(c->*field).empty()) survivor.*field = c->*field;
    // Seen first by the earliest run of any of them, last by the latest (run ids sort by time).
    for (const LedgerCase* c : others) {
        if (!c->first_seen_run.empty() && (survivor.first_seen_run.empty() || c->first_seen_run < survivor.first_seen_run))
            survivor.first_seen_run = c->first_seen_run;
        if (c->last_seen_run > survivor.last_seen_run) survivor.last_seen_run = c->last_seen_run;
    }
    if (outline) {
        survivor.geometry = as_outline(outline.release());
        set_centroid(survivor);
    }

    const std::string at = today_date(), recorded_at = now_utc();
    const std::string source = "merge";
    std::vector<std::string> other_ids;
    for (const LedgerCase* c : others) other_ids.push_back(c->case_id);
    std::vector<HistoryEntry> entries;
    entries.push_back(entry(survivor.case_id, at, recorded_at, options.who, survivor.status, survivor.status,
                            "合并 " + joined(other_ids, "、") + "（共 " + std::to_string(chosen.size()) + " 宗，合计 " +
                                mu_text(survivor.area_centimu) + " 亩）",
                            source));
    survivor.updated_at = recorded_at;
    for (LedgerCase* c : others) {
        entries.push_back(entry(c->case_id, at, recorded_at, options.who, c->status, CaseStatus::Merged, "合并入 " + survivor.case_id, source));
        c->status = CaseStatus::Merged;
        c->updated_at = recorded_at;
    }
    auto transaction = store->begin();
    store->update_case(survivor);
    for (const LedgerCase* c : others) store->update_case(*c);
    for (const auto& e : entries) store->append_history(e);
    transaction.commit();

    MergeSummary summary;
    summary.ledger = store->redacted_location();
    summary.survivor = survivor.case_id;
    summary.merged = other_ids;
    summary.area_centimu = survivor.area_centimu;
    return summary;
}

}  // namespace weipian
