"""The cost after training: latency at batch 1, throughput, and the bytes stored per task.

Measured per case after its evaluation, outside the training window, text in and label out (the
tokenizer included: a bag-of-words method's whole cost is its vectorizer). Every method serves through
`predict_texts(task, texts, batch_size=...)`, computed from the sentences without the session's caches
(`svm` and `head` run their frozen encoder again), and stores what a task needs beside the shared base
model through `save(folder)`, as safetensors.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtsent.engine.workbench import Task
from rtsent.schema.records import encode_labels, new_mode

LATENCY_SAMPLE = 200  # validation sentences timed one at a time: the same rows for every method
WARMUP_CALLS = 10  # untimed calls first: allocator, autocast and thread-pool warm-up
# |merged − unmerged| logits allowed, per precision: fp32 sums in another order only; in bf16/fp16 the
# merged weight W + ΔW is rounded to 8 (bf16) or 11 (fp16) significant bits once, the unmerged path
# rounds W and ΔW·x apart (a few units in the last place of logits of magnitude ~1-5).
MERGE_TOLERANCE = {"fp32": 1e-4, "fp16": 5e-2, "bf16": 2.5e-1}


def latency_rows(task: Task, size: int = LATENCY_SAMPLE) -> np.ndarray:
    """The validation rows timed at batch 1: a fixed draw (seed 0), the same for every method and case."""
    rows = len(task.labels("validation"))
    return np.sort(np.random.default_rng(0).choice(rows, size=min(size, rows), replace=False))


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def latency_ms(predict_one: Callable[[str], Any], texts: Sequence[str], *, device: torch.device) -> tuple[float, float]:
    """(p50, p95) milliseconds per call of `predict_one(text)`, each call synchronized on CUDA,
    after `WARMUP_CALLS` untimed calls on the first texts."""
    for text in list(texts)[:WARMUP_CALLS]:
        predict_one(text)
    _synchronize(device)
    times = []
    for text in texts:
        started = time.perf_counter()
        predict_one(text)
        _synchronize(device)
        times.append(1000 * (time.perf_counter() - started))
    p50, p95 = np.percentile(times, [50, 95])
    return float(p50), float(p95)


def throughput(predict_all: Callable[[], np.ndarray], rows: int, *, device: torch.device) -> tuple[float, np.ndarray]:
    """(sentences per second, predictions) of one `predict_all()` over `rows` sentences."""
    _synchronize(device)
    started = time.perf_counter()
    predictions = predict_all()
    _synchronize(device)
    return rows / (time.perf_counter() - started), predictions


SPEED_FIELDS = ("latency_p50_ms", "latency_p95_ms", "throughput_sent_per_s")
SERVING_MODES = ("once", "every", "off")  # --rtsent-serving: speed once per serving shape, every case, never


def _served_logits(method: Any, task: Task, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """What serving `texts` returns: (rows, labels) logits where the method has them (the merge check
    compares them), else (rows,) labels; text in, tokenized or vectorized here."""
    if hasattr(method, "logits_texts"):
        return method.logits_texts(task, texts, batch_size=batch_size)
    return np.asarray(method.predict_texts(task, texts, batch_size=batch_size))


def _labels_of(served: np.ndarray) -> np.ndarray:
    return served.argmax(-1) if served.ndim == 2 else served


def speed(method: Any, task: Task, *, batch_size: int, prefix: str = "", timed: bool = True) -> dict[str, Any]:
    """Latency at batch 1 (p50/p95 ms over `latency_rows`) and throughput (sentences/s over the whole
    validation split at `batch_size`) of a fitted method, as record fields named with `prefix`; under
    `_{prefix}served` what the timed pass served (logits or labels). `timed=False`: the validation
    split served once, untimed, and no speed fields (the figures come from another case)."""
    texts = task.texts("validation")
    if not timed:
        return {f"_{prefix}served": _served_logits(method, task, texts, batch_size)}
    sample = [texts[i] for i in latency_rows(task)]
    p50, p95 = latency_ms(lambda text: method.predict_texts(task, [text], batch_size=1), sample, device=task.device)
    per_s, served = throughput(lambda: _served_logits(method, task, texts, batch_size), len(texts), device=task.device)
    return {
        f"{prefix}latency_p50_ms": p50,
        f"{prefix}latency_p95_ms": p95,
        f"{prefix}throughput_sent_per_s": per_s,
        f"_{prefix}served": served,  # the caller compares, then drops it
    }


def stored_bytes(method: Any) -> int:
    """Bytes of what `method.save(folder)` writes into an empty folder: what this task keeps beside the
    shared base model."""
    with tempfile.TemporaryDirectory() as scratch:
        method.save(Path(scratch))
        return sum(f.stat().st_size for f in Path(scratch).rglob("*") if f.is_file())


def merged_copy(method: Any) -> Any:
    """The fitted method with its adapters merged into the base weights (peft's `merge_and_unload`),
    on a deep copy: the method itself keeps serving its adapters."""
    merged = copy.deepcopy(method)
    merged.model_ = merged.model_.merge_and_unload()
    return merged


def merge_check(
    method: Any,
    merged: Any,
    task: Task,
    *,
    batch_size: int,
    precision: str,
    before: np.ndarray | None = None,
    after: np.ndarray | None = None,
) -> dict[str, Any]:
    """Labels and logits of the merged model against the adapters applied on the fly, on validation.
    `before` / `after`: (rows, labels) validation logits of `method` / `merged` already served (the
    speed passes'); computed here when not given."""
    texts = task.texts("validation")
    if before is None:
        before = method.logits_texts(task, texts, batch_size=batch_size)
    if after is None:
        after = merged.logits_texts(task, texts, batch_size=batch_size)
    difference = float(np.abs(before - after).max())
    mismatches = int((before.argmax(-1) != after.argmax(-1)).sum())
    return {
        "merged_label_mismatches": mismatches,
        "merged_max_logit_diff": difference,
        "merged_logit_tolerance": MERGE_TOLERANCE[precision],
        "merged_equal": mismatches == 0 and difference <= MERGE_TOLERANCE[precision],
    }


def serving_shape(method: Any, task: Task) -> tuple:
    """What a method's serving speed depends on (rtsent's key for measuring it once per shape): the base
    model, the method, its precision, the device, the evaluation batch size, the token limit and pooling,
    the validation sentences timed, and the hyperparameters its tags name in `serving_shape` (LoRA's
    `r` and `target_modules`: not its lr, seed, alpha or dropout). A method whose `serving_shape` is None is
    keyed by every hyperparameter and by the training split too (a vocabulary learned from it sets a
    bag-of-words method's cost)."""
    from rtsent.methods import method_params

    params = method_params(method)
    names = method.tags.serving_shape
    learned = () if names is not None else (task.split_hashes["train"],)
    shape = tuple((name, repr(params[name])) for name in (sorted(params) if names is None else names))
    recipe = method.recipe
    return (
        task.backbone.identity,
        type(method).__name__,
        method.precision,
        str(task.device),
        recipe.eval_batch_size,
        recipe.max_length,
        recipe.pooling,
        task.split_hashes["validation"],
        shape,
        learned,
    )


def measure_serving(
    method: Any,
    task: Task,
    *,
    precision: str,
    batch_size: int,
    evaluated: str,
    measured: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every serving figure of a fitted method as record fields (its artifacts are written to a temporary
    folder, measured and removed; `save_artifacts` keeps them).

    Fields: latency_p50_ms, latency_p95_ms (ms per sentence at batch 1), throughput_sent_per_s,
    served_matches_eval (the served labels equal `evaluated`, the validation predictions the evaluation
    recorded by encode_labels: not predicted a second time), stored_bytes,
    base_model_bytes (None without a base model), stored_share (stored / base); for a method with
    `mergeable = True` the same speed figures prefixed `merged_` and `merge_check`'s fields.

    `measured`: speed figures (SPEED_FIELDS, merged ones too) of another case of the same
    `serving_shape`, reused instead of timing again; the per-case checks (served labels, merged against
    unmerged) and stored bytes are computed either way, from one untimed pass over validation each.
    """
    timed = measured is None
    record = speed(method, task, batch_size=batch_size, timed=timed)
    served = record.pop("_served")
    record["served_matches_eval"] = encode_labels(_labels_of(served)) == evaluated
    record["stored_bytes"] = stored_bytes(method)
    base = task.workbench.base_model_bytes(task.backbone) if method.tags.uses_backbone else None
    record["base_model_bytes"] = base
    record["stored_share"] = record["stored_bytes"] / base if base else None
    if method.tags.mergeable:
        merged = merged_copy(method)
        merged_speed = speed(merged, task, batch_size=batch_size, prefix="merged_", timed=timed)
        after = merged_speed.pop("_merged_served")
        record.update(merged_speed)
        record.update(
            merge_check(method, merged, task, batch_size=batch_size, precision=precision, before=served, after=after)
        )
    if measured is not None:
        record.update(speed_figures(measured))
    return record


def speed_figures(record: dict[str, Any]) -> dict[str, Any]:
    """The speed fields of a record's serving figures (what another case of its shape may reuse)."""
    return {k: v for k, v in record.items() if k.removeprefix("merged_") in SPEED_FIELDS}


def staging_folder(target: Path) -> Path:
    """Where a case's artifacts are written before `publish` renames them to `target` (--rtsent-save's
    DIR/CASE_ID): a hidden sibling, so that an unfinished folder (a kill) never looks like a case's."""
    return target.parent / f".{target.name}.partial-{os.getpid()}"


def save_artifacts(folder: Path, method: Any, tokenizer: Any | None) -> None:
    """What a task keeps (`method.save`) and, for a method on the backbone, its tokenizer, into `folder`
    (created; an earlier unfinished one of this process is removed first)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    method.save(folder)


def publish(staging: Path, target: Path) -> None:
    """The complete case folder `staging` renamed to `target`, replacing an earlier one of the same case.
    Its files get the permissions any new file gets under the umask: safetensors writes its files 0600."""
    for path in [staging, *staging.rglob("*")]:
        os.chmod(path, new_mode(folder=path.is_dir()))
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)  # a folder cannot replace a non-empty one in one rename
        try:
            os.replace(staging, target)
        except BaseException:
            os.replace(old, target)  # the earlier case folder back where it was, not stranded under a hidden name
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def save_record(folder: Path, record: dict[str, Any]) -> None:
    """The case's record beside its artifacts (`--rtsent-save`), without the per-example predictions."""
    small = {k: v for k, v in record.items() if not k.endswith(("_predictions", "_labels")) and k != "curve"}
    (folder / "record.json").write_text(json.dumps(small, indent=1, default=str), encoding="utf-8")
