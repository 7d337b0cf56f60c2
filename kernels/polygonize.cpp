#include "kernels/polygonize.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace weipian::kernels {

namespace {

// A horizontal run of nonzero pixels [x0, x1) in one row. Runs are stored in raster order,
// so a run's index orders components by their first pixel for free.
struct PixelRun {
    int x0;
    int x1;
};

// Index of the first nonzero (zero) byte in p[x, n), or n. Eight bytes at a time, because
// change masks are mostly background and this is the only pass over every pixel.
int find_nonzero(const std::uint8_t* p, int x, int n) {
    while (n - x >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p + x, 8);
        if (w != 0) break;
        x += 8;
    }
    while (x < n && p[x] == 0) ++x;
    return x;
}

int find_zero(const std::uint8_t* p, int x, int n) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    while (n - x >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p + x, 8);
        if (((w - ones) & ~w & highs) != 0) break;  // some byte of w is zero
        x += 8;
    }
    while (x < n && p[x] != 0) ++x;
    return x;
}

// Union-find over run indices where the smaller index always becomes the root, so every
// root is the first run of its component in raster order and parent[i] <= i holds.
std::uint32_t find_root(std::vector<std::uint32_t>& parent, std::uint32_t x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];  // path halving
        x = parent[x];
    }
    return x;
}

void unite(std::vector<std::uint32_t>& parent, std::uint32_t a, std::uint32_t b) {
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a < b) parent[b] = a;
    else if (b < a) parent[a] = b;
}

// One bit per pixel with a one-pixel border of zeros, so (x, y) may range over [-1, cols] x
// [-1, rows]. The tracer reads the mask from here rather than from the caller's bytes: it is
// eight times smaller (rows 1/8 as far apart, so a walk down a boundary stays in cache) and
// needs no bounds checks, since outside the image is background.
class BitGrid {
public:
    BitGrid(int cols, int rows)
        : words_per_row_((static_cast<std::size_t>(cols) + 2 + 63) / 64),
          words_(words_per_row_ * (static_cast<std::size_t>(rows) + 2), 0) {}

    bool test(int x, int y) const {
        const std::size_t i = static_cast<std::size_t>(x + 1);
        return (words_[row(y) + (i >> 6)] >> (i & 63)) & 1U;
    }
    void set(int x, int y) {
        const std::size_t i = static_cast<std::size_t>(x + 1);
        words_[row(y) + (i >> 6)] |= std::uint64_t{1} << (i & 63);
    }
    // Sets pixels [x0, x1) of row y.
    void set_span(int x0, int x1, int y) {
        std::size_t a = static_cast<std::size_t>(x0 + 1);
        const std::size_t b = static_cast<std::size_t>(x1 + 1);
        const std::size_t base = row(y);
        while (a < b) {
            const std::size_t lo = a & 63;
            const std::size_t hi = std::min<std::size_t>(64, lo + (b - a));
            const std::uint64_t upto = hi == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hi) - 1;
            words_[base + (a >> 6)] |= upto & ~((std::uint64_t{1} << lo) - 1);
            a += hi - lo;
        }
    }

private:
    std::size_t row(int y) const { return static_cast<std::size_t>(y + 1) * words_per_row_; }

    std::size_t words_per_row_;
    std::vector<std::uint64_t> words_;
};

// Runs of all rows, their components, and the pixel-level queries the tracer needs.
struct Labelling {
    explicit Labelling(const cv::Mat& mask)
        : pixels(mask.cols, mask.rows), row_begin(static_cast<std::size_t>(mask.rows) + 1) {}

    BitGrid pixels;                      // the mask, nonzero = 1
    std::vector<PixelRun> runs;
    std::vector<std::size_t> row_begin;  // runs of row y: [row_begin[y], row_begin[y + 1])
    std::vector<std::uint32_t> comp;     // component of each run, numbered in raster order

    bool fg(int x, int y) const { return pixels.test(x, y); }

    // Component of a foreground pixel: binary search in its row's runs. Only called at
    // saddle vertices under 4-connectivity, which are rare.
    std::uint32_t comp_at(int x, int y) const {
        const auto first = runs.begin() + static_cast<std::ptrdiff_t>(row_begin[y]);
        const auto last = runs.begin() + static_cast<std::ptrdiff_t>(row_begin[y + 1]);
        const auto it = std::upper_bound(first, last, x, [](int v, const PixelRun& r) { return v < r.x0; });
        return comp[static_cast<std::size_t>(it - runs.begin()) - 1];
    }
};

