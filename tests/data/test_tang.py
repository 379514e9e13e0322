"""The PyTorch poetry tutorial's tang.npz: reading theirs, writing ours, refusing unsafe files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from rnnlab.data import Poem, PoemCorpus, load_corpus, load_tang_npz, read_tang_npz
from rnnlab.errors import DataError

POEMS = [
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
    "春眠不觉晓，处处闻啼鸟。",
]


def _tutorial_npz(path: Path, texts: list[str], maxlen: int = 125) -> None:
    """Build tang.npz the way the tutorial's get_data does, written out independently of rnnlab."""
    words = {w for text in texts for w in text}
    word2ix = {w: i for i, w in enumerate(words)}
    for special in ("<EOP>", "<START>", "</s>"):
        word2ix[special] = len(word2ix)
    ix2word = {i: w for w, i in word2ix.items()}
    pad = len(word2ix) - 1
    data = np.full((len(texts), maxlen), pad, dtype=np.int32)
    for row, text in enumerate(texts):
        ids = [word2ix[w] for w in ["<START>", *text, "<EOP>"]][:maxlen]  # truncating='post'
        data[row, maxlen - len(ids) :] = ids  # padding='pre'
    np.savez_compressed(path, data=data, word2ix=word2ix, ix2word=ix2word)


def _tutorial_read(path: Path) -> tuple[np.ndarray, dict[str, int], dict[int, str]]:
    """What the tutorial's code does to read the file."""
    npz = np.load(path, allow_pickle=True)
    return npz["data"], npz["word2ix"].item(), npz["ix2word"].item()


def test_reads_a_file_built_the_tutorial_way(tmp_path: Path) -> None:
    """A tang.npz made by the tutorial's recipe loads back to the original poem texts, in order."""
    path = tmp_path / "tang.npz"
    _tutorial_npz(path, POEMS)
    corpus = load_tang_npz(path)
    assert isinstance(corpus, PoemCorpus) and corpus.texts() == POEMS
    assert load_corpus(path).texts() == POEMS  # type: ignore[union-attr]
    assert read_tang_npz(path).n_truncated() == 0


def test_export_has_the_tutorial_layout_and_round_trips(tmp_path: Path) -> None:
    """Our export: ids chars…,<EOP>,<START>,</s>=V−1, rows <START>+poem+<EOP> padded at the front to 125."""
    corpus = PoemCorpus(tuple(Poem(title="t", paragraphs=(p,)) for p in POEMS))
    report = corpus.to_tang_npz(tmp_path / "ours.npz")
    data, word2ix, ix2word = _tutorial_read(report.path)
    vocab = len(word2ix)
    assert data.shape == (3, 125) and data.dtype == np.int32
    assert (word2ix["<EOP>"], word2ix["<START>"], word2ix["</s>"]) == (vocab - 3, vocab - 2, vocab - 1)
    assert all(ix2word[i] == w for w, i in word2ix.items())
    for row, text in zip(data, POEMS, strict=True):
        body = [ix2word[int(i)] for i in row if i != vocab - 1]
        assert body == ["<START>", *text, "<EOP>"]
        assert (row[: 125 - len(body)] == vocab - 1).all()  # the padding is all at the front
    assert load_tang_npz(report.path).texts() == POEMS


def test_overlong_poems_are_cut_dropped_or_refused(tmp_path: Path) -> None:
    """A poem over 123 characters loses its tail and <EOP> (tutorial), or is dropped, or raises, as asked."""
    long_poem = "国破山河在，城春草木深。" * 12  # 144 characters
    corpus = PoemCorpus((Poem(paragraphs=(POEMS[0],)), Poem(paragraphs=(long_poem,))))
    report = corpus.to_tang_npz(tmp_path / "cut.npz")
    assert (report.n_poems, report.n_truncated) == (2, 1)
    data, word2ix, _ = _tutorial_read(tmp_path / "cut.npz")
    assert word2ix["<EOP>"] not in data[1] and data[1, 0] == word2ix["<START>"]
    # The cut row is <START> + the first 124 characters: 125 ids, no room for <EOP>.
    assert load_tang_npz(tmp_path / "cut.npz").texts() == [POEMS[0], long_poem[:124]]
    dropped = corpus.to_tang_npz(tmp_path / "drop.npz", overlong="drop")
    assert (dropped.n_poems, dropped.n_dropped) == (1, 1)
    with pytest.raises(DataError, match=r"poem 1 has 144 characters.*overlong='truncate'"):
        corpus.to_tang_npz(tmp_path / "err.npz", overlong="error")
    assert not (tmp_path / "err.npz").exists()


class _Exploit:
    """Unpickling this would create a directory: a stand-in for arbitrary code in a pickle."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (self.target,))


def test_unsafe_or_mistyped_pickles_are_refused(tmp_path: Path) -> None:
    """A word2ix whose pickle calls a function is refused without running it; wrong key/value types fail."""
    _tutorial_npz(tmp_path / "good.npz", POEMS)
    data, word2ix, ix2word = _tutorial_read(tmp_path / "good.npz")
    target = tmp_path / "pwned"
    evil = np.empty((), dtype=object)
    evil[()] = _Exploit(str(target))
    np.savez(tmp_path / "evil.npz", data=data, word2ix=evil, ix2word=ix2word)
    with pytest.raises(DataError, match="refusing"):
        load_tang_npz(tmp_path / "evil.npz")
    assert not target.exists()

    swapped = {str(i): w for i, w in ix2word.items()}  # keys of the wrong type
    np.savez(tmp_path / "typed.npz", data=data, word2ix=word2ix, ix2word=swapped)
    with pytest.raises(DataError, match="'ix2word' must map int to str"):
        load_tang_npz(tmp_path / "typed.npz")
    np.savez(tmp_path / "range.npz", data=data + 1000, word2ix=word2ix, ix2word=ix2word)
    with pytest.raises(DataError, match="outside"):
        load_tang_npz(tmp_path / "range.npz")
    (tmp_path / "not.npz").write_bytes(b"hello")
    with pytest.raises(DataError, match=r"not an \.npz"):
        load_tang_npz(tmp_path / "not.npz")
