"""Antithetical couplets (对联) from an encoder–decoder: the lower line (下联) that answers an upper line.

The rules that a lower line must keep whatever the model's weights are enforced while decoding, by
:class:`CoupletConstraint`, a logits processor (the counterpart of the poem decoder's form
constraint)::

    upper      两 鬓 风 霜 ， 途 次 早 行 之 客     (上联: the user's line)
    position   0  1  2  3  4  5  6  7  8  9  10  11
    lower      ·  ·  ·  ·  ， ·  ·  ·  ·  ·  ·  <eos>   · = a Chinese character, chosen by the model

* the lower line has the upper line's length: ``<eos>`` is allowed only, and then forced, after
  the last position;
* the upper line's punctuation stands at the same positions, and nowhere else;
* optionally (``no_repeat``, default on) no character of the upper line is repeated at the same
  position — 对仗 answers a character with a different one;
* optionally (``mirror``, default on) the lower line repeats a character exactly where the upper
  line does (重字对重字: 风声雨声读书声 → 家事国事天下事) and nowhere else;
* optionally (``level_ending``) the last character is level-toned (平), as a lower line's is by
  rule, judged by the Pingshui rhyme book of :mod:`rnnlab.poetics` (a character counts as 平 only
  if every reading of every traditional form it may stand for is 平).

**Clauses.** A model trained on unpunctuated lines (the bundled one: lines of regulated verse) has
no punctuation in its vocabulary; an upper line with marks is then answered clause by clause —
each clause is a source of its own, decoded in the same batch — and the marks are put back
between the answers. A model whose vocabulary holds the marks reads the whole line at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError, DataError
from rnnlab.generate.poems import check_characters, is_hanzi
from rnnlab.generate.processors import NEG_INF, FloatArray, IntArray

MARKS = "，。、；：！？"
MAX_CHARS = 40  # the longest upper line accepted (long couplets of temples run to dozens)
_HALF_TO_FULL = str.maketrans({",": "，", ".": "。", ";": "；", ":": "：", "!": "！", "?": "？"})


class CoupletVocab:
    """A vocabulary with the masks couplet constraints read at every step, built once per model."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self.eos_id = vocab.eos_id
        self.hanzi: NDArray[np.bool_] = np.array([is_hanzi(t) for t in vocab.tokens])  # (V,)
        if not self.hanzi.any():
            raise DataError("the vocabulary has no Chinese characters: this model cannot write couplets")
        self.marks = {m: vocab[m] for m in MARKS if m in vocab}
        self._level: NDArray[np.bool_] | None = None

    def level(self) -> NDArray[np.bool_]:
        """(V,) True for characters that are 平 in every reading (computed on first use)."""
        if self._level is None:
            from rnnlab.poetics.masks import VocabMasks
            from rnnlab.poetics.rhymebook import RhymeBook, Tone

            masks = VocabMasks(self.vocab.tokens, RhymeBook.pingshui())
            self._level = (masks.tones == int(Tone.PING)) & self.hanzi
        return self._level


class CoupletConstraint:
    """Allows at each position only what the upper line allows there (see the module docstring).

    ``upper`` is the upper line's ids (marks included where the vocabulary has them); ``marks``
    maps positions to the mark id that must stand there.
    """

    def __init__(
        self,
        upper: Sequence[int],
        tables: CoupletVocab,
        marks: dict[int, int] | None = None,
        *,
        no_repeat: bool = True,
        level_ending: bool = False,
        mirror: bool = True,
    ) -> None:
        self.upper = list(upper)
        self.tables = tables
        self.marks = dict(marks or {})
        self.no_repeat, self.level_ending, self.mirror = no_repeat, level_ending, mirror
        self.last = max(i for i in range(len(self.upper)) if i not in self.marks)
        # Where the upper line repeats a character: position → its first occurrence.
        first: dict[int, int] = {}
        self.echo: dict[int, int] = {}
        for i, token in enumerate(self.upper):
            if i not in self.marks:
                self.echo.update({i: first[token]} if token in first else {})
                first.setdefault(token, i)

    def allowed(self, position: int) -> NDArray[np.bool_]:
        """Boolean mask (V,) of the ids allowed at ``position``."""
        mask = np.zeros_like(self.tables.hanzi)
        if position >= len(self.upper):
            mask[self.tables.eos_id] = True
            return mask
        if position in self.marks:
            mask[self.marks[position]] = True
            return mask
        mask = self.tables.level() if self.level_ending and position == self.last else self.tables.hanzi
        if self.no_repeat:
            mask = mask.copy()
            mask[self.upper[position]] = False
        return mask

    def __call__(self, generated: IntArray, logits: FloatArray) -> FloatArray:
        position = generated.shape[1]
        mask = self.allowed(position)
        if not self.mirror or position >= len(self.upper) or position in self.marks:
            return np.where(mask, logits, NEG_INF)
        masks = np.broadcast_to(mask, logits.shape).copy()  # (N, V): each row's own history
        for row, ids in enumerate(generated):
            if position in self.echo:  # the upper line repeats here: so does the lower line
                keep = ids[self.echo[position]]
                masks[row] = False
                masks[row, keep] = True
            else:  # a fresh character: none the lower line has used yet
                masks[row, ids] = False
        return np.where(masks, logits, NEG_INF)


