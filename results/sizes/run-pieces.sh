#!/usr/bin/env bash
# Issue 23's measured answer on minilm-l6, piece by piece into one records file (each case written when it
# ends: a killed piece loses only its running case; rerun a piece with --rtsent-resume=FILE to skip the
# finished ones). SIZES and SEEDS override the sizes and draws (the larger sizes: SIZES=1024,all
# SEEDS=0,1,2). fp32: this machine (AMD EPYC, 2 cores) has no native bf16.
set -u
cd "$(dirname "$0")/../.."
out=results/sizes/minilm-fp32.json
common=(bench/ -p no:randomly --rtsent-profile=offline --rtsent-precisions=fp32 --rtsent-floors=none
        --rtsent-per-class=${SIZES:-8,32,128} --rtsent-seeds=${SEEDS:-0,1,2,3,4} --rtsent-sweep=results/sizes/svm-mean.toml
        --rtsent-records=$out -k "not lora-lr2e-5 and not all-linear")
resume=()
[ -s "$out" ] && resume=(--rtsent-resume=$out)
for methods in "$@"; do
    echo "== $methods $(date -u +%H:%M:%S)"
    /usr/bin/time -f "%e s" pytest "${common[@]}" "${resume[@]}" --rtsent-methods="$methods" \
        --benchmark-json="/tmp/sizes-$methods.json"
    resume=(--rtsent-resume=$out)
done
echo "== done $(date -u +%H:%M:%S)"
