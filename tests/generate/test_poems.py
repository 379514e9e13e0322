"""Poem generation: the form constraint holds for any model weights; acrostics, prefixes, rhyme, errors."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError, DataError
from rnnlab.generate.poems import PoemForm, PoemRequest, write_poems
from rnnlab.generate.rhyme import rhyme_group
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from tests.inference.engine_helpers import numpy_twin

CHARS = "春花秋月何时了往事知多少小楼昨夜又东风故国不堪回首明中床前光疑是地上霜举头望低思乡深度学习山长江水"
VOCAB = Vocab.build([*CHARS, "，", "。", "x", "!"])  # two non-Hanzi tokens the form must never emit


def random_model(seed: int) -> RNNLM:
    torch.manual_seed(seed)
    return RNNLM(RNNLMConfig(vocab_size=len(VOCAB), embed_size=8, hidden_size=16, num_layers=1)).eval()


def assert_well_formed(poem: str, form: PoemForm) -> list[str]:
    lines = poem.split("\n")
    assert len(lines) == form.lines, poem
    for i, line in enumerate(lines):
        assert len(line) == form.chars + 1, poem
        assert line[-1] == ("，" if i % 2 == 0 else "。"), poem
        assert all(c in CHARS for c in line[:-1]), poem
    return lines


def engine_model(seed: int, engine: str) -> Any:
    """The random model of ``seed`` as the torch module, or the NumPy engine with its weights."""
    model = random_model(seed)
    return model if engine == "torch" else numpy_twin(model)


@pytest.mark.parametrize("engine", ["torch", "numpy"])
@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    form=st.sampled_from(["5x4", "7x4", "5x8", "7x8"]),
    temperature=st.floats(0.0, 3.0),
    top_p=st.sampled_from([0.5, 0.9, 1.0]),
    prefix_len=st.integers(0, 9),
    acrostic=st.booleans(),
    rhyme=st.booleans(),
)
def test_form_constraint_always_holds(
    engine: str,
    seed: int,
    form: str,
    temperature: float,
    top_p: float,
    prefix_len: int,
    acrostic: bool,
    rhyme: bool,
) -> None:
    """On either engine, whatever the weights, temperature, top-p, prefix, acrostic and rhyme, every
    poem has the form's lines, lengths and ，。, starts with the prefix and heads the acrostic."""
    shape = PoemForm.parse(form)
    prefix = CHARS[seed % 20 : seed % 20 + prefix_len]
    heads = CHARS[-shape.lines :] if acrostic and prefix_len == 0 else ""
    request = PoemRequest(
        prefix=prefix,
        acrostic=heads,
        form=form,
        rhyme=rhyme,
        num=3,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
    )
    for poem in write_poems(engine_model(seed, engine), VOCAB, request):
        lines = assert_well_formed(poem, shape)
        assert "".join(lines).replace("，", "").startswith(prefix)
        if heads:
            assert [line[0] for line in lines] == list(heads)


@pytest.mark.parametrize("seed", range(5))
def test_both_engines_write_the_same_poems(seed: int) -> None:
    """Same weights, same seed: the NumPy and torch engines write identical poems (their logits agree)."""
    request = PoemRequest(prefix="春", form="7x4", num=4, seed=seed, temperature=1.2, rhyme=seed % 2 == 0)
    assert write_poems(engine_model(seed, "numpy"), VOCAB, request) == write_poems(
        engine_model(seed, "torch"), VOCAB, request
    )


def test_acrostic_heads_every_line() -> None:
    """藏头诗: line i starts with the i-th acrostic character; 8 characters give a 律诗."""
    for acrostic, form in (("深度学习", PoemForm(5, 4)), ("春花秋月何时了往", PoemForm(5, 8))):
        for poem in write_poems(random_model(1), VOCAB, PoemRequest(acrostic=acrostic, num=4, seed=0)):
            lines = assert_well_formed(poem, form)
            assert [line[0] for line in lines] == list(acrostic)


def test_prefix_line_sets_the_line_length() -> None:
    """A seven-character first line gives a 七言 poem that starts with it."""
    poem = write_poems(random_model(2), VOCAB, PoemRequest(prefix="小楼昨夜又东风", seed=0))[0]
    assert assert_well_formed(poem, PoemForm(7, 4))[0] == "小楼昨夜又东风，"


def test_rhymed_poems_end_even_lines_in_one_rhyme_group() -> None:
    """With rhyme=True the last characters of lines 2, 4, 6, 8 share a rhyme group (十八韵)."""
    request = PoemRequest(form="5x8", rhyme=True, num=6, seed=3, temperature=2.0)
    for poem in write_poems(random_model(3), VOCAB, request):
        lines = assert_well_formed(poem, PoemForm(5, 8))
        assert len({rhyme_group(line[-2]) for line in lines[1::2]}) == 1, poem


def test_seed_reproduces_poems() -> None:
    """The same seed writes the same poems; greedy-like top_k=1 is deterministic without a seed."""
    model = random_model(4)
    request = PoemRequest(prefix="床前明月光", num=2, seed=7)
    assert write_poems(model, VOCAB, request) == write_poems(model, VOCAB, request)
    greedy = PoemRequest(prefix="床前", top_k=1)
    assert write_poems(model, VOCAB, greedy) == write_poems(model, VOCAB, greedy)


def test_unknown_characters_are_listed_and_traditional_ones_converted() -> None:
    """Traditional characters that OpenCC resolves are accepted; the rest raise DataError naming them."""
    poem = write_poems(random_model(5), VOCAB, PoemRequest(prefix="東風", seed=0))[0]
    assert poem.startswith("东风")
    with pytest.raises(DataError, match="龙 虎"):
        write_poems(random_model(5), VOCAB, PoemRequest(prefix="龙虎"))


def test_impossible_requests_are_explained() -> None:
    """Acrostic/form mismatches and misplaced punctuation raise ConfigError with the fix."""
    model = random_model(6)
    with pytest.raises(ConfigError, match="--form 5x4"):
        write_poems(model, VOCAB, PoemRequest(acrostic="深度学习", form="5x8"))
    with pytest.raises(ConfigError, match="7x4"):
        write_poems(model, VOCAB, PoemRequest(prefix="春花，", form="5x4"))
    with pytest.raises(ConfigError, match="options are"):
        PoemForm.parse("five")


@pytest.mark.parametrize(
    "chars,group",
    [("光霜乡阳", "唐"), ("知诗日子", "支"), ("衣低", "齐"), ("月雪夜", "皆"), ("云春人", "痕")],
)
def test_rhyme_groups_follow_the_eighteen_rhymes(chars: str, group: str) -> None:
    """Characters map to their 十八韵 group; the apical -i of 知/诗 is 支, not 齐."""
    assert {rhyme_group(c) for c in chars} == {group}
