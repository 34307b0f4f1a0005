"""Full fine-tuning: every parameter of the classifier trained."""

from __future__ import annotations

from typing import Self

import numpy as np

from rtsent.backbones import count_parameters
from rtsent.methods.finetune import fit_classifier, predict_classifier
from rtsent.profiles import Recipe
from rtsent.workbench import Task


class FullFineTune:
    def __init__(self, *, recipe: Recipe, precision: str, seed: int, lr: float) -> None:
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr

    def fit(self, task: Task) -> Self:
        model = task.backbone.new_model(seed=self.seed)
        self.parameter_counts_ = count_parameters(model)
        self.train_info_ = fit_classifier(
            model, task, recipe=self.recipe, lr=self.lr, precision=self.precision, seed=self.seed
        )
        self.model_ = model
        return self

    def predict(self, task: Task, split: str) -> np.ndarray:
        return predict_classifier(self.model_, task, split, recipe=self.recipe, precision=self.precision)
