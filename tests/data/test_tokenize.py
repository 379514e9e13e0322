"""Char and word tokenizers."""

from __future__ import annotations

import random

import pytest

from rnnlab.data import CharTokenizer, WordTokenizer, make_tokenizer, tokenizer_from_dict
from rnnlab.errors import ConfigError


def test_char_tokenizer_round_trips_any_text() -> None:
    """Char tokens are the code points, and detokenize(tokenize(s)) == s, newlines and CJK included."""
    text = "床前明月光，\n疑是地上霜。 Hello, world!\t"
    tok = CharTokenizer()
    assert tok.tokenize(text) == [*text]
    assert tok.detokenize(tok.tokenize(text)) == text


def test_char_tokenizer_can_drop_whitespace() -> None:
    """keep_whitespace=False removes spaces, tabs and newlines and nothing else."""
    assert CharTokenizer(keep_whitespace=False).tokenize("a b\n月\t。") == ["a", "b", "月", "。"]


def test_word_tokenizer_splits_words_and_punctuation() -> None:
    """Words (with contractions) and each punctuation mark are tokens; whitespace is dropped."""
    tokens = WordTokenizer().tokenize("Don't stop, Romeo!\nWherefore art thou?")
    assert tokens == ["Don't", "stop", ",", "Romeo", "!", "Wherefore", "art", "thou", "?"]
    assert WordTokenizer(lowercase=True).tokenize("The THE the") == ["the", "the", "the"]


@pytest.mark.parametrize("tokenizer", [CharTokenizer(), WordTokenizer()])
def test_stream_tokenization_matches_whole_text(tokenizer: CharTokenizer | WordTokenizer) -> None:
    """Tokenizing random cuts of a text piece by piece gives exactly the tokens of the whole text."""
    rng = random.Random(0)
    words = ["to", "be", "or", "not", ",", "that", "is", "the", "question", "\n", "don't"]
    text = " ".join(rng.choice(words) for _ in range(400))
    cuts = sorted(rng.sample(range(1, len(text)), 30))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    streamed = [t for chunk in tokenizer.tokenize_stream(pieces) for t in chunk]
    assert streamed == tokenizer.tokenize(text)


def test_tokenizer_descriptions_round_trip_and_reject_bad_specs() -> None:
    """to_dict → tokenizer_from_dict gives an equal tokenizer; unknown types, empty-matching regexes fail."""
    for tok in (CharTokenizer(), CharTokenizer(keep_whitespace=False), WordTokenizer(r"\w+", lowercase=True)):
        assert tokenizer_from_dict(tok.to_dict()) == tok
    with pytest.raises(ConfigError, match="options are"):
        tokenizer_from_dict({"type": "bpe"})
    with pytest.raises(ConfigError, match="empty string"):
        WordTokenizer(r"\w*")
    with pytest.raises(ConfigError, match="options are"):
        make_tokenizer("sentencepiece")
