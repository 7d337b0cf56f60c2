#include "pipeline/package.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogr_api.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>

#include "pipeline/core/atomic_output.hpp"
#include "pipeline/core/errors.hpp"
#include "pipeline/core/form_fields.hpp"
#include "pipeline/core/gdal.hpp"
#include "pipeline/core/geo.hpp"
#include "pipeline/core/units.hpp"
#include "pipeline/core/verdicts.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStage = "package";

// ---- text ------------------------------------------------------------------------------------

// `text` safe inside HTML/XML text and double- or single-quoted attributes.
std::string escape_html(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

// A relative file path as a URL path (RFC 3986 unreserved bytes and '/' kept, the rest %XX),
// so a chip name with a blank or '#' still links from file://.
std::string url_path(std::string_view path) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : path) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~' || c == '/') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// HTML for a KML balloon: inside CDATA, "]]>" must not appear.
std::string cdata(const std::string& html) {
    std::string out = "<![CDATA[";
    std::size_t from = 0;
    for (std::size_t at; (at = html.find("]]>", from)) != std::string::npos; from = at + 3)
        out += html.substr(from, at - from) + "]]]]><![CDATA[>";
    out += html.substr(from);
    return out + "]]>";
}

std::string fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

std::string read_text_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

// ---- what every output shows about a parcel ----------------------------------------------------

// Outline colour by pre-judgement (初判 verdict); the same in HTML, KML and QGIS.
struct VerdictColour {
    const char* verdict;  // nullptr = every other verdict (and none)
    const char* label;
    unsigned char r, g, b;
};
const VerdictColour kVerdictColours[] = {
    {"非农违法", "非农违法（初判建议）", 227, 26, 28},
    {"存疑", "存疑（初判建议）", 255, 127, 0},
    {"合法", "合法（初判建议）", 51, 160, 44},
    {"设施农用地", "设施农用地（初判建议）", 31, 120, 180},
    {nullptr, "其他 / 未初判", 128, 128, 128},
};
constexpr int kOtherColour = 4;

int colour_index(const std::string& verdict) {
    for (int i = 0; i < kOtherColour; ++i)
        if (verdict == kVerdictColours[i].verdict) return i;
    return kOtherColour;
}

std::string css_colour(int index) {
    const auto& c = kVerdictColours[index];
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", c.r, c.g, c.b);
    return buffer;
}

std::string prejudgement_text(const Prejudgement& cp) {
    if (cp.verdict.empty()) return "";
    return cp.category.empty() ? cp.verdict : cp.verdict + "·" + cp.category;
}

std::string permanent_farmland_text(const Parcel& parcel) {
    const ParcelOverlay& o = parcel.overlay;
    std::string text = touches_text(o.permanent_farmland_assessed, o.permanent_farmland_m2);
    if (o.permanent_farmland_assessed && o.permanent_farmland_m2 >= kTouchMinimumM2)
        text += " " + format_mu(land_parts_centimu(parcel).permanent_farmland) + " 亩";
    return text;
}

// The parcels of one township, largest first.
struct TownshipGroup {
    std::string name;   // as the parcels carry it
    std::string code;
    std::string label;  // shown (乡镇界外 for the unassigned)
    std::string card;   // file name under cards/
    std::vector<std::size_t> parcels;  // indices into inputs.parcels, by area desc, then id
    std::int64_t area_centimu = 0, cultivated_centimu = 0, cultivated_cases = 0;
};

// Folder-safe file name of a township's card: its code when it is one (digits, letters, '-',
// '_'), else its name with every byte that is not a letter, digit, '-', '_' or part of a
// non-ASCII UTF-8 character replaced by '_'.
std::string card_file_stem(const std::string& name, const std::string& code) {
    const auto safe = [](const std::string& text) {
        std::string out;
        for (const unsigned char c : text) {
            const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                              c == '_' || c >= 0x80;
            out += keep ? static_cast<char>(c) : '_';
        }
        return out;
    };
    if (!code.empty() && safe(code) == code) return code;
    if (name == kUnassignedTownship && code.empty()) return "unassigned";
    std::string stem = safe(name);
    if (stem.empty() || stem.find_first_not_of('_') == std::string::npos) stem = "township";
    return stem;
}

std::vector<TownshipGroup> group_by_township(const PackageInputs& inputs) {
    const auto& parcels = *inputs.parcels;
    std::vector<TownshipGroup> groups;
    std::map<std::pair<std::string, std::string>, std::size_t> index;  // (code, name) → group
    if (inputs.townships) {
        for (const auto& row : *inputs.townships) {
            if (index.count({row.code, row.name})) continue;
            index[{row.code, row.name}] = groups.size();
            groups.push_back({row.name, row.code, {}, {}, {}, 0, 0, 0});
        }
    }
    for (std::size_t i = 0; i < parcels.size(); ++i) {
        const Parcel& p = parcels[i];
        auto [it, added] = index.try_emplace({p.township_code, p.township_name}, groups.size());
        if (added) groups.push_back({p.township_name, p.township_code, {}, {}, {}, 0, 0, 0});
        TownshipGroup& g = groups[it->second];
        g.parcels.push_back(i);
        g.area_centimu += to_centimu(p.area_m2);
        const auto cultivated = to_centimu(p.cultivated_m2);
        g.cultivated_centimu += cultivated;
        if (cultivated > 0) ++g.cultivated_cases;
    }
    groups.erase(std::remove_if(groups.begin(), groups.end(), [](const TownshipGroup& g) { return g.parcels.empty(); }),
                 groups.end());
    std::set<std::string> taken;
    for (auto& g : groups) {
        g.label = (g.name == kUnassignedTownship && g.code.empty()) ? kUnassignedTownshipLabel : g.name;
        std::stable_sort(g.parcels.begin(), g.parcels.end(), [&](std::size_t a, std::size_t b) {
            const auto ca = to_centimu(parcels[a].area_m2), cb = to_centimu(parcels[b].area_m2);
            return ca != cb ? ca > cb : parcels[a].id < parcels[b].id;
        });
        const std::string stem = card_file_stem(g.name, g.code);
        std::string file = stem + ".html";
        for (int n = 2; taken.count(file); ++n) file = stem + "-" + std::to_string(n) + ".html";
        taken.insert(file);
        g.card = file;
    }
    return groups;
}

