#!/usr/bin/env bash
# Runs weipian on the real data in ../shared/data and prints the figures:
#   main job on nanjing-landsat (districts as townships) and slovenia-s2 (LULC cultivated land),
#   evaluate on nanjing-landsat (sparse samples) and on every levir-cd pair (full labels);
#   then, per data set, the index method (`construction`) and the learned method side by side,
#   the learned one cross-validated so that no model sees its test: leave-one-pair-out on
#   levir-cd, 4 folds by city on oscd-s2, 2 blocks of columns on nanjing-landsat; and the
#   building-index change (dMBI) on levir-cd and oscd-s2 (bench/building_index_eval.cpp).
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

echo "== learned: levir-cd, leave one pair out (train_386_0512_0768 has no change: it cannot be held out)"
args=()
for a in $data/levir-cd/A/*.png; do
  name=$(basename "$a")
  [ "$name" = train_386_0512_0768.png ] && continue
  args+=(--before "$a" --after "$data/levir-cd/B/$name" --label "$data/levir-cd/label/$name")
done
$bin -q train --config configs/levir.yaml --pixel-size 0.5 "${args[@]}" --cv loo --out out/levir_model.json --overwrite \
  | tee out/levir_train.txt | grep -E "^(fold|pooled|train:)"

echo "== index and learned: oscd-s2 (Sentinel-2, 10 m, 12 cities, full labels; learned: 4 folds by city)"
mkdir -p out/oscd
args=()
for c in $data/oscd-s2/*/; do
  city=$(basename "$c")
  $bin -q evaluate --config configs/oscd.yaml --before "$c/before.tif" --after "$c/after.tif" --label "$c/label.tif" > "out/oscd/$city.json"
  args+=(--before "$c/before.tif" --after "$c/after.tif" --label "$c/label.tif")
done
$py - <<'PY'
import json, glob
tp = fp = fn = ro = fo = fd = co = 0
for p in sorted(glob.glob("out/oscd/*.json")):
    r = json.load(open(p))
    tp += r["true_positive"]; fp += r["false_positive"]; fn += r["false_negative"]
    ro += r["reference_objects"]; fo += r["found_objects"]; fd += r["flagged_objects"]; co += r["correct_objects"]
prec = tp / (tp + fp) if tp + fp else 0; rec = tp / (tp + fn) if tp + fn else 0
f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0
json.dump({"precision": prec, "recall": rec, "f1": f1, "object_recall": fo / ro if ro else 0,
           "object_precision": co / fd if fd else 0}, open("out/oscd_index.json", "w"))
PY
$bin -q train --config configs/oscd.yaml "${args[@]}" --cv 4 --out out/oscd_model.json --overwrite \
  | tee out/oscd_train.txt | grep -E "^(fold|pooled|train:)"

echo "== learned: nanjing-landsat, 2 blocks of columns (sparse samples)"
$bin -q train --config configs/nanjing.yaml \
  --before $data/nanjing-landsat/LT51200382000124BJC00_Nanjing --after $data/nanjing-landsat/LT51200382002193BJC00_Nanjing \
  --label $data/nanjing-landsat/reference_labels_georef.tif --cv 2 --out out/nanjing_model.json --overwrite \
  | tee out/nanjing_train.txt | grep -E "^(fold|pooled|train:)"

eval_bin=$(dirname "$bin")/../bench/weipian_building_index_eval
if [ -x "$eval_bin" ]; then
  echo "== building index change (dMBI) against the index: levir-cd (threshold chosen leave one pair out)"
  args=()
  for a in $data/levir-cd/A/*.png; do
    name=$(basename "$a")
    args+=(--before "$a" --after "$data/levir-cd/B/$name" --label "$data/levir-cd/label/$name")
  done
  "$eval_bin" --config configs/levir.yaml --pixel-size 0.5 "${args[@]}" | tail -3
  echo "== building index change (dMBI) against the index: oscd-s2"
  args=()
  for c in $data/oscd-s2/*/; do args+=(--before "$c/before.tif" --after "$c/after.tif" --label "$c/label.tif"); done
  "$eval_bin" --config configs/oscd.yaml "${args[@]}" | tail -3
else
  echo "== dMBI: $eval_bin not built (Google Benchmark missing?): skipped"
fi

echo "== side by side (pooled; learned cross-validated)"
$py - <<'PY'
import json, glob
def learned(path):
    m = json.load(open(path))["cv"]["pooled"]
    return m
L = learned("out/levir_model.json")
# The index on the same 10 LEVIR pairs the learned method is held out on.
tp = fp = fn = ro = fo = fd = co = 0
for p in sorted(glob.glob("out/levir/*.json")):
    if "train_386_0512_0768" in p: continue
    r = json.load(open(p))
    tp += r["true_positive"]; fp += r["false_positive"]; fn += r["false_negative"]
    ro += r["reference_objects"]; fo += r["found_objects"]; fd += r["flagged_objects"]; co += r["correct_objects"]
prec = tp / (tp + fp) if tp + fp else 0; rec = tp / (tp + fn) if tp + fn else 0
I = {"f1": 2 * prec * rec / (prec + rec) if prec + rec else 0, "object_recall": fo / ro if ro else 0,
     "object_precision": co / fd if fd else 0}
O = json.load(open("out/oscd_index.json")); OL = learned("out/oscd_model.json")
N = json.load(open("out/nanjing_eval.json")); NL = learned("out/nanjing_model.json")
print(f"{'data set':34} {'index':>26} {'learned':>26}")
row = lambda r: f"F1 {r['f1']:.3f} objR {r['object_recall']:.3f} P {r['object_precision']:.3f}"
print(f"{'levir-cd (10 pairs, loo)':34} {row(I):>26} {row(L):>26}")
print(f"{'oscd-s2 (12 cities, 4-fold)':34} {row(O):>26} {row(OL):>26}")
s = lambda r: f"recall {r['sample_recall']*100:.1f} % FA {r['sample_false_alarm_rate']*100:.2f} %"
print(f"{'nanjing-landsat (samples, 2 blocks)':34} {s(N):>26} {s(NL):>26}")
PY
