"""The pytest layer: options and fixtures wired to library calls, nothing more.

Loaded by the repository's root `conftest.py`. Every option has a help text, a default and an
environment variable (for CI); options are checked when pytest starts, before any training.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import warnings
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
    "sweep": (
        "RTSENT_SWEEP",
        "",
        "sweep TOML: value lists per method for recipe fields and hyperparameters (a file, a packaged name such as "
        "'tune', or selected:RESULTS.json for the configurations selected on validation there)",
    ),
    "floors": ("RTSENT_FLOORS", "", "floors TOML file (default: the profile's packaged file; 'none' for no gate)"),
    "records": (
        "RTSENT_RECORDS",
        "",
        "also write every case's record here, atomically after each case (survives kills); records of cases this "
        "run does not run stay in the file, those it runs again are replaced",
    ),
    "resume": (
        "RTSENT_RESUME",
        "",
        "results file of an earlier run: reuse each passed case whose model, data, recipe and versions match",
    ),
    "save": (
        "RTSENT_SAVE",
        "",
        "keep each case's artifacts in DIR/CASE_ID (adapter or head or model as safetensors, tokenizer, record.json)",
    ),
    "serving": (
        "RTSENT_SERVING",
        "once",
        "serving figures (latency, throughput): once per serving shape (model, method, adapter shape, precision, "
        "device) and reused by the session's other cases of that shape, every (timed in each case), off (none)",
    ),
    "devices": (
        "RTSENT_DEVICES",
        "",
        "under pytest-xdist (-n N): comma-separated CUDA device indices, worker i takes the i-th (mod the list)",
    ),
    "progress": (
        "RTSENT_PROGRESS",
        "auto",
        "live progress of each case: auto (unless -q), on, off; one updating line on a terminal, "
        "else a line per case and every 30 s",
    ),
}
# pytest-benchmark's table for cases of one round: min = max = mean = median and zero spread, so
# only the time means something. --benchmark-columns given by the user wins.
BENCHMARK_COLUMNS = ["mean"]


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
    sweep: dict[str, list[Any]] = field(default_factory=dict)  # method -> SweepPoints (rtsent.sweeps)
    sweep_exact: bool = False  # selected:FILE: each point is one configuration that ran, not values to cross
    records_path: str = ""
    progress: str = "auto"
    progress_sink: Any = field(default=None, repr=False)  # set when pytest's terminal is up; None: silent
    save_dir: str = ""  # --rtsent-save: each case's artifacts in save_dir/case_id
    serving: str = "once"  # --rtsent-serving: rtsent.serving.SERVING_MODES
    devices: list[int] = field(default_factory=list)  # --rtsent-devices: one per xdist worker
    pinned_device: str | None = None  # what this worker's CUDA_VISIBLE_DEVICES was set to
    resume_path: str = ""
    resume: dict[str, dict[str, Any]] = field(default_factory=dict)
    bench: Any = field(default=None, repr=False)
    records: list[dict[str, Any]] = field(default_factory=list)  # every case's record, in the order run
    kept_records: list[dict[str, Any]] = field(default_factory=list)  # the records file's, from before this run
    benchmark_json: str = ""  # --benchmark-json, which rtsent writes (atomically, kept when that fails)
    problems: list[str] = field(default_factory=list)  # one line per output not written, shown at the end

    def grid(self) -> list[Any]:
        """Every case's `CaseConfig`: the profile's grid, each swept method's entries replaced by its sweep's
        configurations; precisions given on the command line replace the profile's. A ValueError names
        case ids that come out twice."""
        from rtsent.floors import floor_for
        from rtsent.measuring import resolve_precision
        from rtsent.runner import CaseConfig

        cases, swept_done = [], set()
        for entry in self.profile.grid:
            if entry.method not in self.methods or (entry.method, entry.params) in swept_done:
                continue
            points = self.sweep.get(entry.method)
            if points is not None and any(point.lr is not None for point in points):
                # a sweep that sets lr runs once per grid row, not once per grid entry's lr
                swept_done.add((entry.method, entry.params))
            recipe = self.profile.recipe(entry.method)
            if points is not None and self.sweep_exact:
                # selected configurations re-run as they ran: a row's own settings (LoRA's all-linear row)
                # apply only to the configurations that came from that row, which name them
                points = [p for p in points if {k for k, _ in entry.params} <= {k for k, _ in p.params}]
                if not points:
                    continue  # no selected configuration came from this row
            for precision in self.precisions or [entry.precision]:
                resolved, _ = resolve_precision(precision, self.device)
                for point in points or [None]:
                    for seed in self.seeds:
                        config = CaseConfig(
                            profile=self.profile.name,
                            method=entry.method,
                            lr=entry.lr if point is None or point.lr is None else point.lr,
                            precision=resolved,
                            seed=seed,
                            model=self.model,
                            data=self.data,
                            max_train=self.max_train,
                            recipe=recipe if point is None else point.recipe(recipe),
                            params=_merged(entry.params, () if point is None else point.params),
                            swept=_merged(entry.params, () if point is None else point.swept),
                        )
                        cases.append(replace(config, floor=floor_for(self.floors, config.row)))
        unique = list(dict.fromkeys(cases))  # a sweep value equal to a grid row's own setting: one case
        ids = [case.case_id for case in unique]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"the grid names cases twice: {', '.join(twice[:5])}; make the sweep's values distinct")
        return unique

    def open(self) -> None:
        """Load the model source and the data once, now: a bad source stops the run before any training."""
        import torch

        from rtsent.backbones import BackboneSourceError, check_max_length
        from rtsent.data import DataSourceError
        from rtsent.distributed import threads_per_worker, worker_id
        from rtsent.measuring import configure_threads
        from rtsent.outputs import check_save_folder
        from rtsent.records import RecordsError
        from rtsent.workbench import Workbench

        if self.bench is not None:
            return
        from transformers.utils import logging as transformers_logging

        # transformers draws a "Loading weights" bar whenever a model loads: noise among pytest's lines
        transformers_logging.disable_progress_bar()
        cores = configure_threads()
        if worker_id() is not None:  # xdist workers split the cores between them
            torch.set_num_threads(threads_per_worker(cores))
        self.bench = Workbench(device=self.device)
        try:
            backbone = self.bench.backbone(self.model)  # loaded and checked: weights, head, tokenizer
            for method in self.methods:
                recipe = self.profile.recipe(method)
                for point in self.sweep.get(method, [None]):
                    check_max_length(backbone, (recipe if point is None else point.recipe(recipe)).max_length)
            _, hashes = self.bench.splits(self.data, self.max_train)
            if self.save_dir:  # another model's artifacts in the folder would be overwritten case by case
                current = {"model": self.model, "data": self.data, "model_identity": backbone.identity}
                check_save_folder(self.save_dir, {**current, "split_hashes": hashes})
        except (BackboneSourceError, DataSourceError, RecordsError) as error:
            raise pytest.UsageError(f"rtsent: {error}") from None

    def run(self, config: Any) -> Any:
        """A case's result: reused from --rtsent-resume when everything that decides it matches (the
        record says why not otherwise, as `resume_rejected`), else run."""
        from rtsent.distributed import worker_facts, worker_id
        from rtsent.progress import Progress
        from rtsent.records import resume_mismatch
        from rtsent.runner import CaseResult, case_inputs, judge, run_case

        old = self.resume.get(config.case_id)
        rejected = None if old is None else resume_mismatch(old, case_inputs(config, self.bench))
        if old is not None and rejected is None:
            record = {**old, "floor": config.floor, "resumed_from": self.resume_path}
            result = CaseResult(*judge(record, config), record)
            record.update(status=result.status, message=result.message)
        else:
            progress = Progress(config.case_id, self.progress_sink) if self.progress_sink else None
            try:
                save_to = Path(self.save_dir) / config.case_id if self.save_dir else None
                result = run_case(
                    config,
                    bench=self.bench,
                    callbacks=[progress] if progress else [],
                    save_to=save_to,
                    serving=self.serving,
                )
            finally:
                if progress:
                    progress.close()
            if rejected:
                result.record["resume_rejected"] = rejected
            if worker_id() is not None:  # run here, now (a resumed record keeps where it ran)
                result.record.update(worker_facts(self.bench.device, self.devices, self.pinned_device))
        self.records.append(result.record)
        if worker_id() is None:  # under xdist the controller writes the merged file
            self.save_records({"rtsent": self.bench.facts})
        return result

    def save_records(self, machine_info: dict[str, Any]) -> None:
        """--rtsent-records rewritten: the file's earlier records that this run did not replace (same
        profile, model and case), then this run's."""
        if not self.records_path:
            return
        from rtsent.records import record_key, records_text

        replaced = {record_key(record) for record in self.records}
        kept = [record for record in self.kept_records if record_key(record) not in replaced]
        self.write_output("--rtsent-records", self.records_path, records_text(kept + self.records, machine_info))

    def write_output(self, option: str, path: str, text: str) -> None:
        """`text` written to `path` atomically; when that fails, kept in the temp folder, and the one line
        saying where is shown at the end of the run (once, however many cases hit it)."""
        from rtsent.outputs import write_kept

        line = write_kept(option, path, text)
        if line is not None and line not in self.problems:
            self.problems.append(line)


