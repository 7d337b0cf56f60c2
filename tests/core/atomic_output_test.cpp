// The one atomic-output helper (pipeline/atomic_output.hpp): a file, a set of files and an
// output folder appear whole or not at all, no temporary is left behind, and nothing weipian
// did not write is removed or replaced.
#include "pipeline/core/atomic_output.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/core/errors.hpp"
#include "tests/support/full_disk.hpp"
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

// Subfolders of an output (chips/, cards/ of the verification package): listed file by file,
// replaced with the output, and a file added to them by hand keeps the folder.
TEST(OutputFolderTest, SubfoldersAreListedReplacedAndGuardedFileByFile) {
    TempDir temp;
    {
        OutputFolder out(temp / "out", false);
        write_text(out.dir() / "index.html", "<html>");
        fs::create_directories(out.dir() / "cards");
        write_text(out.dir() / "cards" / "140824100.html", "card");
        fs::create_directories(out.dir() / "chips" / "deep");
        write_text(out.dir() / "chips" / "deep" / "1_qsx.jpg", "jpeg");
        out.commit();
    }
    const auto marker = nlohmann::json::parse(read_text(temp / "out" / ".weipian-output"));
    EXPECT_EQ(marker["files"], nlohmann::json::parse(R"([{"name":"cards/140824100.html","bytes":4},)"
                                                     R"({"name":"chips/deep/1_qsx.jpg","bytes":4},{"name":"index.html","bytes":6}])"));
    EXPECT_EQ(inspect_output_folder(temp / "out").kind, OutputFolderState::Kind::PreviousOutput);
    // Replaced with --overwrite: the new output has no chips/.
    write_output(temp / "out", true, {{"index.html", "second"}});
    EXPECT_EQ(entries(temp / "out"), (std::vector<std::string>{".weipian-output", "index.html"}));
    // A file added by hand under cards/ makes the folder foreign, and it survives.
    {
        OutputFolder out(temp / "out", true);
        fs::create_directories(out.dir() / "cards");
        write_text(out.dir() / "cards" / "a.html", "card");
        out.commit();
    }
    write_text(temp / "out" / "cards" / "notes.txt", "外业记录");
    EXPECT_NE(input_error([&] { OutputFolder out(temp / "out", true); }).find("(cards/notes.txt)"), std::string::npos);
    write_text(temp / "out" / "cards" / "a.html", "edited");
    EXPECT_NE(input_error([&] { OutputFolder out(temp / "out", true); }).find("cards/a.html (changed since weipian wrote it)"),
              std::string::npos);
    EXPECT_EQ(read_text(temp / "out" / "cards" / "notes.txt"), "外业记录");
    // remove_previous_output on a clean one removes its subfolders, and only what it lists.
    fs::remove(temp / "out" / "cards" / "notes.txt");
    write_text(temp / "out" / "cards" / "a.html", "card");
    EXPECT_TRUE(remove_previous_output(temp / "out"));
    EXPECT_FALSE(fs::exists(temp / "out"));
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

// ---- messages of the refusals and failures not covered above ---------------------------------

// A file name longer than a file system allows (255 bytes): the way to make a folder or a
// rename fail that works as root too.
std::string name_of_length(std::size_t n) { return std::string(n, 'n'); }

TEST(AtomicOutputMessages, AFolderThatCannotBeCreatedNamesItAndTheCause) {
    TempDir temp;
    const fs::path folder = temp / name_of_length(300);
    const std::string message = input_error([&] { AtomicFile file(folder / "r.txt", "report"); });
    EXPECT_EQ(message.rfind("report: cannot create the folder '" + folder.string() + "' (", 0), 0u) << message;
    EXPECT_NE(message.find("); check the path and that its parent is writable"), std::string::npos) << message;
}

TEST(AtomicOutputMessages, AFolderWithoutWritePermissionNamesIt) {
    // /proc/1 exists and nobody, root included, may create files in it.
    if (::access("/proc/1", W_OK) == 0) GTEST_SKIP() << "/proc/1 is writable here";
    const std::string message = input_error([&] { AtomicFile file("/proc/1/mask.tif", "detect"); });
    EXPECT_EQ(message.rfind("detect: cannot write in the folder '/proc/1' (", 0), 0u) << message;
    EXPECT_NE(message.find("); choose a writable folder or fix its permissions"), std::string::npos) << message;
}

TEST(AtomicOutputMessages, APathEndingInASeparatorIsRefusedAsAFolder) {
    TempDir temp;
    const std::string given = (temp / "masks").string() + "/";
    const std::string message = input_error([&] { AtomicFile file(given, "detect"); });
    EXPECT_EQ(message, "detect: '" + given + "' names a folder, not a file; give a file path");
    EXPECT_FALSE(fs::exists(temp / "masks"));
}

TEST(AtomicOutputMessages, ANamedPipeAtThePathIsNotReplaced) {
    TempDir temp;
    const fs::path fifo = temp / "parcels.gpkg";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string message = input_error([&] { AtomicFile file(fifo, "polygonize"); });
    EXPECT_EQ(message, "polygonize: '" + fifo.string() + "' is not a regular file; give another file path");
    EXPECT_TRUE(fs::is_fifo(fifo));
}

TEST(AtomicOutputMessages, CommittingWhatWasNeverWrittenSaysSo) {
    TempDir temp;
    AtomicFile file(temp / "report.txt", "report");
    EXPECT_EQ(input_error([&] { file.commit(); }),
              "report: nothing was written for '" + (temp / "report.txt").string() + "'; check that its folder is writable");
    EXPECT_FALSE(fs::exists(temp / "report.txt"));
}

TEST(AtomicOutputMessages, ARenameThatFailsNamesTheFinalFileAndTheCause) {
    TempDir temp;
    write_text(temp / "report.txt", "old");
    AtomicFile file(temp / "report.txt", "report");
    fs::create_directory(file.path());  // a folder cannot replace a file: rename(2) fails (ENOTDIR)
    const std::string message = input_error([&] { file.commit(); });
    EXPECT_EQ(message.rfind("report: cannot move the finished file into '" + (temp / "report.txt").string() + "' (", 0), 0u)
        << message;
    EXPECT_NE(message.find("); check that its folder is writable"), std::string::npos) << message;
    EXPECT_EQ(read_text(temp / "report.txt"), "old");
}

TEST(AtomicOutputMessages, CommitUnlessExistsReportsAFailedRename) {
    TempDir temp;
    AtomicFile file(temp / "ledger.gpkg", "ledger");  // nothing written: the rename fails (ENOENT)
    const std::string message = input_error([&] { file.commit_unless_exists(); });
    EXPECT_EQ(message.rfind("ledger: cannot move the finished file into '" + (temp / "ledger.gpkg").string() + "' (", 0), 0u)
        << message;
    EXPECT_FALSE(fs::exists(temp / "ledger.gpkg"));
}

TEST(AtomicOutputMessages, AFileSetWhoseStagingFolderCannotBeCreatedNamesTheFolder) {
    TempDir temp;
    const std::string name = name_of_length(250) + ".shp";  // fits; its staging name does not
    const std::string message = input_error([&] { AtomicFileSet set(temp.path(), name, "export"); });
    EXPECT_EQ(message.rfind("export: cannot create a staging folder in '" + temp.path().string() + "' (", 0), 0u) << message;
    EXPECT_EQ(entries(temp.path()), std::vector<std::string>{});
}

TEST(AtomicOutputMessages, AFileSetThatCannotMoveAFileNamesIt) {
    TempDir temp;
    write_text(temp / "cases.dbf", "a file of the same name");
    AtomicFileSet set(temp.path(), "cases.shp", "export");
    fs::create_directory(set.dir() / "cases.dbf");  // a folder cannot replace that file
    const std::string message = input_error([&] { set.commit(".shp"); });
    EXPECT_EQ(message.rfind("export: cannot move cases.dbf into '" + temp.path().string() + "' (", 0), 0u) << message;
    EXPECT_EQ(read_text(temp / "cases.dbf"), "a file of the same name");
}

TEST(AtomicOutputMessages, TheCurrentFolderCannotBeAnOutputFolder) {
    for (const std::string given : {".", "..", "./"}) {
        const std::string message = input_error([&] { OutputFolder out(given, true); });
        EXPECT_NE(message.find("' cannot be an output folder (weipian replaces it as a whole); give --out a new folder"),
                  std::string::npos)
            << given << ": " << message;
    }
}

TEST(AtomicOutputMessages, AFullDiskWhenWritingTheMarkerLeavesNoOutput) {
    TempDir temp;
    {
        OutputFolder out(temp / "out", false);
        write_text(out.dir() / "summary.txt", "written before the disk filled");
        const auto thrown = test::on_full_disk(0, [&] { out.commit(); });
        EXPECT_EQ(thrown.exit_code, 3);
        EXPECT_EQ(thrown.message.rfind("output: cannot write '" + (out.dir() / ".weipian-output").string() + "'", 0), 0u)
            << thrown.message;
        EXPECT_NE(thrown.message.find("; check free space on the output disk"), std::string::npos) << thrown.message;
    }
    EXPECT_EQ(entries(temp.path()), std::vector<std::string>{});
}

TEST(AtomicOutputMessages, AFileWrittenStraightIntoAStagingFolderNamesItWhenTheDiskIsFull) {
    TempDir temp;
    const fs::path chip = temp / "chips" / "1_hsx.jpg";
    fs::create_directories(chip.parent_path());
    write_file_in_staging(chip, "first", "chips");
    EXPECT_EQ(test::read_text(chip), "first");
    write_file_in_staging(chip, "second", "chips");  // replaced in place: the folder is the staging
    EXPECT_EQ(test::read_text(chip), "second");
    const auto thrown = test::on_full_disk(4, [&] { write_file_in_staging(temp / "chips" / "2_hsx.jpg", std::string(64, 'x'), "chips"); });
    EXPECT_EQ(thrown.exit_code, 3);
    EXPECT_EQ(thrown.message,
              "chips: cannot write '" + (temp / "chips" / "2_hsx.jpg").string() + "'; check free space and that its folder is writable");
}

TEST(AtomicOutputMessages, APreviousOutputThatCannotBeMovedAsideIsKept) {
    TempDir temp;
    // The name of the final folder is such that its staging sibling (".<name>.partial-<pid>")
    // is 255 bytes, the longest a name may be; the sibling the previous output is moved to
    // (the same and ".old") is longer, so that rename fails.
    const std::string name = name_of_length(255 - std::string(".").size() - std::string(".partial-").size() - pid.size());
    const fs::path final_dir = temp / name;
    write_output(final_dir, false, {{"summary.txt", "first"}});
    {
        OutputFolder out(final_dir, true);
        write_text(out.dir() / "summary.txt", "second");
        const std::string message = input_error([&] { out.commit(); });
        EXPECT_EQ(message.rfind("output: cannot move the previous output '" + final_dir.string() + "' aside (", 0), 0u)
            << message;
        EXPECT_NE(message.find("); check that its parent folder is writable"), std::string::npos) << message;
    }
    EXPECT_EQ(read_text(final_dir / "summary.txt"), "first");
    EXPECT_EQ(entries(temp.path()), std::vector<std::string>{name});
}

}  // namespace
}  // namespace weipian
