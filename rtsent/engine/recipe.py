"""The training recipe: one method's training settings (epochs, batch, schedule, lengths, pooling),
validated when built. Profiles (rtsent.plan.profiles) hold one per method.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from rtsent.schema.ranges import POSITIVE, POSITIVE_INT, Constraint, Interval, check_ranges

POOLINGS = ("cls", "mean")


@dataclass(frozen=True)
class Recipe:
    """Training settings of one method. Unused fields (e.g. `epochs` for `svm`) are ignored."""

    epochs: float = 2
    batch_size: int = 16
    weight_decay: float = 0.01
    warmup_ratio: float = 0.0  # share of all optimizer steps spent in linear warmup
    max_length: int | None = None  # tokens; None = the model's limit
    eval_batch_size: int = 256
    pooling: str = "cls"  # frozen features: "cls" (the study) or attention-masked "mean"
    length_grouped: bool = True  # batches of similar length (shuffled with the seed): less padding
    max_grad_norm: float = 1.0
    head_lr: float | None = None  # lr of the classification head in full/lora; None = the case's lr
    # optimizer steps a gradient-trained method takes at least: a small labelled set gets more epochs
    # (`steps`) rather than a handful of steps; 0: `epochs` alone decides (the profiles' recipes)
    min_steps: int = 0
    # epochs of the `epochs`-long schedule trained before stopping, the learning rate where the whole schedule
    # has it: a re-run that needs only the epoch its selection chose (`--rtsent-stop=selected`) trains the same
    # model to that epoch for less. None: the whole schedule. Not a hyperparameter: no sweep or search sets it
    stop_epochs: float | None = None
    notes: str = ""

    # The valid range of every numeric field (tests/test_sweeps.py checks that none lacks one): outside
    # them a recipe trains nonsense, e.g. max_grad_norm <= 0 (a negative clip climbs the loss, 0 trains nothing).
    ranges: ClassVar[dict[str, Constraint]] = {
        "epochs": POSITIVE,
        "batch_size": POSITIVE_INT,
        "weight_decay": Interval(float, 0),
        "warmup_ratio": Interval(float, 0, 1, closed="left"),
        "max_length": Interval(int, 2, none=True),  # [CLS] and [SEP] at least
        "eval_batch_size": POSITIVE_INT,
        "max_grad_norm": POSITIVE,
        "head_lr": Interval(float, 0, None, closed="neither", none=True),
        "min_steps": Interval(int, 0),
        "stop_epochs": Interval(float, 0, None, closed="neither", none=True),
    }

    def __post_init__(self) -> None:
        check_ranges("recipe", self.ranges, asdict(self))
        if self.pooling not in POOLINGS:
            raise ValueError(f"recipe pooling={self.pooling!r} is not one of {POOLINGS}")
        if self.stop_epochs is not None and self.stop_epochs > math.ceil(self.epochs):
            # the ceiling: a fractional schedule's last curve point (8 steps of 3 an epoch: 2.67 of 2.5) is in it
            raise ValueError(f"recipe stop_epochs={self.stop_epochs!r} is past the schedule's epochs={self.epochs!r}")
        if self.stop_epochs is not None and self.min_steps:
            # min_steps stretches the schedule to many short epochs: an epoch chosen on the whole split means nothing
            raise ValueError(f"recipe stop_epochs={self.stop_epochs!r} does not go with min_steps={self.min_steps!r}")

    def steps(self, rows: int) -> tuple[int, int]:
        """(optimizer steps per epoch, total optimizer steps) for a training split of `rows` rows: `epochs`
        epochs of ceil(rows / batch_size) steps (a fractional last epoch stops part-way), at least
        `min_steps`, at least 1."""
        per_epoch = math.ceil(rows / self.batch_size)
        return per_epoch, max(1, round(self.epochs * per_epoch), self.min_steps)

    def stop_step(self, rows: int) -> int:
        """The optimizer step training ends at: the schedule's last (`steps`), or the one `stop_epochs`
        epochs into it (at least 1)."""
        per_epoch, total = self.steps(rows)
        return total if self.stop_epochs is None else min(total, max(1, round(self.stop_epochs * per_epoch)))

    def as_dict(self) -> dict[str, Any]:
        """The fields as a record stores them; `min_steps` at 0 and `stop_epochs` at None are left out: they
        joined the recipe later, and records written before them must still resume and pool with today's
        (rtsent.schema.records; a stopped re-run pools with the whole-schedule run of its configuration)."""
        fields = asdict(self)
        if not fields["min_steps"]:
            del fields["min_steps"]
        if fields["stop_epochs"] is None:
            del fields["stop_epochs"]
        return fields