def _merged(base: tuple[tuple[str, Any], ...], changes: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    """A grid row's (key, value) pairs with a sweep point's on top: the sweep's pairs in the sweep's order,
    then the row's keys the sweep leaves alone (so one configuration reached from two rows is one case)."""
    keys = {k for k, _ in changes}
    return tuple(changes) + tuple((k, v) for k, v in base if k not in keys)


def _devices(text: str) -> list[int]:
    try:
        devices = [int(part) for part in _split(text or "")]
    except ValueError:
        raise ValueError(f"--rtsent-devices={text!r} does not parse; expected device indices like 0,1,2,3") from None
    if any(d < 0 for d in devices) or len(set(devices)) != len(devices):
        raise ValueError(f"--rtsent-devices={text!r} must list distinct non-negative device indices like 0,1")
    return devices


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _listed_once(option: str, text: str, given: list[str], means: list[Any], what: str, why: str = "") -> None:
    """One-line ValueError when two entries of `given` mean the same thing (`means`, position by position):
    a repeated seed would run as a second "seed" with pytest's id suffix and fake a spread of 0."""
    seen: dict[Any, str] = {}
    for entry, meaning in zip(given, means, strict=True):
        if meaning in seen:
            both = f" ({seen[meaning]!r} and {entry!r}{why})" if entry != seen[meaning] else ""
            raise ValueError(f"--rtsent-{option}={text!r} lists {what} {meaning} twice{both}; list each {what} once")
        seen[meaning] = entry


def parse_options(get: Any, *, pinned: str | None = None) -> Session:
    """Build the session from `get(name)` -> option string; one-line ValueError on a bad value."""
    from rtsent.distributed import worker_device
    from rtsent.floors import default_floors_path, load_floors
    from rtsent.measuring import pick_device, resolve_precision
    from rtsent.methods import METHODS
    from rtsent.profiles import MIXED, PRECISIONS, get_profile
    from rtsent.progress import PROGRESS_MODES

    profile = get_profile(get("profile"))
    try:
        seeds = [int(part) for part in _split(get("seeds"))]
    except ValueError:
        raise ValueError(f"--rtsent-seeds={get('seeds')!r} does not parse; expected integers like 0,1,2") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--rtsent-seeds={get('seeds')!r} must list non-negative integers like 0,1,2")
    _listed_once("seeds", get("seeds"), _split(get("seeds")), seeds, "seed")
    methods = _split(get("methods")) or sorted({entry.method for entry in profile.grid}, key=list(METHODS).index)
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r} in --rtsent-methods; valid methods: {', '.join(METHODS)}")
    _listed_once("methods", get("methods"), methods, methods, "method")
    precisions = _split(get("precisions"))
    for precision in precisions:
        if precision not in (*PRECISIONS, MIXED):
            raise ValueError(
                f"unknown precision {precision!r} in --rtsent-precisions; valid: {', '.join(PRECISIONS)}, {MIXED}"
            )
    devices = _devices(get("devices"))
    device = worker_device(pick_device(), pinned)
    resolved = [resolve_precision(precision, device)[0] for precision in precisions]
    mixed_is = f", which is {resolve_precision(MIXED, device)[0]} on this {device.type}"
    _listed_once("precisions", get("precisions"), precisions, resolved, "precision", mixed_is)
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
    sweep = {}
    if get("sweep"):
        sweep = _load_sweep(get("sweep"))
        unknown = [m for m in sweep if m not in {e.method for e in profile.grid}]
        if unknown:
            raise ValueError(f"--rtsent-sweep names {unknown}, which profile {profile.name!r} does not run")
    from rtsent.outputs import check_writable

    for option, as_folder in (("records", False), ("save", True)):  # found wanting now, not after the training
        if get(option):
            check_writable(f"--rtsent-{option}", get(option), folder=as_folder)
    from rtsent.serving import SERVING_MODES

    serving = get("serving") or "once"  # a caller that builds the options itself may leave it out
    if serving not in SERVING_MODES:
        raise ValueError(f"--rtsent-serving={serving!r} is not one of {', '.join(SERVING_MODES)}")
    if get("progress") not in PROGRESS_MODES:
        raise ValueError(f"--rtsent-progress={get('progress')!r} is not one of {', '.join(PROGRESS_MODES)}")
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
        device=device,
        records_path=get("records"),
        save_dir=get("save"),
        serving=serving,
        devices=devices,
        pinned_device=pinned,
        progress=get("progress"),
        resume_path=get("resume"),
        resume=resume,
        sweep=sweep,
        sweep_exact=get("sweep").startswith("selected:"),
    )


