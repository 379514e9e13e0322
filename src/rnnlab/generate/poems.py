"""Classical Chinese poems from a character language model: continuation, acrostic, forms, rhyme.

A form fixes the layout exactly. 五言绝句 (``5x4``) is four lines of five characters, odd lines
ending in "，" and even lines in "。"::

    position  0 1 2 3 4 5  6 7 8 9 10 11  12 …
    template  · · · · · ，  · · · · ·  。  …     · = any Chinese character

:class:`FormConstraint` is a logits processor that, at every step, allows only what the
template allows there: a Chinese character, the punctuation mark, ``<eos>`` after the last
line, a fixed character (the prompt, or an acrostic's line heads), and — with ``rhyme=True``
— only characters that rhyme with the end of line 2 at the end of lines 4, 6, 8. So every
output is a well-formed poem of the requested form whatever the model's weights; the model
chooses only among the allowed characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError, DataError
from rnnlab.generate.decoding import DecodeConfig, DecodeJob, decode
from rnnlab.generate.processors import NEG_INF, FloatArray, IntArray, LogitsProcessor, RepetitionPenalty
from rnnlab.generate.rhyme import rhyme_groups

COMMA, PERIOD = "，", "。"
FORM_NAMES = {"5x4": "五言绝句", "7x4": "七言绝句", "5x8": "五言律诗", "7x8": "七言律诗"}


@dataclass(frozen=True)
class PoemForm:
    """``chars`` characters per line, ``lines`` lines (4: 绝句 quatrain, 8: 律诗 regulated verse)."""

    chars: int
    lines: int

    def __post_init__(self) -> None:
        if self.chars not in (5, 7) or self.lines < 1:
            raise ConfigError(f"a poem form has 5 or 7 characters a line and ≥ 1 line, got {self}")

    @classmethod
    def parse(cls, spec: str) -> PoemForm:
        """``"5x4"`` → PoemForm(5, 4); the four classical forms are in FORM_NAMES."""
        try:
            chars, lines = (int(part) for part in spec.lower().split("x"))
        except ValueError:
            raise ConfigError(f"unknown form {spec!r}; options are {sorted(FORM_NAMES)}") from None
        return cls(chars, lines)

    @property
    def name(self) -> str:
        return FORM_NAMES.get(str(self), str(self))

    def __str__(self) -> str:
        return f"{self.chars}x{self.lines}"

    def template(self) -> list[str | None]:
        """None for a character slot, the punctuation mark where one belongs."""
        out: list[str | None] = []
        for line in range(self.lines):
            out += [None] * self.chars + [COMMA if line % 2 == 0 else PERIOD]
        return out

    def line_start(self, line: int) -> int:
        return line * (self.chars + 1)

    def rhyme_positions(self) -> list[int]:
        """The last character of every even line (2, 4, …): where the rhyme falls."""
        return [self.line_start(line) + self.chars - 1 for line in range(1, self.lines, 2)]


def is_hanzi(token: str) -> bool:
    """A single CJK ideograph (the characters a poem line may hold)."""
    return len(token) == 1 and unicodedata.name(token, "").startswith("CJK UNIFIED IDEOGRAPH")


class PoemVocab:
    """A vocabulary with the tables that poem constraints read at every step, built once per model.

    Building them looks at every token (a Unicode name for each, and pypinyin's reading for
    rhymes), which takes far longer than writing a poem: :class:`rnnlab.poet.Poet` keeps one and
    passes it to every request.
    """

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        for mark in (COMMA, PERIOD):
            if mark not in vocab:
                raise DataError(
                    f"the vocabulary has no {mark!r}: this model was not trained on punctuated poems"
                )
        self.punctuation = {COMMA: vocab[COMMA], PERIOD: vocab[PERIOD]}
        self.eos_id = vocab.eos_id
        self.hanzi: NDArray[np.bool_] = np.array([is_hanzi(t) for t in vocab.tokens])  # (V,)
        self.not_hanzi = np.flatnonzero(~self.hanzi)  # few: masking them is cheaper than a V-wide select
        if not self.hanzi.any():
            raise DataError("the vocabulary has no Chinese characters: this model cannot write poems")
        self._rhyme_of: NDArray[np.int64] | None = None

    @classmethod
    def of(cls, vocab: Vocab | PoemVocab) -> PoemVocab:
        return vocab if isinstance(vocab, PoemVocab) else cls(vocab)

    @property
    def rhymes_ready(self) -> bool:
        """Whether :meth:`rhyme_of` is computed already (the first call takes a while)."""
        return self._rhyme_of is not None

    def rhyme_of(self) -> NDArray[np.int64]:
        """(V,) the rhyme group of each token as an index, −1 for none (computed on first use)."""
        if self._rhyme_of is None:
            tokens = self.vocab.tokens
            groups = rhyme_groups(t for t, h in zip(tokens, self.hanzi, strict=True) if h)
            names = {name: i for i, name in enumerate(sorted(set(groups.values())))}
            # −1 marks "no known rhyme": such characters cannot close a rhymed line.
            self._rhyme_of = np.array(
                [names[groups[t]] if t in groups else -1 for t in tokens], dtype=np.int64
            )
        return self._rhyme_of


class FormConstraint:
    """Allows only what the form's template allows at each position (see the module docstring).

    ``offset`` is how many template positions the prompt already filled; ``fixed`` maps template
    positions to the only id allowed there; ``placed`` holds the prompt's ids (positions
    0 … offset−1). ``vocab`` may be a :class:`PoemVocab`, to reuse its tables.
    """

    def __init__(
        self,
        form: PoemForm,
        vocab: Vocab | PoemVocab,
        offset: int = 0,
        fixed: dict[int, int] | None = None,
        rhyme: bool = False,
        placed: Sequence[int] = (),
    ) -> None:
        self.form, self.offset, self.fixed = form, offset, dict(fixed or {})
        self.template = form.template()
        self.tables = PoemVocab.of(vocab)
        self.punctuation = self.tables.punctuation
        self.eos_id = self.tables.eos_id
        self.hanzi = self.tables.hanzi
        self.placed = list(placed)  # ids at positions 0 … offset−1 (the prompt)
        self.rhyme_of = self.tables.rhyme_of() if rhyme else None
        rhymes = form.rhyme_positions()
        self.anchor = rhymes[0] if rhymes else -1  # the first rhyme sets the group …
        self.rhymed = set(rhymes[1:])  # … that the later ones must match

    def only(self, position: int) -> int | None:
        """The one id the template allows at ``position``, or None where a character is chosen."""
        if position >= len(self.template):
            return self.eos_id
        if position in self.fixed:
            return self.fixed[position]
        slot = self.template[position]
        return None if slot is None else self.punctuation[slot]

    def allowed(self, position: int, row: Sequence[int]) -> NDArray[np.bool_]:
        """Boolean mask (V,) of ids allowed at ``position`` given the poem's ids so far."""
        forced = self.only(position)
        if forced is not None:
            mask = np.zeros_like(self.hanzi)
            mask[forced] = True
            return mask
        if self.rhyme_of is not None and position in self.rhymed:
            anchor = self.rhyme_of[row[self.anchor]]
            if anchor >= 0:
                return self.hanzi & (self.rhyme_of == anchor)
        return self.hanzi

    def __call__(self, generated: IntArray, logits: FloatArray) -> FloatArray:
        position = self.offset + generated.shape[1]
        forced = self.only(position)
        if forced is not None:
            out = np.full_like(logits, NEG_INF)
            out[:, forced] = logits[:, forced]
            return out
        if self.rhyme_of is not None and position in self.rhymed:
            rows = [[*self.placed, *ids] for ids in generated.tolist()]
            mask = np.stack([self.allowed(position, row) for row in rows])
            return np.where(mask, logits, NEG_INF)
        out = logits.copy()
        out[:, self.tables.not_hanzi] = NEG_INF
        return out


