#!/usr/bin/env bash
# Wall time of the whole pytest command, one seed per command: what issue 5's targets count.
#
#   scripts/time-seeds.sh LABEL PROFILE DATA OUTDIR SEED [SEED ...]
#
# Run it from the checkout to measure (an older commit too: `git worktree add /tmp/before COMMIT`,
# then `cd /tmp/before && /path/to/time-seeds.sh before ...`), with nothing else running: on 2 cores
# any other job slows the run. Appends "LABEL PROFILE seed N: S s wall" to OUTDIR/walls.txt and
# writes OUTDIR/LABEL-PROFILE-sN.json (pytest-benchmark JSON with every case's record).
set -uo pipefail
label=$1 profile=$2 data=$3 out=$4
shift 4
mkdir -p "$out"
for seed in "$@"; do
    /usr/bin/time -f "$label $profile seed $seed: %e s wall" -a -o "$out/walls.txt" \
        python -m pytest bench/ -q -p no:cacheprovider --rtsent-profile="$profile" --rtsent-data="$data" \
        --rtsent-seeds="$seed" --rtsent-floors=none --benchmark-json="$out/$label-$profile-s$seed.json" \
        > "$out/$label-$profile-s$seed.log" 2>&1
done
