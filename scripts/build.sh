#!/usr/bin/env bash
# Configures and builds weipian (Release) into build/. Prints nothing on success but the build log tail.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >build.log 2>&1 || { tail -50 build.log; exit 1; }
cmake --build build -j"$(nproc)" >>build.log 2>&1 || { grep -E "error|Error" build.log | head -40; tail -20 build.log; exit 1; }