// Headings in turn-right order (image coordinates, y down): E, S, W, N.
constexpr int dir_x[4] = {1, 0, -1, 0};
constexpr int dir_y[4] = {0, 1, 0, -1};
// Offsets, from a vertex (x, y), of the pixels ahead-left and ahead-right of heading d.
// Pixel (c, r) has its top-left corner at vertex (c, r).
constexpr int ahead_left_x[4] = {0, 0, -1, -1};
constexpr int ahead_left_y[4] = {-1, 0, 0, -1};
constexpr int ahead_right_x[4] = {0, -1, -1, 0};
constexpr int ahead_right_y[4] = {0, 0, -1, -1};

// Walks one ring along pixel edges with the component on the right-hand side, starting at
// vertex (x0, y0) heading east along the top edge of pixel (x0, y0), which must be the
// leftmost edge of a stretch of top edges with background above. Outer rings therefore
// come out clockwise and holes counter-clockwise (image coordinates), and only corners
// are emitted.
//
// Saddle vertices (two foreground pixels touching only diagonally, the other two
// background) are where the ring has a choice:
//  - the diagonal pixel belongs to another component (only possible with 4-connectivity):
//    turn right, hugging our own pixel, so diagonal pixels are not joined;
//  - it belongs to the same component (always so with 8-connectivity): turn left, hugging
//    the background pixel, so rings split where the background splits. That is the split
//    GDALPolygonize (3.6) emits: with 8-connectivity two diagonal pixels give one
//    figure-eight outer ring, and with either connectivity a background pixel cut off at a
//    vertex becomes a hole touching the outer ring (or another hole) at that vertex rather
//    than a fold of a self-touching outer ring. Areas are the same either way; only the
//    number of rings depends on this choice.
void trace_ring(const Labelling& lab, bool eight, std::uint32_t comp, int x0, int y0, BitGrid& walked,
                Ring& ring) {
    ring.clear();
    ring.emplace_back(x0, y0);
    walked.set(x0, y0);
    int x = x0;
    int y = y0;
    int d = 0;
    for (;;) {
        x += dir_x[d];
        y += dir_y[d];
        const int lx = x + ahead_left_x[d];
        const int ly = y + ahead_left_y[d];
        const bool left_fg = lab.fg(lx, ly);
        const bool right_fg = lab.fg(x + ahead_right_x[d], y + ahead_right_y[d]);
        int nd;
        if (right_fg) {
            nd = left_fg ? (d + 3) & 3 : d;
        } else if (!left_fg) {
            nd = (d + 1) & 3;
        } else {
            const bool join = eight || lab.comp_at(lx, ly) == comp;
            nd = join ? (d + 3) & 3 : (d + 1) & 3;
        }
        if (nd != d) {
            ring.emplace_back(x, y);
            if (nd == 0) {
                if (x == x0 && y == y0) return;
                walked.set(x, y);
            }
        }
        d = nd;
    }
}

}  // namespace

