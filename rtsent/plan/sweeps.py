"""Sweeps: lists of values per method for any recipe field and any method hyperparameter, expanded
into ordinary cases (`--rtsent-sweep=FILE.toml`).

A sweep file has one table per method; each key lists values (a single value means a list of one):

    [lora]
    lr = [1e-4, 5e-4, 2e-3]
    r = [8, 16]
    epochs = 4

Keys: `lr` (methods that take one), any `Recipe` field (rtsent/plan/profiles.py), and any keyword argument
of the method's `__init__` (the estimator contract: LoRA's `r`, `lora_alpha`, `lora_dropout`; the
SVM's `C`; ...), so a new hyperparameter needs no change here. The cross product
of a method's lists gives its configurations; every key of the table is named in the case id
(`lora-lr5e-4-r16-epochs4-bf16-seed0`), so rows stay readable and unique. Every value is checked
against its key's type and, for numbers, its declared range (`Recipe.ranges`, the method's
`parameter_ranges`: rtsent/schema/ranges.py), naming the file, table and key; nan and inf are in no range.
"""

from __future__ import annotations

import inspect
import itertools
import tomllib
import types
import typing
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from rtsent.engine.recipe import Recipe
from rtsent.methods import CASE_ARGUMENTS, METHODS, TAKES_LR, parameter_ranges
from rtsent.schema.caseid import CaseId

PACKAGED_SWEEPS = Path(__file__).parent / "sweeps"


class SweepError(ValueError):
    """A sweep file that cannot be used; the message is one line naming the file, table and key."""


@dataclass(frozen=True, kw_only=True)
class SweepPoint:
    """One configuration of one method: its lr, recipe changes and `__init__` hyperparameters."""

    method: str
    lr: float | None = None  # None: the profile's lr for this method
    recipe_changes: tuple[tuple[str, Any], ...] = ()
    params: tuple[tuple[str, Any], ...] = ()
    # (key, value) of every key the sweep table names except lr, in the file's order: the case id's parts
    swept: tuple[tuple[str, Any], ...] = ()

    def recipe(self, base: Recipe) -> Recipe:
        return replace(base, **dict(self.recipe_changes))


def hyperparameters(method: str) -> dict[str, Any]:
    """{name: type hint} of the keyword arguments a method's `__init__` takes beyond the case's own."""
    cls = METHODS[method]
    hints = typing.get_type_hints(cls.__init__)
    names = [n for n in inspect.signature(cls.__init__).parameters if n != "self" and n not in CASE_ARGUMENTS]
    return {name: hints.get(name, Any) for name in names}


# recipe fields that are not hyperparameters: free text, and where a re-run stops (`--rtsent-stop`)
NOT_SWEPT = ("notes", "stop_epochs")


def _recipe_fields() -> dict[str, Any]:
    hints = typing.get_type_hints(Recipe)
    return {f.name: hints[f.name] for f in fields(Recipe) if f.name not in NOT_SWEPT}


def valid_keys(method: str) -> dict[str, Any]:
    """{key: type hint} of what a sweep or a search space may set for `method`: `lr` (a method that takes
    one), every recipe field, every `__init__` hyperparameter."""
    return {**({"lr": float} if method in TAKES_LR else {}), **_recipe_fields(), **hyperparameters(method)}


def key_ranges(method: str) -> dict[str, Any]:
    """{key: range} declared for `method`'s keys (rtsent/schema/ranges.py): the recipe's and the method's."""
    return {**Recipe.ranges, **parameter_ranges(method)}


def conforms(value: Any, hint: Any) -> bool:
    """Does a TOML value fit a type hint (int, float, bool, str, X | None, tuple[str, ...], Any)?"""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Literal:  # a method's named choices, e.g. LoRA's target_modules
        return value in typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin in (tuple, list):
        args = typing.get_args(hint)
        if origin is tuple and args and Ellipsis not in args:  # tuple[int, int]: exactly that many
            return isinstance(value, tuple | list) and len(value) == len(args) and all(map(conforms, value, args))
        inner = args[0] if args else Any
        return isinstance(value, tuple | list) and all(conforms(v, inner) for v in value)
    return isinstance(value, hint) if isinstance(hint, type) else True


