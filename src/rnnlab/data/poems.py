"""Classical Chinese poems: the ``Poem`` record, cleaning, and form detection.

A poem's *lines* (句) are its clauses: the runs of characters ending in one of ，。！？； .
Forms are named by characters per line and number of lines:

=========  ===============  =======================
form       chars per line   lines
=========  ===============  =======================
五言绝句    5                4   (five-character quatrain)
七言绝句    7                4   (seven-character quatrain)
五言律诗    5                8   (five-character regulated verse)
七言律诗    7                8   (seven-character regulated verse)
=========  ===============  =======================

Cleaning follows what the chinese-poetry data needs: editors' notes in brackets （…） (…) 《…》 […] 【…】
{…} are removed with their content, half-width punctuation becomes full-width, any other non-Chinese
symbol (digits, Latin letters, dashes, quotes) is dropped, doubled punctuation is collapsed, and a poem
with a missing-character mark (□) or with no Chinese characters left is dropped as broken.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rnnlab.errors import ConfigError, DataError

LINE_END = "，。！？；"
# Punctuation kept by cleaning: line ends plus the colon and enumeration comma found inside lines.
KEPT_PUNCT = LINE_END + "：、"
# Marks the collection uses for illegible or lost characters: a poem containing one is incomplete.
MISSING_MARKS = "□■�〇◻"

FORMS: dict[str, tuple[int, int]] = {
    "五言绝句": (5, 4),
    "七言绝句": (7, 4),
    "五言律诗": (5, 8),
    "七言律诗": (7, 8),
}
OTHER_FORM = "其他"

_LINE_SPLIT = re.compile(f"[{LINE_END}]")
_BRACKETED = re.compile(
    r"（[^（）]*）|\([^()]*\)|《[^《》]*》|〈[^〈〉]*〉|\[[^\[\]]*\]|【[^【】]*】|\{[^{}]*\}|｛[^｛｝]*｝"
)
_HALF_TO_FULL = str.maketrans({",": "，", ".": "。", "!": "！", "?": "？", ";": "；", ":": "："})
# CJK Unified Ideographs, extension A, compatibility ideographs, and the supplementary-plane extensions.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_STRAY = re.compile(f"[^{_HAN}{KEPT_PUNCT}]")
_HAS_HAN = re.compile(f"[{_HAN}]")
_REPEATED_PUNCT = re.compile(f"[{KEPT_PUNCT}]{{2,}}")


@dataclass(frozen=True)
class Poem:
    """One poem: ``paragraphs`` as the source gives them (chinese-poetry: usually one couplet each)."""

    title: str = ""
    author: str = ""
    paragraphs: tuple[str, ...] = field(default_factory=tuple)
    id: str | None = None

    @property
    def text(self) -> str:
        """The poem's body: its paragraphs joined without separators."""
        return "".join(self.paragraphs)

    @property
    def lines(self) -> list[str]:
        """The poem's lines (clauses ending in ，。！？；), without their punctuation."""
        return split_lines(self.text)

    def to_dict(self) -> dict[str, Any]:
        """The chinese-poetry record layout: ``{"id"?, "title", "author", "paragraphs"}``."""
        out: dict[str, Any] = {} if self.id is None else {"id": self.id}
        out.update(title=self.title, author=self.author, paragraphs=list(self.paragraphs))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<record>") -> Poem:
        """A poem from a chinese-poetry record; raises DataError naming ``source`` when fields are wrong."""
        if not isinstance(data, Mapping):
            raise DataError(
                f"{source}: expected a poem object {{title, author, paragraphs}}, got {type(data).__name__}"
            )
        paragraphs = data.get("paragraphs")
        if not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
            raise DataError(
                f'{source}: a poem\'s "paragraphs" must be a list of strings (chinese-poetry layout), '
                f"got {paragraphs!r:.80}"
            )
        title, author, pid = data.get("title", ""), data.get("author", ""), data.get("id")
        if not isinstance(title, str) or not isinstance(author, str):
            raise DataError(f'{source}: a poem\'s "title" and "author" must be strings')
        return cls(
            title=title, author=author, paragraphs=tuple(paragraphs), id=None if pid is None else str(pid)
        )


def split_lines(text: str) -> list[str]:
    """The clauses of ``text`` (split at ，。！？；), stripped of whitespace, empty ones dropped."""
    return [part.strip() for part in _LINE_SPLIT.split(text) if part.strip()]


