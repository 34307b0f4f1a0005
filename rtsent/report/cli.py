"""rtsent-report: the comparison table from `pytest bench/ --benchmark-json=FILE` files.

Reads JSON only (no torch import: it starts in well under a second). Exit codes: 0 fine, 1 the
baseline gate failed, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from rtsent.report import escaping
from rtsent.report.summary import COLUMNS, DEFAULT_COLUMNS, KEYS, case_frame, pairwise, summarize
from rtsent.schema.caseid import with_seed
from rtsent.schema.ranges import POSITIVE, Interval
from rtsent.schema.records import RecordsError, pooling_error, read_document, records_of, write_atomic

# One standard error of an accuracy near 0.8 on 1,066 examples is ~1.2 points; a drop of 2.5
# points is ~2 standard errors: rarer than 1 in 20 by noise alone for a single seed.
DEFAULT_MAX_DROP = 0.025
_ACCURACY = {"val acc", "val F1", "test acc", "test F1"}  # best marked among rows with real weights only
FORMATS = ("github", "markdown", "plain", "html", "latex", "csv", "json")


class ReportError(ValueError):
    """Input the report cannot use; one line, exit 2."""


def load_records(paths: Sequence[str]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One row per case from pytest-benchmark JSON files, and each file's header facts."""
    rows, headers = read_records(paths)
    return case_frame(rows), headers