@dataclass
class CoupletRequest:
    """What to answer and how; every field but ``upper`` is optional."""

    upper: str  # the upper line (上联), Chinese characters and the marks ，。、；：！？
    num: int = 1  # lower lines to write
    beam: int = 0  # beam width; 0 = sample (temperature/top-k/top-p), ≥ 1 = beam search
    temperature: float = 0.7  # sampling only; 0 = greedy
    top_k: int = 0
    top_p: float = 0.9
    seed: int | None = None
    no_repeat: bool = True  # no character of the upper line at the same position
    level_ending: bool = False  # the last character level-toned (平)
    mirror: bool = True  # repeat characters exactly where the upper line does, nowhere else

    def __post_init__(self) -> None:
        if self.num < 1:
            raise ConfigError(f"num must be at least 1, got {self.num}")
        if self.beam < 0:
            raise ConfigError(f"beam must be ≥ 0 (0 = sample), got {self.beam}")
        if self.beam and self.num > self.beam:
            raise ConfigError(f"beam search keeps {self.beam} lines; ask for --num ≤ --beam, got {self.num}")


@dataclass(frozen=True)
class Clause:
    """One piece of an upper line that the model answers: its text and its constraint settings."""

    text: str
    last: bool  # the line's last clause (where a level ending applies)


def check_upper(text: str, vocab: Vocab) -> str:
    """The upper line cleaned (spaces dropped, half-width marks made full-width), or a clear error."""
    line = "".join(text.split()).translate(_HALF_TO_FULL)
    if not line:
        raise ConfigError("the upper line is empty; give a line of Chinese characters, e.g. 海内存知己")
    if len(line) > MAX_CHARS:
        raise ConfigError(
            f"the upper line has {len(line)} characters; a couplet line may have at most {MAX_CHARS}"
        )
    wrong = [c for c in line if c not in MARKS and not is_hanzi(c)]
    if wrong:
        raise ConfigError(
            f"the upper line may hold Chinese characters and the marks {MARKS} only, got {''.join(wrong)!r}"
        )
    if line[0] in MARKS or any(a in MARKS and b in MARKS for a, b in itertools.pairwise(line)):
        raise ConfigError(f"the upper line {line!r} has a mark with no characters before it; remove it")
    line = line.rstrip(MARKS)
    chars = check_characters("".join(c for c in line if c not in MARKS), vocab, "upper line")
    converted = iter(chars)  # the characters made simplified where that resolves unknown ones
    return "".join(c if c in MARKS else next(converted) for c in line)


def clauses(line: str, tables: CoupletVocab) -> list[Clause]:
    """The pieces the model answers: the whole line when the vocabulary knows its marks, else each clause."""
    if all(c in tables.vocab for c in line):
        return [Clause(line, True)]
    pieces: list[str] = []
    current = ""
    for ch in line:
        if ch in MARKS:
            pieces.append(current)
            current = ""
        else:
            current += ch
    pieces.append(current)
    return [Clause(p, i == len(pieces) - 1) for i, p in enumerate(pieces)]


def join_clauses(line: str, answers: Sequence[str]) -> str:
    """The answers of a line's clauses with the line's marks put back between them."""
    marks = [ch for ch in line if ch in MARKS]
    if len(answers) == 1:
        return answers[0]
    return "".join(a + (marks[i] if i < len(marks) else "") for i, a in enumerate(answers))


def constraint_for(clause: Clause, tables: CoupletVocab, request: CoupletRequest) -> CoupletConstraint:
    """The constraint of one clause, under the request's options."""
    vocab = tables.vocab
    marks = {i: vocab[c] for i, c in enumerate(clause.text) if c in MARKS}
    return CoupletConstraint(
        [vocab[c] for c in clause.text],
        tables,
        marks,
        no_repeat=request.no_repeat,
        level_ending=request.level_ending and clause.last,
        mirror=request.mirror,
    )
