"""The options that shape the grid beyond the profile, each read into its plan: `--rtsent-sweep` (value lists,
rtsent.plan.sweeps), `--rtsent-search` with its budget, storage and pruner (rtsent.plan.space.Search) and
`--rtsent-per-class` with its rule (rtsent.plan.cases.TrainSizes). `get(name)` gives an option's text, its
default (rtsent.plugin.session.OPTIONS) where not given; a bad value is a one-line ValueError naming it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def listed_once(option: str, text: str, given: list[str], means: list[Any], what: str, why: str = "") -> None:
    """One-line ValueError when two entries of `given` mean the same thing (`means`, position by position):
    a repeated seed would run as a second "seed" with pytest's id suffix and fake a spread of 0."""
    seen: dict[Any, str] = {}
    for entry, meaning in zip(given, means, strict=True):
        if meaning in seen:
            both = f" ({seen[meaning]!r} and {entry!r}{why})" if entry != seen[meaning] else ""
            raise ValueError(f"--rtsent-{option}={text!r} lists {what} {meaning} twice{both}; list each {what} once")
        seen[meaning] = entry


def load_sizes(get: Any) -> Any:
    """--rtsent-per-class with --rtsent-min-steps and --rtsent-validation (rtsent.plan.cases.TrainSizes)."""
    from rtsent.plan.cases import TrainSizes

    text = get("per-class")
    parts = split(text)
    try:
        sizes = [None if part == "all" else int(part) for part in parts]
    except ValueError:
        raise ValueError(f"--rtsent-per-class={text!r} does not parse; expected sizes like 8,32,128,all") from None
    if not sizes or any(n is not None and n < 1 for n in sizes):
        raise ValueError(f"--rtsent-per-class={text!r}: each size is an integer >= 1 or all")
    listed_once("per-class", text, parts, sizes, "size")
    steps_text = get("min-steps")
    try:
        min_steps = int(steps_text)
    except ValueError:
        raise ValueError(f"--rtsent-min-steps={steps_text!r} is not an integer") from None
    if min_steps < 0:
        raise ValueError(f"--rtsent-min-steps={min_steps} must be 0 or more")
    validation = get("validation")
    if validation not in ("full", "drawn"):
        raise ValueError(f"--rtsent-validation={validation!r} is not one of full, drawn")
    return TrainSizes(per_class=tuple(sizes), min_steps=min_steps, validation=validation)


def load_search(get: Any, profile: Any, sweep: dict[str, Any]) -> Any:
    """--rtsent-search with its budget, storage and pruner (rtsent.plan.space.Search); one-line ValueError."""
    from rtsent.plan.space import Search, load_space
    from rtsent.plan.sweeps import SweepError

    if sweep:
        raise ValueError("--rtsent-search and --rtsent-sweep both given: a run searches its methods or sweeps them")
    try:
        spaces, digest = load_space(get("search"))
    except SweepError as error:
        raise ValueError(f"--rtsent-search: {error}") from None
    unknown = [m for m in spaces if m not in {e.method for e in profile.grid}]
    if unknown:
        raise ValueError(f"--rtsent-search names {unknown}, which profile {profile.name!r} does not run")
    trials_text = get("trials")
    try:
        trials = int(trials_text)
    except ValueError:
        raise ValueError(f"--rtsent-trials={trials_text!r} is not an integer") from None
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ValueError("--rtsent-search needs Optuna: pip install 'rtsent[search]'") from None
    return Search(
        spaces=spaces,
        name=get("search"),
        digest=digest,
        trials=trials,
        storage=get("study") or "",
        pruner=get("pruner"),
    )


STOPS = ("schedule", "selected")  # --rtsent-stop: train the whole schedule, or stop at the selected epoch


def load_sweep_option(text: str, *, stop: str = "schedule") -> dict[str, list[Any]]:
    """A sweep file or packaged name, or `selected:RESULTS.json`: the configurations chosen on validation there.
    `stop="selected"` (selected:RESULTS.json only): each configuration chosen at an epoch of its learning curve
    stops there (`Recipe.stop_epochs`), its learning rates still the whole schedule's."""
    from rtsent.plan.sweeps import SweepError, load_sweep, parse_sweep

    if stop not in STOPS:
        raise ValueError(f"--rtsent-stop={stop!r} is not one of {', '.join(STOPS)}")
    if stop != "schedule" and not text.startswith("selected:"):
        given = f", not --rtsent-sweep={text}" if text else ""
        raise ValueError(
            f"--rtsent-stop={stop} needs --rtsent-sweep=selected:RESULTS.json (the epochs chosen there){given}"
        )
    try:
        if not text.startswith("selected:"):
            return load_sweep(text)
        from rtsent.report.selection import as_sweep, chosen_epochs, select
        from rtsent.schema.records import RecordsError, read_document, records_of

        path = text.removeprefix("selected:")
        try:
            records = records_of(read_document(path))
        except RecordsError as error:
            raise SweepError(f"--rtsent-sweep={text}: {error}") from None
        if any(record.get("per_class") is not None for record in records):
            # a configuration is chosen per labelled-set size; which one to re-run at every size is not defined
            raise SweepError(
                f"--rtsent-sweep={text}: the file holds labelled-set-size cases (per_class); select from a run "
                f"without --rtsent-per-class"
            )
        selections = select(records)
        points = parse_sweep(as_sweep(selections), source=f"the selection in {path!r}")
        if stop == "selected":
            try:
                epochs = chosen_epochs(selections)
            except ValueError as error:
                raise SweepError(f"--rtsent-sweep={text}: {error}") from None
            points = {
                method: [replace(p, recipe_changes=(*p.recipe_changes, ("stop_epochs", epochs[method]))) for p in ps]
                if method in epochs
                else ps
                for method, ps in points.items()
            }
        return points
    except SweepError as error:
        raise ValueError(str(error)) from None
