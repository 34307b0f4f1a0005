"""The splits of a single-label sentence-classification task: the packaged Rotten Tomatoes files,
the original Cornell files, a folder of split files or a hub dataset.

Sources (`DataSpec`): `rt-polarity` (the Cornell files shipped inside this package, CC BY 4.0: no
download), a folder holding `rt-polarity.pos`/`.neg` or train/[validation/]test split files, or a hub
dataset id (with its configuration name). Split files and hub datasets name their text and label
columns (`DataSpec.text_column`/`label_column`, by default `text`/`label`).

Every source ends as the same `datasets.DatasetDict` with splits train / validation / test and
columns `text` (str) and `label` (int class id 0..K-1, a `ClassLabel` naming each class), in the
source's row order. The K >= 2 classes are the training split's:
- integer labels are the ids themselves: K = 1 + the largest id in the training split, and every id
  0..K-1 must occur there (a hub `ClassLabel` fixes K and the names; other integers are named "0".."K-1");
- string labels are class names, given ids in the sorted order of the training split's distinct names
  (Python's `sorted`: by code point, so "B" < "a" and "10" < "9"); the rt-polarity files are "neg", "pos".
A validation or test label the training split does not hold is refused, as is a split holding fewer than
two classes, as is a test split without labels (every label -1 or null, as benchmarks hide theirs): it
is the held-out judge. A source without a validation split gets one carved from its training split
(`carve_validation`, `CARVED_VALIDATION_SHARE`); one without train or test is refused. Every source
is checked row by row before use (`rtsent.data.splitfiles`: texts non-empty strings, labels integers or
strings, never floats, booleans or nulls, which are refused by name, not converted); a bad row fails
with `DataSourceError` naming the file and the row.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict

from rtsent.data.splitfiles import (
    DataSourceError,
    RawSplit,
    check_rows,
    missing_columns,
    read_split_file,
    split_features,
)

HUB_DATASET = "cornell-movie-review-data/rotten_tomatoes"
# The Cornell files shipped with rtsent (rtsent/data/rt-polaritydata/README.md: licence, sha256, split procedure).
PACKAGED_DATA = "rt-polarity"
PACKAGED_DATA_FOLDER = Path(__file__).parent / "rt-polaritydata"
SPLITS = ("train", "validation", "test")
POLARITY_FILES = ("rt-polarity.pos", "rt-polarity.neg")
POLARITY_LABEL_NAMES = ("neg", "pos")  # class ids 0 and 1, as the hub dataset names them
SPLIT_FILE_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json"}
# The share of a training split carved off as validation when a source has none: Rotten Tomatoes'
# own ratio (1,066 validation rows beside 8,530 training rows: 1,066 / 9,596 of the two, about 0.11),
# so a carved task is judged on about as much data, relative to its size, as the canonical one.
CARVED_VALIDATION_SHARE = 0.1
# split_hash of the canonical Rotten Tomatoes splits: the hub dataset's, which the packaged Cornell
# files rebuild exactly (tests/test_data.py checks both). Data that hash otherwise are "other data".
CANONICAL_SPLIT_HASHES = {
    "train": "481cc37ac8fd5b4e5beeb346cb07c2a990b08a5604140b40392fbee2318ab2fd",
    "validation": "2c4346f80b46f5724d4e050224202647c08295bd2c38a5c2107218e0f0c778c5",
    "test": "4c10d03359ea7ad9160c3d929d58c11f97dc01f754b92157e160da4c1237eb09",
}


@dataclass(frozen=True, kw_only=True)
class DataSpec:
    """What to load: a source and, for split files and hub datasets, which columns hold the text and
    the label; hashable (the session's caches are keyed by it).

    `config_name` is a hub dataset's configuration (`datasets.load_dataset(source, config_name)`),
    e.g. "sst2" of "nyu-mll/glue"; None for a dataset without configurations and for folders.
    Raises `ValueError` (one line) for an empty or non-string column name or one column named for both.
    """

    source: str = HUB_DATASET
    text_column: str = "text"
    label_column: str = "label"
    config_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"DataSpec source={self.source!r} must be a non-empty string (--rtsent-data)")
        for name, option in (("text_column", "--rtsent-text-column"), ("label_column", "--rtsent-label-column")):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"DataSpec {name}={value!r} ({option}) must be a non-empty string: a column's name")
        if self.text_column == self.label_column:
            raise ValueError(
                f"DataSpec text_column and label_column are both {self.text_column!r} (--rtsent-text-column, "
                f"--rtsent-label-column); the text and the label need a column each"
            )
        if self.config_name is not None and (not isinstance(self.config_name, str) or not self.config_name):
            raise ValueError(
                f"DataSpec config_name={self.config_name!r} (--rtsent-data-config) must be None or a non-empty string"
            )

    @property
    def columns(self) -> tuple[str, str]:
        """(text column, label column) as the source names them."""
        return (self.text_column, self.label_column)


def as_spec(spec: DataSpec | str) -> DataSpec:
    """`spec` itself, or a plain source string as `DataSpec(source=spec)`."""
    return spec if isinstance(spec, DataSpec) else DataSpec(source=spec)


@dataclass
class LoadedData:
    """The full splits of a source and what loading them found."""

    splits: DatasetDict
    # how the text files were decoded ("utf-8", "latin-1"; rt-polarity files of two encodings name each);
    # None for a hub dataset, which `datasets` decodes
    encoding: str | None
    duplicates: dict[str, int]  # `cross_split_duplicates` of the full splits
    label_names: tuple[str, ...]  # class id -> name (the module docstring says where names come from)
    # rows carved from the training split as validation (`carve_validation`); None: the source's own
    carved_validation: int | None


def load_splits(
    spec: DataSpec | str = HUB_DATASET, *, max_train_samples: int | None = None, sample_seed: int = 0
) -> DatasetDict:
    """The three splits from `spec` (a `DataSpec`, or a source string: `rt-polarity` (packaged), a
    folder of rt-polarity files or split files, else a hub id). Raises `DataSourceError` (one line)
    for a source that cannot give them (see `load_data`).

    `max_train_samples` keeps a stratified sample of the training split drawn with `sample_seed`
    (splits may be ordered by label, so a prefix could hold one class only); see `stratified_sample`.
    """
    splits = load_data(spec).splits
    if max_train_samples is not None:
        splits["train"] = stratified_sample(splits["train"], max_train_samples, seed=sample_seed)
    return splits


def load_data(spec: DataSpec | str = HUB_DATASET) -> LoadedData:
    """The full splits of `spec` (a `DataSpec` or a source string) with their class names, encoding,
    cross-split duplicates and carved validation size. Raises `DataSourceError` (one line) for a source
    that cannot give them: a folder holding more than one file for a split (two formats, or rt-polarity
    files beside split files), no train or test split, a missing column, a bad row or label (see the
    module docstring), an unlabeled test split, a split with fewer than two classes, a training split too
    small to carve a validation split from, or splits sharing too many texts (`check_leakage`)."""
    spec = as_spec(spec)
    source = spec.source
    path = PACKAGED_DATA_FOLDER if source == PACKAGED_DATA else Path(source).expanduser()
    raw: dict[str, RawSplit] | None = None
    hub_names: tuple[str, ...] | None = None
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
        if spec.config_name is not None:
            raise DataSourceError(
                f"data {source!r} is a folder; a configuration name ({spec.config_name!r}, --rtsent-data-config) "
                f"applies to hub datasets only: drop it"
            )
        if polarity and spec.columns != ("text", "label"):
            # options meant for other data: ignoring them silently would hide a mistaken --rtsent-data
            raise DataSourceError(
                f"data folder {str(path)!r} holds rt-polarity files, which have no columns; --rtsent-text-column="
                f"{spec.text_column} and --rtsent-label-column={spec.label_column} apply to split files and hub "
                f"datasets only: drop them"
            )
        if polarity:
            splits, encoding = _from_polarity_files(path)
        else:
            raw, encoding = _from_split_files(path, spec.columns), "utf-8"
    elif path.exists():
        raise DataSourceError(f"data source {source!r} is a file; expected a folder or a hub dataset id")
    elif source.startswith((".", "/", "~")):
        raise DataSourceError(f"data folder {source!r} does not exist")
    else:
        (raw, hub_names), encoding = _from_hub(spec), None
    carved = None
    if raw is None:
        label_names = POLARITY_LABEL_NAMES
    else:
        label_names, ids = class_ids(source, raw, hub_names)
        features = split_features(label_names)
        built = {
            name: Dataset.from_dict({"text": rows.texts, "label": ids[name]}, features=features)
            for name, rows in raw.items()
        }
        if "validation" not in built:
            built["train"], built["validation"] = carve_validation(source, built["train"], label_names)
            carved = len(built["validation"])
        splits = DatasetDict({name: built[name] for name in SPLITS})
    check_classes(source, splits, label_names)
    duplicates = cross_split_duplicates(splits)
    check_leakage(source, splits, duplicates)
    return LoadedData(splits, encoding, duplicates, tuple(label_names), carved)


def _class(class_id: int, names: Sequence[str]) -> str:
    """A class as messages name it: "1 (pos)", or "1" where its name is its id."""
    return str(class_id) if names[class_id] == str(class_id) else f"{class_id} ({names[class_id]})"


def _classes(names: Sequence[str], by_name: bool, shown: int = 8) -> str:
    if not by_name:
        return f"ids 0..{len(names) - 1}"
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return "names " + ", ".join(repr(name) for name in names[:shown]) + more


def class_ids(
    source: str, raw: dict[str, RawSplit], classlabel_names: Sequence[str] | None = None
) -> tuple[tuple[str, ...], dict[str, list[int]]]:
    """(label names, class ids per split) of checked rows (module docstring: ids and names come from
    the training split; `classlabel_names` are a hub ClassLabel's). Raises `DataSourceError` for a
    label that is not one of the training split's classes (naming it, its row and split), a training
    split of one class, or an integer id 0..K-1 missing from the training split."""
    train = raw["train"]
    if not train.labels:  # split files refuse an empty file; a hub split may be empty
        raise DataSourceError(f"data {source!r}: the train split has no rows")
    by_name = isinstance(train.labels[0], str)  # one kind per split: check_rows refused mixed columns
    if by_name:
        names = tuple(sorted(set(train.labels)))
    elif classlabel_names is not None:
        names = tuple(classlabel_names)
    else:
        names = tuple(str(i) for i in range(max(train.labels) + 1))
    index: dict[Any, int] = {name: i for i, name in enumerate(names)} if by_name else {i: i for i in range(len(names))}
    ids = {}
    for split, rows in raw.items():
        # a string in an integer-labelled split (or the reverse) is not a class either
        bad = [i for i, label in enumerate(rows.labels) if label not in index]
        if bad:
            others = f" ({len(bad) - 1} more bad row(s) like it)" if len(bad) > 1 else ""
            label = rows.labels[bad[0]]
            if split == "train":  # only a hub ClassLabel column can hold an id past its names
                raise DataSourceError(
                    f"{rows.where(bad[0])}: label {label!r} is not one of the dataset's {len(names)} ClassLabel "
                    f"classes ({_classes(names, by_name)}){others}"
                )
            raise DataSourceError(
                f"{rows.where(bad[0])}: label {label!r} is not a class of the training split "
                f"({_classes(names, by_name)}){others}; the {split} split may hold only the training split's classes"
            )
        ids[split] = [index[label] for label in rows.labels]
    present = set(ids["train"])
    if len(present) < 2:
        check_classes(source, {"train": ids["train"]}, names)
    missing = [i for i in range(len(names)) if i not in present]
    if missing:
        among = (
            f"one of the dataset's {len(names)} ClassLabel classes"
            if classlabel_names is not None
            else f"whose largest label is {len(names) - 1}"
        )
        raise DataSourceError(
            f"data {source!r}: label {_class(missing[0], names)} never occurs in the training split, {among} "
            f"({len(missing)} id(s) missing); integer labels must be the ids 0..K-1 of K classes, every one of "
            f"them in the training split"
        )
    return names, ids


def check_classes(source: str, splits: Any, label_names: Sequence[str]) -> None:
    """`DataSourceError` for a split (a Dataset or a list of class ids) holding fewer than two classes,
    or a training split lacking one of the `label_names`' classes: a one-class split would make svm
    fail and the other methods "pass", a class missing from training is never learnt."""
    for name in (name for name in SPLITS if name in splits):
        labels = splits[name] if isinstance(splits[name], list) else list(splits[name]["label"])
        present = sorted(set(labels))
        if len(present) < 2:
            only = f"holds only label {_class(present[0], label_names)} in its {len(labels)} rows" if present else ""
            held = only or "has no rows"
            raise DataSourceError(
                f"data {source!r}: the {name} split {held}; every split needs two classes or more, the training "
                f"split all {len(label_names)}"
            )
        if name == "train" and len(present) < len(label_names):
            lost = next(i for i in range(len(label_names)) if i not in present)
            raise DataSourceError(
                f"data {source!r}: the train split holds {len(present)} of the {len(label_names)} classes "
                f"(not {_class(lost, label_names)}); the training split needs every class"
            )


def carve_validation(source: str, train: Dataset, label_names: Sequence[str]) -> tuple[Dataset, Dataset]:
    """(kept training rows, validation rows) for a source without a validation split: a stratified
    `round(CARVED_VALIDATION_SHARE * len(train))` rows drawn with seed 0 (scikit-learn's
    `train_test_split`), both parts in their original row order, so every load carves the same rows.

    Raises `DataSourceError` when the training split is too small: a class with fewer than 2 rows, or
    a carve smaller than the number of classes (or leaving fewer rows than classes).
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(train["label"], dtype=np.int64)
    counts = np.bincount(labels, minlength=len(label_names))
    size, classes = round(CARVED_VALIDATION_SHARE * len(train)), len(label_names)
    if counts.min() < 2 or size < classes or len(train) - size < classes:
        rarest = int(counts.argmin())
        raise DataSourceError(
            f"data {source!r} has no validation split and its training split is too small to carve one: "
            f"{CARVED_VALIDATION_SHARE:.0%} of its {len(train)} rows is {size}, for {classes} classes, and class "
            f"{_class(rarest, label_names)} has {counts[rarest]} row(s); a stratified carve needs 2 rows of every "
            f"class and a row per class on each side: add a validation split"
        )
    keep, carved = train_test_split(np.arange(len(train)), test_size=size, stratify=labels, random_state=0)
    return train.select(np.sort(keep)), train.select(np.sort(carved))


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
        check_rows(lines[name], None, f"data file {str(file)!r}", lambda i: f"line {i + 1}")
    pos, neg = lines["rt-polarity.pos"], lines["rt-polarity.neg"]
    cuts = {}
    for name, rows in (("pos", pos), ("neg", neg)):
        cuts[name] = (int(len(rows) * 0.8 + 0.5), int(len(rows) * 0.9 + 0.5))
    bounds = {
        "train": (slice(0, cuts["pos"][0]), slice(0, cuts["neg"][0])),
        "validation": (slice(*cuts["pos"]), slice(*cuts["neg"])),
        "test": (slice(cuts["pos"][1], None), slice(cuts["neg"][1], None)),
    }
    out, features = {}, split_features(POLARITY_LABEL_NAMES)
    for split, (pos_slice, neg_slice) in bounds.items():
        texts = pos[pos_slice] + neg[neg_slice]
        labels = [1] * len(pos[pos_slice]) + [0] * len(neg[neg_slice])
        out[split] = Dataset.from_dict({"text": texts, "label": labels}, features=features)
    if len(set(encodings.values())) == 1:
        return DatasetDict(out), encodings[POLARITY_FILES[0]]
    return DatasetDict(out), ", ".join(f"{name}: {encoding}" for name, encoding in encodings.items())


def _from_split_files(folder: Path, columns: tuple[str, str]) -> dict[str, RawSplit]:
    """The checked rows of each split file in `folder`; a folder without validation files gives
    train and test only (`load_data` carves validation)."""
    out = {}
    for split in SPLITS:
        found = [folder / f"{split}{ext}" for ext in SPLIT_FILE_FORMATS if (folder / f"{split}{ext}").is_file()]
        if len(found) > 1:
            raise DataSourceError(
                f"data folder {str(folder)!r} holds the {split!r} split in {len(found)} files "
                f"({', '.join(f.name for f in found)}); keep one file per split"
            )
        if not found and split == "validation":
            continue
        if not found:
            wanted = ", ".join(f"{split}{ext}" for ext in SPLIT_FILE_FORMATS)
            raise DataSourceError(
                f"data folder {str(folder)!r} has no {split!r} split: expected one of {wanted}, "
                f"or the files {POLARITY_FILES}"
            )
        out[split] = read_split_file(found[0], columns)
    return out


def _from_hub(spec: DataSpec | str) -> tuple[dict[str, RawSplit], tuple[str, ...] | None]:
    """The checked rows of the hub dataset's train, [validation,] test splits, and its label
    feature's names where that is a `ClassLabel` (else None: the labels name the classes)."""
    from datasets import load_dataset

    spec = as_spec(spec)
    dataset_id, config = spec.source, spec.config_name
    named = f"hub dataset {dataset_id!r}" + (f" (configuration {config!r})" if config is not None else "")
    try:
        loaded = load_dataset(dataset_id, config)
    except Exception as error:  # the hub client raises several unrelated types when offline
        configured = f" with configuration {config!r} (--rtsent-data-config)" if config is not None else ""
        raise DataSourceError(
            f"cannot load data {dataset_id!r}{configured} from the Hugging Face hub and it is not cached "
            f"({type(error).__name__}); use the packaged copy (--rtsent-data={PACKAGED_DATA}) or point "
            f"--rtsent-data (or RTSENT_DATA) at a folder holding rt-polarity.pos/.neg or "
            f"train/[validation/]test split files"
        ) from None
    missing = [split for split in ("train", "test") if split not in loaded]
    if missing:
        raise DataSourceError(
            f"{named} lacks split(s) {missing}; it has {list(loaded)} (rtsent needs train and test, and carves "
            f"validation from train where there is none)"
        )
    out = {}
    for split in (split for split in SPLITS if split in loaded):
        existing = list(loaded[split].column_names)
        absent = [column for column in spec.columns if column not in existing]
        if absent:
            raise missing_columns(f"{named} {split} split", absent, existing, spec.columns)
        texts, labels = list(loaded[split][spec.text_column]), list(loaded[split][spec.label_column])
        origin = f"{named}, {split} split"
        check_rows(texts, labels, origin, lambda i: f"row {i + 1}", columns=spec.columns, split=split)
        labels = [label if isinstance(label, str) else int(label) for label in labels]
        out[split] = RawSplit(texts, labels, origin, lambda i: f"row {i + 1}")
    feature = loaded["train"].features[spec.label_column]
    return out, (tuple(feature.names) if isinstance(feature, ClassLabel) else None)


def label_names_of(split: Dataset) -> tuple[str, ...]:
    """The class names of a loaded split's `label` ClassLabel (index = class id); for a plain integer
    column, "0".."K-1" up to its largest id."""
    feature = split.features.get("label")
    if isinstance(feature, ClassLabel):
        return tuple(feature.names)
    labels = list(split["label"])
    return tuple(str(i) for i in range(max(labels, default=1) + 1))


def _certain(shares: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """For each sample size, whether scikit-learn's stratified draw gives every class a row whatever
    the seed. It computes each class's rows as `_approximate_mode` does (same floating-point
    operations, so the same ties): share * size rounded down, then the rows still missing go one each
    to the classes with the largest remainders, ties broken at random. A class rounded down to 0 is
    certain of a row only when it and every class whose remainder ties or beats its own fit in the
    rows still missing."""
    continuous = shares[None, :] * sizes[:, None]
    floored = np.floor(continuous)
    need = sizes - floored.sum(axis=1)
    remainder = continuous - floored
    contenders = (remainder[:, None, :] >= remainder[:, :, None]).sum(axis=2)  # [size, class]
    return ((floored >= 1) | (contenders <= need[:, None])).all(axis=1)


def stratified_range(labels: Sequence[int]) -> tuple[int, int] | None:
    """(smallest, largest) sample size below `len(labels)` from which every size up to the largest makes
    `stratified_sample` hold every class 0..max(labels); None when no smaller size can be drawn (a class
    with fewer than 2 rows, none included).

    scikit-learn's stratified split needs two rows of each class and at least one row per class on each
    side (so sizes K..n - K for K classes); it gives each class its share rounded by the larger
    remainder, so a rare class (m of n rows) gets a row for certain only at sizes large enough
    (for two classes: size * m / n > 1/2); `_certain` says which.
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2)
    total, classes, rarest = int(counts.sum()), len(counts), int(counts.min())
    if rarest < 2 or total - classes < classes:
        return None
    largest = total - classes
    shares = counts / counts.sum()  # as scikit-learn computes them: the same floats, the same ties
    # from about total / rarest rows on, every class's share is a row or more: certain, unexamined
    top = min(largest, total // rarest + 1)
    block = max(1, 2**20 // classes**2)
    smallest = classes
    for high in range(top, classes - 1, -block):
        sizes = np.arange(high, max(classes, high - block + 1) - 1, -1)  # descending
        certain = _certain(shares, sizes)
        if not certain.all():
            smallest = int(sizes[np.argmin(certain)]) + 1  # the first uncertain size, counting down
            break
    return (smallest, largest) if smallest <= largest else None


def stratified_sample(split: Dataset, n: int, *, seed: int) -> Dataset:
    """`n` rows with the split's class balance, drawn with `seed`, kept in their original order.

    Raises `DataSourceError` naming the class counts and the valid sizes (`stratified_range`, or all
    rows) for any other `n`.
    """
    if isinstance(n, int) and not isinstance(n, bool) and n == len(split):
        return split
    labels = np.asarray(split["label"], dtype=np.int64)
    valid = stratified_range(labels)
    if not (isinstance(n, int) and not isinstance(n, bool) and valid and valid[0] <= n <= valid[1]):
        names = label_names_of(split)
        counts = np.bincount(labels, minlength=len(names))
        held = ", ".join(f"{count} {name}" for count, name in zip(counts, names, strict=False))
        sizes = f"{valid[0]}..{valid[1]} of them or all {len(split)}" if valid else f"only all {len(split)}"
        raise DataSourceError(
            f"max_train_samples={n!r} is out of range; the training split has {len(split)} rows "
            f"({held}) and a stratified draw can keep {sizes}"
        )
    from sklearn.model_selection import train_test_split

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
