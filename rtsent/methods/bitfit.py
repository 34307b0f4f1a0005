"""BitFit (Ben Zaken et al. 2022, "BitFit: Simple Parameter-efficient Fine-tuning for
Transformer-based Masked Language-models"): only the bias terms (every parameter named `*.bias`,
LayerNorm's included) and the classification head train. DistilBERT: 51,456 biases outside the head."""

from __future__ import annotations

from torch import nn

from rtsent.engine.backbones import Backbone, store_frozen_linears
from rtsent.engine.devices import DTYPES, HALF
from rtsent.engine.recipe import Recipe
from rtsent.methods.finetune import SequenceClassifier


class BitFit(SequenceClassifier):
    def __init__(self, *, recipe: Recipe, precision: str, seed: int, lr: float) -> None:
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr

    def build_model(self, backbone: Backbone) -> nn.Module:
        """The classifier as trained: biases and head trainable, every other weight frozen."""
        model = backbone.new_model(seed=self.seed)
        for name, parameter in model.named_parameters():
            parameter.requires_grad = name.endswith(".bias") or name.split(".")[0] in backbone.head_modules
        if self.precision in HALF:
            store_frozen_linears(model, DTYPES[self.precision])  # frozen weights only; biases stay fp32
        return model
