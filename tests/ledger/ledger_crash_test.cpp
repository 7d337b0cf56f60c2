// Crash safety of the ledger: a feed or an import killed (SIGKILL) at any point leaves the
// ledger either as it was or fully updated, on both backends. The processes are killed inside
// their transaction (WEIPIAN_TEST_PAUSE_IN_TRANSACTION makes them wait there), and an import
// kills itself at chosen points (WEIPIAN_TEST_KILL_AT=import:<n>: after its n-th write; import:commit:
// just after the commit), so no test depends on timing. Both act through the crash tests' hook
// on the test points (tests/support/test_hooks.hpp): the child processes run weipian-test-hooks
// or install the hook themselves; the installed weipian has none.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/ledger.hpp"
#include "ledger/ledger_io.hpp"
#include "ledger/ledger_store.hpp"
#include "tests/ledger/ledger_test_support.hpp"
#include "tests/support/test_hooks.hpp"

namespace weipian {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using test::LedgerBackend;

constexpr const char* kPauseMarker = "weipian: test pause in ledger transaction";

// A child process whose stderr we read.
struct Child {
    pid_t pid = -1;
    int stderr_fd = -1;
};

// Starts weipian-test-hooks (the weipian commands with the crash tests' hook) with `args`; `pause_seconds` > 0 sets WEIPIAN_TEST_PAUSE_IN_TRANSACTION,
// a non-empty `kill_at` sets WEIPIAN_TEST_KILL_AT.
Child spawn_weipian(const std::vector<std::string>& args, double pause_seconds, const std::string& kill_at = "") {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    Child child;
    child.pid = ::fork();
    if (child.pid == 0) {
        ::dup2(fds[1], 2);
        ::close(fds[0]);
        ::close(fds[1]);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        if (pause_seconds > 0)
            ::setenv("WEIPIAN_TEST_PAUSE_IN_TRANSACTION", std::to_string(pause_seconds).c_str(), 1);
        else
            ::unsetenv("WEIPIAN_TEST_PAUSE_IN_TRANSACTION");
        if (!kill_at.empty())
            ::setenv("WEIPIAN_TEST_KILL_AT", kill_at.c_str(), 1);
        else
            ::unsetenv("WEIPIAN_TEST_KILL_AT");
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(WEIPIAN_HOOKED_BINARY));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(WEIPIAN_HOOKED_BINARY, argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    child.stderr_fd = fds[0];
    return child;
}

// Reads the child's stderr until `marker` shows (true) or it closes / times out (false).
bool wait_for_marker(const Child& child, const std::string& marker, double timeout_seconds, std::string& seen) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
    char buffer[4096];
    while (Clock::now() < deadline) {
        pollfd p{child.stderr_fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const ssize_t n = ::read(child.stderr_fd, buffer, sizeof buffer);
        if (n <= 0) return false;
        seen.append(buffer, static_cast<std::size_t>(n));
        if (seen.find(marker) != std::string::npos) return true;
    }
    return false;
}

// SIGKILL and reap; returns true when the child was still running (killed, not exited).
bool kill_child(Child& child) {
    ::kill(child.pid, SIGKILL);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    ::close(child.stderr_fd);
    return WIFSIGNALED(status);
}

// Waits for the child; true when SIGKILL ended it.
bool killed_itself(Child& child) {
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    ::close(child.stderr_fd);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

int finish_child(Child& child) {
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    ::close(child.stderr_fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<Parcel> grid_parcels(int n, const std::string& township = "稷峰镇", const std::string& code = "140824100",
                                 double offset = 0) {
    std::vector<Parcel> parcels;
    for (int i = 0; i < n; ++i)
        parcels.push_back(test::rectangle_parcel(offset + (i % 50) * 40.0, (i / 50) * 40.0, 20, 20, township, code));
    return parcels;
}

// The ledger's state in a few numbers, and its internal consistency.
struct Snapshot {
    std::size_t cases = 0, history = 0, runs = 0;
    std::map<CaseStatus, std::size_t> statuses;
};

class LedgerCrash : public test::LedgerFixture {
protected:
    Snapshot snapshot() {
        auto store = LedgerStore::open(location(), LedgerStore::Mode::Read);
        const auto cases = store->load_cases(false);
        const auto history = store->load_history();
        Snapshot s;
        s.cases = cases.size();
        s.history = history.size();
        s.runs = store->load_runs().size();
        std::map<std::string, CaseStatus> last;
        for (const auto& e : history) last[e.case_id] = e.to_status;
        for (const auto& c : cases) {
            ++s.statuses[c.status];
            EXPECT_EQ(last.at(c.case_id), c.status) << c.case_id << ": its status and its history disagree";
        }
        EXPECT_EQ(last.size(), cases.size()) << "history of cases that do not exist";
        if (GetParam() == LedgerBackend::GeoPackage) {
            // SQLite's own check, after the hot journal of the killed writer was rolled back.
            const char* drivers[] = {"GPKG", nullptr};
            GDALDatasetUniquePtr ds(GDALDataset::Open(location().c_str(), GDAL_OF_VECTOR, drivers, nullptr, nullptr));
            OGRLayer* result = ds->ExecuteSQL("PRAGMA integrity_check", nullptr, nullptr);
            EXPECT_TRUE(result);
            if (result) {
                OGRFeatureUniquePtr row(result->GetNextFeature());
                EXPECT_STREQ(row->GetFieldAsString(0), "ok");
                ds->ReleaseResultSet(result);
            }
        }
        return s;
    }

    // A CSV moving every case to `status` on `date`.
    fs::path sheet(const std::vector<std::string>& ids, const std::string& result, const std::string& status, const std::string& date) {
        const fs::path path = dir_ / ("sheet-" + std::to_string(sheets_++) + ".csv");
        std::string text = "图斑编号,核查结果,整改状态,日期\n";
        for (const auto& id : ids) text += id + "," + result + "," + status + "," + date + "\n";
        test::write_text(path, text);
        return path;
    }

    std::vector<std::string> seed(int n) {
        auto summary = feed_ledger(test::ledger_options(location()), grid_parcels(n), test::gk_zone_37(),
                                   test::jishan_context("2023-03-31", "seed"));
        return summary.new_case_ids;
    }

    std::vector<std::string> import_args(const fs::path& file) {
        return {"-q", "ledger", "import", file.string(), "--ledger", location(), "--who", "crash-test"};
    }

    int sheets_ = 0;
};

TEST_P(LedgerCrash, ImportKilledInsideItsTransactionLeavesTheLedgerAsItWas) {
    const auto ids = seed(400);
    const Snapshot before = snapshot();
    ASSERT_EQ(before.cases, 400u);
    const fs::path file = sheet(ids, "违法", "整改中", "2023-05-01");

    Child child = spawn_weipian(import_args(file), 60);
    std::string seen;
    ASSERT_TRUE(wait_for_marker(child, kPauseMarker, 60, seen)) << seen;
    // Half the rows are written, uncommitted; the process dies now.
    ASSERT_TRUE(kill_child(child));
    const Snapshot after_kill = snapshot();
    EXPECT_EQ(after_kill.cases, 400u);
    EXPECT_EQ(after_kill.history, before.history);
    EXPECT_EQ(after_kill.statuses.at(CaseStatus::ToVerify), 400u);

    // The same import again, undisturbed, applies everything.
    Child again = spawn_weipian(import_args(file), 0);
    EXPECT_EQ(finish_child(again), 0);
    const Snapshot done = snapshot();
    EXPECT_EQ(done.statuses.at(CaseStatus::Rectifying), 400u);
    EXPECT_EQ(done.history, before.history + 800u);
}

TEST_P(LedgerCrash, FeedKilledInsideItsTransactionLeavesTheLedgerAsItWas) {
    seed(100);
    const Snapshot before = snapshot();
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], 2);
        test::install_crash_test_hook();
        ::setenv("WEIPIAN_TEST_PAUSE_IN_TRANSACTION", "60", 1);
        try {
            feed_ledger(test::ledger_options(location()), grid_parcels(300, "化峪镇", "140824101", 5000), test::gk_zone_37(),
                        test::jishan_context("2023-06-30", "killed"));
        } catch (...) {
            ::_exit(3);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    Child child{pid, fds[0]};
    std::string seen;
    ASSERT_TRUE(wait_for_marker(child, kPauseMarker, 60, seen)) << seen;
    ASSERT_TRUE(kill_child(child));
    const Snapshot after_kill = snapshot();
    EXPECT_EQ(after_kill.cases, before.cases);
    EXPECT_EQ(after_kill.history, before.history);
    EXPECT_EQ(after_kill.runs, before.runs);

    const auto summary = feed_ledger(test::ledger_options(location()), grid_parcels(300, "化峪镇", "140824101", 5000),
                                     test::gk_zone_37(), test::jishan_context("2023-06-30", "again"));
    EXPECT_EQ(summary.new_cases, 300);
    EXPECT_EQ(summary.new_case_ids.front(), "140824-2023-0101");  // numbering unaffected by the killed run
    const Snapshot done = snapshot();
    EXPECT_EQ(done.cases, 400u);
    EXPECT_EQ(done.runs, 2u);
}

TEST_P(LedgerCrash, ImportKilledAtAnyPointIsAllOrNothing) {
    const int n = 300;
    const auto ids = seed(n);
    ASSERT_EQ(import_verification(location(), [&] {
                  std::vector<ImportRow> rows;
                  for (const auto& id : ids) {
                      ImportRow r;
                      r.where = "seed";
                      r.case_id = id;
                      r.result = "违法";
                      r.rectification = "整改中";
                      r.date = "2023-04-01";
                      rows.push_back(r);
                  }
                  return rows;
              }(),
                                   {"seed", "2030-01-01", "seed"})
                  .applied,
              static_cast<std::size_t>(n));
    Snapshot state = snapshot();
    CaseStatus current = CaseStatus::Rectifying;
    std::size_t history = state.history;

    // 已整改 ↔ 整改中 (rectified, found inadequate, rectified again, …): each import moves all
    // cases, writing n cases and n history entries (2n writes) in one transaction. The process
    // kills itself right after the transaction began (0), after the first writes, around the
    // switch from cases to history, after the last write before the commit (2n), and just after
    // the commit; only the last may change the ledger, and then completely.
    const std::vector<std::string> points = {"0", "1", "2", "299", "300", "301", "599", "600", "commit", "1", "commit"};
    for (std::size_t round = 0; round < points.size(); ++round) {
        const CaseStatus target = current == CaseStatus::Rectifying ? CaseStatus::Rectified : CaseStatus::Rectifying;
        char date[16];
        std::snprintf(date, sizeof date, "2023-05-%02d", static_cast<int>(round) + 1);
        const fs::path file = sheet(ids, "", status_label(target), date);
        Child child = spawn_weipian(import_args(file), 0, "import:" + points[round]);
        ASSERT_TRUE(killed_itself(child)) << "round " << round << ": the import was not killed at " << points[round];
        const Snapshot s = snapshot();
        ASSERT_EQ(s.cases, static_cast<std::size_t>(n));
        ASSERT_EQ(s.statuses.size(), 1u) << "round " << round << ": the cases are in different statuses";
        if (points[round] == "commit") {
            history += static_cast<std::size_t>(n);
            current = target;
        }
        EXPECT_EQ(s.statuses.begin()->first, current) << "round " << round << ", killed at " << points[round];
        ASSERT_EQ(s.history, history) << "round " << round << ", killed at " << points[round];
    }
    // Undisturbed, the same kind of import completes.
    const CaseStatus target = current == CaseStatus::Rectifying ? CaseStatus::Rectified : CaseStatus::Rectifying;
    Child child = spawn_weipian(import_args(sheet(ids, "", status_label(target), "2023-06-01")), 0);
    ASSERT_EQ(finish_child(child), 0);
    const Snapshot done = snapshot();
    EXPECT_EQ(done.statuses.at(target), static_cast<std::size_t>(n));
    EXPECT_EQ(done.history, history + static_cast<std::size_t>(n));
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerCrash, ::testing::Values(LedgerBackend::GeoPackage, LedgerBackend::PostgreSQL),
                         test::backend_name);

}  // namespace
}  // namespace weipian
