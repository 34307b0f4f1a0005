"""Learning curves: validation and test evaluated at the end of every epoch of a gradient-trained case.

`LearningCurve` is a callback (rtsent/engine/callbacks.py): the training loop tells it an epoch ended, it
evaluates and keeps the point. Its evaluation time is kept apart so that the runner takes it out of the
training window; evaluation consumes no random numbers, so a run with a curve trains exactly as one
without. The selection in the report (rtsent/report/selection.py) picks the number of epochs from these points
without retraining.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rtsent.case.scoring import split_scores
from rtsent.engine.callbacks import Callback
from rtsent.engine.devices import synchronize
from rtsent.schema.records import encode_labels

SPLIT_PREFIX = {"validation": "val", "test": "test"}


class LearningCurve(Callback):
    """After each epoch (a fractional last one included): accuracy, F1 and predictions on validation and test.

    `predict(split)` gives the labels the method predicts now, shape (rows,); `labels` the true ones per
    split, of `num_labels` classes (rtsent.case.scoring). `started` is the `time.perf_counter()` at which
    the training window opened: each point's `train_time_s` is the training time up to it, this curve's
    evaluations excluded. `listener` (a callback) hears each point as `on_evaluate(point)` once it is kept.
    `max_points` (the recipe's epochs, rounded up): when `Recipe.min_steps` stretched training to more
    epochs than that, every k-th epoch is evaluated (and the last), so a 16-example training set trained for
    100 one-step epochs costs the evaluations its 2 planned epochs would; None: every epoch.
    """

    def __init__(
        self,
        predict: Callable[[str], np.ndarray],
        labels: dict[str, np.ndarray],
        *,
        num_labels: int,
        device: torch.device,
        listener: Callback | None = None,
        max_points: int | None = None,
    ) -> None:
        self.predict = predict
        self.listener = listener
        self.labels = labels
        self.num_labels = num_labels
        self.device = device
        self.started = time.perf_counter()
        self.points: list[dict[str, Any]] = []
        self.eval_seconds = 0.0  # all evaluations of this curve, seconds
        self.last_predictions: dict[str, np.ndarray] = {}  # the last point's, for the record's headline
        self.last_eval_seconds = 0.0
        self.max_points = max_points
        self._per_epoch = 1
        self._total_steps = 0
        self._every = 1  # evaluate every this many epochs (and after the last step)
        self._loss: Any = None

    def on_train_begin(self, *, total_steps: int, steps_per_epoch: int) -> None:
        self._per_epoch, self._total_steps = steps_per_epoch, total_steps
        if self.max_points:
            epochs = math.ceil(total_steps / steps_per_epoch)
            self._every = max(1, math.ceil(epochs / self.max_points))

    def on_step_end(self, step: int, loss: Any, tokens: int | None) -> None:
        self._loss = loss  # kept as a tensor: read once per epoch, not once per step (a GPU sync)

    def on_epoch_end(self, epoch: int, step: int, model: Any) -> None:
        if (epoch + 1) % self._every and step < self._total_steps:
            return  # stretched by min_steps: not an epoch this curve evaluates
        synchronize(self.device)
        begin = time.perf_counter()
        train_time = begin - self.started - self.eval_seconds
        was_training = model.training
        model.eval()  # dropout off; rtsent's inference loops set it too, the head's does not
        point: dict[str, Any] = {
            "epoch": step / self._per_epoch,
            "step": step,
            "train_loss": float(self._loss) if self._loss is not None else None,
            "train_time_s": train_time,
        }
        predictions = {}
        for split, prefix in SPLIT_PREFIX.items():
            predictions[split] = np.asarray(self.predict(split))
            scores = split_scores(self.labels[split], predictions[split], num_labels=self.num_labels)
            point[f"{prefix}_accuracy"], point[f"{prefix}_f1"] = scores["accuracy"], scores["f1"]
            point[f"{prefix}_predictions"] = encode_labels(predictions[split])
        model.train(was_training)
        synchronize(self.device)
        self.last_eval_seconds = time.perf_counter() - begin
        point["eval_time_s"] = self.last_eval_seconds
        self.eval_seconds += self.last_eval_seconds
        self.last_predictions = predictions
        self.points.append(point)
        if self.listener is not None:
            # `resource`: this point's number (1, 2, ...), the pruner's unit: the epoch, unless min_steps
            # stretched training (then the epochs run are many, the points as many as planned)
            self.listener.on_evaluate({**point, "resource": len(self.points)})
