"""The grid spread over processes with pytest-xdist (`pytest bench/ -n N`), merged into one file.

pytest-benchmark switches itself off under xdist (controller and workers) and writes no JSON. So
each worker attaches every case's record to the test report (`user_properties`, which xdist carries
to the controller), and the controller writes one pytest-benchmark-shaped document, as a run in one
process would, to `--benchmark-json` (and the records to `--rtsent-records`), after every case for
the records file and at the end for both. A worker that dies loses only the case it was running: the
controller records that case as an `error` naming the worker, beside every finished case.

Per worker: the torch threads share the cores (physical cores / workers, at least 1); on CUDA each
worker takes one device, `--rtsent-devices=0,1,...` by worker index (else worker i takes device i mod
the device count), set before any CUDA call. Records name `worker`, `workers`, `torch_threads` and mark
`contended` when other workers shared the cores or the device, so their times are not compared with
solo runs. Cases that read the shared frozen features (svm, head) carry the `xdist_group` mark
"frozen-features": with `--dist loadgroup` they run on one worker and pay for the frozen pass once.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

import pytest

RECORD_PROPERTY = "rtsent_record"
FROZEN_GROUP = "frozen-features"


def forget_inherited_worker(config: pytest.Config) -> None:
    """A run started from inside another run's xdist worker (a test suite under -n that runs the bench in a
    subprocess) inherits that worker's PYTEST_XDIST_WORKER*; it is not a worker of its own (xdist gives its
    real workers `config.workerinput`), so those variables are dropped here and for its children."""
    if hasattr(config, "workerinput"):
        return
    inherited = {
        name: os.environ.pop(name)
        for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT")
        if name in os.environ
    }
    config.add_cleanup(lambda: os.environ.update(inherited))  # an in-process run hands them back to its host


def worker_id() -> str | None:
    """ "gw0", "gw1", ... in an xdist worker; None in the controller or a plain run."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def worker_count() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def is_controller(config: pytest.Config) -> bool:
    """The xdist controller (-n N, or --dist with --tx): it runs no case, it collects the workers' reports."""
    distributing = getattr(config.option, "dist", "no") not in (None, "no")
    return worker_id() is None and distributing and not config.getoption("collectonly", False)


def case_id_of(nodeid: str) -> str:
    """The case id in a node id: `bench/test_methods.py::test_method[svm-fp32-seed0]@frozen-features` ->
    `svm-fp32-seed0` (xdist's --dist loadgroup appends the group to the node id)."""
    return nodeid.split("@", 1)[0].rsplit("[", 1)[-1].rstrip("]")


def pin_device(devices: list[int]) -> str | None:
    """In a worker, make one GPU the only visible one, before any CUDA call; returns what
    CUDA_VISIBLE_DEVICES was set to. `devices`: --rtsent-devices, indices into the devices this job may
    see (a CUDA_VISIBLE_DEVICES set by Slurm or a container is respected); empty: nothing pinned here.
    A worker restarted after a crash has a new id and may land on a device another worker uses."""
    worker = worker_id()
    if worker is None or not devices:
        return None
    index = devices[int(worker.removeprefix("gw")) % len(devices)]
    visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if visible and index >= len(visible):
        raise ValueError(
            f"--rtsent-devices index {index} is past the {len(visible)} visible devices ({','.join(visible)})"
        )
    chosen = visible[index] if visible else str(index)
    os.environ["CUDA_VISIBLE_DEVICES"] = chosen
    return chosen


def worker_device(device: Any, pinned: str | None) -> Any:
    """On CUDA without --rtsent-devices (`pinned` None), worker i takes visible device i mod their count."""
    import torch

    worker = worker_id()
    if worker is None or device.type != "cuda" or pinned is not None:
        return device
    return torch.device("cuda", int(worker.removeprefix("gw")) % torch.cuda.device_count())


