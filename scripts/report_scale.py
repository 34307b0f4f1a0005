"""rtsent-report on many records: builds synthetic results files from a committed record and times the report.

    python scripts/report_scale.py 200 1000 5000

Each file holds N records: `ROWS_PER_MODEL` rows of one model, `SEEDS` seeds each, over N / 100 models (as a
sweep over several models or data sets gives), each record a copy of one committed LoRA record with its own
case id, seed and validation predictions (a few flipped, so that every pair has discordant examples).
`tests/test_report_scale.py` builds its 5,000 records with `synthetic_document`.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[1] / "results" / "methods" / "methods-offline-s0.json"
TEMPLATE_CASE = "lora-lr2e-4-bf16-seed0"
ROWS_PER_MODEL = 50
SEEDS = 2


def synthetic_document(n: int) -> dict[str, Any]:
    """A results file of `n` records (a multiple of ROWS_PER_MODEL * SEEDS), all valid."""
    document = json.loads(TEMPLATE.read_text())
    [template] = [b for b in document["benchmarks"] if b["extra_info"]["case"] == TEMPLATE_CASE]
    rng = random.Random(0)
    benchmarks = []
    for number in range(n):
        model, rest = divmod(number, ROWS_PER_MODEL * SEEDS)
        row, seed = divmod(rest, SEEDS)
        bench = copy.deepcopy(template)
        info = bench["extra_info"]
        predictions = list(info["val_predictions"])
        for i in rng.sample(range(len(predictions)), 40):
            predictions[i] = "1" if predictions[i] == "0" else "0"
        hits = sum(p == t for p, t in zip(predictions, info["val_labels"], strict=True))
        row_name = f"lora-lr2e-4-v{row}-bf16"
        info.update(
            case=f"{row_name}-seed{seed}",
            row=row_name,
            seed=seed,
            model=f"minilm-l6-m{model}",
            val_predictions="".join(predictions),
            val_accuracy=hits / len(predictions),
        )
        bench["name"] = f"test_method[{info['case']}]"
        benchmarks.append(bench)
    return {**document, "benchmarks": benchmarks}


def main(sizes: list[int]) -> None:
    print("| records | rtsent-report s |\n|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            path = Path(folder) / f"{n}.json"
            path.write_text(json.dumps(synthetic_document(n)))
            begin = time.perf_counter()
            command = [sys.executable, "-m", "rtsent.report.cli", str(path), "-o", str(Path(folder) / "out.md")]
            # run in the temp folder: `python -m` puts the working folder first on sys.path, and a checkout there
            # would win over PYTHONPATH (which names the code to time)
            subprocess.run(command, check=True, cwd=folder)
            print(f"| {n:,} | {time.perf_counter() - begin:.1f} |", flush=True)


if __name__ == "__main__":
    main([int(n) for n in sys.argv[1:]] or [200, 1000, 5000])
