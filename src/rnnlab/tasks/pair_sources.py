"""Pair files made from the chinese-poetry collection (what ``rnnlab data pairs NAME`` writes).

* ``couplets``: every regulated poem (律诗: eight lines of five or seven characters) holds two
  antithetical couplets by rule, lines 3–4 (颔联) and 5–6 (颈联)::

      {"source": "海内存知己", "target": "天涯若比邻", "id": "…", "kind": "颈联"}

* ``titles``: a poem (its cleaned body) → its title, for poems of at most ``max_chars`` characters
  whose title is short enough to learn (``max_title`` characters, editors' notes removed).

Both read ``tang/tang.jsonl`` only: the Tang poems are the training material, the rest of the
collection is kept for measurement. 声律启蒙 (``mengxue/shenglvqimeng.json`` in the npm package,
a whole book of matched couplets) becomes a separate measurement file when the user points at it:
:func:`shenglv_pairs` splits the book's rhythmic sentences into the pairs that split cleanly.

**The test split is the bundled poet's held-out split.** A poem goes to the test file when
``hash_unit(poem text, "rnnlab-lm-valid") < test_fraction`` — with the default 0.05 exactly the
poems the bundled Tang language model (``rnnlab/assets/tang-lstm``) was *validated* on and never
trained on, so the LM-prompted baseline is measured on unseen poems too. Whole poems go one way
(both couplets of a poem on one side), and a training pair whose upper or lower line also occurs
in a test pair (the collection has copies of poems under other ids) is dropped from training.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rnnlab.data.poems import Poem, clean_poem, clean_text, poem_form, split_lines
from rnnlab.errors import ConfigError, DataError
from rnnlab.tasks.pairs import Pair, write_pairs

PAIR_TASKS: tuple[str, ...] = ("couplets", "titles")
REGULATED = ("五言律诗", "七言律诗")
COUPLET_LINES = {"颔联": (2, 3), "颈联": (4, 5)}  # 0-based lines of the two couplets of a 律诗
LM_SPLIT_SALT = "rnnlab-lm-valid"  # the salt of rnnlab.train.corpus's held-out split
SHENGLV_MEMBER = "package/dist/mengxue/shenglvqimeng.json"


@dataclass(frozen=True)
class PairFiles:
    """What a converter wrote: the files and how many pairs each holds."""

    name: str
    train: Path
    test: Path
    n_train: int
    n_test: int
    extra: tuple[tuple[Path, int], ...] = ()  # further measurement files (声律启蒙)


def couplets_of(poem: Poem) -> list[Pair]:
    """The 颔联 and 颈联 of a cleaned 律诗 as pairs (none for any other form)."""
    if poem_form(poem.text) not in REGULATED:
        return []
    lines = split_lines(poem.text)
    record = {"id": poem.id} if poem.id is not None else {}
    return [
        Pair(lines[a], lines[b], record={**record, "kind": kind}) for kind, (a, b) in COUPLET_LINES.items()
    ]


def title_of(poem: Poem, max_chars: int = 100, max_title: int = 12) -> Pair | None:
    """(poem body → cleaned title), or None when either is empty or too long to learn."""
    title = clean_text(poem.title).strip("，。！？；：、")
    if not title or len(title) > max_title or len(poem.text) > max_chars:
        return None
    return Pair(poem.text, title, record={"id": poem.id} if poem.id is not None else {})


def read_poems(path: Path) -> Iterator[tuple[str, Poem]]:
    """(raw text, cleaned poem) for each poem of a chinese-poetry JSON-lines file that survives cleaning.

    The raw text (paragraphs joined, before cleaning) is what the language model's split hashes.
    """
    try:
        fh = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(
            f"{path}: no such file; install the Tang poems with `rnnlab data get tang` or pass --source DIR "
            "(the folder that holds tang/tang.jsonl)"
        ) from None
    with fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{number}: not valid JSON ({err.msg})") from None
            poem = Poem.from_dict(record, f"{path}:{number}")
            cleaned = clean_poem(poem)
            if cleaned is not None:
                yield poem.text, cleaned


def split_by_poem(
    items: Iterable[tuple[str, list[Pair]]], test_fraction: float
) -> tuple[list[Pair], list[Pair]]:
    """(train, test) from (raw poem text, its pairs); see the module docstring for the rule."""
    from rnnlab.data.corpus import hash_unit

    if not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    train: list[Pair] = []
    test: list[Pair] = []
    seen: set[tuple[str, str | None]] = set()
    for text, pairs in items:
        side = test if hash_unit(text, LM_SPLIT_SALT) < test_fraction else train
        for pair in pairs:
            key = (pair.source, pair.target)
            if key not in seen:  # copies of a poem under other ids give the same pair again
                seen.add(key)
                side.append(pair)
    held = {p.source for p in test} | {p.target for p in test if p.target is not None}
    train = [p for p in train if p.source not in held and p.target not in held]
    return train, test


def shenglv_sentences(paragraph: str) -> Iterator[str]:
    """The sentences of a 声律启蒙 paragraph (cut at 。, stripped)."""
    for sentence in paragraph.split("。"):
        if sentence.strip():
            yield sentence.strip()


def shenglv_pairs(paragraphs: Iterable[str]) -> list[Pair]:
    """The couplets of 声律启蒙 paragraphs that split cleanly (simplified or traditional, as given).

    A rhythmic sentence is matched in one of three ways, and skipped when none applies::

        两鬓风霜，途次早行之客；一蓑烟雨，溪边晚钓之翁   two halves at ；of the same shape
        云对雨 · 晚照对晴空                              one clause "A对B" with |A| = |B|
        三尺剑，六钧弓 · 人间清暑殿，天上广寒宫           two clauses of equal length without 对
    """
    out: list[Pair] = []
    for paragraph in paragraphs:
        for sentence in shenglv_sentences(paragraph):
            halves = sentence.split("；")
            if len(halves) == 2:
                a, b = halves
                if _shape(a) == _shape(b):
                    out.append(Pair(a, b, record={"kind": "声律启蒙"}))
                continue
            plain = []
            for clause in sentence.split("，"):
                if "对" in clause or "對" in clause:
                    mark = "对" if "对" in clause else "對"
                    parts = clause.split(mark)
                    if len(parts) == 2 and parts[0] and len(parts[0]) == len(parts[1]):
                        out.append(Pair(parts[0], parts[1], record={"kind": "声律启蒙"}))
                else:
                    plain.append(clause)
            if len(plain) == 2 and len(plain[0]) == len(plain[1]):
                out.append(Pair(plain[0], plain[1], record={"kind": "声律启蒙"}))
    return out


def _shape(text: str) -> list[int | str]:
    """Runs of characters and the marks between them: 两鬓风霜，途次早行之客 → [4, '，', 6]."""
    shape: list[int | str] = []
    run = 0
    for ch in text:
        if ch in "，、：":
            shape += [run, ch]
            run = 0
        else:
            run += 1
    return [*shape, run]


def read_shenglv(path: str | Path) -> list[str]:
    """The paragraphs of 声律启蒙 from its JSON file or from the chinese-poetry npm archive (.tgz)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: no such file; pass mengxue/shenglvqimeng.json of the chinese-poetry collection, or the "
            "npm archive (`npm pack chinese-poetry@2.0.1`)"
        )
    if path.suffix in (".tgz", ".gz", ".tar"):
        try:
            with tarfile.open(path, mode="r:*") as tar:
                fh = tar.extractfile(SHENGLV_MEMBER)
                if fh is None:
                    raise KeyError(SHENGLV_MEMBER)
                book = json.loads(fh.read().decode("utf-8"))
        except (KeyError, tarfile.TarError) as err:
            raise DataError(
                f"{path}: no {SHENGLV_MEMBER} inside ({err}); pass the chinese-poetry npm archive"
            ) from None
    else:
        try:
            book = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DataError(f"{path}: not UTF-8 JSON ({err}); pass mengxue/shenglvqimeng.json") from None
    try:
        return [
            p for volume in book["content"] for chapter in volume["content"] for p in chapter["paragraphs"]
        ]
    except (KeyError, TypeError):
        raise DataError(
            f'{path}: not the layout of 声律启蒙 ({{"content": [{{"content": [{{"paragraphs": …}}]}}]}})'
        ) from None


