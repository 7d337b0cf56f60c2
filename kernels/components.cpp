#include "kernels/components.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace weipian::kernels {

StreamingLabeller::StreamingLabeller(int width, Connectivity connectivity)
    : width_(width), connectivity_(connectivity) {
    if (width <= 0) throw std::invalid_argument("StreamingLabeller: width must be > 0");
}

int StreamingLabeller::find(int id) { return static_cast<int>(sets_.find(static_cast<std::uint32_t>(id))); }

int StreamingLabeller::unite(int a, int b) {
    a = find(a);
    b = find(b);
    if (a == b) return a;
    // Keep the record with more runs as the root, so each run moves O(log n) times.
    if (records_[static_cast<std::size_t>(a)].c.runs.size() < records_[static_cast<std::size_t>(b)].c.runs.size())
        std::swap(a, b);
    Record& root = records_[static_cast<std::size_t>(a)];
    Record& child = records_[static_cast<std::size_t>(b)];
    root.c.area += child.c.area;
    root.c.score_sum += child.c.score_sum;
    const auto& fa = root.c.first_pixel;
    const auto& fb = child.c.first_pixel;
    if (fb.y < fa.y || (fb.y == fa.y && fb.x < fa.x)) root.c.first_pixel = fb;
    root.c.bbox |= child.c.bbox;
    root.c.runs.insert(root.c.runs.end(), child.c.runs.begin(), child.c.runs.end());
    root.last_row = std::max(root.last_row, child.last_row);
    child.c = StreamComponent{};
    sets_.link(static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(a));
    return a;
}

int StreamingLabeller::make_component(int row, int x0, int x1, double score) {
    const int id = static_cast<int>(sets_.add());
    Record r;
    r.last_row = row;
    r.c.area = x1 - x0;
    r.c.score_sum = score;
    r.c.first_pixel = {x0, row};
    r.c.bbox = cv::Rect(x0, row, x1 - x0, 1);
    r.c.runs.push_back({row, x0, x1});
    records_.push_back(std::move(r));
    return id;
}

void StreamingLabeller::close_finished(int row) {
    // A root of the previous row that no run of `row` reached is complete.
    for (int id : prev_ids_) {
        const int root = find(id);
        Record& r = records_[static_cast<std::size_t>(root)];
        if (r.last_row < row && r.c.area > 0) {
            closed_.push_back(std::move(r.c));
            r.c = StreamComponent{};  // area 0 marks it emitted
        }
    }
}

void StreamingLabeller::add_rows(const cv::Mat& mask, const cv::Mat& score, int row0) {
    if (mask.type() != CV_8UC1 || mask.cols != width_)
        throw std::invalid_argument("StreamingLabeller: mask must be CV_8UC1 of the labeller's width");
    if (!score.empty() && (score.type() != CV_32FC1 || score.size() != mask.size()))
        throw std::invalid_argument("StreamingLabeller: score must be CV_32FC1 of the mask's size");
    if (row0 != next_row_)
        throw std::invalid_argument("StreamingLabeller: rows must arrive in order (expected row " +
                                    std::to_string(next_row_) + ", got " + std::to_string(row0) + ")");
    const int reach = runs::reach_of(connectivity_);
    for (int y = 0; y < mask.rows; ++y) {
        const int row = row0 + y;
        const std::uint8_t* m = mask.ptr<std::uint8_t>(y);
        const float* s = score.empty() ? nullptr : score.ptr<float>(y);
        cur_runs_.clear();
        cur_ids_.clear();
        runs::for_each_run(m, width_, [&](int x0, int x1) { cur_runs_.push_back({row, x0, x1}); });
        // Connect each run to the runs of the previous row it touches.
        runs::RowSweep<Run> sweep(prev_runs_, reach);
        for (const Run& run : cur_runs_) {
            double run_score = 0;
            if (s)
                for (int i = run.x0; i < run.x1; ++i) run_score += s[i];
            int id = -1;
            const auto [first, last] = sweep.touching(run.x0, run.x1);
            for (std::size_t q = first; q < last; ++q)
                id = id < 0 ? find(prev_ids_[q]) : unite(id, prev_ids_[q]);
            if (id < 0) {
                id = make_component(row, run.x0, run.x1, run_score);
            } else {
                Record& r = records_[static_cast<std::size_t>(id)];
                r.c.area += run.x1 - run.x0;
                r.c.score_sum += run_score;
                r.c.bbox |= cv::Rect(run.x0, row, run.x1 - run.x0, 1);
                r.c.runs.push_back(run);
                r.last_row = row;
            }
            cur_ids_.push_back(id);
        }
        close_finished(row);
        std::swap(prev_runs_, cur_runs_);
        std::swap(prev_ids_, cur_ids_);
        if (prev_runs_.empty()) {  // nothing is open
            records_.clear();
            sets_.clear();
        }
    }
    compact();
    next_row_ = row0 + mask.rows;
}

void StreamingLabeller::compact() {
    // Keep only the roots the last row still refers to, renumbered, so memory follows the open
    // components even where foreground touches every row (a long road would otherwise keep a
    // record for every component closed beside it: 717 MB instead of 32 MB, measured).
    std::vector<int> new_id(records_.size(), -1);
    std::vector<Record> kept;
    kept.reserve(prev_ids_.size());
    for (int& id : prev_ids_) {
        const int root = find(id);
        if (new_id[static_cast<std::size_t>(root)] < 0) {
            new_id[static_cast<std::size_t>(root)] = static_cast<int>(kept.size());
            kept.push_back(std::move(records_[static_cast<std::size_t>(root)]));
        }
        id = new_id[static_cast<std::size_t>(root)];
    }
    records_ = std::move(kept);
    sets_.clear();
    for (std::size_t i = 0; i < records_.size(); ++i) sets_.add();
}

void StreamingLabeller::finish() {
    close_finished(next_row_);
    prev_runs_.clear();
    prev_ids_.clear();
    records_.clear();
    sets_.clear();
}

std::vector<StreamComponent> StreamingLabeller::take_closed() {
    std::vector<StreamComponent> out;
    out.swap(closed_);
    return out;
}

PixelPolygon polygonize_component(const StreamComponent& component, Connectivity connectivity) {
    const cv::Rect& box = component.bbox;
    cv::Mat local(box.height, box.width, CV_8UC1, cv::Scalar(0));
    for (const Run& run : component.runs)
        std::memset(local.ptr<std::uint8_t>(run.row - box.y) + (run.x0 - box.x), 1, static_cast<std::size_t>(run.x1 - run.x0));
    std::vector<PixelPolygon> polygons = polygonize(local, connectivity, 1);
    if (polygons.size() != 1)
        throw std::logic_error("polygonize_component: a component gave " + std::to_string(polygons.size()) + " polygons");
    PixelPolygon out = std::move(polygons.front());
    const cv::Point shift = box.tl();
    for (PolygonPart& part : out.parts) {
        for (auto& v : part.outer) v += shift;
        for (auto& hole : part.holes)
            for (auto& v : hole) v += shift;
    }
    out.first_pixel += shift;
    return out;
}

}  // namespace weipian::kernels
