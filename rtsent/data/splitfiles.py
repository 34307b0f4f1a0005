"""Split files (parquet, CSV, JSONL) read without type conversion, and the row checks every data
source passes: a text is a non-empty string after `strip()`; a label is the integer 0 or 1 (floats
such as 1.0, strings such as "1" and booleans are refused by name, never converted).

A bad row fails with one line naming the file and the row, counted from 1 as the format counts
rows: parquet "row N", CSV "data row N" (the header not counted), JSONL and rt-polarity "line N"
(the file's line), hub "row N" of the split.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from datasets import ClassLabel, Dataset, Features, Value

FEATURES = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
LABEL_NAMES = ("neg", "pos")
TEXT_RULE = "every text must be a non-empty string"
LABEL_RULE = "labels must be the integers 0 (neg) or 1 (pos); floats (1.0), strings ('1') and booleans are refused"
_MISSING = object()  # a JSONL row without the key


class DataSourceError(ValueError):
    """A data source that cannot give the three splits; the message is one line."""


def _null(value: Any) -> bool:
    """None, NaN, pandas' NA or a missing key."""
    if value is None or value is _MISSING or type(value).__name__ == "NAType":
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _text_problem(value: Any) -> str | None:
    if value is _MISSING:
        return "has no 'text'"
    if _null(value):
        return "text is null"
    if not isinstance(value, str):
        return f"text {value!r} is not a string ({type(value).__name__})"
    if not value.strip():
        return "text is empty after strip()" if value else "text is empty"
    return None


def _label_problem(value: Any) -> str | None:
    if value is _MISSING:
        return "has no 'label'"
    if _null(value):
        return "label is null"
    if isinstance(value, bool | np.bool_):
        return f"label {value!r} is a boolean"
    if isinstance(value, int | np.integer):
        return None if value in (0, 1) else f"label {value!r} is not 0 or 1"
    if isinstance(value, float | np.floating):
        return f"label {float(value)!r} is a float"
    if isinstance(value, str):
        return f"label {value!r} is a string"
    return f"label {value!r} is not an integer ({type(value).__name__})"


def check_rows(texts: list[Any], labels: list[Any] | None, where: Callable[[int], str]) -> None:
    """Raise `DataSourceError` naming the first bad text, then the first bad label (`where(index)`
    names the file and the row), and how many rows share the problem; `labels=None` checks texts only."""
    checks = [(texts, _text_problem, TEXT_RULE)] + (
        [(labels, _label_problem, LABEL_RULE)] if labels is not None else []
    )
    for values, problem_of, rule in checks:
        problems = [(index, problem) for index, value in enumerate(values) if (problem := problem_of(value))]
        if problems:
            index, problem = problems[0]
            others = f" ({len(problems) - 1} more bad row(s) like it)" if len(problems) > 1 else ""
            raise DataSourceError(f"{where(index)}: {problem}{others}; {rule}")


def rows_dataset(texts: list[Any], labels: list[Any], where: Callable[[int], str]) -> Dataset:
    """The rows as a Dataset with `FEATURES`, once `check_rows` passes them."""
    check_rows(texts, labels, where)
    return Dataset.from_dict({"text": list(texts), "label": [int(v) for v in labels]}, features=FEATURES)


def read_split_file(file: Path) -> Dataset:
    """One split file, its values as the format types them (no conversion), checked row by row.

    Rows are named as the format counts them: parquet "row N", CSV "data row N" (the header not
    counted), JSONL "line N" (the file's line), all 1-based. UTF-8 with or without a byte-order mark.
    """
    name = repr(str(file))
    try:
        if file.suffix == ".parquet":
            columns, rows, where = _parquet_columns(file)
        elif file.suffix == ".csv":
            columns, rows, where = _csv_columns(file)
        else:
            columns, rows, where = _jsonl_columns(file)
    except DataSourceError:
        raise
    except UnicodeDecodeError as error:
        raise DataSourceError(f"split file {name} is not UTF-8 ({error.reason} at byte {error.start})") from None
    except (ValueError, OSError) as error:  # pandas' and pyarrow's parse errors, empty files included
        raise DataSourceError(f"split file {name} does not parse: {(str(error).splitlines() or [''])[0]}") from None
    missing = [column for column in ("text", "label") if column not in columns]
    if missing:
        raise DataSourceError(
            f"split file {name} lacks column(s) {missing}; it has {columns}, needs 'text' and 'label'"
        )
    if not rows["text"]:
        raise DataSourceError(f"split file {name} has no rows")
    return rows_dataset(rows["text"], rows["label"], lambda i: f"split file {name}, {where(i)}")


Columns = tuple[list[str], dict[str, list[Any]], Callable[[int], str]]


def _parquet_columns(file: Path) -> Columns:
    import pyarrow.parquet as pq

    # pyarrow's Python values keep the column's type: an int column with nulls gives ints and None
    table = pq.read_table(file)
    rows = {c: table.column(c).to_pylist() for c in ("text", "label") if c in table.column_names}
    return list(table.column_names), rows, lambda i: f"row {i + 1}"


def _csv_columns(file: Path) -> Columns:
    import pandas as pd

    # Every field as the string it is (no "NA" -> NaN, no type guessing); labels are typed below.
    frame = pd.read_csv(file, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    rows = {c: frame[c].tolist() for c in ("text", "label") if c in frame.columns}
    if "label" in rows:
        rows["label"] = [_csv_number(field) for field in rows["label"]]
    return list(frame.columns), rows, lambda i: f"data row {i + 1} (header not counted)"


def _csv_number(field: str) -> Any:
    """A CSV label field as the value it spells: '' -> None, '1' -> 1, '1.0' -> 1.0, 'pos' -> 'pos'."""
    stripped = field.strip()
    if not stripped:
        return None
    for kind in (int, float):
        try:
            return kind(stripped)
        except ValueError:
            pass
    return field


def _jsonl_columns(file: Path) -> Columns:
    # Read line by line (pandas would turn an int column holding a null into floats): exact JSON
    # types and exact 1-based line numbers; blank lines are skipped, as JSON Lines readers do.
    rows: dict[str, list[Any]] = {"text": [], "label": []}
    columns: dict[str, None] = {}
    numbers = []
    for number, raw in enumerate(file.read_bytes().splitlines(), 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise DataSourceError(
                f"split file {str(file)!r}, line {number} is not UTF-8 "
                f"({error.reason} at byte {error.start} of the line)"
            ) from None
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataSourceError(f"split file {str(file)!r}, line {number} does not parse as JSON: {error}") from None
        if not isinstance(row, dict):
            raise DataSourceError(f"split file {str(file)!r}, line {number} is not a JSON object: {line[:60]!r}")
        columns.update(dict.fromkeys(row))
        for key in rows:
            rows[key].append(row.get(key, _MISSING))
        numbers.append(number)
    if not numbers:
        raise DataSourceError(f"split file {str(file)!r} has no rows")
    return list(columns), rows, lambda i: f"line {numbers[i]}"