def build_pairs(
    name: str,
    out: str | Path,
    *,
    source: str | Path | None = None,
    test_fraction: float = 0.05,
    shenglv: str | Path | None = None,
    max_chars: int = 100,
    max_title: int = 12,
) -> PairFiles:
    """Write ``OUT/NAME.train.jsonl`` and ``OUT/NAME.test.jsonl`` (and ``couplets.shenglv.jsonl``)."""
    from rnnlab.data.convert import to_simplified
    from rnnlab.data.paths import data_dir

    if name not in PAIR_TASKS:
        raise ConfigError(f"unknown pair task {name!r}; options are {list(PAIR_TASKS)}")
    if shenglv is not None and name != "couplets":
        raise ConfigError("--shenglv adds couplets; use it with `rnnlab data pairs couplets`")
    poems = read_poems(data_dir(source) / "tang" / "tang.jsonl")
    if name == "couplets":
        items = ((text, couplets_of(poem)) for text, poem in poems)
    else:
        items = ((text, [p for p in [title_of(poem, max_chars, max_title)] if p]) for text, poem in poems)
    train, test = split_by_poem(items, test_fraction)
    out = Path(out)
    extra: list[tuple[Path, int]] = []
    if shenglv is not None:
        book = shenglv_pairs(to_simplified(p) for p in read_shenglv(shenglv))
        extra.append((write_pairs(out / "couplets.shenglv.jsonl", book), len(book)))
    return PairFiles(
        name,
        write_pairs(out / f"{name}.train.jsonl", train),
        write_pairs(out / f"{name}.test.jsonl", test),
        len(train),
        len(test),
        tuple(extra),
    )
