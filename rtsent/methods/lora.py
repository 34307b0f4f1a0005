"""LoRA through peft: low-rank adapters on the attention's query/value projections (DistilBERT
`q_lin`/`v_lin`, BERT `query`/`value`), r=8, alpha=16, dropout 0.1, the classification head trained too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np

from rtsent.backbones import store_frozen_linears
from rtsent.callbacks import Callback
from rtsent.measuring import DTYPES
from rtsent.methods.finetune import fit_classifier, predict_classifier
from rtsent.profiles import Recipe
from rtsent.workbench import Task


class LoRA:
    def __init__(
        self,
        *,
        recipe: Recipe,
        precision: str,
        seed: int,
        lr: float,
        r: int = 8,
        lora_alpha: float = 16,
        lora_dropout: float = 0.1,
    ) -> None:
        # peft's LoraConfig names: rank, scaling numerator (the update is scaled by lora_alpha / r), dropout p
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr
        self.r = r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=self.r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=list(task.backbone.lora_targets),
            # The head is trained in full beside the adapters, as the study's SEQ_CLS task does.
            modules_to_save=list(task.backbone.head_modules),
        )
        model = get_peft_model(task.backbone.new_model(seed=self.seed), config)
        if self.precision in ("fp16", "bf16"):
            store_frozen_linears(model, DTYPES[self.precision])
        fit_classifier(self, model, task, callbacks=callbacks)
        return self

    def predict(self, task: Task, split: str) -> np.ndarray:
        return predict_classifier(self, task, split)
