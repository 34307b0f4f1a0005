#!/usr/bin/env bash
# Issue 22's base-size answer, the search side: results/search-fp32/run.sh's budgeted search (4 trials a
# method, Hyperband pruning over the `tune` profile's epochs, seed 0, fp32, serving not timed) on
# `mpnet-base` (all-mpnet-base-v2, 109.5M; `pip install -e ".[base]"`), on the full splits: not on a subset,
# where on MiniLM a learning rate chosen on 2,000 sentences collapsed BitFit on the full split
# (docs/tuning.md). Records optuna.records.json and the study study.journal, here.
#
#   results/mpnet-search/run.sh [METHODS]
#
# METHODS (default svm,head,full,lora,dora,ia3,bitfit) cuts the search into pieces of about two hours
# (a full fine-tuning trial of 4 epochs is about 40 minutes here); run again, it resumes from the study.
cd "$(dirname "$0")/../.."
MODEL=mpnet-base OUT=results/mpnet-search exec results/search-fp32/run.sh optuna "${1:-svm,head,full,lora,dora,ia3,bitfit}"
