"""Corpus readers, format detection, bad inputs and deterministic splits."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rnnlab.data import (
    Poem,
    PoemCorpus,
    TextCorpus,
    detect_kind,
    load_corpus,
)
from rnnlab.errors import ConfigError, DataError

LINES = [
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
]


def _random_poems(n: int, seed: int = 0) -> list[Poem]:
    rng = random.Random(seed)
    chars = [chr(0x4E00 + i) for i in range(300)]

    def line() -> str:
        return "".join(rng.choices(chars, k=rng.choice([5, 7])))

    return [Poem(title=f"t{i}", paragraphs=(f"{line()}，{line()}。",), id=f"id-{seed}-{i}") for i in range(n)]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_each_format_is_detected_and_read(tmp_path: Path) -> None:
    """Text, poem-per-line, chinese-poetry JSON, JSON lines and directories load as the right corpus."""
    text = _write(tmp_path / "play.txt", "To be, or not to be: that is the question.\nWhether 'tis nobler\n")
    lines = _write(tmp_path / "poems.txt", "\n".join(LINES) + "\n\n")
    records = [{"title": "静夜思", "author": "李白", "paragraphs": [LINES[0][:12], LINES[0][12:]]}]
    js = _write(tmp_path / "poet.tang.0.json", json.dumps(records, ensure_ascii=False))
    jsonl = _write(tmp_path / "tang.jsonl", json.dumps(records[0], ensure_ascii=False) + "\n")
    assert [detect_kind(p) for p in (text, lines, js, jsonl)] == ["text", "poems", "json", "jsonl"]

    corpus = load_corpus(text)
    assert isinstance(corpus, TextCorpus) and corpus.text.startswith("To be")
    poems = load_corpus(lines)
    assert isinstance(poems, PoemCorpus) and poems.texts() == LINES
    from_json = load_corpus(js)
    assert isinstance(from_json, PoemCorpus)
    assert from_json[0] == Poem("静夜思", "李白", (LINES[0][:12], LINES[0][12:]))
    assert load_corpus(jsonl)[0] == from_json[0]  # type: ignore[index]
    assert isinstance(load_corpus(text, kind="poems"), PoemCorpus)

    folder = tmp_path / "dir"
    folder.mkdir()
    _write(folder / "b.json", json.dumps(records, ensure_ascii=False))
    _write(folder / "a.txt", "\n".join(LINES))
    merged = load_corpus(folder)
    assert isinstance(merged, PoemCorpus) and merged.texts() == [*LINES, LINES[0]]


@pytest.mark.parametrize(("content", "message"), [("", "empty"), (" \n\t\n", "only whitespace")])
def test_empty_and_blank_files_are_rejected(tmp_path: Path, content: str, message: str) -> None:
    """An empty or whitespace-only file raises DataError saying so, whatever its kind."""
    path = _write(tmp_path / "x.txt", content)
    for kind in ("text", "poems"):
        with pytest.raises(DataError, match=message):
            load_corpus(path, kind=kind)


def test_bad_inputs_name_the_problem(tmp_path: Path) -> None:
    """Wrong JSON shapes, unknown kinds, missing paths and mixed directories give clear errors."""
    with pytest.raises(DataError, match="JSON list of poems"):
        load_corpus(_write(tmp_path / "d.json", '{"title": "x"}'))
    with pytest.raises(DataError, match=r"bad\.jsonl:2: not valid JSON"):
        load_corpus(_write(tmp_path / "bad.jsonl", '{"paragraphs": ["a"]}\n{oops\n'))
    with pytest.raises(ConfigError, match="options are"):
        load_corpus(tmp_path / "d.json", kind="csv")
    with pytest.raises(DataError, match="no such file"):
        load_corpus(tmp_path / "missing.txt")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    _write(mixed / "a.txt", "plain English prose, nothing else.\n")
    _write(mixed / "b.jsonl", json.dumps({"paragraphs": [LINES[0]]}, ensure_ascii=False))
    with pytest.raises(DataError, match="mixes"):
        load_corpus(mixed)


def test_poem_split_is_deterministic_disjoint_and_stable(tmp_path: Path) -> None:
    """Every poem lands in exactly one split, the same one on every call and after adding other poems."""
    corpus = PoemCorpus(tuple(_random_poems(2000)))
    train, valid, test = corpus.split((0.8, 0.1, 0.1))
    ids = [{p.id for p in part} for part in (train, valid, test)]
    assert sum(map(len, ids)) == len(corpus) and set().union(*ids) == {p.id for p in corpus}
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert 0.75 < len(train) / len(corpus) < 0.85 and 0.07 < len(valid) / len(corpus) < 0.13
    again = corpus.split((0.8, 0.1, 0.1))
    assert [part.poems for part in again] == [train.poems, valid.poems, test.poems]
    grown = PoemCorpus(corpus.poems + tuple(_random_poems(500, seed=1))).split((0.8, 0.1, 0.1))
    for old, new in zip((train, valid, test), grown, strict=True):
        assert {p.id for p in old} <= {p.id for p in new}
    with pytest.raises(ConfigError, match="summing to 1"):
        corpus.split((0.5, 0.1, 0.1))


def test_text_split_is_three_contiguous_byte_ranges() -> None:
    """A text splits into consecutive pieces that rejoin to it, cut at byte fractions, not mid-character."""
    text = "".join(random.Random(0).choices(["a", "é", "月", "🌸", "\n"], k=5000))
    corpus = TextCorpus(text)
    parts = corpus.split((0.9, 0.05, 0.05))
    assert "".join(p.text for p in parts) == text
    n_bytes = len(text.encode())
    assert abs(len(parts[0].text.encode()) - 0.9 * n_bytes) <= 4
    assert abs(len(parts[2].text.encode()) - 0.05 * n_bytes) <= 4
    assert corpus.split((0.9, 0.05, 0.05)) == parts


def test_shared_sample_reads_as_poems(shared_dir: Path) -> None:
    """The shared 2k sample (one poem a line) is detected as poems and yields 2,000 of them."""
    path = shared_dir / "data" / "tang" / "sample-2k.txt"
    if not path.is_file():
        pytest.skip("shared/data/tang/sample-2k.txt is absent")
    corpus = load_corpus(path)
    assert isinstance(corpus, PoemCorpus) and len(corpus) == 2000
