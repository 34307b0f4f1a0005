"""From records to table rows: one row per case, then one per (profile, model, row) with its
aggregates, and the pairwise McNemar tests. No torch here (the reporter's side)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from rtsent.report.stats import bootstrap_interval, mcnemar, t_interval
from rtsent.schema.records import MEASURES, STATUS_WITH_METRICS, decode_labels

KEYS = ["profile", "model", "row"]
COLUMNS = {
    # column: (record field, aggregated as, larger is better)
    "val acc": ("val_accuracy", "mean±std", True),
    "val acc 95% CI": ("val_accuracy", "ci", None),
    "val F1": ("val_f1", "mean±std", True),
    "test acc": ("test_accuracy", "mean±std", True),
    "test F1": ("test_f1", "mean±std", True),
    "train s": ("train_time_s", "mean", False),
    "features s": ("feature_time_s", "mean", False),
    "peak MiB": ("peak_mib", "max", False),
    "trainable": ("trainable_params", "first", False),
    "trainable %": ("trainable_pct", "first", False),
    "tokens/s": ("train_tokens_per_s", "mean", True),
    "FLOP/s used": ("flops_utilization", "mean", True),  # achieved (6·N·tokens) / calibrated matmul peak
    "padding %": ("train_padding_pct", "mean", False),
    "eval s": ("eval_time_s", "mean", False),
    "reserved MiB": ("reserved_mib", "max", False),  # CUDA allocator's reserved peak during training
    # serving cost (rtsent.case.serving): batch-1 latency over 200 validation sentences, throughput over the split
    "latency p50 ms": ("latency_p50_ms", "mean", False),
    "latency p95 ms": ("latency_p95_ms", "mean", False),
    "sent/s": ("throughput_sent_per_s", "mean", True),
    "merged p50 ms": ("merged_latency_p50_ms", "mean", False),  # LoRA-family adapters merged into the weights
    "merged sent/s": ("merged_throughput_sent_per_s", "mean", True),
    "stored MiB": ("stored_mib", "max", False),  # what a task keeps beside the shared base model
    "stored %": ("stored_pct", "max", False),  # of the base model's bytes
    "n": ("seed", "count", None),
    "status": ("status", "statuses", None),
}
_SERVING = {"latency p50 ms", "latency p95 ms", "sent/s", "merged p50 ms", "merged sent/s", "stored MiB", "stored %"}
# shown when --columns names them
_ON_REQUEST = {"tokens/s", "FLOP/s used", "padding %", "eval s", "reserved MiB", *_SERVING}
DEFAULT_COLUMNS = [name for name in COLUMNS if name not in _ON_REQUEST]
NUMERIC = tuple(name for name, measure in MEASURES.items() if measure.tabled)  # read as floats


def case_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per record (as `rtsent.schema.records.read_document` accepts them), numeric fields as floats
    (NaN where not measured), plus the derived columns the table shows."""
    frame = pd.DataFrame(list(records))
    if "recipe" in frame and "row" in frame:
        # a re-run stopped at its selected epoch (Recipe.stop_epochs) ends as another model than its whole-schedule
        # runs: its headline metrics are a row of their own (the selection, per epoch, pools them)
        stops = [r.get("stop_epochs") if isinstance(r, dict) else None for r in frame["recipe"]]
        frame["row"] = [
            row if stop is None else f"{row} (stopped at epoch {stop:g})"
            for row, stop in zip(frame["row"], stops, strict=True)
        ]
    for column in NUMERIC:
        # absent, null and NaN all mean "not measured"
        frame[column] = pd.to_numeric(frame[column], errors="coerce") if column in frame else np.nan
    # on CUDA the GPU's allocated peak is the memory that matters; on CPU the process's RSS peak
    cuda = frame["train_cuda_max_allocated_bytes"]
    rss = frame[["train_peak_rss_bytes", "feature_peak_rss_bytes"]].max(axis=1)
    frame["peak_mib"] = (cuda if cuda.notna().any() else rss) / 2**20
    total = frame["total_params"].where(frame["total_params"] > 0)
    frame["trainable_pct"] = 100 * frame["trainable_params"] / total
    frame["train_padding_pct"] = 100 * frame["train_padding_share"]
    frame["reserved_mib"] = frame["train_cuda_max_reserved_bytes"] / 2**20
    frame["stored_mib"] = frame["stored_bytes"] / 2**20
    frame["stored_pct"] = 100 * frame["stored_bytes"] / frame["base_model_bytes"].where(frame["base_model_bytes"] > 0)
    if "has_weights" in frame:  # a case that failed before its verdict has no accuracy_meaningful
        meaningful = frame.get("accuracy_meaningful", pd.Series(None, index=frame.index, dtype=object))
        frame["accuracy_meaningful"] = meaningful.where(meaningful.notna(), frame["has_weights"])
    return frame


