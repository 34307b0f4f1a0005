"""Class ids and the checks every source's splits pass before use: labels mapped to ids 0..K-1 from
the training split (`class_ids`; `rtsent.data.sources`' docstring gives the rule), at least two classes
per split and every class in training (`check_classes`), a validation split carved where a source has
none (`carve_validation`), and no more shared texts between splits than `MAX_SHARED_SHARE`
(`check_leakage`). Every refusal is a `DataSourceError` of one line naming the split, row or class.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict

from rtsent.data.splitfiles import DataSourceError, RawSplit

SPLITS = ("train", "validation", "test")
# The share of a training split carved off as validation when a source has none: Rotten Tomatoes'
# own ratio (1,066 validation rows beside 8,530 training rows: 1,066 / 9,596 of the two, about 0.11),
# so a carved task is judged on about as much data, relative to its size, as the canonical one.
CARVED_VALIDATION_SHARE = 0.1


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


def label_names_of(split: Dataset) -> tuple[str, ...]:
    """The class names of a loaded split's `label` ClassLabel (index = class id); for a plain integer
    column, "0".."K-1" up to its largest id."""
    feature = split.features.get("label")
    if isinstance(feature, ClassLabel):
        return tuple(feature.names)
    labels = list(split["label"])
    return tuple(str(i) for i in range(max(labels, default=1) + 1))
