"""Measuring: device and precision choice, synchronized timers, peak memory, FLOP/s, machine facts."""

from __future__ import annotations

import contextlib
import os
import platform
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psutil
import torch

from rtsent.engine.devices import DTYPES, cpu_has_bf16, synchronize


class _RssPeak:
    """Peak resident set size of this process over a window, in bytes.

    Linux lets a process reset its high-water mark (`echo 5 > /proc/self/clear_refs`), so VmHWM
    then gives the window's exact peak; elsewhere a 5 ms sampling thread approximates it.
    """

    def __init__(self) -> None:
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hwm = False

    def start(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            self._hwm = True
        except OSError:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.wait(0.005):
            self._peak = max(self._peak, process.memory_info().rss)

    def stop(self) -> int:
        if self._hwm:
            with open("/proc/self/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return max(self._peak, psutil.Process().memory_info().rss)


@dataclass
class Window:
    """What one measured window (e.g. training) took: seconds and peak memory in bytes."""

    seconds: float = 0.0
    peak_rss_bytes: int | None = None
    cuda_max_allocated_bytes: int | None = None
    cuda_max_reserved_bytes: int | None = None


@contextlib.contextmanager
def measure(device: torch.device) -> Iterator[Window]:
    """Time a block (device synchronized at both ends) and take its peak memory."""
    window = Window()
    rss = _RssPeak()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    rss.start()
    start = time.perf_counter()
    try:
        yield window
    finally:
        synchronize(device)
        window.seconds = time.perf_counter() - start
        window.peak_rss_bytes = rss.stop()
        if device.type == "cuda":
            window.cuda_max_allocated_bytes = torch.cuda.max_memory_allocated(device)
            window.cuda_max_reserved_bytes = torch.cuda.max_memory_reserved(device)


def matmul_flops(device: torch.device, precision: str, *, size: int = 1024, seconds: float = 1.0) -> float:
    """This machine's dense matmul FLOP/s in `precision` (a short calibration, the attainable peak)."""
    dtype = DTYPES[precision] if not (precision == "fp16" and device.type == "cpu") else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    synchronize(device)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        runs += 1
        if device.type == "cuda" and runs % 10 == 0:
            synchronize(device)
    synchronize(device)
    return 2 * size**3 * runs / (time.perf_counter() - start)


def machine_facts(device: torch.device) -> dict[str, Any]:
    """Device and library identity for each record and for pytest-benchmark's machine_info."""
    import datasets
    import peft
    import sklearn
    import transformers

    facts: dict[str, Any] = {
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cpu_bf16": cpu_has_bf16(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "datasets": datasets.__version__,
        "scikit-learn": sklearn.__version__,
    }
    if device.type == "cuda":
        facts["cuda"] = torch.version.cuda
    else:
        with contextlib.suppress(OSError):
            with open("/proc/cpuinfo") as handle:
                names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
            facts["device_name"] = names[0] if names else facts["device_name"]
    return facts
