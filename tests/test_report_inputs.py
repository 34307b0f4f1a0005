"""rtsent-report on whatever a results file may hold: every file `read_document` accepts renders;
anything else is one line and exit 2, never a traceback."""

import contextlib
import io
import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rtsent.plan.profiles import get_profile
from rtsent.report.cli import FORMATS, main
from rtsent.schema.records import STATUSES  # every status a record may carry, "pruned" included

BENCH = Path(__file__).resolve().parents[1] / "bench" / "test_methods.py"


def test_a_file_of_skipped_cases_renders_their_statuses(pytester, polarity_folder):
    import torch

    if torch.cuda.is_available():
        pytest.skip("fp16 runs on this machine's GPU")
    pytester.makepyfile(test_methods=BENCH.read_text())
    out = pytester.path / "fp16.json"
    result = pytester.runpytest_inprocess(
        "-p",
        "rtsent.plugin.hooks",
        "--rtsent-profile=smoke",
        f"--rtsent-data={polarity_folder}",
        "--rtsent-precisions=fp16",
        f"--benchmark-json={out}",
    )
    rows = len(get_profile("smoke").grid)
    result.assert_outcomes(skipped=rows)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([str(out), "--plot", str(pytester.path / "p.png"), "--baseline", str(out)])
    assert stderr.getvalue().count("rtsent-report: gate: ") == rows  # the gate's own verdict: no case passed
    assert code == 1 and "Traceback" not in stderr.getvalue()
    table = [line for line in stdout.getvalue().splitlines() if line.startswith("| ") and "-fp16 " in line]
    assert len(table) == rows and all("| 1 skipped " in row and "| –" in row for row in table)
    assert (pytester.path / "p.png").read_bytes()[:4] == b"\x89PNG"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([str(out)]) == 0


MISSING = object()
# None, NaN or absent: "not measured"; values of the right kind: a measurement.
UNMEASURED = st.sampled_from([MISSING, None, math.nan])
FRACTION = st.one_of(UNMEASURED, st.floats(0, 1))
AMOUNT = st.one_of(UNMEASURED, st.floats(0, 1e12), st.integers(0, 10**12))
# Values read_document must refuse (wrong type, out of range, not finite) for a numeric field.
WRONG = st.sampled_from(["0.8", True, [0.8], {"x": 1}, -1.0, math.inf, -math.inf])


def bits(draw, n):
    return draw(st.one_of(UNMEASURED, st.text("01", min_size=n, max_size=n)))


@st.composite
def records(draw):
    row = draw(st.sampled_from(["svm-bf16", "head-lr1e-2-bf16", "lora-lr2e-4-bf16", "a/b <c> & 'd'"]))
    n = draw(st.integers(0, 6))
    fields = {
        "case": f"{row}-seed{draw(st.integers(0, 2))}",
        "row": row,
        "profile": draw(st.sampled_from(["quick", "offline"])),
        "model": draw(st.sampled_from(["minilm-l6", "random:tiny-bert"])),
        "status": draw(st.sampled_from(STATUSES)),
        "seed": draw(st.integers(0, 2)),
        "method": draw(st.one_of(UNMEASURED, st.sampled_from(["svm", "head", "lora"]))),
        "lr": draw(st.one_of(UNMEASURED, st.floats(1e-6, 1))),
        "precision": draw(st.one_of(UNMEASURED, st.just("bf16"))),
        "message": draw(st.one_of(UNMEASURED, st.text(max_size=20))),
        "accuracy_meaningful": draw(st.one_of(UNMEASURED, st.booleans())),
        "model_identity": draw(st.one_of(UNMEASURED, st.just("sha256:abc"))),
        "split_hashes": draw(st.one_of(UNMEASURED, st.just({"train": "f" * 64}))),
        "val_predictions": bits(draw, n),
        "val_labels": bits(draw, n),
    }
    for name in ("val_accuracy", "val_f1", "test_accuracy", "test_f1", "floor", "train_padding_share"):
        fields[name] = draw(FRACTION)
    for name in (
        "train_time_s",
        "feature_time_s",
        "eval_time_s",
        "train_tokens_per_s",
        "flops_utilization",
        "train_peak_rss_bytes",
        "feature_peak_rss_bytes",
        "train_cuda_max_allocated_bytes",
        "train_cuda_max_reserved_bytes",
        "trainable_params",
        "total_params",
    ):
        fields[name] = draw(AMOUNT)
    return {key: value for key, value in fields.items() if value is not MISSING}


