#!/usr/bin/env bash
# Configures and builds weipian. Prints nothing on success but the build log tail.
#   scripts/build.sh             Release build in build/ (log in build.log)
#   scripts/build.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#                                (RelWithDebInfo at -O1, assertions on, no benchmarks; log in build-asan.log)
# The two folders share no object files; ccache, when installed, serves both.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
args=(-DCMAKE_BUILD_TYPE=Release)
case "${1:-}" in
  "") ;;
  --sanitize)
    dir=build-asan
    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g"
          -DWEIPIAN_SANITIZE=ON -DWEIPIAN_BUILD_BENCH=OFF) ;;
  *) echo "usage: scripts/build.sh [--sanitize]" >&2; exit 2 ;;
esac
command -v ccache >/dev/null && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
log="$dir.log"
cmake -S . -B "$dir" "${args[@]}" >"$log" 2>&1 || { tail -50 "$log"; exit 1; }
cmake --build "$dir" -j"$(nproc)" >>"$log" 2>&1 || { grep -E "error|Error" "$log" | head -40; tail -20 "$log"; exit 1; }
