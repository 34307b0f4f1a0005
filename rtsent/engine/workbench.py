"""The session's shared work: loaded backbones, splits, token ids and frozen features, each made
once and reused by every case that needs it (tokenizing or a frozen pass per case would dominate
the cheap methods' cost)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import DatasetDict

from rtsent.data.classes import SPLITS
from rtsent.data.draws import Draw, apply_draw, stratified_sample
from rtsent.data.sources import DataSpec, LoadedData, as_spec, load_data, noncanonical_splits, split_hash
from rtsent.data.tokens import token_limit, tokenize
from rtsent.engine.backbones import NUM_LABELS, Backbone, check_backbone, load_backbone
from rtsent.engine.callbacks import Callback, as_callback
from rtsent.engine.measuring import machine_facts, matmul_flops, measure
from rtsent.engine.training import TokenCount, pooled_features


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

    backbone: Backbone  # its head built for len(label_names) classes
    data_source: DataSpec
    splits: Any  # DatasetDict with text, label (class ids 0..K-1), input_ids, length
    split_hashes: dict[str, str]
    max_length: int | None
    device: torch.device
    workbench: Workbench = field(repr=False)
    data_canonical: bool = False  # the full splits are the canonical Rotten Tomatoes splits
    data_encoding: str | None = None  # how the text files were decoded (rtsent.data.sources.LoadedData)
    # distinct texts shared by each pair of full splits (rtsent.data.classes.cross_split_duplicates)
    cross_split_duplicates: dict[str, int] = field(default_factory=dict)
    label_names: tuple[str, ...] = ("neg", "pos")  # class id -> name (rtsent.data.sources.LoadedData)
    carved_validation: int | None = None  # rows carved from train for validation; None: the source's own

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def pad_id(self) -> int:
        return int(self.backbone.tokenizer.pad_token_id or 0)

    def labels(self, split: str) -> np.ndarray:
        return np.asarray(self.splits[split]["label"], dtype=np.int64)

    def input_ids(self, split: str) -> list[list[int]]:
        return self.workbench.input_ids(self, split)

    def texts(self, split: str) -> list[str]:
        """The split's sentences as loaded (for the methods that read words, not token ids)."""
        return list(self.splits[split]["text"])

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of new sentences, cut as the splits were (`rtsent.data.tokens.tokenize`); not cached."""
        tokenizer = self.backbone.tokenizer
        limit = token_limit(tokenizer, self.max_length)
        return tokenizer(list(texts), truncation=True, max_length=limit)["input_ids"]

    def encoder_features(self, texts: Sequence[str], *, pooling: str, precision: str, batch_size: int) -> np.ndarray:
        """(rows, hidden) frozen features of new sentences through the frozen encoder, not cached:
        what serving `svm` and `head` costs."""
        return pooled_features(
            self.workbench.encoder(self.backbone),
            self.encode(texts),
            pooling=pooling,
            precision=precision,
            device=self.device,
            pad_id=self.pad_id,
            batch_size=batch_size,
        )

    def features(
        self, split: str, *, pooling: str, precision: str, batch_size: int, callbacks: Sequence[Callback] = ()
    ) -> Features:
        return self.workbench.features(
            self, split, pooling=pooling, precision=precision, batch_size=batch_size, callbacks=callbacks
        )


class Workbench:
    """Per-session caches, keyed by what their content depends on."""

    def __init__(self, *, device: torch.device) -> None:
        self.device = device
        self._backbones: dict[tuple[str, int, tuple[str, ...]], Backbone] = {}
        self._splits: dict[tuple, tuple[Any, dict[str, str]]] = {}
        self._noncanonical: dict[DataSpec, list[str]] = {}
        self._loaded: dict[DataSpec, LoadedData] = {}  # the full splits' facts, per source
        self._tokenized: dict[tuple, Any] = {}
        self._ids: dict[tuple, list[list[int]]] = {}
        self._features: dict[tuple, Features] = {}
        self._encoders: dict[str, torch.nn.Module] = {}
        self._flops: dict[str, float] = {}
        self._base_bytes: dict[str, int] = {}
        self._facts: dict[str, Any] | None = None
        self._serving: dict[tuple, tuple[dict[str, Any], str]] = {}

    def backbone(self, source: str, *, num_labels: int = NUM_LABELS, lora_targets: tuple[str, ...] = ()) -> Backbone:
        """The model source loaded and checked once per head size (`check_backbone`): a bad one raises
        here, not per case. `lora_targets` (--rtsent-target-modules) replace the default query/value names."""
        key = (source, num_labels, lora_targets)
        if key not in self._backbones:
            loaded = load_backbone(source, lora_targets=lora_targets or None)
            self._backbones[key] = check_backbone(loaded, num_labels=num_labels)
        return self._backbones[key]

    def task_backbone(self, model: str, data: DataSpec | str, *, lora_targets: tuple[str, ...] = ()) -> Backbone:
        """`backbone(model)` with its head sized to the classes of `data` (read once, `_load`)."""
        classes = len(self._load(as_spec(data)).label_names)
        return self.backbone(model, num_labels=classes, lora_targets=lora_targets)

    def splits(
        self, source: DataSpec | str, max_train: int | None, draw: Draw | None = None
    ) -> tuple[Any, dict[str, str]]:
        """(splits, split hashes), the training split cut to a stratified `max_train` rows (seed 0), then to
        `draw`'s examples per class (rtsent.data.draws: `DrawError` when a class has too few); `source` a
        DataSpec or a source string (its `text` and `label` columns)."""
        source = as_spec(source)
        key = (source, max_train, draw)
        if key not in self._splits:
            loaded = self._load(source)
            splits = DatasetDict(loaded.splits)  # a sample below replaces train here, not in `loaded`
            if max_train is not None:
                splits["train"] = stratified_sample(splits["train"], max_train, seed=0)
            if draw is not None:
                splits = apply_draw(splits, draw, tuple(loaded.label_names))
            self._splits[key] = (splits, {name: split_hash(splits[name]) for name in SPLITS})
        return self._splits[key]

    def _load(self, source: DataSpec) -> LoadedData:
        """The full splits of `source`, read once per session, whatever training subsets are cut from them."""
        if source not in self._loaded:
            loaded = load_data(source)
            # whether the data are the canonical ones (or share texts) is a property of the full splits
            self._noncanonical[source] = noncanonical_splits(loaded.splits)
            self._loaded[source] = loaded
        return self._loaded[source]

    def noncanonical_splits(self, source: DataSpec | str) -> list[str]:
        """The splits of `source` (loaded by `splits`) that differ from the canonical Rotten Tomatoes
        splits; empty for the canonical data."""
        return self._noncanonical[as_spec(source)]

    def data_facts(self, source: DataSpec | str) -> LoadedData:
        """What loading `source` (by `splits`) found: its encoding and cross-split duplicates."""
        return self._loaded[as_spec(source)]

    def task(
        self,
        *,
        model: str,
        data: DataSpec | str,
        max_train: int | None,
        max_length: int | None,
        lora_targets: tuple[str, ...] = (),
        callbacks: Sequence[Callback] = (),
        draw: Draw | None = None,
    ) -> Task:
        """The tokenized task, its backbone's head sized to the data's classes, its training split cut to
        `draw` (rtsent.data.draws) when given; `callbacks` hear on_phase("tokenizing") when it is not cached yet."""
        data = as_spec(data)
        splits, hashes = self.splits(data, max_train, draw)
        loaded = self._loaded[data]
        backbone = self.task_backbone(model, data, lora_targets=lora_targets)
        key = (model, data, max_train, max_length, draw)
        if key not in self._tokenized:
            as_callback(callbacks).on_phase("tokenizing")
            self._tokenized[key] = tokenize(splits, backbone.tokenizer, max_length=max_length)
        tokenized, canonical = self._tokenized[key], not self._noncanonical[data]
        return Task(
            backbone,
            data,
            tokenized,
            hashes,
            max_length,
            self.device,
            self,
            data_canonical=canonical,
            data_encoding=loaded.encoding,
            cross_split_duplicates=dict(loaded.duplicates),
            label_names=tuple(loaded.label_names),
            carved_validation=loaded.carved_validation,
        )

    def input_ids(self, task: Task, split: str) -> list[list[int]]:
        key = (task.backbone.source, task.split_hashes[split], task.max_length)
        if key not in self._ids:
            self._ids[key] = list(task.splits[split]["input_ids"])
        return self._ids[key]

    def features(
        self,
        task: Task,
        split: str,
        *,
        pooling: str,
        precision: str,
        batch_size: int,
        callbacks: Sequence[Callback] = (),
    ) -> Features:
        """(rows, hidden) frozen features of `split`; `callbacks` hear on_phase("frozen pass SPLIT") and
        each batch when they are computed (not when cached)."""
        key = (task.backbone.identity, task.split_hashes[split], task.max_length, pooling, precision)
        if key not in self._features:
            hooks = as_callback(callbacks)
            hooks.on_phase(f"frozen pass {split}")
            tokens = TokenCount()
            with measure(self.device) as window:
                values = pooled_features(
                    self.encoder(task.backbone),
                    task.input_ids(split),
                    pooling=pooling,
                    precision=precision,
                    device=self.device,
                    pad_id=task.pad_id,
                    batch_size=batch_size,
                    tokens=tokens,
                    callbacks=[hooks],
                )
            self._features[key] = Features(values, window.seconds, tokens, window.peak_rss_bytes)
        return self._features[key]

    def encoder(self, backbone: Backbone) -> torch.nn.Module:
        """The frozen model behind the features, loaded once per backbone rather than once per split."""
        if backbone.identity not in self._encoders:
            # seed 0: the head's random init never touches the encoder's outputs
            self._encoders[backbone.identity] = backbone.new_model(seed=0)
        return self._encoders[backbone.identity]

    def base_model_bytes(self, backbone: Backbone) -> int:
        """Bytes of the shared base model as safetensors: its weight files, or (random weights) the
        model serialized in memory once per session."""
        if backbone.identity not in self._base_bytes:
            folder = Path(backbone.location)
            files = sorted(folder.glob("model*.safetensors")) if backbone.has_weights and folder.is_dir() else []
            if files:
                self._base_bytes[backbone.identity] = sum(f.stat().st_size for f in files)
            else:
                from safetensors.torch import save

                state = {k: v.contiguous() for k, v in backbone.new_model(seed=0).state_dict().items()}
                self._base_bytes[backbone.identity] = len(save(state))
        return self._base_bytes[backbone.identity]

    def serving_figures(self, shape: tuple) -> tuple[dict[str, Any], str] | None:
        """(speed figures, case id that timed them) of the first case of serving shape `shape`
        (`rtsent.case.serving.serving_shape`) this session, or None."""
        return self._serving.get(shape)

    def keep_serving_figures(self, shape: tuple, figures: dict[str, Any], case: str) -> None:
        """Keep the speed figures a case timed, for the later cases of its serving shape."""
        self._serving.setdefault(shape, (dict(figures), case))

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
