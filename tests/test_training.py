import math

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification

from rtsent.backbones import store_frozen_linears
from rtsent.training import Diverged, MaskDropout, _check_finite, use_mask_dropout


def tiny_lora_model() -> nn.Module:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    config = BertConfig(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    model = BertForSequenceClassification(config)
    lora = LoraConfig(
        r=4, lora_alpha=8, lora_dropout=0.1, target_modules=["query", "value"], modules_to_save=["classifier"]
    )
    return get_peft_model(model, lora)


def test_mask_dropout_keeps_one_minus_p_and_rescales():
    n = 400_000
    torch.manual_seed(3)
    out = MaskDropout(0.1).train()(torch.ones(n))
    kept = out != 0
    # within 5 standard errors of a Bernoulli(0.9) share over n draws
    assert abs(kept.float().mean().item() - 0.9) < 5 * math.sqrt(0.9 * 0.1 / n)
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / 0.9))


def test_mask_dropout_gradient_is_the_same_mask():
    x = torch.ones(1000, requires_grad=True)
    torch.manual_seed(1)
    out = MaskDropout(0.25).train()(x)
    out.sum().backward()
    assert torch.equal(x.grad, out.detach())  # d(sum)/dx = mask / (1 - p) = the output for x = 1


def test_mask_dropout_is_seeded_and_off_in_eval():
    layer = MaskDropout(0.5).train()
    x = torch.ones(64, 7)
    masks = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        masks.append(layer(x))
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])
    assert layer.eval()(x) is x


def test_use_mask_dropout_swaps_every_dropout_and_keeps_eval_outputs():
    model = tiny_lora_model().eval()
    ids = torch.randint(1, 60, (3, 9))
    before = model(input_ids=ids).logits
    dropouts = sum(type(m) is nn.Dropout for m in model.modules())
    assert dropouts > 0 and use_mask_dropout(model) == dropouts
    assert not any(type(m) is nn.Dropout for m in model.modules())
    assert torch.equal(model(input_ids=ids).logits, before)
    model.train()
    runs = []
    for _ in range(2):
        torch.manual_seed(5)
        runs.append(model(input_ids=ids).logits)
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], before)


def test_frozen_linears_in_bf16_give_the_autocast_logits():
    model = tiny_lora_model().eval()
    ids = torch.randint(1, 60, (4, 11))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = model(input_ids=ids).logits
    assert store_frozen_linears(model, torch.bfloat16) >= 2 * 6 + 1  # q, k, v, out, ffn in/out a layer; pooler
    query = model.base_model.model.bert.encoder.layer[0].attention.self.query
    assert query.base_layer.weight.dtype == torch.bfloat16
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(model(input_ids=ids).logits, expected)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(p.dtype == torch.float32 for p in trainable)


def test_a_nan_in_a_window_of_losses_names_its_step():
    losses = [torch.tensor(v) for v in (0.7, 0.6, float("nan"), float("inf"))]
    with pytest.raises(Diverged) as caught:
        _check_finite(losses, first_step=64)
    assert caught.value.step == 66
    assert _check_finite(losses[:2], first_step=0) == pytest.approx(0.6)
