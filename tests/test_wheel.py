"""The built wheel, installed nowhere near the repository, runs the benchmark through its pytest11 entry
point: the case, the plugin, the packaged data, floors and sweeps are all inside it (issue 24)."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_built_wheel_runs_the_benchmark_from_outside_the_repository(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            tmp_path / "dist",
            ROOT,
        ],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("rtsent-*.whl")
    site, outside = tmp_path / "site", tmp_path / "elsewhere"
    zipfile.ZipFile(wheel).extractall(site)  # what pip install puts in site-packages, on PYTHONPATH ahead of it
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("PYTEST_ADDOPTS", None)
    where = subprocess.run(
        [sys.executable, "-c", "import rtsent.plugin.hooks as hooks; print(hooks.__file__)"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout  # the wheel's copy, not the checkout
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "rtsent.plugin.benchmark",
            "-q",
            "-p",
            "no:randomly",
            "--rtsent-profile=smoke",
            "--rtsent-methods=svm,tfidf",
            "--benchmark-json=out.json",
        ],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    records = [b["extra_info"] for b in json.loads((outside / "out.json").read_text())["benchmarks"]]
    assert sorted(r["case"] for r in records) == ["svm-fp32-seed0", "tfidf-fp32-seed0"]
    assert {r["status"] for r in records} == {"passed"} and {r["data"] for r in records} == {"rt-polarity"}
