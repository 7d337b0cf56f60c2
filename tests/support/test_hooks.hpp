#pragma once
// The crash tests' hook for the test points of pipeline/core/test_point.hpp, driven by the
// environment (read at each point, so a forked child may set it after installing):
//   WEIPIAN_TEST_KILL_AT=<point>              SIGKILL (as kill -9) at that point, e.g.
//                                             nightly:summary, import:3, import:commit
//   WEIPIAN_TEST_PAUSE_IN_TRANSACTION=<s>     at every "transaction:<where>" point, prints
//                                             "weipian: test pause in ledger transaction (<where>)"
//                                             to stderr and sleeps s seconds
// Installed by the test executable weipian-test-hooks (test_hooks_main.cpp, before main) and
// by tests that fork a child running ledger code in-process.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "pipeline/core/test_point.hpp"

namespace weipian::test {

inline void crash_test_hook(const char* point) {
    const char* kill_at = std::getenv("WEIPIAN_TEST_KILL_AT");
    if (kill_at && std::strcmp(kill_at, point) == 0) std::raise(SIGKILL);
    constexpr const char* kTransaction = "transaction:";
    if (std::strncmp(point, kTransaction, std::strlen(kTransaction)) != 0) return;
    const char* pause = std::getenv("WEIPIAN_TEST_PAUSE_IN_TRANSACTION");
    const double seconds = pause ? std::atof(pause) : 0;
    if (!(seconds > 0)) return;
    std::fprintf(stderr, "weipian: test pause in ledger transaction (%s)\n", point + std::strlen(kTransaction));
    std::fflush(stderr);
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

inline void install_crash_test_hook() { set_test_point_hook(&crash_test_hook); }

}  // namespace weipian::test
