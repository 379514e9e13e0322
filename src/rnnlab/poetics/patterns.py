"""The tone patterns of regulated verse (近体诗格律) and the rules a line is judged by.

Four line types make up every 绝句 and 律诗 (``·`` marks the 一三五不论 positions)::

    type   五言 (core)   七言              ends   rhymes
    a      仄仄平平仄    平平仄仄平平仄     仄      no
    A      仄仄仄平平    平平仄仄仄平平     平      yes
    b      平平平仄仄    仄仄平平平仄仄     仄      no
    B      平平仄仄平    仄仄平平仄仄平     平      yes

A 七言 line is its 五言 core with two characters of the opposite tone in front. The first line's
type fixes the whole poem: each second line of a couplet (对句) is the rhyming type opposite to
its first line at the 2nd character (对: a, A → B; b, B → A), and each later first line is the
non-rhyming type that shares the 2nd character of the line before it (粘: B → b, A → a). So there
are four patterns per form, named by the first line's 2nd character (平起/仄起) and whether the
first line rhymes (首句入韵, types A and B) or not (types a and b)::

    五言绝句 平起首句不入韵    b A a B    平平平仄仄，仄仄仄平平。仄仄平平仄，平平仄仄平。
    律诗 repeats the quatrain: its fifth line is the non-rhyming first line again.

Rules, for a line of ``n`` characters with tones ``t[1..n]``:

* 二四六分明 — the 2nd, 4th, (6th) and last characters must take the pattern's tone; the odd
  positions before the last are free (一三五不论) except for the two rules below.
* 孤平 — in a type-B line, the core's first four characters must hold two 平 (not one):
  仄平仄仄平 is 孤平, the rescued 仄平平仄平 is not.
* 三平尾 — no line ends in three 平.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from rnnlab.poetics.rhymebook import Tone

LINE_TYPES = "aAbB"
_CORE = {"a": "仄仄平平仄", "A": "仄仄仄平平", "b": "平平平仄仄", "B": "平平仄仄平"}
_TONE = {"平": Tone.PING, "仄": Tone.ZE}


class Rule(enum.Enum):
    """What a character breaks; the value is the traditional name."""

    DUI = "对"  # a couplet's second line must oppose its first at the 2nd, 4th, 6th characters
    NIAN = "粘"  # a couplet's first line must share the 2nd character's tone with the line before
    ALTERNATION = "二四六"  # within a line the 2nd, 4th and 6th characters alternate 平/仄
    GUPING = "孤平"
    SANPINGWEI = "三平尾"
    RHYME = "韵"  # rhyming lines end in the poem's level-tone group, the others in 仄

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    Rule.DUI: "a couplet's second line opposes its first line at the 2nd, 4th and 6th characters",
    Rule.NIAN: "a couplet's first line shares the 2nd character's tone with the line before it",
    Rule.ALTERNATION: "the 2nd, 4th and 6th characters of a line alternate 平 and 仄",
    Rule.GUPING: "a rhyming line of type 平平仄仄平 keeps two 平 before the rhyme (no lone 平)",
    Rule.SANPINGWEI: "no line ends in three 平",
    Rule.RHYME: "rhyming lines end in one level-tone group; the other lines end in 仄",
}


def line_tones(kind: str, chars: int) -> tuple[Tone, ...]:
    """The pattern's tone at every position of a line of type ``kind`` (a, A, b, B)."""
    core = [_TONE[t] for t in _CORE[kind]]
    if chars == 5:
        return tuple(core)
    if chars == 7:
        head = Tone.ANY & ~core[0]
        return (head, head, *core)
    raise ValueError(f"regulated lines have 5 or 7 characters, not {chars}")


def is_free(col: int, chars: int) -> bool:
    """一三五不论: the 1st, 3rd (and 5th) characters, never the last."""
    return col % 2 == 0 and col != chars - 1


