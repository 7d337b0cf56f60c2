#pragma once
// Feature planes of a bi-temporal block for the learned detector (feature set 1).
//
// Both epochs are first brought onto the *feature grid*: the image averaged over stride × stride
// cells (stride 1 keeps the pixels; 2 suits 0.5–1 m imagery, where a house spans 20+ pixels).
// On that grid, per epoch: the band values, brightness (mean of the visible bands), a vegetation
// index (NDVI with NIR, else NGRDI; Tucker 1979), HSV saturation and hue of (R, G, B) or (R, G, G),
// gradient magnitude at two scales (Sobel on the brightness and on its 5×5 box mean), local
// standard deviation of the brightness in 3×3, 7×7 and 15×15 windows, box-smoothed brightness and
// vegetation index at 5×5, 11×11 and 21×21, and the density of uniform local-binary-pattern
// edges (Ojala, Pietikäinen & Mäenpää, IEEE TPAMI 24(7), 2002) in a 7×7 window; then the
// after − before difference of each of those, the change-vector magnitude (Malila 1980) of the
// band values at 1×1, 5×5 and 11×11, and the `construction` score (kernels/detect.hpp).
// Texture and context carry what one index cannot: a random forest on about 70 such planes
// reached pixel F1 ≈ 0.74 on LEVIR-CD crops where spectral planes alone reached 0.32.
//
// The order and meaning of the planes are feature set kFeatureSetVersion: a model trained on
// one version is refused by another (pipeline/model.hpp).
//
// Feature set 1, exactly (all CV_32F; windows reflect at the block edges, BORDER_REFLECT_101):
//   bands          the epoch's band values (blue, green, red, nir as present), raw: a model
//                  belongs to a sensor, so nothing is rescaled; 0 where the epoch is invalid
//                  (every plane below is computed from these masked values)
//   brightness     mean of the visible bands, (B + G + R)/3 or (G + R)/2
//   vi             NDVI (NIR − R)/(NIR + R), or NGRDI (G − R)/(G + R) without NIR; 0 where the
//                  denominator is 0 (as kernels/detect.hpp)
//   sat, hue       HSV of (R, G, B), or (R, G, G) without blue: sat = (max − min)/max (0 where
//                  max ≤ 0), hue in turns [0, 1) (0 where max == min; OpenCV's sector rule)
//   grad1, grad2   magnitude √(gx² + gy²) of the unnormalised 3×3 Sobel derivatives of the
//                  brightness and of its 5×5 box mean
//   std3/7/15      √max(0, E[x²] − E[x]²) of the brightness over k × k (moments in double)
//   bright_box5/11/21, vi_box5/11/21   k × k box means of brightness and vi
//   lbp7           fraction of the 7×7 window whose 8-neighbour LBP code of the brightness
//                  (bit = neighbour ≥ centre) has exactly two 0/1 transitions around the circle:
//                  the uniform patterns with 1..7 ones (edges, corners, line ends), not flat
//                  areas, spots or noise
// Names: "before.<p>", "after.<p>" for the bands then the 16 planes above in that order, then
// "diff.<p>" = after − before for each of them (bands included; diff.hue wrapped to
// [−0.5, 0.5) turns), then "cv1", "cv5", "cv11": change-vector magnitude √Σ_band d² of the band
// differences d, raw and of their 5×5 and 11×11 box means, and "construction": the score of
// detect_construction with the default brightness weight, on the feature grid (0 where either
// epoch is invalid). 3 × (bands + 16) + 4 planes: 64 with four bands, 61 with three, 58 with two.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "kernels/detect.hpp"

namespace weipian::kernels {

inline constexpr int kFeatureSetVersion = 1;

// Which planes exist: the band roles present and the feature grid's stride (image pixels per
// feature-grid pixel along each axis, 1..8).
struct FeatureSpec {
    bool blue = true;
    bool nir = true;
    int stride = 1;
};

// Names of the planes in order, e.g. "before.red", "after.std7", "diff.vi_box11", "cv5",
// "construction". Their count is feature_count(spec).
std::vector<std::string> feature_names(const FeatureSpec& spec);
int feature_count(const FeatureSpec& spec);

// Rows of the feature grid a block needs beyond the rows whose features are computed (the
// largest window radius): 10 for feature set 1.
int feature_halo(const FeatureSpec& spec);

// One epoch on the feature grid: CV_32FC1 band planes (blue/nir empty when the role is absent)
// and CV_8UC1 validity (1 where every image pixel of the cell is valid).
struct FeatureEpoch {
    cv::Mat blue, green, red, nir;
    cv::Mat valid;
};

// Averages `in` (any type EpochBlock allows; rows and cols multiples of `stride`, else
// std::invalid_argument) over stride × stride cells into `out`, whose buffers are reused: cell
// (cy, cx) is the mean of pixels [cy·s, cy·s + s) × [cx·s, cx·s + s), summed in float then
// divided by s². Cells with any invalid pixel are invalid and hold 0 in every band. Throws
// std::invalid_argument for a stride outside 1..8, missing green/red, unsupported or differing
// types or sizes.
void to_feature_grid(const EpochBlock& in, int stride, FeatureEpoch& out);

// Scratch buffers reused across blocks (one per worker).
struct FeatureWorkspace {
    std::vector<cv::Mat> scratch;
    std::vector<double> moments;
};

// Computes the feature planes of rows [top, top + rows) of `before`/`after` (feature grid, same
// size and roles; the rows beyond that range are the halo and are only read). Windows that cross
// the block's first or last row reflect there (BORDER_REFLECT_101), so a block that holds
// min(feature_halo, available) rows on each side gives exactly the planes of the whole image.
// `planes` is resized to feature_count(spec) CV_32FC1 planes of rows × width (reused when the
// sizes match). Invalid pixels get finite values (their planes are not used). Throws
// std::invalid_argument when sizes, roles or the row range do not fit.
void compute_features(const FeatureEpoch& before, const FeatureEpoch& after, int top, int rows,
                      const FeatureSpec& spec, std::vector<cv::Mat>& planes, FeatureWorkspace& workspace);

}  // namespace weipian::kernels
