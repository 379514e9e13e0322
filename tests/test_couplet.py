"""The couplet writer: well-formed lower lines from any model, batched = alone, both engines, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnlab.couplet import CoupletWriter
from rnnlab.errors import CheckpointError, ConfigError, DataError
from rnnlab.generate.couplets import CoupletRequest
from rnnlab.poetics.rhymebook import RhymeBook, Tone

from .tasks._couplets import train_tiny_couplets

UPPERS = ["海内存知己", "两个黄鹂鸣翠柳", "明月，松间照", "白日依山尽"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_couplets(tmp_path_factory.mktemp("couplet") / "run", steps=20)


@pytest.fixture(scope="module", params=["numpy", "torch"])
def writer(run: Path, request: pytest.FixtureRequest) -> CoupletWriter:
    return CoupletWriter.load(run, engine=request.param)


def test_lower_lines_keep_length_marks_and_differ_by_position(writer: CoupletWriter) -> None:
    """Every answer is as long as its upper line, marks in place, never its character at a position."""
    for upper in UPPERS:
        for lower in writer.write(CoupletRequest(upper, num=3, seed=1)):
            assert len(lower) == len(upper)
            assert [c for c in lower if c == "，"] == [c for c in upper if c == "，"]
            assert lower.index("，") == upper.index("，") if "，" in upper else "，" not in lower
            assert all(a != b for a, b in zip(upper, lower, strict=True) if a != "，")


def test_level_ending(writer: CoupletWriter) -> None:
    """With level_ending the last character of every lower line reads 平."""
    book = RhymeBook.pingshui()
    for lower in writer.write(CoupletRequest("海内存知己", num=4, seed=2, level_ending=True)):
        assert book.tones(lower[-1]) == Tone.PING


@pytest.mark.parametrize("beam", [0, 3])
def test_batched_equals_one_at_a_time(writer: CoupletWriter, beam: int) -> None:
    """Answering a file of lines in one batch gives each line what it gets alone (sampling and beams)."""
    request = CoupletRequest("", num=2, seed=7, beam=beam)
    together = writer.write_many(UPPERS, request)
    alone = [writer.write_many([u], request)[0] for u in UPPERS]
    assert together == alone


def test_engines_agree(run: Path) -> None:
    """The NumPy and torch engines write the same lines for the same seed, and the same beams."""
    numpy_writer, torch_writer = (
        CoupletWriter.load(run, engine="numpy"),
        CoupletWriter.load(run, engine="torch"),
    )
    for request in (CoupletRequest("", num=2, seed=3), CoupletRequest("", num=2, beam=3)):
        assert numpy_writer.write_many(UPPERS, request) == torch_writer.write_many(UPPERS, request)


def test_attention_map(writer: CoupletWriter) -> None:
    """The heat map data is (lower, upper) shaped, rows sum to one within a clause, zero across clauses."""
    upper = "明月，松间照"
    lower = writer.write(CoupletRequest(upper, seed=0))[0]
    weights = writer.attention(upper, lower)
    assert weights.shape == (6, 6)
    np.testing.assert_allclose(weights[[0, 1, 3, 4, 5]].sum(axis=1), np.ones(5), rtol=1e-4)
    assert weights[0, 3:].sum() == 0 and weights[2].sum() == 0
    with pytest.raises(ConfigError, match="characters"):
        writer.attention(upper, "天涯")


def test_errors(run: Path, writer: CoupletWriter, tmp_path: Path) -> None:
    """Unknown characters, unknown engines and folders that hold no encoder–decoder are refused clearly."""
    with pytest.raises(DataError, match="龘"):
        writer.write(CoupletRequest("海内存龘己"))
    with pytest.raises(ConfigError, match="options are"):
        CoupletWriter.load(run, engine="jax")
    with pytest.raises(CheckpointError, match="not a run folder"):
        CoupletWriter.load(tmp_path)
    (tmp_path / "config.json").write_text('{"model": {}, "train": {}}', encoding="utf-8")
    with pytest.raises(CheckpointError, match="encoder–decoder"):
        CoupletWriter.load(tmp_path)
