"""Search spaces for the budgeted search (`--rtsent-search=SPACE`): per method, a distribution for each key
where a sweep (rtsent.plan.sweeps) lists values, sampled by Optuna's TPE rather than crossed.

    [lora]
    lr = {low = 1e-4, high = 5e-3, log = true}   # a number in [low, high]; log: uniform in log space
    r = [8, 16]                                   # a choice among the values listed
    lora_alpha = {low = 8, high = 32, step = 8}   # integers when low and high are integers

Keys are a sweep's: `lr`, any recipe field, any `__init__` hyperparameter of the method, each checked
against its type and declared range (rtsent/schema/ranges.py) at both ends of a range and at every choice.
`epochs` is refused: it is the pruner's resource (validation accuracy is reported after each epoch of the
profile's recipe, and the selection picks the epoch from the learning curve). A sampled configuration
becomes a `SweepPoint` through `parse_sweep`, so what a trial trains passed the same checks as a grid row.

`Search` is the whole search as the session runs it: the spaces, the trials each method gets (one budget
for all: the comparison stays fair when one method is cheap and another dear), the Optuna storage that
holds the studies, and the pruner. No Optuna import here: rtsent.case.trials turns these into Optuna's.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtsent.methods import METHODS
from rtsent.plan.sweeps import SweepError, SweepPoint, conforms, expected, frozen_value, key_ranges, parse_sweep
from rtsent.plan.sweeps import valid_keys as _valid_keys

PACKAGED_SPACES = Path(__file__).parent / "spaces"
# Optuna's pruners by the name --rtsent-pruner takes (rtsent.case.trials builds them): Hyperband (Li et al.
# 2018) and successive halving (Jamieson & Talwalkar 2016) over epochs, the median rule, or none.
PRUNERS = ("hyperband", "halving", "median", "none")
RESOURCE = "epochs"  # what a pruner's budget counts: epochs of the profile's recipe


@dataclass(frozen=True)
class Range:
    """A number between `low` and `high` (both included); `log`: sampled uniformly in log space; `step`: a
    grid step (not with `log`). Integers when `low` and `high` are both integers (TOML `8`, not `8.0`)."""

    low: float
    high: float
    log: bool = False
    step: float | None = None

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)


@dataclass(frozen=True)
class Choice:
    """One of `values` (TOML arrays become tuples)."""

    values: tuple[Any, ...]


Dimension = Range | Choice


@dataclass(frozen=True)
class Space:
    """One method's search space: (key, dimension) in the file's order."""

    method: str
    dimensions: tuple[tuple[str, Dimension], ...]

    def point(self, values: dict[str, Any], *, source: str = "search space") -> SweepPoint:
        """The configuration a trial sampled (`values`: key -> value) as a sweep point, checked as a sweep's
        (`SweepError` naming `source`)."""
        table = {key: [list(v)] if isinstance(v, tuple) else v for key, v in values.items()}
        return parse_sweep({self.method: table}, source=source)[self.method][0]


@dataclass(frozen=True, kw_only=True)
class Search:
    """The budgeted search a session runs: `trials` per method row, precision and seed; the studies in
    `storage` (an Optuna journal file, or SQLite for a path ending in .db/.sqlite/.sqlite3); the `pruner`."""

    spaces: dict[str, Space]
    name: str  # the space as given: a packaged name or a path
    digest: str  # sha256 of the space file's bytes, first 12 hex digits: part of every study's name
    trials: int
    storage: str
    pruner: str = "hyperband"

    def __post_init__(self) -> None:
        if not (isinstance(self.trials, int) and self.trials >= 1):
            raise ValueError(f"--rtsent-trials={self.trials!r} is not an integer >= 1")
        if self.pruner not in PRUNERS:
            raise ValueError(f"--rtsent-pruner={self.pruner!r} is not one of {', '.join(PRUNERS)}")
        if not self.storage:
            raise ValueError(
                "--rtsent-search needs --rtsent-study=FILE: the Optuna storage the studies live in (a journal "
                "file, or FILE.db for SQLite); a run resumes from it and xdist workers share it"
            )


def parse_space(table: dict[str, Any], *, source: str = "search space") -> dict[str, Space]:
    """{method: Space} from a parsed TOML table; `SweepError` names the first bad entry in one line."""
    out = {}
    for method, entries in table.items():
        if method not in METHODS:
            raise SweepError(f"{source}: unknown method [{method}]; valid methods: {', '.join(METHODS)}")
        if not isinstance(entries, dict) or not entries:
            raise SweepError(f"{source}: [{method}] must be a table of key = {{low, high}} or [values]")
        valid, ranges = _valid_keys(method), key_ranges(method)
        dimensions = []
        for key, raw in entries.items():
            where = f"{source}: [{method}] {key}"
            if key == RESOURCE:
                raise SweepError(
                    f"{where}: epochs is the pruner's resource, not searched; set it in the profile's recipe "
                    "(the selection picks the epoch from the learning curve)"
                )
            if key not in valid:
                keys = ", ".join(sorted(valid))
                raise SweepError(f"{source}: [{method}] has unknown key {key!r}; valid keys: {keys}")
            dimension = _range(where, raw) if isinstance(raw, dict) else Choice(_choices(where, raw))
            ends = (dimension.low, dimension.high) if isinstance(dimension, Range) else dimension.values
            for value in ends:
                if not conforms(value, valid[key]):
                    raise SweepError(f"{where} = {value!r} ({type(value).__name__}) is not {expected(valid[key])}")
                if key in ranges and value not in ranges[key]:
                    raise SweepError(f"{where} = {value!r} is not {ranges[key]}")
            dimensions.append((key, dimension))
        out[method] = space = Space(method=method, dimensions=tuple(dimensions))
        # every end of a range and every choice, the other keys at their first, must make a configuration
        # that passes a sweep row's checks (the recipe's own, e.g. its pooling names)
        first = {key: d.low if isinstance(d, Range) else d.values[0] for key, d in dimensions}
        for key, dimension in dimensions:
            for value in (dimension.low, dimension.high) if isinstance(dimension, Range) else dimension.values:
                space.point(first | {key: value}, source=source)
    return out


def _range(where: str, raw: dict[str, Any]) -> Range:
    unknown = set(raw) - {"low", "high", "log", "step"}
    if unknown or not {"low", "high"} <= set(raw):
        raise SweepError(f"{where} = {raw!r}: a range is {{low = L, high = H}}, optionally log = true or step = S")
    low, high, log, step = raw["low"], raw["high"], raw.get("log", False), raw.get("step")
    for name, value in (("low", low), ("high", high), ("step", step)):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and not (number and math.isfinite(value)):
            raise SweepError(f"{where}: {name} = {value!r} is not a finite number")
    if not isinstance(log, bool):
        raise SweepError(f"{where}: log = {log!r} is not true or false")
    if low >= high:
        raise SweepError(f"{where}: low = {low!r} is not below high = {high!r}")
    if log and low <= 0:
        raise SweepError(f"{where}: a log range needs low > 0, not {low!r}")
    if log and step is not None:
        raise SweepError(f"{where}: step and log = true do not go together (Optuna's distributions)")
    if step is not None and step <= 0:
        raise SweepError(f"{where}: step = {step!r} is not > 0")
    return Range(low=low, high=high, log=log, step=step)


def _choices(where: str, raw: Any) -> tuple[Any, ...]:
    values = tuple(frozen_value(v) for v in (raw if isinstance(raw, list) else [raw]))
    if not values:
        raise SweepError(f"{where} lists no values")
    if len(set(values)) != len(values):
        raise SweepError(f"{where} lists a value twice: {list(values)}")
    return values


def load_space(path: str | Path) -> tuple[dict[str, Space], str]:
    """A search-space file, or the name of a packaged one (`tune`: rtsent/plan/spaces/tune.toml): its spaces
    and the sha256 of its bytes (12 hex digits). `SweepError` in one line for a missing or bad file."""
    file = Path(path)
    if not file.is_file() and (PACKAGED_SPACES / f"{path}.toml").is_file():
        file = PACKAGED_SPACES / f"{path}.toml"
    try:
        data = file.read_bytes()
        table = tomllib.loads(data.decode("utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        packaged = ", ".join(p.stem for p in sorted(PACKAGED_SPACES.glob("*.toml")))
        raise SweepError(f"search space {str(path)!r} does not exist; packaged spaces: {packaged}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SweepError(f"search space {str(file)!r} does not parse: {error}") from None
    return parse_space(table, source=f"search space {str(file)!r}"), hashlib.sha256(data).hexdigest()[:12]
