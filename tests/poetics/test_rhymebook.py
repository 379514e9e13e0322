"""The Pingshui rhyme book: tones and groups of known characters in both scripts, all readings kept."""

from __future__ import annotations

from rnnlab.poetics.rhymebook import RhymeBook, Tone


def book() -> RhymeBook:
    return RhymeBook.pingshui()


def test_the_book_has_106_groups_30_of_them_level() -> None:
    """平水韵 has 106 groups: 上平 15 and 下平 15 level ones, in book order, then 76 oblique ones."""
    b = book()
    assert len(b.groups) == 106
    assert len(b.level_groups) == 30
    assert b.level_groups[0] == "上平声一东"
    assert b.level_groups[14] == "上平声十五删"
    assert b.level_groups[-1] == "下平声十五咸"
    assert b.groups[-1] == "入声十七洽"


def test_tones_and_groups_of_well_known_characters() -> None:
    """东 is 平 (一东), 月 is 仄 (入声六月), 看 is polyphonic (平 寒 / 仄 翰), in either script."""
    b = book()
    assert b.tones("东") == b.tones("東") == Tone.PING
    assert b.level_groups_of("东") == {"上平声一东"}
    assert b.tones("月") == Tone.ZE
    assert {r.group for r in b.readings("月")} == {"入声六月"}
    assert b.tones("看") == Tone.ANY
    assert b.level_groups_of("看") == {"上平声十四寒"}
    assert b.tones("x") == Tone.NONE and "x" not in b


def test_simplified_characters_collect_every_traditional_reading() -> None:
    """后 writes 后 and 後; 干 writes 乾 (平) and 幹 (仄): the simplified form keeps all readings."""
    b = book()
    assert {r.group for r in b.readings("后")} >= {r.group for r in b.readings("後")}
    assert b.tones("干") == Tone.ANY
    assert b.tones("乾") == Tone.PING


def test_attested_readings_hold_for_every_traditional_form() -> None:
    """The generator's view keeps only readings every form shares: 干 loses the 仄 of 幹, since a
    reader may take 干 for 乾; an erratum (先 平) is the checker's, not the generator's."""
    b = book()
    assert b.attested("东") == b.readings("东")
    assert Tone.ZE not in {r.tone for r in b.attested("干")}
    assert b.tones("先") == Tone.ANY  # erratum: 先 names 下平声一先
    assert {r.tone for r in b.attested("先")} == {Tone.ZE}