# ---- cleaning ---------------------------------------------------------------------------------------
def clean_text(text: str) -> str:
    """``text`` without bracketed notes and stray symbols, with full-width, non-repeated punctuation."""
    previous = None
    while previous != text:  # nested brackets: remove the innermost pair until nothing changes
        previous, text = text, _BRACKETED.sub("", text)
    text = _STRAY.sub("", text.translate(_HALF_TO_FULL))
    # Doubled marks (。。 or ，。) come from deleted notes; keep the last, which ends the clause.
    text = _REPEATED_PUNCT.sub(lambda m: m.group()[-1], text)
    return text.lstrip(KEPT_PUNCT)


def is_broken(poem: Poem) -> bool:
    """True when the poem has a missing-character mark or no Chinese character at all."""
    text = poem.text
    return any(mark in text for mark in MISSING_MARKS) or _HAS_HAN.search(text) is None


def clean_poem(poem: Poem) -> Poem | None:
    """The cleaned poem (title and author stripped of whitespace), or None when it is empty or broken."""
    if any(mark in poem.text for mark in MISSING_MARKS):
        return None
    paragraphs = tuple(p for p in (clean_text(par) for par in poem.paragraphs) if p)
    cleaned = Poem(title=poem.title.strip(), author=poem.author.strip(), paragraphs=paragraphs, id=poem.id)
    return None if not paragraphs or is_broken(cleaned) else cleaned


@dataclass(frozen=True)
class CleaningReport:
    """What ``clean_poems`` did: poems in, dropped as empty/broken, dropped as duplicates, kept."""

    n_in: int
    n_broken: int
    n_duplicates: int

    @property
    def n_kept(self) -> int:
        """Poems that survived cleaning."""
        return self.n_in - self.n_broken - self.n_duplicates


def clean_poems_with_report(poems: Iterable[Poem], dedupe: bool = True) -> tuple[list[Poem], CleaningReport]:
    """``clean_poems`` plus counts of what was dropped."""
    kept: list[Poem] = []
    seen: set[str] = set()
    n_in = n_broken = n_dup = 0
    for poem in poems:
        n_in += 1
        cleaned = clean_poem(poem)
        if cleaned is None:
            n_broken += 1
            continue
        if dedupe:
            # Duplicates in the collection differ in title or attribution, rarely in text: compare bodies.
            if cleaned.text in seen:
                n_dup += 1
                continue
            seen.add(cleaned.text)
        kept.append(cleaned)
    return kept, CleaningReport(n_in=n_in, n_broken=n_broken, n_duplicates=n_dup)


def clean_poems(poems: Iterable[Poem], dedupe: bool = True) -> list[Poem]:
    """Clean every poem, drop empty/broken ones and (with ``dedupe``) later copies of the same text."""
    return clean_poems_with_report(poems, dedupe=dedupe)[0]


# ---- forms ------------------------------------------------------------------------------------------
def chars_per_line(text: str) -> int | None:
    """The common length of all lines of ``text``, or None when lines differ (or there are none)."""
    lengths = {len(line) for line in split_lines(text)}
    return lengths.pop() if len(lengths) == 1 else None


def poem_form(text: str) -> str | None:
    """The form of ``text`` (a key of ``FORMS``: 五言绝句, 七言绝句, 五言律诗, 七言律诗) or None."""
    lines = split_lines(text)
    width = chars_per_line(text)
    for name, (chars, n_lines) in FORMS.items():
        if width == chars and len(lines) == n_lines:
            return name
    return None


def filter_by_form(
    poems: Iterable[Poem],
    chars: Collection[int] | None = None,
    n_lines: Collection[int] | None = None,
) -> list[Poem]:
    """Poems whose lines all have a length in ``chars`` and whose line count is in ``n_lines``.

    ``None`` leaves that dimension free: ``filter_by_form(poems, chars={5, 7})`` keeps all five- and
    seven-character poems; ``filter_by_form(poems, chars={5}, n_lines={4})`` keeps 五言绝句.
    """
    out = []
    for poem in poems:
        width = chars_per_line(poem.text)
        if width is None:
            continue
        if chars is not None and width not in chars:
            continue
        if n_lines is not None and len(poem.lines) not in n_lines:
            continue
        out.append(poem)
    return out


def filter_forms(poems: Iterable[Poem], forms: Collection[str]) -> list[Poem]:
    """Poems whose ``poem_form`` is one of ``forms`` (names from ``FORMS``)."""
    unknown = set(forms) - set(FORMS)
    if unknown:
        raise ConfigError(f"unknown poem forms {sorted(unknown)}; options are {list(FORMS)}")
    return [p for p in poems if poem_form(p.text) in forms]


def form_counts(poems: Iterable[Poem]) -> dict[str, int]:
    """How many poems have each form, in ``FORMS`` order, then ``其他`` (any other shape)."""
    counts = Counter(poem_form(p.text) or OTHER_FORM for p in poems)
    return {name: counts.get(name, 0) for name in (*FORMS, OTHER_FORM)}
