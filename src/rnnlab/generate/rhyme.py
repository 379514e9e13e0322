"""Rhyme groups of Chinese characters, for rhymed poems.

We use the eighteen rhymes (十八韵) of 《诗韵新编》, a modern-pronunciation rhyme scheme, built
from pypinyin's finals; tone is ignored, and a character with several readings is taken in
its most common one. The classical 平水韵 follows Middle Chinese and would need a rhyme
dictionary of its own; modern readers hear the eighteen rhymes, which is why we chose them.

    麻 a ia ua     波 o uo       歌 e          皆 ie üe      支 -i (zhi chi shi ri zi ci si)
    儿 er          齐 i          微 ei uei     开 ai uai     姑 u          鱼 ü
    侯 ou iou      豪 ao iao     寒 an ian uan üan          痕 en in uen ün
    唐 ang iang uang             庚 eng ing ueng            东 ong iong
"""

from __future__ import annotations

from collections.abc import Iterable

_GROUPS: dict[str, tuple[str, ...]] = {
    "麻": ("a", "ia", "ua"),
    "波": ("o", "uo"),
    "歌": ("e",),
    "皆": ("ie", "ve"),
    "儿": ("er",),
    "齐": ("i",),
    "微": ("ei", "uei"),
    "开": ("ai", "uai"),
    "姑": ("u",),
    "鱼": ("v",),
    "侯": ("ou", "iou"),
    "豪": ("ao", "iao"),
    "寒": ("an", "ian", "uan", "van"),
    "痕": ("en", "in", "uen", "vn"),
    "唐": ("ang", "iang", "uang"),
    "庚": ("eng", "ing", "ueng"),
    "东": ("ong", "iong"),
}
_FINAL_TO_GROUP = {final: group for group, finals in _GROUPS.items() for final in finals}
# After zh ch sh r z c s the written "i" is a different vowel (the apical -i): its own rhyme, 支.
_APICAL = frozenset({"zhi", "chi", "shi", "ri", "zi", "ci", "si"})

RHYME_GROUPS: tuple[str, ...] = ("支", *_GROUPS)


def rhyme_group(char: str) -> str | None:
    """The rhyme (one of RHYME_GROUPS) of a single Chinese character, or None if it has no reading."""
    if len(char) != 1:
        return None
    # pypinyin loads large dictionaries on import; only rhyming poems need it.
    from pypinyin import Style, lazy_pinyin

    syllable = lazy_pinyin(char)[0]
    final = lazy_pinyin(char, style=Style.FINALS)[0]
    if syllable in _APICAL:
        return "支"
    return _FINAL_TO_GROUP.get(final)


def rhyme_groups(chars: Iterable[str]) -> dict[str, str]:
    """char → rhyme group for every character that has one."""
    table = {}
    for char in chars:
        group = rhyme_group(char)
        if group is not None:
            table[char] = group
    return table
