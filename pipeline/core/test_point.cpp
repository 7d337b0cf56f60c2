#include "pipeline/core/test_point.hpp"

#include <atomic>

namespace weipian {

namespace {
std::atomic<TestPointHook> g_hook{nullptr};
}  // namespace

void set_test_point_hook(TestPointHook hook) { g_hook.store(hook); }

void test_point(const char* point) {
    if (const TestPointHook hook = g_hook.load()) hook(point);
}

}  // namespace weipian
