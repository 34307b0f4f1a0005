"""Hooks into a case's loops: the loops tell what happens, callbacks listen (progress, fault injection,
and later per-epoch evaluation), the way Keras and Hugging Face Trainer callbacks do.

Subclass `Callback` and override the hooks you need; every hook is a no-op by default. A hook that
raises stops the case: the runner records the exception as the case's `error` status.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Pruned(Exception):
    """Raised by a callback's `on_evaluate` to stop a case's training early (a search's pruner): the case
    ends with status `pruned`, its learning curve up to `epoch` and its training seconds recorded."""

    def __init__(self, message: str, *, epoch: float) -> None:
        super().__init__(message)
        self.epoch = epoch


class Callback:
    """No-op hooks, called in this order for a case:

    on_phase("tokenizing"), on_phase("frozen pass <split>") with on_predict_batch_end per batch (only
    when the work is not cached), on_phase("training"), on_train_begin, on_step_end per optimizer
    step, on_epoch_end per epoch (then on_evaluate where the case keeps a learning curve), on_train_end,
    on_phase("evaluating <split>") per split. `svm` trains no steps: its training phase has no step hooks.
    """

    def on_phase(self, name: str) -> None:
        """A phase of the case begins; `name` is what a person would call it ("frozen pass train")."""

    def on_train_begin(self, *, total_steps: int, steps_per_epoch: int) -> None:
        """Gradient training starts: `total_steps` optimizer steps, `steps_per_epoch` of them an epoch
        (the last epoch may be cut short by a fractional epoch count)."""

    def on_step_end(self, step: int, loss: Any, tokens: int | None) -> None:
        """After optimizer step `step` (0-based).

        `loss`: the step's detached scalar loss tensor. Reading it (`float(loss)`) makes the host
        wait for a GPU, so a callback reads it rarely, not every step. `tokens`: real (non-padding)
        tokens trained on so far in this case, or None where the loop sees no tokens (the head
        trained on frozen features).
        """

    def on_epoch_end(self, epoch: int, step: int, model: Any) -> None:
        """After epoch `epoch` (0-based) ended at global step `step` (steps done so far).

        `model`: the module being trained (for `head`, the head over frozen feature vectors), in
        train mode; a callback that evaluates it must put it back in train mode. The losses up to
        here were checked finite: a diverged run raises before this hook.
        """

    def on_evaluate(self, metrics: dict[str, Any]) -> None:
        """The learning curve evaluated the model after an epoch (rtsent.case.curves.LearningCurve): `metrics`
        is its point (`epoch`, `step`, `val_accuracy`, `test_accuracy`, ...). A callback may end training
        here by raising `Pruned` (the budgeted search's pruner, rtsent.case.trials); it must not read the
        test metrics to decide anything."""

    def on_train_end(self, step: int) -> None:
        """Gradient training finished after `step` optimizer steps."""

    def on_predict_batch_end(self, batch: int, batches: int) -> None:
        """An inference loop (the frozen pass) finished batch `batch` of `batches` (1-based)."""


class CallbackList(Callback):
    """Several callbacks called as one, in order."""

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        self.callbacks = [c for c in callbacks if c is not None]

    def on_phase(self, name: str) -> None:
        for callback in self.callbacks:
            callback.on_phase(name)

    def on_train_begin(self, *, total_steps: int, steps_per_epoch: int) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(total_steps=total_steps, steps_per_epoch=steps_per_epoch)

    def on_step_end(self, step: int, loss: Any, tokens: int | None) -> None:
        for callback in self.callbacks:
            callback.on_step_end(step, loss, tokens)

    def on_epoch_end(self, epoch: int, step: int, model: Any) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, step, model)

    def on_evaluate(self, metrics: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_evaluate(metrics)

    def on_train_end(self, step: int) -> None:
        for callback in self.callbacks:
            callback.on_train_end(step)

    def on_predict_batch_end(self, batch: int, batches: int) -> None:
        for callback in self.callbacks:
            callback.on_predict_batch_end(batch, batches)


def as_callback(callbacks: Callback | Iterable[Callback] | None) -> Callback:
    """One callback from a callback, a list of them or None (then the no-op base)."""
    if callbacks is None:
        return Callback()
    if isinstance(callbacks, Callback):
        return callbacks
    return CallbackList(callbacks)
