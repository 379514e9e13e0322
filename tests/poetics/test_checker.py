"""The metre checker accepts regulated poems, finds the character a one-character change breaks,
and rejects famous unregulated poems for the rule they are known to break."""

from __future__ import annotations

import pytest

from rnnlab.errors import DataError
from rnnlab.poetics.checker import check_poem, split_poem
from rnnlab.poetics.patterns import Rule
from rnnlab.poetics.rhymebook import RhymeBook, Tone
from tests.poetics.poems import NOT_REGULATED, REGULATED

# Replacements of one tone only, so a change flips the tone for sure.
LEVEL, OBLIQUE = "东", "木"


@pytest.mark.parametrize("title", REGULATED)
def test_canonical_regulated_poems_pass(title: str) -> None:
    """Each canonical 绝句/律诗 is regulated: no violation, one rhyme group for all rhyming lines."""
    report = check_poem(REGULATED[title])
    assert report.regulated, report.format()
    assert report.rhyme_group is not None and report.rhyme_group.startswith(("上平声", "下平声"))


def test_best_pattern_and_rhyme_of_spring_view() -> None:
    """《春望》 is 五言律诗, 仄起首句不入韵, rhyming in 十二侵 (深 心 金 簪)."""
    report = check_poem(REGULATED["杜甫《春望》"])
    assert (report.form_name, report.pattern.name, report.rhyme_group) == (
        "五言律诗",
        "仄起首句不入韵",
        "下平声十二侵",
    )
    assert "".join(t.mark for t in report.tones[0]) == "仄仄平平仄"


@pytest.mark.parametrize("title", REGULATED)
def test_one_changed_character_at_an_even_position_is_caught(title: str) -> None:
    """Flipping the tone of any single-tone character at position 2, 4 or 6 (not the rhyme) makes the
    poem irregular, and the report blames exactly that character with 对, 粘 or 二四六."""
    book = RhymeBook.pingshui()
    lines = split_poem(REGULATED[title])
    changed = 0
    for i, line in enumerate(lines):
        for col in range(1, len(line) - 1, 2):
            tone = book.tones(line[col])
            if tone not in (Tone.PING, Tone.ZE):
                continue  # a polyphonic character may be read either way
            new = line[:col] + (OBLIQUE if tone == Tone.PING else LEVEL) + line[col + 1 :]
            report = check_poem([*lines[:i], new, *lines[i + 1 :]], book)
            assert not report.regulated
            blamed = [v for v in report.violations if (v.line, v.col) == (i, col)]
            assert blamed and blamed[0].rule in (Rule.DUI, Rule.NIAN, Rule.ALTERNATION), report.format()
            changed += 1
    assert changed >= len(lines)  # most positions hold single-tone characters


@pytest.mark.parametrize("title", ["杜甫《春望》", "杜甫《登高》", "王维《山居秋暝》"])
def test_a_rhyme_from_another_group_is_caught(title: str) -> None:
    """Ending the last line in a level-tone character of another group breaks the rhyme there."""
    lines = split_poem(REGULATED[title])
    group = check_poem(lines).rhyme_group
    other = "江" if group != "上平声三江" else "东"
    report = check_poem([*lines[:-1], lines[-1][:-1] + other])
    assert report.rhyme_group == group
    assert [(v.line, v.rule) for v in report.violations] == [(len(lines) - 1, Rule.RHYME)]
    assert not report.rhyme_ok() and report.tone_ok()


@pytest.mark.parametrize("title", NOT_REGULATED)
def test_famous_unregulated_poems_fail_for_their_known_rule(title: str) -> None:
    """静夜思 breaks 对, 黄鹤楼 the alternation within lines, 江雪 rhymes in an oblique group."""
    text, rule = NOT_REGULATED[title]
    report = check_poem(text)
    assert not report.regulated
    assert rule in {v.rule.value for v in report.violations}


def test_lone_level_and_three_level_tail_are_reported() -> None:
    """A 孤平 line and a 三平尾 line inside an otherwise regulated 五绝 are named by rule and position."""
    # 《登鹳雀楼》 with line 2 as 仄平仄仄平 (孤平) and line 4 as 仄仄平平平 → changed to keep patterns
    report = check_poem("白日依山尽，月河入海流。欲穷千里目，更上一层楼。")
    assert [(v.line, v.col, v.rule) for v in report.violations] == [(1, 0, Rule.GUPING)]
    report = check_poem("白日依山尽，黄河入海流。欲穷千里目，更上层楼头。")
    assert (3, 2, Rule.SANPINGWEI) in [(v.line, v.col, v.rule) for v in report.violations]


def test_polyphonic_characters_take_the_reading_that_fits() -> None:
    """看 (平/仄) ends 《无题》 as a 平 rhyme; unknown characters are taken as fitting and listed."""
    report = check_poem(REGULATED["李商隐《无题》"])
    assert report.tones[7][-1] == Tone.PING and report.readings[7][-1] == Tone.ANY
    report = check_poem("月落乌啼霜满天，江枫渔火对愁眠。姑苏城外寒山寺，夜半钟声到客船。")
    if report.unknown:  # the upstream table lacks 啼
        assert report.regulated and "啼" in report.format()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "床前明月光，疑是地上霜。",
        "床前明月光，疑是地上霜。举头望明月，低头思故乡呀呀。",
        "hello world foo bar",
    ],
)
def test_bad_input_is_a_data_error_naming_the_fix(text: str) -> None:
    """Empty text, two lines, uneven lines and non-Chinese text are refused with a DataError."""
    with pytest.raises(DataError):
        check_poem(text)


def test_report_format_marks_each_character_and_lists_violations() -> None:
    """format(): each line followed by its tone marks (same length), ＾ under faults, then the rules."""
    report = check_poem(NOT_REGULATED["李白《静夜思》"][0])
    rows = report.format().split("\n")
    assert rows[:5] == ["床前明月光", "平平平仄平", "疑是地上霜", "平仄仄仄平", "　　　＾　"]  # 上 breaks 对
    assert any("对" in row and "(上)" in row for row in rows)
    assert report.to_dict()["regulated"] is False
