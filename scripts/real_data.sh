#!/usr/bin/env bash
# Runs weipian on the real data in ../shared/data and prints the figures:
#   main job on nanjing-landsat (districts as townships) and slovenia-s2 (LULC cultivated land),
#   evaluate on nanjing-landsat (sparse samples) and on every levir-cd pair (full labels).
# Usage: scripts/real_data.sh [path/to/weipian]   (default build/app/weipian)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/app/weipian}
data=../shared/data
[ -d "$data" ] || { echo "real_data: $data not found (it sits beside the checkout)" >&2; exit 2; }
py=/usr/bin/python3

echo "== main job: nanjing-landsat"
$bin -q run --config configs/nanjing.yaml --overwrite
cat out/nanjing/summary.txt
echo "== main job: slovenia-s2 (2015-07-11 -> 2015-09-09, season only)"
$bin -q run --config configs/slovenia.yaml --overwrite
$py - <<'PY'
import json
r = json.load(open("out/slovenia/run.json"))
c = r["counts"]
print(f"slovenia-s2: {c['parcels']} parcels, flagged {float(c['area_m2'])/1e4:.3f} ha (bar: at most 0.5 ha)")
PY

echo "== evaluate: nanjing-landsat (sparse samples)"
$bin -q evaluate --config configs/nanjing.yaml \
  --before $data/nanjing-landsat/LT51200382000124BJC00_Nanjing \
  --after $data/nanjing-landsat/LT51200382002193BJC00_Nanjing \
  --label $data/nanjing-landsat/reference_labels_georef.tif > out/nanjing_eval.json
$py - <<'PY'
import json
r = json.load(open("out/nanjing_eval.json"))
print(f"nanjing-landsat: changed samples flagged {r['sample_recall']*100:.1f} % (bar ≥ 40 %), "
      f"unchanged flagged {r['sample_false_alarm_rate']*100:.2f} % (bar ≤ 3 %)")
PY

echo "== evaluate: levir-cd (0.5 m RGB, full labels)"
mkdir -p out/levir
for a in $data/levir-cd/A/*.png; do
  name=$(basename "$a" .png)
  $bin -q evaluate --config configs/levir.yaml --pixel-size 0.5 \
    --before "$a" --after "$data/levir-cd/B/$name.png" --label "$data/levir-cd/label/$name.png" > "out/levir/$name.json"
done
$py - <<'PY'
import json, glob, os
tp = fp = fn = ro = fo = fd = co = 0
print(f"{'pair':24} {'F1':>6} {'IoU':>6} {'obj R':>6} {'obj P':>6}")
for p in sorted(glob.glob("out/levir/*.json")):
    r = json.load(open(p))
    tp += r["true_positive"]; fp += r["false_positive"]; fn += r["false_negative"]
    ro += r["reference_objects"]; fo += r["found_objects"]; fd += r["flagged_objects"]; co += r["correct_objects"]
    print(f"{os.path.basename(p)[:-5]:24} {r['f1']:6.3f} {r['iou']:6.3f} {r['object_recall']:6.3f} {r['object_precision']:6.3f}")
prec = tp / (tp + fp) if tp + fp else 0; rec = tp / (tp + fn) if tp + fn else 0
f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0
print(f"{'all (pooled)':24} {f1:6.3f} {tp/(tp+fp+fn) if tp+fp+fn else 0:6.3f} {fo/ro if ro else 0:6.3f} {co/fd if fd else 0:6.3f}"
      f"   pixel P {prec:.3f} R {rec:.3f}; objects {fo}/{ro} found, {co}/{fd} flagged correct")
PY
