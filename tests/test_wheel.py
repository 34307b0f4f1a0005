"""The built wheel, installed nowhere near the repository, runs the benchmark through its pytest11 entry
point: the case, the plugin, the packaged data, floors and sweeps are all inside it (issue 24)."""

import json
import os
import subprocess
import sys
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
    # pip install of the wheel into a fresh environment that sees this one's dependencies (torch & co.)
    venv, outside = tmp_path / "venv", tmp_path / "elsewhere"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", wheel], check=True)
    outside.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    where = subprocess.run(
        [python, "-c", "import rtsent.plugin.hooks as hooks; print(hooks.__file__)"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the wheel's copy, not the checkout
    run = subprocess.run(
        [
            python,
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
