"""Training and inference loops: length-grouped dynamic-padding batches, AdamW with linear
warmup/decay, autocast, NaN detection, and inference-mode prediction and feature extraction.
The loops tell their `rtsent.engine.callbacks` what happens (steps, epochs, batches); they decide nothing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rtsent.engine.callbacks import Callback, as_callback
from rtsent.engine.devices import autocast
from rtsent.engine.recipe import Recipe

# Mega-batch factor for length grouping: shuffle, cut into chunks of this many batches, sort each
# chunk by length. Batches stay random across the epoch but hold similar lengths.
GROUP_CHUNK = 50
# Losses are checked for NaN/inf every this many steps, not each step: `.item()` per step makes the
# host wait for the GPU at every step. The reported step is still the first bad one.
CHECK_EVERY = 32


class MaskDropout(nn.Module):
    """Inverted dropout like `nn.Dropout`, its Bernoulli mask cut from 16-bit slices of 64-bit draws.

    On CPU, torch's dropout draws one double per element, serially; on 2 cores its masks took about
    a quarter of a LoRA step (`experiments/step_profile.py DATA lora --torch-dropout --ops 12`). Four
    masks come from each 64-bit draw here. The keep probability is rounded to a multiple of
    1/65,536; the draws come from torch's generator, so a seed still fixes every mask.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p  # read by attention layers that pass it on to their attention kernel
        # keep an element when its int16 slice is below this: P(keep) = round((1 - p) * 2^16) / 2^16
        self.threshold = -(2**15) + round((1 - p) * 2**16)
        self._words = torch.empty(0, dtype=torch.int64)  # scratch for the random draws, not state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        n, words = x.numel(), (x.numel() + 3) // 4
        if self._words.numel() < words or self._words.device != x.device:
            # Reused between calls: a fresh (page-faulting) allocation cost more than the draws.
            self._words = torch.empty(words, dtype=torch.int64, device=x.device)
        bits = self._words[:words].random_(-(2**63), None)  # uniform over all 64 bits
        keep = bits.view(torch.int16)[:n].view(x.shape) < self.threshold
        return x.mul(keep).mul_(1 / (1 - self.p))


def use_mask_dropout(model: nn.Module) -> int:
    """Swap every `nn.Dropout` in `model` for a `MaskDropout` of the same p; returns how many."""
    swapped = 0
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                setattr(parent, name, MaskDropout(child.p).train(child.training))
                swapped += 1
    return swapped


class Diverged(RuntimeError):
    """The loss became NaN or infinite; `step` is the optimizer step it happened at (0-based)."""

    def __init__(self, step: int, loss: float) -> None:
        super().__init__(f"loss became {loss} at step {step}")
        self.step = step


@dataclass
class TokenCount:
    """Tokens seen: real ones and padded slots; padding share = 1 - real / slots."""

    real: int = 0
    slots: int = 0

    def add(self, rows: Sequence[Sequence[int]]) -> None:
        """Count a batch padded to its longest row, from the host-side rows (no device sync)."""
        lengths = [len(row) for row in rows]
        self.real += sum(lengths)
        self.slots += len(lengths) * max(lengths)

    @property
    def padding_share(self) -> float:
        return 1 - self.real / self.slots if self.slots else 0.0


