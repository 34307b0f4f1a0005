"""The HTML form of `rtsent-report`: one self-contained page (inline style, the plot as a data URI).

Readable in a browser and printable: ruled tables with right-aligned, tabular numbers, the plot scaled
to the window, and a line under each table explaining its columns. Every string that came from input
is escaped. No torch import (the reporter's rule).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from rtsent.report.escaping import html_text
from rtsent.report.summary import COLUMNS
from rtsent.schema.records import MEASURES

# The legend of the columns computed by the report (derived from several fields, or across seeds and pairs);
# a column that shows one record field takes that field's help (rtsent.schema.records.MEASURES), plus how it
# aggregates the seeds where _AGGREGATED says so.
_REPORT_HELP = {
    "profile / model": "the profile and model the row ran (shown when the files mix several)",
    "case": "method, learning rate and precision; seeds are aggregated (or named, with --per-seed)",
    "val acc 95% CI": "95% interval of the mean val accuracy: t over seeds, or a bootstrap over one seed's examples",
    "peak MiB": "peak memory while training or in the frozen pass: process RSS on CPU, allocated on CUDA",
    "trainable %": "trainable parameters as a share of the model's total",
    # a field's own help, shown in another unit
    "padding %": MEASURES["train_padding_share"].help,
    "reserved MiB": MEASURES["train_cuda_max_reserved_bytes"].help,
    "stored MiB": MEASURES["stored_bytes"].help,
    "stored %": "stored bytes as a share of the base model's safetensors bytes",
    "n": "seeds that produced metrics",
    "status": "how many cases ended in each status (passed, below_floor, diverged, oom, error, skipped)",
    "Δ val acc": "mean validation accuracy minus the baseline file's",
    "method": "method and precision: one selection each",
    "chosen": "the configuration chosen on validation: learning rate, swept values and epoch",
    "test 95% CI": "95% interval of the mean test accuracy: t over seeds, or a bootstrap over one seed's examples",
    "tuning cost s": "training seconds summed over every configuration and seed run for this method",
    "tried": "configurations run, and candidates with each epoch of their learning curves",
    "decided by": "best validation accuracy, or the one-SE rule (a cheaper candidate within one standard error)",
    "A": "first row of the pair",
    "B": "second row of the pair",
    "seeds": "seeds: those a selected configuration ran, or (pairs) those both rows ran, pooled",
    "A acc": "A's accuracy on the pair's split (validation; test for selections), mean over the shared seeds",
    "B acc": "B's accuracy on the same split, mean over the shared seeds",
    "A only right": "examples A got right and B wrong (summed over seeds)",
    "B only right": "examples B got right and A wrong",
    "p (McNemar)": "exact two-sided McNemar test on the discordant examples",
}
_AGGREGATED = {
    "val acc": ", mean ± standard deviation over seeds",
    "val F1": ", mean ± std",
    "test acc": ", mean ± std",
    "test F1": ", mean ± std",
    "train s": ", mean",
}
# One line per column of the comparison and pairwise tables (rtsent.report.summary COLUMNS and pairwise()).
COLUMN_HELP = {
    **{
        column: MEASURES[field].help + _AGGREGATED.get(column, "")
        for column, (field, _, _) in COLUMNS.items()
        if field in MEASURES and column not in _REPORT_HELP
    },
    **_REPORT_HELP,
}
# Columns that hold words, left-aligned; every other column holds numbers and is right-aligned.
TEXT_COLUMNS = {"profile / model", "case", "status", "A", "B", "method", "chosen", "tried", "decided by"}

STYLE = """
:root { color-scheme: light; --rule: #d0d7de; --head: #f6f8fa; --stripe: #fbfcfd; --ink: #1f2328; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 1.5rem; max-width: 1400px; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; } h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
.sources { font-size: .8rem; color: #57606a; margin: 0 0 1rem; padding-left: 1.1rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: .25rem 0; font-size: 14px; }
th, td { padding: .3rem .55rem; border-bottom: 1px solid var(--rule); white-space: nowrap; }
th { background: var(--head); border-bottom: 2px solid var(--rule); font-weight: 600; text-align: left;
     white-space: normal; vertical-align: bottom; }
td.num, th.num { text-align: right; }
tbody tr:nth-child(even) { background: var(--stripe); }
tbody tr:hover { background: #eef4ff; }
details { margin: .5rem 0 0; font-size: .85rem; color: #57606a; }
dl { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; margin: .4rem 0; }
dt { font-weight: 600; color: var(--ink); }
dd { margin: 0; }
figure { margin: 1.5rem 0 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { font-size: .85rem; color: #57606a; margin-top: .3rem; }
"""


def _cell(text: str, *, bold_marked: bool) -> str:
    """A cell's HTML: `<b>x</b>` written by the reporter's best-value marker stays bold, all else is escaped."""
    text = str(text)
    if bold_marked and text.startswith("<b>") and text.endswith("</b>") and "<" not in text[3:-4]:
        return f"<b>{html_text(text[3:-4])}</b>"
    return html_text(text)


def table_html(columns: Sequence[str], rows: Sequence[Sequence[str]], *, bold_marked: bool = False) -> str:
    """A ruled table, numbers right-aligned, with a collapsible line per column saying what it holds."""
    align = ["" if c in TEXT_COLUMNS else ' class="num"' for c in columns]
    head = "".join(
        f"<th{a} title='{html_text(COLUMN_HELP.get(c, ''))}'>{html_text(c)}</th>"
        for c, a in zip(columns, align, strict=True)
    )
    body = "".join(
        "<tr>"
        # only a number column carries the marker: a case id spelled <b>x</b> is text
        + "".join(
            f"<td{a}>{_cell(v, bold_marked=bold_marked and c not in TEXT_COLUMNS)}</td>"
            for v, a, c in zip(row, align, columns, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    help_rows = "".join(
        f"<dt>{html_text(c)}</dt><dd>{html_text(COLUMN_HELP[c])}</dd>" for c in columns if c in COLUMN_HELP
    )
    legend = f"<details><summary>What the columns mean</summary><dl>{help_rows}</dl></details>" if help_rows else ""
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{legend}'


def page(
    *,
    header_lines: Sequence[str],
    table: tuple[Sequence[str], Sequence[Sequence[str]]],
    pairs: tuple[Sequence[str], Sequence[Sequence[str]]] | None,
    plot_png: bytes | None,
    pairs_title: str = "Pairwise (McNemar exact, validation)",
) -> str:
    """The whole report page. `table`/`pairs` are (column names, rows of display strings)."""
    sources = "".join(f"<li>{html_text(line)}</li>" for line in header_lines)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>rtsent report</title><style>{STYLE}</style></head><body><main>",
        f"<h1>rtsent comparison</h1><ul class='sources'>{sources}</ul>",
        table_html(*table, bold_marked=True),
        "<p class='sources'>Bold: the best value of a column (accuracy only among models with real weights).</p>",
    ]
    if pairs is not None and pairs[1]:
        parts += [f"<h2>{html_text(pairs_title.rstrip(':'))}</h2>", table_html(*pairs)]
    if plot_png:
        image = base64.b64encode(plot_png).decode()
        parts.append(
            "<figure><img alt='validation accuracy against trainable parameters, train time and peak memory' "
            f"src='data:image/png;base64,{image}'><figcaption>Validation accuracy (mean ± std over seeds) against "
            "each cost; the red step line is the Pareto frontier.</figcaption></figure>"
        )
    parts.append("</main></body></html>\n")
    return "".join(parts)
