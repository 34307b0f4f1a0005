"""The device and the precision a case runs in, chosen here and nowhere else: the precision names
(`rtsent.schema.caseid.PRECISIONS`, which case ids carry), their torch dtypes, what "mixed" resolves to on
this device, whether the CPU has native bf16, autocast, synchronisation, and the thread count.
"""

from __future__ import annotations

import contextlib
import os

import psutil
import torch

from rtsent.schema.caseid import PRECISIONS

# "mixed" in a profile means the device's mixed precision: fp16 on CUDA (as the study ran LoRA), bf16 on CPU.
MIXED = "mixed"

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
HALF = ("fp16", "bf16")  # the precisions that run under autocast, with frozen weights stored in them
# one set of names: the case-id grammar's (a precision added there needs its dtype here)
assert set(DTYPES) == set(PRECISIONS), (sorted(DTYPES), PRECISIONS)


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_has_bf16() -> bool:
    """True where the CPU has native bf16 dot products (AVX512_BF16 or AMX), which make bf16 pay."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> tuple[str, str | None]:
    """(precision to run, reason to skip or None). "mixed" becomes fp16 on CUDA, bf16 on a CPU with it."""
    if precision == MIXED:
        precision = "fp16" if device.type == "cuda" else "bf16"
    if precision not in DTYPES:
        raise ValueError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)} or {MIXED}")
    if precision == "fp16" and device.type != "cuda":
        return precision, "fp16 autocast with gradient scaling needs CUDA; this run has no GPU"
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return precision, f"bf16 is not supported by {torch.cuda.get_device_name(device)}"
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        return precision, "this CPU has no native bf16 (avx512_bf16/amx): bf16 would be emulated"
    return precision, None


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def available_cores() -> int:
    """Physical cores this process may use: a job allowed fewer CPUs (Slurm, taskset, containers) gets those."""
    physical = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        physical = min(physical, len(os.sched_getaffinity(0)))
    return physical


def configure_threads() -> int:
    """torch threads = physical cores (hyper-threads slow matmuls), or OMP_NUM_THREADS where it is set
    to a positive integer (a job sharing the machine with others, as torch itself reads it); tokenizers
    stay single-threaded so their pool does not fight the training threads. Returns the cores available."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    physical = available_cores()
    asked = os.environ.get("OMP_NUM_THREADS", "")
    torch.set_num_threads(int(asked) if asked.isdigit() and int(asked) > 0 else physical)
    return physical
