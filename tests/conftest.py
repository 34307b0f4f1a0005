"""Shared test helpers: the data folder CI has beside the checkout, and small models."""

from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rt-polaritydata"


@pytest.fixture(scope="session")
def polarity_folder() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared data folder {SHARED_DATA} is missing; CI lays ../shared beside the checkout")
    return SHARED_DATA
