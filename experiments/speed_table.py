"""Before -> after table of the speed work, per method, from pytest-benchmark JSON files.

    python experiments/speed_table.py --before B1.json B2.json ... --after A1.json A2.json ... \
        [--walls WALLS.txt --before-label before --after-label after --profile quick]

Per row (method-lr-precision): median case time, median training time, mean validation accuracy
over the seeds both sides share, its change, and the mean FLOP/s utilization. With --walls (lines
"LABEL PROFILE seed N: S s wall", as /usr/bin/time -f wrote them), the median whole-command wall
time of each side heads the table. Reads JSON only; no torch.
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from pathlib import Path

from rtsent.schema.records import read_document


def cases(paths: list[str]) -> dict[str, dict[int, dict]]:
    """row -> seed -> record with the case's whole time (pytest-benchmark's, one round), over every file."""
    rows: dict[str, dict[int, dict]] = defaultdict(dict)
    for path in paths:
        for bench in read_document(path)["benchmarks"]:
            record = {**bench["extra_info"], "case_time_s": bench["stats"]["mean"]}
            rows[record["row"]][record["seed"]] = record
    return rows


def walls(path: str, label: str, profile: str) -> list[float]:
    pattern = re.compile(rf"^{re.escape(label)} {re.escape(profile)} seed \d+: ([\d.]+) s wall$")
    return [float(m.group(1)) for line in Path(path).read_text().splitlines() if (m := pattern.match(line))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", nargs="+", required=True)
    parser.add_argument("--after", nargs="+", required=True)
    parser.add_argument("--walls")
    parser.add_argument("--before-label", default="before")
    parser.add_argument("--after-label", default="after")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args()
    before, after = cases(args.before), cases(args.after)
    if args.walls:
        old = walls(args.walls, args.before_label, args.profile)
        new = walls(args.walls, args.after_label, args.profile)
        print(
            f"Whole command, one seed, median of {len(old)} / {len(new)} runs: "
            f"{median(old):.0f} s -> {median(new):.0f} s ({median(old) / median(new):.2f}x)\n"
        )
    print("| case | case s (median) | train s (median) | val acc (mean) | Δ val acc | FLOP/s used | seeds |")
    print("|---|---|---|---|---|---|---|")
    for row in after:
        seeds = sorted(set(before.get(row, {})) & set(after[row]))
        if not seeds:
            continue
        b = [before[row][s] for s in seeds]
        a = [after[row][s] for s in seeds]

        def med(records: list[dict], key: str) -> float:
            return median([r[key] for r in records if r.get(key) is not None])

        def mean(records: list[dict], key: str) -> float:
            values = [r[key] for r in records if r.get(key) is not None]
            return statistics.fmean(values) if values else float("nan")

        used = (
            f"{mean(b, 'flops_utilization'):.0%} -> {mean(a, 'flops_utilization'):.0%}"
            if any(r.get("flops_utilization") for r in a)
            else "–"
        )
        delta = mean(a, "val_accuracy") - mean(b, "val_accuracy")
        print(
            f"| {row} | {med(b, 'case_time_s'):.1f} -> {med(a, 'case_time_s'):.1f} "
            f"| {med(b, 'train_time_s'):.1f} -> {med(a, 'train_time_s'):.1f} "
            f"| {mean(b, 'val_accuracy'):.4f} -> {mean(a, 'val_accuracy'):.4f} | {delta * 100:+.2f} pts "
            f"| {used} | {','.join(map(str, seeds))} |"
        )


if __name__ == "__main__":
    main()
