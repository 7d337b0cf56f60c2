#pragma once
// Shared helpers for pipeline tests: temporary folders, small rasters, running the CLI.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

namespace weipian::test {

namespace fs = std::filesystem;

// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
public:
    TempDir() {
        path_ = fs::temp_directory_path() / ("weipian-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    fs::path path_;
};

// Writes a 4-band uint16 GeoTIFF (B, G, R, NIR) filled with vegetation, with an optional
// bright roof rectangle [x0, x1) × [y0, y1) in pixels. `epsg` 0 = no CRS.
inline void write_scene(const fs::path& path, double origin_x, double origin_y, int size, int epsg,
                        int roof_x0 = 0, int roof_y0 = 0, int roof_x1 = 0, int roof_y1 = 0, double pixel = 1.0) {
    GDALAllRegister();
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
    GDALDatasetUniquePtr ds(driver->Create(path.c_str(), size, size, 4, GDT_UInt16, nullptr));
    double gt[6] = {origin_x, pixel, 0, origin_y, 0, -pixel};
    ds->SetGeoTransform(gt);
    if (epsg) {
        OGRSpatialReference srs;
        srs.importFromEPSG(epsg);
        ds->SetSpatialRef(&srs);
    }
    const unsigned short vegetation[4] = {300, 600, 400, 3500}, roof[4] = {1800, 1900, 2000, 2200};
    std::vector<unsigned short> buffer(static_cast<std::size_t>(size) * size);
    for (int b = 0; b < 4; ++b) {
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x) {
                const bool in_roof = x >= roof_x0 && x < roof_x1 && y >= roof_y0 && y < roof_y1;
                buffer[static_cast<std::size_t>(y) * size + x] = in_roof ? roof[b] : vegetation[b];
            }
        ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, size, size, buffer.data(), size, size, GDT_UInt16, 0, 0);
    }
}

inline void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

inline std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct CliResult {
    int exit_code = -1;
    std::string out, err;
};

// Runs the weipian binary with `args` (already quoted), capturing stdout and stderr; `env`
// ("NAME=value …") is set for it alone. `binary`: WEIPIAN_HOOKED_BINARY for the executable with
// the crash tests' hook (WEIPIAN_TEST_KILL_AT, tests/support/test_hooks.hpp).
inline CliResult run_cli(const std::string& args, const fs::path& scratch, const std::string& env = "",
                         const char* binary = WEIPIAN_BINARY) {
    const fs::path out = scratch / "cli.stdout", err = scratch / "cli.stderr";
    const std::string command = (env.empty() ? std::string() : "env " + env + " ") + std::string("'") + binary + "' " + args +
                                " >'" + out.string() + "' 2>'" + err.string() + "'";
    const int status = std::system(command.c_str());
    CliResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
}

}  // namespace weipian::test
