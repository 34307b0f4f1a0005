"""Frozen [CLS] (or mean) features of the backbone + a linear SVM: the study's exercise 1.3."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from rtsent.engine.backbones import Backbone
from rtsent.engine.callbacks import Callback
from rtsent.engine.recipe import Recipe
from rtsent.engine.workbench import Task
from rtsent.methods.base import MethodTags
from rtsent.schema.ranges import POSITIVE, Constraint


class FrozenSVM:
    tags = MethodTags(frozen_features=True, serving_shape=("standardize",))  # a frozen pass and a linear map
    parameter_ranges: ClassVar[dict[str, Constraint]] = {"C": POSITIVE}  # C = 0: no fit at all

    def __init__(
        self,
        *,
        recipe: Recipe,
        precision: str,
        seed: int,
        lr: float | None = None,
        C: float = 1.0,  # scikit-learn's name for LinearSVC's regularisation
        standardize: bool = True,
    ) -> None:
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr  # unused: kept so every method takes the same arguments
        self.C = C  # inverse regularisation strength of LinearSVC
        # StandardScaler before LinearSVC: on the quick profile as good as or slightly better than raw
        # features (val 0.708 vs 0.704; docs/results.md, "Recipes"), so it is the default.
        self.standardize = standardize

    def _features(self, task: Task, split: str) -> np.ndarray:
        return task.features(
            split, pooling=self.recipe.pooling, precision=self.precision, batch_size=self.recipe.eval_batch_size
        ).values

    def check_backbone(self, backbone: Backbone) -> None:
        """Nothing to refuse: pooled frozen features: every architecture's encoder gives them."""

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self:
        """LinearSVC on the frozen features; `callbacks` hear nothing here: no gradient steps."""
        features = self._features(task, "train")
        steps = [StandardScaler()] if self.standardize else []
        svm = LinearSVC(C=self.C, random_state=self.seed, max_iter=10_000)
        self.pipeline_ = make_pipeline(*steps, svm).fit(features, task.labels("train"))
        learned = svm.coef_.size + svm.intercept_.size
        self.parameter_counts_ = (learned, task.backbone.encoder_parameters() + learned)
        self.params_in_memory_ = self.parameter_counts_[1]  # the frozen encoder and the SVM's weights
        self.train_info_ = {"iterations": int(svm.n_iter_)}
        return self

    def predict(self, task: Task, split: str) -> np.ndarray:
        return self.pipeline_.predict(self._features(task, split))

    def predict_texts(self, task: Task, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        """(rows,) labels of new sentences: the frozen encoder runs on them (not cached), then the SVM."""
        features = task.encoder_features(
            texts, pooling=self.recipe.pooling, precision=self.precision, batch_size=batch_size
        )
        return self.pipeline_.predict(features)

    def save(self, folder: Path) -> None:
        """The SVM's weights and the scaler's statistics (`svm.safetensors`); the encoder is the base model."""
        from safetensors.numpy import save_file

        svm = self.pipeline_[-1]
        arrays = {"coef": svm.coef_, "intercept": svm.intercept_}
        if self.standardize:
            arrays |= {"scaler_mean": self.pipeline_[0].mean_, "scaler_scale": self.pipeline_[0].scale_}
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(Path(folder) / "svm.safetensors"))
