"""Result files: pytest-benchmark JSON (or rtsent's own records file, the same shape) in and out.

No torch here: the reporter imports this module and must start quickly.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtsent.schema.caseid import CaseId

# Every status a case ends with (rtsent/case/runner.py); those that carry metrics (a case under its
# floor still measured everything).
STATUSES = ("passed", "below_floor", "pruned", "diverged", "oom", "error", "skipped")
STATUS_WITH_METRICS = ("passed", "below_floor")
# A trial the search's pruner stopped (rtsent.case.trials) has no final metrics, but its training seconds
# and its curve up to the stop are real: they count in a method's tuning cost.
STATUS_WITH_COST = (*STATUS_WITH_METRICS, "pruned")

# Fields every record carries (rtsent.case.runner.identity), with their JSON types: what places it in a table.
IDENTITY_FIELDS = {"case": str, "row": str, "profile": str, "model": str, "status": str, "seed": int}


@dataclass(frozen=True)
class Measure:
    """One measured number of a record: the range accepted (`least`, `largest`; absent, null or NaN means
    "not measured", anything else must be a finite number in range), what it is with its unit (`help`:
    the HTML report's legend of the column showing it), and whether the report's frame reads it as a
    number (`tabled`: rtsent.report.summary.case_frame)."""

    least: float
    largest: float
    help: str
    tabled: bool = True


_SHARE, _COUNT = (0, 1), (0, math.inf)
# The record's measured fields: the one list that validation (check_record), the report's numeric columns
# (rtsent.report.summary.NUMERIC) and the HTML legend (rtsent.report.html.COLUMN_HELP) read.
MEASURES: dict[str, Measure] = {
    "val_accuracy": Measure(*_SHARE, "validation accuracy"),
    "val_f1": Measure(*_SHARE, "validation F1 of the positive class (macro-F1 for more than two classes)"),
    "test_accuracy": Measure(*_SHARE, "test accuracy"),
    "test_f1": Measure(*_SHARE, "test F1 of the positive class (macro-F1 for more than two classes)"),
    "train_time_s": Measure(
        *_COUNT, "seconds in the training window (device synchronized; evaluation and frozen pass excluded)"
    ),
    "feature_time_s": Measure(
        *_COUNT, "seconds of the shared frozen pass over all splits (svm, head), paid once per session"
    ),
    "train_feature_time_s": Measure(
        *_COUNT, "seconds of the frozen pass over the training split alone (svm, head)", tabled=False
    ),
    "train_tokens_per_s": Measure(*_COUNT, "real (non-padding) training tokens a second"),
    "flops_utilization": Measure(
        *_COUNT, "6·N·tokens / train s over the calibrated dense matmul rate of this precision"
    ),
    "train_padding_share": Measure(*_SHARE, "share of the training batches' token slots that were padding"),
    "eval_time_s": Measure(*_COUNT, "seconds to predict validation and test"),
    # bytes, as their names say
    "train_cuda_max_reserved_bytes": Measure(*_COUNT, "CUDA allocator's reserved peak while training"),
    "train_cuda_max_allocated_bytes": Measure(*_COUNT, "CUDA allocator's allocated peak while training"),
    "train_peak_rss_bytes": Measure(*_COUNT, "the process's resident-set peak while training"),
    "feature_peak_rss_bytes": Measure(*_COUNT, "the process's resident-set peak in the frozen pass"),
    "trainable_params": Measure(*_COUNT, "parameters that training updates"),
    "total_params": Measure(*_COUNT, "parameters of the model as served (base, adapters, head), each once"),
    "floor": Measure(*_SHARE, "the validation accuracy the case had to reach (the CI gate); null: no gate"),
    "latency_p50_ms": Measure(
        *_COUNT, "median milliseconds per sentence at batch 1, text in, label out (200 validation sentences)"
    ),
    "latency_p95_ms": Measure(*_COUNT, "95th percentile of the same batch-1 latencies"),
    "throughput_sent_per_s": Measure(
        *_COUNT, "sentences a second over the whole validation split at the evaluation batch size"
    ),
    "merged_latency_p50_ms": Measure(
        *_COUNT, "batch-1 latency p50 after merging the adapters into the weights (LoRA, DoRA, IA³)"
    ),
    "merged_latency_p95_ms": Measure(*_COUNT, "batch-1 latency p95 after merging the adapters into the weights"),
    "merged_throughput_sent_per_s": Measure(*_COUNT, "throughput after merging the adapters into the weights"),
    "stored_bytes": Measure(
        *_COUNT, "bytes saved per task beside the shared base model (adapter + head, head, model or coefficients)"
    ),
    "base_model_bytes": Measure(*_COUNT, "the shared base model's safetensors bytes"),
    # read by the selection and the resume check from the records themselves, not as table columns
    "lr": Measure(*_COUNT, "the learning rate; null for a method without one", tabled=False),
    "case_time_s": Measure(*_COUNT, "seconds of the whole case: train, evaluate, serve, record", tabled=False),
    "serving_time_s": Measure(*_COUNT, "seconds of the case's serving phase (timed or reused)", tabled=False),
    "params_in_memory": Measure(
        *_COUNT, "every parameter held while training (peft's frozen head copy included)", tabled=False
    ),
}
# Which F1 a record's val_f1/test_f1 are (rtsent.case.scoring): class 1's for a binary task, macro for K > 2.
F1_AVERAGES = ("binary", "macro")
# Per-example labels and predictions (encode_labels), as (predictions, labels) of one split.
LABEL_PAIRS = (("val_predictions", "val_labels"), ("test_predictions", "test_labels"))
LABEL_DIGITS = "0123456789"
# A learning curve's point (rtsent/case/curves.py) as the selection reads it: the same rules as MEASURES.
CURVE_MEASURES: dict[str, Measure] = {
    **{
        key: MEASURES[key]
        for key in ("val_accuracy", "val_f1", "test_accuracy", "test_f1", "train_time_s", "eval_time_s")
    },
    "epoch": Measure(*_COUNT, "epochs trained when the point was taken"),
    "step": Measure(*_COUNT, "optimizer steps taken when the point was taken"),
}


class RecordsError(ValueError):
    """A results file that cannot be used; the message is one line."""


def encode_labels(values: Any) -> str:
    """Per-example class labels (or predictions) as a record stores them: one character per example from
    "0123456789" while every label is below 10 (the binary task's 0/1 strings, compact in JSON), else a
    JSON list of the integers ("[0,12,3]", for K > 10 classes). `decode_labels` reads either form."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"labels must be one per example (a 1-d array), not of shape {array.shape}")
    if array.size and array.dtype.kind not in "biuf":
        raise ValueError(f"labels must be non-negative integers, not {array.dtype} values")
    labels = array.astype(np.int64) if array.size else np.zeros(0, np.int64)
    if array.size and ((labels != array).any() or (labels < 0).any()):
        bad = next(v for v, w in zip(array.tolist(), labels.tolist(), strict=True) if v != w or w < 0)
        raise ValueError(f"labels must be non-negative integers, not {bad!r}")
    if not labels.size or labels.max() < len(LABEL_DIGITS):
        return (labels.astype(np.uint8) + ord("0")).tobytes().decode("ascii")
    return json.dumps(labels.tolist(), separators=(",", ":"))


def decode_labels(text: Any, name: str = "labels") -> np.ndarray:
    """The integer labels (int64, one per example) of a string `encode_labels` wrote, in either form; a
    ValueError naming the field (`name`, e.g. "val_predictions") for anything else."""
    expected = "a digit 0-9 per example, or a JSON list of non-negative integers"
    if not isinstance(text, str):
        raise ValueError(f"{name} is not a string of labels ({expected})")
    if text.startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError:
            values = None
        if not isinstance(values, list) or not all(type(v) is int and v >= 0 for v in values):
            raise ValueError(f"{name} is not a JSON list of non-negative integers")
        return np.asarray(values, dtype=np.int64)
    codes = np.frombuffer(text.encode(), np.uint8)
    bad = np.flatnonzero((codes < ord("0")) | (codes > ord("9")))
    if bad.size:
        where = len(text.encode()[: bad[0]].decode(errors="ignore"))  # the character, not the byte
        raise ValueError(f"{name} has {text[where]!r} at example {where}, which is no label ({expected})")
    return (codes - ord("0")).astype(np.int64)


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Temp file in the same folder, then rename: a crash never leaves a half-written file.

    The file gets the mode an ordinary new file would get (0o666 less the umask), or keeps the mode
    of the file it replaces; mkstemp's 0o600 would otherwise survive the rename.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise RecordsError(f"cannot write {str(target)!r}: folder {str(target.parent)!r} does not exist")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = new_mode()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())  # a full disk may accept the write into the page cache and refuse it here
        os.replace(tmp, target)
    except OSError as error:  # named by the file asked for, not by the temporary one (or by nothing: a full disk)
        Path(tmp).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror or str(error), str(target)) from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_mode(folder: bool = False) -> int:
    """The permissions an ordinary new file (0o666) or folder (0o777) gets under the process's umask
    (reading the umask means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return (0o777 if folder else 0o666) & ~mask


def read_document(path: str | Path) -> dict[str, Any]:
    """A results file's JSON: a dict with a non-empty `benchmarks` list carrying rtsent records.

    Raises `RecordsError` (one line naming the file, and the case and field where there is one) for
    anything the reporter or --rtsent-resume could not use; see `check_record`.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordsError(f"{path}: no such file") from None
    except OSError as error:  # a folder, no permission
        raise RecordsError(f"{path}: cannot read it: {error.strerror}") from None
    except (ValueError, RecursionError) as error:
        # ValueError: JSONDecodeError, UnicodeDecodeError, an integer of over 4,300 digits; RecursionError: nesting
        detail = str(error) or "nested too deep"
        raise RecordsError(f"{path}: not valid JSON (empty, truncated or not a results file): {detail}") from None
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise RecordsError(f"{path}: not a pytest-benchmark JSON file (no 'benchmarks' list)")
    if not document["benchmarks"]:
        raise RecordsError(f"{path}: the benchmark list is empty (did every case fail to collect?)")
    for key in ("machine_info", "commit_info"):
        if document.get(key) is not None and not isinstance(document[key], dict):
            raise RecordsError(f"{path}: {key} is a {type(document[key]).__name__}; expected an object")
    for key in ("rtsent", "cpu"):
        value = (document.get("machine_info") or {}).get(key)
        if value is not None and not isinstance(value, dict):
            raise RecordsError(f"{path}: machine_info.{key} is a {type(value).__name__}; expected an object")
    if not all(isinstance(b, dict) for b in document["benchmarks"]):
        raise RecordsError(f"{path}: the benchmark list holds something other than objects")
    records = records_of(document)
    if not records:
        raise RecordsError(f"{path}: none of its {len(document['benchmarks'])} benchmarks carries rtsent's records")
    for number, record in enumerate(records):
        problem = check_record(record)
        if problem:
            name = record.get("case") if isinstance(record.get("case"), str) else f"record {number}"
            raise RecordsError(f"{path}: {name}: {problem}")
    return document


def records_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        b["extra_info"]
        for b in document["benchmarks"]
        if isinstance(b, dict) and isinstance(b.get("extra_info"), dict) and "status" in b["extra_info"]
    ]