def read_records(paths: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every file's records (each with its `file`), checked to pool, and each file's header facts."""
    rows, headers = [], []
    for path in paths:
        try:
            document = read_document(path)
        except RecordsError as error:
            raise ReportError(str(error)) from None
        headers.append(_header(path, document))
        rows += [{**info, "file": path} for info in records_of(document)]
    problem = pooling_error(rows)
    if problem:
        raise ReportError(problem)
    return rows, headers


def _header(path: str, document: dict[str, Any]) -> dict[str, Any]:
    machine = document.get("machine_info") or {}
    facts = machine.get("rtsent") or {}
    infos = records_of(document)
    first = next((i for i in infos if "model_identity" in i), infos[0])
    hashes = first.get("split_hashes") if isinstance(first.get("split_hashes"), dict) else {}
    # the record's verdict on the full splits (rtsent.data.sources.CANONICAL_SPLIT_HASHES); older files lack it
    flag = first.get("data_canonical")
    canonical = {True: ", canonical Rotten Tomatoes splits", False: ", OTHER DATA: not the canonical splits"}
    mark = canonical[flag] if isinstance(flag, bool) else ""
    # the task's classes (older files lack them: Rotten Tomatoes' neg, pos) and a validation carved from train
    names = first.get("label_names")
    if isinstance(names, list) and names:
        f1 = "macro-F1" if first.get("f1_average") == "macro" else f"F1 of {names[-1]}"
        mark += f"; {len(names)} classes: {', '.join(map(str, names))} ({f1})"
    if isinstance(first.get("validation_carved"), int):
        mark += f"; VALIDATION CARVED from train: {first['validation_carved']} rows (stratified, seed 0)"
    shared = [i for i in infos if i.get("contended") is True]
    contended = (
        {
            "timings": f"CONTENDED: {len(shared)} of {len(infos)} cases ran beside other workers "
            f"(up to {max(int(i.get('workers') or 1) for i in shared)} sharing the cores or device); "
            f"their times are not comparable with solo runs"
        }
        if shared
        else {}
    )
    return {
        "file": path,
        "profile": facts.get("profile", first.get("profile")),
        "model": f"{first.get('model')} ({first.get('model_identity', '?')})",
        "data": f"{first.get('data')} (train {str(hashes.get('train', '?'))[:12]}{mark})",
        "device": facts.get("device_name", (machine.get("cpu") or {}).get("brand_raw", "?")),
        "versions": ", ".join(f"{k} {facts[k]}" for k in ("torch", "transformers", "peft") if k in facts),
        "date": document.get("datetime", "?"),
        "commit": str((document.get("commit_info") or {}).get("id", "?"))[:12],
        **contended,
    }


def _fmt(name: str, value: Any, best: bool, marker: str, escape: Callable[[str], str]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if name == "Δ val acc":
        return f"{value:+.3f}"
    if name == "val acc 95% CI":
        return f"[{value[0]:.3f}, {value[1]:.3f}] {value[2]}"
    if isinstance(value, tuple):
        text = f"{value[0]:.3f}" + (f" ± {value[1]:.3f}" if value[1] is not None else "")
    elif name in ("trainable",):
        text = f"{int(value):,}"
    elif name == "trainable %":
        text = f"{value:.3g}%"
    elif name == "FLOP/s used":
        text = f"{value:.0%}"
    elif name == "padding %":
        text = f"{value:.1f}%"
    elif name in ("train s", "features s", "eval s", "peak MiB", "reserved MiB", "tokens/s", "sent/s", "merged sent/s"):
        text = f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    elif name in ("latency p50 ms", "latency p95 ms", "merged p50 ms"):
        text = f"{value:.2f}" if value < 10 else f"{value:.1f}"
    elif name in ("stored MiB", "stored %"):
        text = f"{value:.3g}"
    else:
        text = str(value)
    text = escape(text)  # before the marker: the format's markup is the reporter's, the text the input's
    return marker.format(text) if best else text


def render_table(summary: pd.DataFrame, columns: list[str], fmt: str, *, sort: str | None = None) -> pd.DataFrame:
    """Display strings, the best value of each column marked (accuracy only among meaningful rows)."""
    if sort:
        key = summary[sort].map(lambda v: v[0] if isinstance(v, tuple) else v)
        summary = summary.assign(_key=key).sort_values("_key", ascending=not COLUMNS[sort][2], na_position="last")
    marker = {"github": "**{}**", "markdown": "**{}**", "html": "<b>{}</b>", "latex": "\\textbf{{{}}}"}.get(fmt, "{}*")
    if fmt in ("csv", "json"):
        marker = "{}"
    escape = escaping.CELL.get(fmt, str)  # html escapes in rtsent.report.html, json in json.dumps
    names = [
        escape(("" if meaningful else "(no weights) ") + row)
        for row, meaningful in summary[["row", "meaningful"]].values
    ]
    shown = pd.DataFrame({"case": names})
    if summary["model"].nunique() > 1 or summary["profile"].nunique() > 1:
        shown.insert(0, "profile / model", (summary["profile"] + " / " + summary["model"]).map(escape))
    for name in columns:
        larger = COLUMNS[name][2] if name in COLUMNS else None
        values = [v[0] if isinstance(v, tuple) else v for v in summary[name]]
        eligible = [
            v
            for v, m in zip(values, summary["meaningful"], strict=True)
            if v is not None and not (isinstance(v, float) and math.isnan(v)) and (m or name not in _ACCURACY)
        ]
        best = (max(eligible) if larger else min(eligible)) if eligible and larger is not None else None
        shown[name] = [
            _fmt(name, v, best is not None and value == best, marker, escape)
            for v, value in zip(summary[name], values, strict=True)
        ]
    return shown


def header_text(headers: list[dict[str, Any]]) -> list[str]:
    return [" · ".join(f"{k}: {v}" for k, v in h.items()) for h in headers]


PAIRS_TITLE = "Pairwise, same validation examples (McNemar exact; discordant pairs summed over shared seeds):"


def to_text(
    shown: pd.DataFrame,
    pairs: pd.DataFrame,
    headers: list[dict[str, Any]],
    fmt: str,
    plot_png: bytes | None = None,
    *,
    pairs_title: str = PAIRS_TITLE,
) -> str:
    from tabulate import tabulate

    if fmt == "csv":
        return shown.rename(columns=escaping.csv).to_csv(index=False)
    if fmt == "json":
        return json.dumps(
            {"headers": headers, "rows": shown.to_dict(orient="records"), "pairs": pairs.to_dict(orient="records")},
            indent=2,
            default=str,
        )
    pairs_shown = pairs
    if not pairs.empty:
        pairs_shown = pairs.assign(
            **{
                "A acc": pairs["A acc"].map("{:.3f}".format),
                "B acc": pairs["B acc"].map("{:.3f}".format),
                "p (McNemar)": pairs["p (McNemar)"].map("{:.3g}".format),
            }
        )
    lines = header_text(headers)
    if fmt == "html":
        from rtsent.report.html import page

        return page(
            header_lines=lines,
            table=(list(shown.columns), shown.astype(str).values.tolist()),
            pairs=(list(pairs_shown.columns), pairs_shown.astype(str).values.tolist()) if not pairs.empty else None,
            plot_png=plot_png,
            pairs_title=pairs_title,
        )
    escape = escaping.CELL[fmt]
    table_fmt = {"github": "github", "markdown": "pipe", "plain": "plain", "latex": "latex_raw"}[fmt]
    # the cells of `shown` are escaped (render_table, selection_text); its column names and the pairs here
    table = tabulate(
        shown.rename(columns=escape), headers="keys", tablefmt=table_fmt, showindex=False, disable_numparse=True
    )
    pair_table = ""
    if not pairs.empty:
        pairs_shown = pairs_shown.astype(str).map(escape).rename(columns=escape)
        pair_table = tabulate(pairs_shown, headers="keys", tablefmt=table_fmt, showindex=False, disable_numparse=True)
    if fmt == "latex":
        return table + ("\n\n" + pair_table if pair_table else "") + "\n"
    prefix = "\n".join(f"> {escape(line)}" if fmt in ("github", "markdown") else escape(line) for line in lines)
    return f"{prefix}\n\n{table}" + (f"\n\n{pairs_title}\n\n{pair_table}" if pair_table else "") + "\n"


def selection_text(records: list[dict[str, Any]], headers: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """`--select val`: each method's configuration chosen on validation, judged on test (rtsent/report/selection.py);
    with --plot FILE.png also FILE-sweep.png and FILE-curves.png."""
    from rtsent.report.selection import pairs_on_test, select, selected_table

    selections = select(records, one_se=not args.no_one_se_rule)
    if not selections:
        raise ReportError("no case with metrics to select from")
    shown = pd.DataFrame(selected_table(selections))
    if args.format in escaping.CELL:  # html escapes in rtsent.report.html, json in json.dumps
        shown = shown.astype(str).map(escaping.CELL[args.format])
    pairs = pd.DataFrame() if args.no_pairs else pd.DataFrame(pairs_on_test(selections))
    plot_png = None
    if args.plot or args.format == "html":
        from rtsent.report.plots import curves_png, sweep_png

        plot_png = sweep_png(selections)
        if args.plot:
            stem = args.plot.removesuffix(".png")
            write_atomic(f"{stem}-sweep.png", plot_png)
            write_atomic(f"{stem}-curves.png", curves_png(selections))
    title = "Pairwise between the selected configurations, same test examples (McNemar exact; summed over seeds):"
    return to_text(shown, pairs, headers, args.format, plot_png, pairs_title=title)


def sizes_text(records: list[dict[str, Any]], headers: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """`--by train_size`: accuracy against labelled-set size (rtsent/report/sizes.py); with --plot FILE.png
    the accuracy-against-size plot there."""
    from rtsent.report.sizes import shown_rows, size_table

    table = size_table(records)
    if not table:
        raise ReportError("no case with test metrics to show against size")
    shown = pd.DataFrame(shown_rows(table))
    if args.format in escaping.CELL:  # html escapes in rtsent.report.html, json in json.dumps
        shown = shown.astype(str).map(escaping.CELL[args.format])
    plot_png = None
    if args.plot or args.format == "html":
        from rtsent.report.plots import sizes_png

        plot_png = sizes_png(table)
        if args.plot:
            write_atomic(args.plot, plot_png)
    return to_text(shown, pd.DataFrame(), headers, args.format, plot_png)


def gate(
    summary: pd.DataFrame,
    baseline: pd.DataFrame,
    *,
    max_drop: float,
    max_slowdown: float | None,
    max_memory_growth: float | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Deltas against the baseline, and one message per offending row."""
    merged = summary.merge(baseline, on=KEYS, how="left", suffixes=("", " (base)"))
    problems = []
    for _, row in merged.iterrows():
        name = f"{row['profile']}/{row['row']}"
        now, base = row["val acc"], row.get("val acc (base)")
        if row["meaningful"] and now is not None and row["floor"] is not None and now[0] < row["floor"]:
            problems.append(f"{name}: val accuracy {now[0]:.4f} is under its floor {row['floor']:.4f}")
        if row["meaningful"] and isinstance(now, tuple) and isinstance(base, tuple) and base[0] - now[0] > max_drop:
            problems.append(
                f"{name}: val accuracy fell {base[0] - now[0]:.4f} ({base[0]:.4f} -> {now[0]:.4f}), "
                f"more than --max-drop {max_drop}"
            )
        for column, limit, flag in (
            ("train s", max_slowdown, "--max-slowdown"),
            ("peak MiB", max_memory_growth, "--max-memory-growth"),
        ):
            new, old = row[column], row.get(f"{column} (base)")
            if limit is not None and new and old and not pd.isna(old) and new / old > limit:
                problems.append(f"{name}: {column} grew {new / old:.2f}x ({old:.1f} -> {new:.1f}), over {flag} {limit}")
        if row["status"] and "passed" not in str(row["status"]) and "below_floor" not in str(row["status"]):
            problems.append(f"{name}: no case passed ({row['status']})")
    delta = merged.apply(
        lambda r: (
            (r["val acc"][0] - r["val acc (base)"][0])
            if isinstance(r["val acc"], tuple) and isinstance(r.get("val acc (base)"), tuple)
            else None
        ),
        axis=1,
    )
    return summary.assign(**{"Δ val acc": delta.to_numpy()}), problems


def github_benchmark(summary: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """github-action-benchmark entries: (customBiggerIsBetter, customSmallerIsBetter)."""
    bigger, smaller = [], []
    for _, row in summary.iterrows():
        name = f"{row['profile']}/{row['row']}"
        for column in ("val acc", "test acc", "val F1"):
            if isinstance(row[column], tuple):
                bigger.append({"name": f"{name} {column}", "unit": "fraction", "value": row[column][0]})
        for column, unit in (("train s", "s"), ("peak MiB", "MiB")):
            if row[column] is not None and not pd.isna(row[column]):
                smaller.append({"name": f"{name} {column}", "unit": unit, "value": row[column]})
    return bigger, smaller


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rtsent-report", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="pytest --benchmark-json files")
    parser.add_argument("--format", choices=FORMATS, default="github", help="output format (default github)")
    parser.add_argument("--output", "-o", help="write here (atomically) instead of stdout")
    available = ", ".join(COLUMNS).replace("%", "%%")  # argparse formats help with %: "val acc 95% CI"
    parser.add_argument("--columns", help=f"comma-separated columns; available: {available}")
    parser.add_argument("--sort", choices=[c for c, v in COLUMNS.items() if v[2] is not None], help="sort rows by")
    parser.add_argument("--no-pairs", action="store_true", help="leave out the pairwise McNemar table")
    parser.add_argument("--per-seed", action="store_true", help="one row per seed instead of seeds aggregated")
    parser.add_argument("--baseline", help="earlier --benchmark-json file to gate against")
    parser.add_argument(
        "--max-drop",
        type=float,
        default=DEFAULT_MAX_DROP,
        help=f"largest allowed drop of mean val accuracy (default {DEFAULT_MAX_DROP}: ~2 SE on 1,066)",
    )
    parser.add_argument("--max-slowdown", type=float, help="largest allowed train-time ratio new/baseline, e.g. 1.5")
    parser.add_argument("--max-memory-growth", type=float, help="largest allowed peak-memory ratio new/baseline")
    parser.add_argument("--plot", help="PNG: accuracy against trainable params, train time and peak memory")
    parser.add_argument(
        "--select",
        choices=["val"],
        help="per method, the configuration (swept values and epoch) with the best mean validation accuracy, "
        "reported on test, with the tuning cost",
    )
    parser.add_argument(
        "--no-one-se-rule",
        action="store_true",
        help="with --select: always the best validation accuracy (default: a cheaper one within one standard error)",
    )
    parser.add_argument(
        "--by",
        choices=["train_size"],
        help="train_size: per method, test accuracy against labelled-set size (--rtsent-per-class runs), the best "
        "method at each size and those within one standard error of it",
    )
    parser.add_argument("--github-bigger", help="write github-action-benchmark customBiggerIsBetter JSON here")
    parser.add_argument("--github-smaller", help="write github-action-benchmark customSmallerIsBetter JSON here")
    return parser.parse_args(argv)


def check_options(args: argparse.Namespace) -> None:
    """Options that would fail or destroy something only after the work: refused before it (ReportError)."""
    for flag, value, valid in (
        ("--max-drop", args.max_drop, Interval(float)),
        ("--max-slowdown", args.max_slowdown, POSITIVE),
        ("--max-memory-growth", args.max_memory_growth, POSITIVE),
    ):
        # argparse's float() reads "nan" and "inf": a gate that can never fire (nan) or never pass
        if value is not None and value not in valid:
            raise ReportError(f"{flag}={value} is not {valid}")
    if args.select and args.by:
        raise ReportError("--select and --by both given: choose configurations on validation, or show accuracy by size")
    inputs = [p for p in [*args.files, args.baseline] if p and os.path.isfile(p)]
    outputs = [("--output", args.output), ("--github-bigger", args.github_bigger)]
    outputs.append(("--github-smaller", args.github_smaller))
    if args.plot:
        stem = args.plot.removesuffix(".png")
        plots = [f"{stem}-sweep.png", f"{stem}-curves.png"] if args.select else [args.plot]
        outputs += [("--plot", p) for p in plots]
    for flag, path in outputs:
        if path is None:
            continue
        if os.path.isdir(path):
            raise ReportError(f"{flag}={path!r} is a folder; give a file name to write")
        if os.path.exists(path) and any(os.path.samefile(path, p) for p in inputs):
            raise ReportError(f"{flag}={path!r} is one of the input files; give another name (it would be replaced)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_options(args)
        columns = [c.strip() for c in args.columns.split(",")] if args.columns else list(DEFAULT_COLUMNS)
        unknown = [c for c in columns if c not in COLUMNS]
        if unknown:
            raise ReportError(f"unknown column(s) {unknown}; available: {', '.join(COLUMNS)}")
        records, headers = read_records(args.files)  # each file parsed once
        if args.select or args.by:
            text = (selection_text if args.select else sizes_text)(records, headers, args)
            if args.output:
                write_atomic(args.output, text)
            else:
                sys.stdout.write(text)
            return 0
        frame = case_frame(records)
        if args.per_seed:
            frame["row"] = [with_seed(row, seed) for row, seed in zip(frame["row"], frame["seed"], strict=True)]
        summary = summarize(frame)
        problems: list[str] = []
        if args.baseline:
            base_frame, _ = load_records([args.baseline])
            summary, problems = gate(
                summary,
                summarize(base_frame),
                max_drop=args.max_drop,
                max_slowdown=args.max_slowdown,
                max_memory_growth=args.max_memory_growth,
            )
            columns.append("Δ val acc")
        pairs = pd.DataFrame() if args.no_pairs else pairwise(frame)
        plot_png = None
        if args.plot or args.format == "html":
            from rtsent.report.plots import pareto_png

            plot_png = pareto_png(summary)
            if args.plot:
                write_atomic(args.plot, plot_png)
        text = to_text(
            render_table(summary, columns, args.format, sort=args.sort), pairs, headers, args.format, plot_png
        )
        bigger, smaller = github_benchmark(summary)
        if args.github_bigger:
            write_atomic(args.github_bigger, json.dumps(bigger, indent=1))
        if args.github_smaller:
            write_atomic(args.github_smaller, json.dumps(smaller, indent=1))
        if args.output:
            write_atomic(args.output, text)
        else:
            sys.stdout.write(text)
    except (ReportError, RecordsError) as error:
        print(f"rtsent-report: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # writing an output: no permission, disk full (inputs are read by read_document)
        # write_atomic names the file asked for, not its temporary one
        print(f"rtsent-report: cannot write {error.filename!r}: {error.strerror}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"rtsent-report: gate: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
