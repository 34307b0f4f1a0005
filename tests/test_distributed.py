"""The grid across processes (pytest-xdist) and shards (pytest-split), merged into one result file."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from benchrun import run_bench
from packaging.version import Version

from rtsent.report.cli import main

pytest.importorskip("xdist")


def measured(record):
    """What a case computed (not its times, memory or where it ran)."""
    timing = ("_s", "_ms", "_bytes", "_flops", "per_s", "utilization")
    skip = {"worker", "workers", "torch_threads", "contended", "device_shared", "cuda_visible_devices", "machine"}
    skip.add("case_time_s")
    out = {k: v for k, v in record.items() if not k.endswith(timing) and k not in skip}
    out["curve"] = [{k: v for k, v in p.items() if not k.endswith(timing)} for p in record.get("curve", [])]
    return out


# a frozen-feature pair (svm, head: one xdist group), a gradient-trained model, a bag-of-words baseline
SMOKE = ["--rtsent-profile=smoke", "--rtsent-methods=svm,head,full,tfidf"]


# Runs start as if from inside another run's xdist worker (this suite under -n): what they inherit must not
# make a plain run a "worker" nor keep an -n 2 controller from writing the merged file.
INHERITED = {"PYTEST_XDIST_WORKER": "gw7", "PYTEST_XDIST_WORKER_COUNT": "8"}


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """The SMOKE grid in one plain process: (its results, their file), shared by the tests of this file."""
    folder = tmp_path_factory.mktemp("alone")
    proc, results, path = run_bench(folder, *SMOKE, name="alone", env={**os.environ, **INHERITED})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return results, path


def test_two_workers_give_the_records_of_one_process_in_one_merged_file(tmp_path, capsys, alone):
    env = {**os.environ, **INHERITED}
    plain, _ = alone
    proc, spread, out = run_bench(tmp_path, *SMOKE, "-n", "2", "--dist", "loadgroup", name="spread", env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    by_case = {b["extra_info"]["case"]: b["extra_info"] for b in spread["benchmarks"]}
    solo = {b["extra_info"]["case"]: b["extra_info"] for b in plain["benchmarks"]}
    assert all(r.get("worker") is None and not r.get("contended") for r in solo.values())
    assert set(by_case) == set(solo) and len(by_case) == len(spread["benchmarks"])
    for case, record in by_case.items():
        assert measured(record) == measured(solo[case]), case  # metrics, predictions, curves, parameters
        assert record["worker"] in ("gw0", "gw1") and record["workers"] == 2 and record["contended"] is True
        assert record["torch_threads"] >= 1
    # the frozen pass is paid once: svm and head ran on one worker. Not with pytest >= 9.2: xdist 3.8's
    # loadgroup groups by rewriting item._nodeid, which pytest 9.2 no longer reads (docs/distributed.md).
    if Version(pytest.__version__) < Version("9.2"):
        assert by_case["svm-fp32-seed0"]["worker"] == by_case["head-lr1e-3-fp32-seed0"]["worker"]
    assert "rtsent results: profile smoke" in proc.stdout  # the controller prints the rtsent table
    # the merged file reads as one run's: rtsent-report, and pytest-benchmark's own compare
    assert main([str(out), "--no-pairs"]) == 0
    assert "CONTENDED" in capsys.readouterr().out
    compare = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(out)], capture_output=True, text=True, timeout=120
    )
    assert compare.returncode == 0 and "test_method[full-lr1e-3-fp32-seed0]" in compare.stdout, compare.stderr


def test_a_killed_worker_loses_only_its_case(tmp_path):
    killer = tmp_path / "rtsent_killer.py"
    killer.write_text(
        textwrap.dedent(
            """
            import os, signal

            def pytest_runtest_call(item):
                if "full-lr1e-3" in item.nodeid:  # as the kernel's out-of-memory killer would
                    os.kill(os.getpid(), signal.SIGKILL)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    records = tmp_path / "records.json"
    proc, merged, _ = run_bench(
        tmp_path, *SMOKE, "-n", "2", "-p", "rtsent_killer", f"--rtsent-records={records}", name="killed", env=env
    )
    assert proc.returncode == 1  # the crashed case fails the run
    cases = {b["extra_info"]["case"]: b["extra_info"] for b in merged["benchmarks"]}
    # svm, head, full, tfidf: 3 finished beside the killed one. (Under --dist loadgroup a worker killed
    # inside a group left xdist 3.8 waiting for the group's other cases: not tested that way.)
    assert len(cases) == 4 and {r["status"] for c, r in cases.items() if not c.startswith("full")} == {"passed"}
    dead = cases["full-lr1e-3-fp32-seed0"]
    assert dead["status"] == "error" and "crashed while running" in dead["message"] and dead["method"] == "full"
    assert all("@" not in b["name"] and "@" not in b["fullname"] for b in merged["benchmarks"])
    assert main([str(tmp_path / "killed.json"), "--no-pairs"]) == 0  # the dead case is a well-formed record
    assert len(json.loads(records.read_text())["benchmarks"]) == 4  # the records file too


def test_two_shards_merged_equal_the_whole_grid(tmp_path, capsys, alone):
    pytest.importorskip("pytest_split")
    whole, whole_path = alone
    shards = []
    for group in (1, 2):
        proc, shard, path = run_bench(tmp_path, *SMOKE, "--splits", "2", "--group", str(group), name=f"shard{group}")
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert 0 < len(shard["benchmarks"]) < len(whole["benchmarks"])
        shards.append(str(path))
    assert main([*shards, "--format", "json", "--no-pairs"]) == 0
    merged = json.loads(capsys.readouterr().out)
    assert main([str(whole_path), "--format", "json", "--no-pairs"]) == 0
    single = json.loads(capsys.readouterr().out)
    drop = ("train s", "features s", "peak MiB")  # times and memory differ run to run
    assert [{k: v for k, v in row.items() if k not in drop} for row in merged["rows"]] == [
        {k: v for k, v in row.items() if k not in drop} for row in single["rows"]
    ]
    # a shard given twice is refused, naming the case
    assert main([shards[0], shards[0]]) == 2
    assert "appears twice" in capsys.readouterr().err
