#!/usr/bin/env bash
# Builds the Debian package (cpack in build/) and checks that it installs, runs and goes away.
#   scripts/test_package.sh           on this machine: `apt-get install ./weipian_<v>_amd64.deb`,
#                                     `weipian --version`, the installed sample run from an unrelated
#                                     folder as an unprivileged user (15 parcels, 26.78 亩), then purges
#                                     weipian and every package the install pulled in: the machine is
#                                     left with the packages it had.
#   scripts/test_package.sh --chroot  the same in a fresh minimal Debian 12 made with debootstrap from
#                                     the mirror apt already uses: proves that the package's Depends pull
#                                     everything weipian needs. Downloads ~250 MB of Debian packages and
#                                     takes several minutes, so CI runs the first form only.
# Needs root (or sudo) and Debian's package registry. Exit 0 when every check holds.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
use_chroot=0
case "${1:-}" in
  "") ;;
  --chroot) use_chroot=1 ;;
  *) echo "usage: scripts/test_package.sh [--chroot]" >&2; exit 2 ;;
esac
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
fail() { echo "test_package: FAIL: $*" >&2; exit 1; }

scripts/install_deps.sh
# The Release build of scripts/build.sh, only the executable the package holds.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >package.log 2>&1 || { tail -30 package.log; fail "cmake configure"; }
cmake --build build -j"$(nproc)" --target weipian >>package.log 2>&1 || { tail -30 package.log; fail "build (log: package.log)"; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' build/CMakeCache.txt)
rm -f build/weipian_*.deb
(cd build && cpack -G DEB) >>package.log 2>&1 || { tail -30 package.log; fail "cpack (log: package.log)"; }
deb="$repo/build/weipian_${version}_amd64.deb"
[ -f "$deb" ] || fail "cpack wrote no $deb"
echo "test_package: $(basename "$deb"), $(du -h "$deb" | cut -f1)"
depends=$(dpkg-deb -f "$deb" Depends)
echo "test_package: Depends: $depends"
for lib in libgdal32 libtbb12 libopencv-core406 libyaml-cpp0.7 libxlsxwriter4 libssl3; do
  [[ "$depends" == *"$lib"* ]] || fail "Depends lacks $lib"
done
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/weipian ./usr/share/weipian/configs/sample.yaml ./usr/share/weipian/sample_tiles/hsx/ \
         ./usr/share/weipian/sample_tiles/townships.gpkg ./usr/share/doc/weipian/README.md; do
  grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
done
# The crash tests' hooks (WEIPIAN_TEST_KILL_AT, …) live in weipian-test-hooks only.
if grep -q "WEIPIAN_TEST_" "$repo/build/app/weipian"; then fail "the packaged weipian carries a test hook (WEIPIAN_TEST_*)"; fi
if grep -q "weipian-test-hooks" <<<"$contents"; then fail "the package carries weipian-test-hooks"; fi

# The installed program, run through PREFIX (empty, or `chroot ROOT`), from a folder unrelated to
# the source tree and, when root, as the unprivileged user nobody.
check_installed() {
  local run=("$@") tmp out
  local as=()
  [ "$(id -u)" -eq 0 ] && as=(runuser -u nobody --)
  [ "$("${run[@]}" /usr/bin/weipian --version | sed -n 1p)" = "weipian $version" ] || fail "weipian --version does not say weipian $version on its first line"
  tmp=$("${run[@]}" mktemp -d /tmp/weipian-package-test.XXXXXX)
  "${run[@]}" chmod 777 "$tmp"
  out=$("${run[@]}" "${as[@]}" sh -c "cd '$tmp' && weipian run --config /usr/share/weipian/configs/sample.yaml --out '$tmp/sample'") \
    || fail "the installed sample run failed"
  echo "test_package: $out"
  grep -q "^weipian: 15 candidate parcels, 26.78 亩" <<<"$out" || fail "expected 15 candidate parcels, 26.78 亩"
  "${run[@]}" grep -Eq '"parcels": 15,?$' "$tmp/sample/run.json" || fail "run.json does not count 15 parcels"
  "${run[@]}" test -s "$tmp/sample/index.html" -a -s "$tmp/sample/chips/1_hsx.jpg" -a -s "$tmp/sample/parcels.kmz" \
    || fail "the installed sample run wrote no verification package (index.html, chips/, parcels.kmz)"
  "${run[@]}" rm -rf "$tmp"
}

if [ "$use_chroot" -eq 0 ]; then
  ! dpkg -s weipian >/dev/null 2>&1 || fail "a weipian package is installed already; remove it first (apt-get remove weipian)"
  installed_packages() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort -u; }
  before=$(installed_packages)
  cleanup() {
    local added
    added=$(comm -13 <(echo "$before") <(installed_packages))
    # shellcheck disable=SC2086
    [ -z "$added" ] || $sudo apt-get purge -y -qq $added >/dev/null
  }
  trap cleanup EXIT
  $sudo apt-get install -y -qq "$deb" >/dev/null || fail "apt-get install $deb"
  [ "$(command -v weipian)" = /usr/bin/weipian ] || fail "weipian is not /usr/bin/weipian on PATH"
  check_installed
  cleanup
  trap - EXIT
  [ ! -e /usr/bin/weipian ] && [ ! -e /usr/share/weipian ] || fail "files left after apt-get purge weipian"
  echo "test_package: OK (installed, ran the sample, removed)"
  exit 0
fi

# --chroot: a fresh Debian 12.
mirror=$(grep -hsE '^(URIs:|deb) ' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
         | grep -oE 'https?://[^ ]*/debian/?( |$)' | head -1 | tr -d ' ' || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
installed_debootstrap=0
if ! command -v debootstrap >/dev/null; then
  $sudo apt-get install -y -qq debootstrap >/dev/null
  installed_debootstrap=1
fi
root=$(mktemp -d /var/tmp/weipian-chroot.XXXXXX)
chmod 755 "$root"   # the chroot's / : apt's _apt user and nobody must traverse it
cleanup_chroot() {
  $sudo umount "$root/proc" 2>/dev/null || true
  $sudo rm -rf --one-file-system "$root"
  [ "$installed_debootstrap" -eq 0 ] || $sudo apt-get purge -y -qq debootstrap >/dev/null
}
trap cleanup_chroot EXIT
echo "test_package: debootstrap bookworm from $mirror into $root" >&2
$sudo debootstrap --variant=minbase bookworm "$root" "$mirror" >"$repo/package-chroot.log" 2>&1 \
  || { tail -20 "$repo/package-chroot.log"; fail "debootstrap (log: package-chroot.log)"; }
# The same suites the host uses (updates and security too), so versioned Depends resolve alike.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  $sudo cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
  $sudo rm -f "$root/etc/apt/sources.list"
elif grep -qs debian /etc/apt/sources.list; then
  grep -E '^deb .*/debian(-security)?/? ' /etc/apt/sources.list | $sudo tee "$root/etc/apt/sources.list" >/dev/null
fi
$sudo mount -t proc proc "$root/proc"
$sudo cp "$deb" "$root/tmp/"
$sudo chroot "$root" apt-get update -qq
$sudo chroot "$root" apt-get install -y -qq "/tmp/$(basename "$deb")" >>"$repo/package-chroot.log" 2>&1 \
  || { tail -20 "$repo/package-chroot.log"; fail "apt-get install in the chroot"; }
echo "test_package: the chroot pulled $($sudo chroot "$root" dpkg-query -W -f='.\n' | wc -l) packages in all" >&2
check_installed $sudo chroot "$root"
echo "test_package: OK in a fresh Debian 12 chroot"
