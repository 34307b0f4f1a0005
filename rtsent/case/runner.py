"""One benchmark case: train, evaluate, measure, judge against the floor, and return a record.

A case never raises for a failure of its own: the record carries the status (`passed`,
`below_floor`, `pruned`, `diverged`, `oom`, `error`, `skipped`) and the message, so a grid goes on.
"""

from __future__ import annotations

import gc
import math
import shutil
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtsent.case.curves import SPLIT_PREFIX, LearningCurve
from rtsent.case.scoring import f1_average, split_scores
from rtsent.case.serving import (
    SERVING_MODES,
    measure_serving,
    publish,
    save_artifacts,
    save_record,
    serving_shape,
    speed_figures,
    staging_folder,
)
from rtsent.engine.callbacks import Callback, Pruned, as_callback
from rtsent.engine.devices import resolve_precision
from rtsent.engine.measuring import measure
from rtsent.engine.training import Diverged
from rtsent.engine.workbench import Workbench
from rtsent.methods import TAKES_LR, get_method, method_params
from rtsent.plan.cases import CaseConfig
from rtsent.schema.records import encode_labels


@dataclass
class CaseResult:
    status: str
    message: str = ""
    record: dict[str, Any] = field(default_factory=dict)


def identity(config: CaseConfig, workbench: Workbench) -> dict[str, Any]:
    return {
        **identity_fields(config),
        "device": str(workbench.device),
        "machine": workbench.facts,  # device name, torch/transformers/peft/datasets/sklearn versions
    }


def identity_fields(config: CaseConfig) -> dict[str, Any]:
    """What the case's configuration alone says about it (no workbench needed: a dead worker's case)."""
    return {
        "case": config.case_id,
        "row": config.row,
        "profile": config.profile,
        "method": config.method,
        "lr": config.lr,
        "precision": config.precision,
        "seed": config.seed,
        "model": config.model,
        "data": config.data.source,
        "data_columns": {"text": config.data.text_column, "label": config.data.label_column},
        "data_config": config.data.config_name,
        "max_train": config.max_train,
        # the labelled-set size axis (rtsent.data.draws): examples per class drawn with the seed; null: all
        "per_class": config.per_class,
        # "drawn": validation cut to per_class too (true few-shot); null: no size (the source's split)
        "validation_split": config.validation if config.per_class is not None else None,
        "recipe": config.recipe.as_dict(),
        "swept": dict(config.swept),  # the values a sweep set (lr apart), as the case id names them
        "floor": config.floor,
        # --rtsent-target-modules: what LoRA/DoRA adapt instead of the architecture's query/value; null: not set
        "lora_targets_option": list(config.lora_targets) or None,
    }


def case_inputs(config: CaseConfig, workbench: Workbench) -> dict[str, Any]:
    """Everything that decides a case's result, as its record states it (what --rtsent-resume compares:
    `rtsent.schema.records.resume_mismatch`). The model and data come from the workbench's caches."""
    _, hashes = workbench.splits(config.data, config.max_train, config.draw)
    backbone = workbench.task_backbone(config.model, config.data, lora_targets=config.lora_targets)
    method = get_method(config.method)(
        recipe=config.recipe, precision=config.precision, seed=config.seed, lr=config.lr, **dict(config.params)
    )
    return {
        **identity(config, workbench),
        "model_identity": backbone.identity,
        "split_hashes": hashes,
        "method_params": method_params(method),
    }


def judge(record: dict[str, Any], config: CaseConfig) -> tuple[str, str]:
    """(status, message) of a measured record against the case's floor; no floor for random weights."""
    if record.get("accuracy_meaningful") is False:
        return "passed", "random weights: accuracy not meaningful, no floor applied"
    if config.floor is not None and record["val_accuracy"] < config.floor:
        gap = record["val_accuracy"] - config.floor
        return (
            "below_floor",
            f"{config.case_id}: val accuracy {record['val_accuracy']:.4f} < floor {config.floor:.4f} (gap {gap:+.4f})",
        )
    return "passed", ""


