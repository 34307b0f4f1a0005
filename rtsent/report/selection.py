"""Selection on validation (`rtsent-report --select val`): per method, the configuration (swept values
and epoch) with the best mean validation accuracy, reported on the held-out test split.

A candidate is a (grid row, epoch) pair: every epoch of a record's learning curve is one (the epochs a
run passed through cost nothing more to consider), and a record without a curve (`svm`) is one at its
end. Candidates are compared on the seeds that all candidates of the method share, so a configuration
re-run on more seeds neither gains nor loses by it; the chosen one's test accuracy is then reported
over every seed it ran. The one-standard-error rule (Hastie, Tibshirani & Friedman, *The Elements of
Statistical Learning*, 2nd ed., §7.10): a candidate within one standard error of the best may win when
its training is cheaper, counted in optimizer steps (fewer epochs); among equal steps the better one
wins. Test accuracy never enters the choice.

Reads records only (no torch import).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from rtsent.report.stats import bootstrap_interval, t_interval
from rtsent.report.summary import correct, pair_row
from rtsent.schema.caseid import format_number
from rtsent.schema.records import STATUS_WITH_COST, STATUS_WITH_METRICS, configuration_row, decode_labels
from rtsent.schema.records import number as _number

# a selection per labelled-set size too (`per_class`, rtsent.report.sizes; None: the whole training split)
GROUP = ("profile", "model", "method", "precision", "per_class", "validation_split")


@dataclass
class Point:
    """One seed of one candidate: its metrics at one epoch (the final ones for a record without a curve)."""

    seed: int
    epoch: float | None
    val_accuracy: float
    test_accuracy: float | None
    train_time_s: float | None  # training seconds up to this epoch, evaluation excluded
    steps: float  # optimizer steps up to this epoch (0 for a method without gradient steps)
    val_predictions: str | None
    val_labels: str | None
    test_predictions: str | None
    test_labels: str | None


@dataclass
class Candidate:
    row: str
    epoch: float | None
    swept: dict[str, Any]
    lr: float | None
    trainable: float | None
    points: dict[int, Point] = field(default_factory=dict)  # by seed

    def mean(self, attribute: str, seeds: list[int] | None = None) -> float | None:
        values = [getattr(p, attribute) for s, p in self.points.items() if seeds is None or s in seeds]
        values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
        return float(np.mean(values)) if values else None


def candidates(records: list[dict[str, Any]]) -> dict[tuple, dict[tuple, Candidate]]:
    """{group key: {(row, epoch): candidate}} from records that carry metrics."""
    groups: dict[tuple, dict[tuple, Candidate]] = defaultdict(dict)
    for record in records:
        if record.get("status") not in STATUS_WITH_METRICS or _number(record.get("val_accuracy")) is None:
            continue
        key = tuple(record.get(k) for k in GROUP)
        curve = [
            p for p in record.get("curve") or [] if isinstance(p, dict) and _number(p.get("val_accuracy")) is not None
        ]
        points = curve or [{**record, "epoch": None}]
        row = configuration_row(record)
        for point in points:
            epoch = _number(point.get("epoch"))
            candidate = groups[key].setdefault(
                (row, epoch),
                Candidate(
                    row=row,
                    epoch=epoch,
                    swept=dict(record.get("swept") or {}),
                    lr=_number(record.get("lr")),
                    trainable=_number(record.get("trainable_params")),
                ),
            )
            candidate.points[int(record["seed"])] = Point(
                seed=int(record["seed"]),
                epoch=epoch,
                val_accuracy=float(point["val_accuracy"]),
                test_accuracy=_number(point.get("test_accuracy")),
                train_time_s=_number(point.get("train_time_s")),
                steps=_number(point.get("step")) or _number((record.get("train_info") or {}).get("steps")) or 0.0,
                val_predictions=point.get("val_predictions"),
                val_labels=record.get("val_labels"),
                test_predictions=point.get("test_predictions"),
                test_labels=record.get("test_labels"),
            )
    return groups


def _standard_error(candidate: Candidate, seeds: list[int]) -> float:
    """Over seeds when there are several; else the binomial standard error on the validation examples."""
    values = [candidate.points[s].val_accuracy for s in seeds if s in candidate.points]
    if len(values) >= 2:
        return float(np.std(values, ddof=1) / math.sqrt(len(values)))
    labels = next((p.val_labels for p in candidate.points.values() if isinstance(p.val_labels, str)), None)
    n = len(decode_labels(labels, "val_labels")) if labels else 0
    p = values[0] if values else 0.0
    return math.sqrt(p * (1 - p) / n) if n else 0.0


@dataclass
class Selection:
    group: tuple
    candidates: dict[tuple, Candidate] = field(repr=False)
    chosen: Candidate
    best: Candidate  # highest mean validation accuracy; differs from `chosen` when the one-SE rule decided
    selection_seeds: list[int]
    standard_error: float
    tried: int  # candidates (configuration × epoch) considered
    configurations: int  # grid rows (or search trials) run, pruned trials included
    tuning_cost_s: float  # training seconds summed over every configuration and seed run, pruned trials included
    pruned: int = 0  # of the configurations, trials the search's pruner stopped (rtsent.case.trials)


def select(records: list[dict[str, Any]], *, one_se: bool = True) -> list[Selection]:
    """One selection per (profile, model, method, precision, labelled-set size), chosen on validation
    accuracy alone."""
    runs: dict[tuple, float] = defaultdict(float)
    rows: dict[tuple, set[str]] = defaultdict(set)
    pruned: dict[tuple, set[str]] = defaultdict(set)
    for record in records:
        if record.get("status") in STATUS_WITH_COST:  # a pruned trial trained too: its seconds count, its curve not
            key = tuple(record.get(k) for k in GROUP)
            runs[key] += _number(record.get("train_time_s")) or 0.0
            row = configuration_row(record)
            rows[key].add(row)
            if record["status"] == "pruned":
                pruned[key].add(row)
    out = []
    for key, group in candidates(records).items():
        seed_sets = [set(c.points) for c in group.values()]
        shared = sorted(set.intersection(*seed_sets)) if seed_sets else []
        seeds = shared or sorted(set.union(*seed_sets))
        # in (row, epoch) order, so that max/min settle exact ties the same way whatever the files' order
        ordered = sorted(group.values(), key=lambda c: (c.row, c.epoch if c.epoch is not None else -1.0))
        scored = [(c.mean("val_accuracy", seeds), c) for c in ordered if c.mean("val_accuracy", seeds) is not None]
        # ties: the cheaper, then the first in (row, epoch) order
        best_score, best = max(scored, key=lambda sc: (sc[0], -_cost(sc[1], seeds)))
        error = _standard_error(best, seeds) if one_se else 0.0
        eligible = [c for score, c in scored if score >= best_score - error - 1e-12]
        chosen = min(eligible, key=lambda c: (_cost(c, seeds), -(c.mean("val_accuracy", seeds) or 0)))
        out.append(
            Selection(
                group=key,
                candidates=group,
                chosen=chosen,
                best=best,
                selection_seeds=seeds,
                standard_error=error,
                tried=len(group),
                configurations=len(rows[key]),
                tuning_cost_s=runs[key],
                pruned=len(pruned[key]),
            )
        )
    return out


def _cost(candidate: Candidate, seeds: list[int]) -> float:
    """Training cost as optimizer steps: deterministic, where measured seconds of equal work differ by
    noise (a rule on seconds would pick among equals by chance). Equal steps tie; the better one wins."""
    cost = candidate.mean("steps", seeds)
    return cost if cost is not None else math.inf


def describe(candidate: Candidate) -> str:
    """The chosen values as a reader wants them: `lr 5e-4, r 16, epoch 3`."""
    parts = [f"lr {format_number(candidate.lr)}"] if candidate.lr is not None else []
    for key, value in candidate.swept.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        parts.append(f"{key} {format_number(value) if number else value}")
    if candidate.epoch is not None:
        parts.append(f"epoch {format_number(candidate.epoch)}")
    return ", ".join(parts) or "(defaults)"


def _test_interval(candidate: Candidate) -> tuple[float, float, str] | None:
    values = [p.test_accuracy for p in candidate.points.values() if p.test_accuracy is not None]
    if len(values) >= 2:
        return (*t_interval(np.asarray(values)), "t")
    point = next(iter(candidate.points.values()))
    hits = correct(point.test_predictions, point.test_labels)
    return (*bootstrap_interval(hits), "boot") if hits.size else None


def selected_table(selections: list[Selection]) -> list[dict[str, Any]]:
    """Display rows of the selected configurations (strings and numbers, formatted by the reporter)."""
    rows = []
    for s in selections:
        c = s.chosen
        tests = [p.test_accuracy for p in c.points.values() if p.test_accuracy is not None]
        interval = _test_interval(c)
        best_val = s.best.mean("val_accuracy", s.selection_seeds)
        rule = "best val" if c is s.best else f"one-SE rule (best val: {describe(s.best)}, {best_val:.3f})"
        rows.append(
            {
                "profile / model": f"{s.group[0]} / {s.group[1]}",
                "method": _method(s),
                "chosen": describe(c),
                "val acc": f"{c.mean('val_accuracy'):.3f}",
                "test acc": f"{np.mean(tests):.3f}" + (f" ± {np.std(tests, ddof=1):.3f}" if len(tests) > 1 else "")
                if tests
                else "–",
                "test 95% CI": f"[{interval[0]:.3f}, {interval[1]:.3f}] {interval[2]}" if interval else "–",
                "seeds": len(c.points),
                "trainable": f"{int(c.trainable):,}" if c.trainable is not None else "–",
                "train s": _seconds(c.mean("train_time_s")),
                "tuning cost s": _seconds(s.tuning_cost_s),
                "tried": f"{s.configurations} configs"
                + (f" ({s.pruned} pruned)" if s.pruned else "")
                + (f", {s.tried} (config, epoch) candidates" if s.tried != s.configurations - s.pruned else ""),
                "decided by": rule,
            }
        )
    return rows


def _method(selection: Selection) -> str:
    """ "lora-bf16", or "lora-bf16 at 8/class" for a labelled-set size."""
    _, _, method, precision, per_class, validation = selection.group
    size = f" at {per_class}/class" if per_class is not None else ""
    return f"{method}-{precision}{size}" + (" (validation drawn)" if validation == "drawn" else "")


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def pairs_on_test(selections: list[Selection]) -> list[dict[str, Any]]:
    """Exact McNemar on test predictions between selected configurations of one profile and model."""
    out = []
    for a, b in combinations(selections, 2):
        if a.group[:2] != b.group[:2] or a.group[4:] != b.group[4:]:  # one profile, model, size and validation
            continue
        seeds = sorted(set(a.chosen.points) & set(b.chosen.points))
        hits = [
            (correct(pa.test_predictions, pa.test_labels), correct(pb.test_predictions, pb.test_labels))
            for pa, pb in ((a.chosen.points[s], b.chosen.points[s]) for s in seeds)
        ]
        row = pair_row(_method(a), _method(b), hits)
        if row:
            out.append(row)
    return out


def as_sweep(selections: list[Selection]) -> dict[str, dict[str, list[Any]]]:
    """The chosen configurations as a sweep table (one value per key), to re-run them on more seeds."""
    table: dict[str, dict[str, list[Any]]] = {}
    for s in selections:
        method, c = s.group[2], s.chosen
        entry = {"lr": [c.lr]} if c.lr is not None and "lr" not in c.swept else {}
        entry.update({k: [list(v) if isinstance(v, list | tuple) else v] for k, v in c.swept.items()})
        if method in table and table[method] != entry:
            raise ValueError(f"method {method!r} was selected twice with other values (another profile or precision)")
        if entry:  # a method run without lr or swept values (svm off a plain grid) re-runs as the grid has it
            table[method] = entry
    return table


def chosen_epochs(selections: list[Selection]) -> dict[str, float]:
    """{method: the epoch its chosen candidate stops at}, for the methods chosen at a learning-curve point
    (not `svm`, nor a method without a curve): where a re-run of it needs to train no further
    (`--rtsent-stop=selected`). The selection on more seeds then chooses the same candidate: it compares
    candidates on the seeds they all share, which a re-run of the chosen one alone does not change."""
    out: dict[str, float] = {}
    for s in selections:
        method, epoch = s.group[2], s.chosen.epoch
        if epoch is None:
            continue
        if out.get(method, epoch) != epoch:
            raise ValueError(f"method {method!r} was selected twice at other epochs (another profile or precision)")
        out[method] = epoch
    return out


def _spread(candidate: Candidate, seeds: list[int]) -> float:
    values = [candidate.points[s].val_accuracy for s in seeds if s in candidate.points]
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def sweep_series(selection: Selection) -> dict[str, list[tuple[Any, float, float]]]:
    """{swept key: [(value, mean val acc, std over seeds)]} for every key with two or more values: at each
    value, the best candidate (over the other keys and the epochs) on the selection seeds."""
    seeds = selection.selection_seeds
    keys: dict[str, list] = defaultdict(list)
    for c in selection.candidates.values():
        for key, value in {**({"lr": c.lr} if c.lr is not None else {}), **c.swept}.items():
            keys[key].append(value)
    series = {}
    for key, every in keys.items():
        # a key with a list value (a sweep over tuples) or null among its values has no axis to draw on
        if not all(isinstance(v, int | float | str) for v in every) or len(values := set(every)) < 2:
            continue
        line = []
        for value in sorted(values, key=lambda v: (isinstance(v, str), v)):
            members = [
                c for c in selection.candidates.values() if ({"lr": c.lr} if key == "lr" else c.swept).get(key) == value
            ]
            scored = [(c.mean("val_accuracy", seeds), c) for c in members if c.mean("val_accuracy", seeds) is not None]
            if scored:
                score, best = max(scored, key=lambda sc: sc[0])
                line.append((value, score, _spread(best, seeds)))
        series[key] = line
    return series


def curve_series(selection: Selection) -> list[tuple[float, float, float]]:
    """[(epoch, mean val acc, std over seeds)] of the chosen configuration's learning curve (empty without one)."""
    row = selection.chosen.row
    points = [c for (r, epoch), c in selection.candidates.items() if r == row and epoch is not None]
    return [
        (c.epoch, c.mean("val_accuracy"), _spread(c, sorted(c.points))) for c in sorted(points, key=lambda c: c.epoch)
    ]
