"""The cost/accuracy picture: validation accuracy against trainable parameters, train time, peak
memory and (where recorded) serving latency, with each panel's Pareto frontier (no other point is
both cheaper and better)."""

from __future__ import annotations

import io

import pandas as pd

from rtsent.report.escaping import mathtext

PANELS = (
    ("trainable", "trainable parameters (log)", True),
    ("train s", "train time, s (log)", True),
    ("peak MiB", "peak memory, MiB", False),
    ("latency p50 ms", "serving latency at batch 1, p50 ms (log)", True),  # drawn when the records have it
)


def pareto_front(costs: list[float], scores: list[float]) -> list[int]:
    """Indices on the frontier, cheapest first: each beats every cheaper point's score."""
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -scores[i]))
    front, best = [], float("-inf")
    for i in order:
        if scores[i] > best:
            front.append(i)
            best = scores[i]
    return front


def pareto_png(summary: pd.DataFrame) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # no display; a file only
    import matplotlib.pyplot as plt

    rows = summary[summary["val acc"].map(lambda v: isinstance(v, tuple)) & summary["meaningful"]]
    # the first three panels always (empty when nothing measured them); latency only where measured
    panels = [p for i, p in enumerate(PANELS) if i < 3 or (p[0] in rows and rows[p[0]].notna().any())]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), constrained_layout=True)
    for axis, (column, label, log) in zip(axes, panels, strict=True):
        points = rows[rows[column].notna()]
        costs = [float(v) for v in points[column]]
        scores = [v[0] for v in points["val acc"]]
        errors = [v[1] or 0 for v in points["val acc"]]
        axis.errorbar(costs, scores, yerr=errors, fmt="o", color="tab:blue", capsize=3)
        for i, (cost, score, name) in enumerate(zip(costs, scores, points["row"], strict=True)):
            # alternate above/below so neighbours (svm and head sit close) stay readable
            axis.annotate(
                mathtext(name), (cost, score), textcoords="offset points", xytext=(4, 5 if i % 2 else -11), fontsize=8
            )
        front = pareto_front(costs, scores)
        if front:
            axis.step(
                [costs[i] for i in front],
                [scores[i] for i in front],
                where="post",
                color="tab:red",
                alpha=0.6,
                label="Pareto frontier",
            )
            axis.legend(loc="lower right", fontsize=8)
        if log and costs and min(costs) > 0:
            axis.set_xscale("log")
        axis.set_xlabel(label)
        axis.set_ylabel("validation accuracy (mean ± std over seeds)")
        axis.grid(alpha=0.3)
    profiles = ", ".join(sorted(set(rows["profile"]))) if len(rows) else "no cases with accuracy"
    figure.suptitle(mathtext(f"rtsent: accuracy against cost ({profiles})"))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _figure(rows: int, columns: int, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False, constrained_layout=True
    )
    figure.suptitle(title)
    return plt, figure, axes


