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
#include <cstdint>
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
    bool flag_cleared = false; // an earlier 整改不到位 lifted: this later image shows the case 已恢复
    std::vector<std::string> chips;  // QSX, HSX, new chip files written (absolute paths)
    std::string note;          // why 无法判断; else what the HSX imagery showed (后时相 … 建设占比 …) or empty
    bool already_checked = false;  // this image date was checked before: nothing was written
    std::int64_t valid_pixels = 0;  // footprint pixels with data in both the QSX and the new image
    std::int64_t built_pixels = 0;  // of those, flagged as construction (QSX → new)
};

struct RectifyOptions {
    const Config* config = nullptr;   // bands, detect.*, rectify.*, output.chip_*
    DatedImagery new_imagery;         // tonight's tiles and their date
    ImageryLookup lookup;             // the cases' QSX / HSX imagery
    std::filesystem::path chips_dir;  // where the three-date chips go (<case_id>_qsx/_hsx/_new.jpg); empty = none
    // Where those chips will be once the night's output folder is in place (chips_dir is then
    // its staging folder): the paths the ledger records. Empty = chips_dir.
    std::filesystem::path chips_recorded_dir;
    std::string source;               // history source, e.g. "nightly 2026-12-02"
    std::string who = "weipian nightly";  // history "who"
};

// Checks every 整改中 / 已整改 case of `store` (opened for update) whose footprint (ledger CRS)
// intersects the new imagery's tiles and whose HSX is earlier than the new image, records a
// history row per case and the flag, in one transaction. Returns one entry per checked case.
//
// How: the new imagery's grid is its first tile's (CRS, pixel size, origin); per case a window of
// the footprint's envelope plus 2 pixels is cut from it. The new tiles, the case's QSX imagery
// (lookup(footprint, case.qsx)) and HSX imagery (lookup(footprint, case.hsx)) are warped onto
// that window (GDALWarp into MEM, with an alpha band for valid data; nearest neighbour for the
// new tiles, grid.resampling for the others); the footprint is rasterized on it (pixel centres).
// built share = pixels flagged by kernels::detect_construction(QSX → new; detect.threshold when
// detect.method is construction and the threshold is fixed, else 0.15; detect.brightness_weight,
// after_vegetation_max) / footprint pixels valid in both. The same QSX → HSX share confirms that
// it was built (the note says 后时相 <date> 建设占比 NN%). No QSX imagery, no QSX date, or no valid
// pixel: 无法判断 with the reason in the note.
//
// Recorded per case: a history row at the image date (status unchanged) "影像复查 <date>：<state>
// （…）"; check_state, check_date, check_built_share (when the date is not older than the last
// check) and the chip paths; a 已整改 case still built or partly, on an image later than its
// rectification (the history's last → 已整改), is flagged as the feed flags it (flag "整改不到位：
// 新影像 <date> 仍显示建设（建设占比 NN%，<source>）", flag_date = the image date); a flagged 已整改
// case that an image later than the flag shows 已恢复 has its flag lifted (flag and flag_date
// emptied, flag_cleared set, the history row ends "；整改不到位标记解除（<flag date> 的标记，新影像
// <date> 已恢复）"; the flag's own row stays). Chips (when
// chips_dir is set): <chips_dir>/<case id>_qsx.jpg, _hsx.jpg, _new.jpg (the id with characters
// other than A–Z a–z 0–9 . _ - replaced by _), pipeline/chips.hpp.
// The same check again (a history row of the same case and image date with a result, or the very
// same 无法判断) changes nothing: already_checked is set and the stored result returned; only its
// chip files, when gone (a night killed before its folder appeared), are made again.
// QSX / HSX files that cannot be opened do not stop the check (an unattended night must go on):
// the case is 无法判断 (前时相 <date> 影像无法读取) or judged without the HSX confirmation, with a
// warning naming the file; a chip that cannot be written is left out with a warning.
// Throws InputError (the new imagery unreadable, without CRS, rotated, too few bands for the
// band roles; a date not YYYY-MM-DD) and leaves the ledger unchanged.
std::vector<RectificationCheck> check_rectification(LedgerStore& store, const RectifyOptions& options);

}  // namespace weipian
