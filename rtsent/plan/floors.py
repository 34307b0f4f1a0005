"""Accuracy floors: the CI gate. One TOML file per profile (`rtsent/plan/floors/<profile>.toml`).

Each table is a grid row without its precision (`svm`, `head`, `lora-lr2e-4`, ...) holding
`val_accuracy` (the floor) and, beside it, the per-seed measurements it was set from.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from rtsent.methods import METHODS
from rtsent.schema.caseid import CaseId, method_of
from rtsent.schema.records import STATUS_WITH_METRICS, decode_labels

FLOORS_DIR = Path(__file__).parent / "floors"


class FloorsError(ValueError):
    """A floors file that cannot be used; the message is one line."""


def default_floors_path(profile: str) -> Path:
    return FLOORS_DIR / f"{profile}.toml"


def load_floors(path: Path) -> dict[str, float]:
    """{row key: minimum validation accuracy}; an absent file means no floors."""
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise FloorsError(f"floors file {str(path)!r} does not parse: {error}") from None
    floors = {}
    for key, entry in table.items():
        method = method_of(key)
        if method not in METHODS:
            raise FloorsError(
                f"floors file {str(path)!r} names method {method!r} (in {key!r}); valid: {', '.join(METHODS)}"
            )
        value = entry.get("val_accuracy") if isinstance(entry, dict) else None
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise FloorsError(f"floors file {str(path)!r}: [{key}] val_accuracy={value!r} is not a number in [0, 1]")
        floors[key] = float(value)
    return floors


def floor_for(floors: dict[str, float], row: str) -> float | None:
    """The floor of a row such as "lora-lr2e-4-bf16": keyed without precision, else by method alone."""
    case = CaseId.parse_row(row)
    return floors.get(case.setting, floors.get(case.method))


def suggest_floors(records: list[dict], *, validation_size: int = 1066) -> str:
    """Floors TOML from measured records: per row, the lowest seed's val accuracy minus two standard
    errors of an accuracy on the validation split (2·sqrt(p(1-p)/n): ~2.5 points at p=0.8, n=1,066).
    n is the records' own validation size (their `val_labels`), `validation_size` for records without them."""
    import math

    rows: dict[str, list[tuple[int, float]]] = {}
    sizes: dict[str, int] = {}
    for record in records:
        if record.get("status") in STATUS_WITH_METRICS and record.get("accuracy_meaningful", True):
            setting = CaseId.parse_row(record["row"]).setting
            rows.setdefault(setting, []).append((record["seed"], record["val_accuracy"]))
            labels = record.get("val_labels")
            sizes[setting] = len(decode_labels(labels, "val_labels")) if labels else validation_size
    lines = []
    for key, measured in rows.items():
        low = min(value for _, value in measured)
        margin = 2 * math.sqrt(low * (1 - low) / sizes[key])
        seeds = ", ".join(f"{value:.4f}" for _, value in sorted(measured))
        lines += [
            f"[{key}]",
            f"val_accuracy = {math.floor((low - margin) * 1000) / 1000:.3f}",
            f"measured_val_accuracy = [{seeds}]  # seeds {sorted(s for s, _ in measured)}",
            f"margin = {margin:.4f}  # 2 standard errors at the lowest seed's accuracy, n = {sizes[key]}",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m rtsent.plan.floors RESULTS.json [MORE.json ...]: the floors TOML
    import sys

    from rtsent.schema.records import read_document, records_of

    print(suggest_floors([record for path in sys.argv[1:] for record in records_of(read_document(path))]))
