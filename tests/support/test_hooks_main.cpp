// Linked into weipian-test-hooks only (tests/CMakeLists.txt): the weipian commands (app/, the
// same objects as the installed executable) with the crash tests' hook installed before main()
// runs, by this file's static initialiser (tests/support/test_hooks.hpp).
#include "tests/support/test_hooks.hpp"

namespace {

const bool installed = [] {
    weipian::test::install_crash_test_hook();
    return true;
}();

}  // namespace
