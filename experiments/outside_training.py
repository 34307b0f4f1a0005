"""Where a case's time goes outside training, before -> after, from pytest-benchmark JSON files.

    python experiments/outside_training.py --before B.json --after A.json [--trainer DIR]

Per row: the whole case (pytest-benchmark's one round), its training window (the optimizer steps, or
the frozen pass plus the fit for `svm`/`head`, the frozen pass counted in the case that paid it), the
per-epoch and final evaluations (the curve's points),
the serving phase (`serving_time_s`; before that field existed: what is left of the case after the
other three, shown in brackets), and the share of the case spent outside training. With --trainer, the
plain HF-Trainer reproduction's per-method JSON files (../shared/tools/seed_reference.py --out DIR):
its whole time per method (process start included: `wall_seconds`) beside rtsent's. Reads JSON only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rtsent.schema.records import read_document

# rtsent's rows of the study's five cases -> the reference's method names
TRAINER_METHOD = {"svm": "svm", "head": "head", "full": "full", "lora-lr2e-5": "lora-2e-5", "lora-lr2e-4": "lora-2e-4"}


def parts(record: dict) -> dict[str, float]:
    """Seconds of a case: whole, training, evaluations (curve points; the final one if no curve), serving."""
    case = record["case_time_s"]
    frozen = record.get("feature_time_s") or 0  # the shared frozen pass: paid by the first case that needs it
    train = (record.get("train_time_s") or 0) + (frozen if frozen < case else 0)
    curve = record.get("curve") or []
    evaluation = sum(p["eval_time_s"] for p in curve) if curve else (record.get("eval_time_s") or 0)
    serving = record.get("serving_time_s")
    return {"case": case, "train": train, "eval": evaluation, "serving": serving, "rest": case - train - evaluation}


def load(path: str) -> dict[str, dict]:
    out = {}
    for bench in read_document(path)["benchmarks"]:
        record = {**bench["extra_info"], "case_time_s": bench["stats"]["mean"]}
        out[record["row"]] = record
    return out


def trainer_seconds(folder: str | None, row: str) -> float | None:
    if folder is None:
        return None
    key = next((m for prefix, m in TRAINER_METHOD.items() if row.startswith(f"{prefix}-")), None)
    path = Path(folder) / f"{key}.json"
    return json.loads(path.read_text())["wall_seconds"] if key and path.is_file() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--trainer")
    args = parser.parse_args()
    before, after = load(args.before), load(args.after)
    head = "| case | case s | train s | eval s | serving s | outside training | Trainer s |"
    print(head + "\n|---|---|---|---|---|---|---|")
    totals = {"before": 0.0, "after": 0.0, "trainer": 0.0}
    for row in after:
        if row not in before:
            continue
        old, new = parts(before[row]), parts(after[row])
        trainer = trainer_seconds(args.trainer, row)
        totals["before"] += old["case"]
        totals["after"] += new["case"]
        totals["trainer"] += trainer or 0

        def serving(p: dict) -> str:
            return f"{p['serving']:.1f}" if p["serving"] is not None else f"[{p['rest']:.1f}]"

        def share(p: dict) -> str:
            return f"{100 * (p['case'] - p['train']) / p['case']:.0f}%"

        print(
            f"| {row} | {old['case']:.1f} -> {new['case']:.1f} | {old['train']:.1f} -> {new['train']:.1f} "
            f"| {old['eval']:.1f} -> {new['eval']:.1f} | {serving(old)} -> {serving(new)} "
            f"| {share(old)} -> {share(new)} | {f'{trainer:.1f}' if trainer else '–'} |"
        )
    line = f"\nSum of the cases: {totals['before']:.0f} s -> {totals['after']:.0f} s"
    if totals["trainer"]:
        line += (
            f"; plain Trainer {totals['trainer']:.0f} s: "
            f"{totals['before'] / totals['trainer']:.2f} -> {totals['after'] / totals['trainer']:.2f} of it"
        )
    print(line)


if __name__ == "__main__":
    main()
