#include "pipeline/core/atomic_output.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "pipeline/core/errors.hpp"

namespace weipian {

namespace fs = std::filesystem;

namespace {

// `dir` without a trailing separator, so that "out/" names the folder "out".
fs::path without_trailing_separator(fs::path dir) {
    dir = dir.lexically_normal();
    if (dir.has_relative_path() && dir.filename().empty()) dir = dir.parent_path();
    return dir;
}

fs::path folder_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

// Creates `folder` (and its parents) and checks that files can be made in it.
void prepare_folder(const fs::path& folder, const std::string& stage) {
    std::error_code ec;
    // The nearest part of the path that exists must be a folder.
    for (fs::path part = folder; !part.empty(); part = part.parent_path()) {
        const auto status = fs::status(part, ec);
        if (fs::exists(status)) {
            if (!fs::is_directory(status))
                throw InputError(stage + ": " + quoted(part) + " is a file, not a folder; give a path in a folder");
            break;
        }
        if (part == part.parent_path()) break;
    }
    fs::create_directories(folder, ec);
    if (ec)
        throw InputError(stage + ": cannot create the folder " + quoted(folder) + " (" + ec.message() +
                         "); check the path and that its parent is writable");
    if (::access(folder.c_str(), W_OK | X_OK) != 0) {
        const std::error_code why(errno, std::generic_category());
        throw InputError(stage + ": cannot write in the folder " + quoted(folder) + " (" + why.message() +
                         "); choose a writable folder or fix its permissions");
    }
}

void remove_quietly(const fs::path& path) {
    std::error_code ec;
    fs::remove(path, ec);
}

// A temporary and what GDAL may leave beside it.
void remove_with_sidecars(const fs::path& path) {
    remove_quietly(path);
    for (const char* suffix : {"-journal", "-wal", "-shm", ".aux.xml"}) remove_quietly(path.string() + suffix);
}

// Renames `from` to `to` unless `to` exists (then returns false and leaves both).
bool rename_no_replace(const fs::path& from, const fs::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
    if (errno == EEXIST) return false;
    if (errno != EINVAL && errno != ENOSYS) throw std::system_error(errno, std::generic_category());
    // A file system without RENAME_NOREPLACE: a hard link fails on an existing target too.
    if (::link(from.c_str(), to.c_str()) != 0) {
        if (errno == EEXIST) return false;
        throw std::system_error(errno, std::generic_category());
    }
    ::unlink(from.c_str());
    return true;
}

std::string first_names(const std::vector<std::string>& names) {
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < 3; ++i) text += (i ? ", " : "") + names[i];
    if (names.size() > 3) text += ", … " + std::to_string(names.size()) + " in all";
    return text;
}

// The marker's list: name → size in bytes. Empty optional-like flag when unreadable.
// "a" or "a/b/c": '/'-separated components, none empty, "." or "..".
bool is_relative_file_name(const std::string& name) {
    if (name.empty()) return false;
    std::size_t from = 0;
    while (true) {
        const std::size_t slash = name.find('/', from);
        const std::string part = name.substr(from, slash == std::string::npos ? std::string::npos : slash - from);
        if (part.empty() || part == "." || part == "..") return false;
        if (slash == std::string::npos) return true;
        from = slash + 1;
    }
}

bool read_marker(const fs::path& marker, std::map<std::string, std::uintmax_t>& files) {
    std::ifstream in(marker, std::ios::binary);
    if (!in) return false;
    const auto document = nlohmann::json::parse(in, nullptr, false);
    if (document.is_discarded() || !document.is_object() || !document.contains("weipian") || !document.contains("files") ||
        !document["files"].is_array())
        return false;
    for (const auto& f : document["files"]) {
        if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("bytes") ||
            !f["bytes"].is_number_unsigned())
            return false;
        const std::string name = f["name"].get<std::string>();
        // A file of the folder or of a subfolder weipian wrote ("cards/140824100.html").
        if (!is_relative_file_name(name)) return false;
        files[name] = f["bytes"].get<std::uintmax_t>();
    }
    return true;
}

