"""Length-bucketed task batches: every example once per epoch, little padding, resumable, rank-split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.data.buckets import IGNORE, BucketBatches
from rnnlab.errors import ConfigError, DataError


def examples(n: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Example i is the tokens i·100 … (its own ids), tags = tokens + 1, lengths 1–40."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 41, size=n)
    seqs = [i * 100 + np.arange(n_i) for i, n_i in enumerate(lengths)]
    return seqs, [s + 1 for s in seqs]


def columns(source: BucketBatches) -> list[tuple[int, ...]]:
    """Each column of an epoch as the tuple of its real token ids."""
    out = []
    for batch in source:
        assert batch.lengths is not None
        for b, n in enumerate(batch.lengths.tolist()):
            out.append(tuple(batch.x[:n, b].tolist()))
    return out


@pytest.mark.parametrize("shuffle", [True, False])
def test_an_epoch_holds_every_example_once_with_masked_padding(shuffle: bool) -> None:
    """Each example appears once, whole; x is padded with pad_id, y with IGNORE, mask marks real tokens."""
    seqs, tags = examples(103)
    source = BucketBatches(seqs, tags, 8, pad_id=-7, shuffle=shuffle, pool=3)
    assert len(source) == 13
    seen = columns(source)
    assert sorted(seen) == sorted(tuple(s.tolist()) for s in seqs)
    for batch in source:
        assert batch.lengths is not None and batch.reset_state
        real = batch.mask
        assert torch.equal(real.sum(0), batch.lengths)
        assert bool((batch.x[~real] == -7).all()) and bool((batch.y[~real] == IGNORE).all())
        assert torch.equal(batch.y[real], batch.x[real] + 1)


def test_bucketing_cuts_the_padding() -> None:
    """Sorting pools of batches by length leaves far less padding than random batches."""
    seqs, tags = examples(2000)
    bucketed = BucketBatches(seqs, tags, 16, pad_id=0, pool=50).padding_fraction(0)
    random = BucketBatches(seqs, tags, 16, pad_id=0, pool=1).padding_fraction(0)
    assert bucketed < 0.05 < 0.3 < random


def test_scalar_labels_become_a_label_vector() -> None:
    """Classification targets: y is (B,) with each example's label."""
    seqs, _ = examples(10)
    source = BucketBatches(seqs, [np.asarray(i % 3) for i in range(10)], 4, pad_id=0, shuffle=False)
    for batch in source:
        assert batch.y.shape == (batch.x.shape[1],)
        for b in range(batch.x.shape[1]):
            assert int(batch.y[b]) == (int(batch.x[0, b]) // 100) % 3


def test_resume_yields_exactly_the_remaining_batches() -> None:
    """A sampler loaded from a state taken after batch i continues with batch i + 1, across epochs."""
    seqs, tags = examples(50)
    a = BucketBatches(seqs, tags, 4, pad_id=0, seed=3)
    it = iter(a)
    for _ in range(5):
        next(it)
    state = a.state_dict()
    rest = [batch.x for batch in it]
    b = BucketBatches(seqs, tags, 4, pad_id=0, seed=3)
    b.load_state_dict(state)
    assert all(torch.equal(p, q.x) for p, q in zip(rest, b, strict=True))
    first_of_next = next(iter(a)).x
    assert torch.equal(first_of_next, next(iter(b)).x)


def test_ranks_split_each_global_batch() -> None:
    """With world_size 2, rank 0 and rank 1 hold the two halves of the single-process batch."""
    seqs, tags = examples(64)
    whole = list(BucketBatches(seqs, tags, 8, pad_id=0, seed=1, drop_last=True))
    halves = [
        list(BucketBatches(seqs, tags, 8, pad_id=0, seed=1, drop_last=True, rank=r, world_size=2))
        for r in (0, 1)
    ]
    for full, r0, r1 in zip(whole, *halves, strict=True):
        assert full.lengths is not None and r0.lengths is not None and r1.lengths is not None
        assert torch.equal(torch.cat([r0.lengths, r1.lengths]), full.lengths)
        for part, cols in ((r0, range(0, 4)), (r1, range(4, 8))):
            assert part.lengths is not None
            for b, col in enumerate(cols):
                n = int(full.lengths[col])
                assert torch.equal(part.x[:n, b], full.x[:n, col])


def test_bad_inputs_are_refused() -> None:
    """Empty examples, mismatched targets and uneven distributed batches name the fix."""
    seqs, tags = examples(10)
    with pytest.raises(DataError, match="no tokens"):
        BucketBatches([*seqs, np.zeros(0)], [*tags, np.zeros(0)], 4, pad_id=0)
    with pytest.raises(DataError, match="one target"):
        BucketBatches(seqs, tags[:-1], 4, pad_id=0)
    with pytest.raises(DataError, match="one label"):
        BucketBatches(seqs, [*tags[:-1], np.zeros(3)], 4, pad_id=0)
    with pytest.raises(ConfigError, match="drop_last=True"):
        BucketBatches(seqs, tags, 4, pad_id=0, rank=0, world_size=2)
