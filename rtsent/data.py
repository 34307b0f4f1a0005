"""The Rotten Tomatoes splits, from the hub, the original Cornell files or split files.

Sources: `rt-polarity` (the Cornell files shipped inside this package, CC BY 4.0: no download), a
folder holding `rt-polarity.pos`/`.neg` or train/validation/test split files, or a hub dataset id.

Every source ends as the same `datasets.DatasetDict` with splits train / validation / test and
columns `text` (str) and `label` (int, 0 = neg, 1 = pos), in the hub dataset's order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

HUB_DATASET = "cornell-movie-review-data/rotten_tomatoes"
# The Cornell files shipped with rtsent (rtsent/rt-polaritydata/README.md: licence, sha256, split procedure).
PACKAGED_DATA = "rt-polarity"
PACKAGED_DATA_FOLDER = Path(__file__).parent / "rt-polaritydata"
SPLITS = ("train", "validation", "test")
POLARITY_FILES = ("rt-polarity.pos", "rt-polarity.neg")
SPLIT_FILE_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json"}
FEATURES = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})


class DataSourceError(ValueError):
    """A data source that cannot give the three splits; the message is one line."""


def load_splits(
    source: str = HUB_DATASET, *, max_train_samples: int | None = None, sample_seed: int = 0
) -> DatasetDict:
    """The three splits from `source`: `rt-polarity` (packaged), a folder of rt-polarity files or split
    files, else a hub id. Raises `DataSourceError` (one line) for a source that cannot give them.

    `max_train_samples` keeps a stratified sample of the training split drawn with `sample_seed`
    (the splits are ordered by label, so a prefix would hold one class only).
    """
    path = PACKAGED_DATA_FOLDER if source == PACKAGED_DATA else Path(source).expanduser()
    if path.is_dir():
        names = {p.name for p in path.iterdir()}
        if any(name in names for name in POLARITY_FILES):
            splits = _from_polarity_files(path)
        else:
            splits = _from_split_files(path)
    elif path.exists():
        raise DataSourceError(f"data source {source!r} is a file; expected a folder or a hub dataset id")
    elif source.startswith((".", "/", "~")):
        raise DataSourceError(f"data folder {source!r} does not exist")
    else:
        splits = _from_hub(source)
    if max_train_samples is not None:
        splits["train"] = stratified_sample(splits["train"], max_train_samples, seed=sample_seed)
    return splits


def _from_polarity_files(folder: Path) -> DatasetDict:
    """Rebuild the hub splits exactly as its loading script does (see the data folder's README)."""
    lines = {}
    for name in POLARITY_FILES:
        file = folder / name
        if not file.is_file():
            raise DataSourceError(f"data folder {str(folder)!r} lacks {name!r}; it needs both {POLARITY_FILES}")
        # Latin-1 decodes any byte, as the hub script reads it; universal newlines, then strip().
        with open(file, encoding="latin-1") as handle:
            lines[name] = [line.strip() for line in handle.readlines()]
        if not lines[name]:
            raise DataSourceError(f"data file {str(file)!r} is empty")
    pos, neg = lines["rt-polarity.pos"], lines["rt-polarity.neg"]
    cuts = {}
    for name, rows in (("pos", pos), ("neg", neg)):
        cuts[name] = (int(len(rows) * 0.8 + 0.5), int(len(rows) * 0.9 + 0.5))
    bounds = {
        "train": (slice(0, cuts["pos"][0]), slice(0, cuts["neg"][0])),
        "validation": (slice(*cuts["pos"]), slice(*cuts["neg"])),
        "test": (slice(cuts["pos"][1], None), slice(cuts["neg"][1], None)),
    }
    out = {}
    for split, (pos_slice, neg_slice) in bounds.items():
        texts = pos[pos_slice] + neg[neg_slice]
        labels = [1] * len(pos[pos_slice]) + [0] * len(neg[neg_slice])
        out[split] = Dataset.from_dict({"text": texts, "label": labels}, features=FEATURES)
    return DatasetDict(out)


def _from_split_files(folder: Path) -> DatasetDict:
    out = {}
    for split in SPLITS:
        found = [folder / f"{split}{ext}" for ext in SPLIT_FILE_FORMATS if (folder / f"{split}{ext}").is_file()]
        if not found:
            wanted = ", ".join(f"{split}{ext}" for ext in SPLIT_FILE_FORMATS)
            raise DataSourceError(
                f"data folder {str(folder)!r} has no {split!r} split: expected one of {wanted}, "
                f"or the files {POLARITY_FILES}"
            )
        out[split] = _read_split_file(found[0])
    return DatasetDict(out)


def _read_split_file(file: Path) -> Dataset:
    import pandas as pd

    try:
        if file.suffix == ".parquet":
            frame = pd.read_parquet(file)
        elif file.suffix == ".csv":
            frame = pd.read_csv(file, encoding="utf-8", keep_default_na=False)
        else:
            frame = pd.read_json(file, lines=True, encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataSourceError(f"split file {str(file)!r} is not UTF-8 ({error.reason} at byte {error.start})") from None
    except ValueError as error:  # pandas' parse errors, empty files included
        raise DataSourceError(f"split file {str(file)!r} does not parse: {str(error).splitlines()[0]}") from None
    missing = [column for column in ("text", "label") if column not in frame.columns]
    if missing:
        raise DataSourceError(
            f"split file {str(file)!r} lacks column(s) {missing}; "
            f"it has {list(frame.columns)}, needs 'text' and 'label'"
        )
    if len(frame) == 0:
        raise DataSourceError(f"split file {str(file)!r} has no rows")
    bad = sorted({repr(v) for v in frame["label"].tolist() if v not in (0, 1)})
    if bad:
        raise DataSourceError(
            f"split file {str(file)!r} has labels {', '.join(bad[:5])}; labels must be 0 (neg) or 1 (pos)"
        )
    return Dataset.from_dict(
        {"text": [str(t) for t in frame["text"].tolist()], "label": [int(v) for v in frame["label"].tolist()]},
        features=FEATURES,
    )


def _from_hub(dataset_id: str) -> DatasetDict:
    from datasets import load_dataset

    try:
        loaded = load_dataset(dataset_id)
    except Exception as error:  # the hub client raises several unrelated types when offline
        raise DataSourceError(
            f"cannot load data {dataset_id!r} from the Hugging Face hub and it is not cached "
            f"({type(error).__name__}); use the packaged copy (--rtsent-data={PACKAGED_DATA}) or point "
            f"--rtsent-data (or RTSENT_DATA) at a folder holding rt-polarity.pos/.neg or "
            f"train/validation/test split files"
        ) from None
    missing = [split for split in SPLITS if split not in loaded]
    if missing:
        raise DataSourceError(f"hub dataset {dataset_id!r} lacks split(s) {missing}; it has {list(loaded)}")
    return DatasetDict({split: loaded[split].select_columns(["text", "label"]) for split in SPLITS})


def stratified_sample(split: Dataset, n: int, *, seed: int) -> Dataset:
    """`n` rows with the split's label balance, drawn with `seed`, kept in their original order."""
    if n < 2 or n > len(split):
        raise DataSourceError(
            f"max_train_samples={n} is out of range; the training split has {len(split)} rows (need 2..{len(split)})"
        )
    if n == len(split):
        return split
    from sklearn.model_selection import train_test_split

    labels = np.asarray(split["label"])
    keep, _ = train_test_split(np.arange(len(split)), train_size=n, stratify=labels, random_state=seed)
    return split.select(np.sort(keep))


def split_hash(split: Dataset) -> str:
    """sha256 over `label<TAB>text<LF>` rows: equal hashes mean the same texts, labels and order."""
    digest = hashlib.sha256()
    for text, label in zip(split["text"], split["label"], strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def tokenize(splits: DatasetDict, tokenizer: Any, *, max_length: int | None = None) -> DatasetDict:
    """`input_ids` per row, truncated at `max_length` (default: the model's limit), not padded.

    Padding belongs to batching (dynamic, per batch), so nothing is padded here.
    """
    limit = max_length or min(getattr(tokenizer, "model_max_length", 512), 512)

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
    """Rows, label balance and (with a tokenizer) token-length percentiles and max, per split."""
    rows = []
    for name, split in splits.items():
        labels = np.asarray(split["label"])
        row: dict[str, Any] = {
            "split": name,
            "rows": len(split),
            "pos": int(labels.sum()),
            "pos_share": float(labels.mean()),
        }
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
