"""What `full` and `lora` share: train a sequence classifier on token ids, predict with it."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from rtsent.measuring import non_embedding_parameters
from rtsent.profiles import Recipe
from rtsent.training import TokenCount, predict_logits, train
from rtsent.workbench import Task


def fit_classifier(
    model: nn.Module, task: Task, *, recipe: Recipe, lr: float, precision: str, seed: int
) -> dict[str, Any]:
    """Train `model` on the training split; returns what training measured."""
    stats = train(
        model,
        task.input_ids("train"),
        task.labels("train"),
        recipe=recipe,
        lr=lr,
        precision=precision,
        device=task.device,
        seed=seed,
        pad_id=task.pad_id,
        head_modules=task.backbone.head_modules,
    )
    return {
        "steps": stats.steps,
        "epochs": stats.epochs,
        "final_loss": stats.final_loss,
        "train_tokens": stats.tokens.real,
        "train_padding_share": stats.tokens.padding_share,
        # N of the 6·N·tokens estimate (forward + backward through every non-embedding weight).
        "flop_parameters": non_embedding_parameters(model),
    }


def predict_classifier(
    model: nn.Module, task: Task, split: str, *, recipe: Recipe, precision: str, tokens: TokenCount | None = None
) -> np.ndarray:
    logits = predict_logits(
        model,
        task.input_ids(split),
        batch_size=recipe.eval_batch_size,
        precision=precision,
        device=task.device,
        pad_id=task.pad_id,
        tokens=tokens,
    )
    return logits.argmax(-1)
