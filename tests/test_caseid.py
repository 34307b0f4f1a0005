"""Case ids (rtsent/schema/caseid.py): one grammar, built and parsed in one place, every committed id read back."""

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtsent.plan.profiles import PROFILES
from rtsent.schema.caseid import PRECISIONS, CaseId, format_number, format_part, method_of, part_value, with_seed
from rtsent.schema.records import read_document, records_of

RESULTS = Path(__file__).resolve().parent.parent / "results"
# every pytest-benchmark document committed (the plain Trainer reference's own files beside them are not)
DOCUMENTS = [p for p in sorted(RESULTS.glob("**/*.json")) if "benchmarks" in json.loads(p.read_text(encoding="utf-8"))]
COMMITTED = [r for path in DOCUMENTS for r in records_of(read_document(path))]


def legacy_row(method, lr, swept, precision):
    """The ids as runner.py, sweeps.py and profiles.py built them before rtsent/schema/caseid.py: the reference."""

    def number(value):
        if float(value).is_integer() and abs(value) < 10_000:
            return str(int(value))
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}" if float(f"{mantissa}e{exponent}") == value else repr(value)

    def part(key, value):
        if isinstance(value, bool):
            return f"{key}={str(value).lower()}"
        if isinstance(value, int | float):
            return f"{key}{number(value)}"
        if isinstance(value, tuple):
            return f"{key}=" + "+".join(str(v) for v in value)
        return f"{key}={value}"

    lr_part = f"-lr{number(lr)}" if lr is not None else ""
    return f"{method}{lr_part}{''.join(f'-{part(k, v)}' for k, v in swept)}-{precision}"


def test_committed_results_hold_records():
    assert len(COMMITTED) > 300 and all("case" in r and "row" in r for r in COMMITTED)


def test_every_committed_id_parses_back_to_itself_and_its_record():
    for record in COMMITTED:
        case = CaseId.parse(record["case"])
        assert case.format() == record["case"] and case.row == record["row"]
        assert (case.method, case.precision, case.seed) == (record["method"], record["precision"], record["seed"])
        assert CaseId.parse_row(record["row"]) == CaseId(case.method, case.lr, case.parts, case.precision)
        if case.lr is not None:
            assert case.lr == record["lr"]
        if record.get("trial") is not None:  # a search trial's id names its index; swept holds what it drew
            assert case.parts[0] == ("trial", record["trial"]) and case.lr is None
        elif record.get("swept") is not None:  # records before sweeps had none
            # the swept values, then the labelled-set size the case drew (rtsent.plan.cases.CaseConfig.caseid)
            size = (("per_class", record["per_class"]),) if record.get("per_class") is not None else ()
            size += (("validation", "drawn"),) if record.get("validation_split") == "drawn" else ()
            assert case.parts == tuple((k, part_value(v)) for k, v in record["swept"].items()) + size


