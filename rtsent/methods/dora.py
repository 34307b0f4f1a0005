"""DoRA (Liu et al. 2024, "DoRA: Weight-Decomposed Low-Rank Adaptation") through peft: LoRA with
`use_dora=True`, which splits each adapted weight into a magnitude vector (trained, one value per
output feature) and a direction updated by the low-rank product. Same targets and hyperparameters as
`lora`; trainable parameters = LoRA's + one magnitude per output feature of each adapted layer."""

from __future__ import annotations

from rtsent.methods.lora import LoRA


class DoRA(LoRA):
    use_dora = True
