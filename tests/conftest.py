"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


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
