"""Tokenizers: text → list of token strings, and back.

Two are enough for this project:

* ``CharTokenizer`` — every Unicode character is a token (the default for Chinese poems, and the
  char-rnn / tiny-shakespeare setting for English).
* ``WordTokenizer`` — a regular expression picks words and punctuation marks out of English text; by
  default ``\\w+(?:'\\w+)*|[^\\w\\s]`` keeps contractions such as "don't" whole and makes each punctuation
  mark its own token. Whitespace is dropped, so detokenizing joins with single spaces.

Both describe themselves as a small JSON-able dict (``to_dict``), which is what the on-disk token cache
uses to tell one tokenization from another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from rnnlab.errors import ConfigError

DEFAULT_WORD_PATTERN = r"\w+(?:'\w+)*|[^\w\s]"


@runtime_checkable
class Tokenizer(Protocol):
    """What the corpus readers and the token cache need from a tokenizer."""

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into tokens."""
        ...

    def detokenize(self, tokens: Iterable[str]) -> str:
        """Join tokens back into text (exact for characters, space-joined for words)."""
        ...

    def tokenize_stream(self, pieces: Iterable[str]) -> Iterator[Sequence[str]]:
        """Tokens of the concatenation of ``pieces``, one sequence per piece, never splitting a token."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description that ``tokenizer_from_dict`` turns back into an equal tokenizer."""
        ...


@dataclass(frozen=True)
class CharTokenizer:
    """One token per Unicode code point; ``detokenize(tokenize(s)) == s`` for every string ``s``.

    ``keep_whitespace=False`` drops spaces, tabs and newlines (useful for poems whose line breaks carry
    no meaning); by default they are kept, as char-rnn does.
    """

    keep_whitespace: bool = True

    def tokenize(self, text: str) -> list[str]:
        """The characters of ``text``."""
        if self.keep_whitespace:
            return list(text)
        return [ch for ch in text if not ch.isspace()]

    def detokenize(self, tokens: Iterable[str]) -> str:
        """The characters joined without separators."""
        return "".join(tokens)

    def tokenize_stream(self, pieces: Iterable[str]) -> Iterator[Sequence[str]]:
        """Characters piece by piece: a character never spans two decoded pieces, so no carry-over.

        With whitespace kept, the piece itself is yielded: a ``str`` is already a sequence of its
        characters, and skipping ``list(piece)`` saves one Python object per character.
        """
        for piece in pieces:
            yield piece if self.keep_whitespace else self.tokenize(piece)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "char", "keep_whitespace": ...}``."""
        return {"type": "char", **asdict(self)}


@dataclass(frozen=True)
class WordTokenizer:
    """Tokens are the non-overlapping matches of ``pattern`` (a Python regular expression).

    ``lowercase=True`` folds case first (the usual choice for small English corpora: it halves the
    vocabulary at little cost).
    """

    pattern: str = DEFAULT_WORD_PATTERN
    lowercase: bool = False
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            regex = re.compile(self.pattern)
        except re.error as err:
            raise ConfigError(f"WordTokenizer pattern {self.pattern!r} is not a valid regex: {err}") from None
        if regex.fullmatch("") is not None:
            raise ConfigError(
                f"WordTokenizer pattern {self.pattern!r} matches the empty string, which would produce empty "
                "tokens; use a pattern that needs at least one character, e.g. r'\\w+|[^\\w\\s]'"
            )
        object.__setattr__(self, "_regex", regex)

    def tokenize(self, text: str) -> list[str]:
        """All matches of the pattern, left to right."""
        if self.lowercase:
            text = text.lower()
        return self._regex.findall(text)

    def detokenize(self, tokens: Iterable[str]) -> str:
        """Tokens joined by single spaces (the original spacing is not recoverable)."""
        return " ".join(tokens)

    def tokenize_stream(self, pieces: Iterable[str]) -> Iterator[Sequence[str]]:
        """Matches over the concatenated pieces, cutting each piece at its last whitespace.

        A word may straddle two pieces, so the text after a piece's last whitespace is held back and
        prefixed to the next piece (a piece with no whitespace at all is held back whole).
        """
        carry = ""
        for piece in pieces:
            text = carry + piece
            cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"), text.rfind("\r"))
            if cut < 0:
                carry = text
                continue
            carry = text[cut + 1 :]
            yield self.tokenize(text[: cut + 1])
        if carry:
            yield self.tokenize(carry)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "word", "pattern": ..., "lowercase": ...}``."""
        return {"type": "word", "pattern": self.pattern, "lowercase": self.lowercase}


def tokenizer_from_dict(spec: dict[str, Any]) -> CharTokenizer | WordTokenizer:
    """The tokenizer ``spec`` describes (the inverse of ``to_dict``)."""
    kind = spec.get("type")
    options = {k: v for k, v in spec.items() if k != "type"}
    try:
        if kind == "char":
            return CharTokenizer(**options)
        if kind == "word":
            return WordTokenizer(**options)
    except TypeError as err:
        raise ConfigError(f"bad tokenizer options {options!r}: {err}") from None
    raise ConfigError(f"unknown tokenizer type {kind!r}; options are ['char', 'word']")


def make_tokenizer(kind: str = "char", lowercase: bool = False) -> CharTokenizer | WordTokenizer:
    """``CharTokenizer()`` for ``kind='char'``, ``WordTokenizer(lowercase=...)`` for ``kind='word'``."""
    if kind == "char":
        return CharTokenizer()
    if kind == "word":
        return WordTokenizer(lowercase=lowercase)
    raise ConfigError(f"unknown tokenizer {kind!r}; options are ['char', 'word']")
