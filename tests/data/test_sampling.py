"""Properties of the batch iterators in rnnlab.data.sampling.

Most tests use the stream ``s = arange(N)``, where a token id *is* its position, so coverage,
shifts and continuity can be checked by plain arithmetic instead of by our own code.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.sampling import (
    Batch,
    PackedPoemStreams,
    PaddedPoemBatches,
    RandomWindowSampler,
    SequentialSampler,
)
from rnnlab.errors import CheckpointError, ConfigError, DataError, ShapeError

PAD, BOS, EOS = 0, 1, 2  # special ids for the poem tests; poem characters use ids ≥ 3


def make_poems(n: int, seed: int = 0, low: int = 1, high: int = 30) -> list[np.ndarray]:
    """n poems of random lengths whose character ids are all distinct, so each poem is recognisable."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(low, high + 1, size=n)
    ids = 3 + np.arange(int(lengths.sum()))
    return np.split(ids, np.cumsum(lengths)[:-1])


def same_batches(a: Iterable[Batch], b: Iterable[Batch]) -> bool:
    """Bit-for-bit equality of two batch sequences."""
    a, b = list(a), list(b)
    if len(a) != len(b):
        return False
    for p, q in zip(a, b, strict=True):
        if p.reset_state != q.reset_state or (p.lengths is None) != (q.lengths is None):
            return False
        if not (torch.equal(p.x, q.x) and torch.equal(p.y, q.y) and torch.equal(p.mask, q.mask)):
            return False
        if p.lengths is not None and q.lengths is not None and not torch.equal(p.lengths, q.lengths):
            return False
    return True


def d2l_style_sequential(corpus: np.ndarray, batch_size: int, num_steps: int, offset: int) -> list[Batch]:
    """The d2l ``seq_data_iter_sequential`` scheme with its offset given explicitly (it draws
    ``random.randint(0, num_steps)``, inclusive of num_steps), written from its description."""
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    xs = corpus[offset : offset + num_tokens].reshape(batch_size, -1)
    ys = corpus[offset + 1 : offset + 1 + num_tokens].reshape(batch_size, -1)
    num_batches = xs.shape[1] // num_steps
    out = []
    for i in range(0, num_batches * num_steps, num_steps):
        x, y = torch.from_numpy(xs[:, i : i + num_steps].T), torch.from_numpy(ys[:, i : i + num_steps].T)
        out.append(Batch(x=x, y=y, mask=torch.ones_like(x, dtype=torch.bool), reset_state=i == 0))
    return out


def covered_targets(batches: Iterable[Batch]) -> np.ndarray:
    """All counted targets of an epoch, sorted (with s = arange(N), these are positions)."""
    return np.sort(np.concatenate([b.y[b.mask].numpy() for b in batches]))


# --------------------------------------------------------------------------------------------- sequential


def check_sequential_epoch(n: int, batch_size: int, bptt: int, seed: int, random_offset: bool) -> None:
    stream = np.arange(n)
    sampler = SequentialSampler(stream, batch_size, bptt, seed=seed, random_offset=random_offset)
    epoch = list(sampler)
    o, length = sampler.offset(0), sampler.stream_length
    assert 0 <= o < bptt
    # every target of the usable range s_{o+1} … s_{o+BL} exactly once, nothing else
    np.testing.assert_array_equal(covered_targets(epoch), np.arange(o + 1, o + batch_size * length + 1))
    left_out = (bptt - 1 + (n - bptt) % batch_size) if random_offset else (n - 1) % batch_size
    assert n - 1 - batch_size * length == left_out
    # labels are inputs shifted by one, and column b is one contiguous stream across batches
    for b in epoch:
        assert torch.equal(b.y, b.x + 1)
    columns = torch.cat([b.x for b in epoch]).numpy()  # (L, B)
    expected = o + length * np.arange(batch_size)[None, :] + np.arange(length)[:, None]
    np.testing.assert_array_equal(columns, expected)
    assert [b.reset_state for b in epoch] == [True] + [False] * (len(epoch) - 1)
    assert len(epoch) == len(sampler) and all(1 <= b.x.shape[0] <= bptt for b in epoch)


