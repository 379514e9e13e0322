"""Vocab: order, lookups, limits, statistics and the JSON file."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rnnlab.data import SpecialTokens, Vocab
from rnnlab.errors import CheckpointError, ConfigError


def _random_tokens(n: int = 2000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    alphabet = [chr(0x4E00 + i) for i in range(60)]
    # Zipf-like weights so counts tie at the tail and first appearance matters.
    return rng.choices(alphabet, weights=[1 / (i + 1) for i in range(60)], k=n)


def test_order_is_reserved_then_frequency_then_first_appearance() -> None:
    """Ids follow a brute-force ranking: reserved tokens, then by (−count, index of first appearance)."""
    tokens = _random_tokens()
    vocab = Vocab.build(tokens)
    counts = Counter(tokens)
    first = {t: tokens.index(t) for t in counts}
    expected = sorted(counts, key=lambda t: (-counts[t], first[t]))
    assert vocab.tokens == ["<unk>", "<pad>", "<bos>", "<eos>", *expected]
    assert vocab.counts[4:] == [counts[t] for t in expected]
    assert (vocab.unk_id, vocab.pad_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)


def test_lookup_of_token_list_and_unknowns() -> None:
    """vocab[token] and vocab[list] give ids, unknown tokens give unk_id, to_tokens inverts known ids."""
    vocab = Vocab.build("明月光明月")
    assert vocab["明"] == 4 and vocab["月"] == 5 and vocab["光"] == 6
    assert vocab[["明", "雪", "光"]] == [4, vocab.unk_id, 6]
    assert vocab.to_tokens([4, 5, 6]) == ["明", "月", "光"]
    assert vocab.to_tokens(np.int64(5)) == "月"
    assert list(vocab.encode("月雪")) == [5, 0]
    assert "明" in vocab and "雪" not in vocab and len(vocab) == 7
    with pytest.raises(ConfigError, match="outside this vocabulary"):
        vocab.to_tokens(99)


def test_min_freq_and_max_size_limits() -> None:
    """min_freq drops rare tokens; max_size caps the total (reserved included), keeping the most frequent."""
    tokens = list("aaaabbbccd")
    assert Vocab.build(tokens, min_freq=2).tokens[4:] == ["a", "b", "c"]
    capped = Vocab.build(tokens, max_size=6)
    assert len(capped) == 6 and capped.tokens[4:] == ["a", "b"]
    with pytest.raises(ConfigError, match="reserved"):
        Vocab.build(tokens, max_size=3)
    with pytest.raises(ConfigError, match="min_freq"):
        Vocab.build(tokens, min_freq=0)


def test_configurable_reserved_tokens() -> None:
    """Reserved tokens are configurable; a role set to None is not reserved and asking for its id explains."""
    specials = SpecialTokens(unk="[UNK]", pad="[PAD]", bos=None, eos=None, extra=("<sep>",))
    vocab = Vocab.build("xy", specials=specials)
    assert vocab.tokens == ["[UNK]", "[PAD]", "<sep>", "x", "y"]
    assert vocab["zz"] == 0 and vocab.pad_id == 1
    with pytest.raises(ConfigError, match="reserves no bos"):
        _ = vocab.bos_id


def test_coverage_statistics_against_brute_force() -> None:
    """unk rate, coverage and OOV type count match a direct count on held-out tokens."""
    train, held = _random_tokens(seed=1), [*_random_tokens(n=500, seed=2), "<", "丁丁"]
    vocab = Vocab.build(train, min_freq=5)
    stats = vocab.coverage(held)
    unknown = [t for t in held if t not in set(vocab.tokens)]
    assert stats.n_tokens == len(held) and stats.n_unk == len(unknown)
    assert stats.unk_rate == pytest.approx(len(unknown) / len(held))
    assert stats.coverage == pytest.approx(1 - len(unknown) / len(held))
    assert stats.oov_types == len(set(unknown))


def test_json_round_trip_is_exact(tmp_path: Path) -> None:
    """save → load gives an equal vocabulary (tokens, counts, reserved roles), non-ASCII included."""
    vocab = Vocab.build([*_random_tokens(), "Ünïcödé", " ", "\n"], specials=SpecialTokens(extra=("<mask>",)))
    loaded = Vocab.load(vocab.save(tmp_path / "vocab.json"))
    assert loaded == vocab
    assert (
        loaded.tokens == vocab.tokens and loaded.counts == vocab.counts and loaded.specials == vocab.specials
    )
    assert loaded.fingerprint() == vocab.fingerprint()


def test_wrong_version_and_corrupt_files_raise_checkpoint_error(tmp_path: Path) -> None:
    """A wrong format version, a non-vocab JSON and broken JSON each raise CheckpointError naming the file."""
    path = Vocab.build("abc").save(tmp_path / "vocab.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["version"] = 99
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"vocab\.json.*version 99.*rebuild"):
        Vocab.load(path)
    path.write_text('{"tokens": ["a"]}', encoding="utf-8")
    with pytest.raises(CheckpointError, match="not an rnnlab vocabulary"):
        Vocab.load(path)
    path.write_text('{"format": "rnnlab.vocab", "vers', encoding="utf-8")
    with pytest.raises(CheckpointError, match="corrupt"):
        Vocab.load(path)
    with pytest.raises(CheckpointError, match="no such"):
        Vocab.load(tmp_path / "missing.json")
