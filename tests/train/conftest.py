"""A tiny generated corpus shared by the trainer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train._tiny import write_tiny_corpus


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    return write_tiny_corpus(tmp_path / "tiny.txt")
