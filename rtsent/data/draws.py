"""Training subsets: a fixed number of examples per class drawn anew for every seed (`Draw`, labelled-set
size as an axis), and a stratified sample of N rows (`stratified_sample`, `max_train_samples`).

SetFit (Tunstall et al. 2022, §4: 8 to 64 examples per class, 10 random draws) and MTEB's classification
tasks (a fixed number of samples per label, repeated) measure a method at a labelled-set size over
several draws, because at small sizes *which* sentences were labelled moves accuracy as much as the
method does. Here the draw is part of what the seed varies: seed s draws its own examples, so the
spread over seeds is the spread over draws and training randomness together.

The draw: each class's rows are permuted by a generator seeded with (seed, stream) and the first
`per_class` taken, so for one seed the draw at a smaller size is a subset of the draw at a larger one
(adding labels to the same labelled set, as a practitioner would); rows keep the split's order.
`stream` keeps the training and validation draws of one seed independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from datasets import Dataset

from rtsent.data.classes import label_names_of
from rtsent.data.splitfiles import DataSourceError

TRAIN_STREAM, VALIDATION_STREAM = 0, 1
VALIDATIONS = ("full", "drawn")  # the validation split as the source has it, or drawn like the training set


class DrawError(ValueError):
    """A draw that cannot be made; the message is one line naming the size and the class counts."""


@dataclass(frozen=True, kw_only=True)
class Draw:
    """`per_class` labelled examples of every class from the training split, drawn with `seed`.

    `validation`: "full" keeps the source's validation split (the configuration is the one chosen at full
    size, validation only reports); "drawn" cuts validation to the same `per_class` with the same seed
    (the "true few-shot" setting of Perez et al. 2021: no more labels for choosing than for training).
    """

    per_class: int
    seed: int
    validation: str = "full"

    def __post_init__(self) -> None:
        if type(self.per_class) is not int or self.per_class < 1:
            raise DrawError(f"per_class={self.per_class!r} is not an integer >= 1")
        if type(self.seed) is not int or self.seed < 0:
            raise DrawError(f"draw seed={self.seed!r} is not a non-negative integer")
        if self.validation not in VALIDATIONS:
            raise DrawError(f"draw validation={self.validation!r} is not one of {', '.join(VALIDATIONS)}")


def class_counts(labels: Any, num_labels: int) -> np.ndarray:
    """(num_labels,) rows per class id."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_labels)


def check_per_class(per_class: int, labels: Any, label_names: tuple[str, ...], *, split: str = "training") -> None:
    """`DrawError` (one line) when a class of the split has fewer than `per_class` rows."""
    counts = class_counts(labels, len(label_names))
    if per_class > counts.min():
        held = ", ".join(f"{name}: {count}" for name, count in zip(label_names, counts, strict=True))
        raise DrawError(
            f"{per_class} examples per class is more than the {split} split holds ({held}); "
            f"accepted: 1..{counts.min()} per class, or all"
        )


def draw_indices(labels: Any, per_class: int, *, seed: int, stream: int = TRAIN_STREAM) -> np.ndarray:
    """(num_classes * per_class,) row indices, ascending: `per_class` rows of each class, the first of
    that class's permutation by `numpy.random.default_rng([seed, stream, class id])` (nested over sizes)."""
    labels = np.asarray(labels, dtype=np.int64)
    chosen = []
    for class_id in np.unique(labels):
        rows = np.flatnonzero(labels == class_id)
        order = np.random.default_rng([seed, stream, int(class_id)]).permutation(len(rows))
        chosen.append(rows[order[:per_class]])
    return np.sort(np.concatenate(chosen))


def apply_draw(splits: Any, draw: Draw, label_names: tuple[str, ...]) -> Any:
    """A copy of `splits` (a DatasetDict) with train, and validation when `draw.validation` is "drawn",
    cut to the draw; `DrawError` when a class has too few rows."""
    out = type(splits)(dict(splits))
    cuts = [("train", TRAIN_STREAM)] + ([("validation", VALIDATION_STREAM)] if draw.validation == "drawn" else [])
    for split, stream in cuts:
        labels = out[split]["label"]
        check_per_class(draw.per_class, labels, label_names, split=split)
        out[split] = out[split].select(draw_indices(labels, draw.per_class, seed=draw.seed, stream=stream))
    return out


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