std::vector<PixelPolygon> polygonize(const cv::Mat& mask, Connectivity connectivity, std::int64_t min_pixels) {
    if (mask.type() != CV_8UC1 || mask.dims > 2) {
        throw std::invalid_argument("polygonize: mask must be a 2-D CV_8UC1 matrix");
    }
    if (connectivity != Connectivity::Four && connectivity != Connectivity::Eight) {
        throw std::invalid_argument("polygonize: connectivity must be Four or Eight");
    }
    std::vector<PixelPolygon> out;
    if (mask.empty()) return out;
    const bool eight = connectivity == Connectivity::Eight;

    Labelling lab(mask);

    // Pass 1: runs, and union of runs that touch across rows. Two runs of consecutive rows
    // touch when their column ranges overlap (4-connectivity) or overlap or meet at a
    // corner (8-connectivity).
    std::vector<std::uint32_t> parent;
    const int reach = eight ? 1 : 0;
    for (int y = 0; y < mask.rows; ++y) {
        const std::uint8_t* p = mask.ptr<std::uint8_t>(y);
        const std::size_t begin = lab.runs.size();
        // Run indices are 32-bit; a row adds at most (cols + 1) / 2 runs.
        if (begin + static_cast<std::size_t>(mask.cols) / 2 + 1 >= std::numeric_limits<std::uint32_t>::max()) {
            throw std::length_error("polygonize: mask has too many pixel runs");
        }
        lab.row_begin[static_cast<std::size_t>(y)] = begin;
        for (int x = find_nonzero(p, 0, mask.cols); x < mask.cols; x = find_nonzero(p, x, mask.cols)) {
            const int end = find_zero(p, x, mask.cols);
            lab.runs.push_back({x, end});
            lab.pixels.set_span(x, end, y);
            x = end;
        }
        for (std::size_t i = begin; i < lab.runs.size(); ++i) parent.push_back(static_cast<std::uint32_t>(i));
        if (y == 0) continue;
        std::size_t a = lab.row_begin[static_cast<std::size_t>(y) - 1];
        std::size_t b = begin;
        while (a < begin && b < lab.runs.size()) {
            const PixelRun& ra = lab.runs[a];
            const PixelRun& rb = lab.runs[b];
            if (ra.x0 < rb.x1 + reach && rb.x0 < ra.x1 + reach) {
                unite(parent, static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b));
            }
            // The run that ends first cannot touch any later run of the other row.
            if (ra.x1 < rb.x1) ++a;
            else ++b;
        }
    }
    lab.row_begin.back() = lab.runs.size();

    // Pass 2 (over runs): number components in raster order of their first run; count
    // pixels. parent[i] <= i, so a root is met before its other runs and relabelling in
    // place is safe.
    std::vector<std::int64_t> pixel_count;
    std::vector<cv::Point> first_pixel;
    for (int y = 0; y < mask.rows; ++y) {
        for (std::size_t i = lab.row_begin[static_cast<std::size_t>(y)]; i < lab.row_begin[static_cast<std::size_t>(y) + 1]; ++i) {
            std::uint32_t c;
            if (parent[i] == i) {
                c = static_cast<std::uint32_t>(pixel_count.size());
                pixel_count.push_back(0);
                first_pixel.emplace_back(lab.runs[i].x0, y);
            } else {
                c = parent[parent[i]];
            }
            parent[i] = c;
            pixel_count[c] += lab.runs[i].x1 - lab.runs[i].x0;
        }
    }
    lab.comp = std::move(parent);

    // The size filter, before any geometry exists.
    constexpr std::uint32_t dropped = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::uint32_t> slot(pixel_count.size(), dropped);
    for (std::size_t c = 0; c < pixel_count.size(); ++c) {
        if (pixel_count[c] < min_pixels) continue;
        slot[c] = static_cast<std::uint32_t>(out.size());
        PixelPolygon& poly = out.emplace_back();
        poly.pixel_count = pixel_count[c];
        poly.first_pixel = first_pixel[c];
    }
    if (out.empty()) return out;

    // Pass 3 (over runs of kept components): every ring has a top edge of a pixel with
    // background above, so a ring starts at the leftmost edge of each such stretch not yet
    // walked. Rows are visited in order, so a component's first ring starts at its first
    // pixel and is its outer ring; later rings are its holes.
    BitGrid walked(mask.cols, mask.rows);
    for (int y = 0; y < mask.rows; ++y) {
        const std::size_t cur_end = lab.row_begin[static_cast<std::size_t>(y) + 1];
        std::size_t a = y > 0 ? lab.row_begin[static_cast<std::size_t>(y) - 1] : 0;
        const std::size_t above_end = y > 0 ? lab.row_begin[static_cast<std::size_t>(y)] : 0;
        for (std::size_t b = lab.row_begin[static_cast<std::size_t>(y)]; b < cur_end; ++b) {
            const std::uint32_t c = lab.comp[b];
            if (slot[c] == dropped) continue;
            const PixelRun run = lab.runs[b];
            int x = run.x0;
            while (x < run.x1) {
                while (a < above_end && lab.runs[a].x1 <= x) ++a;
                if (a < above_end && lab.runs[a].x0 <= x) {  // covered from above: no top edge
                    x = lab.runs[a].x1;
                    continue;
                }
                const int stretch_end = a < above_end ? std::min(run.x1, lab.runs[a].x0) : run.x1;
                if (!walked.test(x, y)) {
                    PixelPolygon& poly = out[slot[c]];
                    trace_ring(lab, eight, c, x, y, walked, poly.outer.empty() ? poly.outer : poly.holes.emplace_back());
                }
                x = stretch_end;
            }
        }
    }
    return out;
}

double ring_area(const Ring& ring) {
    if (ring.size() < 3) return 0.0;
    // Integer accumulation: exact for any ring of pixel corners.
    std::int64_t twice = 0;
    const std::size_t n = ring.size();
    for (std::size_t i = 0; i < n; ++i) {
        const cv::Point& p = ring[i];
        const cv::Point& q = ring[(i + 1) % n];  // closes an unclosed ring implicitly
        twice += static_cast<std::int64_t>(p.x) * q.y - static_cast<std::int64_t>(q.x) * p.y;
    }
    return static_cast<double>(twice) / 2.0;
}

}  // namespace weipian::kernels