def pad(rows: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), each (batch, longest row)."""
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.as_tensor(row)
        mask[i, : len(row)] = 1
    return ids.to(device), mask.to(device)


def train_batches(lengths: np.ndarray, batch_size: int, *, seed: int, epoch: int, grouped: bool) -> list[np.ndarray]:
    """Index batches for one epoch. Shuffled with (seed, epoch) before grouping by length, since
    the splits are ordered by label and equal-length runs would otherwise be single-class."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if grouped:
        chunk = batch_size * GROUP_CHUNK
        order = np.concatenate(
            [
                part[np.argsort(lengths[part], kind="stable")]
                for part in np.split(order, range(chunk, len(order), chunk))
            ]
        )
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def eval_batches(lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Length-sorted batches: inference needs no randomness, and sorting removes nearly all padding."""
    order = np.argsort(lengths, kind="stable")
    for i in range(0, len(order), batch_size):
        yield order[i : i + batch_size]


@dataclass
class TrainStats:
    steps: int
    epochs: float
    final_loss: float
    tokens: TokenCount
    dropout: str  # "torch" or "mask" (MaskDropout, on CPU)


def make_optimizer(
    parameters: list[tuple[str, torch.nn.Parameter]],
    *,
    recipe: Recipe,
    lr: float,
    total_steps: int,
    head_modules: tuple[str, ...] = (),
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over (name, parameter) pairs with linear warmup, then linear decay to 0.

    No weight decay on biases and LayerNorm weights. Parameters under `head_modules` take
    `recipe.head_lr` when it is set: a freshly initialised head moves too slowly at an adapter's lr.
    """
    from transformers import get_linear_schedule_with_warmup

    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, parameter in parameters:
        in_head = recipe.head_lr is not None and any(part in head_modules for part in name.split("."))
        key = (recipe.head_lr if in_head else lr, recipe.weight_decay if parameter.ndim >= 2 else 0.0)
        groups.setdefault(key, []).append(parameter)
    optimizer = torch.optim.AdamW(
        [{"params": ps, "lr": group_lr, "weight_decay": wd} for (group_lr, wd), ps in groups.items()],
        # One pass over each parameter instead of one per arithmetic step: on 2 CPU cores the default
        # (foreach) AdamW took 71 ms of a 349 ms full fine-tuning step, fused 12.5 ms (experiments/step_profile.py).
        fused=True,
    )
    return optimizer, get_linear_schedule_with_warmup(optimizer, round(recipe.warmup_ratio * total_steps), total_steps)


def train(
    model: nn.Module,
    input_ids: Sequence[Sequence[int]],
    labels: np.ndarray,
    *,
    recipe: Recipe,
    lr: float,
    precision: str,
    device: torch.device,
    seed: int,
    pad_id: int,
    head_modules: tuple[str, ...] = (),
    callbacks: Sequence[Callback] = (),
) -> TrainStats:
    """Train the parameters of `model` that require grad: AdamW, linear warmup then linear decay.

    `recipe.steps` sets the schedule's length: fractional `recipe.epochs` stop part-way through the last epoch,
    and `recipe.min_steps` adds epochs to a small training split; `recipe.stop_epochs` ends training that far
    into the schedule (`Recipe.stop_step`). `callbacks` hear
    on_train_begin, on_step_end (the detached loss tensor: reading it synchronizes a GPU),
    on_epoch_end (after the epoch's losses were checked finite) and on_train_end.
    Raises `Diverged` at the first NaN/inf loss.
    """
    hooks = as_callback(callbacks)
    lengths = np.array([len(row) for row in input_ids])
    per_epoch, total_steps = recipe.steps(len(lengths))  # the learning-rate schedule's length
    end = recipe.stop_step(len(lengths))  # the steps trained: total_steps, or fewer with recipe.stop_epochs
    model.to(device).train()  # before the optimizer, which picks its kernels by the parameters' device
    # CUDA's dropout is one fused kernel already; the CPU's is the slow serial one MaskDropout replaces.
    dropout = "mask" if device.type == "cpu" and use_mask_dropout(model) else "torch"
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    parameters = [p for _, p in named]
    optimizer, schedule = make_optimizer(
        named, recipe=recipe, lr=lr, total_steps=total_steps, head_modules=head_modules
    )
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    labels_t = torch.as_tensor(labels, dtype=torch.long)
    tokens = TokenCount()
    torch.manual_seed(seed)  # dropout masks
    step, losses, final_loss = 0, [], float("nan")
    epoch = 0
    hooks.on_train_begin(total_steps=end, steps_per_epoch=per_epoch)
    while step < end:
        for batch in train_batches(lengths, recipe.batch_size, seed=seed, epoch=epoch, grouped=recipe.length_grouped):
            rows = [input_ids[i] for i in batch]
            ids, mask = pad(rows, pad_id, device)
            tokens.add(rows)
            with autocast(device, precision):
                logits = model(input_ids=ids, attention_mask=mask).logits
            loss = nn.functional.cross_entropy(logits.float(), labels_t[batch].to(device))
            losses.append(loss.detach())
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(parameters, recipe.max_grad_norm)
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, recipe.max_grad_norm)
                optimizer.step()
            schedule.step()
            hooks.on_step_end(step, losses[-1], tokens.real)
            step += 1
            if len(losses) == CHECK_EVERY or step >= end:
                final_loss = _check_finite(losses, first_step=step - len(losses))
                losses = []
            if step >= end:
                break
        if losses:  # one check (one sync) per epoch, so on_epoch_end never sees a diverged model
            final_loss = _check_finite(losses, first_step=step - len(losses))
            losses = []
        hooks.on_epoch_end(epoch, step, model)
        epoch += 1
    hooks.on_train_end(step)
    return TrainStats(steps=step, epochs=step / per_epoch, final_loss=final_loss, tokens=tokens, dropout=dropout)


