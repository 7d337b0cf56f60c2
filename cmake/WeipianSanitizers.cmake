# AddressSanitizer + UndefinedBehaviorSanitizer build (scripts/test.sh --sanitize configures it
# in its own folder, build-asan/, so no object is shared with the normal build).
# Applies to every target defined after this file is included: kernels, pipeline, app, tests.
option(WEIPIAN_SANITIZE "Build with -fsanitize=address,undefined (a second build folder)" OFF)
if(WEIPIAN_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "WEIPIAN_SANITIZE needs GCC or Clang (have ${CMAKE_CXX_COMPILER_ID})")
  endif()
  set(WEIPIAN_SANITIZE_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer)
  add_compile_options(${WEIPIAN_SANITIZE_FLAGS})
  add_link_options(${WEIPIAN_SANITIZE_FLAGS})
  message(STATUS "Sanitizers: address, undefined")
endif()
