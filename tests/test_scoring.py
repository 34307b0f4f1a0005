"""The metrics a record states (rtsent.case.scoring): the study's binary F1, macro-F1 for K > 2, recall per class."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from rtsent.case.scoring import split_scores


def test_binary_f1_is_the_positive_class_and_k_class_f1_is_macro():
    labels, predictions = np.array([1, 1, 0, 0, 1]), np.array([1, 0, 0, 1, 1])
    binary = split_scores(labels, predictions, num_labels=2)
    assert binary["f1"] == f1_score(labels, predictions) == pytest.approx(2 / 3)  # class 1: P = R = 2/3
    assert binary["accuracy"] == 0.6 and binary["recall_per_class"] == pytest.approx([0.5, 2 / 3])
    labels, predictions = np.array([0, 1, 2, 2, 2, 1]), np.array([0, 2, 2, 2, 1, 1])
    three = split_scores(labels, predictions, num_labels=3)
    # per class F1: 1, 1/2, 2/3: their unweighted mean
    assert np.isclose(three["f1"], (1 + 0.5 + 2 / 3) / 3)
    assert three["recall_per_class"] == pytest.approx([1.0, 0.5, 2 / 3])


def test_a_class_absent_from_the_split_has_zero_recall_not_a_warning():
    scores = split_scores(np.array([0, 0, 1]), np.array([0, 1, 1]), num_labels=3)
    assert scores["recall_per_class"] == [0.5, 1.0, 0.0]