std::string derived_title(const PackageInputs& inputs) {
    if (!inputs.title.empty()) return inputs.title;
    const std::string county = inputs.county_name.empty() ? std::string("本县") : inputs.county_name;
    return county + " 卫片疑似违法图斑核查包";
}

std::string date_or_unknown(const std::string& date) { return date.empty() ? std::string("未注明") : date; }

const ChipFiles* chips_of(const PackageInputs& inputs, std::size_t i) {
    if (inputs.chips.empty() || i >= inputs.chips.size()) return nullptr;
    return &inputs.chips[i];
}

void check_inputs(const PackageInputs& inputs, const char* what) {
    if (!inputs.parcels) throw InternalError(std::string("package: ") + what + " without parcels");
    if (!inputs.chips.empty() && inputs.chips.size() != inputs.parcels->size())
        throw InternalError(std::string("package: ") + what + ": " + std::to_string(inputs.chips.size()) +
                            " chip pairs for " + std::to_string(inputs.parcels->size()) + " parcels");
}

// Lon/lat (EPSG:4326, x = longitude) of parcel outlines and interior points.
class LonLat {
public:
    explicit LonLat(const OGRSpatialReference* srs) {
        if (!srs) return;
        source_ = clone_traditional(*srs);
        target_.importFromEPSG(4326);
        target_.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        transform_.reset(OGRCreateCoordinateTransformation(source_.get(), &target_));
    }
    bool valid() const { return transform_ != nullptr; }
    // The geometry in lon/lat, or null when it cannot be transformed.
    OGRGeometryUniquePtr operator()(const OGRGeometry& geometry) const {
        if (!transform_) return nullptr;
        OGRGeometryUniquePtr copy(geometry.clone());
        if (copy->transform(transform_.get()) != OGRERR_NONE) return nullptr;
        return copy;
    }

private:
    std::unique_ptr<OGRSpatialReference> source_;
    OGRSpatialReference target_;
    std::unique_ptr<OGRCoordinateTransformation> transform_;
};

// A point inside the parcel (OGR_G_PointOnSurface, GEOS), in the parcel's CRS; null when empty.
// (The C++ OGRSurface::PointOnSurface of GDAL 3.6 fails on an empty output point: the C API.)
std::unique_ptr<OGRPoint> interior_point(const OGRGeometry& geometry) {
    if (geometry.IsEmpty()) return nullptr;
    OGRGeometryH handle = OGR_G_PointOnSurface(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(&geometry)));
    OGRGeometryUniquePtr result(OGRGeometry::FromHandle(handle));
    if (!result || wkbFlatten(result->getGeometryType()) != wkbPoint || result->IsEmpty()) return nullptr;
    return std::unique_ptr<OGRPoint>(result.release()->toPoint());
}

// ---- index.html ------------------------------------------------------------------------------