def _load_sweep(text: str) -> dict[str, list[Any]]:
    """A sweep file or packaged name, or `selected:RESULTS.json`: the configurations chosen on validation there."""
    from rtsent.sweeps import SweepError, load_sweep, parse_sweep

    try:
        if not text.startswith("selected:"):
            return load_sweep(text)
        from rtsent.records import RecordsError, read_document, records_of
        from rtsent.selection import as_sweep, select

        path = text.removeprefix("selected:")
        try:
            records = records_of(read_document(path))
        except RecordsError as error:
            raise SweepError(f"--rtsent-sweep={text}: {error}") from None
        return parse_sweep(as_sweep(select(records)), source=f"the selection in {path!r}")
    except SweepError as error:
        raise ValueError(str(error)) from None


def _runs_bench(config: pytest.Config) -> bool:
    """Whether this run names the bench (`pytest bench/ ...`), not only the unit tests of `testpaths`."""
    bench = (config.rootpath / "bench").resolve()
    paths = [Path(arg.split("::", 1)[0]) for arg in config.args]
    return any(bench == p or bench in p.parents for p in ((config.invocation_params.dir / q).resolve() for q in paths))


def pytest_configure(config: pytest.Config) -> None:
    """Check every option now, so a typo fails in a second rather than an hour into the grid."""
    from rtsent import distributed

    config.addinivalue_line("markers", "xdist_group(name): pytest-xdist's --dist loadgroup runs a group on one worker")
    distributed.forget_inherited_worker(config)
    try:
        pinned = distributed.pin_device(_devices(config.getoption("--rtsent-devices")))  # before any CUDA call
        config._rtsent = parse_options(lambda name: config.getoption(f"--rtsent-{name}"), pinned=pinned)
        config._rtsent.grid()  # case ids that come out twice (a sweep's values) fail now, not at collection
        _take_outputs(config, config._rtsent)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    if distributed.worker_id() is not None:
        config.pluginmanager.register(distributed.Worker(config._rtsent), "rtsent-worker")
    if distributed.is_controller(config):
        config.pluginmanager.register(distributed.Controller(config, config._rtsent), "rtsent-controller")
        if config.getoption("dist", "no") != "loadgroup" and _runs_bench(config):
            warnings.warn(
                "rtsent: with -n, pass --dist loadgroup so that svm and head share one worker's frozen pass",
                stacklevel=1,
            )
    # before pytest-benchmark's own pytest_configure (trylast), which reads its columns option
    if hasattr(config.option, "benchmark_columns") and not _user_gave(config, "--benchmark-columns"):
        config.option.benchmark_columns = list(BENCHMARK_COLUMNS)


