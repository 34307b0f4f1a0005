"""What `full` and `lora` share: train a sequence classifier on token ids, predict with it.

Both take the estimator (for its recipe, lr, precision, seed) and set its learned state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from rtsent.backbones import count_parameters, parameters_in_memory
from rtsent.callbacks import Callback
from rtsent.measuring import non_embedding_parameters
from rtsent.training import predict_logits, train
from rtsent.workbench import Task


def fit_classifier(estimator: Any, model: nn.Module, task: Task, *, callbacks: Sequence[Callback] = ()) -> None:
    """Train `model` on the training split; sets `parameter_counts_`, `params_in_memory_`, `train_info_`, `model_`.

    `callbacks` go to `rtsent.training.train` (progress; the robustness tests inject faults there).
    """
    estimator.parameter_counts_ = count_parameters(model)
    estimator.model_ = model  # set before training: a learning-curve callback predicts with it after each epoch
    estimator.params_in_memory_ = parameters_in_memory(model)
    stats = train(
        model,
        task.input_ids("train"),
        task.labels("train"),
        recipe=estimator.recipe,
        lr=estimator.lr,
        precision=estimator.precision,
        device=task.device,
        seed=estimator.seed,
        pad_id=task.pad_id,
        head_modules=task.backbone.head_modules,
        callbacks=callbacks,
    )
    estimator.train_info_ = {
        "steps": stats.steps,
        "epochs": stats.epochs,
        "final_loss": stats.final_loss,
        "train_tokens": stats.tokens.real,
        "train_padding_share": stats.tokens.padding_share,
        "dropout": stats.dropout,
        # N of the 6·N·tokens estimate (forward + backward through every non-embedding weight).
        "flop_parameters": non_embedding_parameters(model),
    }


def predict_classifier(estimator: Any, task: Task, split: str) -> np.ndarray:
    logits = predict_logits(
        estimator.model_,
        task.input_ids(split),
        batch_size=estimator.recipe.eval_batch_size,
        precision=estimator.precision,
        device=task.device,
        pad_id=task.pad_id,
    )
    return logits.argmax(-1)
