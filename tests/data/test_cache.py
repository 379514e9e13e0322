"""The memory-mapped token-id cache."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from rnnlab.data import CharTokenizer, Vocab, WordTokenizer, build_vocab_from_files, token_cache
from rnnlab.data.cache import CacheEntry, DamagedCache, EntryWriter
from rnnlab.errors import DataError


def _text(seed: int = 0, n: int = 3000) -> str:
    rng = random.Random(seed)
    words = ["thou", "art", "月", "明月光", "🌸", "don't", ",", ".", "\n", "naïve"]
    return " ".join(rng.choice(words) for _ in range(n))


@pytest.mark.parametrize("tokenizer", [CharTokenizer(), WordTokenizer()])
def test_cache_matches_in_memory_tokenization_and_is_reused(
    tmp_path: Path, tokenizer: CharTokenizer | WordTokenizer
) -> None:
    """Ids streamed in tiny chunks equal vocab.encode(tokenize(text)); a second call opens the same file."""
    parts = [tmp_path / "a.txt", tmp_path / "b.txt"]
    texts = [_text(0), _text(1)]
    for path, text in zip(parts, texts, strict=True):
        path.write_text(text, encoding="utf-8")
    tokens = tokenizer.tokenize(texts[0]) + tokenizer.tokenize(texts[1])
    vocab = Vocab.build(tokens[: len(tokens) // 2])  # some tokens stay unknown
    expected = vocab.encode(tokens)

    built = token_cache(parts, vocab, tokenizer, cache_dir=tmp_path / "cache", chunk_bytes=37, progress=False)
    assert not built.reused and isinstance(built.ids, np.memmap)
    np.testing.assert_array_equal(np.asarray(built.ids), expected)
    stamp = built.path.stat().st_mtime_ns

    again = token_cache(parts, vocab, tokenizer, cache_dir=tmp_path / "cache", progress=False)
    assert again.reused and again.path == built.path and again.path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(np.asarray(again.ids), expected)


def test_changed_content_or_vocab_gets_a_new_cache(tmp_path: Path) -> None:
    """Editing the file or changing the vocabulary changes the key, so stale ids are never served."""
    path = tmp_path / "a.txt"
    path.write_text(_text(), encoding="utf-8")
    vocab = Vocab.build(path.read_text(encoding="utf-8"))
    first = token_cache(path, vocab, cache_dir=tmp_path, progress=False)
    path.write_text(_text() + "!", encoding="utf-8")
    second = token_cache(path, vocab, cache_dir=tmp_path, progress=False)
    assert second.key != first.key and not second.reused and len(second) == len(first) + 1
    third = token_cache(path, Vocab.build("abc"), cache_dir=tmp_path, progress=False)
    assert third.key != second.key and not third.reused


def test_streamed_vocab_equals_in_memory_vocab(tmp_path: Path) -> None:
    """build_vocab_from_files over chunks gives the same Vocab as Vocab.build over the whole text."""
    path = tmp_path / "a.txt"
    text = _text(3)
    path.write_text(text, encoding="utf-8")
    for tok in (CharTokenizer(), WordTokenizer()):
        assert build_vocab_from_files(path, tok, min_freq=2) == Vocab.build(tok.tokenize(text), min_freq=2)


def test_empty_file_cannot_be_cached(tmp_path: Path) -> None:
    """A file without tokens raises DataError and leaves no cache files behind."""
    path = tmp_path / "empty.txt"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="no tokens"):
        token_cache(path, Vocab.build("a"), cache_dir=tmp_path / "cache", progress=False)
    assert list((tmp_path / "cache").iterdir()) == []


def test_cache_split_is_three_contiguous_views(tmp_path: Path) -> None:
    """split() returns consecutive slices covering every id once, sized by the fractions, sharing memory."""
    path = tmp_path / "a.txt"
    path.write_text("abcdefghij" * 100, encoding="utf-8")
    cache = token_cache(path, Vocab.build("abcdefghij"), cache_dir=tmp_path, progress=False)
    train, valid, test = cache.split((0.8, 0.1, 0.1))
    assert (len(train), len(valid), len(test)) == (800, 100, 100)
    np.testing.assert_array_equal(np.concatenate([train, valid, test]), np.asarray(cache.ids))
    assert np.shares_memory(train, cache.ids)


def test_a_damaged_cache_is_rebuilt_not_served(tmp_path: Path) -> None:
    """A bit flipped in the ids file (same size, valid .npy) is caught by its checksum: a warning
    names the file, the cache is rebuilt, and the ids served are the true ones."""
    path = tmp_path / "a.txt"
    path.write_text(_text(4), encoding="utf-8")
    vocab = Vocab.build(path.read_text(encoding="utf-8"))
    built = token_cache(path, vocab, cache_dir=tmp_path / "cache", progress=False)
    expected = np.array(built.ids)
    data = bytearray(built.path.read_bytes())
    data[-1] ^= 0x01
    built.path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=rf"{built.path.name}: damaged cache file \(its SHA-256"):
        again = token_cache(path, vocab, cache_dir=tmp_path / "cache", progress=False)
    assert not again.reused and again.path == built.path
    np.testing.assert_array_equal(np.asarray(again.ids), expected)


def test_opening_checks_the_manifest_against_the_entry(tmp_path: Path) -> None:
    """An entry opened under another format or version than it was written with is damaged
    (DamagedCache, naming the manifest); an entry never committed is simply absent."""
    entry = CacheEntry(tmp_path, "k" * 32, "test.format", 1)
    assert entry.open() is None
    writer = EntryWriter(entry)
    writer.add("ids", [np.arange(5, dtype=np.int64)], np.dtype(np.int64))
    assert entry.open() is None and not entry.array_path("ids").exists()  # staged, not committed
    writer.commit({"note": "x"})
    opened = entry.open()
    assert opened is not None and opened.meta == {"note": "x"}
    np.testing.assert_array_equal(opened.arrays["ids"], np.arange(5))
    with pytest.raises(DamagedCache, match=r"kkkk\.json: damaged cache file \(it describes"):
        CacheEntry(tmp_path, "k" * 32, "test.format", 2).open()
