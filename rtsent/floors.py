"""Accuracy floors: the CI gate. One TOML file per profile (`rtsent/floors/<profile>.toml`).

Each table is a grid row without its precision (`svm`, `head`, `lora-lr2e-4`, ...) holding
`val_accuracy` (the floor) and, beside it, the per-seed measurements it was set from.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from rtsent.methods import METHODS

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
        method = key.split("-", 1)[0]
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
    key = row.rsplit("-", 1)[0]
    return floors.get(key, floors.get(key.split("-", 1)[0]))
