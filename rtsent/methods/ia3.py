"""IA³ through peft: learned vectors rescale the attention's keys and values and the feed-forward
block's inner activation (rtsent.methods.adapters.IA3_TARGETS), the classification head trained too.
Per DistilBERT layer 768 + 768 + 3,072 values: 27,648 in all, beside the head's 592,130."""

from __future__ import annotations

from dataclasses import replace

from torch import nn

from rtsent.engine.backbones import Backbone
from rtsent.engine.recipe import Recipe
from rtsent.methods.adapters import IA3_TARGETS, build_peft_model, check_targets
from rtsent.methods.finetune import SequenceClassifier


class IA3(SequenceClassifier):
    tags = replace(SequenceClassifier.tags, mergeable=True)  # peft folds the scaling vectors into the weights

    def __init__(self, *, recipe: Recipe, precision: str, seed: int, lr: float) -> None:
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr

    def check_backbone(self, backbone: Backbone) -> None:
        """`BackboneSourceError` for an architecture outside IA3_TARGETS."""
        check_targets(backbone, "ia3", "ia3")

    def build_model(self, backbone: Backbone) -> nn.Module:
        """The classifier as trained: IA³ vectors (initialised to 1: the model unchanged) and the head."""
        from peft import IA3Config

        targets, feedforward = IA3_TARGETS[backbone.model_type]
        config = IA3Config(
            target_modules=targets,
            feedforward_modules=feedforward,
            modules_to_save=list(backbone.head_modules),
        )
        return build_peft_model(self, backbone, config)
