#include "kernels/polygonize.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>

#include "kernels/runs.hpp"

namespace weipian::kernels {

namespace {

// A horizontal run of nonzero pixels [x0, x1) in one row. Runs are stored in raster order,
// so a run's index orders components by their first pixel for free.
struct PixelRun {
    int x0;
    int x1;
};

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

// Runs of all rows, their 4-connected components, and the pixel-level queries the tracer needs.
struct Labelling {
    explicit Labelling(const cv::Mat& mask)
        : pixels(mask.cols, mask.rows), row_begin(static_cast<std::size_t>(mask.rows) + 1) {}

    BitGrid pixels;                      // the mask, nonzero = 1
    std::vector<PixelRun> runs;
    std::vector<std::size_t> row_begin;  // runs of row y: [row_begin[y], row_begin[y + 1])
    std::vector<std::uint32_t> comp;     // 4-connected component of each run, numbered in raster order

    bool fg(int x, int y) const { return pixels.test(x, y); }

    // 4-connected component of a foreground pixel: binary search in its row's runs. Only
    // called at saddle vertices, which are rare.
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
// background) are where the ring has a choice. `comp` is the ring's 4-connected component:
//  - the diagonal pixel belongs to another 4-connected component (another component under
//    4-connectivity, another part of this one under 8-connectivity): turn right, hugging our
//    own pixel, so diagonal pixels are not joined and the ring does not touch itself there;
//  - it belongs to the same one: turn left, hugging the background pixel, so rings split
//    where the background splits. That is the split GDALPolygonize (3.6) emits: a background
//    pixel cut off at a vertex becomes a hole touching the outer ring (or another hole) at
//    that vertex rather than a fold of a self-touching outer ring. The two background pixels
//    then lie in different 4-connected background regions (the component's own 4-path joins
//    the two foreground pixels around one of them), so they are bounded by different rings
//    and no ring passes the vertex twice.
void trace_ring(const Labelling& lab, std::uint32_t comp, int x0, int y0, BitGrid& walked, Ring& ring) {
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
            const bool join = lab.comp_at(lx, ly) == comp;
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

    // Pass 1: runs, and union of runs that touch across rows: 4-connected components always,
    // and under 8-connectivity also the components, which join 4-connected ones at corners.
    runs::DisjointSets four;
    runs::DisjointSets groups;
    const int reach = runs::reach_of(connectivity);
    for (int y = 0; y < mask.rows; ++y) {
        const std::size_t begin = lab.runs.size();
        // Run indices are 32-bit; a row adds at most (cols + 1) / 2 runs.
        if (begin + static_cast<std::size_t>(mask.cols) / 2 + 1 >= std::numeric_limits<std::uint32_t>::max()) {
            throw std::length_error("polygonize: mask has too many pixel runs");
        }
        lab.row_begin[static_cast<std::size_t>(y)] = begin;
        runs::for_each_run(mask.ptr<std::uint8_t>(y), mask.cols, [&](int x0, int x1) {
            lab.runs.push_back({x0, x1});
            lab.pixels.set_span(x0, x1, y);
            four.add();
            if (eight) groups.add();
        });
        if (y == 0) continue;
        const std::size_t above = lab.row_begin[static_cast<std::size_t>(y) - 1];
        runs::RowSweep<PixelRun> sweep(std::span<const PixelRun>(lab.runs.data() + above, begin - above), reach);
        for (std::size_t b = begin; b < lab.runs.size(); ++b) {
            const PixelRun rb = lab.runs[b];
            const auto [first, last] = sweep.touching(rb.x0, rb.x1);
            for (std::size_t a = above + first; a < above + last; ++a) {
                const PixelRun ra = lab.runs[a];
                if (runs::touch(ra.x0, ra.x1, rb.x0, rb.x1, 0))
                    four.unite_to_smallest(static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b));
                if (eight) groups.unite_to_smallest(static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b));
            }
        }
    }
    lab.row_begin.back() = lab.runs.size();

