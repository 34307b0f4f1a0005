"""Full fine-tuning: every parameter of the classifier trained."""

from __future__ import annotations

from torch import nn

from rtsent.engine.backbones import Backbone
from rtsent.engine.recipe import Recipe
from rtsent.methods.finetune import SequenceClassifier


class FullFineTune(SequenceClassifier):
    def __init__(self, *, recipe: Recipe, precision: str, seed: int, lr: float) -> None:
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr

    def build_model(self, backbone: Backbone) -> nn.Module:
        """The classifier as trained: every parameter trainable."""
        return backbone.new_model(seed=self.seed)
