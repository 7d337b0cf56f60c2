#pragma once
// Per-parcel statistics of the after epoch for the patch type (图斑类型 TBLX): what the rules in
// pipeline/patch_type.hpp read. Pure OpenCV over one window around a parcel: no I/O, no logging.
//
// Spectral: mean brightness (mean of the visible bands, in the input's units) and its standard
// deviation, HSV saturation (max − min) / max of (R, G, B) in [0, 1], the share of bluish pixels
// (B > G > R, the blue steel-sheet roof 彩钢瓦), the vegetation index (NDVI with NIR, else NGRDI,
// Tucker 1979).
// Texture: edge density (share of inside pixels whose Sobel gradient magnitude exceeds
// kEdgeRelative × the parcel's mean brightness) and stripes from directional gradient energy:
// E(θ) = Σ (gx cos θ + gy sin θ)² over θ = 0°, 45°, 90°, 135°; anisotropy = (Emax − Emin) /
// (Emax + Emin) (0 for isotropic texture, → 1 for parallel lines); the brightness profile across
// the dominant direction (mean per line of pixels parallel to the stripes) gives the stripe period
// (lag of the first autocorrelation peak after its first zero crossing) and regularity (the
// autocorrelation there, −1..1).
// Context: mean brightness of the valid pixels of the window outside the parcel (the surroundings)
// and the share of the ring up to kShadowRingPx outside the parcel darker than kShadowRelative ×
// that mean (a building casts a shadow; flat ground does not).
// Shape: pixel count, width (twice the 95th percentile of the inside distance to the outline, px),
// elongation = pixels / width² (≈ length / width), compactness 4πA / P² (1 for a disc).
#include <opencv2/core.hpp>

namespace weipian::kernels {

// A Sobel gradient counts as an edge above this share of the parcel's mean brightness.
inline constexpr double kEdgeRelative = 0.10;
// Ring outside the parcel searched for shadow, px, and what counts as shadow there.
inline constexpr int kShadowRingPx = 3;
inline constexpr double kShadowRelative = 0.6;

// One window of the after epoch around a parcel. Bands CV_32FC1 of the same size (blue and nir
// may be empty: no such band); mask CV_8UC1, non-zero inside the parcel; valid CV_8UC1, non-zero
// where the epoch has data (empty = everywhere). The window should reach a few pixels beyond the
// parcel on every side (surroundings, shadow ring).
struct PatchWindow {
    cv::Mat blue, green, red, nir;
    cv::Mat mask;
    cv::Mat valid;
};

struct PatchStats {
    long long pixels = 0;          // inside pixels
    double brightness = 0;         // mean of (B+G+R)/3 (or (G+R)/2 without blue), input units
    double brightness_sd = 0;      // standard deviation of the brightness inside
    double saturation = 0;         // mean HSV saturation, 0..1
    double blue_share = 0;         // share of inside pixels with B > G > R (0 without blue)
    double vi = 0;                 // mean NDVI (with NIR) or NGRDI (G−R)/(G+R), −1..1
    double edge_density = 0;       // share of inside pixels that are edges (see kEdgeRelative)
    double anisotropy = 0;         // 0..1, directional gradient energy contrast
    int stripe_direction_deg = 0;  // direction of the stripes (the lines), 0 = along rows
    double stripe_period_px = 0;   // 0 = no period found
    double stripe_regularity = 0;  // autocorrelation at the period, −1..1 (0 when none)
    double surround_brightness = 0;  // mean brightness of the valid window pixels outside (0 = none)
    double shadow_share = 0;         // share of the ring outside the parcel that is shadow, 0..1
    double width_px = 0;           // typical width (2 × p95 of the inside distance to the outline)
    double elongation = 0;         // pixels / width_px²
    double compactness = 0;        // 4π area / perimeter², 0..1
};

// Statistics of the pixels of `window` inside its mask. Throws std::invalid_argument when the
// bands' sizes or types differ from the mask's or green/red are missing. An empty mask gives
// pixels == 0 and zeros elsewhere.
PatchStats patch_statistics(const PatchWindow& window);

}  // namespace weipian::kernels
