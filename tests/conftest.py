"""Shared test helpers: the packaged Cornell files, and small models."""

from pathlib import Path

import pytest

from rtsent.data import PACKAGED_DATA_FOLDER

pytest_plugins = ("pytester",)


@pytest.fixture(scope="session")
def polarity_folder() -> Path:
    """The rt-polarity files shipped inside the package (no ../shared needed)."""
    return PACKAGED_DATA_FOLDER
