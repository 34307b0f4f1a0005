"""Split files (parquet, CSV, JSONL) read without type conversion, and the row checks every data
source passes: a text is a non-empty string after `strip()`; a label is a class id (an integer >= 0)
or a class name (a string, not empty, without surrounding whitespace), one kind per column; floats
such as 1.0, booleans and nulls are refused by name, never converted. In CSV, whose fields have no
types, a field that spells an integer ("1") is that integer and one that spells a float ("1.0") that
float; every other field is a string. Which ids and names make the classes is decided over the
splits together (`rtsent.data.sources`).

A bad row fails with one line naming the file and the row, counted from 1 as the format counts
rows: parquet "row N", CSV "data row N" (the header not counted), JSONL and rt-polarity "line N"
(the file's line), hub "row N" of the split.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datasets import ClassLabel, Features, Value

TEXT_RULE = "every text must be a non-empty string"
LABEL_RULE = (
    "labels must be class ids 0..K-1 (integers) or class names (strings); floats (1.0), booleans and nulls are refused"
)
COLUMN_OPTIONS = {"text": "--rtsent-text-column", "label": "--rtsent-label-column"}
_MISSING = object()  # a JSONL row without the key


class DataSourceError(ValueError):
    """A data source that cannot give the three splits; the message is one line."""


def split_features(label_names: Sequence[str]) -> Features:
    """The features of every loaded split: `text` a string, `label` a ClassLabel whose names are
    `label_names` (index = class id)."""
    return Features({"text": Value("string"), "label": ClassLabel(names=list(label_names))})


@dataclass
class RawSplit:
    """One split's rows as read, passed by `check_rows`; its labels are not class ids yet.

    `labels` are all integers >= 0 (Python ints) or all strings; `origin` names the file (or hub
    split) and `row(i)` its i-th row (0-based index, named 1-based as the format counts rows).
    """

    texts: list[str]
    labels: list[int | str]
    origin: str
    row: Callable[[int], str]

    def where(self, index: int) -> str:
        return f"{self.origin}, {self.row(index)}"


def _null(value: Any) -> bool:
    """None, NaN, pandas' NA or a missing key."""
    if value is None or value is _MISSING or type(value).__name__ == "NAType":
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _text_problem(value: Any, column: str) -> str | None:
    if value is _MISSING:
        return f"has no {column!r}"
    if _null(value):
        return "text is null"
    if not isinstance(value, str):
        return f"text {value!r} is not a string ({type(value).__name__})"
    if not value.strip():
        return "text is empty after strip()" if value else "text is empty"
    return None


def _label_problem(value: Any, column: str) -> str | None:
    if value is _MISSING:
        return f"has no {column!r}"
    if _null(value):
        return "label is null"
    if isinstance(value, bool | np.bool_):
        return f"label {value!r} is a boolean"
    if _integer(value):
        return None if value >= 0 else f"label {int(value)} is negative"
    if isinstance(value, float | np.floating):
        return f"label {float(value)!r} is a float"
    if isinstance(value, str):
        if not value.strip():
            return f"label {value!r} is empty"
        # " pos" beside "pos" would silently make a class of its own
        return None if value == value.strip() else f"label {value!r} has leading or trailing whitespace"
    return f"label {value!r} is neither an integer nor a string ({type(value).__name__})"


def _unlabeled(value: Any) -> bool:
    """GLUE-style hidden test labels: -1 (the hub's convention) or null (a file's empty field)."""
    return _null(value) or (_integer(value) and value == -1)


def check_rows(
    texts: Sequence[Any],
    labels: Sequence[Any] | None,
    origin: str,
    row: Callable[[int], str],
    *,
    columns: tuple[str, str] = ("text", "label"),
    split: str | None = None,
) -> None:
    """Raise `DataSourceError` naming the first bad text, then the first bad label (`origin` names the
    file, `row(index)` the row), and how many rows share the problem; `labels=None` checks texts only.

    `columns` are the source's names of the text and label columns (named when a row lacks one). A
    `split="test"` whose every label is -1 or null (a benchmark's hidden test labels) is refused as
    unlabeled rather than row by row; a column holding both integers and strings is refused too.
    """
    checks = [(texts, _text_problem, TEXT_RULE, columns[0])]
    if labels is not None:
        if split == "test" and labels and all(_unlabeled(value) for value in labels):
            spelled = sorted({"null" if _null(value) else "-1" for value in labels})
            raise DataSourceError(
                f"{origin}: every label is {' or '.join(spelled)} ({len(labels)} rows): the test split has no labels, "
                f"but it is the held-out judge of every method and needs them: give a labelled test split"
            )
        checks.append((labels, _label_problem, LABEL_RULE, columns[1]))
    for values, problem_of, rule, column in checks:
        problems = [(index, problem) for index, value in enumerate(values) if (problem := problem_of(value, column))]
        if problems:
            index, problem = problems[0]
            others = f" ({len(problems) - 1} more bad row(s) like it)" if len(problems) > 1 else ""
            raise DataSourceError(f"{origin}, {row(index)}: {problem}{others}; {rule}")
    if labels is not None:
        first_int = next((i for i, value in enumerate(labels) if _integer(value)), None)
        first_str = next((i for i, value in enumerate(labels) if isinstance(value, str)), None)
        if first_int is not None and first_str is not None:
            shown = ", ".join(f"{row(i)}: {labels[i]!r}" for i in sorted((first_int, first_str)))
            raise DataSourceError(
                f"{origin}: labels mix integers and strings ({shown}); a label column holds class ids 0..K-1 "
                f"or class names, not both"
            )