def test_every_grid_and_sweep_id_is_the_legacy_one_and_parses_back():
    from rtsent.methods import TAKES_LR
    from rtsent.plugin.session import parse_options

    seen = 0
    for profile in PROFILES:
        for sweep in ("", "tune", "tune-targets"):
            options = {"profile": profile, "sweep": sweep, "seeds": "0,3", "progress": "off", "floors": "none"}
            options["precisions"] = ",".join(PRECISIONS)
            if profile == "quick" and sweep == "tune":
                continue  # the tune sweep names prompt, which quick does not run
            for config in parse_options(lambda name, o=options: o.get(name, "")).grid():
                lr = config.lr if config.method in TAKES_LR else None
                row = legacy_row(config.method, lr, config.swept, config.precision)
                assert (config.row, config.case_id) == (row, f"{row}-seed{config.seed}")
                assert CaseId.parse(config.case_id) == config.caseid
                seen += 1
    assert seen > 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "lora-lr2e-4-target_modules=all-linear-bf16-seed0",
            ("lora", 2e-4, (("target_modules", "all-linear"),), "bf16", 0),
        ),
        (
            "lora-lr2e-3-r8-target_modules=attention-bf16-seed12",
            ("lora", 2e-3, (("r", 8), ("target_modules", "attention")), "bf16", 12),
        ),
        ("nbsvm-C1e-1-beta0.25-fp32-seed1", ("nbsvm", None, (("C", 0.1), ("beta", 0.25)), "fp32", 1)),
        ("svm-fp16-seed2", ("svm", None, (), "fp16", 2)),
        ("prompt-lr1-bf16-seed0", ("prompt", 1.0, (), "bf16", 0)),
        (
            "tfidf-ngram_range=1+2-sublinear_tf=true-fp32-seed0",
            ("tfidf", None, (("ngram_range", "1+2"), ("sublinear_tf", "true")), "fp32", 0),
        ),
        (
            "full-lr1.5e-05-head_lr1e-3-max_length=None-fp32-seed0",
            ("full", 1.5e-5, (("head_lr", 1e-3), ("max_length", "None")), "fp32", 0),
        ),
    ],
)
def test_parse_reads_every_kind_of_part(text, expected):
    case = CaseId.parse(text)
    assert (case.method, case.lr, case.parts, case.precision, case.seed) == expected
    assert case.format() == str(case) == text and case.row == text.rsplit("-seed", 1)[0]


def test_builders_and_small_helpers():
    assert CaseId("lora", 2e-4, (("r", 16), ("standardize", False), ("ngram_range", (1, 2))), "bf16", 0).format() == (
        "lora-lr2e-4-r16-standardize=false-ngram_range=1+2-bf16-seed0"
    )
    assert CaseId("svm", None, (), "fp32").format() == "svm-fp32"  # no seed: the row
    assert CaseId.parse("lora-lr2e-4-r16-bf16-seed0").setting == "lora-lr2e-4-r16"
    assert with_seed("svm-fp32", 3) == "svm-fp32-seed3"
    assert [method_of(t) for t in ("svm", "lora-lr2e-4", "lora-lr2e-4-bf16-seed0")] == ["svm", "lora", "lora"]
    assert [format_part("r", 16), format_part("C", 0.1), format_part("pooling", "mean")] == [
        "r16",
        "C1e-1",
        "pooling=mean",
    ]
    assert [format_number(x) for x in (1e4, 12345, 2.5, -2e-4)] == ["1e4", "12345", "2.5", "-2e-4"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("lora-lr2e-4-bf16", "it does not end in -seedN"),
        ("lora-lr2e-4-bf16-seed01", "it does not end in -seedN"),
        ("lora-lr2e-4-fp64-seed0", "it does not end in a precision"),
        ("lora-seed0", "it does not end in a precision"),
        ("Lo-ra-bf16-seed0", "'ra' does not start with KEYNUMBER or KEY=VALUE"),
        ("-bf16-seed0", "method '' is not a name"),
        ("lora-pooling=-bf16-seed0", "pooling= has no value"),
        ("lora-r16--bf16-seed0", "it has an empty part"),
        ("lora-lr2e-04-bf16-seed0", "is not in its one spelling 'lora-lr2e-4-bf16-seed0'"),
        ("svm-C1.0-fp32-seed0", "is not in its one spelling 'svm-C1-fp32-seed0'"),
        ("lora--bf16-seed0", "is not in its one spelling 'lora-bf16-seed0'"),
    ],
)
def test_a_bad_id_is_one_line_naming_it_and_the_grammar(text, reason):
    with pytest.raises(ValueError) as error:
        CaseId.parse(text)
    message = str(error.value)
    assert f"case id {text!r}" in message and reason in message and "\n" not in message
    assert "expected METHOD[-lrNUMBER][-KEYNUMBER|-KEY=VALUE]...-PRECISION-seedN" in message


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ((("r2", 5),), "a key not ending in 0-9"),
        ((("lr", 5),), "not an identifier other than lr"),
        ((("x", "a-y2"),), "would not read back"),  # the word's "-y2" reads as a part
        ((("r", math.inf),), "a number needs a finite value"),
        ((("pooling", ""),), "has an empty value"),
    ],
)
def test_an_id_that_would_not_read_back_is_refused_when_built(parts, message):
    with pytest.raises(ValueError, match=message):
        CaseId("lora", None, parts, "fp32", 0)