def _absent(value: Any) -> bool:
    """None or NaN (as pandas writes a missing value): not recorded."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: Any) -> float | None:
    """A checked record's number as a float; None when absent, NaN or not a number (never parsed from a string)."""
    return None if not _is_number(value) or _absent(value) else float(value)


def _in_range(value: Any, least: float, largest: float) -> bool:
    """A finite JSON number in [least, largest]; an integer too large for a float (10**400) is not."""
    try:
        return _is_number(value) and math.isfinite(value) and least <= value <= largest
    except OverflowError:
        return False


def _shown(value: Any) -> str:
    """A bad value as a message names it: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _measure_problem(key: str, value: Any, least: float, largest: float) -> str | None:
    if _absent(value) or _in_range(value, least, largest):
        return None
    accepted = f"[{least}, {largest}]" if largest < math.inf else f">= {least}"
    return f"{key}={_shown(value)} is not a number {accepted}, null or NaN"


def _labels_problem(record: dict[str, Any], prefix: str, pairs: tuple[tuple[str, str], ...]) -> str | None:
    """Predictions and labels: strings `decode_labels` reads, one split's two of one length."""
    for keys in pairs:
        lengths = []
        for key in keys:
            value = record.get(key)
            if _absent(value):
                continue
            try:
                lengths.append(len(decode_labels(value, prefix + key)))
            except ValueError as error:
                return str(error)
        if len(lengths) == 2 and lengths[0] != lengths[1]:
            return f"{prefix}{keys[0]} has {lengths[0]} examples, {keys[1]} {lengths[1]}"
    return None


