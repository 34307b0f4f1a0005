"""LoRA through peft: low-rank adapters on a set of linear layers (by default the attention's
query/value projections, DistilBERT `q_lin`/`v_lin`, BERT `query`/`value`: the study), r=8, alpha=16,
dropout 0.1, the classification head trained too."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from torch import nn

from rtsent.engine.backbones import Backbone
from rtsent.engine.recipe import Recipe
from rtsent.methods.adapters import TargetSet, build_peft_model, check_targets, lora_target_modules
from rtsent.methods.finetune import SequenceClassifier
from rtsent.schema.ranges import POSITIVE, POSITIVE_INT, Constraint, Interval


class LoRA(SequenceClassifier):
    # served at the adapter's shape (not its lr, alpha or dropout); peft folds the adapters into the weights
    tags = replace(SequenceClassifier.tags, mergeable=True, serving_shape=("r", "target_modules"))
    use_dora = False  # DoRA (rtsent.methods.dora) is this class with peft's use_dora=True
    parameter_ranges: ClassVar[dict[str, Constraint]] = {
        "r": POSITIVE_INT,  # r = 0: no adapter
        "lora_alpha": POSITIVE,  # the update is scaled by lora_alpha / r: 0 switches it off
        "lora_dropout": Interval(float, 0, 1, closed="left"),  # a probability; 1 drops every input
    }

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
        target_modules: TargetSet = "query_value",
    ) -> None:
        # peft's LoraConfig names: rank, scaling numerator (the update is scaled by lora_alpha / r), dropout p
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr
        self.r = r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.target_modules = target_modules  # a target set: rtsent.methods.adapters.TARGET_SETS

    def check_backbone(self, backbone: Backbone) -> None:
        """`BackboneSourceError` when the architecture has no modules for `target_modules`."""
        check_targets(backbone, "dora" if self.use_dora else "lora", self.target_modules)

    def build_model(self, backbone: Backbone) -> nn.Module:
        """The classifier as trained: the backbone with adapters, its head trainable, nothing trained yet."""
        from peft import LoraConfig

        config = LoraConfig(
            r=self.r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=lora_target_modules(backbone, self.target_modules),
            # all-linear would also take the head's linear layers; the head trains in full instead
            exclude_modules=list(backbone.head_modules),
            # The head is trained in full beside the adapters, as the study's SEQ_CLS task does.
            modules_to_save=list(backbone.head_modules),
            use_dora=self.use_dora,
        )
        return build_peft_model(self, backbone, config)
