#include "pipeline/rasterize.hpp"

#include <cinttypes>
#include <cstdio>
#include <string>

#include <gdal_alg.h>
#include <gdal_priv.h>

#include "pipeline/core/errors.hpp"
#include "pipeline/core/gdal.hpp"

namespace weipian {

GeoTransform window_geotransform(const GeoTransform& gt, int col, int row) {
    GeoTransform out = gt;
    pixel_to_geo(gt, col, row, out[0], out[3]);
    return out;
}

void rasterize_into(cv::Mat& target, const GeoTransform& window_gt, const std::vector<const OGRGeometry*>& geometries,
                    unsigned char value) {
    if (target.empty() || target.type() != CV_8UC1) throw InternalError("rasterize: target is not a CV_8UC1 matrix");
    if (geometries.empty()) return;
    ensure_gdal_registered();
    auto* driver = GetGDALDriverManager()->GetDriverByName("MEM");
    if (!driver) throw InternalError("rasterize: this GDAL build has no MEM driver");
    GDALDatasetUniquePtr ds(driver->Create("", target.cols, target.rows, 0, GDT_Byte, nullptr));
    if (!ds) throw InternalError("rasterize: cannot create a MEM dataset (" + last_gdal_error() + ")");
    // The band is the matrix itself: no copy in either direction.
    char pointer[64], line_offset[64];
    std::snprintf(pointer, sizeof pointer, "DATAPOINTER=%p", static_cast<void*>(target.data));
    std::snprintf(line_offset, sizeof line_offset, "LINEOFFSET=%zu", target.step[0]);
    const char* band_options[] = {pointer, "PIXELOFFSET=1", line_offset, nullptr};
    if (ds->AddBand(GDT_Byte, const_cast<char**>(band_options)) != CE_None)
        throw InternalError("rasterize: cannot wrap the matrix as a MEM band (" + last_gdal_error() + ")");
    GeoTransform gt = window_gt;
    ds->SetGeoTransform(gt.data());
    std::vector<OGRGeometryH> handles;
    handles.reserve(geometries.size());
    for (const auto* g : geometries) handles.push_back(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(g)));
    std::vector<double> burn(geometries.size(), static_cast<double>(value));
    int band = 1;
    CPLErrorReset();
    const CPLErr err = GDALRasterizeGeometries(GDALDataset::ToHandle(ds.get()), 1, &band, static_cast<int>(handles.size()),
                                               handles.data(), nullptr, nullptr, burn.data(), nullptr, nullptr, nullptr);
    if (err != CE_None) throw InternalError("rasterize: GDALRasterizeGeometries failed (" + last_gdal_error() + ")");
    ds->FlushCache();
}

}  // namespace weipian
