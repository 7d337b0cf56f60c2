// The one atomic-output helper (pipeline/atomic_output.hpp): a file, a set of files and an
// output folder appear whole or not at all, no temporary is left behind, and nothing weipian
// did not write is removed or replaced.
#include "pipeline/core/atomic_output.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/core/errors.hpp"
#include "tests/support/test_support.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::TempDir;
using test::write_text;

// Names in `dir`, sorted, hidden ones included.
std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// What an InputError says, or "" when `f` does not throw one.
template <typename F>
std::string input_error(F&& f) {
    try {
        f();
    } catch (const InputError& e) {
        EXPECT_EQ(e.exit_code(), 3);
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        return e.what();
    }
    return "";
}

const std::string pid = std::to_string(::getpid());

// ---- AtomicFile ----------------------------------------------------------------------------

TEST(AtomicFileTest, TemporaryIsAHiddenSiblingKeepingTheExtension) {
    TempDir temp;
    AtomicFile file(temp / "cases.gpkg", "export");
    EXPECT_EQ(file.path(), temp.path() / (".cases.gpkg.partial-" + pid + ".gpkg"));
    EXPECT_EQ(file.final_path(), temp.path() / "cases.gpkg");
}

TEST(AtomicFileTest, CommitReplacesThePreviousFileOnlyWhenComplete) {
    TempDir temp;
    write_text(temp / "report.txt", "old");
    {
        AtomicFile file(temp / "report.txt", "report");
        write_text(file.path(), "new");
        EXPECT_EQ(read_text(temp / "report.txt"), "old");  // untouched until commit
        file.commit();
    }
    EXPECT_EQ(read_text(temp / "report.txt"), "new");
    EXPECT_EQ(entries(temp.path()), std::vector<std::string>{"report.txt"});
}

TEST(AtomicFileTest, AFailureMidWriteLeavesNothingBehind) {
    TempDir temp;
    write_text(temp / "report.txt", "old");
    EXPECT_THROW(
        {
            AtomicFile file(temp / "report.txt", "report");
            write_text(file.path(), "half");
            write_text(file.path().string() + "-journal", "GDAL's sidecar");
            throw std::runtime_error("disk full");
        },
        std::runtime_error);
    EXPECT_EQ(read_text(temp / "report.txt"), "old");
    EXPECT_EQ(entries(temp.path()), std::vector<std::string>{"report.txt"});  // no .partial-, no -journal
}

TEST(AtomicFileTest, AFolderWhereTheFileShouldBeIsRefusedWithItsPath) {
    TempDir temp;
    fs::create_directories(temp / "mask.tif");
    write_text(temp / "mask.tif" / "notes.txt", "mine");
    const std::string message = input_error([&] { AtomicFile file(temp / "mask.tif", "detect"); });
    EXPECT_EQ(message, "detect: '" + (temp / "mask.tif").string() +
                           "' is a folder, not a file; give a file path (weipian never replaces a folder)");
    EXPECT_EQ(read_text(temp / "mask.tif" / "notes.txt"), "mine");
}

TEST(AtomicFileTest, AFolderThatCannotBeCreatedIsRefusedWithItsPath) {
    TempDir temp;
    write_text(temp / "plain", "a file, not a folder");
    const std::string message = input_error([&] { write_file_atomically(temp / "plain" / "sub" / "r.txt", "x", "report"); });
    EXPECT_EQ(message, "report: '" + (temp / "plain").string() + "' is a file, not a folder; give a path in a folder")
        << message;
    EXPECT_EQ(read_text(temp / "plain"), "a file, not a folder");
}

TEST(AtomicFileTest, CopyExistingStartsFromThePreviousFile) {
    TempDir temp;
    write_text(temp / "p.gpkg", "previous layers");
    AtomicFile::Options options;
    options.copy_existing = true;
    AtomicFile file(temp / "p.gpkg", "polygonize", options);
    EXPECT_TRUE(file.copied_existing());
    EXPECT_EQ(read_text(file.path()), "previous layers");
}

TEST(AtomicFileTest, CommitUnlessExistsKeepsAFileThatAppearedMeanwhile) {
    TempDir temp;
    AtomicFile file(temp / "ledger.gpkg", "ledger");
    write_text(file.path(), "mine");
    write_text(temp / "ledger.gpkg", "another process's");
    EXPECT_FALSE(file.commit_unless_exists());
    EXPECT_EQ(read_text(temp / "ledger.gpkg"), "another process's");
}

