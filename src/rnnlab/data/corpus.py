"""Corpora: ``TextCorpus`` (one text) and ``PoemCorpus`` (a list of poems), their readers and splits.

Supported inputs, detected by ``load_corpus``:

====================  ===============================================  ===========
kind                  what                                             gives
====================  ===============================================  ===========
``text``              a UTF-8 text file                                TextCorpus
``poems``             a text file with one poem a line                 PoemCorpus
``json``              chinese-poetry JSON: a list of {title, author,    PoemCorpus
                      paragraphs}
``jsonl``             one such object a line (our shared tang.jsonl)   PoemCorpus
``npz``               the tutorial's tang.npz                          PoemCorpus
a directory           every supported file below it, sorted by path    either
====================  ===============================================  ===========

Splits are deterministic. Poems go to train/validation/test by a hash of their id (or text when they
have none), so adding poems never moves the others; a text is cut into three contiguous byte ranges.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

from rnnlab.data.convert import ChineseConverter
from rnnlab.data.poems import (
    CleaningReport,
    Poem,
    clean_poems_with_report,
    filter_by_form,
    filter_forms,
    form_counts,
)
from rnnlab.data.tang import TANG_MAXLEN, Overlong, TangExport, read_tang_npz, write_tang_npz
from rnnlab.data.textio import read_text
from rnnlab.data.tokenize import CharTokenizer, Tokenizer
from rnnlab.data.vocab import SpecialTokens, Vocab
from rnnlab.errors import ConfigError, DataError

CorpusKind = Literal["text", "poems", "json", "jsonl", "npz"]
KINDS: tuple[str, ...] = ("text", "poems", "json", "jsonl", "npz")
DEFAULT_FRACTIONS = (0.9, 0.05, 0.05)
_SUFFIX_KIND = {".json": "json", ".jsonl": "jsonl", ".npz": "npz"}
_TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
_CJK = re.compile("[\u3400-\u9fff]")


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ConfigError(
            f"split fractions must be three non-negative numbers (train, validation, test) summing to 1, "
            f"got {tuple(fractions)}; e.g. (0.9, 0.05, 0.05)"
        )
    return (float(fractions[0]), float(fractions[1]), float(fractions[2]))


def hash_unit(key: str, salt: str = "rnnlab-split") -> float:
    """A number in [0, 1) fixed by ``key``: the first 8 bytes of SHA-256(salt:key) over 2⁶⁴."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


# ---- text -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextCorpus:
    """One text, read whole (for texts larger than memory, see ``rnnlab.data.cache``)."""

    text: str
    source: str = ""

    def __len__(self) -> int:
        """Number of characters."""
        return len(self.text)

    def tokens(self, tokenizer: Tokenizer | None = None) -> list[str]:
        """The text's tokens (characters by default)."""
        return (tokenizer or CharTokenizer()).tokenize(self.text)

    def build_vocab(
        self,
        tokenizer: Tokenizer | None = None,
        min_freq: int = 1,
        max_size: int | None = None,
        specials: SpecialTokens | None = None,
    ) -> Vocab:
        """A vocabulary of this text's tokens."""
        return Vocab.build(self.tokens(tokenizer), min_freq=min_freq, max_size=max_size, specials=specials)

    def split(
        self, fractions: Sequence[float] = DEFAULT_FRACTIONS
    ) -> tuple[TextCorpus, TextCorpus, TextCorpus]:
        """Train, validation and test: three contiguous byte ranges of the UTF-8 text, in that order.

        Each cut is moved forward to the next character boundary, so no character is split.
        """
        f_train, f_valid, _ = _check_fractions(fractions)
        raw = self.text.encode("utf-8")

        def boundary(pos: int) -> int:
            # UTF-8 continuation bytes look like 0b10xxxxxx; a character starts at any other byte.
            while pos < len(raw) and raw[pos] & 0xC0 == 0x80:
                pos += 1
            return pos

        a = boundary(round(f_train * len(raw)))
        b = max(a, boundary(round((f_train + f_valid) * len(raw))))
        parts = (raw[:a], raw[a:b], raw[b:])
        names = ("train", "valid", "test")
        return tuple(  # type: ignore[return-value]
            TextCorpus(p.decode("utf-8"), f"{self.source}[{n}]") for p, n in zip(parts, names, strict=True)
        )