@st.composite
def documents(draw):
    """A results file: mostly well-formed records with fields missing, None or NaN; sometimes a field
    dropped from the identity or a numeric field of the wrong kind, which must be refused."""
    # each case once per file: the same case twice is refused on purpose (tests/test_reporting.py)
    drawn = draw(st.lists(records(), min_size=1, max_size=6, unique_by=lambda r: (r["profile"], r["model"], r["case"])))
    benchmarks = [{"name": "x", "extra_info": record} for record in drawn]
    broken = draw(st.sampled_from([None, None, None, "identity", "number"]))
    info = draw(st.sampled_from(benchmarks))["extra_info"]
    if broken == "identity":
        key = draw(st.sampled_from(["case", "row", "profile", "model", "status", "seed"]))
        if key != "status" and draw(st.booleans()):  # without a status it is some other plugin's benchmark
            info.pop(key)
        else:
            info[key] = draw(st.sampled_from([None, math.nan, "", 1.5, -1]))
    elif broken == "number":
        key = draw(st.sampled_from(["val_accuracy", "train_time_s", "trainable_params", "floor"]))
        info[key] = draw(st.one_of(WRONG, st.just(1.5))) if key in ("val_accuracy", "floor") else draw(WRONG)
    machine = draw(st.sampled_from([MISSING, None, {}, {"rtsent": None}, {"rtsent": {"profile": "quick"}}]))
    document = {"benchmarks": benchmarks}
    if machine is not MISSING:
        document["machine_info"] = machine
    if draw(st.booleans()):
        document["commit_info"] = draw(st.sampled_from([None, {}, {"id": "0123456789abcdef"}]))
    return document, broken