def run_case(
    config: CaseConfig,
    *,
    workbench: Workbench,
    callbacks: Sequence[Callback] = (),
    save_to: Path | None = None,
    serving: str = "once",
) -> CaseResult:
    """Run one case to its record. Exceptions become statuses; nothing is raised for them.

    `callbacks` (rtsent.engine.callbacks) hear the case's phases and its training loop; one that raises
    ends the case with status `error`. `case_time_s` is the whole case's wall time, in seconds: what
    the benchmark times, kept so that a resumed case can carry it. After evaluation the serving cost
    is measured (rtsent.case.serving); `save_to` keeps the case's artifacts and record there: written to a
    staging folder, renamed to `save_to` once complete (a save that fails or is cut off leaves nothing
    there; the record's `serving_error` says why). `serving` (SERVING_MODES): "once" times latency and
    throughput in the first case of each serving shape of the session (`rtsent.case.serving.serving_shape`)
    and reuses those figures in the others, "every" times them in every case, "off" measures no
    serving figure; the record's `serving_measured_in` names the case whose run timed them.
    """
    if serving not in SERVING_MODES:
        raise ValueError(f"serving={serving!r} is not one of {', '.join(SERVING_MODES)}")
    started = time.perf_counter()
    staging = None if save_to is None else staging_folder(save_to)
    try:
        result = _run_case(config, workbench, as_callback(callbacks), staging, serving)
        result.record["case_time_s"] = time.perf_counter() - started
        if save_to is not None and staging.is_dir():  # the artifacts are complete: a failed save removed it
            try:
                save_record(staging, result.record)
                publish(staging, save_to)
            except OSError as error:
                _serving_error(result.record, f"artifacts not saved to {str(save_to)!r}: {_one_line(error)}")
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)  # Ctrl-C, a failed save: no half-written folder stays
    return result


