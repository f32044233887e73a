#!/usr/bin/env bash
# One prepared run of the detector's training on a machine with a GPU (or many cores): render the
# data, fine-tune from our latest checkpoint at 640 px, export, evaluate on the held-out seed.
# Everything it writes goes under $OUT (default ./runs/accelerated); nothing is registered: copy
# the ONNX file and the evaluation back, then `fuhuiyang models export` / `models eval --record`.
# The refiner learnt the old detector's proposals: after registering a new detector, train its
# own with `fuhuiyang models train-refiner --model <new detector> ...` (docs/detector.md).
#
#   DEVICE=0 HOURS=0.15 TRAIN=8000 bash models/train_accelerated.sh       # a 15-minute GPU lease
#   DEVICE=cpu HOURS=0.01 TRAIN=16 VAL=8 TEST=8 bash models/train_accelerated.sh   # a dry run
#
# Uses .venv when there is one, else `python3 -m fuhuiyang` (on a lent GPU machine: its python3
# has torch; carry the rest as wheels, see the device tool's README).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fhy() { "$PY" -m fuhuiyang "$@"; }

OUT=${OUT:-runs/accelerated}
DEVICE=${DEVICE:-0}
HOURS=${HOURS:-0.15}
TRAIN=${TRAIN:-8000}
VAL=${VAL:-300}
TEST=${TEST:-400}
IMGSZ=${IMGSZ:-640}
BATCH=${BATCH:-64}
# The default model's detector checkpoint (a two-stage model's detector file is an earlier model's).
START=${START:-models/$("$PY" -c 'import json, pathlib; d = json.load(open("models/registry.json")); print(pathlib.Path(d["models"][d["default"]]["file"]).with_suffix(".pt"))')}
JOBS=${JOBS:-$(nproc)}

mkdir -p "$OUT"
fhy sim frames --out "$OUT/data/train" --count "$TRAIN" --seed 1 --extra-dead 6 --workers "$JOBS" --json
fhy sim frames --out "$OUT/data/val" --count "$VAL" --seed 2 --workers "$JOBS" --json
fhy sim frames --out "$OUT/data/test" --count "$TEST" --seed 99 --workers "$JOBS" --json
cat > "$OUT/data/data.yaml" <<EOF
path: $(cd "$OUT/data" && pwd)
train: train/images
val: val/images
names: {0: chicken, 1: dead}
EOF

best=$(fhy models train --data "$OUT/data/data.yaml" --out "$OUT/train" --model "$START" \
    --hours "$HOURS" --imgsz "$IMGSZ" --batch "$BATCH" --workers "$JOBS" --device "$DEVICE" | tail -1)
fhy models export --weights "$best" --name candidate --imgsz "$IMGSZ" \
    --registry "$OUT/registry.json" --no-default
fhy models eval --weights "$OUT/weights/candidate.onnx" --data "$OUT/data/val" --json > "$OUT/eval_val.json"
fhy models eval --weights "$OUT/weights/candidate.onnx" --data "$OUT/data/test" --json > "$OUT/eval_test.json"
cat "$OUT/eval_test.json"
