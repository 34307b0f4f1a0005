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

from rtsent.profiles import get_profile
from rtsent.reporting import FORMATS, main

BENCH = Path(__file__).resolve().parents[1] / "bench" / "test_methods.py"


def test_a_file_of_skipped_cases_renders_their_statuses(pytester, polarity_folder):
    import torch

    if torch.cuda.is_available():
        pytest.skip("fp16 runs on this machine's GPU")
    pytester.makepyfile(test_methods=BENCH.read_text())
    out = pytester.path / "fp16.json"
    result = pytester.runpytest_inprocess(
        "-p",
        "rtsent.plugin",
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


STATUSES = ("passed", "below_floor", "diverged", "oom", "error", "skipped")
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
        ({**good, "status": "fine"}, "status='fine' is not one of passed, below_floor, diverged, oom, error, skipped"),
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