// ---- AtomicFileSet -------------------------------------------------------------------------

TEST(AtomicFileSetTest, TheFilesAppearTogetherOrNotAtAll) {
    TempDir temp;
    EXPECT_THROW(
        {
            AtomicFileSet set(temp.path(), "cases.shp", "export");
            write_text(set.dir() / "cases.dbf", "dbf");
            throw std::runtime_error("GDAL failed");
        },
        std::runtime_error);
    EXPECT_TRUE(entries(temp.path()).empty());
    {
        AtomicFileSet set(temp.path(), "cases.shp", "export");
        EXPECT_EQ(set.dir(), temp.path() / (".cases.shp.partial-" + pid + ".d"));
        for (const char* name : {"cases.shp", "cases.shx", "cases.dbf", "cases.prj", "cases.cpg"}) write_text(set.dir() / name, name);
        set.commit(".shp");
    }
    EXPECT_EQ(entries(temp.path()), (std::vector<std::string>{"cases.cpg", "cases.dbf", "cases.prj", "cases.shp", "cases.shx"}));
    EXPECT_EQ(read_text(temp / "cases.dbf"), "cases.dbf");
}

// ---- output folders ------------------------------------------------------------------------

// A committed output with `files` (name → content) in `dir`.
void write_output(const fs::path& dir, bool overwrite, const std::vector<std::pair<std::string, std::string>>& files) {
    OutputFolder out(dir, overwrite);
    for (const auto& [name, text] : files) write_text(out.dir() / name, text);
    out.commit();
}

TEST(OutputFolderTest, CommitWritesTheMarkerListingTheFiles) {
    TempDir temp;
    write_output(temp / "out", false, {{"summary.txt", "12345"}, {"run.json", "{}"}});
    EXPECT_EQ(entries(temp / "out"), (std::vector<std::string>{".weipian-output", "run.json", "summary.txt"}));
    const auto marker = nlohmann::json::parse(read_text(temp / "out" / ".weipian-output"));
    EXPECT_EQ(marker["weipian"], WEIPIAN_VERSION);
    EXPECT_EQ(marker["files"], nlohmann::json::parse(R"([{"name":"run.json","bytes":2},{"name":"summary.txt","bytes":5}])"));
    EXPECT_EQ(entries(temp.path()), std::vector<std::string>{"out"});  // no staging folder left
    EXPECT_EQ(inspect_output_folder(temp / "out").kind, OutputFolderState::Kind::PreviousOutput);
}

TEST(OutputFolderTest, WithoutCommitNothingIsLeftBehind) {
    TempDir temp;
    EXPECT_THROW(
        {
            OutputFolder out(temp / "out", false);
            EXPECT_EQ(out.dir(), temp.path() / (".out.partial-" + pid));
            write_text(out.dir() / "summary.txt", "half");
            throw std::runtime_error("disk full");
        },
        std::runtime_error);
    EXPECT_TRUE(entries(temp.path()).empty());
}

TEST(OutputFolderTest, AFolderWithForeignFilesIsRefusedAndKeptByteForByte) {
    TempDir temp;
    fs::create_directories(temp / "out" / "fieldwork");
    write_text(temp / "out" / "fieldwork" / "notes.txt", "村东 3 宗已核查");
    const std::string message = input_error([&] { OutputFolder out(temp / "out", true); });
    EXPECT_EQ(message, "output: '" + (temp / "out").string() +
                           "' holds files weipian did not write (fieldwork); weipian never deletes them: give --out a new "
                           "or empty folder, or move them out");
    EXPECT_EQ(read_text(temp / "out" / "fieldwork" / "notes.txt"), "村东 3 宗已核查");
    EXPECT_EQ(entries(temp.path()), std::vector<std::string>{"out"});
}

TEST(OutputFolderTest, AFileAtTheFolderPathIsRefused) {
    TempDir temp;
    write_text(temp / "out", "my report");
    const std::string message = input_error([&] { OutputFolder out(temp / "out", true); });
    EXPECT_NE(message.find("'" + (temp / "out").string() + "' exists and is not a folder"), std::string::npos) << message;
    EXPECT_EQ(read_text(temp / "out"), "my report");
}

