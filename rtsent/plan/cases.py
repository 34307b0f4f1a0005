"""A case's configuration (`CaseConfig`: everything that decides what a case computes) and the grid of
cases a session runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rtsent.data.draws import VALIDATIONS, Draw
from rtsent.data.sources import DataSpec
from rtsent.engine.devices import resolve_precision
from rtsent.engine.recipe import Recipe
from rtsent.methods import TAKES_LR, check_params, get_method
from rtsent.plan.floors import floor_for
from rtsent.schema.caseid import PRECISIONS, CaseId


@dataclass(frozen=True)
class CaseConfig:
    """Everything that decides what a case computes."""

    profile: str
    method: str
    lr: float | None
    precision: str
    seed: int
    model: str
    data: DataSpec  # the source and the columns read from it
    max_train: int | None
    recipe: Recipe
    floor: float | None = None  # minimum validation accuracy; None: no gate
    params: tuple[tuple[str, Any], ...] = ()  # method hyperparameters: keyword arguments of its __init__
    swept: tuple[tuple[str, Any], ...] = ()  # (key, value) a sweep set besides lr, in the sweep file's order
    # the query/value module names LoRA/DoRA adapt instead of the architecture's (--rtsent-target-modules)
    lora_targets: tuple[str, ...] = ()
    # a trial of the budgeted search (rtsent.case.trials): its index among the row's trials; lr, params and
    # swept are the grid row's until the trial samples them, and the case id names the trial, not the values
    trial: int | None = None
    # the labelled-set size axis (rtsent.data.draws): examples per class drawn from the training split
    # with the case's seed; None: the whole split (or the profile's max_train subset, drawn once)
    per_class: int | None = None
    validation: str = "full"  # "drawn": validation cut to per_class too (rtsent.data.draws.Draw)

    def __post_init__(self) -> None:
        if isinstance(self.data, str):  # a source alone: its `text` and `label` columns
            object.__setattr__(self, "data", DataSpec(source=self.data))
        get_method(self.method)  # raises, listing the valid names
        # the learning rate and the hyperparameters in their declared ranges: a grid row's, a sweep's
        check_params(self.method, {**({"lr": self.lr} if self.method in TAKES_LR else {}), **dict(self.params)})
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; valid: {', '.join(PRECISIONS)}")
        if not (isinstance(self.seed, int) and self.seed >= 0):
            raise ValueError(f"seed={self.seed!r} is not a non-negative integer")
        if self.max_train is not None and self.max_train < 2:
            raise ValueError(f"max_train={self.max_train!r} is not an integer >= 2")
        if self.per_class is not None:
            _ = self.draw  # Draw checks per_class and validation (rtsent.data.draws.DrawError, a ValueError)
        elif self.validation != "full":
            raise ValueError(f"validation={self.validation!r} needs per_class (a drawn validation split)")
        if self.trial is not None and not (type(self.trial) is int and self.trial >= 0):
            raise ValueError(f"trial={self.trial!r} is not a non-negative integer")
        if self.floor is not None and not 0 <= self.floor <= 1:
            raise ValueError(f"floor={self.floor!r} is outside [0, 1]")

    @property
    def caseid(self) -> CaseId:
        """What the case id names (rtsent/schema/caseid.py): the lr only for a method that takes one; a trial
        its index and its grid row's own values (`lora-trial3-target_modules=all-linear-bf16-seed0`)."""
        size = (("per_class", self.per_class),) if self.per_class is not None else ()
        size += (("validation", self.validation),) if self.validation != "full" else ()
        if self.trial is not None:
            return CaseId(self.method, None, (("trial", self.trial), *self.swept, *size), self.precision, self.seed)
        lr = self.lr if self.method in TAKES_LR else None
        return CaseId(self.method, lr, (*self.swept, *size), self.precision, self.seed)

    @property
    def draw(self) -> Draw | None:
        """The training examples this case draws (rtsent.data.draws), or None: the whole training split."""
        if self.per_class is None:
            return None
        return Draw(per_class=self.per_class, seed=self.seed, validation=self.validation)

    @property
    def row(self) -> str:
        """The table row this case fills: "lora-lr2e-4-bf16" (seed excluded)."""
        return self.caseid.row

    @property
    def case_id(self) -> str:
        return self.caseid.format()


