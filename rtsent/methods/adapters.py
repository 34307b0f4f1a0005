"""What the peft methods (lora, dora, ia3, prompt) share: the modules each adapts, per architecture
(`config.model_type`), and the wrapping of a fresh classifier with a peft config.

Names follow peft's configs (`target_modules`, `feedforward_modules`, `modules_to_save`). Regular
expressions are matched by peft against whole module names (`re.fullmatch`).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from torch import nn

from rtsent.engine.backbones import Backbone, store_frozen_linears
from rtsent.engine.devices import DTYPES, HALF

# LoRA/DoRA target sets (the `target_modules` hyperparameter of `lora` and `dora`):
#   query_value  the attention's query and value projections (the study: DistilBERT q_lin/v_lin);
#   attention    all four attention projections (query, key, value, output);
#   all-linear   peft's shorthand: every nn.Linear of the model except the head (`modules_to_save`),
#                i.e. attention, both feed-forward layers and, in BERT, the pooler's dense layer.
ATTENTION = {
    "distilbert": ("q_lin", "k_lin", "v_lin", "out_lin"),
    # "attention.output.dense" rather than "output.dense": the latter also names the feed-forward output
    "bert": ("query", "key", "value", "attention.output.dense"),
    "roberta": ("query", "key", "value", "attention.output.dense"),
}
TargetSet = Literal["query_value", "attention", "all-linear"]  # a Literal: sweeps check values at start
TARGET_SETS = get_args(TargetSet)

# IA³ (Liu et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context
# Learning", §3.3): learned vectors rescale the attention's keys and values and the feed-forward block's
# inner activation, which is the input of its output layer (hence "feedforward": peft scales its input).
_BERT_IA3 = (r".*\.attention\.self\.(key|value)|.*\.layer\.\d+\.output\.dense", r".*\.layer\.\d+\.output\.dense")
IA3_TARGETS = {
    "distilbert": (r".*\.attention\.(k_lin|v_lin)|.*\.ffn\.lin2", r".*\.ffn\.lin2"),
    "bert": _BERT_IA3,
    "roberta": _BERT_IA3,
}


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
