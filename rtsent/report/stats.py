"""The statistics the report uses, small enough to check by hand (tests/test_reporting.py does)."""

from __future__ import annotations

import functools
import math

import numpy as np


def t_interval(values: np.ndarray) -> tuple[float, float]:
    """95% t interval of the mean over seeds."""
    n = len(values)
    half = _t975(n - 1) * values.std(ddof=1) / math.sqrt(n)
    return values.mean() - half, values.mean() + half


@functools.cache
def _t975(degrees: int) -> float:
    """Student's t 97.5% quantile; one scipy call per seed count, not one per table row (a millisecond each)."""
    from scipy import stats

    return stats.t.ppf(0.975, degrees)


def bootstrap_interval(correct: np.ndarray, *, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of accuracy, resampling examples (one seed's per-example correctness)."""
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, len(correct), size=(resamples, len(correct)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float]:
    """Exact McNemar test: (A right & B wrong, A wrong & B right, two-sided p)."""
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    n = b + c
    if n == 0:
        return b, c, 1.0
    # C(n, k+1) = C(n, k)·(n-k)/(k+1), exact in integers: one product per term, not a fresh C(n, k)
    term = tail = 1
    for k in range(min(b, c)):
        term = term * (n - k) // (k + 1)
        tail += term
    tail /= 2**n
    return b, c, min(1.0, 2 * tail)