@pytest.mark.parametrize("random_offset", [True, False])
@pytest.mark.parametrize(("n", "batch_size", "bptt"), [(26, 4, 2), (100, 3, 7), (97, 5, 10), (40, 2, 19)])
def test_sequential_covers_every_target_exactly_once_grid(
    n: int, batch_size: int, bptt: int, random_offset: bool
) -> None:
    """Sequential: an epoch's targets are s_{o+1} … s_{o+BL}, each once; y = x + 1; columns continue."""
    for seed in range(25):
        check_sequential_epoch(n, batch_size, bptt, seed, random_offset)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    n=st.integers(2, 400),
    batch_size=st.integers(1, 9),
    bptt=st.integers(1, 40),
    seed=st.integers(0, 2**31),
    random_offset=st.booleans(),
)
def test_sequential_covers_every_target_exactly_once_property(
    n: int, batch_size: int, bptt: int, seed: int, random_offset: bool
) -> None:
    """Sequential mode, any valid size: exact once-per-epoch coverage of the documented range."""
    max_offset = bptt - 1 if random_offset else 0
    if (n - 1 - max_offset) // batch_size < 1:
        with pytest.raises(DataError, match="too short"):
            SequentialSampler(np.arange(n), batch_size, bptt, seed=seed, random_offset=random_offset)
        return
    check_sequential_epoch(n, batch_size, bptt, seed, random_offset)


def test_sequential_keeps_the_last_partial_chunk() -> None:
    """The last batch is shorter (T = L − (len − 1)·bptt) instead of being dropped."""
    sampler = SequentialSampler(np.arange(100), 3, 7, random_offset=False)  # L = 33 = 4·7 + 5
    steps = [b.x.shape[0] for b in sampler]
    assert steps == [7, 7, 7, 7, 5]


def test_d2l_offset_bug_is_absent() -> None:
    """Our offset is uniform on [0, bptt) (never bptt) and coverage is exact; the d2l-style scheme
    with its inclusive offset = num_steps fails the same coverage check, so the check has teeth."""
    n, batch_size, bptt = 91, 4, 5
    stream = np.arange(n)
    offsets = [SequentialSampler(stream, batch_size, bptt, seed=s).offset(0) for s in range(400)]
    assert set(offsets) == set(range(bptt))
    # randint(0, num_steps) can return num_steps: a whole first window more is lost than at offset 0,
    # with the same cut points, and each row's tail past its last full window is skipped too.
    assert any(random.Random(s).randint(0, bptt) == bptt for s in range(100))  # the bound is inclusive
    for offset in (0, bptt):
        d2l_targets = covered_targets(d2l_style_sequential(stream, batch_size, bptt, offset))
        contiguous = np.arange(d2l_targets[0], d2l_targets[-1] + 1)
        assert len(d2l_targets) < len(contiguous)  # holes inside its own range: row tails skipped
    d2l_at_max = covered_targets(d2l_style_sequential(stream, batch_size, bptt, bptt))
    assert d2l_at_max.min() == bptt + 1  # targets s_1 … s_bptt, a full window, lost
    for seed in range(50):
        ours = SequentialSampler(stream, batch_size, bptt, seed=seed)
        o = ours.offset(0)
        np.testing.assert_array_equal(
            covered_targets(ours), np.arange(o + 1, o + batch_size * ours.stream_length + 1)
        )


def test_sequential_reads_a_memmap_one_batch_at_a_time(tmp_path: Path) -> None:
    """A memmapped stream gives the same batches as the array in RAM, and no read exceeds (T+1)·B."""
    stream = np.random.default_rng(0).integers(0, 500, size=5000).astype(np.uint16)
    path = tmp_path / "ids.bin"
    stream.tofile(path)
    mm = np.memmap(path, dtype=np.uint16, mode="r")

    class CountingArray(np.ndarray):
        reads: ClassVar[list[int]] = []

        def __getitem__(self, key: Any) -> Any:
            out = super().__getitem__(key)
            CountingArray.reads.append(int(np.size(out)))
            return out

    counting = mm.view(CountingArray)
    assert same_batches(SequentialSampler(mm, 8, 16, seed=1), SequentialSampler(stream, 8, 16, seed=1))
    list(SequentialSampler(counting, 8, 16, seed=1))
    assert CountingArray.reads and max(CountingArray.reads) <= 8 * (16 + 1)


# --------------------------------------------------------------------------------------------- random windows


