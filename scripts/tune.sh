#!/usr/bin/env bash
# The `tune` profile end to end: every method searched on seed 0 over the packaged sweep
# (rtsent/plan/sweeps/tune.toml, 4 epochs with learning curves), the configuration each method wins on
# validation re-run on seeds 1 and 2, then the selected table on test with the tuning cost and figures.
#
#   scripts/tune.sh OUTDIR [--sweep=NAME|FILE] [EXTRA PYTEST ARGS...]      e.g. scripts/tune.sh results/tune
#
# --sweep: the search's sweep (default `tune`, rtsent/plan/sweeps/tune.toml); `tune-targets` is LoRA's target sets.
#
# About 70 minutes on 2 CPU cores with nothing else running (docs/tuning.md). Each command keeps a
# records file, so a stopped run resumes with the same command (--rtsent-resume).
set -euo pipefail
out=$1
shift
sweep=tune
if [[ ${1:-} == --sweep=* ]]; then
    sweep=${1#--sweep=}
    shift
fi
mkdir -p "$out"
common=(bench/ -p no:randomly --rtsent-profile=tune --rtsent-floors=none "$@")
resume() { [[ -s $1 ]] && echo "--rtsent-resume=$1" || true; }

python -m pytest "${common[@]}" --rtsent-sweep="$sweep" --rtsent-seeds=0 $(resume "$out/search.records.json") \
    --rtsent-records="$out/search.records.json" --benchmark-json="$out/search.json" ||
    [[ -s $out/search.json ]]  # a case that failed (diverged, say) is a record: select among the rest
python -m pytest "${common[@]}" --rtsent-sweep="selected:$out/search.json" --rtsent-seeds=1,2 \
    $(resume "$out/selected.records.json") --rtsent-records="$out/selected.records.json" \
    --benchmark-json="$out/selected.json"
rtsent-report "$out/search.json" "$out/selected.json" --select val --plot "$out/tune.png" | tee "$out/selected.md"