def _png(plt, figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def sweep_png(selections: list) -> bytes:
    """Validation accuracy against each swept value, one panel per (method, key): at each value the best
    configuration over the other keys and epochs, ± std over seeds; log axis for learning rates and C."""
    from rtsent.report.selection import sweep_series

    panels = [(s, key, line) for s in selections for key, line in sweep_series(s).items()]
    columns = max(1, min(4, len(panels)))
    plt, figure, axes = _figure(
        max(1, -(-len(panels) // columns)), columns, "rtsent: validation accuracy per swept value"
    )
    flat = axes.ravel()
    for axis, (selection, key, line) in zip(flat, panels, strict=False):
        values = [v for v, _, _ in line]
        numeric = all(isinstance(v, int | float) for v in values)
        xs = values if numeric else list(range(len(values)))
        axis.errorbar(xs, [m for _, m, _ in line], yerr=[e for _, _, e in line], fmt="o-", capsize=3)
        if not numeric:
            axis.set_xticks(xs, [mathtext(str(v)) for v in values])
        elif key in ("lr", "C", "head_lr", "weight_decay") and min(values) > 0:
            axis.set_xscale("log")
            axis.xaxis.set_minor_formatter("")  # within one decade matplotlib labels minor ticks: they overlap
        size = f", {selection.group[4]}/class" if selection.group[4] is not None else ""
        axis.set_title(mathtext(f"{selection.group[2]} ({selection.group[3]}{size})"), fontsize=10)
        axis.set_xlabel(mathtext(key))
        axis.set_ylabel("val accuracy")
        axis.grid(alpha=0.3)
    for axis in flat[len(panels) :]:
        axis.set_visible(False)
    if not panels:
        flat[0].text(0.5, 0.5, "no value was swept", ha="center", va="center")
    return _png(plt, figure)


def curves_png(selections: list) -> bytes:
    """Learning curves of the selected configurations, one panel per method: validation accuracy after
    each epoch, ± std over seeds, the chosen epoch marked."""
    from rtsent.report.selection import curve_series, describe

    lines = [(s, curve_series(s)) for s in selections]
    lines = [(s, line) for s, line in lines if line]
    columns = max(1, min(4, len(lines)))  # rows of 4 panels, as the sweep figure, so ten methods stay legible
    plt, figure, axes = _figure(
        max(1, -(-len(lines) // columns)), columns, "rtsent: learning curves of the selected configurations"
    )
    flat = axes.ravel()
    for axis, (selection, line) in zip(flat, lines, strict=False):
        axis.errorbar(
            [e for e, _, _ in line], [m for _, m, _ in line], yerr=[s for _, _, s in line], fmt="o-", ms=3, capsize=2
        )
        if selection.chosen.epoch is not None:  # None: the seeds without a curve won, at their final epoch
            axis.axvline(
                selection.chosen.epoch, color="tab:red", alpha=0.6, label=f"chosen: epoch {selection.chosen.epoch:g}"
            )
        axis.set_title(
            mathtext(
                f"{selection.group[2]}"
                + (f" at {selection.group[4]}/class" if selection.group[4] is not None else "")
                + f": {describe(selection.chosen).rsplit(', epoch', 1)[0]}"
            ),
            fontsize=10,
        )
        axis.set_xlabel("epoch")
        axis.set_ylabel("val accuracy (mean ± std over seeds)")
        axis.grid(alpha=0.3)
        if selection.chosen.epoch is not None:
            axis.legend(fontsize=8, loc="lower right")
    for axis in flat[len(lines) :]:
        axis.set_visible(False)
    if not lines:
        flat[0].set_visible(True)
        flat[0].text(0.5, 0.5, "no learning curve among the selections", ha="center", va="center")
    return _png(plt, figure)


def sizes_png(table: list[dict]) -> bytes:
    """Test accuracy against labelled training rows (log x), one line and 95% band per method (and model):
    `table` is rtsent.report.sizes.size_table's."""
    import math
    from collections import defaultdict

    lines: dict[tuple, list[dict]] = defaultdict(list)
    for row in table:
        if not math.isnan(row["train rows"]):
            drawn = " (validation drawn)" if row["validation"] == "drawn" else ""
            lines[(str(row["model"]), row["method"] + drawn)].append(row)
    several = len({model for model, _ in lines}) > 1
    plt, figure, axes = _figure(1, 1, "Test accuracy against labelled-set size")
    axis = axes[0][0]
    figure.set_size_inches(7.5, 4.8)
    for (model, method), points in sorted(lines.items()):
        points.sort(key=lambda r: r["train rows"])
        x = [r["train rows"] for r in points]
        (line,) = axis.plot(
            x, [r["test acc"] for r in points], marker="o", label=mathtext(f"{model}: {method}" if several else method)
        )
        low, high = [r["95% interval"][0] for r in points], [r["95% interval"][1] for r in points]
        axis.fill_between(x, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
    axis.set_xscale("log")
    axis.set_xlabel("labelled training examples (log)")
    axis.set_ylabel("test accuracy, mean over draws (95% band)")
    axis.grid(alpha=0.3)
    if lines:
        axis.legend(fontsize=7, loc="lower right")
    return _png(plt, figure)