def _curve_problem(record: dict[str, Any]) -> str | None:
    """A learning curve: null or a list of points, each an object whose numbers and predictions pass the
    top-level rules, its predictions as long as the record's labels."""
    curve = record.get("curve")
    if _absent(curve):
        return None
    if not isinstance(curve, list):
        return f"curve={_shown(curve)} is not a list or null"
    for number_, point in enumerate(curve):
        where = f"curve[{number_}]."
        if not isinstance(point, dict):
            return f"curve[{number_}]={_shown(point)} is not an object"
        for key, measure in CURVE_MEASURES.items():
            problem = _measure_problem(key, point.get(key), measure.least, measure.largest)
            if problem:
                return where + problem
        labelled = {**point, "val_labels": record.get("val_labels"), "test_labels": record.get("test_labels")}
        problem = _labels_problem(labelled, where, LABEL_PAIRS)
        if problem:
            return problem
    return None


def _swept_problem(swept: Any) -> str | None:
    """The values a sweep set: an object of strings, finite numbers, booleans, null or lists of those."""
    if _absent(swept):
        return None
    if not isinstance(swept, dict):
        return f"swept={_shown(swept)} is not an object or null"
    for key, value in swept.items():
        for item in value if isinstance(value, list) else [value]:
            if not (item is None or isinstance(item, str | bool) or _in_range(item, -math.inf, math.inf)):
                return f"swept.{key}={_shown(value)} is not a string, finite number, boolean, null or a list of those"
    return None