// Removes what a previous output's marker lists, the marker, then the folder when empty.
void remove_listed(const fs::path& dir, const std::vector<std::string>& files) {
    std::error_code ec;
    std::set<fs::path> subfolders;
    for (const auto& name : files) {
        if (fs::is_regular_file(fs::symlink_status(dir / name, ec))) fs::remove(dir / name, ec);
        for (fs::path parent = fs::path(name).parent_path(); !parent.empty(); parent = parent.parent_path())
            subfolders.insert(parent);
    }
    // Subfolders deepest first, each only when empty (what weipian did not write stays).
    for (auto it = subfolders.rbegin(); it != subfolders.rend(); ++it) fs::remove(dir / *it, ec);
    fs::remove(dir / kOutputMarker, ec);
    if (!fs::remove(dir, ec) || ec)
        spdlog::warn("output: left the folder '{}' in place: it holds files weipian did not write", dir.string());
}

}  // namespace

fs::path partial_path_for(const fs::path& final_path, const std::string& extension) {
    const fs::path path = without_trailing_separator(final_path);
    std::string name(".");
    name += path.filename().string();
    name += ".partial-";
    name += std::to_string(::getpid());
    name += extension;
    return path.parent_path() / name;
}

void prepare_file_path(const fs::path& path, const std::string& stage) {
    if (path.empty() || !path.has_filename())
        throw InputError(stage + ": " + quoted(path) + " names a folder, not a file; give a file path");
    std::error_code ec;
    const auto status = fs::symlink_status(path, ec);
    if (fs::is_directory(status) || (fs::is_symlink(status) && fs::is_directory(fs::status(path, ec))))
        throw InputError(stage + ": " + quoted(path) + " is a folder, not a file; give a file path (weipian never replaces a folder)");
    if (fs::exists(status) && !fs::is_regular_file(status) && !fs::is_symlink(status))
        throw InputError(stage + ": " + quoted(path) + " is not a regular file; give another file path");
    prepare_folder(folder_of(path), stage);
}

// ---- AtomicFile ----------------------------------------------------------------------------

AtomicFile::AtomicFile(fs::path final_path, std::string stage) : AtomicFile(std::move(final_path), std::move(stage), Options{}) {}

AtomicFile::AtomicFile(fs::path final_path, std::string stage, Options options)
    : final_(std::move(final_path)), stage_(std::move(stage)) {
    prepare_file_path(final_, stage_);
    partial_ = partial_path_for(final_, options.extension_given ? options.extension : final_.extension().string());
    remove_with_sidecars(partial_);  // a leftover of a killed process with the same pid
    if (options.copy_existing && fs::is_regular_file(final_)) {
        std::error_code ec;
        fs::copy_file(final_, partial_, fs::copy_options::overwrite_existing, ec);
        if (ec) {
            remove_with_sidecars(partial_);
            throw InputError(stage_ + ": cannot copy " + quoted(final_) + " to add to it (" + ec.message() +
                             "); check free space and that its folder is writable");
        }
        copied_ = true;
    }
}

AtomicFile::~AtomicFile() {
    if (!committed_) remove_with_sidecars(partial_);
}

void AtomicFile::commit() {
    if (committed_) throw InternalError(stage_ + ": " + quoted(final_) + " committed twice");
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(partial_, ec)))
        throw InputError(stage_ + ": nothing was written for " + quoted(final_) + "; check that its folder is writable");
    if (fs::is_directory(fs::status(final_, ec)))
        throw InputError(stage_ + ": " + quoted(final_) + " is a folder, not a file; give a file path (weipian never replaces a folder)");
    fs::rename(partial_, final_, ec);
    if (ec)
        throw InputError(stage_ + ": cannot move the finished file into " + quoted(final_) + " (" + ec.message() +
                         "); check that its folder is writable");
    remove_with_sidecars(partial_);  // GDAL's .aux.xml and the like, if any
    committed_ = true;
}

bool AtomicFile::commit_unless_exists() {
    if (committed_) throw InternalError(stage_ + ": " + quoted(final_) + " committed twice");
    try {
        const bool moved = rename_no_replace(partial_, final_);
        if (!moved) return false;  // the destructor removes the temporary
        committed_ = true;
        remove_with_sidecars(partial_);
        return true;
    } catch (const std::system_error& e) {
        throw InputError(stage_ + ": cannot move the finished file into " + quoted(final_) + " (" + e.code().message() +
                         "); check that its folder is writable");
    }
}

