#include "pipeline/polygonize.hpp"

namespace weipian {
namespace {

OGRLinearRing* to_ring(const kernels::Ring& ring, const GeoTransform& gt) {
    auto* out = new OGRLinearRing();
    out->setNumPoints(static_cast<int>(ring.size()), FALSE);
    for (std::size_t i = 0; i < ring.size(); ++i) {
        double x, y;
        pixel_to_geo(gt, ring[i].x, ring[i].y, x, y);
        out->setPoint(static_cast<int>(i), x, y);
    }
    return out;
}

}  // namespace

OGRGeometryUniquePtr to_geometry(const kernels::PixelPolygon& polygon, const GeoTransform& gt) {
    auto* out = new OGRPolygon();
    out->addRingDirectly(to_ring(polygon.outer, gt));
    for (const auto& hole : polygon.holes) out->addRingDirectly(to_ring(hole, gt));
    return OGRGeometryUniquePtr(out);
}

}  // namespace weipian
