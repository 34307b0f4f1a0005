"""Training and inference loops: length-grouped dynamic-padding batches, AdamW with linear
warmup/decay, autocast, NaN detection, and inference-mode prediction and feature extraction."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rtsent.measuring import autocast
from rtsent.profiles import Recipe

# Mega-batch factor for length grouping: shuffle, cut into chunks of this many batches, sort each
# chunk by length. Batches stay random across the epoch but hold similar lengths.
GROUP_CHUNK = 50


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

    def add(self, mask: torch.Tensor) -> None:
        self.real += int(mask.sum())
        self.slots += mask.numel()

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
        [{"params": ps, "lr": group_lr, "weight_decay": wd} for (group_lr, wd), ps in groups.items()]
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
    on_step: Callable[[int, float], None] | None = None,
) -> TrainStats:
    """Train the parameters of `model` that require grad: AdamW, linear warmup then linear decay.

    Fractional `recipe.epochs` stop part-way through the last epoch.
    """
    lengths = np.array([len(row) for row in input_ids])
    per_epoch = math.ceil(len(lengths) / recipe.batch_size)
    total_steps = max(1, round(recipe.epochs * per_epoch))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    parameters = [p for _, p in named]
    optimizer, schedule = make_optimizer(
        named, recipe=recipe, lr=lr, total_steps=total_steps, head_modules=head_modules
    )
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    labels_t = torch.as_tensor(labels, dtype=torch.long)
    tokens = TokenCount()
    torch.manual_seed(seed)  # dropout masks
    model.to(device).train()
    step, loss_value = 0, float("nan")
    epoch = 0
    while step < total_steps:
        for batch in train_batches(lengths, recipe.batch_size, seed=seed, epoch=epoch, grouped=recipe.length_grouped):
            ids, mask = pad([input_ids[i] for i in batch], pad_id, device)
            tokens.add(mask)
            with autocast(device, precision):
                logits = model(input_ids=ids, attention_mask=mask).logits
            loss = nn.functional.cross_entropy(logits.float(), labels_t[batch].to(device))
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise Diverged(step, loss_value)
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
            if on_step is not None:
                on_step(step, loss_value)
            step += 1
            if step >= total_steps:
                break
        epoch += 1
    return TrainStats(steps=step, epochs=step / per_epoch, final_loss=loss_value, tokens=tokens)


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
) -> np.ndarray:
    """`reduce(model, ids, mask)` over length-sorted batches, returned in the input's order."""
    lengths = np.array([len(row) for row in input_ids])
    out: np.ndarray | None = None
    model.to(device).eval()
    with torch.inference_mode(), autocast(device, precision):
        for batch in eval_batches(lengths, batch_size):
            ids, mask = pad([input_ids[i] for i in batch], pad_id, device)
            if tokens is not None:
                tokens.add(mask)
            values = reduce(model, ids, mask).float().cpu().numpy()
            if out is None:
                out = np.empty((len(lengths), *values.shape[1:]), dtype=np.float32)
            out[batch] = values
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
