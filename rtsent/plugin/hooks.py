"""pytest's hooks and the `rtsent` fixture: options and fixtures wired to library calls, nothing more.

Loaded wherever rtsent is installed, through the pytest11 entry point of this module's name (the
repository's root `conftest.py` names it too, for a checkout that is not installed). The options
(rtsent.plugin.session.OPTIONS) each have a help text, a default and an environment variable (for CI);
they are checked when pytest starts, before any training.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import warnings
from pathlib import Path
from typing import Any

import pytest

from rtsent.plugin.session import OPTIONS, Session, parse_devices, parse_options

SESSION = pytest.StashKey[Session]()  # the session, on pytest's config
BENCHMARK_MODULE = "rtsent.plugin.benchmark"  # the case, for `pytest --pyargs`
NAME = __name__  # the plugin's name in pytest: `-p rtsent.plugin.hooks`, the pytest11 entry point's name

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


def _runs_bench(config: pytest.Config) -> bool:
    """Whether this run names the benchmark (`pytest bench/ ...` in the repository, or
    `pytest --pyargs rtsent.plugin.benchmark`), not only the unit tests of `testpaths`."""
    if any(arg.split("::", 1)[0] == BENCHMARK_MODULE for arg in config.args):
        return True
    bench = (config.rootpath / "bench").resolve()
    paths = [Path(arg.split("::", 1)[0]) for arg in config.args]
    return any(bench == p or bench in p.parents for p in ((config.invocation_params.dir / q).resolve() for q in paths))


def pytest_configure(config: pytest.Config) -> None:
    """Check every option now, so a typo fails in a second rather than an hour into the grid."""
    from rtsent.plugin import distributed

    config.addinivalue_line("markers", "xdist_group(name): pytest-xdist's --dist loadgroup runs a group on one worker")
    if not _wanted(config):
        return  # another project's pytest run, where rtsent is merely installed: nothing of rtsent runs
    distributed.forget_inherited_worker(config)
    try:
        pinned = distributed.pin_device(parse_devices(config.getoption("--rtsent-devices")))  # before any CUDA call
        config.stash[SESSION] = parse_options(lambda name: config.getoption(f"--rtsent-{name}"), pinned=pinned)
        config.stash[SESSION].grid()  # case ids that come out twice (a sweep's values) fail now, not at collection
        _take_outputs(config, config.stash[SESSION])
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    if distributed.worker_id() is not None:
        config.pluginmanager.register(distributed.Worker(config.stash[SESSION]), "rtsent-worker")
    if distributed.is_controller(config):
        config.pluginmanager.register(distributed.Controller(config, config.stash[SESSION]), "rtsent-controller")
        if config.getoption("dist", "no") != "loadgroup" and _runs_bench(config):
            warnings.warn(
                "rtsent: with -n, pass --dist loadgroup so that svm and head share one worker's frozen pass",
                stacklevel=1,
            )
    # before pytest-benchmark's own pytest_configure (trylast), which reads its columns option
    if hasattr(config.option, "benchmark_columns") and not _user_gave(config, "--benchmark-columns"):
        config.option.benchmark_columns = list(BENCHMARK_COLUMNS)


def _wanted(config: pytest.Config) -> bool:
    """Whether this pytest run is rtsent's. The plugin loads wherever rtsent is installed (pytest11), and in
    another project's run it stays out of the way: no torch import, pytest-benchmark's --benchmark-json and
    columns left alone. rtsent's run: inside an rtsent checkout (its bench/ and tests/), with
    `-p rtsent.plugin.hooks`, with the benchmark case named (`--pyargs rtsent.plugin.benchmark`), or with
    an --rtsent-* option or RTSENT_* environment variable."""
    if (config.rootpath / "rtsent" / "plugin" / "hooks.py").is_file():
        return True
    named = {NAME, f"-p{NAME}", BENCHMARK_MODULE}
    given = any(arg in named or arg.startswith(("--rtsent-", f"{BENCHMARK_MODULE}::")) for arg in _args(config))
    return given or any(env in os.environ for env, _, _ in OPTIONS.values())


def _take_outputs(config: pytest.Config, session: Session) -> None:
    """The output files, checked and claimed at start. --benchmark-json is written by rtsent, not by
    pytest-benchmark (whose plain `open(path, "wb")` at the end would leave neither the old file nor the
    new one on a full disk): the option is taken from it here, before its pytest_configure (trylast) reads
    it. The records file is locked for the session and its earlier records kept (under xdist: in the
    controller, which alone writes it)."""
    from rtsent.plugin import distributed
    from rtsent.plugin.outputs import check_writable, earlier_records, lock_records

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


def _args(config: pytest.Config) -> list[str]:
    """The arguments pytest was given: the ini file's addopts, PYTEST_ADDOPTS, then the command line."""
    return [
        *config.getini("addopts"),
        *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
        *config.invocation_params.args,
    ]


