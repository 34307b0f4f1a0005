#!/usr/bin/env bash
# Time the `seed` grid (the study's settings) on a CUDA GPU, DistilBERT architecture without weights.
#
#   [SEEDS=0,1] scripts/gpu-seed-grid.sh MODEL DATA OUT
#
# MODEL: e.g. random:distilbert-base-uncased, or random:FOLDER (a config.json plus tokenizer files,
# for a machine without the packaged MiniLM); DATA: the rt-polaritydata folder; OUT: where the JSON
# and the reports go. SEEDS: a later seed's cases run warm (CUDA kernels loaded, allocator primed).
# Run 1 is the study's five cases (svm/head/full fp32, LoRA fp16) in one process (`study` below picks
# them out of the seed grid, which also holds the other methods at the study's schedule):
# pytest's own "in N s" is the wall time without interpreter start and imports. Run 2 adds the other
# precisions (fp32, fp16, bf16 for every method), reusing run 1's cases. A failing case does not stop
# the script: its record says why. Run 3 is the rest of the seed grid (LoRA all-linear, DoRA, IA³, prompt
# tuning, BitFit, TF-IDF, NB-SVM), reusing run 1's cases.
set -uo pipefail
model=$1 data=$2 out=$3
mkdir -p "$out"
export PYTHONUNBUFFERED=1
common=(bench/ -q -p no:cacheprovider --rtsent-profile=seed --rtsent-model="$model" --rtsent-data="$data"
    --rtsent-floors=none --rtsent-seeds="${SEEDS:-0}")

log="$out/log.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$log"
python3 -c 'import torch, transformers, peft, datasets, sklearn
print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__,
      "peft", peft.__version__, "datasets", datasets.__version__, "sklearn", sklearn.__version__)' | tee -a "$log"

start=$(date +%s%N)
study=(--rtsent-methods=svm,head,full,lora -k "not target_modules")  # not LoRA on all-linear
python3 -m pytest "${common[@]}" "${study[@]}" --rtsent-records="$out/study.records.json" --benchmark-json="$out/study.json" \
    2>&1 | tee -a "$log"
echo "run 1 (five study cases): $(( ($(date +%s%N) - start) / 1000000 )) ms including process start" | tee -a "$log"

python3 -m pytest "${common[@]}" "${study[@]}" --rtsent-precisions=fp32,fp16,bf16 --rtsent-resume="$out/study.records.json" \
    --rtsent-records="$out/precisions.records.json" --benchmark-json="$out/precisions.json" 2>&1 | tee -a "$log"

python3 -m pytest "${common[@]}" --rtsent-resume="$out/study.records.json" \
    --rtsent-records="$out/methods.records.json" --benchmark-json="$out/methods.json" 2>&1 | tee -a "$log"

columns="val acc,train s,features s,peak MiB,trainable,tokens/s,status"
python3 -m rtsent.report.cli "$out/study.json" --columns="$columns" --no-pairs | tee "$out/study.md"
python3 -m rtsent.report.cli "$out/precisions.json" --columns="$columns" --no-pairs | tee "$out/precisions.md"
python3 -m rtsent.report.cli "$out/methods.json" --columns="$columns" | tee "$out/methods.md"