    // Pass 2 (over runs): number the sets in raster order of their first run and count their
    // pixels. parent[i] <= i, so a root is met before its other runs and relabelling in place
    // is safe.
    struct Numbered {
        std::vector<std::uint32_t> of_run;
        std::vector<std::int64_t> pixel_count;
        std::vector<cv::Point> first_pixel;
        std::vector<std::size_t> first_run;
    };
    const auto number = [&lab, rows = mask.rows](runs::DisjointSets& sets) {
        Numbered n{sets.release(), {}, {}, {}};
        std::vector<std::uint32_t>& parent = n.of_run;
        for (int y = 0; y < rows; ++y) {
            for (std::size_t i = lab.row_begin[static_cast<std::size_t>(y)]; i < lab.row_begin[static_cast<std::size_t>(y) + 1]; ++i) {
                std::uint32_t c;
                if (parent[i] == i) {
                    c = static_cast<std::uint32_t>(n.pixel_count.size());
                    n.pixel_count.push_back(0);
                    n.first_pixel.emplace_back(lab.runs[i].x0, y);
                    n.first_run.push_back(i);
                } else {
                    c = parent[parent[i]];
                }
                parent[i] = c;
                n.pixel_count[c] += lab.runs[i].x1 - lab.runs[i].x0;
            }
        }
        return n;
    };
    Numbered pieces = number(four);  // 4-connected components: the parts
    lab.comp = std::move(pieces.of_run);
    const Numbered components = eight ? number(groups) : Numbered{};
    const auto& component_pixels = eight ? components.pixel_count : pieces.pixel_count;
    const auto& component_first = eight ? components.first_pixel : pieces.first_pixel;

    // The size filter on components, before any geometry exists.
    constexpr std::uint32_t dropped = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::uint32_t> slot(component_pixels.size(), dropped);
    for (std::size_t c = 0; c < component_pixels.size(); ++c) {
        if (component_pixels[c] < min_pixels) continue;
        slot[c] = static_cast<std::uint32_t>(out.size());
        PixelPolygon& poly = out.emplace_back();
        poly.pixel_count = component_pixels[c];
        poly.first_pixel = component_first[c];
    }
    if (out.empty()) return out;

    // Where each part goes: polygon out[piece_slot[p]], part piece_part[p]. Parts are numbered
    // in raster order of their first pixel, so a component's first part holds its first pixel.
    std::vector<std::uint32_t> piece_slot(pieces.pixel_count.size());
    std::vector<std::uint32_t> piece_part(pieces.pixel_count.size(), 0);
    for (std::size_t p = 0; p < pieces.pixel_count.size(); ++p) {
        const std::uint32_t c = eight ? components.of_run[pieces.first_run[p]] : static_cast<std::uint32_t>(p);
        piece_slot[p] = slot[c];
        if (slot[c] == dropped) continue;
        PixelPolygon& poly = out[slot[c]];
        piece_part[p] = static_cast<std::uint32_t>(poly.parts.size());
        poly.parts.emplace_back();
    }

    // Pass 3 (over runs of kept components): every ring has a top edge of a pixel with
    // background above, so a ring starts at the leftmost edge of each such stretch not yet
    // walked. Rows are visited in order, so a part's first ring starts at its first pixel and
    // is its outer ring; later rings are its holes.
    BitGrid walked(mask.cols, mask.rows);
    for (int y = 0; y < mask.rows; ++y) {
        const std::size_t cur_end = lab.row_begin[static_cast<std::size_t>(y) + 1];
        std::size_t a = y > 0 ? lab.row_begin[static_cast<std::size_t>(y) - 1] : 0;
        const std::size_t above_end = y > 0 ? lab.row_begin[static_cast<std::size_t>(y)] : 0;
        for (std::size_t b = lab.row_begin[static_cast<std::size_t>(y)]; b < cur_end; ++b) {
            const std::uint32_t p = lab.comp[b];
            if (piece_slot[p] == dropped) continue;
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
                    PolygonPart& part = out[piece_slot[p]].parts[piece_part[p]];
                    trace_ring(lab, p, x, y, walked, part.outer.empty() ? part.outer : part.holes.emplace_back());
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
