"""The session's shared work: loaded backbones, splits, token ids and frozen features, each made
once and reused by every case that needs it (tokenizing or a frozen pass per case would dominate
the cheap methods' cost)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rtsent.backbones import Backbone, check_backbone, load_backbone
from rtsent.data import SPLITS, load_splits, split_hash, tokenize
from rtsent.measuring import machine_facts, matmul_flops, measure
from rtsent.training import TokenCount, pooled_features


@dataclass
class Features:
    """Frozen features of one split, with the cost of making them (paid once per session)."""

    values: np.ndarray  # (rows, hidden) float32
    seconds: float
    tokens: TokenCount
    peak_rss_bytes: int | None


@dataclass
class Task:
    """What a method sees: one backbone on one tokenized dataset, plus shared caches."""

    backbone: Backbone
    data_source: str
    splits: Any  # DatasetDict with text, label, input_ids, length
    split_hashes: dict[str, str]
    max_length: int | None
    device: torch.device
    bench: Workbench = field(repr=False)

    @property
    def pad_id(self) -> int:
        return int(self.backbone.tokenizer.pad_token_id or 0)

    def labels(self, split: str) -> np.ndarray:
        return np.asarray(self.splits[split]["label"], dtype=np.int64)

    def input_ids(self, split: str) -> list[list[int]]:
        return self.bench.input_ids(self, split)

    def features(self, split: str, *, pooling: str, precision: str, batch_size: int) -> Features:
        return self.bench.features(self, split, pooling=pooling, precision=precision, batch_size=batch_size)


class Workbench:
    """Per-session caches, keyed by what their content depends on."""

    def __init__(self, *, device: torch.device) -> None:
        self.device = device
        self._backbones: dict[str, Backbone] = {}
        self._splits: dict[tuple, tuple[Any, dict[str, str]]] = {}
        self._tokenized: dict[tuple, Any] = {}
        self._ids: dict[tuple, list[list[int]]] = {}
        self._features: dict[tuple, Features] = {}
        self._encoders: dict[str, torch.nn.Module] = {}
        self._flops: dict[str, float] = {}
        self._facts: dict[str, Any] | None = None

    def backbone(self, source: str) -> Backbone:
        """The model source loaded and checked once (`check_backbone`): a bad one raises here, not per case."""
        if source not in self._backbones:
            self._backbones[source] = check_backbone(load_backbone(source))
        return self._backbones[source]

    def splits(self, source: str, max_train: int | None) -> tuple[Any, dict[str, str]]:
        key = (source, max_train)
        if key not in self._splits:
            splits = load_splits(source, max_train_samples=max_train)
            self._splits[key] = (splits, {name: split_hash(splits[name]) for name in SPLITS})
        return self._splits[key]

    def task(self, *, model: str, data: str, max_train: int | None, max_length: int | None) -> Task:
        backbone = self.backbone(model)
        splits, hashes = self.splits(data, max_train)
        key = (model, data, max_train, max_length)
        if key not in self._tokenized:
            self._tokenized[key] = tokenize(splits, backbone.tokenizer, max_length=max_length)
        return Task(backbone, data, self._tokenized[key], hashes, max_length, self.device, self)

    def input_ids(self, task: Task, split: str) -> list[list[int]]:
        key = (task.backbone.source, task.split_hashes[split], task.max_length)
        if key not in self._ids:
            self._ids[key] = list(task.splits[split]["input_ids"])
        return self._ids[key]

    def features(self, task: Task, split: str, *, pooling: str, precision: str, batch_size: int) -> Features:
        key = (task.backbone.identity, task.split_hashes[split], task.max_length, pooling, precision)
        if key not in self._features:
            tokens = TokenCount()
            with measure(self.device) as window:
                values = pooled_features(
                    self._encoder(task.backbone),
                    task.input_ids(split),
                    pooling=pooling,
                    precision=precision,
                    device=self.device,
                    pad_id=task.pad_id,
                    batch_size=batch_size,
                    tokens=tokens,
                )
            self._features[key] = Features(values, window.seconds, tokens, window.peak_rss_bytes)
        return self._features[key]

    def _encoder(self, backbone: Backbone) -> torch.nn.Module:
        """The frozen model behind the features, loaded once per backbone rather than once per split."""
        if backbone.identity not in self._encoders:
            # seed 0: the head's random init never touches the encoder's outputs
            self._encoders[backbone.identity] = backbone.new_model(seed=0)
        return self._encoders[backbone.identity]

    def attainable_flops(self, precision: str) -> float:
        """Dense matmul FLOP/s in `precision`, calibrated once per session (about a second)."""
        if precision not in self._flops:
            self._flops[precision] = matmul_flops(self.device, precision)
        return self._flops[precision]

    @property
    def facts(self) -> dict[str, Any]:
        """Device and library identity, read once per session."""
        if self._facts is None:
            self._facts = machine_facts(self.device)
        return self._facts

    @property
    def calibrations(self) -> dict[str, float]:
        return dict(self._flops)
