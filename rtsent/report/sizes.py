"""Accuracy against labelled-set size (`rtsent-report --by train_size`): per method and size, test
accuracy over the draws (rtsent.data.draws: each seed its own examples), and at each size the best
method with every method within one standard error of it.

The size of a record is its `per_class` (examples per class; null: the whole training split, shown
"all"). A method's line is its row without the size parts (`per_class`, `validation`), so one method
at every size is one line of the plot. The interval is the 95% t interval over draws (a bootstrap over
the test examples for one draw); the standard error that decides "within one SE of the best" is the
best's, over draws (binomial on the test examples for one draw); McNemar compares each method with the
best on the same test examples, discordant pairs summed over the seeds (draws) both ran.

Reads records only (no torch import).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from rtsent.report.stats import bootstrap_interval, t_interval
from rtsent.report.summary import correct, pair_row
from rtsent.schema.caseid import CaseId
from rtsent.schema.records import STATUS_WITH_METRICS, number

SIZE_PARTS = ("per_class", "validation")  # the case-id parts the size axis adds (rtsent.plan.cases.CaseConfig)


def method_row(row: str) -> str:
    """The row without its size parts: "lora-lr2e-4-per_class8-bf16" -> "lora-lr2e-4-bf16"."""
    case = CaseId.parse_row(row)
    return CaseId(case.method, case.lr, tuple(p for p in case.parts if p[0] not in SIZE_PARTS), case.precision).row


def size_label(per_class: int | None, rows: float | None) -> str:
    """ "8/class (16)", "all (8,530)"."""
    shown = f" ({rows:,.0f})" if rows is not None else ""
    return ("all" if per_class is None else f"{per_class}/class") + shown


def size_table(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, size, method), sizes ascending ("all" last), methods by mean test accuracy:
    draws, train rows, test accuracy mean and 95% interval, its standard error, train seconds (training
    plus the frozen pass over the training split), trainable parameters, and against the size's best method the
    verdict ("best", "within 1 SE", "") and McNemar's p on test."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("status") not in STATUS_WITH_METRICS or number(record.get("test_accuracy")) is None:
            continue
        # an unsized record (validation_split null) was validated on the whole split, as "full" sized ones are
        validation = record.get("validation_split") or "full"
        key = (record.get("profile"), record.get("model"), validation, record.get("per_class"))
        groups[(*key, method_row(record["row"]))].append(record)
    rows = []
    for (profile, model, validation, per_class, method), group in groups.items():
        seeds = {int(r["seed"]): r for r in group}  # one record a seed (a seed is a draw)
        accuracies = np.array([float(r["test_accuracy"]) for r in seeds.values()])
        hits = {s: correct(r.get("test_predictions"), r.get("test_labels")) for s, r in seeds.items()}
        if len(accuracies) >= 2:
            low, high = t_interval(accuracies)
            error = float(accuracies.std(ddof=1) / math.sqrt(len(accuracies)))
        else:
            one = next(iter(hits.values()))
            low, high = bootstrap_interval(one) if one.size else (math.nan, math.nan)
            p = float(accuracies[0])
            error = math.sqrt(p * (1 - p) / one.size) if one.size else math.nan
        cost = [(number(r.get("train_time_s")) or 0.0) + _feature_seconds(r) for r in group]
        rows.append(
            {
                "model": model if profile is None else f"{profile} / {model}",
                "per_class": per_class,
                "validation": validation,
                "train rows": float(np.mean([number(r.get("train_rows")) or math.nan for r in group])),
                "method": method,
                "draws": len(seeds),
                "test acc": float(accuracies.mean()),
                "95% interval": (float(low), float(high)),
                "SE": error,
                "train s": float(np.mean(cost)),
                "trainable": number(group[0].get("trainable_params")),
                "_hits": hits,
            }
        )
    rows.sort(
        key=lambda r: (
            str(r["model"]),
            str(r["validation"]),
            math.inf if r["per_class"] is None else r["per_class"],
            -r["test acc"],
        )
    )
    for _, block in _blocks(rows):
        best = block[0]
        for row in block:
            shared = sorted(set(best["_hits"]) & set(row["_hits"]))
            pair = pair_row(best["method"], row["method"], [(best["_hits"][s], row["_hits"][s]) for s in shared])
            row["p vs best"] = None if row is best or pair is None else pair["p (McNemar)"]
            within = not math.isnan(best["SE"]) and row["test acc"] >= best["test acc"] - best["SE"]
            row["vs best"] = "best" if row is best else ("within 1 SE" if within else "")
    for row in rows:
        del row["_hits"]
    return rows


def _feature_seconds(record: dict[str, Any]) -> float:
    """The frozen pass a frozen-feature method's fit needed: the training split's (older records: all splits')."""
    own = number(record.get("train_feature_time_s"))
    return own if own is not None else number(record.get("feature_time_s")) or 0.0


def _blocks(rows: list[dict[str, Any]]) -> list[tuple[tuple, list[dict[str, Any]]]]:
    """The rows of each (profile and model, validation, size), in order; each block's first row is its best
    (rows are sorted)."""
    blocks: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        blocks.setdefault((row["model"], row["validation"], row["per_class"]), []).append(row)
    return list(blocks.items())


def shown_rows(table: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Display strings of `size_table`'s rows."""
    models = len({row["model"] for row in table}) > 1
    out = []
    for row in table:
        low, high = row["95% interval"]
        shown = {"model": str(row["model"])} if models else {}
        shown |= {
            "size": size_label(row["per_class"], None if math.isnan(row["train rows"]) else row["train rows"])
            + (", validation drawn" if row["validation"] == "drawn" else ""),
            "method": row["method"],
            "draws": str(row["draws"]),
            "test acc": f"{row['test acc']:.3f}",
            "95% interval": "–" if math.isnan(low) else f"[{low:.3f}, {high:.3f}]",
            "vs best": row["vs best"],
            "p vs best": "–" if row["p vs best"] is None else f"{row['p vs best']:.3g}",
            "train s": f"{row['train s']:,.1f}",
            "trainable": "–" if row["trainable"] is None else f"{int(row['trainable']):,}",
        }
        out.append(shown)
    return out
