"""Regulated verse in decoding: the metre and the Pingshui rhyme as NumPy logits processors.

Both read the poem's template positions the way :class:`~rnnlab.generate.poems.FormConstraint`
does and mask only where a character is chosen; the form constraint runs first and forces
punctuation, ``<eos>`` and fixed characters (prompt, acrostic heads), so the two compose by
logical and.

:class:`MetreConstraint` keeps one :class:`~rnnlab.poetics.automaton.MetreState` per row,
found from the row's history (the decoder passes histories, not row identities), and allows
the tokens that fit one of its slots: every line stays inside a legal pattern (二四六, 孤平,
三平尾, 对, 粘), rhyming lines end in one Pingshui level-tone group. The automaton only offers a
tone or group from which the line can still be finished — it looks ahead to the end of the line
and at the fixed characters still to come — and :class:`MetreTables` checks once that the
vocabulary holds a token for every kind of slot. So a legal continuation always exists and the
decoder never needs to backtrack: a row with nothing allowed raises instead of writing an
illegal character (``benchmarks/poems.py`` counts such rows: none).

:class:`PingshuiRhyme` is ``--rhyme`` with the Pingshui book: the even lines' last characters
share a level-tone group, with no tone pattern.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import ConfigError, DataError
from rnnlab.generate.poems import PoemForm
from rnnlab.generate.processors import NEG_INF, FloatArray, IntArray
from rnnlab.poetics.automaton import MetreError, MetreState, Slot, Sound
from rnnlab.poetics.masks import VocabMasks
from rnnlab.poetics.rhymebook import RhymeBook, Tone

BoolArray = NDArray[np.bool_]
# A group is offered to a poem only if the vocabulary has this many tokens that rhyme in it: a
# 律诗 needs four or five different rhymes, and the model should still have a choice at the last.
MIN_GROUP_TOKENS = 12


class MetreTables:
    """The vocabulary's masks and sounds for the metre, built once per vocabulary (≈0.2 s)."""

    def __init__(self, tokens: Sequence[str], book: RhymeBook | None = None) -> None:
        self.book = book or RhymeBook.pingshui()
        self.tokens = list(tokens)
        self.masks = VocabMasks(self.tokens, self.book)
        self.groups = frozenset(self.masks.rich_groups(MIN_GROUP_TOKENS))
        self._check()

    def _check(self) -> None:
        """Every kind of slot the automaton can ask for has a token, or decoding could get stuck."""
        masks = self.masks
        if not self.groups:
            raise DataError(
                f"no Pingshui rhyme group has {MIN_GROUP_TOKENS} characters in this vocabulary: it is "
                "too small for --metre or a Pingshui --rhyme; use --rhyme-book modern or a larger model"
            )
        for tone in (Tone.PING, Tone.ZE, Tone.ANY):
            if not masks.slot(Slot(tone)).any():
                raise DataError(f"the vocabulary has no character of tone {tone.mark}: too small for --metre")
        # An unrhymed line must be able to end in 仄 without echoing the rhyme of line 2.
        for group in self.groups:
            rhymes = np.flatnonzero(masks.slot(Slot(Tone.PING, frozenset({group}))))
            echoes = frozenset().union(*(masks.sounds[i].echoes for i in rhymes))
            if not masks.slot(Slot(Tone.ZE, only=True, avoid=echoes)).any():
                raise DataError(
                    "no 仄 character of this vocabulary can end an unrhymed line: too small for --metre"
                )

    def sound(self, token_id: int, fixed: bool) -> Sound:
        """A token's sound: as generated (attested readings) or, for the user's own characters, leniently."""
        if fixed:
            return Sound.of(self.tokens[token_id], self.book)
        return self.masks.sounds[token_id]


def char_positions(template: Sequence[str | None]) -> list[int | None]:
    """For each template position, its index among the character positions (None for punctuation)."""
    out: list[int | None] = []
    count = 0
    for slot in template:
        out.append(count if slot is None else None)
        count += slot is None
    return out