def line_faults(tones: Sequence[Tone], kind: str) -> list[tuple[int, Rule | None]]:
    """(column, rule) for each fault of a line whose every character has one tone.

    The rule is None for a character off the pattern at a fixed position: which rule that breaks
    (对, 粘, 二四六, 韵) depends on where the line stands in the poem, see :func:`position_rule`.
    """
    chars = len(tones)
    expected = line_tones(kind, chars)
    faults: list[tuple[int, Rule | None]] = [
        (col, None) for col in range(chars) if not is_free(col, chars) and tones[col] != expected[col]
    ]
    core = tones[-5:]
    if kind == "B" and sum(t == Tone.PING for t in core[:4]) == 1:
        faults.append((chars - 5, Rule.GUPING))
    if all(t == Tone.PING for t in tones[-3:]):
        faults.append((chars - 3, Rule.SANPINGWEI))
    return faults


def position_rule(line: int, col: int, chars: int) -> Rule:
    """The rule a character off the pattern at a fixed position breaks."""
    if col == chars - 1:
        return Rule.RHYME
    if line % 2 == 1 or (line == 0 and col == 1):
        return Rule.DUI
    return Rule.NIAN if col == 1 else Rule.ALTERNATION


@cache
def legal_lines(kind: str, chars: int) -> tuple[tuple[Tone, ...], ...]:
    """Every tone sequence a line of type ``kind`` may take (two to eight of them)."""
    options = [
        (Tone.PING, Tone.ZE) if is_free(col, chars) else (tone,)
        for col, tone in enumerate(line_tones(kind, chars))
    ]
    return tuple(s for s in itertools.product(*options) if not line_faults(s, kind))


@dataclass(frozen=True)
class Pattern:
    """One of the four patterns of a form: the type of each line, fixed by the first."""

    chars: int
    kinds: tuple[str, ...]  # one of a A b B per line

    @property
    def lines(self) -> int:
        return len(self.kinds)

    @property
    def rhymed_start(self) -> bool:
        """首句入韵: the first line ends in the rhyme."""
        return self.kinds[0] in "AB"

    @property
    def name(self) -> str:
        """平起首句入韵 …, after the first line's 2nd character."""
        start = "平起" if line_tones(self.kinds[0], self.chars)[1] == Tone.PING else "仄起"
        return start + ("首句入韵" if self.rhymed_start else "首句不入韵")

    def rhymes(self, line: int) -> bool:
        """Whether ``line`` (0-based) ends in the rhyme: every second line, and the first when 入韵."""
        return line % 2 == 1 or (line == 0 and self.rhymed_start)

    def tones(self, line: int) -> tuple[Tone, ...]:
        return line_tones(self.kinds[line], self.chars)

    def template(self) -> list[str]:
        """The pattern as text, one line each, ⊙ at free positions: ``⊙仄平平仄``."""
        return [
            "".join("⊙" if is_free(c, self.chars) else t.mark for c, t in enumerate(self.tones(line)))
            for line in range(self.lines)
        ]


def next_kind(previous: str, line: int) -> str:
    """The type of line ``line`` after a line of type ``previous`` (对 inside a couplet, 粘 across)."""
    if line % 2 == 1:  # second line of a couplet: rhyming, opposite at the 2nd character
        return "B" if previous in "aA" else "A"
    return "b" if previous in "bB" else "a"  # first line of a couplet: non-rhyming, same 2nd character


def patterns(chars: int, lines: int) -> tuple[Pattern, ...]:
    """The four patterns of a form with ``lines`` (an even number ≥ 2) lines of ``chars`` characters.

    Ordered 平起入韵, 平起不入韵, 仄起入韵, 仄起不入韵 (for 五言: first lines B, b, A, a).
    """
    if chars not in (5, 7):
        raise ValueError(f"regulated lines have 5 or 7 characters, not {chars}")
    firsts = "BbAa" if chars == 5 else "AaBb"  # a 七言 line's 2nd character opposes its core's
    out = []
    for first in firsts:
        kinds = [first]
        for line in range(1, lines):
            kinds.append(next_kind(kinds[-1], line))
        out.append(Pattern(chars, tuple(kinds)))
    return tuple(out)