namespace {

// `written` holds the bytes; `shown` is the path messages name.
void write_bytes(const fs::path& written, const fs::path& shown, std::string_view bytes, const std::string& stage) {
    std::ofstream out(written, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw InputError(stage + ": cannot write " + quoted(shown) + "; check free space and that its folder is writable");
}

}  // namespace

void write_file_atomically(const fs::path& path, std::string_view bytes, const std::string& stage) {
    AtomicFile file(path, stage);
    write_bytes(file.path(), path, bytes, stage);
    file.commit();
}

void write_file_in_staging(const fs::path& path, std::string_view bytes, const std::string& stage) {
    write_bytes(path, path, bytes, stage);
}

// ---- AtomicFileSet -------------------------------------------------------------------------

AtomicFileSet::AtomicFileSet(fs::path folder, const std::string& name, std::string stage)
    : folder_(folder.empty() ? fs::path(".") : std::move(folder)), name_(name), stage_(std::move(stage)) {
    prepare_folder(folder_, stage_);
    staging_ = partial_path_for(folder_ / name_, ".d");
    std::error_code ec;
    fs::remove_all(staging_, ec);  // a leftover of a killed process with the same pid
    ec.clear();
    fs::create_directory(staging_, ec);
    if (ec)
        throw InputError(stage_ + ": cannot create a staging folder in " + quoted(folder_) + " (" + ec.message() +
                         "); check that the folder is writable");
}

AtomicFileSet::~AtomicFileSet() {
    if (committed_) return;
    std::error_code ec;
    fs::remove_all(staging_, ec);  // best effort: a destructor must not throw
}

void AtomicFileSet::commit(const std::string& last_extension) {
    if (committed_) throw InternalError(stage_ + ": " + quoted(folder_ / name_) + " committed twice");
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(staging_)) files.push_back(entry.path());
    const auto lower = [](std::string text) {
        for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return text;
    };
    std::sort(files.begin(), files.end(), [&](const fs::path& a, const fs::path& b) {
        return std::make_pair(lower(a.extension().string()) == lower(last_extension), a) <
               std::make_pair(lower(b.extension().string()) == lower(last_extension), b);
    });
    std::error_code ec;
    for (const auto& file : files)  // refused before any file moves
        if (fs::is_directory(fs::status(folder_ / file.filename(), ec)))
            throw InputError(stage_ + ": " + quoted(folder_ / file.filename()) +
                             " is a folder, not a file; give another path (weipian never replaces a folder)");
    for (const auto& file : files) {
        fs::rename(file, folder_ / file.filename(), ec);
        if (ec)
            throw InputError(stage_ + ": cannot move " + file.filename().string() + " into " + quoted(folder_) + " (" +
                             ec.message() + "); check that the folder is writable");
    }
    committed_ = true;
    fs::remove_all(staging_, ec);
}

// ---- output folders ------------------------------------------------------------------------

