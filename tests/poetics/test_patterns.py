"""The tone patterns of regulated verse against the textbook tables, and the line rules."""

from __future__ import annotations

import itertools

import pytest

from rnnlab.poetics.patterns import Rule, legal_lines, line_faults, line_tones, patterns
from rnnlab.poetics.rhymebook import Tone

T = {"平": Tone.PING, "仄": Tone.ZE}


def tones(text: str) -> tuple[Tone, ...]:
    return tuple(T[c] for c in text)


def text(line: tuple[Tone, ...]) -> str:
    return "".join(t.mark for t in line)


# 王力《诗词格律》: the four 五言绝句 and four 七言绝句 patterns, strict tones at every position.
TEXTBOOK = {
    (5, "平起首句入韵"): "平平仄仄平 仄仄仄平平 仄仄平平仄 平平仄仄平",
    (5, "平起首句不入韵"): "平平平仄仄 仄仄仄平平 仄仄平平仄 平平仄仄平",
    (5, "仄起首句入韵"): "仄仄仄平平 平平仄仄平 平平平仄仄 仄仄仄平平",
    (5, "仄起首句不入韵"): "仄仄平平仄 平平仄仄平 平平平仄仄 仄仄仄平平",
    (7, "平起首句入韵"): "平平仄仄仄平平 仄仄平平仄仄平 仄仄平平平仄仄 平平仄仄仄平平",
    (7, "平起首句不入韵"): "平平仄仄平平仄 仄仄平平仄仄平 仄仄平平平仄仄 平平仄仄仄平平",
    (7, "仄起首句入韵"): "仄仄平平仄仄平 平平仄仄仄平平 平平仄仄平平仄 仄仄平平仄仄平",
    (7, "仄起首句不入韵"): "仄仄平平平仄仄 平平仄仄仄平平 平平仄仄平平仄 仄仄平平仄仄平",
}


@pytest.mark.parametrize("chars", [5, 7])
def test_quatrain_patterns_match_the_textbook(chars: int) -> None:
    """patterns(c, 4) yields exactly the four textbook patterns, each named correctly."""
    found = {p.name: " ".join(text(p.tones(i)) for i in range(4)) for p in patterns(chars, 4)}
    assert found == {name: lines for (c, name), lines in TEXTBOOK.items() if c == chars}


@pytest.mark.parametrize("chars", [5, 7])
def test_regulated_verse_repeats_the_quatrain_with_an_unrhymed_fifth_line(chars: int) -> None:
    """律诗: lines 5–8 follow lines 1–4 by 粘, line 5 being the unrhymed form of line 1."""
    for quatrain, octave in zip(patterns(chars, 4), patterns(chars, 8), strict=True):
        assert octave.kinds[1:4] == octave.kinds[5:8] == quatrain.kinds[1:4]
        assert octave.kinds[4] == quatrain.kinds[0].lower()
        assert [octave.rhymes(i) for i in range(8)] == [
            octave.rhymed_start,
            *[i % 2 == 1 for i in range(1, 8)],
        ]


def test_rescued_lone_level_is_legal_lone_level_is_not() -> None:
    """平平仄仄平 may become 仄平平仄平 (孤平拗救) but not 仄平仄仄平 (孤平); same for 七言 third char."""
    assert tones("仄平平仄平") in legal_lines("B", 5)
    assert tones("仄平仄仄平") not in legal_lines("B", 5)
    assert (2, Rule.GUPING) in line_faults(tones("仄仄仄平仄仄平"), "B")
    assert tones("平仄平平仄仄平") in legal_lines("B", 7)


def test_three_level_tail_is_illegal() -> None:
    """仄仄仄平平 may not free its 3rd character into 仄仄平平平 (三平尾)."""
    assert tones("仄仄平平平") not in legal_lines("A", 5)
    assert line_faults(tones("仄仄平平平"), "A") == [(2, Rule.SANPINGWEI)]
    assert tones("平仄仄平平") in legal_lines("A", 5)


def test_free_positions_are_free_fixed_ones_are_not() -> None:
    """一三五不论，二四六分明: of all 2^n tone strings, the legal ones are exactly those that keep the
    type's tone at positions 2, 4, 6 and the last and break neither 孤平 nor 三平尾."""
    for chars in (5, 7):
        for kind in "aAbB":
            strict = line_tones(kind, chars)
            fixed = [c for c in range(chars) if c % 2 == 1 or c == chars - 1]
            expected = {
                s
                for s in itertools.product((Tone.PING, Tone.ZE), repeat=chars)
                if all(s[c] == strict[c] for c in fixed)
                and not (kind == "B" and sum(t == Tone.PING for t in s[-5:-1]) == 1)
                and not all(t == Tone.PING for t in s[-3:])
            }
            assert set(legal_lines(kind, chars)) == expected
            assert strict in expected
