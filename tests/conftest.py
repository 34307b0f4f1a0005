"""Shared test helpers: the packaged Cornell files, and small models."""

import os
from pathlib import Path

import peft  # noqa: F401  (see below)
import pytest
import torch
import transformers.models.bert.modeling_bert  # noqa: F401

from rtsent.data.sources import PACKAGED_DATA_FOLDER
from rtsent.engine.devices import available_cores
from rtsent.plugin.distributed import threads_per_worker, worker_id

pytest_plugins = ("pytester",)

# pytester's in-process runs (runpytest_inprocess) drop every module the run imported; transformers' lazy
# model modules, and torch's operator registrations that peft's imports trigger, cannot be imported a second
# time in one process, so a test file run after such a run in the same worker failed at import
# ("Could not import module 'BloomPreTrainedModel'"). Imported once here, before any of those runs.

# Under pytest-xdist (the README's `-n 2`) each worker, and every bench run it starts, gets its share of
# the cores: OpenMP threads of two processes each sized to the whole machine spin against each other and
# run several times slower than either alone.
# torch sized its own pool when this conftest's imports loaded it, before the variable was set: the worker's
# torch is resized too (left at the whole machine, tiny-model tests in both workers ran ten times slower).
if worker_id() is not None:
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(threads_per_worker(available_cores()))
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(scope="session")
def polarity_folder() -> Path:
    """The rt-polarity files shipped inside the package (no ../shared needed)."""
    return PACKAGED_DATA_FOLDER
