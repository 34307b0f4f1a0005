#!/usr/bin/env bash
# The CI gate as .ci/run runs it since 2026-12-05 (the quick profile's 8 rows, seed 0, serving not timed,
# the packaged floors), from this checkout, in fp32 (this machine, AMD EPYC with 2 cores, has no native bf16,
# as the CI machine that runs the gate in fp32), timed.
set -eu
cd "$(dirname "$0")/../.."
/usr/bin/time -f "gate: %e s" pytest bench/ -p no:randomly -q --rtsent-profile=quick --rtsent-precisions=fp32 \
    --rtsent-seeds=0 --rtsent-serving=off --benchmark-json=results/ci-gate/gate-fp32-s0.json
