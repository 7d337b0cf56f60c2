#pragma once
// Streaming connected-component labelling over rows: the image arrives strip by strip, in row
// order, and each component is handed out as soon as it is closed (no pixel in the latest row),
// with its area, score sum, first pixel and runs. Memory follows the open components, never the
// image. Components that cross strip edges are merged by the union–find before they close, so
// the size decision (minimum mapping unit) sees whole components whatever the strip height.
// Run-based labelling after Rosenfeld & Pfaltz (J. ACM 13(4), 1966) two-pass labelling, done in
// one pass over run lengths as in He, Chao & Suzuki, "A run-based two-scan labeling algorithm",
// IEEE Trans. Image Processing 17(5), 2008.
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "kernels/connectivity.hpp"
#include "kernels/polygonize.hpp"
#include "kernels/runs.hpp"

namespace weipian::kernels {

// Pixels [x0, x1) of row `row`.
struct Run {
    int row, x0, x1;
};

// One closed component.
struct StreamComponent {
    std::int64_t area = 0;      // pixels
    double score_sum = 0;       // sum of the score over its pixels (0 without scores)
    cv::Point first_pixel;      // top-most, then left-most pixel (x = column, y = row)
    cv::Rect bbox;              // in image pixels
    std::vector<Run> runs;      // all its runs, in no particular order
};

class StreamingLabeller {
public:
    // `width` in pixels of every row that will be added.
    StreamingLabeller(int width, Connectivity connectivity);

    // Adds the rows of a strip: `mask` CV_8UC1 (nonzero = foreground), `score` CV_32FC1 of the
    // same size or empty. `row0` is the image row of its first row and must follow the previous
    // strip exactly. Throws std::invalid_argument on a size, type or order mismatch.
    void add_rows(const cv::Mat& mask, const cv::Mat& score, int row0);

    // Marks the end of the image: every open component closes.
    void finish();

    // Moves out the components closed since the last call (in the order they closed).
    std::vector<StreamComponent> take_closed();

    int next_row() const { return next_row_; }

    // Components whose records are kept: those open at the last row added (bounded by the
    // runs of one row, whatever was closed before).
    std::size_t open_components() const { return records_.size(); }

private:
    // records_[i] is the data of set i of sets_; only roots' records are current.
    struct Record {
        int last_row;
        StreamComponent c;
    };
    int find(int id);
    int unite(int a, int b);
    int make_component(int row, int x0, int x1, double score);
    void close_finished(int row);
    void compact();

    int width_;
    Connectivity connectivity_;
    int next_row_ = 0;
    std::vector<Record> records_;
    runs::DisjointSets sets_;
    std::vector<Run> prev_runs_, cur_runs_;
    std::vector<int> prev_ids_, cur_ids_;
    std::vector<StreamComponent> closed_;
};

// The polygon of one component, rebuilt from its runs (a mask of its bounding box polygonized by
// kernels::polygonize, shifted to image pixels). Equal to what polygonize() gives for that
// component on the whole image.
PixelPolygon polygonize_component(const StreamComponent& component, Connectivity connectivity);

}  // namespace weipian::kernels
