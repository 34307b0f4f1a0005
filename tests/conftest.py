"""Shared test helpers: the packaged Cornell files, and small models."""

import os
from pathlib import Path

import pytest

from rtsent.data import PACKAGED_DATA_FOLDER
from rtsent.distributed import threads_per_worker
from rtsent.measuring import available_cores

pytest_plugins = ("pytester",)

# Under pytest-xdist (the README's `-n 2`) each worker, and every bench run it starts, gets its share of
# the cores: OpenMP threads of two processes each sized to the whole machine spin against each other and
# run several times slower than either alone.
if "PYTEST_XDIST_WORKER" in os.environ and "OMP_NUM_THREADS" not in os.environ:
    os.environ["OMP_NUM_THREADS"] = str(threads_per_worker(available_cores()))


@pytest.fixture(scope="session")
def polarity_folder() -> Path:
    """The rt-polarity files shipped inside the package (no ../shared needed)."""
    return PACKAGED_DATA_FOLDER
