"""Couplet constraints: the lower line keeps the upper line's length and marks, and the optional rules."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError, DataError
from rnnlab.generate.couplets import (
    CoupletConstraint,
    CoupletRequest,
    CoupletVocab,
    check_upper,
    clauses,
    join_clauses,
)
from rnnlab.poetics.rhymebook import RhymeBook, Tone

CHARS = "海内存知己天涯若比邻风花雪月江山一二三，"


@pytest.fixture(scope="module")
def tables() -> CoupletVocab:
    return CoupletVocab(Vocab.build(CHARS))


def allowed_tokens(constraint: CoupletConstraint, position: int, vocab: Vocab) -> set[str]:
    return set(vocab.to_tokens(np.flatnonzero(constraint.allowed(position)).tolist()))


def test_length_marks_and_no_repeat(tables: CoupletVocab) -> None:
    """Characters only, never the upper line's own at that position; the mark in place; <eos> after."""
    vocab = tables.vocab
    upper = "风花，雪月"
    constraint = CoupletConstraint([vocab[c] for c in upper], tables, {2: vocab["，"]})
    hanzi = {c for c in CHARS if c != "，"}
    assert allowed_tokens(constraint, 0, vocab) == hanzi - {"风"}
    assert allowed_tokens(constraint, 2, vocab) == {"，"}
    assert allowed_tokens(constraint, 4, vocab) == hanzi - {"月"}
    assert allowed_tokens(constraint, 5, vocab) == {vocab.specials.eos}
    free = CoupletConstraint([vocab[c] for c in upper], tables, {2: vocab["，"]}, no_repeat=False)
    assert allowed_tokens(free, 0, vocab) == hanzi


def test_mirror_repeats_where_the_upper_line_does(tables: CoupletVocab) -> None:
    """Upper 风花风: position 2 must repeat the lower line's position 0; elsewhere no character twice."""
    vocab = tables.vocab
    constraint = CoupletConstraint([vocab[c] for c in "风花风月"], tables)
    logits = np.zeros((1, len(vocab)), dtype=np.float32)
    done = np.array([[vocab["江"], vocab["山"]]])
    out = constraint(done, logits)
    assert np.flatnonzero(np.isfinite(out[0])).tolist() == [vocab["江"]]
    fresh = constraint(np.array([[vocab["江"], vocab["山"], vocab["江"]]]), logits)
    allowed = set(vocab.to_tokens(np.flatnonzero(np.isfinite(fresh[0])).tolist()))
    assert not allowed & {"江", "山", "月"}
    free = CoupletConstraint([vocab[c] for c in "风花风月"], tables, mirror=False)
    assert np.isfinite(free(done, logits)).sum() > 1


def test_level_ending_allows_only_level_tones_last(tables: CoupletVocab) -> None:
    """With level_ending the last character is 平 in the rhyme book; earlier positions are not restricted."""
    vocab = tables.vocab
    book = RhymeBook.pingshui()
    constraint = CoupletConstraint([vocab[c] for c in "海内存知己"], tables, level_ending=True)
    last = allowed_tokens(constraint, 4, vocab)
    assert last and all(book.tones(c) == Tone.PING for c in last)
    assert "海" in allowed_tokens(constraint, 3, vocab)  # 仄, allowed before the end


def test_constraint_masks_logits(tables: CoupletVocab) -> None:
    """As a logits processor it leaves allowed scores untouched and sets the others to −∞."""
    vocab = tables.vocab
    constraint = CoupletConstraint([vocab[c] for c in "江山"], tables)
    logits = np.zeros((2, len(vocab)), dtype=np.float32)
    out = constraint(np.zeros((2, 2), dtype=np.int64), logits)  # two tokens generated: only <eos>
    assert np.isfinite(out).sum(axis=1).tolist() == [1, 1]
    assert np.isfinite(out[:, vocab.eos_id]).all()


def test_check_upper_cleans_and_refuses(tables: CoupletVocab) -> None:
    """Spaces and trailing marks go, half-width marks widen; bad input is refused."""
    vocab = tables.vocab
    assert check_upper(" 风花, 雪月。", vocab) == "风花，雪月"
    with pytest.raises(ConfigError, match="empty"):
        check_upper("  ", vocab)
    with pytest.raises(ConfigError, match="at most"):
        check_upper("风" * 41, vocab)
    with pytest.raises(ConfigError, match="'ab'"):
        check_upper("风ab花", vocab)
    with pytest.raises(ConfigError, match="mark"):
        check_upper("，风花", vocab)
    with pytest.raises(DataError, match="龘"):
        check_upper("风龘", vocab)


def test_clauses_when_the_vocabulary_lacks_the_marks() -> None:
    """A model without marks answers each clause; the marks are put back between the answers."""
    tables = CoupletVocab(Vocab.build("风花雪月江山"))
    pieces = clauses("风花；雪月江", tables)
    assert [(p.text, p.last) for p in pieces] == [("风花", False), ("雪月江", True)]
    assert join_clauses("风花；雪月江", ["江山", "花风雪"]) == "江山；花风雪"
    with_marks = CoupletVocab(Vocab.build("风花雪月江山；"))
    assert [p.text for p in clauses("风花；雪月江", with_marks)] == ["风花；雪月江"]


def test_request_checks() -> None:
    """A request asks for at least one line, and no more lines than beams."""
    with pytest.raises(ConfigError, match="at least 1"):
        CoupletRequest("风花", num=0)
    with pytest.raises(ConfigError, match="--num ≤ --beam"):
        CoupletRequest("风花", num=3, beam=2)