def _user_gave(config: pytest.Config, option: str) -> bool:
    """Whether `option` was given on the command line, in PYTEST_ADDOPTS or in the ini file's addopts."""
    return any(arg == option or arg.startswith(f"{option}=") for arg in _args(config))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Progress goes through pytest's terminal reporter, which exists only once pytest is configured."""
    rtsent = session.config.stash.get(SESSION, None)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if rtsent is None or reporter is None or rtsent.progress == "off":
        return
    if rtsent.progress == "auto" and session.config.getoption("verbose") < 0:
        return  # -q
    from rtsent.plugin.progress import TerminalSink

    capture = session.config.pluginmanager.get_plugin("capturemanager")
    rtsent.progress_sink = TerminalSink(
        reporter,
        suspend=capture.global_and_fixture_disabled if capture else contextlib.nullcontext,
        live=bool(reporter.isatty) and reporter.hasmarkup,  # rewriting a line needs a terminal and ANSI codes
    )


def _session(config: pytest.Config) -> Session:
    session = config.stash.get(SESSION, None)
    if session is None:  # the case collected in a run that _wanted did not take for rtsent's
        raise pytest.UsageError(
            f"rtsent: the benchmark case was collected, but this run did not ask for rtsent; pass an --rtsent-* "
            f"option (e.g. --rtsent-profile=quick) or -p {NAME}"
        )
    return session


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"case", "rtsent"} <= set(metafunc.fixturenames):
        from rtsent.plugin.distributed import case_marks

        cases = _session(metafunc.config).grid()
        metafunc.parametrize("case", [pytest.param(case, id=case.case_id, marks=case_marks(case)) for case in cases])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Once the grid is collected, load its model and data: a bad source fails here, before any training."""
    if any("rtsent" in getattr(item, "fixturenames", ()) for item in items):
        session = _session(config)
        session.open()
        other = session.workbench.noncanonical_splits(session.data)
        if other:  # not an error: any labelled data can be benchmarked, but not compared with published figures
            differ = f"{', '.join(other)} split{'s differ' if len(other) > 1 else ' differs'}"
            _warn(
                config,
                f"rtsent: warning: data {session.data.source!r} are not the canonical Rotten Tomatoes splits ({differ} "
                f"from rtsent.data.sources.CANONICAL_SPLIT_HASHES); results are marked as other data "
                "(data_canonical: false)",
            )
        facts = session.workbench.data_facts(session.data)
        if facts.carved_validation is not None:  # said at the start and flagged in every record and the report
            _warn(
                config,
                f"rtsent: data {session.data.source!r} have no validation split: {facts.carved_validation} rows carved "
                f"from train (stratified, seed 0; records say validation_carved)",
            )
        shared = {pair: n for pair, n in facts.duplicates.items() if n}
        if shared:  # below rtsent.data.classes.MAX_SHARED_SHARE (more is refused at load): said, counted, not refused
            counts = ", ".join(f"{pair}: {n}" for pair, n in shared.items())
            _warn(
                config,
                f"rtsent: warning: data {session.data.source!r} have texts in two splits ({counts}); a shared text is "
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
    for entry in benchmarks:
        info = getattr(entry, "extra_info", None) or {}
        if info.get("resumed_from") and entry.stats:
            fresh = type(entry.stats)()
            fresh.update(info["case_time_s"])  # resume_mismatch refused records without it
            entry.stats = fresh
    rtsent = session.config.stash.get(SESSION, None)
    if rtsent is not None and not _distributed(session.config):
        _write_benchmark_json(session.config, rtsent)  # before the terminal summary, which shows a failed write
    result = yield
    if rtsent is not None and rtsent.problems and session.exitstatus == pytest.ExitCode.OK:
        # an output not where it was asked (the xdist controller writes in its own hook, run by now): a
        # script or CI reading that path must not take the run for a success
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return result


def _distributed(config: pytest.Config) -> bool:
    """An xdist controller or worker: there the controller writes --benchmark-json (rtsent.plugin.distributed)."""
    from rtsent.plugin import distributed

    return distributed.worker_id() is not None or distributed.is_controller(config)


@pytest.hookimpl(wrapper=True)
def pytest_benchmark_generate_json(config: pytest.Config, benchmarks: list[Any], **kwargs: Any) -> Any:
    """Drop a case that Ctrl-C cut off mid-run (no timing data): pytest-benchmark would crash on it and
    write no JSON at all, losing every finished case."""
    if config.stash.get(SESSION, None) is not None:  # rtsent's run only
        benchmarks[:] = [entry for entry in benchmarks if entry.stats.data]
    return (yield)


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's table: the last thing before pytest's verdict
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The compact rtsent table of the cases this session ran (or resumed)."""
    session = config.stash.get(SESSION, None)
    if session is None:
        return
    from rtsent.report.terminal import results_table, title

    if session.records:
        terminalreporter.write_sep("-", title(session.records))
        for line in results_table(session.records):
            terminalreporter.write_line(line)
    for line in session.problems:  # an output not written, and where its contents are instead
        terminalreporter.write_line(line, red=True, bold=True)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    session = config.stash.get(SESSION, None)
    if session is None:
        return
    from rtsent.engine.measuring import machine_facts

    if session.workbench is None:  # no case ran
        facts = machine_facts(session.device)
    else:
        facts = {**session.workbench.facts, "matmul_flops": session.workbench.calibrations}
    machine_info["rtsent"] = {
        **facts,
        "profile": session.profile.name,
        "model": session.model,
        "data": session.data.source,
    }
