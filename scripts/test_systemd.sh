#!/usr/bin/env bash
# Checks the systemd units of `weipian nightly` (configs/systemd/) with the sample deliveries.
#   scripts/test_systemd.sh [WEIPIAN_BINARY]     (default build/app/weipian)
# 1. `systemd-analyze verify` on copies of the units whose paths point at a temp folder (when
#    systemd-analyze is installed);
# 2. with systemd running (/run/systemd/system exists): the service runs for real under
#    `systemd-run --user --wait` (or `systemd-run --wait` as root) with the unit's properties
#    (Type=oneshot, Nice, IOSchedulingClass, SuccessExitStatus); otherwise it prints
#    "skipped: no systemd here" and runs the unit's ExecStart line (paths substituted) directly,
#    which is what the service would run;
# 3. either way: one night over the north sample tiles gives 7 parcels in <out>/<night>/, latest
#    points at it, the log file has timestamped lines; a second start has nothing new (exit 0).
# Exit 0 when every check holds. ctest runs it (tests/CMakeLists.txt, test `systemd_units`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
binary=$(realpath "${1:-build/app/weipian}")
[ -x "$binary" ] || { echo "test_systemd: FAIL: no weipian binary at $binary (build the target weipian)" >&2; exit 1; }
fail() { echo "test_systemd: FAIL: $*" >&2; exit 1; }

work=$(mktemp -d /tmp/weipian-systemd.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/inbox" "$work/etc" "$work/log" "$work/units"
cp sample_tiles/hsx/HSX_20230918_r0c0.tif sample_tiles/hsx/HSX_20230918_r0c1.tif "$work/inbox/"
# The sample config with absolute overlay paths, no epochs, the nightly keys and a temp output.dir.
sed -e "s|\.\./sample_tiles/|$repo/sample_tiles/|g" \
    -e '/^epochs:/d' -e '/^  before: {tiles/d' -e '/^  after:  {tiles/d' \
    -e "s|^output: {dir: ../out/sample}|output: {dir: $work/out}|" \
    configs/sample.yaml >"$work/etc/county.yaml"
cat >>"$work/etc/county.yaml" <<YAML
nightly:
  inbox: [$work/inbox]
  base: ["$repo/sample_tiles/qsx/*.tif"]
YAML

# The units with the installed paths replaced by the test's.
for unit in weipian-nightly.service weipian-nightly.timer; do
  sed -e "s|/usr/local/bin/weipian|$binary|g" -e "s|/etc/weipian/county.yaml|$work/etc/county.yaml|g" \
      -e "s|/var/log/weipian/nightly.log|$work/log/nightly.log|g" "configs/systemd/$unit" >"$work/units/$unit"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$work/units/weipian-nightly.service" "$work/units/weipian-nightly.timer" \
    || fail "systemd-analyze verify rejects configs/systemd/weipian-nightly.{service,timer}"
  echo "test_systemd: systemd-analyze verify: the units are valid"
else
  echo "test_systemd: systemd-analyze not installed; the units were not verified"
fi

exec_start=$(sed -n 's/^ExecStart=//p' "$work/units/weipian-nightly.service")
[ -n "$exec_start" ] || fail "no ExecStart= in weipian-nightly.service"
case "$exec_start" in *" nightly --config "*" --log "*) ;; *) fail "ExecStart is not 'weipian nightly --config … --log …': $exec_start" ;; esac
night=$(date +%F)

# systemd is usable: PID 1 is systemd, and as a non-root user a user manager answers too.
use_systemd=0
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    use_systemd=1
  elif systemctl --user is-system-running >/dev/null 2>&1 || [ "$(systemctl --user is-system-running 2>/dev/null)" = degraded ]; then
    use_systemd=1
  fi
fi

run_unit() {
  if [ "$use_systemd" = 1 ]; then
    local scope=(--user)
    [ "$(id -u)" -eq 0 ] && scope=()
    [ "$1" = 1 ] && echo "test_systemd: running the service under systemd-run ${scope[*]} --wait"
    systemd-run "${scope[@]}" --wait --collect --quiet --unit="weipian-nightly-test-$$-$1" \
      -p Type=oneshot -p Nice=10 -p IOSchedulingClass=idle -p SuccessExitStatus=75 \
      $exec_start
  else
    [ "$1" = 1 ] && echo "skipped: no systemd here (running the unit's ExecStart directly instead)"
    $exec_start
  fi
}

run_unit 1 || fail "the first night exited $?"
[ -d "$work/out/$night" ] || fail "no night folder $work/out/$night"
[ "$(readlink "$work/out/latest")" = "$night" ] || fail "latest does not point at $night"
parcels=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['parcels'])" "$work/out/$night/night.json")
[ "$parcels" = 7 ] || fail "night $night: $parcels parcels, expected 7"
grep -Eq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}' "$work/log/nightly.log" || fail "no timestamped line in the log file"
run_unit 2 || fail "the second start exited $?"
grep -q "nothing new in $work/inbox" "$work/log/nightly.log" || fail "the second start did not log 'nothing new'"
[ ! -e "$work/out/$night-2" ] || fail "the second start wrote $night-2"
echo "test_systemd: ok (7 parcels in $night, latest → $night, nothing new on the second start)"
