"""Head-only fine-tuning: the backbone frozen, the model's own classification head trained.

The frozen backbone's outputs never change, so they are computed once (shared with `svm`) and the
head trains on them: seconds per epoch instead of minutes. That drops the backbone's dropout,
which a head trained through the frozen model would see (recorded in the recipe's notes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
import torch
from torch import nn

from rtsent.engine.backbones import (
    VECTOR_HEAD_TYPES,
    Backbone,
    BackboneSourceError,
    count_parameters,
    freeze_encoder,
    parameters_in_memory,
    vector_head,
)
from rtsent.engine.callbacks import Callback, as_callback
from rtsent.engine.devices import autocast
from rtsent.engine.recipe import Recipe
from rtsent.engine.training import Diverged, make_optimizer
from rtsent.engine.workbench import Task
from rtsent.methods.base import MethodTags


class FrozenHead:
    tags = MethodTags(frozen_features=True, takes_lr=True, serving_shape=())

    def __init__(self, *, recipe: Recipe, precision: str, seed: int, lr: float) -> None:
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr

    def check_backbone(self, backbone: Backbone) -> None:
        """`BackboneSourceError` for an architecture whose head `vector_head` cannot feed a pooled vector."""
        if backbone.model_type not in VECTOR_HEAD_TYPES:
            raise BackboneSourceError(
                f"model {backbone.source!r} is a {backbone.model_type!r}: rtsent.engine.backbones.vector_head does not "
                f"know how its head reads the encoder (known: {', '.join(VECTOR_HEAD_TYPES)}); leave head out "
                f"(--rtsent-methods) or use svm for frozen features"
            )

    def _features(self, task: Task, split: str) -> torch.Tensor:
        return torch.from_numpy(
            task.features(
                split, pooling=self.recipe.pooling, precision=self.precision, batch_size=self.recipe.eval_batch_size
            ).values
        )

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self:
        """Train the head on the frozen features; `callbacks` hear the training hooks (tokens: None)."""
        hooks = as_callback(callbacks)
        model = task.backbone.new_model(seed=self.seed)
        freeze_encoder(model, task.backbone.head_modules)
        self.parameter_counts_ = count_parameters(model)
        self.params_in_memory_ = parameters_in_memory(model)
        head = vector_head(model).to(task.device)
        features = self._features(task, "train").to(task.device)
        labels = torch.as_tensor(task.labels("train")).to(task.device)
        recipe, generator = self.recipe, torch.Generator().manual_seed(self.seed)
        per_epoch, total = recipe.steps(len(labels))  # the learning-rate schedule's length
        end = recipe.stop_step(len(labels))  # the steps trained (fewer with recipe.stop_epochs)
        parameters = [(n, p) for n, p in head.named_parameters() if p.requires_grad]
        optimizer, schedule = make_optimizer(parameters, recipe=recipe, lr=self.lr, total_steps=total)
        torch.manual_seed(self.seed)  # dropout masks
        self.head_ = head.train()  # set before training: a learning-curve callback predicts with it per epoch
        step, epoch = 0, 0
        hooks.on_train_begin(total_steps=end, steps_per_epoch=per_epoch)
        while step < end:
            for batch in torch.randperm(len(labels), generator=generator).split(recipe.batch_size):
                with autocast(task.device, self.precision):
                    logits = head(features[batch])
                loss = nn.functional.cross_entropy(logits.float(), labels[batch])
                if not math.isfinite(loss.item()):
                    raise Diverged(step, loss.item())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                hooks.on_step_end(step, loss.detach(), None)
                step += 1
                if step >= end:
                    break
            hooks.on_epoch_end(epoch, step, head)
            epoch += 1
        hooks.on_train_end(step)
        head.eval()
        self.train_info_ = {"steps": step, "epochs": step / per_epoch, "final_loss": loss.item()}
        return self

    def _predict_features(self, task: Task, features: torch.Tensor) -> np.ndarray:
        with torch.inference_mode(), autocast(task.device, self.precision):
            logits = self.head_(features.to(task.device))
        return logits.float().argmax(-1).cpu().numpy()

    def predict(self, task: Task, split: str) -> np.ndarray:
        return self._predict_features(task, self._features(task, split))

    def predict_texts(self, task: Task, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        """(rows,) labels of new sentences: the frozen encoder runs on them (not cached), then the head."""
        features = task.encoder_features(
            texts, pooling=self.recipe.pooling, precision=self.precision, batch_size=batch_size
        )
        return self._predict_features(task, torch.from_numpy(features))

    def save(self, folder: Path) -> None:
        """The trained head tensors (`head.safetensors`); the frozen encoder is the shared base model."""
        from safetensors.torch import save_file

        trained = {n: p.detach().contiguous() for n, p in self.head_.named_parameters() if p.requires_grad}
        save_file(trained, str(Path(folder) / "head.safetensors"))
