"""Poem cleaning, line splitting and form detection."""

from __future__ import annotations

import pytest

from rnnlab.data import (
    FORMS,
    Poem,
    chars_per_line,
    clean_poem,
    clean_poems_with_report,
    filter_by_form,
    filter_forms,
    form_counts,
    poem_form,
    split_lines,
)
from rnnlab.errors import ConfigError, DataError

JUEJU5 = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
JUEJU7 = "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
LUSHI5 = "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
LUSHI7 = (
    "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。"
    "万里悲秋常作客，百年多病独登台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。"
)


def test_lines_are_clauses_ending_in_punctuation() -> None:
    """split_lines cuts at ，。！？； and drops the marks; chars_per_line is None for mixed lengths."""
    assert split_lines("春眠不觉晓；处处闻啼鸟！夜来风雨声？花落知多少") == [
        "春眠不觉晓",
        "处处闻啼鸟",
        "夜来风雨声",
        "花落知多少",
    ]
    assert chars_per_line(JUEJU7) == 7
    assert chars_per_line("君不见，黄河之水天上来。") is None


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (JUEJU5, "五言绝句"),
        (JUEJU7, "七言绝句"),
        (LUSHI5, "五言律诗"),
        (LUSHI7, "七言律诗"),
        (JUEJU5 * 3, None),
    ],
)
def test_form_detection(text: str, form: str | None) -> None:
    """Quatrains have 4 lines, regulated verse 8, of 5 or 7 characters; anything else has no form."""
    assert poem_form(text) == form
    if form is not None:
        chars, n_lines = FORMS[form]
        assert {len(line) for line in split_lines(text)} == {chars} and len(split_lines(text)) == n_lines


def test_form_filters_and_counts() -> None:
    """filter_by_form and filter_forms keep exactly the requested shapes; form_counts adds up to the total."""
    poems = [
        Poem(paragraphs=(t,)) for t in (JUEJU5, JUEJU7, LUSHI5, LUSHI7, "白日依山尽，黄河入海流，欲穷千里目")
    ]
    assert [p.text for p in filter_by_form(poems, chars={5})] == [JUEJU5, LUSHI5, poems[4].text]
    assert [p.text for p in filter_by_form(poems, chars={5, 7}, n_lines={4})] == [JUEJU5, JUEJU7]
    assert [p.text for p in filter_forms(poems, ["七言律诗"])] == [LUSHI7]
    counts = form_counts(poems)
    assert counts == {"五言绝句": 1, "七言绝句": 1, "五言律诗": 1, "七言律诗": 1, "其他": 1}
    with pytest.raises(ConfigError, match="options are"):
        filter_forms(poems, ["sonnet"])


def test_cleaning_strips_notes_and_symbols() -> None:
    """Bracketed notes (all kinds, nested) and stray symbols go; half-width marks become full-width."""
    raw = Poem(
        title=" 静夜思 ",
        paragraphs=(
            "-181-床前明月光（一作：看月光），疑是[地]上霜。",
            "举头望明月(山月)，低头思故乡《注：故乡（家）》。。",
            "abc 123",
        ),
    )
    cleaned = clean_poem(raw)
    assert cleaned is not None
    assert cleaned.title == "静夜思"
    assert cleaned.text == "床前明月光，疑是上霜。举头望明月，低头思故乡。"
    assert clean_poem(Poem(paragraphs=("春风,又绿江南岸.",))).text == "春风，又绿江南岸。"  # type: ignore[union-attr]


def test_broken_empty_and_duplicate_poems_are_dropped() -> None:
    """Poems with □ (lost characters) or no Chinese left are dropped; later copies of a text are dropped."""
    poems = [
        Poem(title="a", paragraphs=(JUEJU5,)),
        Poem(title="b", paragraphs=("床前□月光，疑是地上霜。",)),
        Poem(title="c", paragraphs=("（注）", "123")),
        Poem(title="d", paragraphs=()),
        Poem(title="e", author="someone else", paragraphs=(JUEJU5[:12], JUEJU5[12:])),
        Poem(title="f", paragraphs=(JUEJU7,)),
    ]
    kept, report = clean_poems_with_report(poems)
    assert [p.title for p in kept] == ["a", "f"]
    assert (report.n_in, report.n_broken, report.n_duplicates, report.n_kept) == (6, 3, 1, 2)
    kept_all, _ = clean_poems_with_report(poems, dedupe=False)
    assert [p.title for p in kept_all] == ["a", "e", "f"]


def test_poem_records_validate_fields() -> None:
    """Poem.from_dict accepts the chinese-poetry layout and names the record when a field is wrong."""
    poem = Poem.from_dict({"title": "t", "author": "a", "paragraphs": ["x。"], "id": 7})
    assert poem == Poem("t", "a", ("x。",), "7") and Poem.from_dict(poem.to_dict()) == poem
    with pytest.raises(DataError, match=r"rec\[3\].*paragraphs"):
        Poem.from_dict({"title": "t", "paragraphs": "not a list"}, source="rec[3]")
