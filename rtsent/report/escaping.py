"""One escaping function per output format: any case id, model or data name renders as written.

Input strings (row names, models, profiles, file names, swept values) may hold what a format gives meaning
to; each function below turns such text into that format's literal text. The reporter escapes every cell
and header line with the function of its format before it adds its own markup (the best-value marker).
The HTML page escapes in rtsent/report/html.py with `html_text`. No torch here (the reporter's rule).
"""

from __future__ import annotations

import html
import re

# C0 and C1 control characters (ESC starts an ANSI sequence), DEL, and the bidirectional overrides and
# isolates that reorder what a terminal or browser shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal(text: str) -> str:
    """Plain text for a terminal or any table cell: control characters (newlines, tabs, ANSI escapes)
    shown as Python writes them (`\\n`, `\\x1b`), so a cell stays on its line and the terminal obeys nothing."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


# CommonMark's backslash escapes for what a GitHub table cell gives meaning to: the cell delimiter,
# emphasis, code, strikethrough, math, HTML tags, entities, links.
_MARKDOWN = re.compile(r"[\\|*`~$<>&]|\]\(|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def markdown(text: str) -> str:
    """A GitHub/pipe table cell. `_` inside a word (target_modules) is left alone: it emphasizes nothing."""
    return _MARKDOWN.sub(lambda m: "\\" + m.group() if m.group() != "](" else "]\\(", terminal(text))


_LATEX = {c: "\\" + c for c in "&%$#_{}"} | {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def latex(text: str) -> str:
    """LaTeX text mode: its ten special characters."""
    return "".join(_LATEX.get(c, c) for c in terminal(text))


_NUMBER = re.compile(r"[+-]?[0-9][0-9,]*(\.[0-9]+)?%?")


def csv(text: str) -> str:
    """A CSV cell for a spreadsheet: a cell starting with = + - @ (or tab, carriage return) is a formula
    there (OWASP, CSV injection), so it gets a leading `'`, unless it is a number (-0.020); newlines shown
    as `\\n` (pandas quotes the rest)."""
    text = terminal(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(text) else text


def html_text(text: str) -> str:
    """HTML text or an attribute value in quotes; control characters shown as in a terminal."""
    return html.escape(terminal(text), quote=True)


def mathtext(text: str) -> str:
    """A matplotlib label or title: `$` would start math text; control characters shown as in a terminal."""
    return terminal(text).replace("$", r"\$")


# The cell escape of each rtsent-report format; json needs none (json.dumps escapes); rtsent.report.html escapes html.
CELL = {"github": markdown, "markdown": markdown, "plain": terminal, "latex": latex, "csv": csv}
