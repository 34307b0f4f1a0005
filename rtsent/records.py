"""Result files: pytest-benchmark JSON (or rtsent's own records file, the same shape) in and out.

No torch here: the reporter imports this module and must start quickly.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

# Statuses whose records carry metrics (a case under its floor still measured everything).
STATUS_WITH_METRICS = ("passed", "below_floor")


class RecordsError(ValueError):
    """A results file that cannot be used; the message is one line."""


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Temp file in the same folder, then rename: a crash never leaves a half-written file."""
    target = Path(path)
    if not target.parent.is_dir():
        raise RecordsError(f"cannot write {str(target)!r}: folder {str(target.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_document(path: str | Path) -> dict[str, Any]:
    """A results file's JSON: a dict with a non-empty `benchmarks` list carrying rtsent records."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordsError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RecordsError(f"{path}: not valid JSON (empty, truncated or not a results file): {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise RecordsError(f"{path}: not a pytest-benchmark JSON file (no 'benchmarks' list)")
    if not document["benchmarks"]:
        raise RecordsError(f"{path}: the benchmark list is empty (did every case fail to collect?)")
    if not records_of(document):
        raise RecordsError(f"{path}: none of its {len(document['benchmarks'])} benchmarks carries rtsent's records")
    return document


def records_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [b["extra_info"] for b in document["benchmarks"] if "status" in b.get("extra_info", {})]


# What must match for an earlier record to stand in for a case (the case id holds method, lr, precision, seed).
RESUME_IDENTITY = ("profile", "model", "data", "max_train")


def reusable(previous: dict[str, Any] | None, config: Any) -> bool:
    """True when `previous` (an earlier run's record of the same case id) passed with the same inputs."""
    return (
        previous is not None
        and previous.get("status") in STATUS_WITH_METRICS
        and all(previous.get(key) == getattr(config, key) for key in RESUME_IDENTITY)
    )


def write_records(path: str | Path, records: list[dict[str, Any]], machine_info: dict[str, Any]) -> None:
    """rtsent's own results file, rewritten atomically after every case: survives a kill -9."""
    document = {
        "machine_info": machine_info,
        "benchmarks": [{"name": f"test_method[{r['case']}]", "extra_info": r} for r in records],
    }
    write_atomic(path, json.dumps(document, default=str))
