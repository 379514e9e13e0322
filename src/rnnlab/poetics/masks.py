"""Vocabulary masks for the metre: which tokens fit a :class:`~rnnlab.poetics.automaton.Slot`.

Built once per vocabulary, as NumPy arrays over token ids, from the generator's view of the rhyme
book (:meth:`RhymeBook.attested`: a token fits a 平 slot only if every traditional character it
may stand for reads 平). Tokens that are not Chinese characters, or that the book does not know,
fit no slot. The decoder combines a slot's mask with its other constraints (the form's template,
a prompt) by logical and.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from rnnlab.poetics.automaton import Slot, Sound
from rnnlab.poetics.rhymebook import RhymeBook, Tone

BoolArray = NDArray[np.bool_]


class VocabMasks:
    """Boolean masks (V,) over a vocabulary's tokens, one per tone class and per level-tone group."""

    def __init__(self, tokens: Sequence[str], book: RhymeBook) -> None:
        sounds = [Sound.attested(t, book) if len(t) == 1 else Sound(Tone.NONE) for t in tokens]
        self.tones = np.array([int(s.tones) for s in sounds], dtype=np.uint8)  # (V,) bits of Tone
        # Every tone of every form (the checker's view): a token may end an unrhymed line only if
        # none of its forms could be read 平 — a reader would hear it as a rhyme.
        self.any_tones = np.array([int(book.tones(t)) if len(t) == 1 else 0 for t in tokens], dtype=np.uint8)
        self.level_groups: tuple[str, ...] = book.level_groups
        self.in_group = np.zeros((len(self.level_groups), len(tokens)), dtype=bool)  # (G, V)
        index = {g: i for i, g in enumerate(self.level_groups)}
        for token_id, sound in enumerate(sounds):
            for group in sound.groups:
                self.in_group[index[group], token_id] = True
        self._index = index
        self.groups: tuple[str, ...] = book.groups
        self._any_index = {g: i for i, g in enumerate(self.groups)}
        self.in_any_group = np.zeros((len(self.groups), len(tokens)), dtype=bool)  # (106, V), any tone
        for token_id, token in enumerate(tokens):
            for reading in book.readings(token) if len(token) == 1 else ():
                self.in_any_group[self._any_index[reading.group], token_id] = True
        self.sounds = sounds

    def __len__(self) -> int:
        return len(self.tones)

    def group_sizes(self) -> dict[str, int]:
        """Tokens that can rhyme in each level-tone group."""
        return dict(zip(self.level_groups, self.in_group.sum(axis=1).tolist()))

    def rich_groups(self, at_least: int) -> list[str]:
        """The groups with ``at_least`` rhyming tokens: the ones worth offering a poem."""
        return [g for g, n in self.group_sizes().items() if n >= at_least]

    def slot(self, slot: Slot) -> BoolArray:
        """Tokens that fit ``slot``."""
        if slot.only:
            mask = (self.any_tones == int(slot.tones)) & (self.tones != 0)
        else:
            mask = (self.tones & int(slot.tones)) != 0
        if slot.groups is not None:
            rows = [self._index[g] for g in slot.groups if g in self._index]
            mask = mask & self.in_group[rows].any(axis=0)
        if slot.avoid:
            rows = [self._any_index[g] for g in slot.avoid if g in self._any_index]
            mask = mask & ~self.in_any_group[rows].any(axis=0)
        return mask

    def allowed(self, slots: Iterable[Slot]) -> BoolArray:
        """Tokens that fit at least one of ``slots`` (the patterns still alive)."""
        mask = np.zeros(len(self.tones), dtype=bool)
        for slot in slots:
            mask |= self.slot(slot)
        return mask
