#pragma once
// The morphological building index (MBI) of Huang & Zhang and its change between epochs, on
// morphological reconstruction by dilation in linear time.
//
// Reconstruction by dilation of a marker J ≤ I under a mask I is the limit of geodesic dilations
// J ← min(δ(J), I); L. Vincent, "Morphological grayscale reconstruction in image analysis:
// applications and efficient algorithms", IEEE Trans. Image Processing 2(2), 1993, §V.D gives the
// hybrid algorithm used here: one raster and one anti-raster scan, then a FIFO queue that
// propagates what the scans could not reach; O(N) in practice, against O(N · diameter) for the
// dilate-until-stable loop.
//
// MBI (X. Huang & L. Zhang, "A multidirectional and multiscale morphological index for automatic
// building extraction from multispectral GeoEye-1 imagery", PE&RS 77(7), 2011; "Morphological
// building/shadow index for building extraction from high-resolution imagery over urban areas",
// IEEE JSTARS 5(1), 2012): with brightness b = max of the visible bands,
//   TH(d, s)  = b − γ_R(b, SE(d, s))      white top-hat by reconstruction: γ_R is the reconstruction
//                                        by dilation of the opening of b by a line of s pixels in
//                                        direction d ∈ {0°, 45°, 90°, 135°}, under b
//   DMP(d, s) = |TH(d, s + Δs) − TH(d, s)| for s = s_min, s_min + Δs, … while s + Δs ≤ s_max
//   MBI       = mean of DMP over the 4 directions and those scales.
// Bright structures that are short in every direction (roofs) leave the top-hat between two
// scales in every direction and score high; long thin bright structures (roads) are kept by the
// line along them at every scale and score low. The change dMBI = MBI_after − MBI_before
// (X. Huang, L. Zhang & T. Zhu, "Building change detection from multitemporal high-resolution
// remotely sensed images based on a morphological building index", IEEE JSTARS 7(1), 2014).
//
// Reconstruction is not local (a plateau propagates as far as it extends), so the index of a
// block is that of the block alone: strips need a halo of at least s_max pixels and then agree
// with the whole image except where a bright region runs across the halo.
#include <opencv2/core.hpp>

#include "kernels/connectivity.hpp"
#include "kernels/detect.hpp"

namespace weipian::kernels {

// Reconstruction by dilation of `marker` under `mask` (both CV_8UC1 or both CV_32FC1, one size,
// no NaN): the marker is first clipped to the mask (pointwise min), then grown with
// `connectivity` neighbours, pixels outside the image taking no part. `out` may be `marker`.
// Throws std::invalid_argument for empty inputs, other types, differing sizes or NaN.
void reconstruct_by_dilation(const cv::Mat& marker, const cv::Mat& mask, cv::Mat& out,
                             Connectivity connectivity = Connectivity::Eight);

// The same by iterating J ← min(dilate(J, 3×3 or cross), mask) until nothing changes: the
// definition, O(N · diameter); for tests and benchmarks.
void reconstruct_by_dilation_naive(const cv::Mat& marker, const cv::Mat& mask, cv::Mat& out,
                                   Connectivity connectivity = Connectivity::Eight);

// White top-hat by reconstruction of `image` (CV_32FC1) with a line of `length` pixels (≥ 1) at
// `direction_deg` ∈ {0, 45, 90, 135} (0 = along rows, 90 = along columns, 45 = up-right):
// image − γ_R(image), γ_R the reconstruction (8-connected) of the opening of `image` by the line
// under `image`. The opening's erosion treats outside pixels as +∞ (shapes cut by the block edge
// keep their size). Throws std::invalid_argument for other types, lengths or directions.
void top_hat_by_reconstruction(const cv::Mat& image, int length, int direction_deg, cv::Mat& out);

// Scales of the index in pixels (line lengths). Huang & Zhang use 2..52 by 5 at 2 m; lengths
// follow the roof sizes to be found, so at 0.5 m they grow four-fold.
struct BuildingIndexParams {
    int min_length = 2;
    int max_length = 52;
    int step = 5;
};

// MBI (CV_32FC1, the block's size, in the units of the bands) of one epoch: b = max of the
// visible bands (blue if present, green, red) of `epoch` (any type EpochBlock allows); invalid
// pixels (`epoch.valid` 0) take the minimum of the valid brightness (background, never a roof)
// and get MBI 0. Throws std::invalid_argument for missing or mismatched bands, or parameters with
// min_length < 1, step < 1 or min_length + step > max_length.
void building_index(const EpochBlock& epoch, const BuildingIndexParams& params, cv::Mat& mbi);

// dMBI = MBI_after − MBI_before (CV_32FC1), 0 where either epoch is invalid. Same errors, and
// the epochs must have one size.
void building_index_change(const EpochBlock& before, const EpochBlock& after, const BuildingIndexParams& params,
                           cv::Mat& change);

}  // namespace weipian::kernels