def _classes_problem(record: dict[str, Any]) -> str | None:
    """The task's classes: `label_names` a list of at least two distinct strings (older records lack it: a
    binary task); `f1_average` binary or macro; `validation_carved` a row count; the labels and predictions
    within the classes; per-class recalls one share per class."""
    names = record.get("label_names")
    if _absent(names):
        classes = None
    elif not (isinstance(names, list) and len(names) >= 2 and all(isinstance(n, str) for n in names)):
        return f"label_names={_shown(names)} is not a list of at least two strings"
    elif len(set(names)) != len(names):
        return f"label_names={_shown(names)} names a class twice"
    else:
        classes = len(names)
    if record.get("f1_average") not in (None, *F1_AVERAGES):
        return f"f1_average={_shown(record.get('f1_average'))} is not one of {', '.join(F1_AVERAGES)} or null"
    carved = record.get("validation_carved")
    if not _absent(carved) and not (type(carved) is int and carved > 0):
        return f"validation_carved={_shown(carved)} is not a positive row count or null"
    for key in ("val_recall_per_class", "test_recall_per_class"):
        value = record.get(key)
        if _absent(value):
            continue
        if not (isinstance(value, list) and all(_in_range(v, 0, 1) for v in value)):
            return f"{key}={_shown(value)} is not a list of shares in [0, 1]"
        if classes is not None and len(value) != classes:
            return f"{key} has {len(value)} values for {classes} classes (label_names)"
    if classes is not None:
        for key in (k for pair in LABEL_PAIRS for k in pair):
            if not _absent(record.get(key)):
                ids = decode_labels(record[key], key)  # readable: _labels_problem passed it
                if ids.size and int(ids.max()) >= classes:
                    return f"{key} holds class {int(ids.max())}, but label_names has {classes} classes"
    return None


