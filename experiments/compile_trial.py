"""Does torch.compile pay for a short fine-tune? Times one epoch of full fine-tuning on the quick
subset (63 steps, bf16, length-grouped), eager against torch.compile(dynamic=True), compile included.

    python experiments/compile_trial.py rt-polarity eager compile
"""

import sys
import time
from dataclasses import replace

import torch

from rtsent.engine.devices import configure_threads, pick_device
from rtsent.engine.training import train
from rtsent.engine.workbench import Workbench
from rtsent.plan.profiles import get_profile


def main(data: str, *modes: str) -> None:
    configure_threads()
    workbench = Workbench(device=pick_device())
    task = workbench.task(model="minilm-l6", data=data, max_train=2000, max_length=None)
    recipe = replace(get_profile("quick").recipe("full"), epochs=1)
    for mode in modes:
        model = task.backbone.new_model(seed=0)
        if mode == "compile":
            model = torch.compile(model, dynamic=True)  # lengths vary per batch: one dynamic graph
        started = time.perf_counter()
        stats = train(
            model,
            task.input_ids("train"),
            task.labels("train"),
            recipe=recipe,
            lr=5e-5,
            precision="bf16",
            device=task.device,
            seed=0,
            pad_id=task.pad_id,
        )
        seconds = time.perf_counter() - started
        print(f"{mode}: {stats.steps} steps in {seconds:.1f}s, final loss {stats.final_loss:.4f}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