def correct(predictions: Any, labels: Any) -> np.ndarray:
    """Per example, prediction == label, from the records' label strings (`decode_labels`); empty when
    either is missing or their lengths differ."""
    if not isinstance(predictions, str) or not isinstance(labels, str):
        return np.array([], dtype=bool)
    predicted, true = decode_labels(predictions, "predictions"), decode_labels(labels, "labels")
    return predicted == true if len(predicted) == len(true) else np.array([], dtype=bool)


def _correct(record: pd.Series) -> np.ndarray:
    return correct(record.get("val_predictions"), record.get("val_labels"))


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (profile, model, row) with numeric aggregates; failed and skipped cases counted in
    `status` (a row with none that measured anything shows its statuses and empty cells)."""
    out = []
    for key, group in frame.groupby(KEYS, sort=False, dropna=False):
        ok = group[group["status"].isin(STATUS_WITH_METRICS)]
        row: dict[str, Any] = dict(zip(KEYS, key, strict=True))
        # random weights (accuracy_meaningful: false) anywhere in the row: its accuracy is not compared
        row["meaningful"] = not any(v is False for v in group.get("accuracy_meaningful", []))
        for name, (field, how, _) in COLUMNS.items():
            values = ok[field].dropna() if field in ok else pd.Series(dtype=float)
            if how == "statuses":
                counts = group["status"].value_counts()
                row[name] = ", ".join(f"{n} {s}" for s, n in counts.items())
            elif how == "count":
                row[name] = len(ok)
            elif how == "ci":
                row[name] = _interval(ok, values)
            elif values.empty:
                row[name] = None
            elif how == "mean±std":
                row[name] = (float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else None)
            elif how == "max":
                row[name] = float(values.max())
            elif how == "first":
                row[name] = float(values.iloc[0])
            else:
                row[name] = float(values.mean())
        row["floor"] = float(group["floor"].dropna().iloc[0]) if group["floor"].notna().any() else None
        out.append(row)
    return pd.DataFrame(out)


def _interval(ok: pd.DataFrame, values: pd.Series) -> tuple[float, float, str] | None:
    """t over seeds when there are several; else a bootstrap over one seed's examples."""
    if len(values) >= 2:
        return (*t_interval(values.to_numpy()), "t")
    if len(values) == 1:
        correct = _correct(ok.loc[values.index[0]])
        return (*bootstrap_interval(correct), "boot") if correct.size else None
    return None


def pairwise(frame: pd.DataFrame) -> pd.DataFrame:
    """McNemar on validation predictions for every pair of rows of one profile and model, discordant counts
    summed over shared seeds; pairs in the order of the rows' first appearance."""
    ok = frame[frame["status"].isin(STATUS_WITH_METRICS)]
    # Each row's per-seed correctness computed once, rows grouped by (profile, model): a pair costs one
    # McNemar, and rows of other models are never paired (slicing the frame per pair and seed made 1,000
    # records take minutes).
    rows: dict[tuple, dict[int, np.ndarray]] = {}
    for key, seed, predictions, labels in zip(
        zip(*(ok[k] for k in KEYS), strict=True),
        ok["seed"],
        ok.get("val_predictions", [None] * len(ok)),
        ok.get("val_labels", [None] * len(ok)),
        strict=True,
    ):
        rows.setdefault(key, {}).setdefault(seed, correct(predictions, labels))  # the first record of a seed
    order = {key: number for number, key in enumerate(rows)}
    models: dict[tuple, list[tuple]] = {}
    for key in rows:
        models.setdefault(key[:2], []).append(key)
    pairs = []
    for keys in models.values():
        for ka, kb in combinations(keys, 2):
            seeds = sorted(set(rows[ka]) & set(rows[kb]))
            row = pair_row(ka[2], kb[2], [(rows[ka][s], rows[kb][s]) for s in seeds]) if seeds else None
            if row:
                pairs.append(((order[ka], order[kb]), row))
    return pd.DataFrame([row for _, row in sorted(pairs, key=lambda p: p[0])])


def pair_row(a: str, b: str, hits: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any] | None:
    """One pairwise row: exact McNemar over per-seed (A correct, B correct) boolean arrays, pooled over
    the seeds whose arrays are non-empty and of one length; None when no seed qualifies."""
    hits = [(x, y) for x, y in hits if x.size and x.size == y.size]
    if not hits:
        return None
    only_a, only_b, p = mcnemar(np.concatenate([x for x, _ in hits]), np.concatenate([y for _, y in hits]))
    return {
        "A": a,
        "B": b,
        "seeds": len(hits),
        "A acc": float(np.mean([x.mean() for x, _ in hits])),
        "B acc": float(np.mean([y.mean() for _, y in hits])),
        "A only right": only_a,
        "B only right": only_b,
        "p (McNemar)": p,
    }
