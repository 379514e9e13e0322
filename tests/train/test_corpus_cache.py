"""The cached language-model corpus: the same ids as reading it in memory, opened without reading,
keyed by everything the ids depend on, and never served damaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rnnlab.errors import DataError
from rnnlab.train import TrainConfig, train_language_model
from rnnlab.train import corpus_cache as cc
from rnnlab.train.corpus import LMCorpus, load_lm_corpus
from tests.train._tiny import TINY_MODEL


def _assert_same(cached: LMCorpus, reference: LMCorpus) -> None:
    assert cached.vocab == reference.vocab
    for got, want in ((cached.train, reference.train), (cached.valid, reference.valid)):
        assert len(got) == len(want)
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def _no_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any read of the corpus fail, so a test proves the cache alone served it."""

    def refuse(path: Any) -> list[str]:
        raise AssertionError(f"the corpus {path} was read although it was cached")

    monkeypatch.setattr(cc, "read_lines", refuse)


def test_cached_corpus_equals_the_in_memory_one_and_reopens_without_reading(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first call builds the entries, the second opens them without reading the corpus; both give
    load_lm_corpus's vocabulary and ids, as read-only uint16 views of the memory map."""
    reference = load_lm_corpus(tiny_corpus, 0.1)
    built = cc.cached_lm_corpus(tiny_corpus, 0.1, cache_dir=tmp_path / "cache")
    assert not built.reused and built.manifest is not None and built.manifest.is_file()
    _assert_same(built.corpus, reference)
    _no_reading(monkeypatch)
    again = cc.cached_lm_corpus(tiny_corpus, 0.1, cache_dir=tmp_path / "cache")
    assert again.reused and again.manifest == built.manifest
    _assert_same(again.corpus, reference)
    line = again.corpus.train[0]
    assert type(line) is np.ndarray and line.dtype == np.uint16 and not line.flags.writeable


def test_the_key_follows_content_split_and_vocabulary(tiny_corpus: Path, tmp_path: Path) -> None:
    """The same bytes under another name reuse the entries; another byte, held-out fraction or
    min_freq does not; a given vocabulary (a resumed run's) finds the splits written with it."""
    cache = tmp_path / "cache"
    first = cc.cached_lm_corpus(tiny_corpus, cache_dir=cache)
    copy = shutil.copy(tiny_corpus, tmp_path / "renamed.txt")
    assert cc.cached_lm_corpus(copy, cache_dir=cache).reused
    assert not cc.cached_lm_corpus(tiny_corpus, 0.2, cache_dir=cache).reused
    rare = cc.cached_lm_corpus(tiny_corpus, min_freq=400, cache_dir=cache)
    assert not rare.reused and len(rare.corpus.vocab) < len(first.corpus.vocab)
    _assert_same(rare.corpus, load_lm_corpus(tiny_corpus, min_freq=400))
    given = cc.cached_lm_corpus(copy, vocab=first.corpus.vocab, cache_dir=cache)
    assert given.reused and given.manifest == first.manifest
    with Path(copy).open("a", encoding="utf-8") as fh:
        fh.write("a new line.\n")
    changed = cc.cached_lm_corpus(copy, cache_dir=cache)
    assert not changed.reused and changed.manifest != first.manifest
    _assert_same(changed.corpus, load_lm_corpus(copy))


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_manifest(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["meta"]["train"]["lines"] += 1  # a plausible value, but the manifest's checksum no longer fits
    path.write_text(json.dumps(doc), encoding="utf-8")


DAMAGE = {
    "truncated ids": ("train.ids.npy", lambda p: p.write_bytes(p.read_bytes()[:-6])),
    "a flipped bit": ("valid.ids.npy", _flip_last_byte),
    "a missing file": ("train.offsets.npy", Path.unlink),
    "garbled manifest": ("json", lambda p: p.write_text('{"format": "rnnlab.lm-corp', encoding="utf-8")),
    "edited manifest": ("json", _edit_manifest),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_entry_is_named_and_rebuilt(tiny_corpus: Path, tmp_path: Path, damage: str) -> None:
    """A truncated, altered or missing cache file is reported with a warning naming it and rebuilt;
    the corpus served is still exactly the in-memory one, and the rebuilt entry opens cleanly."""
    cache = tmp_path / "cache"
    built = cc.cached_lm_corpus(tiny_corpus, cache_dir=cache)
    assert built.manifest is not None
    suffix, spoil = DAMAGE[damage]
    target = built.manifest.with_name(built.manifest.name.replace("json", suffix))
    spoil(target)
    with pytest.warns(UserWarning, match=rf"{target.name}: damaged cache file .*building it again"):
        rebuilt = cc.cached_lm_corpus(tiny_corpus, cache_dir=cache)
    assert not rebuilt.reused
    _assert_same(rebuilt.corpus, load_lm_corpus(tiny_corpus))
    assert cc.cached_lm_corpus(tiny_corpus, cache_dir=cache).reused


def test_an_unwritable_cache_folder_is_a_data_error(tiny_corpus: Path, tmp_path: Path) -> None:
    """A cache folder that cannot be created (a file is in the way) is a DataError naming the folder
    and pointing at --cache-dir and --no-cache."""
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    with pytest.raises(DataError, match=r"cannot write the cache in .*file.*--cache-dir.*--no-cache"):
        cc.cached_lm_corpus(tiny_corpus, cache_dir=blocked / "cache")


def test_a_failed_build_leaves_no_entry(tmp_path: Path) -> None:
    """A corpus that cannot be split (one line) raises its DataError and leaves no cache files."""
    one_line = tmp_path / "one.txt"
    one_line.write_text("only one line\n", encoding="utf-8")
    with pytest.raises(DataError, match="at least two lines"):
        cc.cached_lm_corpus(one_line, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_training_is_bit_for_bit_the_same_with_a_cold_a_warm_and_no_cache(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs reading the corpus in memory, building the cache and opening it end with identical
    weights (torch.equal), and a resumed run opens the splits its first session cached."""
    config = TrainConfig(batch_size=8, bptt=12, max_steps=4, eval_every=2, device="cpu", seed=2)
    cache = tmp_path / "cache"
    runs: dict[str, dict[str, Any]] = {
        "none": {"cache": False},
        "cold": {"cache_dir": cache},
        "warm": {"cache_dir": cache},
    }
    for name, how in runs.items():
        train_language_model(tiny_corpus, tmp_path / name, config, TINY_MODEL, progress=False, **how)
    weights = {name: load_file(str(tmp_path / name / "model.safetensors")) for name in runs}
    for name in ("cold", "warm"):
        assert all(torch.equal(weights["none"][k], weights[name][k]) for k in weights["none"])
    _no_reading(monkeypatch)
    resume: dict[str, Any] = {"resume": True, "resume_overrides": {"max_steps": 6}, "progress": False}
    train_language_model(None, tmp_path / "warm", cache_dir=cache, **resume)
