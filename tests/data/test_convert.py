"""Traditional → simplified conversion with OpenCC."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnlab.data import ChineseConverter, Poem, PoemCorpus, load_corpus, to_simplified
from rnnlab.errors import ConfigError


def test_t2s_converts_known_characters_and_keeps_length() -> None:
    """Known traditional forms map to simplified ones (國→国, 東→东, 書→书), punctuation and length kept."""
    assert to_simplified("國破山河在，東風書聲。") == "国破山河在，东风书声。"
    text = "村橋路不端，數里就迴湍。"
    assert len(to_simplified(text)) == len(text)


def test_poem_corpus_conversion_covers_title_author_and_body(tmp_path: Path) -> None:
    """to_simplified converts every field; load_corpus(simplified=True) does the same on reading."""
    corpus = PoemCorpus((Poem(title="春曉", author="孟浩然", paragraphs=("春眠不覺曉，處處聞啼鳥。",)),))
    simple = corpus.to_simplified()
    assert simple[0] == Poem(title="春晓", author="孟浩然", paragraphs=("春眠不觉晓，处处闻啼鸟。",))
    path = tmp_path / "p.jsonl"
    corpus.save_jsonl(path)
    assert load_corpus(path, simplified=True)[0] == simple[0]  # type: ignore[index]


def test_unknown_config_is_a_config_error() -> None:
    """An OpenCC configuration that does not exist raises ConfigError listing common ones."""
    with pytest.raises(ConfigError, match="t2s"):
        ChineseConverter("klingon")
