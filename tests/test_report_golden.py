"""The reporter renders every committed result file exactly as it did before the layout of issue 24
(commit 77d2fce): the table with every column, per seed, the HTML page's tables and the selection on
validation, each compared by sha256 with tests/data/report-golden.json (the plots' PNG bytes left out).

One deliberate change since: issue 21's HTML legend says that F1 is macro-F1 for more than two
classes (every `| html` value regenerated; the other 188 renderings unchanged, checked on regeneration).

Regenerate the golden file from a checkout of the commit to compare against (its reporter was
rtsent.reporting; now rtsent.report.cli):
    git worktree add /tmp/old 77d2fce
    PYTHONPATH=/tmp/old python tests/test_report_golden.py rtsent.reporting > tests/data/report-golden.json
or, after a deliberate change, from this checkout (and say which renderings changed):
    python tests/test_report_golden.py rtsent.report.cli > tests/data/report-golden.json
"""

import contextlib
import hashlib
import importlib
import io
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "report-golden.json"
VARIANTS = {
    "table": [],
    "every column": ["--columns=ALL"],
    "per seed": ["--per-seed", "--no-pairs"],
    "html": ["--format=html"],
    "select": ["--select=val"],
}


def result_files() -> list[Path]:
    """Every committed pytest-benchmark document under results/ (not the plain Trainer's JSON)."""
    files = []
    for path in sorted((ROOT / "results").rglob("*.json")):
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            if "benchmarks" in json.loads(path.read_text()):
                files.append(path)
    return files


def renderings(module: str) -> dict[str, str]:
    """{"FILE | VARIANT": sha256 of the exit status, stdout and stderr} of `module.main` on each file."""
    cli = importlib.import_module(module)
    columns = ",".join(cli.COLUMNS)
    out = {}
    for path in result_files():
        for variant, options in VARIANTS.items():
            argv = [str(path), *(o.replace("ALL", columns) for o in options)]
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                try:
                    status = cli.main(argv)
                except SystemExit as error:
                    status = error.code
            # the one path-dependent part of any output: where the file lies
            text = f"{status}\n{stdout.getvalue()}\n{stderr.getvalue()}".replace(str(ROOT), "ROOT")
            text = re.sub(r"/tmp/[^/\s]+", "ROOT", text)
            # the plots' PNG bytes carry matplotlib's version: the page's text and tables are compared
            text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "PNG", text)
            out[f"{path.relative_to(ROOT)} | {variant}"] = hashlib.sha256(text.encode()).hexdigest()
    return out


def test_committed_results_render_as_before_the_layout():
    golden = json.loads(GOLDEN.read_text())
    now = renderings("rtsent.report.cli")
    assert set(now) == set(golden)
    changed = sorted(key for key in golden if now[key] != golden[key])
    assert not changed, f"{len(changed)} renderings differ from the golden file's, e.g. {changed[:5]}"


if __name__ == "__main__":
    json.dump(renderings(sys.argv[1]), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