def test_random_windows_are_non_overlapping_and_cover_m_windows() -> None:
    """Random windows: within an epoch the input windows are disjoint, aligned to o + jT, y = x + 1."""
    n, batch_size, bptt = 203, 4, 7
    for seed in range(20):
        sampler = RandomWindowSampler(np.arange(n), batch_size, bptt, seed=seed)
        epoch = list(sampler)
        assert len(epoch) == len(sampler)
        starts = np.concatenate([b.x[0].numpy() for b in epoch])
        for b in epoch:
            assert b.reset_state and torch.equal(b.y, b.x + 1)
            assert torch.equal(b.x, b.x[0] + torch.arange(bptt)[:, None])  # each column is a contiguous run
        o = int(starts.min()) % bptt
        assert 0 <= o < bptt and np.all(starts % bptt == o)
        assert len(set(starts.tolist())) == len(starts) == sampler.n_windows  # disjoint: distinct aligned
        assert starts.max() + bptt <= n - 1  # the last target exists


def test_random_windows_are_reproducible_and_shuffled() -> None:
    """Same seed → identical batches; another seed or another epoch → a different order."""
    stream = np.arange(500)
    a, b, c = (RandomWindowSampler(stream, 5, 6, seed=s) for s in (7, 7, 8))
    epoch_a = list(a)
    assert same_batches(epoch_a, b)
    assert not same_batches(epoch_a, c)
    assert not same_batches(epoch_a, a)  # iterating again runs epoch 1
    a.set_epoch(0)
    assert same_batches(epoch_a, a)


def test_random_windows_drop_last() -> None:
    """drop_last=False keeps a narrower last batch of M mod B windows; drop_last=True leaves it out."""
    stream = np.arange(100)  # bptt 6: M = ⌊94/6⌋ = 15 windows
    keep = [b.x.shape[1] for b in RandomWindowSampler(stream, 4, 6)]
    drop = [b.x.shape[1] for b in RandomWindowSampler(stream, 4, 6, drop_last=True)]
    assert keep == [4, 4, 4, 3] and drop == [4, 4, 4]


# --------------------------------------------------------------------------------------------- padded poems


def tutorial_rows(poems: list[np.ndarray], length: int) -> np.ndarray:
    """The tutorial's layout written independently: <START> + poem + <EOP>, padded at the front
    ('pre') and cut at the end ('post')."""
    rows = []
    for poem in poems:
        seq = [BOS, *poem.tolist(), EOS][:length]
        rows.append([PAD] * (length - len(seq)) + seq)
    return np.array(rows)


@pytest.mark.parametrize("pad_side", ["left", "right"])
def test_padded_mask_excludes_exactly_the_padding(pad_side: str) -> None:
    """Padded poems: the counted targets of a column are exactly poem + <eos>; everything else is
    padding (or the given <bos>), and lengths = counted targets."""
    poems = make_poems(23, seed=1, high=20)
    sampler = PaddedPoemBatches(
        poems,
        4,
        pad_id=PAD,
        bos_id=BOS,
        eos_id=EOS,
        fixed_length=24,
        seed=3,
        pad_side=pad_side,
    )
    seen = []
    for batch, picked in zip(sampler, np.array_split(sampler.order(0), range(4, 23, 4)), strict=True):
        assert batch.x.shape == (23, len(picked)) and batch.reset_state
        assert torch.equal(batch.x[1:], batch.y[:-1])  # labels are inputs shifted by one
        for col, j in enumerate(picked):
            counted = batch.y[:, col][batch.mask[:, col]].tolist()
            assert counted == [*poems[j].tolist(), EOS]
            assert set(batch.y[:, col][~batch.mask[:, col]].tolist()) <= {PAD, BOS}
            assert int(batch.lengths[col]) == len(poems[j]) + 1
            if pad_side == "right":
                assert batch.mask[: len(poems[j]) + 1, col].all()
            seen.append(int(j))
    assert sorted(seen) == list(range(23))


def test_padded_left_matches_the_tutorial_layout() -> None:
    """pad_side='left', truncate=True rebuilds the tutorial's 125-wide rows exactly, long poems included."""
    poems = [*make_poems(5, seed=2, high=60), np.arange(3, 3 + 130), np.arange(200, 200 + 123)]
    sampler = PaddedPoemBatches(poems, 7, pad_id=PAD, bos_id=BOS, eos_id=EOS, shuffle=False, truncate=True)
    (batch,) = list(sampler)
    rows = torch.cat([batch.x, batch.y[-1:]]).T.numpy()  # (B, 125)
    np.testing.assert_array_equal(rows, tutorial_rows(poems, 125))
    assert batch.lengths is not None
    assert batch.lengths[-2:].tolist() == [124, 124]  # 130 chars: cut, no <eos>; 123 chars: exactly fits
    assert batch.y[-1, -1] == EOS and batch.y[-1, -2] != EOS