def _take_outputs(config: pytest.Config, session: Session) -> None:
    """The output files, checked and claimed at start. --benchmark-json is written by rtsent, not by
    pytest-benchmark (whose plain `open(path, "wb")` at the end would leave neither the old file nor the
    new one on a full disk): the option is taken from it here, before its pytest_configure (trylast) reads
    it. The records file is locked for the session and its earlier records kept (under xdist: in the
    controller, which alone writes it)."""
    from rtsent import distributed
    from rtsent.outputs import check_writable, earlier_records, lock_records

    target = getattr(config.option, "benchmark_json", None)
    if target is not None:
        if hasattr(target, "close"):  # pytest-benchmark < 5.3 opened (and emptied) it at option parsing
            target.close()
            target = target.name
        check_writable("--benchmark-json", target)
        session.benchmark_json = str(target)
        config.option.benchmark_json = None
    if session.records_path and distributed.worker_id() is None:
        config.add_cleanup(lock_records(session.records_path))
        session.kept_records = earlier_records(session.records_path)


def _write_benchmark_json(config: pytest.Config, session: Session) -> None:
    """What pytest-benchmark would write to --benchmark-json (through its own hooks, so every plugin's
    changes are in it), written by rtsent: atomically, and kept in the temp folder when that fails."""
    benchmarks = getattr(getattr(config, "_benchmarksession", None), "benchmarks", None)
    if not session.benchmark_json or not benchmarks:
        return  # nothing ran: an earlier file stays as it was
    from pytest_benchmark.utils import safe_dumps

    machine_info = config._benchmarksession.get_machine_info()
    commit_info = config.hook.pytest_benchmark_generate_commit_info(config=config)
    config.hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit_info)
    document = config.hook.pytest_benchmark_generate_json(
        config=config, benchmarks=benchmarks, include_data=True, machine_info=machine_info, commit_info=commit_info
    )
    config.hook.pytest_benchmark_update_json(config=config, benchmarks=benchmarks, output_json=document)
    session.write_output("--benchmark-json", session.benchmark_json, safe_dumps(document, ensure_ascii=True, indent=4))


