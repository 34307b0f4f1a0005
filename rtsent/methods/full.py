"""Full fine-tuning: every parameter of the classifier trained."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from torch import nn

from rtsent.backbones import Backbone
from rtsent.callbacks import Callback
from rtsent.methods.finetune import fit_classifier, predict_classifier
from rtsent.profiles import Recipe
from rtsent.workbench import Task


class FullFineTune:
    def __init__(self, *, recipe: Recipe, precision: str, seed: int, lr: float) -> None:
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr

    def build_model(self, backbone: Backbone) -> nn.Module:
        """The classifier as trained: every parameter trainable."""
        return backbone.new_model(seed=self.seed)

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self:
        fit_classifier(self, self.build_model(task.backbone), task, callbacks=callbacks)
        return self

    def predict(self, task: Task, split: str) -> np.ndarray:
        return predict_classifier(self, task, split)
