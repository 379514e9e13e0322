"""Fixtures of the task tests: tiny task files (see _files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._files import make_class_files, make_tag_files


@pytest.fixture
def tag_files(tmp_path: Path) -> tuple[Path, Path]:
    """A tone-like tagging task (train, test) that a lookup solves."""
    return make_tag_files(tmp_path)


@pytest.fixture
def class_files(tmp_path: Path) -> tuple[Path, Path]:
    """A two-label classification task (train, test) with disjoint vocabularies."""
    return make_class_files(tmp_path)
