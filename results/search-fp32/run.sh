#!/usr/bin/env bash
# Issue 22's MiniLM comparison: the budgeted search (Optuna: TPE, Hyperband pruning over the 4 epochs)
# against the `tune` grid, for full, lora, dora, ia3 and bitfit, seed 0, full splits, fp32 on this
# machine's 2 cores (AMD EPYC, no native bf16: the committed grid in results/tune* ran in bf16 elsewhere,
# so it is run again here), serving not timed (neither side's tuning cost includes it).
#
#   results/search-fp32/run.sh optuna [METHODS]   # TRIALS (default 4) trials per method; the study in study.journal
#   results/search-fp32/run.sh grid [METHODS]     # rtsent/plan/sweeps/tune.toml's configurations (SWEEP: another
#                                                 # sweep file, e.g. values past an edge the grid chose)
#   results/search-fp32/run.sh subset [METHODS]   # the search on a 2,000-sentence stratified subset
#                                                 # (SUBSET to change it; study subset.journal), then
#                                                 # each method's winner re-run on the full split
#   results/search-fp32/run.sh rerun [METHODS]    # the configuration selected on validation in FROM.records.json
#                                                 # (default optuna) re-run on SEEDS (default 1,2): selected.records.json;
#                                                 # each stops at its chosen epoch (STOP=schedule: the whole schedule)
#
# METHODS (default full,lora,dora,ia3,bitfit) cuts a side into pieces. Each side resumes where it
# stopped when run again (the study, or --rtsent-resume on the grid's records). The LoRA row on every
# linear layer is left out: the grid's LoRA target sets are a sweep of their own (tune-targets.toml).
# MODEL (default: the profile's, minilm-l6) and OUT (default results/search-fp32, where the records,
# studies and nothing else go) let another encoder's search use the same protocol (results/mpnet-search).
# K (a pytest -k expression, e.g. "trial0") runs only some of a side's cases: a search's trials one at a
# time, for pieces that end between trials (a trial cut mid-run is lost; the study asks it again).
set -u
cd "$(dirname "$0")/../.."
here=${OUT:-results/search-fp32}
side=$1 methods=${2:-full,lora,dora,ia3,bitfit}
common=(bench/ -p no:randomly --rtsent-profile=tune ${MODEL:+--rtsent-model="$MODEL"} --rtsent-precisions=fp32
        --rtsent-floors=none --rtsent-serving=off --rtsent-seeds=0 --rtsent-methods="$methods" -k "not all-linear${K:+ and ($K)}")
case $side in
    optuna)
        args=(--rtsent-search=tune --rtsent-trials="${TRIALS:-4}" --rtsent-study="$here/study.journal"
              --rtsent-records="$here/optuna.records.json") ;;
    subset)
        args=(--rtsent-search=tune --rtsent-trials="${TRIALS:-4}" --rtsent-study="$here/subset.journal"
              --rtsent-max-train="${SUBSET:-2000}" --rtsent-records="$here/subset.records.json")
        rerun=(--rtsent-sweep="selected:$here/subset.records.json" --rtsent-records="$here/subset-rerun.records.json")
        [ -s "$here/subset-rerun.records.json" ] && rerun+=(--rtsent-resume="$here/subset-rerun.records.json") ;;
    grid)
        args=(--rtsent-sweep="${SWEEP:-tune}" --rtsent-records="$here/grid.records.json")
        [ -s "$here/grid.records.json" ] && args+=(--rtsent-resume="$here/grid.records.json") ;;
    rerun)  # each method's configuration selected on validation in FROM's records, on SEEDS
        args=(--rtsent-sweep="selected:$here/${FROM:-optuna}.records.json" --rtsent-seeds="${SEEDS:-1,2}"
              --rtsent-stop="${STOP:-selected}" --rtsent-records="$here/selected.records.json")
        [ -s "$here/selected.records.json" ] && args+=(--rtsent-resume="$here/selected.records.json") ;;
    *) echo "usage: $0 optuna|grid|subset|rerun [METHODS]" >&2; exit 2 ;;
esac
echo "== $side $methods $(date -u +%H:%M:%S)"
/usr/bin/time -f "%e s" pytest "${common[@]}" "${args[@]}" --benchmark-json="/tmp/search-$side.json" || exit
if [ "$side" = subset ]; then
    echo "== the winners on the full split $(date -u +%H:%M:%S)"
    /usr/bin/time -f "%e s" pytest "${common[@]}" "${rerun[@]}" --benchmark-json="/tmp/search-rerun.json"
fi
echo "== done $(date -u +%H:%M:%S)"
