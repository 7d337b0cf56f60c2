#pragma once
// Reading an exported XLSX back in tests: its rows as text through GDAL's XLSX driver (title row,
// header row, data), a cell by its header, and a part of the zip (the sheets' XML).
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

namespace weipian::test {

// Every row of sheet `index` as text (the title row, the header row, then the data), read with
// GDAL's XLSX driver with headers off.
inline std::vector<std::vector<std::string>> sheet_rows(const std::filesystem::path& book_path, int index, std::string* name = nullptr) {
    CPLConfigOptionSetter headers("OGR_XLSX_HEADERS", "DISABLE", false);
    CPLConfigOptionSetter types("OGR_XLSX_FIELD_TYPES", "STRING", false);
    const char* drivers[] = {"XLSX", nullptr};
    GDALDatasetUniquePtr book(GDALDataset::Open(book_path.c_str(), GDAL_OF_VECTOR, drivers, nullptr, nullptr));
    std::vector<std::vector<std::string>> rows;
    if (!book || index >= book->GetLayerCount()) return rows;
    OGRLayer* sheet = book->GetLayer(index);
    if (name) *name = sheet->GetName();
    for (auto& f : *sheet) {
        std::vector<std::string> row;
        for (int i = 0; i < f->GetFieldCount(); ++i) row.push_back(f->IsFieldSetAndNotNull(i) ? f->GetFieldAsString(i) : "");
        rows.push_back(std::move(row));
    }
    return rows;
}

// The cell under `header` (row 2 of the sheet) in data row `n` (0 = the first case).
inline std::string cell(const std::vector<std::vector<std::string>>& rows, std::size_t n, const std::string& header) {
    if (rows.size() < 2 + n + 1) return "(no row)";
    const auto& heads = rows[1];
    const auto at = std::find(heads.begin(), heads.end(), header);
    if (at == heads.end()) return "(no column " + header + ")";
    const auto i = static_cast<std::size_t>(at - heads.begin());
    return i < rows[2 + n].size() ? rows[2 + n][i] : "";
}

// A file of the workbook (an .xlsx is a zip of XML parts).
inline std::string book_part(const std::filesystem::path& book, const std::string& part) {
    const std::string path = "/vsizip/" + book.string() + "/" + part;
    VSILFILE* f = VSIFOpenL(path.c_str(), "rb");
    if (!f) return "";
    std::string text;
    char buffer[4096];
    for (std::size_t n; (n = VSIFReadL(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
    VSIFCloseL(f);
    return text;
}

}  // namespace weipian::test
