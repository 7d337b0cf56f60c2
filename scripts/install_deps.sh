#!/usr/bin/env bash
# Installs the Debian 12 packages weipian builds and runs with, only those missing.
# Needs root (or sudo) and Debian's package registry; downloads nothing else.
# PostgreSQL with PostGIS is for the case ledger's tests (scripts/test.sh starts a private
# cluster) and for counties that keep their ledger in PostgreSQL.
# Chromium and a CJK font are for the browser check of the verification package's index.html
# (scripts/check_html.sh, run by the tests; skipped where Chromium is absent).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libgdal-dev gdal-bin python3-gdal python3-numpy
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libtbb-dev libproj-dev libyaml-cpp-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
  libsqlite3-dev libgtest-dev libbenchmark-dev
  libxlsxwriter-dev libssl-dev
  libxgboost-dev
  postgresql postgresql-15-postgis-3
  chromium fonts-wqy-microhei
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "weipian: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
