#!/usr/bin/env bash
# Set-up command 1: installs what is missing, builds, and runs the main job on sample_tiles/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
# --overwrite: a rerun replaces the previous output in out/sample/ (never files weipian did not write)
build/app/weipian run --config configs/sample.yaml --overwrite
echo "outputs: $(pwd)/out/sample/ (index.html to look at first, with chips/ and cards/; parcels.gpkg, parcels.kmz, townships.csv, summary.txt, run.json)"
