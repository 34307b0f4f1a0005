"""Where a training step's time goes: forward, backward, clipping, optimizer, per method and choice.

    python experiments/step_profile.py DATA {full,lora} [--foreach] [--torch-dropout] [--cast-frozen-weights]
                                   [--ops N]

Times 40 steps of the quick profile's batches (MiniLM, 2,000 sentences, batch 32, length-grouped,
bf16 autocast on CPU), the first 5 left out as warm-up, and prints milliseconds per step for each
phase. The flags turn back one speed choice each: `--foreach` the default (non-fused) AdamW,
`--torch-dropout` torch's own dropout instead of `MaskDropout`; `--cast-frozen-weights` keeps LoRA's
frozen weights in fp32 (autocast casts them at every call) instead of storing them in bf16.
`--ops N` also prints torch.profiler's N costliest operators over the timed steps (which slows them).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from rtsent.engine.backbones import store_frozen_linears
from rtsent.engine.devices import configure_threads
from rtsent.engine.training import pad, train_batches, use_mask_dropout
from rtsent.engine.workbench import Workbench
from rtsent.plan.profiles import get_profile

STEPS, WARMUP = 40, 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("method", choices=["full", "lora"])
    parser.add_argument("--foreach", action="store_true", help="torch's default AdamW instead of fused")
    parser.add_argument("--torch-dropout", action="store_true", help="nn.Dropout instead of MaskDropout")
    parser.add_argument("--cast-frozen-weights", action="store_true", help="LoRA: frozen weights stay fp32")
    parser.add_argument("--ops", type=int, default=0, help="print the profiler's N costliest operators")
    args = parser.parse_args()

    configure_threads()
    device = torch.device("cpu")
    profile = get_profile("quick")
    workbench = Workbench(device=device)
    task = workbench.task(model=profile.model, data=args.data, max_train=profile.max_train, max_length=None)
    ids, labels = task.input_ids("train"), torch.as_tensor(task.labels("train"))
    model = task.backbone.new_model(seed=0)
    if args.method == "lora":
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=8,
            lora_alpha=16,
            lora_dropout=0.1,
            target_modules=list(task.backbone.lora_targets),
            modules_to_save=list(task.backbone.head_modules),
        )
        model = get_peft_model(model, config)
        if not args.cast_frozen_weights:
            store_frozen_linears(model, torch.bfloat16)
    if not args.torch_dropout:
        use_mask_dropout(model)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-5, fused=not args.foreach)
    batches = train_batches(np.array([len(r) for r in ids]), 32, seed=0, epoch=0, grouped=True)
    phases = dict.fromkeys(("forward", "backward", "clip", "optimizer"), 0.0)
    model.train()
    torch.manual_seed(0)
    profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if args.ops else None
    for step, batch in enumerate(batches[:STEPS]):
        if profiler is not None and step == WARMUP:
            profiler.start()
        input_ids, mask = pad([ids[i] for i in batch], task.pad_id, device)
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(input_ids=input_ids, attention_mask=mask).logits
        loss = nn.functional.cross_entropy(logits.float(), labels[batch])
        t1 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        t3 = time.perf_counter()
        optimizer.step()
        t4 = time.perf_counter()
        if step >= WARMUP:
            for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                phases[name] += seconds
    if profiler is not None:
        profiler.stop()
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.ops))
    n = STEPS - WARMUP
    flags = [f for f in ("foreach", "torch_dropout", "cast_frozen_weights") if getattr(args, f)]
    cells = ", ".join(f"{name} {1000 * s / n:.1f}" for name, s in phases.items())
    print(f"{args.method} {'+'.join(flags) or 'as shipped'}: {cells}; step {1000 * sum(phases.values()) / n:.1f} ms")


if __name__ == "__main__":
    main()