OutputFolderState inspect_output_folder(const fs::path& given) {
    const fs::path dir = without_trailing_separator(given);
    OutputFolderState state;
    std::error_code ec;
    const auto status = fs::symlink_status(dir, ec);
    if (!fs::exists(status)) return state;
    if (!fs::is_directory(status)) {
        state.kind = OutputFolderState::Kind::NotAFolder;
        return state;
    }
    std::map<std::string, std::uintmax_t> listed;
    const bool marked = read_marker(dir / kOutputMarker, listed);
    bool any = false;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        any = true;
        const std::string name = entry.path().filename().string();
        if (name == kOutputMarker) {
            if (!marked) state.foreign.push_back(name + " (not a weipian marker)");
            continue;
        }
        const auto it = listed.find(name);
        std::error_code size_ec;
        const std::string prefix = name + "/";
        const auto under = listed.lower_bound(prefix);
        if (marked && fs::is_directory(entry.symlink_status(size_ec)) && under != listed.end() &&
            under->first.compare(0, prefix.size(), prefix) == 0) {
            // A subfolder weipian wrote (chips/, cards/): every file in it must be listed, unchanged.
            for (auto inner = fs::recursive_directory_iterator(entry.path(), size_ec);
                 !size_ec && inner != fs::recursive_directory_iterator(); inner.increment(size_ec)) {
                const auto inner_status = inner->symlink_status(size_ec);
                if (fs::is_directory(inner_status)) continue;
                const std::string inner_name = fs::relative(inner->path(), dir, size_ec).generic_string();
                const auto listed_inner = listed.find(inner_name);
                if (!fs::is_regular_file(inner_status) || listed_inner == listed.end())
                    state.foreign.push_back(inner_name);
                else if (inner->file_size(size_ec) != listed_inner->second)
                    state.foreign.push_back(inner_name + " (changed since weipian wrote it)");
            }
            if (size_ec) state.foreign.push_back(name + " (cannot list it: " + size_ec.message() + ")");
            continue;
        }
        if (!marked || it == listed.end() || !entry.is_regular_file(size_ec)) {
            state.foreign.push_back(name);
        } else if (entry.file_size(size_ec) != it->second) {
            state.foreign.push_back(name + " (changed since weipian wrote it)");
        }
    }
    if (ec) {
        state.kind = OutputFolderState::Kind::Foreign;
        state.foreign.push_back("(cannot list it: " + ec.message() + ")");
        return state;
    }
    if (!any) {
        state.kind = OutputFolderState::Kind::Empty;
    } else if (!state.foreign.empty()) {
        state.kind = OutputFolderState::Kind::Foreign;
    } else {
        state.kind = OutputFolderState::Kind::PreviousOutput;
        for (const auto& [name, bytes] : listed) state.files.push_back(name);
    }
    return state;
}

namespace {

[[noreturn]] void refuse_folder(const fs::path& dir, const OutputFolderState& state, const std::string& option) {
    using Kind = OutputFolderState::Kind;
    switch (state.kind) {
        case Kind::NotAFolder:
            throw InputError("output: " + quoted(dir) + " exists and is not a folder; weipian never replaces what it did not write: give " +
                             option + " a new or empty folder");
        case Kind::Foreign:
            throw InputError("output: " + quoted(dir) + " holds files weipian did not write (" + first_names(state.foreign) +
                             "); weipian never deletes them: give " + option + " a new or empty folder, or move them out");
        case Kind::PreviousOutput:
            throw InputError("output: " + quoted(dir) + " holds a previous weipian output; pass --overwrite to replace it, or give " +
                             option + " another folder");
        default:
            throw InternalError("output: refuse_folder called for a usable folder " + quoted(dir));
    }
}

}  // namespace

void check_output_folder(const fs::path& dir, bool overwrite, const std::string& option) {
    const auto state = inspect_output_folder(dir);
    using Kind = OutputFolderState::Kind;
    if (state.kind == Kind::Absent || state.kind == Kind::Empty) return;
    if (state.kind == Kind::PreviousOutput && overwrite) return;
    refuse_folder(without_trailing_separator(dir), state, option);
}

bool is_inside(const fs::path& dir, const fs::path& path) {
    const auto resolve = [](const fs::path& p) {
        std::error_code ec;
        fs::path absolute = fs::absolute(p, ec);
        if (ec) absolute = p;
        fs::path resolved = fs::weakly_canonical(absolute, ec);
        if (ec) resolved = absolute.lexically_normal();
        return without_trailing_separator(resolved);
    };
    const fs::path d = resolve(dir), q = resolve(path);
    auto qi = q.begin();
    for (auto di = d.begin(); di != d.end(); ++di, ++qi)
        if (qi == q.end() || *di != *qi) return false;
    return true;
}

void refuse_inside_output(const fs::path& dir, const fs::path& input, const std::string& what) {
    const std::string text = input.string();
    if (text.empty() || text.rfind("/vsi", 0) == 0) return;
    if (is_inside(dir, input))
        throw InputError("output: the " + what + " " + quoted(input) + " lies inside the output folder " +
                         quoted(without_trailing_separator(dir)) +
                         "; weipian replaces that folder as a whole: choose an output folder that holds none of the inputs");
}

