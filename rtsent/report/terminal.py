"""The compact results table `pytest bench/` prints at its end, from the records the session collected.

Reporter side: reads records (dicts), never imports torch. `rtsent-report` gives the full report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rtsent.report.cli import render_table
from rtsent.report.escaping import terminal
from rtsent.report.summary import case_frame, summarize

# What a newcomer needs to compare the methods at a glance; the rest is in rtsent-report.
TERMINAL_COLUMNS = ["val acc", "test acc", "train s", "peak MiB", "trainable", "status"]


def results_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """Lines of a plain-text table: one row per case row (seeds aggregated: mean ± std, statuses counted)."""
    from tabulate import tabulate

    if not records:
        return []
    shown = render_table(summarize(case_frame(records)), TERMINAL_COLUMNS, "plain")
    align = ["right" if name in TERMINAL_COLUMNS[:-1] else "left" for name in shown.columns]  # numbers right
    table = tabulate(shown, headers="keys", tablefmt="simple", showindex=False, disable_numparse=True, colalign=align)
    notes = ["* best in its column (accuracy among models with real weights only); train s: training alone"]
    if any(not r.get("accuracy_meaningful", True) for r in records):
        notes.append("(no weights): random weights, for time and memory only; their accuracy means nothing")
    # the case and its metrics stand; what is missing is its serving figures or its saved artifacts
    notes += [
        terminal(f"{r.get('case')}: serving_error: {r['serving_error']}")  # a resumed record is input
        for r in records
        if r.get("serving_error")
    ]
    return [*table.splitlines(), *notes]


def title(records: Sequence[dict[str, Any]]) -> str:
    """The table's title from the records' sources, e.g. "rtsent results: profile smoke; model ...; data ..."."""
    parts = []
    for key in ("profile", "model", "data"):
        values = sorted({str(r.get(key)) for r in records})
        parts.append(f"{key} {terminal(', '.join(values))}")  # the table's cells are escaped by render_table
    return "rtsent results: " + "; ".join(parts)
