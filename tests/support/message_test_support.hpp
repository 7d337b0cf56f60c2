#pragma once
// Helpers for the *_messages_test.cpp files: each user-facing error is triggered and its message
// asserted by a substring naming the file, key or value (scripts/check_messages.py checks that
// every message has such a test).
#include <gtest/gtest.h>

#include <string>

// EXPECT_CONTAINS(text, fragment): `fragment` occurs in `text` (both printed when it does not).
#define EXPECT_CONTAINS(text, fragment) EXPECT_PRED_FORMAT2(::testing::IsSubstring, fragment, text)

namespace weipian::test {

// The message of the `E` that `f` throws; "(no exception)" when it throws none (any other
// exception type escapes and fails the test).
template <typename E, typename F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(no exception)";
}

}  // namespace weipian::test
