#!/usr/bin/env bash
# Does live progress cost training time? The same case (quick profile, LoRA lr 2e-4, seed 0) with
# --rtsent-progress=off and =on, interleaved, twice each; "on" runs under `script`, so pytest sees a
# terminal and rewrites its progress line live. Nothing else may run meanwhile (2 cores).
#
#   experiments/progress_overhead.sh OUTDIR
set -euo pipefail
out=$1
mkdir -p "$out"
for i in 1 2; do
    for mode in off on; do
        cmd="python -m pytest bench/ -p no:randomly --rtsent-profile=quick -k lora-lr2e-4 --rtsent-floors=none"
        cmd+=" --rtsent-progress=$mode --benchmark-json=$out/$mode-$i.json"
        if [[ $mode == on ]]; then script -qec "$cmd" /dev/null > "$out/$mode-$i.log"; else $cmd > "$out/$mode-$i.log"; fi
    done
done
python3 - "$out" <<'PY'
import json, sys
for mode in ("off", "on"):
    for i in (1, 2):
        bench = json.load(open(f"{sys.argv[1]}/{mode}-{i}.json"))["benchmarks"][0]
        info = bench["extra_info"]
        print(f"{mode}-{i}: case {bench['stats']['mean']:.1f} s, train {info['train_time_s']:.1f} s, val {info['val_accuracy']:.4f}")
PY
