#!/usr/bin/env bash
# The `tune` profile end to end: every method searched on seed 0 (4 epochs with learning curves), the
# configuration each method wins on validation re-run on seeds 1 and 2, then the selected table on test
# with the tuning cost and figures.
#
#   scripts/tune.sh OUTDIR [--sweep=NAME|FILE | --search=NAME|FILE --trials=N] [EXTRA PYTEST ARGS...]
#   e.g. scripts/tune.sh results/tune;  scripts/tune.sh results/tune-optuna --search=tune --trials=8
#
# --sweep: the grid searched (default `tune`, rtsent/plan/sweeps/tune.toml); `tune-targets` is LoRA's target sets.
# --search: the budgeted search instead (Optuna's TPE with Hyperband pruning, docs/tuning.md) over a space
# (`tune`: rtsent/plan/spaces/tune.toml), N trials per method row; its studies live in OUTDIR/study.journal.
#
# The grid takes about 70 minutes on 2 CPU cores with nothing else running (docs/tuning.md). Each command
# keeps a records file (the search: its study), so a stopped run resumes with the same command.
set -euo pipefail
out=$1
shift
sweep=tune search="" trials=20
while [[ ${1:-} == --sweep=* || ${1:-} == --search=* || ${1:-} == --trials=* ]]; do
    case $1 in
        --sweep=*) sweep=${1#--sweep=} ;;
        --search=*) search=${1#--search=} ;;
        --trials=*) trials=${1#--trials=} ;;
    esac
    shift
done
mkdir -p "$out"
common=(bench/ -p no:randomly --rtsent-profile=tune --rtsent-floors=none "$@")
resume() { [[ -s $1 ]] && echo "--rtsent-resume=$1" || true; }

if [[ -n $search ]]; then
    first=(--rtsent-search="$search" --rtsent-trials="$trials" --rtsent-study="$out/study.journal")
else
    first=(--rtsent-sweep="$sweep" $(resume "$out/search.records.json"))
fi
python -m pytest "${common[@]}" "${first[@]}" --rtsent-seeds=0 \
    --rtsent-records="$out/search.records.json" --benchmark-json="$out/search.json" ||
    [[ -s $out/search.json ]]  # a case that failed (diverged, say) is a record: select among the rest
python -m pytest "${common[@]}" --rtsent-sweep="selected:$out/search.json" --rtsent-seeds=1,2 \
    $(resume "$out/selected.records.json") --rtsent-records="$out/selected.records.json" \
    --benchmark-json="$out/selected.json"
rtsent-report "$out/search.json" "$out/selected.json" --select val --plot "$out/tune.png" | tee "$out/selected.md"