bool same_file(const fs::path& a, const fs::path& b) {
    std::error_code ec;
    const bool same = fs::equivalent(a, b, ec);
    return !ec && same;
}

// ---- OutputFolder --------------------------------------------------------------------------

OutputFolder::OutputFolder(fs::path final_dir, bool overwrite, std::string option)
    : final_(without_trailing_separator(std::move(final_dir))), overwrite_(overwrite), option_(std::move(option)) {
    if (final_.empty() || final_ == "." || final_ == "..")
        throw InputError("output: " + quoted(final_) + " cannot be an output folder (weipian replaces it as a whole); give " +
                         option_ + " a new folder");
    check_output_folder(final_, overwrite_, option_);
    prepare_folder(folder_of(final_), "output");
    staging_ = partial_path_for(final_, "");
    std::error_code ec;
    fs::remove_all(staging_, ec);  // a leftover of a killed process with the same pid
    ec.clear();
    fs::create_directory(staging_, ec);
    if (ec)
        throw InputError("output: cannot create the staging folder " + quoted(staging_) + " (" + ec.message() +
                         "); check that the folder is writable and has free space");
}

OutputFolder::~OutputFolder() {
    if (committed_) return;
    std::error_code ec;
    fs::remove_all(staging_, ec);  // best effort: a destructor must not throw
}

void OutputFolder::commit() {
    if (committed_) throw InternalError("output: " + quoted(final_) + " committed twice");
    // The marker lists what is staged, written last.
    nlohmann::json files = nlohmann::json::array();
    std::vector<std::string> names;
    // Files of subfolders (chips/, cards/) are listed by their relative path ("cards/a.html").
    for (const auto& entry : fs::recursive_directory_iterator(staging_)) {
        if (fs::is_directory(entry.symlink_status())) continue;
        names.push_back(fs::relative(entry.path(), staging_).generic_string());
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        if (name == kOutputMarker) continue;
        if (!fs::is_regular_file(fs::symlink_status(staging_ / name)))
            throw InternalError("output: " + name + " in the staging folder is not a file");
        files.push_back({{"name", name}, {"bytes", fs::file_size(staging_ / name)}});
    }
    {
        const nlohmann::json marker = {{"weipian", WEIPIAN_VERSION}, {"files", files}};
        std::ofstream out(staging_ / kOutputMarker, std::ios::binary | std::ios::trunc);
        out << marker.dump(2) << '\n';
        out.close();
        if (!out)
            throw InputError("output: cannot write " + quoted(staging_ / kOutputMarker) + "; check free space on the output disk");
    }

    const auto state = inspect_output_folder(final_);
    using Kind = OutputFolderState::Kind;
    std::error_code ec;
    if (state.kind == Kind::Absent || state.kind == Kind::Empty) {
        // rename(2) replaces only an empty folder: anything that appeared meanwhile stays.
        fs::rename(staging_, final_, ec);
        if (ec)
            throw InputError("output: cannot move the finished output into " + quoted(final_) + " (" + ec.message() +
                             "); give " + option_ + " a new or empty folder");
        committed_ = true;
        return;
    }
    if (state.kind != Kind::PreviousOutput || !overwrite_) refuse_folder(final_, state, option_);
    const fs::path old = partial_path_for(final_, ".old");
    fs::remove_all(old, ec);  // a leftover of a killed process with the same pid
    ec.clear();
    fs::rename(final_, old, ec);
    if (ec)
        throw InputError("output: cannot move the previous output " + quoted(final_) + " aside (" + ec.message() +
                         "); check that its parent folder is writable");
    fs::rename(staging_, final_, ec);
    if (ec) {
        const auto cause = ec;
        fs::rename(old, final_, ec);  // put the previous output back
        throw InputError("output: cannot move the finished output into " + quoted(final_) + " (" + cause.message() +
                         "); check that its parent folder is writable");
    }
    committed_ = true;
    remove_listed(old, state.files);
}

bool remove_previous_output(const fs::path& given) {
    const fs::path dir = without_trailing_separator(given);
    const auto state = inspect_output_folder(dir);
    if (state.kind != OutputFolderState::Kind::PreviousOutput) return false;
    remove_listed(dir, state.files);
    return true;
}

}  // namespace weipian