def expected(hint: Any) -> str:
    """What a value of `hint` is, for the error line: "a float", "one of 'cls', 'mean'"."""
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(repr(choice) for choice in typing.get_args(hint))
    return "a " + (getattr(hint, "__name__", None) or str(hint).replace("typing.", ""))


def frozen_value(value: Any) -> Any:
    """TOML arrays as tuples: configurations are hashable and frozen."""
    return tuple(frozen_value(v) for v in value) if isinstance(value, list) else value


def parse_sweep(table: dict[str, Any], *, source: str = "sweep") -> dict[str, list[SweepPoint]]:
    """{method: configurations} from a parsed sweep table; `SweepError` names the first bad entry."""
    recipe_fields = _recipe_fields()
    out: dict[str, list[SweepPoint]] = {}
    for method, entries in table.items():
        if method not in METHODS:
            raise SweepError(f"{source}: unknown method [{method}]; valid methods: {', '.join(METHODS)}")
        if not isinstance(entries, dict) or not entries:
            raise SweepError(f"{source}: [{method}] must be a table of key = [values]")
        params = hyperparameters(method)
        valid = valid_keys(method)
        ranges = key_ranges(method)  # declared beside the recipe and the method
        axes: list[tuple[str, list[Any]]] = []
        for key, raw in entries.items():
            if key not in valid:
                raise SweepError(
                    f"{source}: [{method}] has unknown key {key!r}; valid keys: {', '.join(sorted(valid))}"
                )
            # A list is a list of values, anything else one value (a tuple-valued key takes nested lists).
            values = [frozen_value(v) for v in (raw if isinstance(raw, list) else [raw])]
            if not values:
                raise SweepError(f"{source}: [{method}] {key} lists no values")
            for value in values:
                if not conforms(value, valid[key]):
                    raise SweepError(
                        f"{source}: [{method}] {key} = {value!r} ({type(value).__name__}) is not {expected(valid[key])}"
                    )
                if key in ranges and value not in ranges[key]:  # nan and inf are in no range
                    raise SweepError(f"{source}: [{method}] {key} = {value!r} is not {ranges[key]}")
            if len(set(values)) != len(values):
                raise SweepError(f"{source}: [{method}] {key} lists a value twice: {values}")
            axes.append((key, values))
        points = []
        for combination in itertools.product(*(values for _, values in axes)):
            chosen = dict(zip((key for key, _ in axes), combination, strict=True))
            point = SweepPoint(
                method=method,
                lr=chosen.get("lr"),
                recipe_changes=tuple((k, v) for k, v in chosen.items() if k in recipe_fields),
                params=tuple((k, v) for k, v in chosen.items() if k in params),
                swept=tuple((k, v) for k, v in chosen.items() if k != "lr"),
            )
            try:
                point.recipe(Recipe())  # the recipe's own checks (ranges), now rather than at the case
                CaseId(method, point.lr, point.swept, "fp32")  # an id that reads back (rtsent/schema/caseid.py)
            except ValueError as error:
                raise SweepError(f"{source}: [{method}] {error}") from None
            points.append(point)
        out[method] = points
    return out


def load_sweep(path: str | Path) -> dict[str, list[SweepPoint]]:
    """Read and check a sweep file: a path, or the name of a packaged one (`tune`: rtsent/plan/sweeps/tune.toml)."""
    file = Path(path)
    if not file.is_file() and (PACKAGED_SWEEPS / f"{path}.toml").is_file():
        file = PACKAGED_SWEEPS / f"{path}.toml"
    try:
        table = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        packaged = ", ".join(p.stem for p in sorted(PACKAGED_SWEEPS.glob("*.toml")))
        raise SweepError(f"sweep file {str(path)!r} does not exist; packaged sweeps: {packaged}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SweepError(f"sweep file {str(file)!r} does not parse: {error}") from None
    return parse_sweep(table, source=f"sweep file {str(file)!r}")