def threads_per_worker(cores: int) -> int:
    """Torch threads of one of `worker_count()` processes sharing `cores` (at least 1)."""
    return max(1, cores // worker_count())


def worker_facts(device: Any, devices: list[int], pinned: str | None) -> dict[str, Any]:
    """What a worker's records say about where and beside whom they ran: `contended` whenever other
    workers ran beside it (they share the cores, the tokenizer and scikit-learn's work, the memory
    bandwidth), `device_shared` when, on CUDA, more workers than devices."""
    import torch

    workers = worker_count()
    shared_device = device.type == "cuda" and workers > (len(devices) if devices else torch.cuda.device_count())
    return {
        "worker": worker_id(),
        "workers": workers,
        "torch_threads": torch.get_num_threads(),
        "contended": workers > 1,
        "device_shared": shared_device,
        "cuda_visible_devices": pinned,  # what --rtsent-devices pinned this worker to (None: not pinned)
    }


def benchmark_entry(record: dict[str, Any], nodeid: str) -> dict[str, Any]:
    """A pytest-benchmark `benchmarks` entry for a case that ran in a worker: one round, its
    `case_time_s` as every statistic (what pytest-benchmark records for a one-round case)."""
    seconds = float(record.get("case_time_s") or 0.0)
    stats = dict.fromkeys(("min", "max", "mean", "median", "q1", "q3", "ld15iqr", "hd15iqr", "total"), seconds)
    stats |= {"stddev": 0.0, "iqr": 0.0, "rounds": 1, "iterations": 1, "outliers": "0;0"}
    stats |= {"iqr_outliers": 0, "stddev_outliers": 0, "ops": 1 / seconds if seconds > 0 else 0.0}
    nodeid = nodeid.split("@", 1)[0]  # as a run in one process names it
    name = nodeid.rsplit("::", 1)[-1]
    return {
        "group": None,
        "name": name,
        "fullname": nodeid,
        "params": {"case": record.get("case")},
        "param": record.get("case"),
        "extra_info": record,
        "options": {"disable_gc": False, "timer": "perf_counter", "min_rounds": 1, "max_time": 0, "warmup": False},
        "stats": stats,
    }


def case_marks(case: Any) -> list[pytest.MarkDecorator]:
    """The xdist_group mark of a case that reads the shared frozen features (its method's
    `tags.frozen_features`): under --dist loadgroup one worker runs them all and pays the frozen pass once."""
    from rtsent.methods import METHODS

    shares = METHODS[case.method].tags.frozen_features
    return [pytest.mark.xdist_group(FROZEN_GROUP)] if shares else []


class Worker:
    """A worker's side: each case's record rides to the controller on its test report."""

    def __init__(self, session: Any) -> None:
        self.session = session

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        report = yield
        case = getattr(getattr(item, "callspec", None), "params", {}).get("case")
        if report.when == "call" and case is not None:
            done = (r for r in reversed(self.session.records) if r.get("case") == case.case_id)
            record = next(done, None)
            if record is not None:
                report.user_properties.append((RECORD_PROPERTY, json.dumps(record, default=str)))
        return report


class Controller:
    """The controller's side: records arrive with the workers' reports; files are written from them."""

    def __init__(self, config: pytest.Config, session: Any) -> None:
        self.config, self.session = config, session
        self.entries: dict[str, dict[str, Any]] = {}  # nodeid -> benchmark entry, in arrival order
        self._machine: dict[str, Any] | None = None

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        if RECORD_PROPERTY in properties:
            self._add(report.nodeid, json.loads(properties[RECORD_PROPERTY]))
        elif report.failed and report.when == "???" and report.nodeid not in self.entries:
            # xdist's report for a worker that died mid-case (killed, out of memory): the case is lost
            record = self._crashed(report)
            if record is not None:
                self._add(report.nodeid, record)

    def _crashed(self, report: pytest.TestReport) -> dict[str, Any] | None:
        from rtsent.case.runner import identity_fields

        case = case_id_of(report.nodeid)
        configs = {c.case_id: c for c in self.session.grid()}
        if case not in configs:  # not a case of the grid (a unit test run under -n): pytest reports it
            return
        first = (str(report.longrepr).strip().splitlines() or ["worker crashed"])[0]
        config = configs[case]  # the controller's grid is the workers' grid
        return {
            **identity_fields(config),
            "status": "error",
            "message": f"worker crashed while running the case: {first}",
        }

    def _add(self, nodeid: str, record: dict[str, Any]) -> None:
        self.entries[nodeid] = benchmark_entry(record, nodeid)
        self.session.records.append(record)
        if self.session.records_path:  # a write that fails is kept elsewhere: one line at the end says where
            self.session.save_records(self.machine_info())

    def machine_info(self) -> dict[str, Any]:
        """pytest-benchmark's machine facts with rtsent's, gathered once (py-cpuinfo takes about a second)."""
        if self._machine is None:
            self._machine = self.config.hook.pytest_benchmark_generate_machine_info(config=self.config)
            self.config.hook.pytest_benchmark_update_machine_info(config=self.config, machine_info=self._machine)
        return self._machine

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """The merged document, pytest-benchmark-shaped, where --benchmark-json points."""
        target = self.session.benchmark_json  # taken from pytest-benchmark at start (rtsent.plugin.hooks)
        if not target or not self.entries:
            return  # nothing ran: an earlier file stays as it was
        document = {
            "machine_info": self.machine_info(),
            "commit_info": self.config.hook.pytest_benchmark_generate_commit_info(config=self.config),
            "benchmarks": list(self.entries.values()),
            "datetime": datetime.datetime.now(datetime.UTC).isoformat(),
            "version": _benchmark_version(),
        }
        self.session.write_output("--benchmark-json", target, json.dumps(document, indent=1, default=str))


def _benchmark_version() -> str:
    from importlib.metadata import version

    return version("pytest-benchmark")