@dataclass
class PoemRequest:
    """What to write; every field is optional except that a prompt needs a model to continue it."""

    prefix: str = ""  # the poem's opening (a first line such as 床前明月光), continued by the model
    acrostic: str = ""  # 藏头诗: line i starts with acrostic[i]
    form: str | None = None  # "5x4", "7x4", "5x8", "7x8"; None: from the prefix/acrostic, else 5x4
    rhyme: bool = False  # even lines end in one rhyme group (十八韵, see rhyme.py)
    prime: str = ""  # style text fed before the poem, not part of it (the tutorial's prefix_words)
    num: int = 1  # poems to write, decoded together
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.9
    repetition_penalty: float = 1.2  # punctuation is exempt: the form needs it
    seed: int | None = None


def resolve_form(request: PoemRequest) -> PoemForm:
    """The requested form, else one inferred from the prefix's first line and the acrostic."""
    if request.form:
        return PoemForm.parse(request.form)
    first_line = request.prefix.split(COMMA)[0].split(PERIOD)[0]
    chars = 7 if len(first_line) == 7 else 5
    return PoemForm(chars, len(request.acrostic) or 4)


def check_characters(text: str, vocab: Vocab, what: str) -> str:
    """Return ``text`` with traditional characters made simplified where that resolves them.

    Raises DataError listing characters the model does not know: they would silently become
    ``<unk>`` in the user's own words otherwise.
    """
    unknown = [c for c in text if c not in vocab]
    if not unknown:
        return text
    # OpenCC loads its dictionaries on import; only input with unknown characters needs it.
    from rnnlab.data.convert import to_simplified

    converted = to_simplified(text)
    still = list(dict.fromkeys(c for c in converted if c not in vocab))  # in the order typed
    if still:
        raise DataError(
            f"the {what} has characters this model does not know: {' '.join(still)}; "
            "use other characters (or a model trained on text that contains them)"
        )
    return converted


