"""Baselines: copy, and retrieval of the nearest training source's target among those of the same shape."""

from __future__ import annotations

from rnnlab.tasks.pair_baselines import Retrieval, copy_baseline
from rnnlab.tasks.pairs import Pair


def test_copy_returns_the_sources() -> None:
    """The copy baseline predicts each source itself."""
    assert copy_baseline(["风花", "雪月"]) == ["风花", "雪月"]


def test_retrieval_finds_the_nearest_source_of_the_same_shape() -> None:
    """The most similar training source wins, but only among sources of the same length and marks."""
    train = [
        Pair("明月松间照", "清泉石上流"),
        Pair("明月松间照水", "清泉石上流风"),  # more similar by characters, wrong length
        Pair("白日依山尽", "黄河入海流"),
        Pair("明月，松间照", "清泉，石上流"),
    ]
    retrieval = Retrieval(train)
    assert retrieval(["明月松间看"]) == ["清泉石上流"]
    assert retrieval(["明月，松间看"]) == ["清泉，石上流"]
    assert retrieval(["白日依山落"]) == ["黄河入海流"]
    assert retrieval(["明"]) in (["清泉石上流"], ["清泉石上流风"], ["清泉，石上流"])  # no source of length 1