class MetreConstraint:
    """Logits processor keeping every row inside one regulated pattern with a Pingshui rhyme.

    ``placed`` holds the prompt's ids at the template positions 0 … offset−1 of ``form``; ``fixed``
    maps template positions ahead to the id that must stand there. Raises MetreError at
    construction when the prompt or the acrostic breaks every pattern.
    """

    def __init__(
        self,
        form: PoemForm,
        tables: MetreTables,
        placed: Sequence[int] = (),
        fixed: Mapping[int, int] | None = None,
    ) -> None:
        self.tables, self.offset = tables, len(placed)
        self.index = char_positions(form.template())
        self.fixed = dict(fixed or {})
        heads: dict[int, Sound] = {}
        for position, token_id in self.fixed.items():
            char_position = self.index[position]
            if char_position is not None:
                heads[char_position] = tables.sound(token_id, fixed=True)
        try:
            state = MetreState.start(form.chars, form.lines, tables.groups, heads)
            for position, token_id in enumerate(placed):
                if self.index[position] is not None:
                    state = state.push(tables.sound(token_id, fixed=True), tables.tokens[token_id])
        except MetreError as err:
            raise MetreError(
                f"the prefix breaks the metre: {err}; change that character or leave out --metre",
                err.position,
            ) from None
        self._root = state
        self._states: dict[tuple[int, ...], MetreState] = {}
        self._allowed: dict[tuple[Slot, ...], BoolArray] = {}
        self.dead_ends = 0  # rows left with nothing legal (stays 0: see the module docstring)

    def state(self, row: Sequence[int]) -> MetreState:
        """The automaton after the generated ids ``row`` (cached by history)."""
        key = tuple(row)
        if not key:
            return self._root
        found = self._states.get(key)
        if found is None:
            found = parent = self.state(key[:-1])
            position = self.offset + len(key) - 1
            if self.index[position] is not None and not parent.done:
                sound = self.tables.sound(key[-1], fixed=position in self.fixed)
                found = parent.push(sound, self.tables.tokens[key[-1]])
            self._states[key] = found
        return found

    def allowed(self, state: MetreState) -> BoolArray:
        """(V,) tokens that fit one of the state's slots."""
        slots = tuple(state.slots())
        if slots not in self._allowed:
            self._allowed[slots] = self.tables.masks.allowed(slots)
        return self._allowed[slots]

    def __call__(self, generated: IntArray, logits: FloatArray) -> FloatArray:
        position = self.offset + generated.shape[1]
        if position >= len(self.index) or self.index[position] is None or position in self.fixed:
            return logits  # punctuation, <eos> or a fixed character: the form constraint decides
        rows = generated.tolist()
        mask = np.stack([self.allowed(self.state(row)) for row in rows])
        out = np.where(mask, logits, NEG_INF)
        stuck = ~np.isfinite(out).any(axis=1)
        if stuck.any():
            self.dead_ends += int(stuck.sum())
            raise ConfigError(
                "no character this model may write keeps the metre here (another constraint removed "
                "them all); leave out --metre or the other constraint"
            )
        # A job's rows advance together: the next step only needs the states computed now.
        self._states = {k: v for k, v in self._states.items() if len(k) == generated.shape[1]}
        return out


class PingshuiRhyme:
    """Logits processor: the last characters of lines 2, 4, … share a Pingshui level-tone group."""

    def __init__(self, form: PoemForm, tables: MetreTables, placed: Sequence[int] = ()) -> None:
        self.tables, self.placed = tables, list(placed)
        self.rhymes = form.rhyme_positions()
        self.masks = tables.masks

    def groups(self, row: Sequence[int]) -> frozenset[str]:
        """The groups every rhyme so far shares (all the vocabulary's rich groups before the first)."""
        groups = self.tables.groups
        for position in self.rhymes:
            if position >= len(row):
                break
            shared = groups & self.tables.sound(row[position], fixed=position < len(self.placed)).groups
            groups = shared or groups  # a prompt's line that fits no group is not rhymed with
        return groups

    def __call__(self, generated: IntArray, logits: FloatArray) -> FloatArray:
        position = len(self.placed) + generated.shape[1]
        if position not in self.rhymes:
            return logits
        mask = np.stack(
            [
                self.masks.slot(Slot(Tone.PING, self.groups([*self.placed, *row])))
                for row in generated.tolist()
            ]
        )
        return np.where(mask, logits, NEG_INF)
