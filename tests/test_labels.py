"""Per-example labels and predictions: encoded and decoded in one place (rtsent.schema.records), every committed
string read back."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtsent.report.summary import correct
from rtsent.schema.records import check_record, decode_labels, encode_labels, read_document, records_of

RESULTS = Path(__file__).resolve().parent.parent / "results"
# every pytest-benchmark document committed (the plain Trainer reference's own files beside them are not)
DOCUMENTS = [p for p in sorted(RESULTS.glob("**/*.json")) if "benchmarks" in json.loads(p.read_text(encoding="utf-8"))]
COMMITTED = [r for path in DOCUMENTS for r in records_of(read_document(path))]
# a binary record from before issue 21 (no label_names): the records the checks must still pass
BINARY = next(r for r in COMMITTED if "label_names" not in r)
FIELDS = ("val_predictions", "val_labels", "test_predictions", "test_labels")


def legacy_bits(values):
    """rtsent.curves.bits (removed; before issue 24), which wrote every committed string: the binary reference."""
    return "".join("1" if v else "0" for v in np.asarray(values).tolist())


def test_every_committed_string_decodes_to_its_labels_and_encodes_back():
    """Binary files (all before issue 21, no label_names) as the old 0/1 bit strings; K-class ones within K."""
    strings = 0
    for record in COMMITTED:
        classes = len(record.get("label_names") or ("neg", "pos"))
        labels = {k: decode_labels(record[k], k) for k in ("val_labels", "test_labels")}
        for point in [record, *(record.get("curve") or [])]:
            for field in FIELDS:
                if isinstance(point.get(field), str):
                    decoded = decode_labels(point[field], field)
                    assert set(decoded.tolist()) <= set(range(classes)) and len(decoded) == len(
                        labels[field.split("_")[0] + "_labels"]
                    )
                    assert encode_labels(decoded) == point[field]
                    assert classes > 2 or point[field] == legacy_bits(decoded)
                    strings += 1
    assert strings > 4000


@pytest.mark.parametrize(
    "values", [[0, 1, 1, 0], np.array([1, 0], np.int64), np.array([True, False]), np.array([1.0, 0.0]), []]
)
def test_binary_labels_are_the_0_1_strings_of_before(values):
    assert encode_labels(values) == legacy_bits(values)
    assert decode_labels(encode_labels(values)).tolist() == np.asarray(values, dtype=np.int64).tolist()


def test_k_classes_below_ten_are_digits_and_more_a_json_list():
    assert encode_labels([0, 3, 9, 2]) == "0392"
    assert encode_labels([0, 12, 3]) == "[0,12,3]"
    assert decode_labels("[0,12,3]").tolist() == [0, 12, 3] and decode_labels("[1,0]").tolist() == [1, 0]
    assert decode_labels("0392").dtype == np.int64 and decode_labels("[]").size == 0
    assert correct("[0,12,3]", "[0,11,3]").tolist() == [True, False, True]
    assert correct("0392", "[0,3,9,1]").tolist() == [True, True, True, False]  # forms may differ
    assert correct("01", "011").size == 0 and correct(None, "01").size == 0


@given(st.lists(st.integers(0, 40), max_size=50))
def test_encode_then_decode_round_trips(values):
    text = encode_labels(values)
    assert decode_labels(text).tolist() == values
    assert text.startswith("[") == any(v >= 10 for v in values)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("01x1", "val_predictions has 'x' at example 2, which is no label (a digit 0-9 per example, or a JSON list"),
        ("0é1", "val_predictions has 'é' at example 1, which is no label"),
        ("01 ", "val_predictions has ' ' at example 2, which is no label"),
        ("[1,-2]", "val_predictions is not a JSON list of non-negative integers"),
        ("[1,true]", "val_predictions is not a JSON list of non-negative integers"),
        ("[1,", "val_predictions is not a JSON list of non-negative integers"),
        (5, "val_predictions is not a string of labels"),
    ],
)
def test_a_string_that_holds_no_labels_names_the_field(text, message):
    with pytest.raises(ValueError) as error:
        decode_labels(text, "val_predictions")
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(("values", "message"), [([0.5], "not 0.5"), ([-1], "not -1"), (["a"], "not <U1 values")])
def test_labels_that_are_no_class_indices_are_refused(values, message):
    with pytest.raises(ValueError, match=f"labels must be non-negative integers, {message}"):
        encode_labels(values)


def test_a_record_with_a_bad_string_names_the_field_and_k_class_records_pass():
    record = {k: v for k, v in BINARY.items() if k != "curve"}
    assert check_record(record) is None
    assert check_record({**record, "val_labels": "01x"}).startswith("val_labels has 'x' at example 2")
    n = len(decode_labels(record["test_labels"]))
    k_class = {**record, "test_labels": encode_labels([12] * n), "test_predictions": "3" * n}
    assert check_record(k_class) is None
    short = {**record, "test_predictions": encode_labels([12] * (n - 1))}
    assert check_record(short) == f"test_predictions has {n - 1} examples, test_labels {n}"
    curve = {**record, "curve": [{"epoch": 1, "val_predictions": "2z"}]}
    assert check_record(curve).startswith("curve[0].val_predictions has 'z' at example 1")


def test_a_record_states_its_classes_and_they_bound_its_labels():
    """label_names, f1_average, per-class recall and validation_carved are checked with the labels they
    describe; an old record (no label_names) is a binary task and still passes."""
    record = {k: v for k, v in BINARY.items() if k != "curve"}
    assert "label_names" not in record and check_record(record) is None
    n = len(decode_labels(record["test_labels"]))
    three = {
        **record,
        "label_names": ["mixed", "negative", "positive"],
        "f1_average": "macro",
        "test_labels": encode_labels([2] * n),
        "test_recall_per_class": [0.0, 0.5, 1.0],
        "validation_carved": 853,
    }
    assert check_record(three) is None
    assert check_record({**three, "test_predictions": encode_labels([3] * n)}) == (
        "test_predictions holds class 3, but label_names has 3 classes"
    )
    assert check_record({**three, "label_names": ["a", "a", "b"]}).startswith("label_names=")
    assert check_record({**three, "label_names": ["only"]}).startswith("label_names=")
    assert check_record({**three, "f1_average": "micro"}).startswith("f1_average='micro' is not one of binary, macro")
    assert check_record({**three, "test_recall_per_class": [0.5, 1.0]}) == (
        "test_recall_per_class has 2 values for 3 classes (label_names)"
    )
    assert check_record({**three, "test_recall_per_class": [0.5, 1.0, 1.5]}).startswith("test_recall_per_class=")
    assert check_record({**three, "validation_carved": 0}).startswith("validation_carved=0 is not a positive")
