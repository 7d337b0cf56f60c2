#pragma once
// The verification package (issue 10): what a field team opens first, written into the output
// folder next to parcels.gpkg. Everything works offline from the folder (no external scripts,
// fonts or tiles); text a county reads is Chinese.
//
//   index.html          overview image, the summary text, one table per township (sortable by
//                       area, cultivated area, type, pre-judgement; filter by township), each row
//                       with its chips (pipeline/chips.hpp names)
//   cards/<township>.html  a printable check card (核查卡) per township: map, chips, blank fields
//                       to fill in on site (核实认定意见, 现场核查描述, 核查人, 日期)
//   parcels.kmz         lon/lat KML for 奥维 / Google Earth: one placemark per parcel at an interior
//                       point (OGR PointOnSurface), the outline, the chips inside the balloon
//   parcels.gpkg        gains a default QGIS style (table layer_styles): outline by pre-judgement
//                       (or type), labels with the parcel id
#include <filesystem>
#include <string>
#include <vector>

#include <ogr_spatialref.h>

#include "pipeline/chips.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/parcel.hpp"
#include "pipeline/core/township_summary.hpp"

namespace weipian {

struct PackageInputs {
    std::filesystem::path dir;                 // the (staging) output folder holding parcels.gpkg, summary.txt
    const std::vector<Parcel>* parcels = nullptr;
    const std::vector<TownshipSummary>* townships = nullptr;
    const OGRSpatialReference* srs = nullptr;  // the parcels' CRS
    std::vector<ChipFiles> chips;              // parallel to parcels; empty = no chips
    OverviewImage overview;                    // file empty = none
    std::string county_name;
    std::string before_date, after_date;       // QSX, HSX
    std::string title;                         // e.g. 稷山县 2026-12-02 卫片图斑核查包; empty = derived
};

// index.html and cards/. Throws InputError on write failure.
void write_html_package(const PackageInputs& inputs);
// parcels.kmz (chips copied into the archive under files/). Throws InputError.
void write_parcels_kmz(const std::filesystem::path& path, const PackageInputs& inputs);
// Adds the default style to the "parcels" layer of a GeoPackage (layer_styles table, QML and
// SLD, useAsDefault). Throws InputError.
void add_qgis_style(const std::filesystem::path& gpkg, const std::string& layer = "parcels");

// Everything above as config.package says (html, kmz); called by the main job after the chips.
void write_verification_package(const PackageInputs& inputs, const OutputPackageConfig& package);

}  // namespace weipian
