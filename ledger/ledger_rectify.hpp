#pragma once
// Rectification checked on new imagery (issue 10, ENFORCEMENT.md §5). When new imagery covers an
// open case that is 整改中 or 已整改, the case's footprint on the new image is compared with its
// state before and after construction (the QSX and HSX imagery it was found on): the share of
// the footprint that still looks built (the construction score between the QSX image and the new
// image, kernels/detect.hpp, above detect.threshold with the after-vegetation gate) decides
//   已恢复   (restored: vegetated or bare again, 拆除复耕)  share <  rectify.restored_max_share
//   部分恢复 (partly, with the share)                       in between
//   仍有建设 (still built)                                   share ≥ rectify.built_min_share
// The result is a history row dated with the new image's date; a case still built (or partly)
// after its rectification was recorded as done (已整改) is flagged 整改不到位. Chips of the three
// dates (QSX, HSX, new) are written as evidence.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ogr_geometry.h>

#include "ledger/ledger_store.hpp"
#include "pipeline/core/config.hpp"

namespace weipian {

// The imagery of one date covering a place.
struct DatedImagery {
    std::string date;                // YYYY-MM-DD
    std::vector<std::string> tiles;  // raster files (any CRS; mosaicked)
};

// Finds the imagery of `date` (exactly) covering `footprint_lonlat` (EPSG:4490 degrees); the
// nightly job answers it from the imagery catalog. Empty when there is none.
using ImageryLookup = std::function<std::optional<DatedImagery>(const OGRGeometry& footprint_lonlat, const std::string& date)>;

// What one check found.
struct RectificationCheck {
    std::string case_id;
    std::string state;         // 已恢复, 部分恢复, 仍有建设, or 无法判断 (no imagery / no valid pixels)
    double built_share = 0;    // 0..1 of the footprint's valid pixels
    std::string image_date;    // the new image's date
    bool flagged = false;      // 整改不到位 raised
    std::vector<std::string> chips;  // QSX, HSX, new chip files written (absolute paths)
    std::string note;          // why 无法判断, else empty
};

struct RectifyOptions {
    const Config* config = nullptr;   // bands, detect.*, rectify.*, output.chip_*
    DatedImagery new_imagery;         // tonight's tiles and their date
    ImageryLookup lookup;             // the cases' QSX / HSX imagery
    std::filesystem::path chips_dir;  // where the three-date chips go (<case_id>_qsx/_hsx/_new.jpg); empty = none
    std::string source;               // history source, e.g. "nightly 2026-12-02"
};

// Checks every 整改中 / 已整改 case of `store` whose footprint the new imagery covers, records a
// history row per case and the flag, in one transaction. Returns one entry per checked case.
// Throws InputError (imagery unreadable) and leaves the ledger unchanged.
std::vector<RectificationCheck> check_rectification(LedgerStore& store, const RectifyOptions& options);

}  // namespace weipian
