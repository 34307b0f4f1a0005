#!/usr/bin/env bash
# Measured 2026-12-05 and rejected: the quick profile with the tuned recipes' 2 epochs through the backbone
# (not 3) as a cheaper CI gate, fp32 on 2 AMD EPYC cores (no native bf16), one seed per command, alone.
# quick-2epochs-fp32.json came from the profile edited that way (seeds 0 and 1 whole, 420 s and 427 s a
# command with serving timed; seed 2 stopped after LoRA, once LoRA's spread had decided it:
# val 0.660, 0.570, 0.628). The same recipes without editing the profile, as a sweep (case ids gain
# `-epochs2`):
set -eu
cd "$(dirname "$0")/../.."
sweep=$(mktemp)
printf '[%s]\nepochs = [2]\n\n' full lora ia3 bitfit > "$sweep"
for seed in 0 1 2; do
    /usr/bin/time -f "seed $seed: %e s" pytest bench/ -p no:randomly -q --rtsent-profile=quick --rtsent-precisions=fp32 \
        --rtsent-floors=none --rtsent-seeds=$seed --rtsent-sweep="$sweep" \
        --rtsent-records=results/ci-gate/quick-2epochs-fp32.json --benchmark-json=/tmp/ci-gate-s$seed.json
done
