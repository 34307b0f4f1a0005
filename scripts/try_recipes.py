"""Try recipe changes on one profile without touching it: one case per JSON spec, one line each.

    python scripts/try_recipes.py quick rt-polarity \
        '{"method": "lora", "lr": 2e-4, "head_lr": 1e-3}' '{"method": "svm", "pooling": "mean"}'

Keys: method, lr, precision (default bf16), seed (default 0), model, max_train; a hyperparameter of the
method's `__init__` (e.g. svm's C, LoRA's r); any other key is a `Recipe` field replacing the profile's
value. This is how the "Recipes" figures of docs/results.md were measured.
"""

import json
import sys
import time
from dataclasses import replace

from rtsent.case.runner import run_case
from rtsent.engine.devices import configure_threads, pick_device
from rtsent.engine.workbench import Workbench
from rtsent.plan.cases import CaseConfig
from rtsent.plan.profiles import get_profile
from rtsent.plan.sweeps import hyperparameters


def main(profile_name: str, data: str, *specs: str) -> None:
    configure_threads()
    profile = get_profile(profile_name)
    workbench = Workbench(device=pick_device())
    for spec in specs:
        fields = json.loads(spec)
        method = fields.pop("method")
        config = CaseConfig(
            profile=profile.name,
            method=method,
            lr=fields.pop("lr", None),
            precision=fields.pop("precision", "bf16"),
            seed=fields.pop("seed", 0),
            model=fields.pop("model", profile.model),
            data=data,
            max_train=fields.pop("max_train", profile.max_train),
            params=tuple((k, fields.pop(k)) for k in list(fields) if k in hyperparameters(method)),
            recipe=replace(profile.recipe(method), **fields),
        )
        started = time.perf_counter()
        record = run_case(config, workbench=workbench).record
        nan = float("nan")
        val, test = record.get("val_accuracy", nan), record.get("test_accuracy", nan)
        seconds = time.perf_counter() - started
        train, padding = record.get("train_time_s", nan), record.get("train_padding_share") or 0.0
        print(
            f"{config.case_id} {spec} {record['status']} val={val:.4f} test={test:.4f} train={train:.1f}s "
            f"padding={padding:.1%} wall={seconds:.1f}s",
            flush=True,
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
