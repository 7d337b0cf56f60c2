#pragma once
// The one way weipian writes anything: under a temporary name in the same folder, renamed into
// place when complete. A failure (an exception, a full disk) leaves the final path as it was and
// no temporary behind (the destructors remove them). And weipian never removes or overwrites
// what it did not write itself: an output folder is replaced only when it is recognisably a
// previous weipian output (its marker file, `.weipian-output`, lists what weipian wrote there)
// and holds nothing else.
//
// Temporary names follow one scheme: a hidden sibling ".<name>.partial-<pid><extension>" (the
// extension keeps GDAL drivers content). Every refusal is an InputError (exit code 3) naming
// the path and what to do.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace weipian {

// Where `final_path` is written before it is renamed into place: a hidden sibling
// ".<name>.partial-<pid><extension>".
std::filesystem::path partial_path_for(const std::filesystem::path& final_path, const std::string& extension);

// Creates the folder that will hold `path` and refuses a path that cannot be a file (an existing
// folder, a parent that is a file, an unwritable folder). `stage` starts the message ("detect").
void prepare_file_path(const std::filesystem::path& path, const std::string& stage);

// One file, written at path() and moved to final_path() by commit().
class AtomicFile {
public:
    struct Options {
        // Kept at the end of the temporary name; default: the final path's extension.
        std::string extension;
        bool extension_given = false;
        // Start from a copy of the file at the final path (to add a layer to a GeoPackage and
        // keep the others); no copy when there is none.
        bool copy_existing = false;
    };
    // Checks the path (prepare_file_path) and removes a leftover temporary of this process.
    AtomicFile(std::filesystem::path final_path, std::string stage);
    AtomicFile(std::filesystem::path final_path, std::string stage, Options options);
    ~AtomicFile();  // not committed: the temporary (and GDAL's -journal/-wal/-shm/.aux.xml) removed
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    const std::filesystem::path& path() const { return partial_; }
    const std::filesystem::path& final_path() const { return final_; }
    bool copied_existing() const { return copied_; }

    // Moves the finished file into place, replacing a previous file there. Throws InputError.
    void commit();
    // Moves it into place unless a file appeared at the final path meanwhile (then the
    // temporary is removed and false returned).
    bool commit_unless_exists();

private:
    std::filesystem::path final_;
    std::filesystem::path partial_;
    std::string stage_;
    bool committed_ = false;
    bool copied_ = false;
};

// Writes `bytes` to `path` through an AtomicFile.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes, const std::string& stage);

// Writes `bytes` straight to `path`, replacing a file there: only for a path inside a staging
// folder (OutputFolder, AtomicFileSet) that appears whole or not at all. Throws InputError
// "<stage>: cannot write '<path>'; check free space and that its folder is writable".
void write_file_in_staging(const std::filesystem::path& path, std::string_view bytes, const std::string& stage);

// Files that appear together in one folder (a Shapefile's .shp/.shx/.dbf/.prj/.cpg): written
// into a staging folder beside them, then each renamed into place, `last_extension` last (the
// file a reader opens, so it never finds the set incomplete). Limit: the renames are one per
// file, so a crash between two of them can leave part of a new set beside part of an old one;
// files of the set are never left half-written. Files of the set already in `folder` are
// replaced.
class AtomicFileSet {
public:
    // `name` names the set in messages and in the staging folder (e.g. "cases.shp").
    AtomicFileSet(std::filesystem::path folder, const std::string& name, std::string stage);
    ~AtomicFileSet();  // not committed: the staging folder removed
    AtomicFileSet(const AtomicFileSet&) = delete;
    AtomicFileSet& operator=(const AtomicFileSet&) = delete;

    const std::filesystem::path& dir() const { return staging_; }
    void commit(const std::string& last_extension);

private:
    std::filesystem::path folder_;
    std::filesystem::path staging_;
    std::string name_;
    std::string stage_;
    bool committed_ = false;
};

// ---- output folders ---------------------------------------------------------------------------

// The marker file written in every output folder: JSON {"weipian": version, "files": [{"name",
// "bytes"}, …]}, the files weipian wrote there and their sizes; a file of a subfolder weipian
// wrote (chips/, cards/) is named by its '/'-separated relative path ("cards/140824100.html").
inline constexpr const char* kOutputMarker = ".weipian-output";

// What stands at an output folder's path.
struct OutputFolderState {
    enum class Kind {
        Absent,          // nothing: it is created
        Empty,           // an empty folder: it receives the output
        PreviousOutput,  // a previous weipian output, nothing else: replaced with --overwrite
        Foreign,         // a folder holding files weipian did not write (or changed since)
        NotAFolder,      // a file, a link or something else
    };
    Kind kind = Kind::Absent;
    std::vector<std::string> foreign;  // Foreign: what weipian did not write (first few names)
    std::vector<std::string> files;    // PreviousOutput: what its marker lists
};
OutputFolderState inspect_output_folder(const std::filesystem::path& dir);

// Throws InputError (one line: the path, why, what to do) unless `dir` may receive a new output:
// absent, empty, or, with `overwrite`, a previous weipian output holding nothing else.
// `option` names where the folder came from in the message ("--out").
void check_output_folder(const std::filesystem::path& dir, bool overwrite, const std::string& option = "--out");

// True when `path` is `dir` or lies inside it (after resolving `.`, `..` and links).
bool is_inside(const std::filesystem::path& dir, const std::filesystem::path& path);

// Throws InputError when `input` (described by `what`, e.g. "input tile") lies inside the
// output folder `dir`: a run must never write over what it reads or what outlives it.
void refuse_inside_output(const std::filesystem::path& dir, const std::filesystem::path& input, const std::string& what);

// True when both paths name the same file (an output about to replace an input).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

// A multi-file output folder: files are written into dir() (a hidden staging sibling) and
// appear at final_dir() together on commit(), with the marker. Without commit() the staging
// folder is removed.
class OutputFolder {
public:
    // Checks the folder (check_output_folder) and creates the staging folder.
    OutputFolder(std::filesystem::path final_dir, bool overwrite, std::string option = "--out");
    ~OutputFolder();
    OutputFolder(const OutputFolder&) = delete;
    OutputFolder& operator=(const OutputFolder&) = delete;

    const std::filesystem::path& dir() const { return staging_; }
    const std::filesystem::path& final_dir() const { return final_; }
    // Writes the marker, checks the final folder again (it may have changed during the run) and
    // moves the output into place; a previous weipian output is removed file by file (only the
    // files its marker lists). Throws InputError and leaves the final folder as it was.
    void commit();

private:
    std::filesystem::path final_;
    std::filesystem::path staging_;
    bool overwrite_;
    std::string option_;
    bool committed_ = false;
};

// Removes a previous weipian output folder: the files its marker lists, the marker, then the
// folder when empty. Anything else in it stays. Returns false when `dir` is not one.
bool remove_previous_output(const std::filesystem::path& dir);

}  // namespace weipian