# derandomized: CI tries the same examples every run (no flaky gate); no example database in the tree
@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    documents(),
    documents(),
    st.sampled_from(FORMATS),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_report_renders_or_refuses_in_one_line(first, baseline, fmt, plot, per_seed, with_baseline, no_pairs):
    (document, broken), (base_document, base_broken) = first, baseline
    with tempfile.TemporaryDirectory() as folder:
        path, base = Path(folder) / "a.json", Path(folder) / "base.json"
        # json.dumps writes NaN as the bare token NaN, as pandas and pytest-benchmark files may hold it
        path.write_text(json.dumps(document))
        base.write_text(json.dumps(base_document))
        argv = [str(path), "--format", fmt, "--output", str(Path(folder) / "report")]
        argv += ["--plot", str(Path(folder) / "p.png")] if plot else []
        argv += ["--per-seed"] if per_seed else []
        argv += ["--baseline", str(base)] if with_baseline else []
        argv += ["--no-pairs"] if no_pairs else []
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        err = stderr.getvalue()
        event(f"exit {code}")
        if broken or (with_baseline and base_broken):
            assert code == 2, err
            assert err.count("\n") == 1 and err.startswith("rtsent-report: ") and "Traceback" not in err
            return
        assert code in (0, 1), err
        assert (Path(folder) / "report").stat().st_size > 0
        assert all(line.startswith("rtsent-report: gate: ") for line in err.splitlines())
        assert code == 0 or with_baseline  # only the gate exits 1
        if plot:
            assert (Path(folder) / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_refusals_name_the_file_case_and_value(tmp_path):
    good = {
        "case": "svm-bf16-seed0",
        "row": "svm-bf16",
        "profile": "quick",
        "model": "m",
        "status": "passed",
        "seed": 0,
    }
    cases = [
        ({**good, "val_accuracy": "0.8"}, "val_accuracy='0.8' is not a number [0, 1], null or NaN"),
        ({**good, "train_time_s": -1}, "train_time_s=-1 is not a number >= 0, null or NaN"),
        ({**good, "status": "fine"}, f"status='fine' is not one of {', '.join(STATUSES)}"),
        ({k: v for k, v in good.items() if k != "row"}, "row=None is not a non-empty string"),
        ({**good, "seed": 0.5}, "seed=0.5 is not an integer"),
        ({**good, "val_predictions": "0101", "val_labels": "01"}, "val_predictions has 4 examples, val_labels 2"),
        ({**good, "split_hashes": "abc"}, "split_hashes='abc' is not an object or null"),
    ]
    for record, message in cases:
        path = tmp_path / "r.json"
        path.write_text(json.dumps({"benchmarks": [{"name": "x", "extra_info": record}]}))
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            assert main([str(path)]) == 2
        assert stderr.getvalue() == f"rtsent-report: {path}: svm-bf16-seed0: {message}\n"


LABELS = "10110010"


def _valid_document():
    """Two LoRA configurations (curves, swept r) and an SVM, two seeds each: every mode of the report has work."""
    benchmarks = []
    for row, swept, curve in (("lora-lr2e-4-r8-bf16", {"r": 8}, True), ("lora-lr2e-4-r16-bf16", {"r": 16}, True)) + (
        ("svm-bf16", {}, False),
    ):
        for seed in (0, 1):
            points = [
                {
                    "epoch": epoch,
                    "step": 4 * epoch,
                    "train_loss": 0.5,
                    "train_time_s": 1.0 * epoch,
                    "val_accuracy": 0.5 + 0.125 * epoch,
                    "test_accuracy": 0.5,
                    "val_predictions": LABELS[: 4 + 2 * epoch] + "0" * (4 - 2 * epoch),
                    "test_predictions": LABELS,
                }
                for epoch in (1, 2)
            ]
            info = {
                "case": f"{row}-seed{seed}",
                "row": row,
                "profile": "quick",
                "model": "m",
                "method": row.split("-")[0],
                "precision": "bf16",
                "lr": 2e-4 if curve else None,
                "seed": seed,
                "status": "passed",
                "swept": swept,
                "curve": points if curve else None,
                "train_info": {"steps": 8},
                "val_accuracy": 0.75,
                "test_accuracy": 0.5,
                "val_predictions": "10110000" if seed else "10110011",
                "val_labels": LABELS,
                "test_predictions": LABELS,
                "test_labels": LABELS,
                "train_time_s": 2.0,
                "train_peak_rss_bytes": 2**30,
                "trainable_params": 1000,
                "total_params": 10_000,
                "latency_p50_ms": 1.5,
            }
            benchmarks.append({"name": f"test_method[{info['case']}]", "extra_info": info})
    return {"machine_info": {"rtsent": {"profile": "quick"}}, "benchmarks": benchmarks}


JUNK = st.sampled_from(
    ["0.9", "", "abc", "012", "0101", "01" * 9, True, None, math.nan, math.inf, -math.inf, -1, 1.5, 10**30, 10**400]
    + [1e308, [], [1], {"x": [1, {"y": None}]}, [{"epoch": "1"}], [None, 3]]
)
TOP_FIELDS = (
    "val_accuracy test_accuracy train_time_s trainable_params latency_p50_ms stored_bytes seed lr workers contended "
    "swept curve train_info val_predictions val_labels test_predictions test_labels precision method has_weights "
    "accuracy_meaningful model_identity split_hashes data_canonical"
).split()
CURVE_FIELDS = "epoch step train_time_s val_accuracy test_accuracy val_predictions test_predictions".split()


@st.composite
def mutated(draw):
    """A valid document with one or two fields of its records set to junk: top-level, in a curve point, in
    `swept`, in `train_info`, or a curve point replaced."""
    document = _valid_document()
    for _ in range(draw(st.integers(1, 2))):
        info = draw(st.sampled_from(document["benchmarks"]))["extra_info"]
        where = draw(st.sampled_from(["top", "curve", "point", "swept", "steps", "whole curve", "whole swept"]))
        value = draw(JUNK)
        curve, point = info.get("curve"), draw(st.integers(0, 1))
        curve = curve if isinstance(curve, list) and len(curve) > point else None
        if where == "curve" and curve and isinstance(curve[point], dict):
            curve[point][draw(st.sampled_from(CURVE_FIELDS))] = value
        elif where == "point" and curve:
            curve[point] = value
        elif where == "swept" and isinstance(info.get("swept"), dict):
            info["swept"]["r"] = value
        elif where.startswith("whole"):
            info[where.split()[1]] = value
        elif where == "steps" and isinstance(info.get("train_info"), dict):
            info["train_info"]["steps"] = value
        else:
            info[draw(st.sampled_from(TOP_FIELDS))] = value
    return document


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutated(),
    st.sampled_from([(), ("--select", "val")]),
    st.sampled_from(FORMATS),
    st.sampled_from([False] * 3 + [True]),
)
def test_a_mutated_record_renders_or_is_refused_in_one_line(document, mode, fmt, plot):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.json"
        path.write_text(json.dumps(document))
        written = path.read_bytes()
        argv = [str(path), *mode, "--format", fmt, "--output", str(Path(folder) / "report")]
        argv += ["--plot", str(Path(folder) / "p.png")] if plot else []
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        err = stderr.getvalue()
        event(f"exit {code}")
        assert path.read_bytes() == written  # the input is never touched
        if code == 2:
            assert err.count("\n") == 1 and err.startswith("rtsent-report: ") and "Traceback" not in err
            return
        assert code == 0 and not err, err
        assert (Path(folder) / "report").stat().st_size > 0