def build_grid(
    *,
    profile: Any,
    methods: list[str],
    precisions: list[str],
    seeds: list[int],
    model: str,
    data: DataSpec | str,
    max_train: int | None,
    floors: dict[str, float],
    device: Any,
    sweep: dict[str, list[Any]],
    sweep_exact: bool = False,
    lora_targets: tuple[str, ...] = (),
    trials: dict[str, int] | None = None,
    sizes: TrainSizes | None = None,
) -> list[CaseConfig]:
    """Every case's `CaseConfig`: the profile's grid, each swept method's entries replaced by its sweep's
    configurations (`sweep`: method -> SweepPoints, rtsent.plan.sweeps; `sweep_exact`: each point one
    configuration that ran, not values to cross), each searched method's (`trials`: method -> trials, from
    rtsent.plan.space.Search) by that many trial cases per grid row (its learning rates as one row), precision
    and seed; `precisions` given replace the profile's; `sizes` (the labelled-set size axis) crosses every
    case with its sizes. A ValueError names case ids that come out twice."""
    trials = trials or {}

    cases, swept_done = [], set()
    common = {"model": model, "data": data, "max_train": max_train, "lora_targets": lora_targets}
    for entry in profile.grid:
        if entry.method not in methods or (entry.method, entry.params) in swept_done:
            continue
        if entry.method in trials:  # searched: the row's trials, whatever lr the grid lists
            swept_done.add((entry.method, entry.params))
            cases += _trials(entry, trials[entry.method], profile, precisions, seeds, device, common)
            continue
        points = sweep.get(entry.method)
        if points is not None and any(point.lr is not None for point in points):
            # a sweep that sets lr runs once per grid row, not once per grid entry's lr
            swept_done.add((entry.method, entry.params))
        recipe = profile.recipe(entry.method)
        if points is not None and sweep_exact:
            # selected configurations re-run as they ran: a row's own settings (LoRA's all-linear row)
            # apply only to the configurations that came from that row, which name them
            points = [p for p in points if {k for k, _ in entry.params} <= {k for k, _ in p.params}]
            if not points:
                continue  # no selected configuration came from this row
        for precision in precisions or [entry.precision]:
            resolved, _ = resolve_precision(precision, device)
            for point in points or [None]:
                for seed in seeds:
                    config = CaseConfig(
                        profile=profile.name,
                        method=entry.method,
                        lr=entry.lr if point is None or point.lr is None else point.lr,
                        precision=resolved,
                        seed=seed,
                        model=model,
                        data=data,
                        max_train=max_train,
                        recipe=recipe if point is None else point.recipe(recipe),
                        params=_merged(entry.params, () if point is None else point.params),
                        swept=_merged(entry.params, () if point is None else point.swept),
                        lora_targets=lora_targets,
                    )
                    cases.append(replace(config, floor=floor_for(floors, config.row)))
    if sizes is not None:
        cases = [sized for case in cases for sized in sizes.cross(case)]
    unique = list(dict.fromkeys(cases))  # a sweep value equal to a grid row's own setting: one case
    ids = [case.case_id for case in unique]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"the grid names cases twice: {', '.join(twice[:5])}; make the sweep's values distinct")
    return unique


@dataclass(frozen=True, kw_only=True)
class TrainSizes:
    """The labelled-set size axis (`--rtsent-per-class`): every case runs at each size.

    `per_class`: examples per class (None: the whole training split); a sized case draws its own
    examples with its seed (rtsent.data.draws) and trains at least `min_steps` optimizer steps, the one
    rule for every gradient-trained method (recorded as the recipe's `min_steps`). `validation` "drawn" cuts
    validation to the same size (the true few-shot setting). Sized cases have no floor: floors are measured
    on the whole split."""

    per_class: tuple[int | None, ...]
    min_steps: int = 100
    validation: str = "full"

    def __post_init__(self) -> None:
        if not self.per_class or any(n is not None and (type(n) is not int or n < 1) for n in self.per_class):
            raise ValueError(f"per_class={self.per_class!r}: expected integers >= 1 or None (the whole split)")
        if type(self.min_steps) is not int or self.min_steps < 0:
            raise ValueError(f"min_steps={self.min_steps!r} is not an integer >= 0")
        if self.validation not in VALIDATIONS:
            raise ValueError(f"validation={self.validation!r} is not one of {', '.join(VALIDATIONS)}")

    def cross(self, case: CaseConfig) -> list[CaseConfig]:
        """`case` at each size: the whole-split case as it is, each drawn one with its draw and the rule."""
        out = []
        for n in self.per_class:
            if n is None:
                out.append(case)
                continue
            recipe = replace(case.recipe, min_steps=max(case.recipe.min_steps, self.min_steps))
            out.append(replace(case, per_class=n, validation=self.validation, recipe=recipe, floor=None))
        return out


def _trials(
    entry: Any,
    count: int,
    profile: Any,
    precisions: list[str],
    seeds: list[int],
    device: Any,
    common: dict[str, Any],
) -> list[CaseConfig]:
    """A searched grid row's trial cases: `count` per precision and seed, in trial order. No floor: a trial
    explores (a poor one is expected); floors judge the configuration the selection then re-runs."""
    out = []
    for precision in precisions or [entry.precision]:
        resolved, _ = resolve_precision(precision, device)
        for trial in range(count):
            for seed in seeds:
                config = CaseConfig(
                    profile=profile.name,
                    method=entry.method,
                    lr=entry.lr,
                    precision=resolved,
                    seed=seed,
                    recipe=profile.recipe(entry.method),
                    params=entry.params,
                    swept=entry.params,
                    trial=trial,
                    **common,
                )
                out.append(config)
    return out


def _merged(base: tuple[tuple[str, Any], ...], changes: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    """A grid row's (key, value) pairs with a sweep point's on top: the sweep's pairs in the sweep's order,
    then the row's keys the sweep leaves alone (so one configuration reached from two rows is one case)."""
    keys = {k for k, _ in changes}
    return tuple(changes) + tuple((k, v) for k, v in base if k not in keys)