def _run_case(
    config: CaseConfig, workbench: Workbench, hooks: Callback, save_to: Path | None, serving: str
) -> CaseResult:
    record = identity(config, workbench)
    if workbench.device.type == "cuda":
        gc.collect()  # an earlier case's failure (e.g. out of memory) may still hold blocks
        torch.cuda.empty_cache()
    _, reason = resolve_precision(config.precision, workbench.device)
    runs_in = get_method(config.method).tags.precisions
    if not reason and runs_in is not None and config.precision not in runs_in:
        reason = f"method {config.method!r} runs in {', '.join(runs_in)} only, not {config.precision}"
    if reason:
        return _finish(record, "skipped", reason)
    train_window = curve = None
    try:
        task = workbench.task(
            model=config.model,
            data=config.data,
            max_train=config.max_train,
            max_length=config.recipe.max_length,
            lora_targets=config.lora_targets,
            callbacks=[hooks],
            draw=config.draw,
        )
        backbone = task.backbone
        record.update(
            model_identity=backbone.identity,
            has_weights=backbone.has_weights,
            model_type=backbone.model_type,
            split_hashes=task.split_hashes,
            data_canonical=task.data_canonical,  # full splits hash as the canonical Rotten Tomatoes splits
            data_encoding=task.data_encoding,  # how the text files were decoded; None for a hub dataset
            cross_split_duplicates=task.cross_split_duplicates,  # texts shared by two full splits, per pair
            train_rows=len(task.splits["train"]),
            validation_rows=len(task.splits["validation"]),
            head_replaced=list(backbone.head_replaced),
            label_names=list(task.label_names),  # class id -> name: what the labels and predictions mean
            f1_average=f1_average(task.num_labels),  # which F1 val_f1/test_f1 are (rtsent.case.scoring)
            validation_carved=task.carved_validation,  # rows carved from train (seed 0); None: the source's
            lora_targets=list(backbone.lora_targets),
        )
        method = get_method(config.method)(
            recipe=config.recipe, precision=config.precision, seed=config.seed, lr=config.lr, **dict(config.params)
        )
        record["method_params"] = method_params(method)
        method.check_backbone(backbone)  # the session checked it at start; a case run alone checks it here
        if method.tags.frozen_features:  # the shared frozen pass, timed apart from training
            features = [
                task.features(
                    s,
                    pooling=config.recipe.pooling,
                    precision=config.precision,
                    batch_size=config.recipe.eval_batch_size,
                    callbacks=[hooks],
                )
                for s in ("train", "validation", "test")
            ]
            record["feature_time_s"] = sum(f.seconds for f in features)
            # the training split's share: what fitting costs (validation and test are evaluation), e.g. at
            # a labelled-set size (rtsent.report.sizes), where it is the one pass each draw pays
            record["train_feature_time_s"] = features[0].seconds
            record["feature_tokens"] = sum(f.tokens.real for f in features)
            record["feature_padding_share"] = 1 - record["feature_tokens"] / max(
                1, sum(f.tokens.slots for f in features)
            )
            record["feature_peak_rss_bytes"] = max(f.peak_rss_bytes or 0 for f in features)
        # Gradient-trained methods evaluate after every epoch (the learning curve), outside train_time_s.
        curve = (
            LearningCurve(
                lambda split: method.predict(task, split),
                _labels(task),
                num_labels=task.num_labels,
                device=workbench.device,
                listener=hooks,  # a search's pruner hears each epoch's validation accuracy
                max_points=math.ceil(config.recipe.epochs),  # as many as planned when min_steps adds epochs
            )
            if config.method in TAKES_LR
            else None
        )
        hooks.on_phase("training")
        with measure(workbench.device) as train_window:
            if curve is not None:
                curve.started = time.perf_counter()
            method.fit(task, callbacks=[hooks, curve] if curve is not None else [hooks])
        record.update(_window("train", train_window))
        if curve is not None:
            record.update(train_time_s=train_window.seconds - curve.eval_seconds, curve=curve.points)
        trainable, total = method.parameter_counts_
        record.update(
            trainable_params=trainable,
            total_params=total,  # the model as served: base + adapters + trained head, each once
            trainable_share=trainable / total,
            params_in_memory=method.params_in_memory_,  # with peft's frozen copy of the head
        )
        record["train_info"] = dict(method.train_info_)
        _flops(record, workbench, config)
        _evaluate(record, method, task, curve, hooks)
        _serve(record, method, task, config, hooks, save_to, serving)
    except Pruned as error:  # a search's pruner stopped it: what it cost and its curve so far are the record
        record.update(_window("train", train_window))
        record.update(train_time_s=train_window.seconds - curve.eval_seconds, curve=curve.points)
        record.update({f"{SPLIT_PREFIX[split]}_labels": encode_labels(y) for split, y in curve.labels.items()})
        return _finish(record, "pruned", str(error))
    except Diverged as error:
        record["diverged_step"] = error.step
        return _finish(record, "diverged", str(error), train_window)
    except torch.OutOfMemoryError as error:
        first_line = (str(error).splitlines() or [""])[0]
        message = f"out of memory at batch size {config.recipe.batch_size}: {first_line}"
        return _finish(record, "oom", message, train_window)
    except Exception as error:  # a failing case is data: record it and let the grid go on
        record["traceback"] = traceback.format_exc(limit=8)
        return _finish(record, "error", f"{type(error).__name__}: {error}".splitlines()[0], train_window)
    # a bag-of-words method never reads the backbone's weights: its accuracy means something regardless
    record["accuracy_meaningful"] = backbone.has_weights or not method.tags.uses_backbone
    return _finish(record, *judge(record, config))