def test_strings_and_junk_in_curves_and_sweeps_are_refused(tmp_path, capsys):
    cases = [
        (("curve", 0, "val_accuracy"), "0.9", "curve[0].val_accuracy='0.9' is not a number [0, 1], null or NaN"),
        (("curve", 1), [1], "curve[1]=[1] is not an object"),
        (("curve",), {"epoch": 1}, "curve={'epoch': 1} is not a list or null"),
        (("curve", 0, "test_predictions"), "0101", "curve[0].test_predictions has 4 examples, test_labels 8"),
        (("swept", "r"), {"x": 1}, "swept.r={'x': 1} is not a string, finite number, boolean, null or a list of those"),
        (("latency_p50_ms",), "12", "latency_p50_ms='12' is not a number >= 0, null or NaN"),
        (("trainable_params",), 10**400, f"trainable_params=1{'0' * 56}... is not a number >= 0"),
        (("workers",), "2", "workers='2' is not a number >= 1, null or NaN"),
        (("train_info", "steps"), "8", "train_info.steps='8' is not a number >= 0, null or NaN"),
    ]
    for keys, value, message in cases:
        document = _valid_document()
        target = document["benchmarks"][0]["extra_info"]
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        path = tmp_path / "r.json"
        path.write_text(json.dumps(document))
        for mode in ([], ["--select", "val"]):
            assert main([str(path), *mode]) == 2
            err = capsys.readouterr().err
            assert (
                err.startswith(f"rtsent-report: {path}: lora-lr2e-4-r8-bf16-seed0: {message}") and err.count("\n") == 1
            )


def test_outputs_never_replace_an_input_or_a_folder(tmp_path, capsys):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_valid_document()))
    written = path.read_bytes()
    for argv, message in (
        (["-o", str(tmp_path)], f"--output={str(tmp_path)!r} is a folder; give a file name to write"),
        (["-o", str(path)], f"--output={str(path)!r} is one of the input files; give another name"),
        (["--plot", str(path)], f"--plot={str(path)!r} is one of the input files"),
        (["--baseline", str(path), "--github-bigger", str(path)], f"--github-bigger={str(path)!r} is one of"),
        (["--select", "val", "--plot", str(tmp_path / "a")], f"--plot={str(tmp_path / 'a-sweep.png')!r} is a folder"),
    ):
        (tmp_path / "a-sweep.png").mkdir(exist_ok=True)
        assert main([str(path), *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"rtsent-report: {message}") and err.count("\n") == 1, err
        assert path.read_bytes() == written


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-drop", "nan", "--max-drop=nan is not a finite number"),
        ("--max-drop", "inf", "--max-drop=inf is not a finite number"),
        ("--max-slowdown", "inf", "--max-slowdown=inf is not a finite number > 0"),
        ("--max-memory-growth", "-1", "--max-memory-growth=-1.0 is not a finite number > 0"),
    ],
)
def test_gate_thresholds_must_be_finite(tmp_path, capsys, option, value, message):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_valid_document()))
    assert main([str(path), "--baseline", str(path), option, value]) == 2
    assert capsys.readouterr().err == f"rtsent-report: {message}\n"