def _user_gave(config: pytest.Config, option: str) -> bool:
    """Whether `option` was given on the command line, in PYTEST_ADDOPTS or in the ini file's addopts."""
    addopts = shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    args = [*config.getini("addopts"), *addopts, *config.invocation_params.args]
    return any(arg == option or arg.startswith(f"{option}=") for arg in args)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Progress goes through pytest's terminal reporter, which exists only once pytest is configured."""
    rtsent = getattr(session.config, "_rtsent", None)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if rtsent is None or reporter is None or rtsent.progress == "off":
        return
    if rtsent.progress == "auto" and session.config.getoption("verbose") < 0:
        return  # -q
    from rtsent.progress import TerminalSink

    capture = session.config.pluginmanager.get_plugin("capturemanager")
    rtsent.progress_sink = TerminalSink(
        reporter,
        suspend=capture.global_and_fixture_disabled if capture else contextlib.nullcontext,
        live=bool(reporter.isatty) and reporter.hasmarkup,  # rewriting a line needs a terminal and ANSI codes
    )


def _session(config: pytest.Config) -> Session:
    return config._rtsent


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"case", "rtsent"} <= set(metafunc.fixturenames):
        from rtsent.distributed import case_marks

        cases = _session(metafunc.config).grid()
        metafunc.parametrize("case", [pytest.param(case, id=case.case_id, marks=case_marks(case)) for case in cases])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Once the grid is collected, load its model and data: a bad source fails here, before any training."""
    if any("rtsent" in getattr(item, "fixturenames", ()) for item in items):
        session = _session(config)
        session.open()
        other = session.bench.noncanonical_splits(session.data)
        if other:  # not an error: any two-label data can be benchmarked, but not compared with published figures
            differ = f"{', '.join(other)} split{'s differ' if len(other) > 1 else ' differs'}"
            _warn(
                config,
                f"rtsent: warning: data {session.data!r} are not the canonical Rotten Tomatoes splits ({differ} "
                f"from rtsent.data.CANONICAL_SPLIT_HASHES); results are marked as other data (data_canonical: false)",
            )
        shared = {pair: n for pair, n in session.bench.data_facts(session.data).duplicates.items() if n}
        if shared:  # below rtsent.data.MAX_SHARED_SHARE (more is refused at load): said, counted, not refused
            counts = ", ".join(f"{pair}: {n}" for pair, n in shared.items())
            _warn(
                config,
                f"rtsent: warning: data {session.data!r} have texts in two splits ({counts}); a shared text is "
                f"answered from memory, so accuracy is that much too high; records count them (cross_split_duplicates)",
            )


def _warn(config: pytest.Config, line: str) -> None:
    """A warning line on pytest's terminal (a Python warning where there is no terminal reporter)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        warnings.warn(line, stacklevel=2)
    else:
        reporter.write_line(line, yellow=True)