def test_a_sweep_value_whose_id_would_not_read_back_is_a_sweep_error(monkeypatch):
    import rtsent.plan.sweeps
    from rtsent.plan.sweeps import SweepError, parse_sweep

    # no method takes a free word today; one that did could give a word whose "-y2" reads as a part
    monkeypatch.setattr(rtsent.plan.sweeps, "hyperparameters", lambda method: {"x": str})
    assert dict(parse_sweep({"svm": {"x": "all-linear"}})["svm"][0].params) == {"x": "all-linear"}
    with pytest.raises(SweepError, match=r"^s: \[svm\] case id 'svm-x=a-y2-fp32' would not read back"):
        parse_sweep({"svm": {"x": "a-y2"}}, source="s")


KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(lambda k: k != "lr")
NUMERIC_KEYS = st.from_regex(r"[A-Za-z_]{1,9}", fullmatch=True).filter(lambda k: k != "lr")  # as the methods' keys
NUMBERS = st.one_of(
    st.integers(-(10**6), 10**25),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([2e-4, 5e-5, 1e-3, 0.25, 1.0, 3.5e-4, 1e4, 0.1, 30.0]),
)
# Words as the methods' choices read (all-linear, query_value, SAMPLE_VOCAB, 1+2, true, None): no piece
# after a "-" reads as KEY=... or KEYNUMBER
WORDS = st.one_of(
    st.lists(st.from_regex(r"[A-Za-z_]{1,7}", fullmatch=True), min_size=1, max_size=4).map("-".join),
    st.from_regex(r"[0-9]{1,3}(-[a-z]{1,4}){0,2}", fullmatch=True),
    st.lists(st.integers(0, 99), min_size=1, max_size=3).map(tuple),
    st.booleans(),
    st.none(),
    st.sampled_from(["all-linear", "query_value", "SAMPLE_VOCAB", "attention", "cls", "mean"]),
)
PARTS = st.lists(st.one_of(st.tuples(NUMERIC_KEYS, NUMBERS), st.tuples(KEYS, WORDS)), max_size=4)
LRS = st.one_of(st.none(), st.floats(min_value=1e-9, max_value=10), st.sampled_from([2e-4, 5e-5, 1.0, 3e-1]))
METHODS = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@given(METHODS, LRS, PARTS, st.sampled_from(PRECISIONS), st.integers(0, 10**6))
def test_build_then_parse_round_trips(method, lr, parts, precision, seed):
    case = CaseId(method, lr, tuple(parts), precision, seed)
    text = case.format()
    assert CaseId.parse(text) == case and CaseId.parse(text).format() == text
    assert CaseId.parse_row(case.row) == CaseId(method, lr, tuple(parts), precision)
    assert text == with_seed(legacy_row(method, lr, parts, precision), seed)


@given(st.text(alphabet="abr=+-_0123456789e.lrfpsd", max_size=40), st.sampled_from(PRECISIONS), st.integers(0, 99))
def test_any_text_either_parses_to_itself_or_is_refused(middle, precision, seed):
    text = f"lora-{middle}-{precision}-seed{seed}"
    try:
        case = CaseId.parse(text)
    except ValueError as error:
        assert str(error).startswith(f"case id {text!r} ")
    else:
        assert case.format() == text


def test_floors_are_looked_up_by_setting_then_method():
    from rtsent.plan.floors import floor_for

    floors = {"lora-lr2e-4-target_modules=all-linear": 0.8, "lora": 0.7, "svm": 0.6}
    assert floor_for(floors, "lora-lr2e-4-target_modules=all-linear-bf16") == 0.8
    assert floor_for(floors, "lora-lr2e-5-fp32") == 0.7 and floor_for(floors, "svm-fp32") == 0.6
    assert floor_for(floors, "tfidf-C1-fp32") is None