def missing_columns(origin: str, missing: list[str], existing: list[str], columns: tuple[str, str]) -> DataSourceError:
    """The error for a source lacking the text or label column (`columns`: their configured names):
    it names the missing ones, the option that names each, and the columns there are."""
    options = " and ".join(
        f"{COLUMN_OPTIONS[role]} to its {role} column"
        for role, column in zip(("text", "label"), columns, strict=True)
        if column in missing
    )
    return DataSourceError(f"{origin} lacks column(s) {missing}; it has {existing}: set {options}")


def read_split_file(file: Path, columns: tuple[str, str] = ("text", "label")) -> RawSplit:
    """One split file's (text, label) `columns`, its values as the format types them (no
    conversion), checked row by row (`check_rows`; the file's stem names the split).

    Rows are named as the format counts them: parquet "row N", CSV "data row N" (the header not
    counted), JSONL "line N" (the file's line), all 1-based. UTF-8 with or without a byte-order mark.
    """
    name = repr(str(file))
    try:
        if file.suffix == ".parquet":
            existing, rows, where = _parquet_columns(file, columns)
        elif file.suffix == ".csv":
            existing, rows, where = _csv_columns(file, columns)
        else:
            existing, rows, where = _jsonl_columns(file, columns)
    except DataSourceError:
        raise
    except UnicodeDecodeError as error:
        raise DataSourceError(f"split file {name} is not UTF-8 ({error.reason} at byte {error.start})") from None
    except (ValueError, OSError) as error:  # pandas' and pyarrow's parse errors, empty files included
        raise DataSourceError(f"split file {name} does not parse: {(str(error).splitlines() or [''])[0]}") from None
    missing = [column for column in columns if column not in existing]
    if missing:
        raise missing_columns(f"split file {name}", missing, existing, columns)
    texts, labels = rows[columns[0]], rows[columns[1]]
    if not texts:
        raise DataSourceError(f"split file {name} has no rows")
    origin = f"split file {name}"
    check_rows(texts, labels, origin, where, columns=columns, split=file.stem)
    return RawSplit(texts, [value if isinstance(value, str) else int(value) for value in labels], origin, where)


Columns = tuple[list[str], dict[str, list[Any]], Callable[[int], str]]


def _parquet_columns(file: Path, columns: tuple[str, str]) -> Columns:
    import pyarrow.parquet as pq

    # pyarrow's Python values keep the column's type: an int column with nulls gives ints and None
    table = pq.read_table(file)
    rows = {c: table.column(c).to_pylist() for c in columns if c in table.column_names}
    return list(table.column_names), rows, lambda i: f"row {i + 1}"


def _csv_columns(file: Path, columns: tuple[str, str]) -> Columns:
    import pandas as pd

    # Every field as the string it is (no "NA" -> NaN, no type guessing); labels are typed below.
    frame = pd.read_csv(file, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    rows = {c: frame[c].tolist() for c in columns if c in frame.columns}
    if columns[1] in rows:
        rows[columns[1]] = [_csv_number(field) for field in rows[columns[1]]]
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


def _jsonl_columns(file: Path, columns: tuple[str, str]) -> Columns:
    # Read line by line (pandas would turn an int column holding a null into floats): exact JSON
    # types and exact 1-based line numbers; blank lines are skipped, as JSON Lines readers do.
    rows: dict[str, list[Any]] = {column: [] for column in columns}
    existing: dict[str, None] = {}
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
        existing.update(dict.fromkeys(row))
        for key in rows:
            rows[key].append(row.get(key, _MISSING))
        numbers.append(number)
    if not numbers:
        raise DataSourceError(f"split file {str(file)!r} has no rows")
    return list(existing), rows, lambda i: f"line {numbers[i]}"