@pytest.fixture(scope="session")
def rtsent(request: pytest.FixtureRequest) -> Session:
    """The parsed options and the workbench whose caches every case shares."""
    session = _session(request.config)
    session.open()
    return session


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Any:
    """A resumed case's benchmark time would be the time to copy its record: give it the original
    run's `case_time_s` before pytest-benchmark saves, compares or prints its table; then write
    --benchmark-json."""
    benchmarks = getattr(getattr(session.config, "_benchmarksession", None), "benchmarks", None) or []
    for bench in benchmarks:
        info = getattr(bench, "extra_info", None) or {}
        if info.get("resumed_from") and bench.stats:
            fresh = type(bench.stats)()
            fresh.update(info["case_time_s"])  # resume_mismatch refused records without it
            bench.stats = fresh
    rtsent = getattr(session.config, "_rtsent", None)
    if rtsent is not None and not _distributed(session.config):
        _write_benchmark_json(session.config, rtsent)  # before the terminal summary, which shows a failed write
    result = yield
    if rtsent is not None and rtsent.problems and session.exitstatus == pytest.ExitCode.OK:
        # an output not where it was asked (the xdist controller writes in its own hook, run by now): a
        # script or CI reading that path must not take the run for a success
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return result


def _distributed(config: pytest.Config) -> bool:
    """An xdist controller or worker: there the controller writes --benchmark-json (rtsent.distributed)."""
    from rtsent import distributed

    return distributed.worker_id() is not None or distributed.is_controller(config)


@pytest.hookimpl(wrapper=True)
def pytest_benchmark_generate_json(config: pytest.Config, benchmarks: list[Any], **kwargs: Any) -> Any:
    """Drop a case that Ctrl-C cut off mid-run (no timing data): pytest-benchmark would crash on it and
    write no JSON at all, losing every finished case."""
    benchmarks[:] = [bench for bench in benchmarks if bench.stats.data]
    return (yield)


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's table: the last thing before pytest's verdict
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The compact rtsent table of the cases this session ran (or resumed)."""
    session = getattr(config, "_rtsent", None)
    if session is None:
        return
    from rtsent.terminal import results_table, title

    if session.records:
        terminalreporter.write_sep("-", title(session.records))
        for line in results_table(session.records):
            terminalreporter.write_line(line)
    for line in session.problems:  # an output not written, and where its contents are instead
        terminalreporter.write_line(line, red=True, bold=True)


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