def _serve(
    record: dict[str, Any],
    method: Any,
    task: Any,
    config: CaseConfig,
    hooks: Callback,
    save_to: Path | None,
    serving: str,
) -> None:
    """The serving figures (rtsent.case.serving), measured after evaluation; with `serving="once"` the speed
    figures of an earlier case of the same shape (kept by the workbench) are reused. A failure here (a
    merge, a full disk) is recorded as `serving_error` and does not undo the case's metrics or verdict."""
    record["serving_mode"] = serving
    if serving != "off":
        hooks.on_phase("serving")
        started = time.perf_counter()
        try:
            shape = serving_shape(method, task)
            earlier = task.workbench.serving_figures(shape) if serving == "once" else None
            measured = None if earlier is None else earlier[0]
            record.update(
                measure_serving(
                    method,
                    task,
                    precision=config.precision,
                    batch_size=config.recipe.eval_batch_size,
                    evaluated=record["val_predictions"],
                    measured=measured,
                )
            )
            record["serving_measured_in"] = config.case_id if earlier is None else earlier[1]
            record["serving_reused"] = earlier is not None
            if earlier is None:
                task.workbench.keep_serving_figures(shape, speed_figures(record), config.case_id)
            record["serving_time_s"] = time.perf_counter() - started  # the whole phase, checks included
        except torch.OutOfMemoryError:
            raise  # the device, not serving, is out of room: the case's `oom` status says so
        except Exception as error:
            _serving_error(record, _one_line(error))
    if save_to is not None:  # after the figures: a save that fails (a full disk) keeps them
        try:
            save_artifacts(save_to, method, task.backbone.tokenizer if method.tags.uses_backbone else None)
        except Exception as error:
            shutil.rmtree(save_to, ignore_errors=True)
            _serving_error(record, f"artifacts not saved: {_one_line(error)}")


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


def _serving_error(record: dict[str, Any], text: str) -> None:
    """`serving_error`: what went wrong after evaluation (several things: joined by "; ")."""
    record["serving_error"] = "; ".join(filter(None, (record.get("serving_error"), text)))


def _labels(task: Any) -> dict[str, np.ndarray]:
    return {split: task.labels(split) for split in ("validation", "test")}


def _evaluate(record: dict[str, Any], method: Any, task: Any, curve: LearningCurve | None, hooks: Callback) -> None:
    """The headline metrics: the final model's predictions on validation and test. A curve that ended at
    the last step already holds them (inference is deterministic), so they are not computed twice."""
    final = curve is not None and curve.points and curve.points[-1]["step"] == method.train_info_.get("steps")
    started = time.perf_counter()
    for split, labels in _labels(task).items():
        if final:
            predictions = curve.last_predictions[split]
        else:
            hooks.on_phase(f"evaluating {split}")
            predictions = method.predict(task, split)
        prefix = SPLIT_PREFIX[split]
        scores = split_scores(labels, predictions, num_labels=task.num_labels)
        record[f"{prefix}_accuracy"], record[f"{prefix}_f1"] = scores["accuracy"], scores["f1"]
        record[f"{prefix}_recall_per_class"] = scores["recall_per_class"]
        record[f"{prefix}_predictions"] = encode_labels(predictions)
        record[f"{prefix}_labels"] = encode_labels(labels)
    record["eval_time_s"] = curve.last_eval_seconds if final else time.perf_counter() - started


def _window(prefix: str, window: Any) -> dict[str, Any]:
    return {
        f"{prefix}_time_s": window.seconds,
        f"{prefix}_peak_rss_bytes": window.peak_rss_bytes,
        f"{prefix}_cuda_max_allocated_bytes": window.cuda_max_allocated_bytes,
        f"{prefix}_cuda_max_reserved_bytes": window.cuda_max_reserved_bytes,
    }


def _flops(record: dict[str, Any], workbench: Workbench, config: CaseConfig) -> None:
    """Tokens/s and achieved FLOP/s (≈ 6·N·tokens for training) against this machine's matmul peak."""
    info, seconds = record["train_info"], record["train_time_s"]
    if "train_tokens" not in info or seconds <= 0:
        return
    achieved = 6 * info["flop_parameters"] * info["train_tokens"] / seconds
    attainable = workbench.attainable_flops(config.precision)
    record.update(
        train_tokens_per_s=info["train_tokens"] / seconds,
        train_padding_share=info["train_padding_share"],
        achieved_flops=achieved,
        attainable_flops=attainable,
        flops_utilization=achieved / attainable,
    )


def _finish(record: dict[str, Any], status: str, message: str = "", window: Any = None) -> CaseResult:
    if window is not None and "train_time_s" not in record:
        record.update(_window("train", window))
    record.update(status=status, message=message)
    return CaseResult(status, message, record)