constexpr const char* kIndexCss = R"(
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:18px 0 6px}
.dates{color:#555;margin:0 0 10px}
pre.summary{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:10px;font-family:inherit;font-size:14px;line-height:1.6}
.overview{position:relative;max-width:100%;margin:10px 0}.overview img{max-width:100%;height:auto;border:1px solid #999}
.controls{margin:10px 0;padding:8px;background:#fff;border:1px solid #ddd;position:sticky;top:0;z-index:2}
table.parcels{border-collapse:collapse;background:#fff;margin-bottom:8px;font-size:14px}
table.parcels th,table.parcels td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:middle}
table.parcels th{background:#eef;white-space:nowrap}
table.parcels th[data-sort]{cursor:pointer}table.parcels th[data-sort]:after{content:" \2195";color:#999}
table.parcels th[data-dir=asc]:after{content:" \2191";color:#000}table.parcels th[data-dir=desc]:after{content:" \2193";color:#000}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.chip img{width:120px;height:auto;display:block;background:#ddd}
tr:target{outline:3px solid #e31a1c}
tfoot td{font-weight:bold;background:#f4f4f4}
.verdict{display:inline-block;width:10px;height:10px;border:2px solid;margin-right:4px;vertical-align:middle}
.legend span{margin-right:12px}
.note{color:#666;font-size:13px}
)";

constexpr const char* kIndexScript = R"(
(function(){
  var body=document.body;
  // Sorting: a click on a sortable heading orders the rows by the cells' data-v (numbers or text).
  Array.prototype.forEach.call(document.querySelectorAll('table.parcels'),function(table){
    Array.prototype.forEach.call(table.querySelectorAll('th[data-sort]'),function(th){
      th.addEventListener('click',function(){
        var dir=th.getAttribute('data-dir')==='desc'?'asc':'desc';
        Array.prototype.forEach.call(table.querySelectorAll('th[data-sort]'),function(o){o.removeAttribute('data-dir');});
        th.setAttribute('data-dir',dir);
        var col=th.cellIndex,numeric=th.getAttribute('data-sort')==='num',tbody=table.tBodies[0];
        var rows=Array.prototype.slice.call(tbody.rows);
        rows.sort(function(a,b){
          var x=a.cells[col].getAttribute('data-v')||'',y=b.cells[col].getAttribute('data-v')||'';
          var c=numeric?(parseFloat(x)-parseFloat(y)):x.localeCompare(y,'zh-CN');
          if(c!==0)return dir==='asc'?c:-c;
          return parseInt(a.getAttribute('data-parcel-id'),10)-parseInt(b.getAttribute('data-parcel-id'),10);
        });
        rows.forEach(function(r){tbody.appendChild(r);});
      });
    });
  });
  // Township filter.
  var filter=document.getElementById('township-filter');
  function applyFilter(){
    var v=filter.value;
    Array.prototype.forEach.call(document.querySelectorAll('section.township'),function(s){
      s.hidden=!(v===''||s.id===v);
    });
  }
  if(filter)filter.addEventListener('change',applyFilter);
  // A click on the overview shows the parcel's township.
  window.addEventListener('hashchange',function(){
    var row=document.getElementById(location.hash.slice(1));
    if(row&&filter){var s=row.closest('section.township');if(s&&s.hidden){filter.value='';applyFilter();row.scrollIntoView();}}
  });
  // The overview's image map follows the image's displayed size.
  var ov=document.getElementById('overview-image');
  function scaleMap(){
    if(!ov||!ov.naturalWidth)return;
    var k=ov.clientWidth/ov.naturalWidth;
    Array.prototype.forEach.call(document.querySelectorAll('#overview-map area'),function(a){
      a.coords=a.getAttribute('data-coords').split(',').map(function(n){return Math.round(n*k);}).join(',');
    });
  }
  if(ov){ov.addEventListener('load',scaleMap);window.addEventListener('resize',scaleMap);scaleMap();}
  // Chip check: body data-chips-loaded / data-chips-failed once every chip settled, then
  // data-ready=1. "?check" loads every chip now (lazy chips below the fold never settle otherwise).
  var chips=document.querySelectorAll('img.chip'),pending=chips.length,loaded=0,failed=0;
  if(/[?&]check/.test(location.search))Array.prototype.forEach.call(chips,function(img){img.loading='eager';});
  function done(){body.dataset.chipsLoaded=loaded;body.dataset.chipsFailed=failed;body.dataset.ready='1';}
  function settle(img){if(img.naturalWidth>0)loaded++;else failed++;if(--pending===0)done();}
  if(pending===0)done();
  Array.prototype.forEach.call(chips,function(img){
    if(img.complete&&img.getAttribute('src')){settle(img);return;}
    img.addEventListener('load',function(){settle(img);},{once:true});
    img.addEventListener('error',function(){settle(img);},{once:true});
  });
})();
)";

std::string chip_cell(const std::string& file, const std::string& alt, const std::string& prefix) {
    if (file.empty()) return "<td class=\"chip\">—</td>";
    const std::string href = escape_html(prefix + url_path(file));
    return "<td class=\"chip\"><a href=\"" + href + "\"><img class=\"chip\" loading=\"lazy\" src=\"" + href +
           "\" alt=\"" + escape_html(alt) + "\"></a></td>";
}

std::string build_index_html(const PackageInputs& inputs, const std::vector<TownshipGroup>& groups) {
    const auto& parcels = *inputs.parcels;
    const std::string title = derived_title(inputs);
    std::string h;
    h.reserve(4096 + parcels.size() * 1400);
    h += "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
    h += escape_html(title);
    h += "</title>\n<style>";
    h += kIndexCss;
    h += "</style>\n</head>\n<body>\n<h1>" + escape_html(title) + "</h1>\n";
    h += "<p class=\"dates\">前时相 QSX " + escape_html(date_or_unknown(inputs.before_date)) + " · 后时相 HSX " +
         escape_html(date_or_unknown(inputs.after_date)) + " · 图斑 " + std::to_string(parcels.size()) + " 个</p>\n";
    h += "<p class=\"note\">初判为建议，须经外业核查认定；图斑面积以亩计，保留两位小数。</p>\n";

    const std::string summary = read_text_file(inputs.dir / "summary.txt");
    if (!summary.empty()) h += "<pre class=\"summary\">" + escape_html(summary) + "</pre>\n";

    // The overview with one clickable box per parcel.
    if (!inputs.overview.file.empty() && fs::exists(inputs.dir / inputs.overview.file)) {
        h += "<div class=\"overview\"><img id=\"overview-image\" src=\"" + escape_html(url_path(inputs.overview.file)) +
             "\" usemap=\"#overview-map\" alt=\"图斑分布总览\"";
        if (inputs.overview.width > 0 && inputs.overview.height > 0)
            h += " width=\"" + std::to_string(inputs.overview.width) + "\" height=\"" +
                 std::to_string(inputs.overview.height) + "\"";
        h += "></div>\n<map name=\"overview-map\" id=\"overview-map\">\n";
        for (std::size_t i = 0; i < parcels.size() && i < inputs.overview.boxes.size(); ++i) {
            const cv::Rect& box = inputs.overview.boxes[i];
            if (box.width <= 0 || box.height <= 0) continue;
            const std::string coords = std::to_string(box.x) + "," + std::to_string(box.y) + "," +
                                       std::to_string(box.x + box.width) + "," + std::to_string(box.y + box.height);
            const std::string id = std::to_string(parcels[i].id);
            h += "<area shape=\"rect\" coords=\"" + coords + "\" data-coords=\"" + coords + "\" href=\"#p-" + id +
                 "\" title=\"图斑 " + id + "\" alt=\"图斑 " + id + "\">\n";
        }
        h += "</map>\n";
    }

    h += "<div class=\"controls\"><label>乡镇：<select id=\"township-filter\"><option value=\"\">全部乡镇（" +
         std::to_string(groups.size()) + "）</option>";
    for (std::size_t g = 0; g < groups.size(); ++g)
        h += "<option value=\"t-" + std::to_string(g) + "\">" + escape_html(groups[g].label) + "（" +
             std::to_string(groups[g].parcels.size()) + "）</option>";
    h += "</select></label> <span class=\"legend\">";
    for (int c = 0; c <= kOtherColour; ++c)
        h += "<span><i class=\"verdict\" style=\"border-color:" + css_colour(c) + "\"></i>" +
             escape_html(kVerdictColours[c].label) + "</span>";
    h += "</span></div>\n";

    for (std::size_t g = 0; g < groups.size(); ++g) {
        const TownshipGroup& group = groups[g];
        const std::string label = escape_html(group.label);
        h += "<section class=\"township\" id=\"t-" + std::to_string(g) + "\" data-township=\"" + label + "\">\n<h2>" +
             label;
        if (!group.code.empty()) h += "（" + escape_html(group.code) + "）";
        h += " · " + std::to_string(group.parcels.size()) + " 宗 · " + format_mu(group.area_centimu) + " 亩 · 耕地 " +
             format_mu(group.cultivated_centimu) + " 亩 · <a href=\"cards/" + escape_html(url_path(group.card)) +
             "\">打印核查卡</a></h2>\n";
        h += "<table class=\"parcels\" data-township=\"" + label +
             "\">\n<thead><tr><th>图斑序号</th><th>村</th><th data-sort=\"num\" data-dir=\"desc\">面积(亩)</th>"
             "<th data-sort=\"num\">耕地(亩)</th><th data-sort=\"text\">图斑类型</th><th data-sort=\"text\">初判建议</th>"
             "<th>永农</th><th>线索编号</th><th>前时相 " +
             escape_html(date_or_unknown(inputs.before_date)) + "</th><th>后时相 " +
             escape_html(date_or_unknown(inputs.after_date)) + "</th></tr></thead>\n<tbody>\n";
        for (const std::size_t i : group.parcels) {
            const Parcel& p = parcels[i];
            const std::string id = std::to_string(p.id);
            const auto area = to_centimu(p.area_m2), cultivated = to_centimu(p.cultivated_m2);
            const std::string verdict = prejudgement_text(p.prejudgement);
            h += "<tr id=\"p-" + id + "\" data-parcel-id=\"" + id + "\"><td class=\"num\">" + id + "</td><td>" +
                 escape_html(p.overlay.village_name) + "</td><td class=\"num\" data-v=\"" + std::to_string(area) + "\">" +
                 format_mu(area) + "</td><td class=\"num\" data-v=\"" + std::to_string(cultivated) + "\">" +
                 format_mu(cultivated) + "</td><td data-v=\"" + escape_html(p.tblx) + "\">" + escape_html(p.tblx) +
                 "</td><td data-v=\"" + escape_html(verdict) + "\">";
            if (!verdict.empty())
                h += "<i class=\"verdict\" style=\"border-color:" + css_colour(colour_index(p.prejudgement.verdict)) +
                     "\"></i>" + escape_html(verdict);
            h += "</td><td>" + escape_html(permanent_farmland_text(p)) + "</td><td>" + escape_html(p.lead_id) + "</td>";
            if (const ChipFiles* chips = chips_of(inputs, i)) {
                h += chip_cell(chips->before, "图斑 " + id + " 前时相", "");
                h += chip_cell(chips->after, "图斑 " + id + " 后时相", "");
            } else {
                h += "<td class=\"chip\">—</td><td class=\"chip\">—</td>";
            }
            h += "</tr>\n";
        }
        h += "</tbody>\n<tfoot><tr><td>合计</td><td>" + std::to_string(group.parcels.size()) +
             " 宗</td><td class=\"num\">" + format_mu(group.area_centimu) + "</td><td class=\"num\">" +
             format_mu(group.cultivated_centimu) + "</td><td colspan=\"6\">涉及耕地 " +
             std::to_string(group.cultivated_cases) + " 宗</td></tr></tfoot>\n</table>\n</section>\n";
    }
    if (parcels.empty()) h += "<p>本期未发现疑似违法用地图斑。</p>\n";
    h += "<script>";
    h += kIndexScript;
    h += "</script>\n</body>\n</html>\n";
    return h;
}

// ---- cards/<township>.html --------------------------------------------------------------------

constexpr const char* kCardCss = R"(
@page{size:A4 portrait;margin:12mm}
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;font-size:12px;color:#000;margin:0}
h1{font-size:18px;margin:0 0 4px}
.card{border:1.5px solid #000;padding:4px 6px;margin:0 0 4mm;break-inside:avoid;page-break-inside:avoid}
.card:nth-of-type(2n){break-after:page;page-break-after:always}
.card h2{font-size:15px;margin:0 0 4px}
table.facts,table.form{border-collapse:collapse;width:100%}
table.facts td,table.form td,table.form th{border:1px solid #444;padding:2px 4px;vertical-align:top}
table.form th{width:18%;text-align:left;background:#f0f0f0;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.pictures{display:flex;gap:6px;margin:4px 0}
.pictures figure{margin:0;text-align:center}
.pictures img.chip{width:42mm;height:auto;border:1px solid #444}
.locator{position:relative;width:36mm;height:36mm;overflow:hidden;border:1px solid #444}
.locator img{position:absolute;max-width:none}
.locator .box{position:absolute;border:2px solid #e31a1c;box-sizing:border-box}
figcaption{font-size:11px}
.blank{height:11mm}.blank-s{height:5mm}
.opt{margin-right:10px;white-space:nowrap}
@media screen{body{margin:12px;max-width:190mm}}
)";

std::string build_card_html(const PackageInputs& inputs, const TownshipGroup& group, const LonLat& lonlat) {
    const auto& parcels = *inputs.parcels;
    const std::string title = derived_title(inputs) + " · " + group.label + " 外业核查卡";
    std::string h;
    h.reserve(2048 + group.parcels.size() * 2500);
    h += "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escape_html(title) +
         "</title>\n<style>";
    h += kCardCss;
    h += "</style>\n</head>\n<body>\n<h1>" + escape_html(title) + "</h1>\n<p>前时相 QSX " +
         escape_html(date_or_unknown(inputs.before_date)) + " · 后时相 HSX " +
         escape_html(date_or_unknown(inputs.after_date)) + " · " + std::to_string(group.parcels.size()) + " 宗 · " +
         format_mu(group.area_centimu) + " 亩（初判为建议，以现场核查为准）</p>\n";
    const bool overview = !inputs.overview.file.empty() && fs::exists(inputs.dir / inputs.overview.file);
    std::string verdict_options;
    for (const auto& entry : verdict_table()) verdict_options += "<span class=\"opt\">□ " + escape_html(entry.verdict) + "</span>";
    for (const std::size_t i : group.parcels) {
        const Parcel& p = parcels[i];
        const std::string id = std::to_string(p.id);
        h += "<div class=\"card\" data-parcel-id=\"" + id + "\">\n<h2>图斑 " + id + "</h2>\n<table class=\"facts\"><tr><td>乡镇：" +
             escape_html(group.label) + "</td><td>村：" + escape_html(p.overlay.village_name) + "</td><td>面积：" +
             format_mu(to_centimu(p.area_m2)) + " 亩</td><td>耕地：" + format_mu(to_centimu(p.cultivated_m2)) +
             " 亩</td></tr>\n<tr><td>图斑类型：" + escape_html(p.tblx) + "</td><td>初判建议：" +
             escape_html(prejudgement_text(p.prejudgement)) + "</td><td>永农：" + escape_html(permanent_farmland_text(p)) +
             "</td><td>线索编号：" + escape_html(p.lead_id) + "</td></tr>\n<tr><td colspan=\"2\">中心点 XZB " +
             fixed(p.centroid_x, 2) + "　YZB " + fixed(p.centroid_y, 2) + "</td><td colspan=\"2\">";
        std::unique_ptr<OGRPoint> point = p.geometry ? interior_point(*p.geometry) : nullptr;
        OGRGeometryUniquePtr ll = point ? lonlat(*point) : nullptr;
        if (ll) {
            const auto* q = ll->toPoint();
            h += "导航点 经度 " + fixed(q->getX(), 6) + "° 纬度 " + fixed(q->getY(), 6) + "°";
        }
        h += "</td></tr></table>\n<div class=\"pictures\">";
        if (overview && i < inputs.overview.boxes.size() && inputs.overview.boxes[i].width > 0) {
            // A 36 mm window (136 CSS px) of the overview centred on the parcel, its box in red.
            const cv::Rect& box = inputs.overview.boxes[i];
            constexpr int window = 136;
            const int left = box.x + box.width / 2 - window / 2, top = box.y + box.height / 2 - window / 2;
            h += "<figure><div class=\"locator\"><img src=\"../" + escape_html(url_path(inputs.overview.file)) +
                 "\" alt=\"位置\" style=\"left:" + std::to_string(-left) + "px;top:" + std::to_string(-top) +
                 "px\"><div class=\"box\" style=\"left:" + std::to_string(box.x - left) + "px;top:" +
                 std::to_string(box.y - top) + "px;width:" + std::to_string(std::max(box.width, 4)) +
                 "px;height:" + std::to_string(std::max(box.height, 4)) + "px\"></div></div><figcaption>位置</figcaption></figure>";
        }
        if (const ChipFiles* chips = chips_of(inputs, i)) {
            if (!chips->before.empty())
                h += "<figure><img class=\"chip\" src=\"../" + escape_html(url_path(chips->before)) + "\" alt=\"图斑 " + id +
                     " 前时相\"><figcaption>前时相 " + escape_html(date_or_unknown(inputs.before_date)) + "</figcaption></figure>";
            if (!chips->after.empty())
                h += "<figure><img class=\"chip\" src=\"../" + escape_html(url_path(chips->after)) + "\" alt=\"图斑 " + id +
                     " 后时相\"><figcaption>后时相 " + escape_html(date_or_unknown(inputs.after_date)) + "</figcaption></figure>";
        }
        h += "</div>\n<table class=\"form\">\n<tr><th>核实认定意见</th><td>" + verdict_options +
             "</td></tr>\n<tr><th>分类</th><td class=\"blank-s\"></td></tr>\n"
             "<tr><th>用途分类细化</th><td class=\"blank-s\"></td></tr>\n"
             "<tr><th>项目名称</th><td class=\"blank-s\"></td></tr>\n"
             "<tr><th>建设时间</th><td class=\"blank-s\"></td></tr>\n"
             "<tr><th>项目主体</th><td class=\"blank-s\"></td></tr>\n"
             "<tr><th>现场核查描述</th><td class=\"blank\"></td></tr>\n"
             "<tr><th>核查人</th><td class=\"blank-s\"></td></tr>\n"
             "<tr><th>核查日期</th><td class=\"blank-s\">　　　　年　　月　　日</td></tr>\n</table>\n</div>\n";
    }
    h += "</body>\n</html>\n";
    return h;
}

// ---- parcels.kmz ------------------------------------------------------------------------------

// KML colour aabbggrr.
std::string kml_colour(int index) {
    const auto& c = kVerdictColours[index];
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "ff%02x%02x%02x", c.b, c.g, c.r);
    return buffer;
}

void append_ring(std::string& kml, const OGRLinearRing& ring) {
    kml += "<LinearRing><coordinates>";
    for (int k = 0; k < ring.getNumPoints(); ++k) {
        if (k) kml += ' ';
        kml += fixed(ring.getX(k), 8) + "," + fixed(ring.getY(k), 8);
    }
    kml += "</coordinates></LinearRing>";
}

void append_polygon(std::string& kml, const OGRPolygon& polygon) {
    if (polygon.IsEmpty()) return;
    kml += "<Polygon><outerBoundaryIs>";
    append_ring(kml, *polygon.getExteriorRing());
    kml += "</outerBoundaryIs>";
    for (int r = 0; r < polygon.getNumInteriorRings(); ++r) {
        kml += "<innerBoundaryIs>";
        append_ring(kml, *polygon.getInteriorRing(r));
        kml += "</innerBoundaryIs>";
    }
    kml += "</Polygon>";
}

std::string archive_name(const std::string& chip) { return "files/" + fs::path(chip).filename().string(); }

void add_to_kmz(void* zip, const std::string& name, const std::string& bytes, bool compressed, const fs::path& kmz) {
    if (add_to_zip(zip, name, bytes, compressed) != CE_None)
        throw InputError("package: cannot add " + name + " to the archive '" + kmz.string() + "' (" + last_gdal_error() +
                         "); check free space on the output disk");
}

// ---- QGIS style -------------------------------------------------------------------------------

std::string rgba(int index) {
    const auto& c = kVerdictColours[index];
    return std::to_string(c.r) + "," + std::to_string(c.g) + "," + std::to_string(c.b) + ",255";
}

std::string style_qml() {
    std::string q;
    q += "<qgis version=\"3.28.0-Firenze\" styleCategories=\"Symbology|Labeling\" labelsEnabled=\"1\">\n"
         " <renderer-v2 type=\"RuleRenderer\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\" referencescale=\"-1\">\n"
         "  <rules key=\"{weipian-rules}\">\n";
    for (int c = 0; c <= kOtherColour; ++c) {
        const std::string filter = kVerdictColours[c].verdict
                                       ? "&quot;cp_yj&quot; = '" + std::string(kVerdictColours[c].verdict) + "'"
                                       : std::string("ELSE");
        q += "   <rule key=\"{weipian-rule-" + std::to_string(c) + "}\" symbol=\"" + std::to_string(c) + "\" label=\"" +
             escape_html(kVerdictColours[c].label) + "\" filter=\"" + filter + "\"/>\n";
    }
    q += "  </rules>\n  <symbols>\n";
    for (int c = 0; c <= kOtherColour; ++c) {
        q += "   <symbol type=\"fill\" name=\"" + std::to_string(c) +
             "\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\">\n"
             "    <layer class=\"SimpleFill\" enabled=\"1\" locked=\"0\" pass=\"0\">\n"
             "     <Option type=\"Map\">\n"
             "      <Option name=\"color\" type=\"QString\" value=\"0,0,0,0\"/>\n"
             "      <Option name=\"style\" type=\"QString\" value=\"no\"/>\n"
             "      <Option name=\"joinstyle\" type=\"QString\" value=\"miter\"/>\n"
             "      <Option name=\"outline_color\" type=\"QString\" value=\"" + rgba(c) + "\"/>\n"
             "      <Option name=\"outline_style\" type=\"QString\" value=\"solid\"/>\n"
             "      <Option name=\"outline_width\" type=\"QString\" value=\"0.8\"/>\n"
             "      <Option name=\"outline_width_unit\" type=\"QString\" value=\"MM\"/>\n"
             "     </Option>\n"
             "     <prop k=\"color\" v=\"0,0,0,0\"/><prop k=\"style\" v=\"no\"/><prop k=\"outline_color\" v=\"" + rgba(c) +
             "\"/><prop k=\"outline_style\" v=\"solid\"/><prop k=\"outline_width\" v=\"0.8\"/><prop k=\"outline_width_unit\" v=\"MM\"/>\n"
             "    </layer>\n   </symbol>\n";
    }
    q += "  </symbols>\n </renderer-v2>\n"
         " <labeling type=\"simple\">\n  <settings calloutType=\"simple\">\n"
         "   <text-style fieldName=\"parcel_id\" isExpression=\"0\" fontSize=\"10\" fontSizeUnit=\"Point\" fontWeight=\"75\""
         " textColor=\"0,0,0,255\" textOpacity=\"1\" namedStyle=\"Bold\">\n"
         "    <text-buffer bufferDraw=\"1\" bufferSize=\"1\" bufferSizeUnits=\"MM\" bufferColor=\"255,255,255,255\" bufferOpacity=\"1\"/>\n"
         "   </text-style>\n"
         "   <placement placement=\"1\" centroidInside=\"1\" centroidWhole=\"0\" fitInPolygonOnly=\"0\"/>\n"
         "   <rendering obstacle=\"1\" drawLabels=\"1\" upsidedownLabels=\"0\" scaleVisibility=\"0\"/>\n"
         "  </settings>\n </labeling>\n"
         " <layerGeometryType>2</layerGeometryType>\n</qgis>\n";
    return q;
}

std::string style_sld(const std::string& layer) {
    std::string s =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<StyledLayerDescriptor xmlns=\"http://www.opengis.net/sld\" xmlns:ogc=\"http://www.opengis.net/ogc\""
        " xmlns:se=\"http://www.opengis.net/se\" version=\"1.1.0\">\n <NamedLayer>\n  <se:Name>" +
        escape_html(layer) + "</se:Name>\n  <UserStyle>\n   <se:Name>" + escape_html(layer) +
        "</se:Name>\n   <se:FeatureTypeStyle>\n";
    for (int c = 0; c <= kOtherColour; ++c) {
        const auto& colour = kVerdictColours[c];
        char hex[8];
        std::snprintf(hex, sizeof hex, "#%02x%02x%02x", colour.r, colour.g, colour.b);
        s += "    <se:Rule>\n     <se:Name>" + escape_html(colour.label) + "</se:Name>\n";
        if (colour.verdict)
            s += "     <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>cp_yj</ogc:PropertyName><ogc:Literal>" +
                 std::string(colour.verdict) + "</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>\n";
        else
            s += "     <se:ElseFilter/>\n";
        s += "     <se:PolygonSymbolizer><se:Stroke><se:SvgParameter name=\"stroke\">" + std::string(hex) +
             "</se:SvgParameter><se:SvgParameter name=\"stroke-width\">3</se:SvgParameter></se:Stroke></se:PolygonSymbolizer>\n"
             "    </se:Rule>\n";
    }
    s += "    <se:Rule><se:TextSymbolizer><se:Label><ogc:PropertyName>parcel_id</ogc:PropertyName></se:Label>"
         "<se:Fill><se:SvgParameter name=\"fill\">#000000</se:SvgParameter></se:Fill></se:TextSymbolizer></se:Rule>\n"
         "   </se:FeatureTypeStyle>\n  </UserStyle>\n </NamedLayer>\n</StyledLayerDescriptor>\n";
    return s;
}

}  // namespace

// ---- public -----------------------------------------------------------------------------------

void write_html_package(const PackageInputs& inputs) {
    check_inputs(inputs, "write_html_package");
    const std::vector<TownshipGroup> groups = group_by_township(inputs);
    write_file_atomically(inputs.dir / "index.html", build_index_html(inputs, groups), kStage);
    const LonLat lonlat(inputs.srs);
    for (const auto& group : groups)
        write_file_atomically(inputs.dir / "cards" / group.card, build_card_html(inputs, group, lonlat), kStage);
}

void write_parcels_kmz(const fs::path& path, const PackageInputs& inputs) {
    check_inputs(inputs, "write_parcels_kmz");
    ensure_gdal_registered();
    const auto& parcels = *inputs.parcels;
    const LonLat lonlat(inputs.srs);
    if (!lonlat.valid())
        throw InputError("package: cannot write '" + path.string() + "': the parcels' CRS cannot be transformed to " +
                         "longitude/latitude (EPSG:4326); check the CRS of the imagery (" + last_gdal_error() + ")");
    const std::vector<TownshipGroup> groups = group_by_township(inputs);
    const std::string title = derived_title(inputs);

    std::string kml;
    kml.reserve(4096 + parcels.size() * 1500);
    kml += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n<name>" +
           escape_html(title) + "</name>\n<description>" +
           escape_html("前时相 QSX " + date_or_unknown(inputs.before_date) + "，后时相 HSX " +
                       date_or_unknown(inputs.after_date) + "；初判为建议，以现场核查为准") +
           "</description>\n";
    for (int c = 0; c <= kOtherColour; ++c)
        kml += "<Style id=\"cp" + std::to_string(c) + "\"><IconStyle><color>" + kml_colour(c) +
               "</color><scale>0.8</scale></IconStyle><LabelStyle><scale>0.8</scale></LabelStyle><LineStyle><color>" +
               kml_colour(c) + "</color><width>2</width></LineStyle><PolyStyle><fill>0</fill><outline>1</outline></PolyStyle></Style>\n";
    std::vector<std::pair<std::string, std::string>> files;  // archive name, file on disk
    for (const auto& group : groups) {
        kml += "<Folder><name>" + escape_html(group.label) + "（" + std::to_string(group.parcels.size()) + " 宗，" +
               format_mu(group.area_centimu) + " 亩）</name>\n";
        for (const std::size_t i : group.parcels) {
            const Parcel& p = parcels[i];
            if (!p.geometry) throw InternalError("package: parcel " + std::to_string(p.id) + " has no geometry");
            const std::string id = std::to_string(p.id);
            std::unique_ptr<OGRPoint> point = interior_point(*p.geometry);
            OGRGeometryUniquePtr outline = lonlat(*p.geometry);
            OGRGeometryUniquePtr at = point ? lonlat(*point) : nullptr;
            if (!outline || !at)
                throw InputError("package: cannot write '" + path.string() + "': parcel " + id +
                                 " cannot be placed in longitude/latitude; check the CRS of the imagery");
            const std::string verdict = prejudgement_text(p.prejudgement);
            std::string balloon = "<h3>图斑 " + id + "</h3><table>";
            const auto row = [&](const std::string& key, const std::string& value) {
                balloon += "<tr><td>" + escape_html(key) + "</td><td>" + escape_html(value) + "</td></tr>";
            };
            row("乡镇", group.label);
            row("村", p.overlay.village_name);
            row("面积", format_mu(to_centimu(p.area_m2)) + " 亩");
            row("耕地", format_mu(to_centimu(p.cultivated_m2)) + " 亩");
            row("图斑类型", p.tblx);
            row("初判建议", verdict.empty() ? std::string("—") : verdict);
            row("永农", permanent_farmland_text(p));
            if (!p.lead_id.empty()) row("线索编号", p.lead_id);
            balloon += "</table>";
            if (const ChipFiles* chips = chips_of(inputs, i)) {
                for (const auto& [file, caption] : {std::pair<const std::string&, std::string>{chips->before, "前时相 " + date_or_unknown(inputs.before_date)},
                                                    {chips->after, "后时相 " + date_or_unknown(inputs.after_date)}}) {
                    if (file.empty()) continue;
                    const std::string name = archive_name(file);
                    files.emplace_back(name, file);
                    balloon += "<p>" + escape_html(caption) + "<br><img src=\"" + escape_html(url_path(name)) + "\" width=\"240\"></p>";
                }
            }
            kml += "<Placemark id=\"p" + id + "\"><name>" + id + "</name><description>" + cdata(balloon) +
                   "</description><styleUrl>#cp" + std::to_string(colour_index(p.prejudgement.verdict)) +
                   "</styleUrl>\n<ExtendedData><Data name=\"parcel_id\"><value>" + id + "</value></Data>"
                   "<Data name=\"xzmc\"><value>" + escape_html(group.label) + "</value></Data>"
                   "<Data name=\"cjmc\"><value>" + escape_html(p.overlay.village_name) + "</value></Data>"
                   "<Data name=\"area_mu\"><value>" + format_mu_fixed2(to_centimu(p.area_m2)) + "</value></Data>"
                   "<Data name=\"cp_yj\"><value>" + escape_html(p.prejudgement.verdict) + "</value></Data>"
                   "</ExtendedData>\n<MultiGeometry><Point><coordinates>" +
                   fixed(at->toPoint()->getX(), 8) + "," + fixed(at->toPoint()->getY(), 8) + "</coordinates></Point>";
            const auto type = wkbFlatten(outline->getGeometryType());
            if (type == wkbPolygon) {
                append_polygon(kml, *outline->toPolygon());
            } else if (type == wkbMultiPolygon) {
                for (const auto* part : *outline->toMultiPolygon()) append_polygon(kml, *part);
            }
            kml += "</MultiGeometry></Placemark>\n";
        }
        kml += "</Folder>\n";
    }
    kml += "</Document>\n</kml>\n";

    AtomicFile out(path, kStage);
    {
        CPLErrorReset();
        void* zip = CPLCreateZip(out.path().string().c_str(), nullptr);
        if (!zip)
            throw InputError("package: cannot create '" + path.string() + "' (" + last_gdal_error() +
                             "); check that the output folder is writable");
        struct Closer {
            void* zip;
            ~Closer() { if (zip) CPLCloseZip(zip); }
        } closer{zip};
        add_to_kmz(zip, "doc.kml", kml, true, path);  // first entry: what a reader opens
        std::set<std::string> added;
        for (const auto& [name, file] : files) {
            if (!added.insert(name).second) continue;
            const fs::path disk = inputs.dir / file;
            std::ifstream in(disk, std::ios::binary);
            std::stringstream bytes;
            if (in) bytes << in.rdbuf();
            if (!in.is_open() || !fs::is_regular_file(disk))
                throw InputError("package: cannot read the chip '" + disk.string() + "' for '" + path.string() +
                                 "'; write the chips first (output.chips: true) or turn output.kmz off");
            add_to_kmz(zip, name, bytes.str(), false, path);  // JPEG: stored, not deflated
        }
        closer.zip = nullptr;
        if (CPLCloseZip(zip) != CE_None)
            throw InputError("package: cannot finish '" + path.string() + "' (" + last_gdal_error() +
                             "); check free space on the output disk");
    }
    out.commit();
}

void add_qgis_style(const fs::path& gpkg, const std::string& layer_name) {
    ensure_gdal_registered();
    AtomicFile::Options options;
    options.extension = ".gpkg";
    options.extension_given = true;
    options.copy_existing = true;
    AtomicFile out(gpkg, kStage, options);
    const auto fail = [&](const std::string& what, const std::string& detail) {
        throw InputError("package: cannot add the QGIS style to '" + gpkg.string() + "': " + what + " (" + detail +
                         "); check that the output folder is writable");
    };
    {
        CPLErrorReset();
        const char* drivers[] = {"GPKG", nullptr};
        GDALDatasetUniquePtr dataset(GDALDataset::Open(out.path().string().c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE,
                                                       drivers, nullptr, nullptr));
        if (!out.copied_existing() || !dataset)
            throw InputError("package: cannot open the GeoPackage '" + gpkg.string() +
                             "' to add its QGIS style; write parcels.gpkg first (" + last_gdal_error() + ")");
        OGRLayer* parcels = dataset->GetLayerByName(layer_name.c_str());
        if (!parcels)
            throw InputError("package: the GeoPackage '" + gpkg.string() + "' has no layer '" + layer_name +
                             "' to style; write parcels.gpkg with weipian run");
        const std::string geometry_column = parcels->GetGeometryColumn();
        OGRLayer* styles = dataset->GetLayerByName("layer_styles");
        if (!styles) {
            // The table as QGIS creates it (QgsOgrProvider::saveStyle): fid "id", these columns.
            char** create = CSLSetNameValue(nullptr, "FID", "id");
            styles = dataset->CreateLayer("layer_styles", nullptr, wkbNone, create);
            CSLDestroy(create);
            if (!styles) fail("cannot create the table layer_styles", last_gdal_error());
            struct Column {
                const char* name;
                OGRFieldType type;
                int width;
            };
            static const Column columns[] = {
                {"f_table_catalog", OFTString, 256}, {"f_table_schema", OFTString, 256},
                {"f_table_name", OFTString, 256},    {"f_geometry_column", OFTString, 256},
                {"styleName", OFTString, 30},        {"styleQML", OFTString, 0},
                {"styleSLD", OFTString, 0},          {"useAsDefault", OFTInteger, 0},
                {"description", OFTString, 0},       {"owner", OFTString, 30},
                {"ui", OFTString, 30},               {"update_time", OFTDateTime, 0},
            };
            for (const auto& column : columns) {
                OGRFieldDefn field(column.name, column.type);
                if (column.width) field.SetWidth(column.width);
                if (std::string_view(column.name) == "useAsDefault") field.SetSubType(OFSTBoolean);
                if (column.type == OFTDateTime) field.SetDefault("CURRENT_TIMESTAMP");
                if (styles->CreateField(&field) != OGRERR_NONE)
                    fail(std::string("cannot create the column layer_styles.") + column.name, last_gdal_error());
            }
        }
        const std::string style_name = "weipian 初判";
        // A rerun replaces weipian's own style and leaves the others (not default any more).
        std::vector<GIntBig> ours;
        styles->ResetReading();
        while (OGRFeatureUniquePtr f{styles->GetNextFeature()}) {
            if (layer_name != f->GetFieldAsString("f_table_name")) continue;
            if (style_name == f->GetFieldAsString("styleName")) {
                ours.push_back(f->GetFID());
            } else if (f->GetFieldAsInteger("useAsDefault") != 0) {
                f->SetField("useAsDefault", 0);
                if (styles->SetFeature(f.get()) != OGRERR_NONE) fail("cannot update layer_styles", last_gdal_error());
            }
        }
        for (const GIntBig fid : ours)
            if (styles->DeleteFeature(fid) != OGRERR_NONE) fail("cannot update layer_styles", last_gdal_error());
        OGRFeatureUniquePtr row(OGRFeature::CreateFeature(styles->GetLayerDefn()));
        row->SetField("f_table_catalog", "");
        row->SetField("f_table_schema", "");
        row->SetField("f_table_name", layer_name.c_str());
        row->SetField("f_geometry_column", geometry_column.c_str());
        row->SetField("styleName", style_name.c_str());
        row->SetField("styleQML", style_qml().c_str());
        row->SetField("styleSLD", style_sld(layer_name).c_str());
        row->SetField("useAsDefault", 1);
        row->SetField("description", "weipian：按初判建议（cp_yj）着色的图斑边界，标注图斑序号");
        row->SetField("owner", "");
        row->SetField("ui", "");
        if (styles->CreateFeature(row.get()) != OGRERR_NONE) fail("cannot write the style row", last_gdal_error());
        CPLErrorReset();
        dataset.reset();
        if (CPLGetLastErrorType() >= CE_Failure) fail("closing the GeoPackage failed", last_gdal_error());
    }
    out.commit();
}

void write_verification_package(const PackageInputs& inputs, const OutputPackageConfig& package) {
    check_inputs(inputs, "write_verification_package");
    if (package.html) write_html_package(inputs);
    if (package.kmz) write_parcels_kmz(inputs.dir / "parcels.kmz", inputs);
    add_qgis_style(inputs.dir / "parcels.gpkg");
}

}  // namespace weipian
