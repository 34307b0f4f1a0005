"""What the methods that train through the backbone share (full, lora, dora, ia3, prompt, bitfit):
train a sequence classifier on token ids, predict with it, serve sentences, save what a task keeps.

`SequenceClassifier` is their base: a subclass stores its hyperparameters in `__init__` and builds
its model in `build_model(backbone)` (fresh, untrained: what the DistilBERT parameter counts pin).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
from torch import nn

from rtsent.engine.backbones import Backbone, count_parameters, non_embedding_parameters, parameters_in_memory
from rtsent.engine.callbacks import Callback
from rtsent.engine.training import predict_logits, train
from rtsent.engine.workbench import Task
from rtsent.methods.base import MethodTags


def fit_classifier(estimator: Any, model: nn.Module, task: Task, *, callbacks: Sequence[Callback] = ()) -> None:
    """Train `model` on the training split; sets `parameter_counts_`, `params_in_memory_`, `train_info_`, `model_`.

    `callbacks` go to `rtsent.engine.training.train` (progress; the robustness tests inject faults there).
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


class SequenceClassifier:
    """Base of the methods that fine-tune (part of) a sequence classifier; subclasses set `__init__`
    and `build_model`, and replace `tags` (rtsent.methods.base.MethodTags) where they differ."""

    tags = MethodTags(trains_backbone=True, takes_lr=True, serving_shape=())
    recipe: Any
    precision: str

    def build_model(self, backbone: Backbone) -> nn.Module:
        raise NotImplementedError

    def check_backbone(self, backbone: Backbone) -> None:
        """Any sequence classifier transformers builds trains in full; subclasses that adapt named
        modules refuse an architecture they have no names for (`BackboneSourceError`, one line)."""

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self:
        fit_classifier(self, self.build_model(task.backbone), task, callbacks=callbacks)
        return self

    def _logits(self, task: Task, input_ids: Sequence[Sequence[int]], batch_size: int) -> np.ndarray:
        return predict_logits(
            self.model_,
            input_ids,
            batch_size=batch_size,
            precision=self.precision,
            device=task.device,
            pad_id=task.pad_id,
        )

    def predict(self, task: Task, split: str) -> np.ndarray:
        """(rows,) labels of a split, from its cached token ids."""
        return self._logits(task, task.input_ids(split), self.recipe.eval_batch_size).argmax(-1)

    def logits_texts(self, task: Task, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        """(rows, 2) float32 logits of new sentences: tokenized here, batches sorted by length."""
        return self._logits(task, task.encode(texts), batch_size)

    def predict_texts(self, task: Task, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        """(rows,) labels of new sentences: what serving one request costs (rtsent.case.serving)."""
        return self.logits_texts(task, texts, batch_size=batch_size).argmax(-1)

    def save(self, folder: Path) -> None:
        """What a task keeps beside the shared base model, as safetensors:
        peft models: the adapter and the trained head (`save_pretrained`: adapter_model.safetensors and
        adapter_config.json, loadable with `PeftModel.from_pretrained(base, folder)`);
        every parameter trained (full): the whole model (`from_pretrained(folder)`);
        otherwise (BitFit): the trained tensors only, `trained.safetensors`, loaded over the base model
        with `model.load_state_dict(safetensors.torch.load_file(path), strict=False)`."""
        model = self.model_
        if hasattr(model, "peft_config"):
            model.save_pretrained(folder, safe_serialization=True)
            (Path(folder) / "README.md").unlink(missing_ok=True)  # peft's model-card stub: not needed to serve
        elif all(p.requires_grad for p in model.parameters()):
            model.save_pretrained(folder, safe_serialization=True)
        else:
            from safetensors.torch import save_file

            trained = {n: p.detach().contiguous() for n, p in model.named_parameters() if p.requires_grad}
            save_file(trained, str(Path(folder) / "trained.safetensors"))