def _layout(form: PoemForm, prefix: str, acrostic: str) -> tuple[list[str], dict[int, str]]:
    """Place the prefix on the template (adding punctuation where it falls) and the acrostic heads."""
    template = form.template()
    placed: list[str] = []
    for char in prefix:
        if len(placed) >= len(template):
            raise ConfigError(f"the prefix is longer than a whole {form.name} ({form})")
        slot = template[len(placed)]
        if char in (COMMA, PERIOD):
            if slot is None:
                raise ConfigError(
                    f"the prefix has {char!r} after {len(placed) % (form.chars + 1)} characters, but a "
                    f"{form.name} line has {form.chars}: choose --form {12 - form.chars}x{form.lines}"
                )
            placed.append(slot)
            continue
        if slot is not None:
            placed.append(slot)  # the line is full: its punctuation goes in before the next character
        if not is_hanzi(char):
            raise ConfigError(f"the prefix may hold Chinese characters and ，。 only, got {char!r}")
        placed.append(char)
    if acrostic and len(acrostic) != form.lines:
        raise ConfigError(
            f"an acrostic of {len(acrostic)} characters needs {len(acrostic)} lines, but {form} has "
            f"{form.lines}; use --form {form.chars}x{len(acrostic)} or leave --form out"
        )
    heads = {form.line_start(i): c for i, c in enumerate(acrostic)}
    for position, char in heads.items():
        if position < len(placed) and placed[position] != char:
            raise ConfigError(f"the prefix puts {placed[position]!r} where the acrostic needs {char!r}")
    return placed, heads


@dataclass
class PoemJob:
    """A poem request made ready to decode: its decoding job, and how its rows become poems."""

    job: DecodeJob
    form: PoemForm
    placed: list[str]  # the prompt laid out on the template (punctuation added)
    to_text: Callable[[list[int]], str]  # generated ids → characters

    def poems(self) -> list[str]:
        """The job's rows as poems, each as its lines joined by newlines (call when the job is done)."""
        return [
            format_poem("".join(self.placed) + self.to_text(ids), self.form) for ids in self.job.outputs()
        ]


def prepare_poems(vocab: Vocab | PoemVocab, request: PoemRequest, start_id: int | None = None) -> PoemJob:
    """Check ``request`` and turn it into a decoding job (ConfigError/DataError explain bad requests).

    ``start_id`` is the token the model saw before every poem in training (``<bos>`` by default).
    """
    tables = PoemVocab.of(vocab)
    words = tables.vocab
    prefix = check_characters(request.prefix, words, "prefix")
    acrostic = check_characters(request.acrostic, words, "acrostic")
    prime = check_characters(request.prime, words, "priming text")
    form = resolve_form(request)
    placed, heads = _layout(form, prefix, acrostic)
    placed_ids = [words[c] for c in placed]
    constraint = FormConstraint(
        form,
        tables,
        offset=len(placed),
        fixed={p: words[c] for p, c in heads.items() if p >= len(placed)},
        rhyme=request.rhyme,
        placed=placed_ids,
    )
    processors: list[LogitsProcessor] = [constraint]
    if request.repetition_penalty != 1.0:
        punctuation = tuple(tables.punctuation.values())
        processors.append(RepetitionPenalty(request.repetition_penalty, ignore=punctuation))
    config = DecodeConfig(
        # The rest of the template; <eos> would be the only choice after it, so it is not decoded.
        max_new_tokens=len(form.template()) - len(placed),
        temperature=request.temperature,
        top_k=request.top_k,
        top_p=request.top_p,
        num_samples=request.num,
        seed=request.seed,
        stop_ids=(words.eos_id,),
    )
    start = words.bos_id if start_id is None else start_id
    context = [*(words[c] for c in prime), start, *placed_ids]
    eos = words.eos_id

    def to_text(ids: list[int]) -> str:
        return "".join(words.to_tokens([i for i in ids if i != eos]))

    return PoemJob(DecodeJob(context, config, processors), form, placed, to_text)


def write_poems(
    model: Any, vocab: Vocab | PoemVocab, request: PoemRequest, start_id: int | None = None
) -> list[str]:
    """Write ``request.num`` poems; each is returned as its lines joined by newlines.

    ``model`` is a stepper (the NumPy engine) or a torch language model; ``vocab`` may be a
    :class:`PoemVocab` to reuse its tables across requests. ``start_id`` is the token the model
    saw before every poem in training (``<bos>`` by default).
    """
    poem_job = prepare_poems(vocab, request, start_id)
    decode(model, [poem_job.job])
    return poem_job.poems()


def format_poem(text: str, form: PoemForm) -> str:
    """One line per verse line, punctuation kept."""
    width = form.chars + 1
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))
