"""Shared test helpers: the packaged Cornell files, and small models."""

import os
from pathlib import Path

import pytest

from rtsent.data import PACKAGED_DATA_FOLDER

pytest_plugins = ("pytester",)

# Under pytest-xdist (the README's `-n 2`) each worker, and every bench run it starts, gets its share of
# the cores: OpenMP threads of two processes each sized to the whole machine spin against each other and
# run several times slower than either alone.
if "PYTEST_XDIST_WORKER" in os.environ and "OMP_NUM_THREADS" not in os.environ:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    os.environ["OMP_NUM_THREADS"] = str(max(1, _cores // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))


@pytest.fixture(scope="session")
def polarity_folder() -> Path:
    """The rt-polarity files shipped inside the package (no ../shared needed)."""
    return PACKAGED_DATA_FOLDER