def _check_finite(losses: list[torch.Tensor], *, first_step: int) -> float:
    """Raise `Diverged` at the first non-finite loss of a window of steps; else the window's last loss."""
    values = torch.stack(losses).float().cpu()
    bad = torch.nonzero(~torch.isfinite(values))
    if len(bad):
        index = int(bad[0])
        raise Diverged(first_step + index, float(values[index]))
    return float(values[-1])


def _encoder_outputs(
    model: nn.Module,
    input_ids: Sequence[Sequence[int]],
    *,
    batch_size: int,
    precision: str,
    device: torch.device,
    pad_id: int,
    reduce: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
    tokens: TokenCount | None,
    callbacks: Sequence[Callback] = (),
) -> np.ndarray:
    """`reduce(model, ids, mask)` over length-sorted batches, returned in the input's order.

    `callbacks` hear on_predict_batch_end after each batch."""
    hooks = as_callback(callbacks)
    lengths = np.array([len(row) for row in input_ids])
    batches = math.ceil(len(lengths) / batch_size)
    out: np.ndarray | None = None
    # checked rather than called: each walks every module, a measurable share of a batch-1 call
    current = next(model.parameters()).device  # cuda:0 where `device` may say cuda
    if current.type != device.type or (device.index is not None and current.index != device.index):
        model.to(device)
    if model.training:
        model.eval()
    with torch.inference_mode(), autocast(device, precision):
        for done, batch in enumerate(eval_batches(lengths, batch_size), start=1):
            rows = [input_ids[i] for i in batch]
            ids, mask = pad(rows, pad_id, device)
            if tokens is not None:
                tokens.add(rows)
            values = reduce(model, ids, mask).float().cpu().numpy()
            if out is None:
                out = np.empty((len(lengths), *values.shape[1:]), dtype=np.float32)
            out[batch] = values
            hooks.on_predict_batch_end(done, batches)
    assert out is not None
    return out


def predict_logits(
    model: nn.Module, input_ids: Sequence[Sequence[int]], *, tokens: TokenCount | None = None, **kw
) -> np.ndarray:
    """(rows, labels) logits of a sequence classifier."""
    return _encoder_outputs(
        model, input_ids, reduce=lambda m, i, a: m(input_ids=i, attention_mask=a).logits, tokens=tokens, **kw
    )


def pooled_features(
    model: nn.Module, input_ids: Sequence[Sequence[int]], *, pooling: str, tokens: TokenCount | None = None, **kw
) -> np.ndarray:
    """(rows, hidden) frozen features of the encoder: the [CLS] vector or the masked mean."""
    encoder = getattr(model, "base_model", model)

    def reduce(_: nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state  # (batch, seq, hidden)
        if pooling == "cls":
            return hidden[:, 0]
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1)

    return _encoder_outputs(encoder, input_ids, reduce=reduce, tokens=tokens, **kw)
