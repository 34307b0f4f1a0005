"""The Rotten Tomatoes splits, from the hub, the original Cornell files or split files.

Sources: `rt-polarity` (the Cornell files shipped inside this package, CC BY 4.0: no download), a
folder holding `rt-polarity.pos`/`.neg` or train/validation/test split files, or a hub dataset id.

Every source ends as the same `datasets.DatasetDict` with splits train / validation / test and
columns `text` (str) and `label` (int, 0 = neg, 1 = pos), in the hub dataset's order. Every source
is checked row by row before use: a text must be a non-empty string (after `strip()`), a label the
integer 0 or 1 (floats such as 1.0, strings such as "1" and booleans are refused by name, not
converted), and every split must hold both labels; a bad row fails with `DataSourceError` naming the
file and the row.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset, DatasetDict

from rtsent.data.splitfiles import FEATURES, LABEL_NAMES, DataSourceError, check_rows, read_split_file, rows_dataset

HUB_DATASET = "cornell-movie-review-data/rotten_tomatoes"
# The Cornell files shipped with rtsent (rtsent/data/rt-polaritydata/README.md: licence, sha256, split procedure).
PACKAGED_DATA = "rt-polarity"
PACKAGED_DATA_FOLDER = Path(__file__).parent / "rt-polaritydata"
SPLITS = ("train", "validation", "test")
POLARITY_FILES = ("rt-polarity.pos", "rt-polarity.neg")
SPLIT_FILE_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json"}
# split_hash of the canonical Rotten Tomatoes splits: the hub dataset's, which the packaged Cornell
# files rebuild exactly (tests/test_data.py checks both). Data that hash otherwise are "other data".
CANONICAL_SPLIT_HASHES = {
    "train": "481cc37ac8fd5b4e5beeb346cb07c2a990b08a5604140b40392fbee2318ab2fd",
    "validation": "2c4346f80b46f5724d4e050224202647c08295bd2c38a5c2107218e0f0c778c5",
    "test": "4c10d03359ea7ad9160c3d929d58c11f97dc01f754b92157e160da4c1237eb09",
}


@dataclass
class LoadedData:
    """The full splits of a source and what loading them found."""

    splits: DatasetDict
    # how the text files were decoded ("utf-8", "latin-1"; rt-polarity files of two encodings name each);
    # None for a hub dataset, which `datasets` decodes
    encoding: str | None
    duplicates: dict[str, int]  # `cross_split_duplicates` of the full splits


def load_splits(
    source: str = HUB_DATASET, *, max_train_samples: int | None = None, sample_seed: int = 0
) -> DatasetDict:
    """The three splits from `source`: `rt-polarity` (packaged), a folder of rt-polarity files or split
    files, else a hub id. Raises `DataSourceError` (one line) for a source that cannot give them (see
    `load_data`).

    `max_train_samples` keeps a stratified sample of the training split drawn with `sample_seed`
    (the splits are ordered by label, so a prefix would hold one class only); see `stratified_sample`.
    """
    splits = load_data(source).splits
    if max_train_samples is not None:
        splits["train"] = stratified_sample(splits["train"], max_train_samples, seed=sample_seed)
    return splits


def load_data(source: str = HUB_DATASET) -> LoadedData:
    """The full splits of `source` with their encoding and cross-split duplicates. Raises
    `DataSourceError` (one line) for a source that cannot give them: a folder holding more than one
    file for a split (two formats, or rt-polarity files beside split files), a bad row (see the
    module docstring), a split with one label only, or splits sharing too many texts (`check_leakage`)."""
    path = PACKAGED_DATA_FOLDER if source == PACKAGED_DATA else Path(source).expanduser()
    if path.is_dir():
        names = {p.name for p in path.iterdir()}
        polarity = [name for name in POLARITY_FILES if name in names]
        split_files = sorted(
            f"{split}{ext}" for split in SPLITS for ext in SPLIT_FILE_FORMATS if f"{split}{ext}" in names
        )
        if polarity and split_files:
            raise DataSourceError(
                f"data folder {str(path)!r} holds both rt-polarity files ({', '.join(polarity)}) and split files "
                f"({', '.join(split_files)}); it must hold one or the other: move one set out"
            )
        splits, encoding = _from_polarity_files(path) if polarity else (_from_split_files(path), "utf-8")
    elif path.exists():
        raise DataSourceError(f"data source {source!r} is a file; expected a folder or a hub dataset id")
    elif source.startswith((".", "/", "~")):
        raise DataSourceError(f"data folder {source!r} does not exist")
    else:
        splits, encoding = _from_hub(source), None
    for name in SPLITS:  # a one-class split would make svm fail and the other methods "pass"
        present = set(splits[name]["label"])
        if present != {0, 1}:
            held = (
                f"holds only label {min(present)} ({LABEL_NAMES[min(present)]}) in its {len(splits[name])} rows"
                if present
                else "has no rows"
            )
            raise DataSourceError(
                f"data {source!r}: the {name} split {held}; every split needs both 0 (neg) and 1 (pos)"
            )
    duplicates = cross_split_duplicates(splits)
    check_leakage(source, splits, duplicates)
    return LoadedData(splits, encoding, duplicates)


# Leakage: a text in both the training and an evaluation split is answered from memory. Refused when
# the texts two splits share are more than this share of the smaller split's rows: each shared text
# can lift that split's accuracy by one row at most, so 1% bounds the lift at 1 point, within the
# seed-to-seed spread; the canonical Rotten Tomatoes splits share none (tests/test_data.py).
MAX_SHARED_SHARE = 0.01
SPLIT_PAIRS = tuple(itertools.combinations(SPLITS, 2))  # train-validation, train-test, validation-test


def cross_split_duplicates(splits: DatasetDict) -> dict[str, int]:
    """{"train-validation": n, "train-test": n, "validation-test": n}: distinct texts found, exactly
    (same characters), in both splits of each pair."""
    texts = {name: set(splits[name]["text"]) for name in SPLITS}
    return {f"{a}-{b}": len(texts[a] & texts[b]) for a, b in SPLIT_PAIRS}


def check_leakage(source: str, splits: DatasetDict, duplicates: dict[str, int]) -> None:
    """`DataSourceError` naming the first pair of splits whose shared texts exceed `MAX_SHARED_SHARE`."""
    for a, b in SPLIT_PAIRS:
        shared, smaller = duplicates[f"{a}-{b}"], min(len(splits[a]), len(splits[b]))
        if shared > MAX_SHARED_SHARE * smaller:
            raise DataSourceError(
                f"data {source!r}: {shared} texts are in both the {a} and the {b} split ({shared / smaller:.1%} of "
                f"the smaller split's {smaller} rows); at most {MAX_SHARED_SHARE:.0%} may be shared, as more "
                f"leaks answers into evaluation: remove the duplicates from one split"
            )


def noncanonical_splits(splits: DatasetDict) -> list[str]:
    """Names of the splits whose `split_hash` differs from the canonical Rotten Tomatoes split's;
    empty when `splits` are the canonical splits. Judge full splits, before any `stratified_sample`."""
    return [name for name in SPLITS if split_hash(splits[name]) != CANONICAL_SPLIT_HASHES[name]]


def polarity_encoding(data: bytes) -> str:
    """How an rt-polarity file is decoded: UTF-8 when its bytes are valid UTF-8 (a byte-order mark is
    dropped), else Latin-1, which decodes any byte, as the hub script reads the Cornell files (which are
    not valid UTF-8, so the packaged files decode exactly as the hub's)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"


def _from_polarity_files(folder: Path) -> tuple[DatasetDict, str]:
    """Rebuild the hub splits exactly as its loading script does (see the data folder's README); also
    the encoding the files were read with (`polarity_encoding`)."""
    lines, encodings = {}, {}
    for name in POLARITY_FILES:
        file = folder / name
        if not file.is_file():
            raise DataSourceError(f"data folder {str(folder)!r} lacks {name!r}; it needs both {POLARITY_FILES}")
        encoding = polarity_encoding(file.read_bytes())
        encodings[name] = encoding.removesuffix("-sig")
        # universal newlines, then strip(), as the hub script reads them
        with open(file, encoding=encoding) as handle:
            lines[name] = [line.strip() for line in handle.readlines()]
        if not lines[name]:
            raise DataSourceError(f"data file {str(file)!r} is empty")
        # a blank line would become an empty text; its 1-based line number names it
        check_rows(lines[name], None, lambda i, file=file: f"data file {str(file)!r}, line {i + 1}")
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
    if len(set(encodings.values())) == 1:
        return DatasetDict(out), encodings[POLARITY_FILES[0]]
    return DatasetDict(out), ", ".join(f"{name}: {encoding}" for name, encoding in encodings.items())


def _from_split_files(folder: Path) -> DatasetDict:
    out = {}
    for split in SPLITS:
        found = [folder / f"{split}{ext}" for ext in SPLIT_FILE_FORMATS if (folder / f"{split}{ext}").is_file()]
        if len(found) > 1:
            raise DataSourceError(
                f"data folder {str(folder)!r} holds the {split!r} split in {len(found)} files "
                f"({', '.join(f.name for f in found)}); keep one file per split"
            )
        if not found:
            wanted = ", ".join(f"{split}{ext}" for ext in SPLIT_FILE_FORMATS)
            raise DataSourceError(
                f"data folder {str(folder)!r} has no {split!r} split: expected one of {wanted}, "
                f"or the files {POLARITY_FILES}"
            )
        out[split] = read_split_file(found[0])
    return DatasetDict(out)


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
    out = {}
    for split in SPLITS:
        columns = [c for c in ("text", "label") if c not in loaded[split].column_names]
        if columns:
            raise DataSourceError(f"hub dataset {dataset_id!r} {split} split lacks column(s) {columns}")
        out[split] = rows_dataset(
            loaded[split]["text"],
            loaded[split]["label"],
            lambda i, split=split: f"hub dataset {dataset_id!r}, {split} split, row {i + 1}",
        )
    return DatasetDict(out)


def stratified_range(labels: Sequence[int]) -> tuple[int, int] | None:
    """(smallest, largest) sample size below `len(labels)` that `stratified_sample` can draw holding
    both labels; None when no smaller size can be drawn (a label with a single row).

    scikit-learn's stratified split needs two rows of each class and leaves at least one of each
    out (so at most n - 2); it gives each class its share rounded by the larger remainder, so the
    rarer class (m of n rows) gets a row for certain only when size * m / n > 1/2.
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2)
    total, rarest = int(counts.sum()), int(counts.min())
    if rarest < 2:
        return None
    smallest = max(2, total // (2 * rarest) + 1)
    return (smallest, total - 2) if smallest <= total - 2 else None


def stratified_sample(split: Dataset, n: int, *, seed: int) -> Dataset:
    """`n` rows with the split's label balance, drawn with `seed`, kept in their original order.

    Raises `DataSourceError` naming the valid sizes (`stratified_range`, or all rows) for any other `n`.
    """
    if isinstance(n, int) and not isinstance(n, bool) and n == len(split):
        return split
    valid = stratified_range(split["label"])
    if not (isinstance(n, int) and not isinstance(n, bool) and valid and valid[0] <= n <= valid[1]):
        counts = np.bincount(np.asarray(split["label"], dtype=np.int64), minlength=2)
        sizes = f"{valid[0]}..{valid[1]} of them or all {len(split)}" if valid else f"only all {len(split)}"
        raise DataSourceError(
            f"max_train_samples={n!r} is out of range; the training split has {len(split)} rows "
            f"({counts[0]} neg, {counts[1]} pos) and a stratified draw can keep {sizes}"
        )
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
