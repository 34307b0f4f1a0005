"""The cost/accuracy picture: validation accuracy against trainable parameters, train time and
peak memory, with each panel's Pareto frontier (no other point is both cheaper and better)."""

from __future__ import annotations

import io

import pandas as pd

PANELS = (
    ("trainable", "trainable parameters (log)", True),
    ("train s", "train time, s (log)", True),
    ("peak MiB", "peak memory, MiB", False),
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
    figure, axes = plt.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 4.2), constrained_layout=True)
    for axis, (column, label, log) in zip(axes, PANELS, strict=True):
        points = rows[rows[column].notna()]
        costs = [float(v) for v in points[column]]
        scores = [v[0] for v in points["val acc"]]
        errors = [v[1] or 0 for v in points["val acc"]]
        axis.errorbar(costs, scores, yerr=errors, fmt="o", color="tab:blue", capsize=3)
        for i, (cost, score, name) in enumerate(zip(costs, scores, points["row"], strict=True)):
            # alternate above/below so neighbours (svm and head sit close) stay readable
            axis.annotate(name, (cost, score), textcoords="offset points", xytext=(4, 5 if i % 2 else -11), fontsize=8)
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
    figure.suptitle(f"rtsent: accuracy against cost ({profiles})")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()
