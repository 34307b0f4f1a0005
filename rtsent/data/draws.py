"""Labelled-set size as an axis: a fixed number of examples per class, drawn anew for every seed.

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

from dataclasses import dataclass
from typing import Any

import numpy as np

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
