"""Tiny corpus and model settings for the trainer tests (imported by conftest and the test modules)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

WORDS = ("the cat", "a dog", "sat on", "the mat", "ran far", "and ate", "some fish", "in rain")
TINY_MODEL: dict[str, Any] = {"embed_size": 8, "hidden_size": 16, "num_layers": 1, "dropout": 0.1}


def write_tiny_corpus(path: Path, n_lines: int = 120, seed: int = 0) -> Path:
    """Lines of 3–6 two-word phrases and a full stop: regular enough that a tiny LSTM learns fast."""
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 6))) + "." for _ in range(n_lines)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
