"""What the peft methods (lora, dora, ia3, prompt) share: the modules each adapts, per architecture
(`config.model_type`), and the wrapping of a fresh classifier with a peft config.

Names follow peft's configs (`target_modules`, `feedforward_modules`, `modules_to_save`). Regular
expressions are matched by peft against whole module names (`re.fullmatch`).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from torch import nn

from rtsent.engine.backbones import Backbone, BackboneSourceError, store_frozen_linears
from rtsent.engine.devices import DTYPES, HALF

# LoRA/DoRA target sets (the `target_modules` hyperparameter of `lora` and `dora`):
#   query_value  the attention's query and value projections (the study: DistilBERT q_lin/v_lin), from
#                peft's per-architecture table or ours (rtsent.engine.backbones.default_lora_targets);
#   attention    all four attention projections (query, key, value, output): ATTENTION below;
#   all-linear   peft's shorthand: every nn.Linear of the model except the head (`modules_to_save`),
#                i.e. attention, both feed-forward layers and, in BERT, the pooler's dense layer.
# peft has no table of all four projections: ours, per architecture (`config.model_type`), as module-name
# suffixes. "attention.output.dense" rather than "output.dense": the latter also names the feed-forward output.
_BERT_ATTENTION = ("query", "key", "value", "attention.output.dense")
ATTENTION = {
    "distilbert": ("q_lin", "k_lin", "v_lin", "out_lin"),
    "bert": _BERT_ATTENTION,
    "roberta": _BERT_ATTENTION,
    "xlm-roberta": _BERT_ATTENTION,
    "electra": _BERT_ATTENTION,
    "deberta-v2": ("query_proj", "key_proj", "value_proj", "attention.output.dense"),
    "mpnet": ("attn.q", "attn.k", "attn.v", "attn.o"),
    "albert": ("attention.query", "attention.key", "attention.value", "attention.dense"),
    "modernbert": ("attn.Wqkv", "attn.Wo"),  # query, key and value in one fused projection
}
TargetSet = Literal["query_value", "attention", "all-linear"]  # a Literal: sweeps check values at start
TARGET_SETS = get_args(TargetSet)

# IA³ (Liu et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context
# Learning", §3.3): learned vectors rescale the attention's keys and values and the feed-forward block's
# inner activation, which is the input of its output layer (hence "feedforward": peft scales its input).
# (target_modules, feedforward_modules) as regular expressions over whole module names. Ours rather than
# peft's TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING: peft's BERT entry `output.dense` also matches the
# attention's output projection (`attention.output.dense`), which the paper does not rescale.
_LAYER_OUTPUT = r".*\.layer\.\d+\.output\.dense"  # BERT-style feed-forward output (not attention.output.dense)
_BERT_IA3 = (rf".*\.attention\.self\.(key|value)|{_LAYER_OUTPUT}", _LAYER_OUTPUT)
IA3_TARGETS = {
    "distilbert": (r".*\.attention\.(k_lin|v_lin)|.*\.ffn\.lin2", r".*\.ffn\.lin2"),
    "bert": _BERT_IA3,
    "roberta": _BERT_IA3,
    "xlm-roberta": _BERT_IA3,
    "electra": _BERT_IA3,
    "deberta-v2": (rf".*\.attention\.self\.(key_proj|value_proj)|{_LAYER_OUTPUT}", _LAYER_OUTPUT),
    "mpnet": (rf".*\.attention\.attn\.(k|v)|{_LAYER_OUTPUT}", _LAYER_OUTPUT),
    "albert": (r".*\.attention\.(key|value)|.*\.ffn_output", r".*\.ffn_output"),
    # ModernBERT fuses query, key and value: its IA³ vector rescales all three
    "modernbert": (r".*\.attn\.Wqkv|.*\.mlp\.Wo", r".*\.mlp\.Wo"),
}


def check_targets(backbone: Backbone, method: str, target_set: str) -> None:
    """`BackboneSourceError` (one line) when `backbone`'s architecture has no modules for `target_set`
    (TARGET_SETS; "ia3" for IA³'s), naming the architecture and what sets the targets instead."""
    kind, name = backbone.model_type, backbone.source
    if target_set == "query_value" and not backbone.lora_targets:
        raise BackboneSourceError(
            f"model {name!r} is a {kind!r}: neither peft's table nor rtsent's (rtsent.engine.backbones.QUERY_VALUE) "
            f"names its query/value projections for {method}; set them with --rtsent-target-modules=NAME,NAME "
            f"(module-name suffixes), or give {method} target_modules=all-linear in a sweep file"
        )
    if target_set == "attention" and kind not in ATTENTION:
        raise BackboneSourceError(
            f"model {name!r} is a {kind!r}: rtsent.methods.adapters.ATTENTION does not name its attention "
            f"projections for {method} target_modules=attention; use target_modules=query_value or all-linear"
        )
    if target_set == "ia3" and kind not in IA3_TARGETS:
        raise BackboneSourceError(
            f"model {name!r} is a {kind!r}: rtsent.methods.adapters.IA3_TARGETS has no IA³ keys, values and "
            f"feed-forward layers for it (known: {', '.join(IA3_TARGETS)}); leave ia3 out (--rtsent-methods)"
        )


def lora_target_modules(backbone: Backbone, target_set: str) -> list[str] | str:
    """peft's `target_modules` for a target set (see TARGET_SETS); ValueError names the valid sets."""
    if target_set == "query_value":
        return list(backbone.lora_targets)
    if target_set == "attention":
        return list(ATTENTION[backbone.model_type])
    if target_set == "all-linear":
        return "all-linear"
    raise ValueError(f"target_modules={target_set!r} is not one of {', '.join(TARGET_SETS)}")


def build_peft_model(estimator: Any, backbone: Backbone, config: Any) -> nn.Module:
    """A fresh classifier (head initialised from the estimator's seed) wrapped with the peft `config`.
    In fp16/bf16 the frozen linear weights are stored in that dtype (`store_frozen_linears`): autocast
    would otherwise cast them again at every call."""
    from peft import get_peft_model

    model = get_peft_model(backbone.new_model(seed=estimator.seed), config)
    if estimator.precision in HALF:
        store_frozen_linears(model, DTYPES[estimator.precision])
    return model