def check_record(record: dict[str, Any]) -> str | None:
    """What is wrong with one record, in a few words naming the field and value; None if usable."""
    for key, kind in IDENTITY_FIELDS.items():
        value = record.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) or (kind is str and not value):
            return f"{key}={value!r} is not a{'n integer' if kind is int else ' non-empty string'}"
    if record["status"] not in STATUSES:
        return f"status={record['status']!r} is not one of {', '.join(STATUSES)}"
    if record["seed"] < 0:
        return f"seed={record['seed']!r} is negative"
    for key, measure in MEASURES.items():
        problem = _measure_problem(key, record.get(key), measure.least, measure.largest)
        if problem:
            return problem
    problem = (
        _labels_problem(record, "", LABEL_PAIRS)
        or _curve_problem(record)
        or _swept_problem(record.get("swept"))
        or _classes_problem(record)
    )
    if problem:
        return problem
    # the header reads how many workers shared the machine
    problem = _measure_problem("workers", record.get("workers"), 1, math.inf)
    if problem or (_is_number(record.get("workers")) and record["workers"] != int(record["workers"])):
        return problem or f"workers={record['workers']!r} is not a whole number"
    trial = record.get("trial")  # the search's trial index (rtsent.case.trials); absent for a grid case
    if not _absent(trial) and not (type(trial) is int and trial >= 0):
        return f"trial={_shown(trial)} is not a non-negative integer or null"
    steps = (record.get("train_info") or {}).get("steps") if isinstance(record.get("train_info"), dict) else None
    problem = _measure_problem("train_info.steps", steps, 0, math.inf)
    if problem:
        return problem
    for key, kind in (
        ("split_hashes", dict),
        ("cross_split_duplicates", dict),
        ("data_encoding", str),
        ("train_info", dict),
        ("accuracy_meaningful", bool),
        ("has_weights", bool),
        ("contended", bool),
        ("data_canonical", bool),
        ("message", str),
        ("method", str),
        ("precision", str),
        ("data", str),
        ("model_identity", str),
        ("data_columns", dict),
        ("data_config", str),
        ("f1_average", str),
        ("search", dict),
    ):
        value = record.get(key)
        if not _absent(value) and not isinstance(value, kind):
            return f"{key}={_shown(value)} is not a{'n object' if kind is dict else ' ' + kind.__name__} or null"
    return None


# What decides a case's result. An earlier record stands in for a case only when every one of these
# matches (dotted: a field inside `machine`); the floor only judges a result, so a reused record is
# judged again against today's floor.
RESUME_KEYS = (
    "profile",
    "method",
    "lr",
    "precision",
    "seed",
    "model",
    "data",
    "max_train",
    "per_class",
    "validation_split",
    "lora_targets_option",
    "model_identity",
    "split_hashes",
    "recipe",
    "method_params",
    "device",
    "machine.device_name",
    "machine.torch",
    "machine.transformers",
    "machine.peft",
    "machine.datasets",
    "machine.scikit-learn",
)


def resume_mismatch(previous: dict[str, Any], current: dict[str, Any]) -> str | None:
    """Why `previous` (an earlier record of the same case id) cannot stand in for the case `current`
    describes (`rtsent.case.runner.case_inputs`), e.g. "split_hashes.train differs (old 481cc37ac8fd, now
    5bab47e1645c)"; None when it can: it passed, and everything in RESUME_KEYS matches."""
    if previous.get("status") not in STATUS_WITH_METRICS:
        return f"earlier status {previous.get('status')!r}"
    for key in ("case_time_s", "val_accuracy"):  # the benchmark time to carry over, the floor's measure
        if not _is_number(previous.get(key)) or math.isnan(previous[key]):
            return f"earlier record has no {key}"
    current = json.loads(json.dumps(current, default=str))  # compared as the record stores it
    differences: list[str] = []
    for key in RESUME_KEYS:
        old, new = _dig(previous, key), _dig(current, key)
        if old is _MISSING and new is None:  # a field added since: null is what the older record meant
            continue
        differences += _differences(key, old, new)
    return "; ".join(differences) or None


# What must agree for records of one row to be pooled as seeds of one experiment (files merged from
# shards, hosts or days): the inputs, not where or when they ran.
POOL_KEYS = (
    "model_identity",
    "split_hashes",
    "recipe",
    "method_params",
    "machine.torch",
    "machine.transformers",
    "machine.peft",
    "machine.datasets",
    "machine.scikit-learn",
)