def test_padded_poem_too_long_is_an_error() -> None:
    """A poem longer than fixed_length − 2 without truncate=True is a DataError naming it and the fix."""
    poems = [np.arange(3, 10), np.arange(3, 3 + 124)]
    with pytest.raises(DataError, match=r"poem 1 has 124 tokens.*truncate=True"):
        PaddedPoemBatches(poems, 2, pad_id=PAD, bos_id=BOS, eos_id=EOS)


# --------------------------------------------------------------------------------------------- packed poems


def unpack(batches: list[Batch], batch_size: int) -> np.ndarray:
    """An epoch's packed stream rebuilt: each row's counted inputs in row order, then the last target."""
    x = torch.cat([b.x for b in batches]).numpy()
    y = torch.cat([b.y for b in batches]).numpy()
    mask = torch.cat([b.mask for b in batches]).numpy()
    rows = [x[mask[:, c], c] for c in range(batch_size)]
    last_row = batch_size - 1
    return np.concatenate([*rows, y[mask[:, last_row], last_row][-1:]])


@pytest.mark.parametrize(("batch_size", "bptt"), [(1, 5), (3, 4), (8, 16), (5, 1)])
def test_packed_streams_hold_every_poem_once_with_eos(batch_size: int, bptt: int) -> None:
    """Packed: an epoch's stream is <eos> + the poems (each once, in the epoch's order) joined by <eos>;
    every target counts once, and at most one masked step per row."""
    poems = make_poems(17, seed=batch_size)
    sampler = PackedPoemStreams(poems, batch_size, bptt, eos_id=EOS, seed=5)
    for epoch in range(2):
        batches = list(sampler)
        order = sampler.order(epoch)
        expected = np.concatenate([[EOS], *[np.append(poems[j], EOS) for j in order]])
        np.testing.assert_array_equal(unpack(batches, batch_size), expected)
        n_targets = sum(len(p) + 1 for p in poems)
        assert sum(b.n_tokens for b in batches) == n_targets
        assert sum(b.mask.numel() for b in batches) - n_targets < batch_size
        for b in batches:
            assert torch.equal(b.x[1:], b.y[:-1])
        for prev, nxt in itertools.pairwise(batches):
            assert torch.equal(nxt.x[0], prev.y[-1])  # columns continue: state can be carried
        assert [b.reset_state for b in batches] == [True] + [False] * (len(batches) - 1)
    assert not np.array_equal(sampler.order(0), sampler.order(1))


def test_packed_without_shuffle_keeps_the_corpus_order() -> None:
    """shuffle=False packs the poems in the given order every epoch."""
    poems = make_poems(9)
    sampler = PackedPoemStreams(poems, 2, 8, eos_id=EOS, shuffle=False)
    first, second = list(sampler), list(sampler)
    assert same_batches(first, second)
    np.testing.assert_array_equal(unpack(first, 2)[1 : 1 + len(poems[0])], poems[0])


# --------------------------------------------------------------------------------------------- all samplers

SAMPLERS: dict[str, Callable[..., Any]] = {
    "sequential": lambda seed, b=6, **kw: SequentialSampler(np.arange(3000) % 97, b, 11, seed=seed, **kw),
    "random": lambda seed, b=6, **kw: RandomWindowSampler(np.arange(3000) % 97, b, 11, seed=seed, **kw),
    "padded": lambda seed, b=6, **kw: PaddedPoemBatches(
        make_poems(40, high=40), b, pad_id=PAD, bos_id=BOS, eos_id=EOS, fixed_length=50, seed=seed, **kw
    ),
    "packed": lambda seed, b=6, **kw: PackedPoemStreams(
        make_poems(40, high=40), b, 11, eos_id=EOS, seed=seed, **kw
    ),
}


def take(sampler: Any, k: int) -> list[Batch]:
    """The next k batches, running into further epochs as a training loop would."""
    out: list[Batch] = []
    while len(out) < k:
        for batch in sampler:
            out.append(batch)
            if len(out) == k:
                break
    return out


