#pragma once
// Test seam: named points inside long operations, where crash-safety tests kill or pause the
// process. Points: "nightly:begun", "nightly:select", "nightly:run", "nightly:summary",
// "nightly:done" (pipeline/nightly.cpp); "import:0" … "import:<n>" after the import's n-th
// write and "import:commit" (ledger/ledger_import.cpp); "transaction:feed",
// "transaction:import", "transaction:import-leads", "transaction:rectify" half-way through a
// ledger transaction (ledger/ledger_store.hpp).
//
// No hook is set in the installed `weipian`: test_point does nothing there. The test-only
// executable weipian-test-hooks and the crash tests' child processes set one
// (tests/support/test_hooks.hpp), driven by WEIPIAN_TEST_KILL_AT and
// WEIPIAN_TEST_PAUSE_IN_TRANSACTION.

namespace weipian {

using TestPointHook = void (*)(const char* point);

// Sets the process-wide hook (null: none). Thread-safe.
void set_test_point_hook(TestPointHook hook);

// Calls the hook with `point` when one is set.
void test_point(const char* point);

}  // namespace weipian