def configuration_row(record: dict[str, Any]) -> str | None:
    """The row of the configuration a record trained. A search trial's own row names its index
    (`lora-trial3-bf16`, rtsent.case.trials); its drawn values give the row that a re-run of it on more seeds
    (`--rtsent-sweep=selected:FILE`) has, `lora-lr0.000856-r8-bf16`: the selection (rtsent.report.selection)
    pools the trial's seed with the re-run's, and `pooling_error` checks them as one experiment. Any other
    record's row is its configuration's already."""
    if record.get("trial") is None:
        return record.get("row")
    swept = tuple((record.get("swept") or {}).items())  # CaseId writes a JSON list as a tuple ("1+2")
    try:
        return CaseId(record.get("method"), number(record.get("lr")), swept, record.get("precision")).row
    except (TypeError, ValueError):  # a trial record without what names its configuration: its own row
        return record.get("row")


def pooling_error(records: list[dict[str, Any]]) -> str | None:
    """Why these records (each with its `file`) cannot be reported together, or None: the same case
    twice, or records of one row (`configuration_row`: a search trial and its re-runs are one) whose inputs
    differ (POOL_KEYS; a field a record lacks is not compared)."""
    cases: dict[tuple, dict[str, Any]] = {}
    rows: dict[tuple, dict[str, dict[str, Any]]] = {}  # row -> field -> the first record that has it
    for record in records:
        key = (record.get("profile"), record.get("model"), record.get("case"))
        if key in cases:
            where = f"{cases[key].get('file')} and {record.get('file')}"
            return (
                f"case {record.get('case')!r} appears twice ({where}); give each case once "
                f"(to compare two runs of it, pass one with --baseline)"
            )
        cases[key] = record
        row = configuration_row(record)
        firsts = rows.setdefault((record.get("profile"), record.get("model"), row), {})
        for field in POOL_KEYS:
            new = _dig(record, field)
            if _unrecorded(new):
                continue  # not recorded (an older file, a case that failed early): nothing to compare
            first = firsts.setdefault(field, record)
            differences = [d for d in _differences(field, _dig(first, field), new) if "missing" not in d]
            differences = [d for d in differences if not d.startswith("recipe.notes ")]  # free text
            # the size axis draws its examples anew for every seed (rtsent.data.draws): seeds differ there
            drawn = ("split_hashes.train ",) if record.get("per_class") is not None else ()
            drawn += ("split_hashes.validation ",) if record.get("validation_split") == "drawn" else ()
            differences = [d for d in differences if not d.startswith(drawn)] if drawn else differences
            if differences:
                detail = differences[0].replace("(old ", f"({first.get('case')} in {first.get('file')}: ")
                detail = detail.replace(", now ", f"; {record.get('case')} in {record.get('file')}: ")
                return (
                    f"row {row!r} pools cases that are not the same experiment: {detail}; "
                    f"report them apart or run them again alike"
                )
    return None


_MISSING = object()


def _unrecorded(value: Any) -> bool:
    return value is _MISSING or value is None or (isinstance(value, float) and math.isnan(value))


def _dig(record: dict[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
    return value


def _differences(key: str, old: Any, new: Any) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            d
            for name in sorted({*old, *new})
            for d in _differences(f"{key}.{name}", old.get(name, _MISSING), new.get(name, _MISSING))
        ]
    if old == new:
        return []
    return [f"{key} differs (old {_short(old)}, now {_short(new)})"]


def _short(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    if isinstance(value, str) and len(value) >= 32 and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a sha256: its first 12 hex digits tell two apart
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def records_text(records: list[dict[str, Any]], machine_info: dict[str, Any]) -> str:
    """rtsent's own results file (pytest-benchmark's shape, records only) as JSON text."""
    document = {
        "machine_info": machine_info,
        "benchmarks": [{"name": f"test_method[{r['case']}]", "extra_info": r} for r in records],
    }
    return json.dumps(document, default=str)


def write_records(path: str | Path, records: list[dict[str, Any]], machine_info: dict[str, Any]) -> None:
    """rtsent's own results file, rewritten atomically after every case: survives a kill -9."""
    write_atomic(path, records_text(records, machine_info))


def record_key(record: dict[str, Any]) -> tuple[Any, Any, Any]:
    """What one record stands for in a results file: a later record with the same key replaces it."""
    return record.get("profile"), record.get("model"), record.get("case")
