"""What a method is and what it provides: the `Method` protocol and `MethodTags`.

A method declares what it is once, as the class attribute `tags` (scikit-learn's `Tags` idea): the runner,
serving, the xdist grouping, the profiles and the contract test read these fields and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self

import numpy as np

from rtsent.engine.backbones import Backbone
from rtsent.engine.callbacks import Callback
from rtsent.engine.workbench import Task


@dataclass(frozen=True, kw_only=True)
class MethodTags:
    """What a method is. Checked when built: a method that reads frozen features or trains through the
    backbone uses it; one trained through it takes a learning rate.

    - `uses_backbone`: reads token ids through the transformer (False: the sentences' words, no transformer;
      its accuracy means something on random weights and it stores no tokenizer).
    - `frozen_features`: reads the shared frozen pass's pooled features (rtsent.engine.workbench), which the
      runner times apart from training and pytest-xdist's loadgroup keeps on one worker.
    - `trains_backbone`: gradients run through the backbone (full fine-tuning, the adapters, BitFit); the
      `quick` and `tune` profiles give these more epochs (3 and 4), and a new one takes LoRA's recipe.
    - `takes_lr`: trained by gradient descent: `lr` has no default in `__init__` (the contract test checks).
    - `mergeable`: peft folds the adapters into the base weights (`merge_and_unload`), so serving is also
      timed merged.
    - `serving_shape`: the `__init__` hyperparameters that set serving speed (LoRA's `r`, `target_modules`);
      None: every hyperparameter and the training split (a learned vocabulary sets a bag-of-words cost).
    - `precisions`: the precisions it runs in (None: every one the device runs); a case in another is
      skipped with the reason, as one the device cannot run is (never run in fp32 instead).
    """

    uses_backbone: bool = True
    frozen_features: bool = False
    trains_backbone: bool = False
    takes_lr: bool = False
    mergeable: bool = False
    serving_shape: tuple[str, ...] | None = None
    precisions: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if (self.frozen_features or self.trains_backbone or self.mergeable) and not self.uses_backbone:
            raise ValueError(f"{self}: frozen_features, trains_backbone and mergeable need uses_backbone")
        if self.trains_backbone and not self.takes_lr:
            raise ValueError(f"{self}: a method trained through the backbone takes a learning rate")
        if self.frozen_features and self.trains_backbone:
            raise ValueError(f"{self}: frozen features and training through the backbone exclude each other")


class Method(Protocol):
    """After `fit`: `parameter_counts_` = (trainable, total) of the model as served (base model +
    adapters + trained head, each counted once: `rtsent.engine.backbones.count_parameters`),
    `params_in_memory_` = every parameter held while training (peft's frozen head copy included),
    `train_info_` = what training measured. `fit` passes `callbacks` (rtsent.engine.callbacks) to its
    training loop; `predict(task, split)` gives (rows,) integer labels.
    """

    tags: MethodTags
    parameter_counts_: tuple[int, int]
    params_in_memory_: int
    train_info_: dict

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self: ...

    def predict(self, task: Task, split: str) -> np.ndarray: ...

    def check_backbone(self, backbone: Backbone) -> None:
        """Raise `rtsent.engine.backbones.BackboneSourceError` (one line) when this method, with these
        hyperparameters, cannot run on `backbone`'s architecture: called once at session start."""
