"""Valid ranges of numeric settings, declared once beside what they constrain (recipe fields in
rtsent/plan/profiles.py, each method's hyperparameters as its class attribute `parameter_ranges`) and checked
at start, the way scikit-learn's `_parameter_constraints` declare an estimator's (`Interval`).

A value outside its range would not fail: it trains nonsense (a negative gradient-clipping norm climbs
the loss, `C=0` or `r=0` fit nothing), so every numeric setting has one; nan and inf are in none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Interval:
    """A finite number (an integer where `kind` is int; never a boolean) between `low` and `high`
    (None: unbounded), each bound included or not as `closed` says (scikit-learn's names)."""

    kind: type  # int or float; a float range takes integers too (TOML's `epochs = 4`)
    low: float | None = None
    high: float | None = None
    closed: Literal["left", "right", "both", "neither"] = "both"
    none: bool = False  # None is valid too (a setting whose None means "the default")

    def __contains__(self, value: Any) -> bool:
        if value is None:
            return self.none
        if isinstance(value, bool) or not isinstance(value, int if self.kind is int else int | float):
            return False
        if not math.isfinite(value):
            return False
        low_ok = self.low is None or (value >= self.low if self.closed in ("left", "both") else value > self.low)
        high_ok = self.high is None or (value <= self.high if self.closed in ("right", "both") else value < self.high)
        return low_ok and high_ok

    def __str__(self) -> str:
        """What the error line says is accepted: "an integer >= 1", "a finite number > 0", "a number in [0, 1)"."""
        what = "an integer" if self.kind is int else "a number" if self.high is not None else "a finite number"
        left, right = self.closed in ("left", "both"), self.closed in ("right", "both")
        if self.low is not None and self.high is not None:
            text = f"{what} in {'[' if left else '('}{_number(self.low)}, {_number(self.high)}{']' if right else ')'}"
        elif self.low is not None:
            text = f"{what} {'>=' if left else '>'} {_number(self.low)}"
        elif self.high is not None:
            text = f"{what} {'<=' if right else '<'} {_number(self.high)}"
        else:
            text = what if self.kind is int else "a finite number"
        return text + (" or None" if self.none else "")


@dataclass(frozen=True)
class Span:
    """A (low, high) pair, each in `each`, with low <= high: e.g. scikit-learn's `ngram_range`."""

    each: Interval

    def __contains__(self, value: Any) -> bool:
        return (
            isinstance(value, tuple | list)
            and len(value) == 2
            and all(v in self.each for v in value)
            and value[0] <= value[1]
        )

    def __str__(self) -> str:
        return f"a pair (low, high) with low <= high, each {self.each}"


Constraint = Interval | Span
POSITIVE = Interval(float, 0, None, closed="neither")  # e.g. a learning rate, scikit-learn's C
POSITIVE_INT = Interval(int, 1)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def out_of_range(ranges: Mapping[str, Constraint], values: Mapping[str, Any]) -> tuple[str, Any, Constraint] | None:
    """(name, value, range) of the first value outside its declared range; None when all are in theirs."""
    for name, value in values.items():
        constraint = ranges.get(name)
        if constraint is not None and value not in constraint:
            return name, value, constraint
    return None


def check_ranges(owner: str, ranges: Mapping[str, Constraint], values: Mapping[str, Any]) -> None:
    """ValueError "OWNER NAME=VALUE is not RANGE" (one line) for the first value outside its range."""
    bad = out_of_range(ranges, values)
    if bad is not None:
        name, value, constraint = bad
        raise ValueError(f"{owner} {name}={value!r} is not {constraint}")
