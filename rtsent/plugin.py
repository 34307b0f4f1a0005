"""The pytest layer: options and fixtures wired to library calls, nothing more.

Loaded by the repository's root `conftest.py`. Every option has a help text, a default and an
environment variable (for CI); options are checked when pytest starts, before any training.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

OPTIONS = {
    # option: (environment variable, default, help)
    "profile": ("RTSENT_PROFILE", "seed", "profile: seed (the study, GPU), offline, quick (CI gate), smoke"),
    "seeds": ("RTSENT_SEEDS", "0", "comma-separated seeds, e.g. 0,1,2"),
    "methods": ("RTSENT_METHODS", "", "comma-separated methods to run (default: the profile's grid)"),
    "precisions": ("RTSENT_PRECISIONS", "", "comma-separated precisions fp32,fp16,bf16 (default: the profile's)"),
    "model": ("RTSENT_MODEL", "", "model source: hub id, folder, minilm-l6, random:NAME (default: the profile's)"),
    "data": ("RTSENT_DATA", "", "data source: rt-polarity (packaged), a folder or a hub id (default: the profile's)"),
    "max-train": ("RTSENT_MAX_TRAIN", "", "stratified training-subset size (default: the profile's)"),
    "floors": ("RTSENT_FLOORS", "", "floors TOML file (default: the profile's packaged file; 'none' for no gate)"),
    "records": (
        "RTSENT_RECORDS",
        "",
        "also write every case's record here, atomically after each case (survives kills)",
    ),
    "resume": (
        "RTSENT_RESUME",
        "",
        "results file of an earlier run: reuse each passed case whose model, data, recipe and versions match",
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rtsent", "rtsent benchmark grid")
    for name, (env, default, help_text) in OPTIONS.items():
        group.addoption(
            f"--rtsent-{name}",
            default=os.environ.get(env, default),
            help=f"{help_text} [env {env}; default {default!r}]",
        )


@dataclass
class Session:
    """The options, parsed and checked once; the shared workbench; the grid to run."""

    profile: Any
    seeds: list[int]
    methods: list[str]
    precisions: list[str]
    model: str
    data: str
    max_train: int | None
    floors: dict[str, float]
    device: Any
    records_path: str = ""
    resume_path: str = ""
    resume: dict[str, dict[str, Any]] = field(default_factory=dict)
    bench: Any = field(default=None, repr=False)
    records: list[dict[str, Any]] = field(default_factory=list)

    def grid(self) -> list[tuple[str, float | None, str, int]]:
        """(method, lr, precision, seed) per case; precisions given on the command line replace the profile's."""
        from rtsent.measuring import resolve_precision

        cases = []
        for entry in self.profile.grid:
            if entry.method not in self.methods:
                continue
            for precision in self.precisions or [entry.precision]:
                resolved, _ = resolve_precision(precision, self.device)
                cases += [(entry.method, entry.lr, resolved, seed) for seed in self.seeds]
        return cases

    def case_config(self, *, method: str, lr: float | None, precision: str, seed: int) -> Any:
        from rtsent.floors import floor_for
        from rtsent.runner import CaseConfig

        config = CaseConfig(
            profile=self.profile.name,
            method=method,
            lr=lr,
            precision=precision,
            seed=seed,
            model=self.model,
            data=self.data,
            max_train=self.max_train,
            recipe=self.profile.recipe(method),
        )
        return replace(config, floor=floor_for(self.floors, config.row))

    def open(self) -> None:
        """Load the model source and the data once, now: a bad source stops the run before any training."""
        from rtsent.backbones import BackboneSourceError, check_max_length
        from rtsent.data import DataSourceError
        from rtsent.measuring import configure_threads
        from rtsent.workbench import Workbench

        if self.bench is not None:
            return
        configure_threads()
        self.bench = Workbench(device=self.device)
        try:
            backbone = self.bench.backbone(self.model)  # loaded and checked: weights, head, tokenizer
            for method in self.methods:
                check_max_length(backbone, self.profile.recipe(method).max_length)
            self.bench.splits(self.data, self.max_train)
        except (BackboneSourceError, DataSourceError) as error:
            raise pytest.UsageError(f"rtsent: {error}") from None

    def run(self, config: Any) -> Any:
        """A case's result: reused from --rtsent-resume when everything that decides it matches (the
        record says why not otherwise, as `resume_rejected`), else run."""
        from rtsent.records import resume_mismatch, write_records
        from rtsent.runner import CaseResult, case_inputs, judge, run_case

        old = self.resume.get(config.case_id)
        rejected = None if old is None else resume_mismatch(old, case_inputs(config, self.bench))
        if old is not None and rejected is None:
            record = {**old, "floor": config.floor, "resumed_from": self.resume_path}
            result = CaseResult(*judge(record, config), record)
            record.update(status=result.status, message=result.message)
        else:
            result = run_case(config, bench=self.bench)
            if rejected:
                result.record["resume_rejected"] = rejected
        if self.records_path:
            self.records.append(result.record)
            write_records(self.records_path, self.records, {"rtsent": self.bench.facts})
        return result


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_options(get: Any) -> Session:
    """Build the session from `get(name)` -> option string; one-line ValueError on a bad value."""
    from rtsent.floors import default_floors_path, load_floors
    from rtsent.measuring import pick_device
    from rtsent.methods import METHODS
    from rtsent.profiles import MIXED, PRECISIONS, get_profile

    profile = get_profile(get("profile"))
    try:
        seeds = [int(part) for part in _split(get("seeds"))]
    except ValueError:
        raise ValueError(f"--rtsent-seeds={get('seeds')!r} does not parse; expected integers like 0,1,2") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--rtsent-seeds={get('seeds')!r} must list non-negative integers like 0,1,2")
    methods = _split(get("methods")) or sorted({entry.method for entry in profile.grid}, key=list(METHODS).index)
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r} in --rtsent-methods; valid methods: {', '.join(METHODS)}")
    precisions = _split(get("precisions"))
    for precision in precisions:
        if precision not in (*PRECISIONS, MIXED):
            raise ValueError(
                f"unknown precision {precision!r} in --rtsent-precisions; valid: {', '.join(PRECISIONS)}, {MIXED}"
            )
    data = get("data") or profile.data
    max_train_text = get("max-train")
    try:
        max_train = int(max_train_text) if max_train_text else profile.max_train
    except ValueError:
        raise ValueError(f"--rtsent-max-train={max_train_text!r} is not an integer") from None
    if max_train is not None and max_train < 2:
        raise ValueError(f"--rtsent-max-train={max_train} must be at least 2")
    floors_text = get("floors")
    floors = (
        {}
        if floors_text == "none"
        else load_floors(Path(floors_text) if floors_text else default_floors_path(profile.name))
    )
    resume = {}
    if get("resume"):
        from rtsent.records import RecordsError, read_document, records_of

        try:
            resume = {r["case"]: r for r in records_of(read_document(get("resume")))}
        except RecordsError as error:
            raise ValueError(f"--rtsent-resume: {error}") from None
    return Session(
        profile=profile,
        seeds=seeds,
        methods=methods,
        precisions=precisions,
        model=get("model") or profile.model,
        data=data,
        max_train=max_train,
        floors=floors,
        device=pick_device(),
        records_path=get("records"),
        resume_path=get("resume"),
        resume=resume,
    )


