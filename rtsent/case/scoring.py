"""The metrics of one split's predictions, as every record and learning-curve point states them.

Accuracy; F1 as the study reports it for a binary task (the positive class's, label 1) and as macro-F1
(the unweighted mean over classes) for K > 2, named by `f1_average`; recall per class (index = class
id). All from scikit-learn's `sklearn.metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score


def f1_average(num_labels: int) -> str:
    """scikit-learn's `average` for the record's F1: "binary" (class 1's F1) for 2 classes, else "macro"."""
    return "binary" if num_labels == 2 else "macro"


def split_scores(labels: np.ndarray, predictions: np.ndarray, *, num_labels: int) -> dict[str, Any]:
    """{"accuracy", "f1", "recall_per_class"} of (rows,) class ids against (rows,) true ids; a class with
    no true row in the split has recall 0 (scikit-learn's `zero_division=0`), as does F1 over it."""
    classes = list(range(num_labels))
    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "f1": float(f1_score(labels, predictions, average=f1_average(num_labels), labels=classes, zero_division=0)),
        "recall_per_class": [
            float(r) for r in recall_score(labels, predictions, average=None, labels=classes, zero_division=0)
        ],
    }
