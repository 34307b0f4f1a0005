import math

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification

from rtsent.engine.backbones import store_frozen_linears
from rtsent.engine.training import Diverged, MaskDropout, _check_finite, use_mask_dropout


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


def test_train_tells_its_callbacks_every_step_and_epoch_in_order():
    from rtsent.engine.callbacks import Callback
    from rtsent.engine.recipe import Recipe
    from rtsent.engine.training import train

    class Recorder(Callback):
        def __init__(self):
            self.events = []

        def on_train_begin(self, *, total_steps, steps_per_epoch):
            self.events.append(("begin", total_steps, steps_per_epoch))

        def on_step_end(self, step, loss, tokens):
            self.events.append(("step", step, tokens, loss.requires_grad))

        def on_epoch_end(self, epoch, step, model):
            self.events.append(("epoch", epoch, step, model.training))

        def on_train_end(self, step):
            self.events.append(("end", step))

    rows = [[2, 5, 7][: 1 + i % 3] + [3] * (i % 4) for i in range(10)]  # lengths 1..6
    recorder = Recorder()
    stats = train(
        tiny_lora_model(),
        rows,
        torch.tensor([i % 2 for i in range(10)]).numpy(),
        recipe=Recipe(epochs=2.5, batch_size=4),  # 3 steps an epoch; 2.5 epochs -> round(7.5) = 8 steps
        lr=1e-3,
        precision="fp32",
        device=torch.device("cpu"),
        seed=0,
        pad_id=0,
        callbacks=[recorder],
    )
    events = recorder.events
    assert events[0] == ("begin", 8, 3) and events[-1] == ("end", 8)
    steps = [e for e in events if e[0] == "step"]
    assert [e[1] for e in steps] == list(range(8)) and not any(e[3] for e in steps)  # detached losses
    tokens = [e[2] for e in steps]
    assert tokens == sorted(tokens) and tokens[-1] == stats.tokens.real  # real tokens trained on so far
    # each epoch ends after its last step (the third one cut short by the fractional epoch count)
    assert [e for e in events if e[0] == "epoch"] == [
        ("epoch", 0, 3, True),
        ("epoch", 1, 6, True),
        ("epoch", 2, 8, True),
    ]
    assert events.index(("epoch", 0, 3, True)) == events.index(steps[2]) + 1


@pytest.mark.parametrize("omp, expected", [("1", 1), ("", None), ("0", None), ("two", None)])
def test_threads_follow_omp_num_threads_where_set(monkeypatch, omp, expected):
    from rtsent.engine.devices import configure_threads

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", omp)
    try:
        cores = configure_threads()
        # set: obeyed; unset, zero or not a number: the cores this process may use
        assert torch.get_num_threads() == (expected or cores)
    finally:
        torch.set_num_threads(before)
