"""The built wheel, installed nowhere near the repository, runs the benchmark through its pytest11 entry
point: the case, the plugin, the packaged data, floors and sweeps are all inside it (issue 24)."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_built_wheel_runs_the_benchmark_from_outside_the_repository(tmp_path):
    # built from a copy of the sources: setuptools reuses and never empties an in-place build/ folder,
    # so a module deleted since the last build would ship
    source, dist = tmp_path / "source", tmp_path / "dist"
    shutil.copytree(ROOT / "rtsent", source / "rtsent", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, source]
    subprocess.run(pip_wheel, check=True)
    (wheel,) = dist.glob("rtsent-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    packaged = {
        "rtsent/plan/floors/quick.toml",
        "rtsent/plan/sweeps/tune.toml",
        "rtsent/data/rt-polaritydata/rt-polarity.pos",
    }
    assert packaged <= shipped, sorted(packaged - shipped)
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


def test_installed_rtsent_stays_out_of_another_projects_pytest_run(pytester, monkeypatch):
    # the pytest11 entry point loads the plugin in every run where rtsent is installed: in a project of
    # its own, pytest-benchmark writes its JSON as always and nothing of rtsent (nor torch) runs
    pytester.makepyfile(
        test_theirs="""
        import sys

        def test_their_benchmark(benchmark):
            assert benchmark(sum, [1, 2]) == 3

        def test_rtsent_imports_nothing_heavy():
            assert "torch" not in sys.modules
        """
    )
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):  # under -n: pytest-benchmark would turn off
        monkeypatch.delenv(name, raising=False)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "--benchmark-json=theirs.json")
    assert result.ret == 0, result.stdout.str()[-2000:]
    document = json.loads((pytester.path / "theirs.json").read_text())
    assert [entry["name"] for entry in document["benchmarks"]] == ["test_their_benchmark"]
    assert "rtsent" not in document["machine_info"]
