"""Prompt tuning (Lester et al. 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning")
through peft: `num_virtual_tokens` trained embeddings are prepended to every input, the model frozen,
the classification head trained too.

Prompt tuning rather than prefix tuning (P-tuning v2): peft's prefix tuning feeds its prefixes as
`past_key_values`, which neither DistilBERT nor BERT's classification models take (peft 0.21 with
transformers 5: "Model does not support past key values which are required for prefix tuning").
Prompt tuning needs only `inputs_embeds`, which both take.

The head reads the first position, which is now the first virtual token (peft's design for
sequence classification); it attends to the whole sentence as [CLS] did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar, Literal, Self

from torch import nn

from rtsent.engine.backbones import Backbone
from rtsent.engine.callbacks import Callback
from rtsent.engine.recipe import Recipe
from rtsent.engine.workbench import Task
from rtsent.methods.adapters import build_peft_model
from rtsent.methods.finetune import SequenceClassifier
from rtsent.schema.ranges import POSITIVE_INT, Constraint


class PromptTuning(SequenceClassifier):
    tags = replace(SequenceClassifier.tags, serving_shape=("num_virtual_tokens",))  # every call pays the prompt
    parameter_ranges: ClassVar[dict[str, Constraint]] = {"num_virtual_tokens": POSITIVE_INT}

    def __init__(
        self,
        *,
        recipe: Recipe,
        precision: str,
        seed: int,
        lr: float,
        num_virtual_tokens: int = 20,
        # peft's PromptTuningInit: embeddings of tokens drawn from the vocabulary, or random vectors
        prompt_tuning_init: Literal["SAMPLE_VOCAB", "RANDOM"] = "SAMPLE_VOCAB",
    ) -> None:
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr
        self.num_virtual_tokens = num_virtual_tokens
        self.prompt_tuning_init = prompt_tuning_init

    def build_model(self, backbone: Backbone) -> nn.Module:
        """The classifier as trained: the prompt embeddings (num_virtual_tokens, hidden) and the head."""
        import torch
        from peft import PromptTuningConfig, TaskType

        config = backbone.config
        prompt = PromptTuningConfig(
            task_type=TaskType.SEQ_CLS,
            num_virtual_tokens=self.num_virtual_tokens,
            prompt_tuning_init=self.prompt_tuning_init,
            # peft reads these from the config under BERT's names; DistilBERT names them dim/n_layers/n_heads
            # the virtual tokens join the word embeddings: ALBERT's and ELECTRA's are narrower than hidden
            token_dim=getattr(config, "embedding_size", None) or config.hidden_size,
            num_layers=config.num_hidden_layers,
            num_attention_heads=config.num_attention_heads,
            num_transformer_submodules=1,  # an encoder
            modules_to_save=list(backbone.head_modules),
        )
        torch.manual_seed(self.seed)  # SAMPLE_VOCAB draws its tokens from torch's global generator
        return build_peft_model(self, backbone, prompt)

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self:
        """As every classifier trains; first, a clear error when an input plus the virtual tokens would
        run past the model's position embeddings (peft would fail deep inside the forward pass)."""
        longest = max(max(task.splits[split]["length"]) for split in ("train", "validation", "test"))
        limit = task.backbone.max_tokens
        if limit is not None and longest + self.num_virtual_tokens > limit:
            raise ValueError(
                f"num_virtual_tokens={self.num_virtual_tokens} + the longest input ({longest} tokens) exceeds the "
                f"model's {limit} positions; set the recipe's max_length to at most {limit - self.num_virtual_tokens}"
            )
        return super().fit(task, callbacks=callbacks)
