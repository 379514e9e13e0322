"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session", autouse=True)
def _session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Caches go to a folder of this test session, never to the user's data directory (`rnnlab
    train` caches its encoded corpus in <data dir>/cache by default); subprocesses inherit it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNNLAB_DATA", str(tmp_path_factory.mktemp("rnnlab-data")))
        yield


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    """Every test starts from the same seeds, so failures reproduce."""
    torch.manual_seed(0)


@pytest.fixture
def shared_dir() -> Path:
    """The `../shared` folder beside the checkout; tests that need it skip cleanly when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present beside the checkout")
    return SHARED
