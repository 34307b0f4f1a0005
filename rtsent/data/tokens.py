"""Token ids of the splits (`tokenize`: cut, never padded) and a table of each split's rows, classes
and token lengths (`split_stats`, the study's exercise 1.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from datasets import DatasetDict

from rtsent.data.classes import label_names_of


def token_limit(tokenizer: Any, max_length: int | None) -> int:
    """Where inputs are cut, in tokens: `max_length`, else the tokenizer's limit, at most 512."""
    return max_length or min(getattr(tokenizer, "model_max_length", 512), 512)


def tokenize(splits: DatasetDict, tokenizer: Any, *, max_length: int | None = None) -> DatasetDict:
    """`input_ids` per row, truncated at `max_length` (default: the model's limit), not padded.

    Padding belongs to batching (dynamic, per batch), so nothing is padded here.
    """
    limit = token_limit(tokenizer, max_length)

    def encode(batch: dict[str, list]) -> dict[str, list]:
        encoded = tokenizer(batch["text"], truncation=True, max_length=limit)
        return {"input_ids": encoded["input_ids"], "length": [len(ids) for ids in encoded["input_ids"]]}

    import datasets

    shown = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a bar per split per case drowns the benchmark's output
    try:
        return splits.map(encode, batched=True, batch_size=1000)
    finally:
        if shown:
            datasets.enable_progress_bars()


def split_stats(
    splits: DatasetDict, tokenizer: Any | None = None, *, percentiles: Sequence[int] = (50, 90, 99)
) -> list[dict[str, Any]]:
    """Per split: rows, rows per class (`n:NAME`, the ClassLabel's names), the rarest class's share
    of the rows and (with a tokenizer) token-length percentiles and max."""
    rows = []
    for name, split in splits.items():
        labels, names = np.asarray(split["label"], dtype=np.int64), label_names_of(split)
        counts = np.bincount(labels, minlength=len(names))
        row: dict[str, Any] = {"split": name, "rows": len(split)}
        row.update({f"n:{label}": int(count) for label, count in zip(names, counts, strict=False)})
        row["rarest_share"] = float(counts.min() / len(split)) if len(split) else 0.0
        if tokenizer is not None:
            lengths = np.array([len(ids) for ids in tokenizer(list(split["text"]))["input_ids"]])
            for p in percentiles:
                row[f"p{p}"] = float(np.percentile(lengths, p))
            row["max"] = int(lengths.max())
        rows.append(row)
    return rows


def format_stats(rows: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers="keys", floatfmt=".3g", tablefmt="github")