@pytest.mark.parametrize("kind", sorted(SAMPLERS))
def test_resume_from_state_is_bit_for_bit(kind: str) -> None:
    """A sampler restored from a JSON round trip of state_dict() mid-run yields exactly the batches an
    uninterrupted run yields next, across the epoch boundary too."""
    build = SAMPLERS[kind]
    reference = build(11)
    n = len(reference)
    run = take(reference, 2 * n)  # epochs 0 and 1, uninterrupted
    for stop in (0, 1, n // 2, n - 1, n, n + 3):
        interrupted = build(11)
        taken = take(interrupted, stop)
        state = json.loads(json.dumps(interrupted.state_dict()))
        restored = build(0)  # a different constructor seed: the state's seed must win
        restored.load_state_dict(state)
        assert same_batches(taken + take(restored, 2 * n - stop), run)


@pytest.mark.parametrize("kind", sorted(SAMPLERS))
def test_same_seed_same_batches_other_seed_other_batches(kind: str) -> None:
    """Reproducible from the seed; set_epoch(e) replays epoch e; len() is the batches per epoch."""
    build = SAMPLERS[kind]
    a, b, c = build(1), build(1), build(2)
    epoch0 = list(a)
    assert len(epoch0) == len(a)
    assert same_batches(epoch0, b) and not same_batches(epoch0, c)
    later = [list(a) for _ in range(3)]  # epochs 1‥3 (two epochs may share a sequential offset)
    assert all(len(e) == len(a) for e in later)
    assert any(not same_batches(epoch0, e) for e in later)
    b.set_epoch(3)
    assert same_batches(later[-1], b)


def joined_ranks(ranks: list[list[Batch]], i: int) -> Batch:
    """Batch i of every rank, side by side (column blocks concatenated in rank order)."""
    parts = [r[i] for r in ranks]
    lengths = None if parts[0].lengths is None else torch.cat([p.lengths for p in parts])  # type: ignore[misc]
    return Batch(
        x=torch.cat([p.x for p in parts], dim=1),
        y=torch.cat([p.y for p in parts], dim=1),
        mask=torch.cat([p.mask for p in parts], dim=1),
        reset_state=parts[0].reset_state,
        lengths=lengths,
    )


@pytest.mark.parametrize("kind", sorted(SAMPLERS))
@pytest.mark.parametrize("world_size", [2, 3, 4, 7])
def test_ranks_split_the_global_batch(kind: str, world_size: int) -> None:
    """Side by side, the ranks' blocks are the single-process batch, short last batches included.

    B = 6 over 4 ranks gives blocks of 2, 2, 1, 1 columns; over 7 ranks the last rank gets none;
    a short last batch (random: 271 windows = 45·6 + 1; padded: 40 poems = 6·6 + 4) is split too.
    """
    build = SAMPLERS[kind]
    single = list(build(4))
    ranks = [list(build(4, rank=rank, world_size=world_size)) for rank in range(world_size)]
    assert all(len(r) == len(single) for r in ranks)
    for i, whole in enumerate(single):
        assert same_batches([joined_ranks(ranks, i)], [whole])
        widths = [r[i].width for r in ranks]
        assert max(widths) - min(widths) <= 1 and widths == sorted(widths, reverse=True)


@pytest.mark.parametrize("kind", sorted(SAMPLERS))
def test_shard_widens_a_single_process_sampler(kind: str) -> None:
    """``shard(r, W, W·b)`` of a batch-b sampler gives rank r's block of the batch-W·b sampler, and a
    position saved by a rank resumes a single process with that global batch exactly."""
    build = SAMPLERS[kind]
    per_rank = build(5, b=3)
    ranks = [per_rank.shard(rank, 2, batch_size=6) for rank in range(2)]
    assert per_rank.batch_size == 3 and per_rank.world_size == 1  # the original is untouched
    whole = build(5, b=6)
    epoch = [list(r) for r in ranks]
    assert all(same_batches([joined_ranks(epoch, i)], [b]) for i, b in enumerate(whole))
    k = len(whole) // 2
    took = take(ranks[0], k)
    assert len(took) == k
    resumed = build(0, b=6)
    resumed.load_state_dict(json.loads(json.dumps(ranks[0].state_dict())))
    uninterrupted = take(build(5, b=6), len(whole) + k + 3)  # epoch 0, then epoch 1 up to k + 3
    assert same_batches(take(resumed, 3), uninterrupted[-3:])


def test_no_batch_crosses_a_split() -> None:
    """Samplers over the train and validation views of one id array never yield the other split's ids."""
    train_ids, valid_ids = np.arange(0, 1000), np.arange(1000, 1400)  # disjoint id ranges
    ids = np.concatenate([train_ids, valid_ids])
    train, valid = ids[:1000], ids[1000:]
    for cls in (SequentialSampler, RandomWindowSampler):
        for batch in cls(train, 7, 9, seed=2):
            assert int(torch.cat([batch.x, batch.y]).max()) < 1000
        for batch in cls(valid, 7, 9, seed=2):
            assert int(torch.cat([batch.x, batch.y]).min()) >= 1000
    poems = make_poems(30)
    train_poems, valid_poems = poems[:20], poems[20:]
    boundary = int(valid_poems[0][0])
    for batch in PackedPoemStreams(train_poems, 3, 8, eos_id=EOS):
        assert int(batch.y[batch.mask].max()) < boundary
    for batch in PaddedPoemBatches(valid_poems, 3, pad_id=PAD, bos_id=BOS, eos_id=EOS, fixed_length=40):
        assert all(int(v) >= boundary or int(v) == EOS for v in batch.y[batch.mask])


# --------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: SequentialSampler(np.arange(4), 4, 1), DataError, r"4 tokens is too short.*batch_size=4"),
        (lambda: SequentialSampler(np.arange(12), 4, 10), DataError, r"needs at least 14 tokens"),
        (lambda: SequentialSampler(np.arange(30), 4, 0), ConfigError, r"bptt must be at least 1, got 0"),
        (lambda: SequentialSampler(np.arange(30), 0, 3), ConfigError, r"batch_size must be at least 1"),
        (lambda: SequentialSampler(np.zeros((5, 6), int), 2, 2), ShapeError, r"1-D.*\(5, 6\)"),
        (lambda: SequentialSampler(np.zeros(50), 2, 2), DataError, r"integer token ids.*float64"),
        (lambda: SequentialSampler([1, 2, 3] * 9, 2, 2), DataError, r"NumPy array.*list"),
        (lambda: SequentialSampler(np.arange(99), 4, 2, rank=2, world_size=2), ConfigError, r"rank must"),
        (lambda: RandomWindowSampler(np.arange(19), 4, 10), DataError, r"only 0 windows.*20 tokens"),
        (lambda: PackedPoemStreams([], 2, 5, eos_id=EOS), DataError, r"poem list is empty"),
        (lambda: PackedPoemStreams([np.arange(3, 6)], 4, 5, eos_id=EOS), DataError, r"4 targets.*at most 2"),
        (lambda: PackedPoemStreams([np.array([5, EOS, 6])], 1, 5, eos_id=EOS), DataError, r"poem 0 contains"),
        (
            lambda: PaddedPoemBatches([np.arange(3, 5), np.array([], int)], 1, pad_id=0, bos_id=1, eos_id=2),
            DataError,
            r"poem 1 is empty",
        ),
        (
            lambda: PaddedPoemBatches(np.ones((4, 125), int), 2, pad_id=0, bos_id=1, eos_id=2),
            ShapeError,
            r"load_tang_npz",
        ),
        (
            lambda: PaddedPoemBatches([np.arange(3, 9)], 1, pad_id=0, bos_id=1, eos_id=2, pad_side="middle"),
            ConfigError,
            r"\['left', 'right'\]",
        ),
    ],
)
def test_impossible_configurations_raise_clear_errors(
    build: Callable[[], object], error: type[Exception], message: str
) -> None:
    """Each impossible configuration raises the matching rnnlab error, naming the numbers and a fix."""
    with pytest.raises(error, match=message):
        build()


def test_loading_a_mismatched_state_is_an_error() -> None:
    """A state from another sampler, other settings or another format version is refused."""
    stream = np.arange(500)
    state = SequentialSampler(stream, 4, 10).state_dict()
    with pytest.raises(CheckpointError, match=r"bptt: saved 10, now 12"):
        SequentialSampler(stream, 4, 12).load_state_dict(state)
    with pytest.raises(CheckpointError, match=r"saved by SequentialSampler"):
        RandomWindowSampler(stream, 4, 10).load_state_dict(state)
    with pytest.raises(CheckpointError, match=r"version 99"):
        SequentialSampler(stream, 4, 10).load_state_dict({**state, "version": 99})
    with pytest.raises(CheckpointError, match=r"past the epoch"):
        SequentialSampler(stream, 4, 10).load_state_dict({**state, "position": 1000})