# ---- poems ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoemCorpus:
    """A list of poems with the operations a poem model needs: clean, filter, convert, split, export."""

    poems: tuple[Poem, ...] = field(default_factory=tuple)
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "poems", tuple(self.poems))

    def __len__(self) -> int:
        """Number of poems."""
        return len(self.poems)

    def __iter__(self) -> Iterator[Poem]:
        return iter(self.poems)

    @overload
    def __getitem__(self, index: int) -> Poem: ...
    @overload
    def __getitem__(self, index: slice) -> PoemCorpus: ...
    def __getitem__(self, index: int | slice) -> Poem | PoemCorpus:
        """A poem, or a sub-corpus for a slice."""
        if isinstance(index, slice):
            return PoemCorpus(self.poems[index], self.source)
        return self.poems[index]

    def _with(self, poems: Iterable[Poem]) -> PoemCorpus:
        return PoemCorpus(tuple(poems), self.source)

    def texts(self) -> list[str]:
        """Each poem's body (paragraphs joined)."""
        return [p.text for p in self.poems]

    @property
    def n_chars(self) -> int:
        """Characters in all poem bodies, punctuation included."""
        return sum(len(p.text) for p in self.poems)

    def tokens(self) -> list[str]:
        """All characters of all poem bodies, poem after poem (no separators)."""
        return [ch for p in self.poems for ch in p.text]

    def build_vocab(
        self, min_freq: int = 1, max_size: int | None = None, specials: SpecialTokens | None = None
    ) -> Vocab:
        """A character vocabulary of the poem bodies."""
        return Vocab.build(self.tokens(), min_freq=min_freq, max_size=max_size, specials=specials)

    def clean(self, dedupe: bool = True) -> PoemCorpus:
        """See ``rnnlab.data.poems.clean_poems``."""
        return self.clean_with_report(dedupe)[0]

    def clean_with_report(self, dedupe: bool = True) -> tuple[PoemCorpus, CleaningReport]:
        """``clean`` plus what it dropped."""
        poems, report = clean_poems_with_report(self.poems, dedupe=dedupe)
        return self._with(poems), report

    def filter(
        self,
        chars: Collection[int] | None = None,
        n_lines: Collection[int] | None = None,
        forms: Collection[str] | None = None,
    ) -> PoemCorpus:
        """Poems of the given line lengths / line counts / named forms (see ``rnnlab.data.poems``)."""
        poems: Iterable[Poem] = self.poems
        if chars is not None or n_lines is not None:
            poems = filter_by_form(poems, chars=chars, n_lines=n_lines)
        if forms is not None:
            poems = filter_forms(poems, forms)
        return self._with(poems)

    def form_counts(self) -> dict[str, int]:
        """Poems per form (五言绝句, 七言绝句, 五言律诗, 七言律诗, 其他)."""
        return form_counts(self.poems)

    def to_simplified(self, converter: ChineseConverter | None = None) -> PoemCorpus:
        """Titles, authors and bodies converted to simplified characters (OpenCC ``t2s``)."""
        convert = converter or ChineseConverter("t2s")
        return self._with(convert.poem(p) for p in self.poems)

    def split(
        self, fractions: Sequence[float] = DEFAULT_FRACTIONS, salt: str = "rnnlab-split"
    ) -> tuple[PoemCorpus, PoemCorpus, PoemCorpus]:
        """Train, validation and test by poem: a poem goes where ``hash_unit(id or text)`` falls.

        The assignment depends only on the poem itself, so it is the same on every machine and run,
        and adding or removing poems never moves the others. Identical texts without ids land together.
        """
        f_train, f_valid, _ = _check_fractions(fractions)
        parts: tuple[list[Poem], list[Poem], list[Poem]] = ([], [], [])
        for poem in self.poems:
            u = hash_unit(poem.id if poem.id is not None else poem.text, salt)
            parts[0 if u < f_train else 1 if u < f_train + f_valid else 2].append(poem)
        return self._with(parts[0]), self._with(parts[1]), self._with(parts[2])

    def to_tang_npz(
        self, path: str | Path, maxlen: int = TANG_MAXLEN, overlong: Overlong = "truncate"
    ) -> TangExport:
        """Write the tutorial's tang.npz (see ``rnnlab.data.tang``).

        Overlong poems are cut like the tutorial's unless ``overlong`` is ``"drop"`` or ``"error"``.
        """
        return write_tang_npz(self.texts(), path, maxlen=maxlen, overlong=overlong)

    def save_jsonl(self, path: str | Path) -> Path:
        """Write one chinese-poetry JSON object a line (the layout of our shared tang.jsonl), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for poem in self.poems:
                fh.write(json.dumps(poem.to_dict(), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
        return path


# ---- readers ----------------------------------------------------------------------------------------
def _nonblank(text: str, path: Path) -> str:
    if not text:
        raise DataError(f"{path}: the file is empty; pass a file with text in it")
    if not text.strip():
        raise DataError(f"{path}: the file contains only whitespace; pass a file with text in it")
    return text


def read_text_corpus(path: str | Path, encoding: str = "utf-8") -> TextCorpus:
    """A text file as a ``TextCorpus`` (empty or whitespace-only files raise DataError)."""
    path = Path(path)
    return TextCorpus(_nonblank(read_text(path, encoding), path), str(path))


def read_poem_lines(path: str | Path, encoding: str = "utf-8") -> PoemCorpus:
    """A file with one poem a line (blank lines skipped) as a ``PoemCorpus`` without titles or authors."""
    path = Path(path)
    text = _nonblank(read_text(path, encoding), path)
    return PoemCorpus(
        tuple(Poem(paragraphs=(line.strip(),)) for line in text.splitlines() if line.strip()), str(path)
    )


def read_poetry_json(path: str | Path, encoding: str = "utf-8") -> PoemCorpus:
    """A chinese-poetry JSON file (a list of {title, author, paragraphs}) as a ``PoemCorpus``."""
    path = Path(path)
    text = _nonblank(read_text(path, encoding), path)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err}); pass a chinese-poetry .json file") from None
    if not isinstance(records, list):
        raise DataError(
            f"{path}: expected a JSON list of poems [{{title, author, paragraphs}}, …] "
            "(chinese-poetry layout), "
            f"got a {type(records).__name__}"
        )
    return PoemCorpus(tuple(Poem.from_dict(r, f"{path}[{i}]") for i, r in enumerate(records)), str(path))


def read_poetry_jsonl(path: str | Path, encoding: str = "utf-8") -> PoemCorpus:
    """One chinese-poetry JSON object a line (our shared tang.jsonl) as a ``PoemCorpus``."""
    path = Path(path)
    text = _nonblank(read_text(path, encoding), path)
    poems = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{path}:{lineno}: not valid JSON ({err}); each line must be one poem object"
            ) from None
        poems.append(Poem.from_dict(record, f"{path}:{lineno}"))
    return PoemCorpus(tuple(poems), str(path))


def load_tang_npz(path: str | Path) -> PoemCorpus:
    """The poems of a tutorial-style tang.npz (validated; see ``rnnlab.data.tang``)."""
    return PoemCorpus(tuple(read_tang_npz(path).poems()), str(path))


def _looks_like_poem_lines(sample: str) -> bool:
    """Most non-blank lines are Chinese with clause punctuation and of poem length."""
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        return False
    if len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    poemish = sum(1 for ln in lines if _CJK.search(ln) and ("，" in ln or "。" in ln) and len(ln) <= 2000)
    return poemish >= 0.9 * len(lines)


def detect_kind(path: str | Path) -> CorpusKind:
    """The kind of a file: by suffix for .json/.jsonl/.npz, else "poems" if it looks like poem-per-line,
    else "text"."""
    path = Path(path)
    kind = _SUFFIX_KIND.get(path.suffix.lower())
    if kind is not None:
        return kind  # type: ignore[return-value]
    with path.open("rb") as fh:
        sample = fh.read(1 << 16).decode("utf-8", errors="ignore")
    return "poems" if _looks_like_poem_lines(sample) else "text"


_READERS: dict[str, Callable[[Path, str], TextCorpus | PoemCorpus]] = {
    "text": read_text_corpus,
    "poems": read_poem_lines,
    "json": read_poetry_json,
    "jsonl": read_poetry_jsonl,
    "npz": lambda path, _encoding: load_tang_npz(path),
}


def _corpus_files(directory: Path) -> list[Path]:
    files = sorted(
        p
        for p in directory.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
        and (p.suffix.lower() in _SUFFIX_KIND or p.suffix.lower() in _TEXT_SUFFIXES)
    )
    if not files:
        raise DataError(
            f"{directory}: no corpus files (.txt, .json, .jsonl, .npz) in this directory; check the path"
        )
    return files


def corpus_files(path: str | Path) -> list[Path]:
    """The files :func:`load_corpus` reads for ``path``, in order: the file itself, or a directory's
    supported files sorted by path (what a cache of the corpus must hash)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; check the path")
    return _corpus_files(path) if path.is_dir() else [path]


