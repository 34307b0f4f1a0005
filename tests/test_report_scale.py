"""rtsent-report on 5,000 records (docs/speed.md, "rtsent-report on many records"): a benchmark, not a timed test.

pytest-benchmark records how long the report took (one round); the test asserts only that the output is
right. Before the report grew linearly, 1,000 such records took five minutes and 5,000 did not finish.
"""

import importlib.util
import json
from pathlib import Path

from rtsent.report.cli import main

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "report_scale.py"


def _scale_module():
    spec = importlib.util.spec_from_file_location("report_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_on_5000_records(benchmark, tmp_path):
    scale = _scale_module()
    path, out = tmp_path / "5000.json", tmp_path / "report.md"
    path.write_text(json.dumps(scale.synthetic_document(5000)))
    assert benchmark.pedantic(main, args=([str(path), "-o", str(out)],), rounds=1, iterations=1) == 0
    lines = out.read_text().splitlines()
    models = 5000 // (scale.ROWS_PER_MODEL * scale.SEEDS)
    rows = [line for line in lines if line.startswith("| offline / minilm-l6-m")]
    assert len(rows) == models * scale.ROWS_PER_MODEL and all("| 2   | 2 passed" in row for row in rows)
    pairs = [line for line in lines if line.startswith("| lora-")]  # each pair of rows of one model, 2 seeds
    assert all(line.split("|")[3].strip() == "2" for line in pairs)
    assert len(pairs) == models * scale.ROWS_PER_MODEL * (scale.ROWS_PER_MODEL - 1) // 2
