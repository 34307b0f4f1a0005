"""The bench plugin driven by the tests: `pytest bench/` as a user runs it, in a subprocess, or the session
it builds from its options, in this process."""

import json
import subprocess
import sys
from pathlib import Path

from rtsent.plugin.session import OPTIONS, Session, parse_options

ROOT = Path(__file__).resolve().parents[1]


def bench_command(*args: str, quiet: bool = True) -> list[str]:
    """`python -m pytest bench/ [-q] -p no:randomly ARGS`, to run from the repository root (`ROOT`)."""
    return [sys.executable, "-m", "pytest", "bench/", *["-q"] * quiet, "-p", "no:randomly", *args]


def run_bench(
    tmp_path: Path, *args: str, name: str = "out", quiet: bool = True, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess, dict | None, Path]:
    """Run `pytest bench/ [-q] -p no:randomly --benchmark-json=tmp_path/NAME.json ARGS` from the repository
    root (`env`: the whole environment, default this one's); (the process, the parsed JSON or None, its path)."""
    out = tmp_path / f"{name}.json"
    proc = subprocess.run(
        bench_command(f"--benchmark-json={out}", *args, quiet=quiet),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    # pytest-benchmark opens the JSON file when it parses its options: it exists, empty, after a usage error.
    text = out.read_text() if out.exists() else ""
    return proc, (json.loads(text) if text else None), out


def session_options(**options: str) -> Session:
    """The session `pytest bench/` builds from `--rtsent-NAME=VALUE` for each NAME=VALUE given (names as in
    OPTIONS, e.g. `**{"per-class": "8,all"}`), every other option at its default, the smoke profile without
    floors or progress; a bad value raises the ValueError the plugin shows as its usage error."""
    given = {name: default for name, (_, default, _) in OPTIONS.items()}
    given |= {"profile": "smoke", "floors": "none", "progress": "off"} | options
    return parse_options(lambda name: given.get(name, ""))
