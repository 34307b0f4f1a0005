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
from dataclasses import dataclass
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict

from rtsent.data.classes import (
    SPLITS,
    carve_validation,
    check_classes,
    check_leakage,
    class_ids,
    cross_split_duplicates,
)
from rtsent.data.draws import stratified_sample
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
POLARITY_FILES = ("rt-polarity.pos", "rt-polarity.neg")
POLARITY_LABEL_NAMES = ("neg", "pos")  # class ids 0 and 1, as the hub dataset names them
SPLIT_FILE_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json"}
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


def split_hash(split: Dataset) -> str:
    """sha256 over `label<TAB>text<LF>` rows: equal hashes mean the same texts, labels and order."""
    digest = hashlib.sha256()
    for text, label in zip(split["text"], split["label"], strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()