TEST(OutputFolderTest, APreviousOutputIsReplacedOnlyWithOverwrite) {
    TempDir temp;
    write_output(temp / "out", false, {{"summary.txt", "first"}, {"old-only.txt", "x"}});
    const std::string message = input_error([&] { OutputFolder out(temp / "out", false); });
    EXPECT_EQ(message, "output: '" + (temp / "out").string() +
                           "' holds a previous weipian output; pass --overwrite to replace it, or give --out another folder");
    EXPECT_EQ(read_text(temp / "out" / "summary.txt"), "first");
    write_output(temp / "out", true, {{"summary.txt", "second"}});
    EXPECT_EQ(entries(temp / "out"), (std::vector<std::string>{".weipian-output", "summary.txt"}));
    EXPECT_EQ(read_text(temp / "out" / "summary.txt"), "second");
    EXPECT_EQ(entries(temp.path()), std::vector<std::string>{"out"});  // no .partial- or .old folder left
}

TEST(OutputFolderTest, APreviousOutputWithAnAddedOrChangedFileIsNotReplaced) {
    TempDir temp;
    write_output(temp / "out", false, {{"summary.txt", "first"}});
    write_text(temp / "out" / "notes.txt", "added by hand");
    EXPECT_NE(input_error([&] { OutputFolder out(temp / "out", true); }).find("(notes.txt)"), std::string::npos);
    fs::remove(temp / "out" / "notes.txt");
    write_text(temp / "out" / "summary.txt", "edited by hand");
    EXPECT_NE(input_error([&] { OutputFolder out(temp / "out", true); }).find("summary.txt (changed since weipian wrote it)"),
              std::string::npos);
    EXPECT_EQ(read_text(temp / "out" / "summary.txt"), "edited by hand");
}

TEST(OutputFolderTest, AFileThatAppearsDuringTheRunStopsTheCommit) {
    TempDir temp;
    write_output(temp / "out", false, {{"summary.txt", "first"}});
    {
        OutputFolder out(temp / "out", true);
        write_text(out.dir() / "summary.txt", "second");
        write_text(temp / "out" / "notes.txt", "written while the run was going");
        EXPECT_NE(input_error([&] { out.commit(); }).find("(notes.txt)"), std::string::npos);
    }
    EXPECT_EQ(read_text(temp / "out" / "notes.txt"), "written while the run was going");
    EXPECT_EQ(read_text(temp / "out" / "summary.txt"), "first");
    EXPECT_EQ(entries(temp.path()), std::vector<std::string>{"out"});
}

TEST(OutputFolderTest, AnEmptyFolderReceivesTheOutput) {
    TempDir temp;
    fs::create_directories(temp / "out");
    write_output(temp / "out", false, {{"summary.txt", "first"}});
    EXPECT_EQ(read_text(temp / "out" / "summary.txt"), "first");
}

TEST(OutputFolderTest, RemovePreviousOutputRemovesOnlyWhatTheMarkerLists) {
    TempDir temp;
    write_output(temp / "out", false, {{"summary.txt", "first"}});
    EXPECT_TRUE(remove_previous_output(temp / "out"));
    EXPECT_FALSE(fs::exists(temp / "out"));
    fs::create_directories(temp / "mine");
    write_text(temp / "mine" / "notes.txt", "x");
    EXPECT_FALSE(remove_previous_output(temp / "mine"));
    EXPECT_EQ(read_text(temp / "mine" / "notes.txt"), "x");
}

TEST(OutputFolderTest, InsideComparesWholePathComponents) {
    TempDir temp;
    fs::create_directories(temp / "a" / "b");
    EXPECT_TRUE(is_inside(temp / "a", temp / "a" / "b" / "t.tif"));
    EXPECT_TRUE(is_inside(temp / "a" / "", temp / "a"));
    EXPECT_TRUE(is_inside(temp / "a", temp / "a" / "b" / ".." / "t.tif"));
    EXPECT_FALSE(is_inside(temp / "a", temp / "ab" / "t.tif"));
    EXPECT_FALSE(is_inside(temp / "a" / "b", temp / "a" / "b" / ".." / "t.tif"));
    fs::create_directory_symlink(temp / "a", temp / "link");
    EXPECT_TRUE(is_inside(temp / "link", temp / "a" / "b"));
    const std::string message = input_error([&] { refuse_inside_output(temp / "a", temp / "a" / "t.tif", "input tile (before)"); });
    EXPECT_EQ(message, "output: the input tile (before) '" + (temp / "a" / "t.tif").string() + "' lies inside the output folder '" +
                           (temp / "a").string() +
                           "'; weipian replaces that folder as a whole: choose an output folder that holds none of the inputs");
}

}  // namespace
}  // namespace weipian
