#pragma once

namespace weipian::kernels {

// Pixel adjacency used for components, the sieve and polygons. Four matches GDALPolygonize's
// default; Eight matches its "8CONNECTED=8" option.
enum class Connectivity { Four = 4, Eight = 8 };

}  // namespace weipian::kernels