def load_corpus(
    path: str | Path,
    kind: str | None = None,
    encoding: str = "utf-8",
    simplified: bool = False,
) -> TextCorpus | PoemCorpus:
    """Read any supported input (see the module docstring); ``kind=None`` detects it.

    A directory is read file by file (sorted by path); its files must all be texts (joined with a
    newline) or all poems. ``simplified=True`` converts traditional characters with OpenCC ``t2s``.
    """
    path = Path(path)
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown corpus kind {kind!r}; options are {list(KINDS)} or None to detect")
    files = corpus_files(path)
    parts = [_READERS[kind or detect_kind(f)](f, encoding) for f in files]
    corpus: TextCorpus | PoemCorpus
    if all(isinstance(p, PoemCorpus) for p in parts):
        corpus = PoemCorpus(tuple(poem for p in parts for poem in p), str(path))  # type: ignore[union-attr]
    elif all(isinstance(p, TextCorpus) for p in parts):
        corpus = TextCorpus("\n".join(p.text for p in parts), str(path))  # type: ignore[union-attr]
    else:
        raise DataError(
            f"{path}: the directory mixes plain-text files and poem files; pass kind='text' or kind='poems', "
            "or split them into separate directories"
        )
    if simplified:
        converter = ChineseConverter("t2s")
        if isinstance(corpus, PoemCorpus):
            corpus = corpus.to_simplified(converter)
        else:
            corpus = TextCorpus(converter(corpus.text), corpus.source)
    if isinstance(corpus, PoemCorpus) and not len(corpus):
        raise DataError(
            f"{path}: no poems found; check that the file has the layout of kind {kind or 'detected'}"
        )
    return corpus