def pytest_configure(config: pytest.Config) -> None:
    """Check every option now, so a typo fails in a second rather than an hour into the grid."""
    try:
        config._rtsent = parse_options(lambda name: config.getoption(f"--rtsent-{name}"))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


def _session(config: pytest.Config) -> Session:
    return config._rtsent


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"method", "lr", "precision", "seed"} <= set(metafunc.fixturenames):
        session = _session(metafunc.config)
        cases = session.grid()
        ids = [session.case_config(method=m, lr=lr, precision=p, seed=s).case_id for m, lr, p, s in cases]
        metafunc.parametrize(("method", "lr", "precision", "seed"), cases, ids=ids)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Once the grid is collected, load its model and data: a bad source fails here, before any training."""
    if any("rtsent" in getattr(item, "fixturenames", ()) for item in items):
        _session(config).open()


@pytest.fixture(scope="session")
def rtsent(request: pytest.FixtureRequest) -> Session:
    """The parsed options and the workbench whose caches every case shares."""
    session = _session(request.config)
    session.open()
    return session


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Any:
    """A resumed case's benchmark time would be the time to copy its record: give it the original
    run's `case_time_s` before pytest-benchmark writes its JSON, saves, compares or prints its table."""
    benchmarks = getattr(getattr(session.config, "_benchmarksession", None), "benchmarks", None) or []
    for bench in benchmarks:
        info = getattr(bench, "extra_info", None) or {}
        if info.get("resumed_from") and bench.stats:
            fresh = type(bench.stats)()
            fresh.update(info["case_time_s"])  # resume_mismatch refused records without it
            bench.stats = fresh
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_benchmark_generate_json(config: pytest.Config, benchmarks: list[Any], **kwargs: Any) -> Any:
    """Drop a case that Ctrl-C cut off mid-run (no timing data): pytest-benchmark would crash on it and
    write no JSON at all, losing every finished case."""
    benchmarks[:] = [bench for bench in benchmarks if bench.stats.data]
    return (yield)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    session = getattr(config, "_rtsent", None)
    if session is None:
        return
    from rtsent.measuring import machine_facts

    if session.bench is None:  # no case ran
        facts = machine_facts(session.device)
    else:
        facts = {**session.bench.facts, "matmul_flops": session.bench.calibrations}
    machine_info["rtsent"] = {**facts, "profile": session.profile.name, "model": session.model, "data": session.data}
