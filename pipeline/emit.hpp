#pragma once
// Emit stage: the main job's outputs (parcels.gpkg, townships.csv, summary.txt, run.json),
// written into the staging folder of pipeline/core/atomic_output.hpp (OutputFolder).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <ogr_spatialref.h>

#include "pipeline/core/parcel.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/township_summary.hpp"
#include "pipeline/prejudge.hpp"

namespace weipian {

// Dates and provenance written with each parcel.
struct ParcelAttributes {
    std::string before_date;  // QSX
    std::string after_date;   // HSX
    // False when no cultivated layer was configured: summary.txt then says that 耕地 was not
    // assessed, so "不涉及耕地" is not read as "takes no cultivated land".
    bool cultivated_assessed = true;
};

// parcels.gpkg, layer "parcels", geometry in `srs` (MultiPolygon), fields: parcel_id, patch_id,
// xzmc (township name), xzqdm (township code), area_m2, area_mu, cultivated_m2, cultivated_mu,
// centroid_x, centroid_y, qsx, hsx, change_score, pixel_count, tblx (patch type 图斑类型,
// pipeline/patch_type.hpp), bz (remarks: 设施农用地：核对备案 for greenhouses). Throws InputError on
// write failure.
void write_parcels_gpkg(const std::filesystem::path& path, const std::vector<Parcel>& parcels,
                        const OGRSpatialReference& srs, const ParcelAttributes& attributes);

// townships.csv (UTF-8 with BOM so Excel opens it): rank, township, code, cases, area_mu,
// cultivated_cases, cultivated_mu; then a totals row equal to the sum of the rows as printed.
void write_townships_csv(const std::filesystem::path& path, const std::vector<TownshipSummary>& rows);

// summary.txt: a title naming the county and the QSX/HSX dates, the county line, the ranking
// in the county plan's wording (noun 疑似违法用地), and a note that these are leads for field
// verification (外业核查), not findings. With no parcels, one line saying none were found.
// `greenhouses` (parcels typed DP, their area in hundredths of a 亩): when any, a line saying they
// are checked against the facility-agriculture filings, not counted as buildings.
struct GreenhouseCount {
    std::int64_t parcels = 0;
    std::int64_t centimu = 0;
};
// `prejudge` (null = off): after the greenhouse line, the 初判建议 counts and the 15 % ratio lines
// of format_prejudge_lines (pipeline/prejudge.hpp).
void write_summary_txt(const std::filesystem::path& path, const std::string& county_name,
                       const ParcelAttributes& attributes, const std::vector<TownshipSummary>& rows,
                       const GreenhouseCount& greenhouses = {}, const PrejudgeSummary* prejudge = nullptr);

// run.json, pretty-printed.
void write_json(const std::filesystem::path& path, const nlohmann::json& document);

class EmitStage {
public:
    static constexpr std::string_view name = "emit";
    struct Options {
        std::string county_name;     // county.name, for summary.txt
        ParcelAttributes attributes;  // epoch dates; whether cultivated land was assessed
        std::string output_dir;      // output.dir
        PrejudgeConfig prejudge;     // prejudge.* (summary.txt's 初判建议 and 15 % lines)
        static Options from(const Config& config);
    };

    explicit EmitStage(Options options) : options_(std::move(options)) {}

    // output.dir is set. Throws ConfigError.
    void validate() const;

    // Writes parcels.gpkg (geometry in `srs`), townships.csv and summary.txt into `dir` (the
    // staging folder); returns the township rows they hold. Throws InputError on write failure.
    std::vector<TownshipSummary> run(const std::filesystem::path& dir, const std::vector<Parcel>& parcels,
                                     const OGRSpatialReference& srs) const;

private:
    Options options_;
};

}  // namespace weipian
