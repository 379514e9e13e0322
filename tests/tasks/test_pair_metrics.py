"""Pair metrics: sacrebleu's chrF and BLEU at the character level, length, marks and tone opposition."""

from __future__ import annotations

import math

import pytest

from rnnlab.errors import DataError
from rnnlab.tasks.pair_metrics import even_positions, format_scores, score_pairs, tone_opposition


def test_perfect_predictions_score_100() -> None:
    """Predictions equal to the references get chrF = BLEU = 100 and exact match 1."""
    refs = ["天涯若比邻", "同是宦游人"]
    scores = score_pairs(["海内存知己", "与君离别意"], refs, refs)
    assert scores.chrf == pytest.approx(100.0)
    assert scores.bleu == pytest.approx(100.0)
    assert scores.exact == 1.0 and scores.length_match == 1.0 and scores.punct_match == 1.0


def test_bleu_and_chrf_count_characters() -> None:
    """Chinese text without spaces is scored by character: one wrong character of five is partial credit."""
    scores = score_pairs(["海内存知己"], ["天涯若比邻"], ["天涯若比人"])
    assert 0 < scores.chrf < 100 and 0 < scores.bleu < 100
    assert scores.exact == 0.0
    assert scores.char_match == 0.8  # four of five characters where the reference has them


def test_length_and_punctuation_match() -> None:
    """A prediction of the wrong length, or with a mark elsewhere, fails those measures."""
    sources = ["两鬓风霜，途次早行之客", "海内存知己"]
    refs = ["一蓑烟雨，溪边晚钓之翁", "天涯若比邻"]
    scores = score_pairs(sources, refs, ["一蓑烟，雨溪边晚钓之翁", "天涯若比"])
    assert scores.length_match == 0.5
    assert scores.punct_match == 0.5


def test_unaligned_pairs_skip_the_couplet_measures() -> None:
    """Titles are not couplets: no length, mark or tone figures."""
    scores = score_pairs(["床前明月光，疑是地上霜。"], ["静夜思"], ["夜思"])
    assert scores.length_match is None and scores.tone_opposition is None


def test_tone_opposition_of_a_classical_couplet() -> None:
    """白日依山尽 / 黄河入海流: positions 2 and 4 are 日/河 (仄/平) and 山/海 (平/仄): both opposite.
    海内存知己 / 天涯若比邻: 比 reads either tone, so only position 2 (内/涯) counts."""
    assert even_positions("海内存知己") == [1, 3]
    assert even_positions("两鬓风霜，途次早行之客") == [1, 3, 6, 8, 10]
    assert tone_opposition(["白日依山尽"], ["黄河入海流"]) == (1.0, 1.0)
    assert tone_opposition(["海内存知己"], ["天涯若比邻"]) == (1.0, 0.5)
    same, _ = tone_opposition(["白日依山尽"], ["白日依山尽"])
    assert same == 0.0
    nothing, none = tone_opposition([""], [""])
    assert math.isnan(nothing) and math.isnan(none)


def test_mismatched_counts_and_table() -> None:
    """Lists of different lengths raise; the table lists systems with percentages."""
    with pytest.raises(DataError, match="one of each"):
        score_pairs(["a"], ["b", "c"], ["d"])
    scores = score_pairs(["海内存知己"], ["天涯若比邻"], ["天涯若比邻"])
    table = format_scores([("model", scores)], "test")
    assert table.splitlines()[0] == "test" and "100.0" in table.splitlines()[-1]
