"""Batch iterators over token ids: sequential streams, random windows, padded poems, packed poems.

Every sampler here takes token ids that already exist — a 1-D integer array (a token stream,
possibly a ``np.memmap`` larger than memory, which is only ever sliced per batch) or a list of
1-D arrays (poems, without special tokens) — and yields time-major :class:`Batch` objects::

    x     (T, B) int64   inputs
    y     (T, B) int64   targets: the token after x[t, b] in the underlying sequence
    mask  (T, B) bool    True where y counts in the loss
    reset_state  bool    True when the recurrent state must be reset before this batch

All four share one contract:

* **Reproducible.** Batch ``i`` of epoch ``e`` depends only on ``(seed, e, i)`` and the data:
  the epoch's randomness comes from ``np.random.default_rng([seed, e])``, never from global state.
* **Epochs.** Iterating runs the current epoch from the current position; once its last batch has
  been handed out the sampler moves to the next epoch, so ``for batch in sampler`` again runs the
  next one. ``set_epoch(e)`` jumps to the start of epoch ``e``. ``len(sampler)`` is the number of
  batches per epoch and is the same for every epoch.
* **Resumable.** ``state_dict()`` is a JSON-serialisable dict (seed, epoch, position = batches
  already handed out in this epoch, and the settings a position depends on); a fresh sampler over
  the same data given ``load_state_dict(state)`` yields exactly the batches an uninterrupted run
  would have yielded next. A state taken right after receiving batch ``i`` resumes at ``i + 1``.
* **Distributed.** ``rank``/``world_size`` split the *global* batch of ``batch_size`` columns into
  ``world_size`` contiguous blocks (:func:`rank_block`: ``np.array_split``'s sizes, so blocks differ
  by at most one column and a short last batch may leave the highest ranks none); every rank
  computes the same epoch plan from the same seed and reads only its own columns (as
  ``DistributedSampler`` does for map-style datasets). Side by side, the ranks' blocks are the
  single-process batch, in order. ``shard(rank, world_size, batch_size)`` makes such a rank's
  sampler from a single-process one. Positions stay valid when ``world_size`` changes on resume.

One sampler object runs one iteration at a time: two interleaved ``iter(sampler)`` loops would
share (and fight over) the position.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import torch

from rnnlab.errors import CheckpointError, ConfigError, DataError, ShapeError

IntArray = npt.NDArray[np.integer[Any]]
PadSide = Literal["left", "right"]
_Sampler = TypeVar("_Sampler", bound="EpochSampler")

# Bumped whenever the meaning of a saved position changes, so an old state fails loudly.
STATE_VERSION = 1


@dataclass(frozen=True)
class Batch:
    """One time-major batch for a recurrent language model.

    ``y[t, b]`` is the token that follows ``x[t, b]``; the loss is
    ``ℒ = −(1/|M|) Σ_{(t,b) ∈ M} log p(y[t, b] | x[≤t, b])`` over the positions ``M`` where
    ``mask`` is True, so padding never counts.
    """

    x: torch.Tensor  # (T, B) int64 inputs
    y: torch.Tensor  # (T, B) int64 targets
    mask: torch.Tensor  # (T, B) bool, True where the target counts in the loss
    reset_state: bool  # True: start this batch from a fresh state; False: carry (and detach) it
    lengths: torch.Tensor | None = None  # (B,) int64 counted targets per column (poem batches only)

    @property
    def n_tokens(self) -> int:
        """How many targets count in the loss: ``|M| = Σ mask``."""
        return int(self.mask.sum())

    @property
    def width(self) -> int:
        """Columns (sequences) in the batch: ``B``; 0 for a rank that has no share of a short batch."""
        return int(self.x.shape[1])

    def pin_memory(self) -> Batch:
        """The same batch in page-locked host memory, so a ``to(cuda, non_blocking=True)`` can overlap."""
        lengths = None if self.lengths is None else self.lengths.pin_memory()
        return Batch(
            x=self.x.pin_memory(),
            y=self.y.pin_memory(),
            mask=self.mask.pin_memory(),
            reset_state=self.reset_state,
            lengths=lengths,
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """The same batch with every tensor moved to ``device``."""
        lengths = None if self.lengths is None else self.lengths.to(device, non_blocking=non_blocking)
        return Batch(
            x=self.x.to(device, non_blocking=non_blocking),
            y=self.y.to(device, non_blocking=non_blocking),
            mask=self.mask.to(device, non_blocking=non_blocking),
            reset_state=self.reset_state,
            lengths=lengths,
        )


# ---------------------------------------------------------------------------------------------
# Validation helpers: every message names the offending value and the fix.


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_distributed(rank: int, world_size: int) -> tuple[int, int]:
    world_size = _check_int("world_size", world_size, 1)
    rank = _check_int("rank", rank, 0)
    if rank >= world_size:
        raise ConfigError(f"rank must be in [0, world_size={world_size}), got rank={rank}")
    return rank, world_size


def rank_block(width: int, rank: int, world_size: int) -> slice:
    """Rank ``rank``'s contiguous share of ``width`` columns split between ``world_size`` ranks.

    The sizes of ``np.array_split``: with ``width = q·W + r`` the first r ranks take q + 1 columns
    and the others q, so the blocks, side by side, are ``0 … width − 1`` in order. A short batch
    (``width < W``) leaves the highest ranks an empty block. The samplers and the trainer (which
    splits a saved recurrent state the same way) share this one rule.
    """
    q, r = divmod(width, world_size)
    start = rank * q + min(rank, r)
    return slice(start, start + q + (1 if rank < r else 0))


def _check_stream(stream: IntArray) -> IntArray:
    """Check a token stream's shape and dtype without reading its values (it may be a huge memmap)."""
    if not isinstance(stream, np.ndarray):
        raise DataError(
            "the token stream must be a 1-D integer NumPy array (or np.memmap), "
            f"got {type(stream).__name__}; "
            "convert it with np.asarray(ids, dtype=np.int64)"
        )
    if stream.ndim != 1:
        raise ShapeError(
            f"the token stream must be 1-D (N,), got shape {stream.shape}; flatten it with stream.reshape(-1)"
        )
    if stream.dtype.kind not in "iu":
        raise DataError(
            f"the token stream must hold integer token ids, got dtype {stream.dtype}; "
            "map tokens to ids with a Vocab first"
        )
    return stream


def _check_poems(poems: Sequence[IntArray], special: Mapping[str, int]) -> list[IntArray]:
    """Poems as integer arrays; none empty, none containing a special id (they are added here).

    Ids of up to 32 bits are kept as they come: when they are views of a memory-mapped token cache
    (``uint16`` on disk), every rank on a machine then reads the same pages instead of holding a
    private int64 copy. They widen to int64 where batches are built (concatenated with the int64
    special ids, or gathered with ``dtype=np.int64``). Wider unsigned ids are converted, because
    mixing uint64 with int64 would promote to float64.
    """
    if isinstance(poems, np.ndarray) and poems.ndim == 2:
        raise ShapeError(
            "poems must be a list of 1-D arrays (one per poem, without padding), "
            f"got a {poems.shape} matrix; "
            "a padded tang.npz matrix must be loaded as a corpus first (rnnlab.data.load_tang_npz)"
        )
    if len(poems) == 0:
        raise DataError("the poem list is empty; load a corpus with at least one poem")
    out: list[IntArray] = []
    for i, poem in enumerate(poems):
        arr = np.asarray(poem)
        if arr.ndim != 1:
            raise ShapeError(f"poem {i} must be a 1-D array of token ids, got shape {arr.shape}")
        if arr.size == 0:
            raise DataError(
                f"poem {i} is empty; drop empty poems before batching (the poem cleaning step does)"
            )
        if arr.dtype.kind not in "iu":
            raise DataError(
                f"poem {i} must hold integer token ids, got dtype {arr.dtype}; encode it with a Vocab"
            )
        out.append(arr if arr.dtype.itemsize <= 4 else arr.astype(np.int64, copy=False))
    flat = np.concatenate(out)
    for name, token_id in special.items():
        hits = np.flatnonzero(flat == token_id)
        if hits.size:
            ends = np.cumsum([len(p) for p in out])
            first = int(np.searchsorted(ends, hits[0], side="right"))
            raise DataError(
                f"poem {first} contains {name}={token_id}; poems must be given without special tokens "
                "(the sampler adds <bos>/<eos>/padding itself) — strip them or check the special ids"
            )
    return out


def _epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator for one epoch: a function of (seed, epoch) only, so any epoch can be replayed."""
    return np.random.default_rng([seed, epoch])


def _gather(stream: IntArray, starts: npt.NDArray[np.int64], length: int) -> torch.Tensor:
    """``(length, len(starts))`` int64 tensor whose column j is ``stream[starts[j] : starts[j] + length]``.

    Fancy indexing reads only these ``length × len(starts)`` elements, so a memmap stays on disk.
    """
    index = starts[None, :] + np.arange(length, dtype=np.int64)[:, None]  # (length, B)
    return torch.from_numpy(np.asarray(stream[index], dtype=np.int64))


# ---------------------------------------------------------------------------------------------
# The shared epoch / position / seed bookkeeping.


class EpochSampler(ABC):
    """Epoch and position bookkeeping, state save/load and the rank's column block.

    A subclass says how many batches an epoch has (``__len__``), which batches it holds
    (``_batches(epoch, start)``) and what a saved position depends on (``_settings()``); resuming,
    ``set_epoch`` and the checks on a loaded state come from here. The forecasting windows use it too.
    """

    def __init__(self, *, batch_size: int, seed: int, rank: int, world_size: int) -> None:
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.seed = _check_int("seed", seed, 0)
        self.rank, self.world_size = _check_distributed(rank, world_size)
        self._epoch = 0
        self._position = 0

    @property
    def local_batch_size(self) -> int:
        """Columns this rank receives of a full batch (its :func:`rank_block` of ``batch_size``)."""
        block = self._block(self.batch_size)
        return block.stop - block.start

    def _layout(self) -> None:  # noqa: B027 - a hook: most samplers derive nothing from batch_size
        """Derive (and check) what depends on ``batch_size``; called by ``__init__`` and :meth:`shard`."""

    def shard(self: _Sampler, rank: int, world_size: int, batch_size: int | None = None) -> _Sampler:
        """This sampler's data for one of ``world_size`` ranks, with a global batch of ``batch_size``.

        The copy (sharing the data, not copying it) yields ``rank``'s block of each global batch of
        ``batch_size`` columns (default: this sampler's batch size); the blocks of all ranks, side
        by side, are the batches a single process with that batch size gets. The epoch and position
        are kept, except that a new batch size restarts the current epoch (positions count batches).
        """
        replica = copy.copy(self)
        replica.batch_size = _check_int(
            "batch_size", self.batch_size if batch_size is None else batch_size, 1
        )
        replica.rank, replica.world_size = _check_distributed(rank, world_size)
        if replica.batch_size != self.batch_size:
            replica._position = 0
        replica._layout()
        return replica

    @property
    def epoch(self) -> int:
        """The epoch the next batch belongs to."""
        return self._epoch

    @property
    def position(self) -> int:
        """Batches of the current epoch already handed out."""
        return self._position

    def set_epoch(self, epoch: int) -> None:
        """Jump to the first batch of ``epoch`` (like ``DistributedSampler.set_epoch``)."""
        self._epoch = _check_int("epoch", epoch, 0)
        self._position = 0

    def _block(self, width: int) -> slice:
        """This rank's columns of a global batch of ``width`` columns (see :func:`rank_block`)."""
        return rank_block(width, self.rank, self.world_size)

    @abstractmethod
    def __len__(self) -> int:
        """Batches per epoch (the same for every epoch)."""

    @abstractmethod
    def _batches(self, epoch: int, start: int) -> Iterator[Batch]:
        """Batches ``start, start + 1, …`` of ``epoch``."""

    @abstractmethod
    def _settings(self) -> dict[str, Any]:
        """Everything a saved position depends on; a mismatch on load means the position is meaningless."""

    def __iter__(self) -> Iterator[Batch]:
        epoch, start, n = self._epoch, self._position, len(self)
        for i, batch in enumerate(self._batches(epoch, start), start):
            # Advance before yielding, so a state saved right after receiving batch i resumes at i + 1,
            # and a state saved after the last batch already points at the next epoch.
            self._epoch, self._position = (epoch + 1, 0) if i + 1 == n else (epoch, i + 1)
            yield batch

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable position: ``{"sampler", "version", "seed", "epoch", "position", "settings"}``."""
        return {
            "sampler": type(self).__name__,
            "version": STATE_VERSION,
            "seed": self.seed,
            "epoch": self._epoch,
            "position": self._position,
            "settings": self._settings(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`state_dict` of a sampler over the same data and settings)."""
        missing = {"sampler", "version", "seed", "epoch", "position", "settings"} - set(state)
        if missing:
            raise CheckpointError(f"sampler state is missing {sorted(missing)}; save it with state_dict()")
        if state["sampler"] != type(self).__name__:
            raise CheckpointError(
                f"sampler state was saved by {state['sampler']}, not {type(self).__name__}; "
                f"build a {state['sampler']} to resume it"
            )
        if state["version"] != STATE_VERSION:
            raise CheckpointError(
                f"sampler state has version {state['version']}, this rnnlab reads version {STATE_VERSION}; "
                "restart the epoch with set_epoch() instead of resuming mid-epoch"
            )
        self._check_settings(dict(state["settings"]))
        try:
            seed = _check_int("seed", state["seed"], 0)
            epoch = _check_int("epoch", state["epoch"], 0)
            position = _check_int("position", state["position"], 0)
        except ConfigError as err:
            raise CheckpointError(f"sampler state is corrupt: {err}") from err
        if position > len(self):
            raise CheckpointError(
                f"sampler state position {position} is past the epoch's {len(self)} batches; "
                "resume with the data and settings it was saved with"
            )
        self.seed = seed
        self._epoch, self._position = (epoch + 1, 0) if position == len(self) else (epoch, position)

    def _check_settings(self, saved: dict[str, Any]) -> None:
        ours = self._settings()
        keys = ours.keys() | saved.keys()
        differing = {k: (saved.get(k), ours.get(k)) for k in keys if saved.get(k) != ours.get(k)}
        if differing:
            details = ", ".join(f"{k}: saved {a!r}, now {b!r}" for k, (a, b) in sorted(differing.items()))
            raise CheckpointError(
                f"sampler state does not match this {type(self).__name__} ({details}); "
                "resume with the data and settings it was saved with"
            )


# ---------------------------------------------------------------------------------------------
# Token streams.


class SequentialSampler(EpochSampler):
    """The token stream cut into B parallel contiguous streams; consecutive batches continue each one.

    With N tokens s_0 … s_{N−1}, epoch offset o and B streams of L tokens each, stream b holds
    inputs s_{o+bL} … s_{o+(b+1)L−1} and targets one step later, laid out as columns (the
    ``batchify`` picture of pytorch/examples ``word_language_model``; alphabet, N = 26, B = 4, o = 0,
    ``random_offset=False``, so L = ⌊(N − 1)/B⌋ = 6)::

        a b c d e f | g h i j k l | m n o p q r | s t u v w x | y z
        └─stream 0─┘  └─stream 1─┘  └─stream 2─┘  └─stream 3─┘

               b=0 b=1 b=2 b=3           bptt = 2
             ┌  a   g   m   s  ┐ t=0  ┐ batch 0: x = rows 0‥1, y = rows 1‥2
             │  b   h   n   t  │ t=1  ┘
             │  c   i   o   u  │ t=2  ┐ batch 1: x = rows 2‥3, y = rows 3‥4
             │  d   j   p   v  │ t=3  ┘
             │  e   k   q   w  │ t=4  ┐ batch 2: x = rows 4‥5, y = row 5 and (g m s y)
             └  f   l   r   x  ┘ t=5  ┘

        The last target of stream b is the first input of stream b + 1, so the targets are
        b … y, each once; 'a' is never a target and 'z' is the (N − 1) mod B = 1 left out.

    Column b of batch k+1 continues column b of batch k, so the trainer carries the state from
    batch to batch and only *detaches* it (truncated BPTT: gradients stop at the batch boundary,
    the information does not). ``reset_state`` is True on the first batch of each epoch only.

    **What each epoch covers.** With ``random_offset=True`` each epoch draws o uniformly from
    {0, …, bptt − 1} (``integers(0, bptt)``, upper bound exclusive), so the truncation points move
    between epochs. L is fixed for all offsets: ``L = ⌊(N − bptt)/B⌋``, so ``len()`` never changes.
    Epoch with offset o covers the targets s_{o+1} … s_{o+BL}, each exactly once, and leaves out
    the ``o`` targets before them and the ``N − 1 − o − BL`` after them: ``bptt − 1 + (N − bptt) mod B``
    targets in all, fewer than ``bptt + B``. With ``random_offset=False`` (evaluation), o = 0 and
    ``L = ⌊(N − 1)/B⌋``: only the last ``(N − 1) mod B`` targets are left out (s_0 is never a
    target). The last batch is kept even when shorter: it has ``T = L − (len − 1)·bptt`` steps.

    The d2l ``seq_data_iter_sequential`` draws its offset with ``random.randint(0, num_steps)``,
    whose upper bound is *inclusive*: offset = num_steps drops a whole first window of targets
    more than offset = 0 while cutting at the same places, and the tail of each of its B rows past
    the last full window is skipped too. Here the offset stays below bptt and nothing inside the
    covered range is skipped; the tests check both.

    Args:
        stream: (N,) integer token ids; a ``np.memmap`` is read one (T+1)×B slice per batch.
        batch_size: B, the number of parallel streams (global, across ranks).
        bptt: T, time steps per batch (the truncation length of BPTT).
        seed: seeds the per-epoch offset.
        random_offset: draw o ∈ [0, bptt) per epoch (training) or use o = 0 (evaluation).
        rank, world_size: this process's block of the B streams.
    """

    def __init__(
        self,
        stream: IntArray,
        batch_size: int,
        bptt: int,
        *,
        seed: int = 0,
        random_offset: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)
        self.stream = _check_stream(stream)
        self.bptt = _check_int("bptt", bptt, 1)
        self.random_offset = bool(random_offset)
        self._layout()

    def _layout(self) -> None:
        n = len(self.stream)
        max_offset = self.bptt - 1 if self.random_offset else 0
        self.stream_length = (n - 1 - max_offset) // self.batch_size  # L, the same for every offset
        if self.stream_length < 1:
            needed = self.batch_size + 1 + max_offset
            fix = "a smaller batch_size"
            if self.random_offset:
                fix = "a smaller batch_size or bptt, random_offset=False"
            raise DataError(
                f"a stream of {n} tokens is too short for batch_size={self.batch_size}, bptt={self.bptt} "
                f"(random_offset={self.random_offset}): it needs at least {needed} tokens; "
                f"use {fix}, or more text"
            )

    def __len__(self) -> int:
        return math.ceil(self.stream_length / self.bptt)

    def offset(self, epoch: int) -> int:
        """The epoch's start offset o ∈ [0, bptt) (always 0 with ``random_offset=False``)."""
        if not self.random_offset:
            return 0
        return int(_epoch_rng(self.seed, epoch).integers(0, self.bptt))  # high is exclusive

    def _batches(self, epoch: int, start: int) -> Iterator[Batch]:
        b_all = np.arange(self.batch_size, dtype=np.int64)[self._block(self.batch_size)]
        row_starts = self.offset(epoch) + self.stream_length * b_all  # (B_local,)
        for i in range(start, len(self)):
            t0 = i * self.bptt
            steps = min(self.bptt, self.stream_length - t0)
            chunk = _gather(self.stream, row_starts + t0, steps + 1)  # (T+1, B_local)
            yield Batch(
                x=chunk[:-1],
                y=chunk[1:].clone(),
                mask=torch.ones((steps, len(b_all)), dtype=torch.bool),
                reset_state=i == 0,
            )

    def _settings(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "bptt": self.bptt,
            "random_offset": self.random_offset,
            "n_tokens": len(self.stream),
        }


class RandomWindowSampler(EpochSampler):
    """Independent, non-overlapping windows of T tokens at a random offset, shuffled each epoch.

    Epoch e draws o ∈ {0, …, bptt − 1} and cuts the stream into ``M = ⌊(N − bptt)/bptt⌋`` windows
    (M is the same for every o): window j has inputs s_{o+jT} … s_{o+(j+1)T−1} and targets one step
    later. The windows are shuffled and dealt B per batch, so neighbouring columns (and consecutive
    batches) are unrelated; ``reset_state`` is True on every batch.

    Each epoch covers M·T targets exactly once; it leaves out the o targets before the first window
    and the ones after the last (``N − 1 − o − MT``; ``N − 1 − MT ≤ 2T − 2`` in all). With
    ``drop_last=False`` the last batch has ``M mod B`` columns when B does not divide M; with
    ``drop_last=True`` those windows are left out too. With ``world_size > 1`` a partial last batch
    is split like a full one, so ranks may get blocks one column apart (or none).
    """

    def __init__(
        self,
        stream: IntArray,
        batch_size: int,
        bptt: int,
        *,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)
        self.stream = _check_stream(stream)
        self.bptt = _check_int("bptt", bptt, 1)
        self.drop_last = bool(drop_last)
        self.n_windows = (len(self.stream) - self.bptt) // self.bptt  # M, valid for every offset o < bptt
        self._layout()

    def _layout(self) -> None:
        n = len(self.stream)
        needed = self.batch_size if self.drop_last else 1
        if self.n_windows < needed:
            raise DataError(
                f"a stream of {n} tokens holds only {max(self.n_windows, 0)} windows of bptt={self.bptt} "
                f"(one window of slack for the random offset), fewer than {needed} "
                f"(batch_size={self.batch_size}, drop_last={self.drop_last}); "
                f"it needs at least {(needed + 1) * self.bptt} tokens: use a smaller bptt or batch_size"
            )

    def __len__(self) -> int:
        if self.drop_last:
            return self.n_windows // self.batch_size
        return math.ceil(self.n_windows / self.batch_size)

    def window_starts(self, epoch: int) -> npt.NDArray[np.int64]:
        """Start index (into the stream) of each window of ``epoch``, in the order they are dealt."""
        rng = _epoch_rng(self.seed, epoch)
        offset = int(rng.integers(0, self.bptt))  # high is exclusive: o ∈ [0, bptt)
        order = rng.permutation(self.n_windows)
        return offset + self.bptt * order.astype(np.int64)

    def _batches(self, epoch: int, start: int) -> Iterator[Batch]:
        starts = self.window_starts(epoch)
        for i in range(start, len(self)):
            batch_starts = starts[i * self.batch_size : (i + 1) * self.batch_size]
            batch_starts = batch_starts[self._block(len(batch_starts))]
            chunk = _gather(self.stream, batch_starts, self.bptt + 1)  # (T+1, B_local)
            yield Batch(
                x=chunk[:-1],
                y=chunk[1:].clone(),
                mask=torch.ones((self.bptt, len(batch_starts)), dtype=torch.bool),
                reset_state=True,
            )

    def _settings(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "bptt": self.bptt,
            "drop_last": self.drop_last,
            "n_tokens": len(self.stream),
        }


# ---------------------------------------------------------------------------------------------
# Poems.


class PaddedPoemBatches(EpochSampler):
    """Poems as fixed-length rows, the layout of the PyTorch poetry tutorial, with a loss mask.

    Each poem p of n characters becomes ``<bos> p_1 … p_n <eos>`` (n + 2 tokens), padded with
    ``pad_id`` to ``fixed_length`` F — at the front with ``pad_side="left"`` (the tutorial's
    ``tang.npz``), at the back with ``"right"``. The batch is ``x = row[0 : F−1]``,
    ``y = row[1 : F]`` (so T = F − 1 = 124 for the tutorial's 125)::

        pad_side="left", F = 8, poem "床前明":
            row   <pad> <pad> <pad> <bos>  床    前    明   <eos>
            x     <pad> <pad> <pad> <bos>  床    前    明
            y     <pad> <pad> <bos>  床    前    明   <eos>
            mask    0     0     0     1     1     1     1           lengths = n + 1 = 4

    ``mask`` is True exactly on the targets p_1 … p_n, <eos>: never on padding, and not on <bos>,
    which is given, not predicted. ``lengths[b] = Σ_t mask[t, b]``. With ``pad_side="right"`` the
    counted targets are the first ``lengths[b]`` steps, so ``lengths`` can feed
    ``pack_padded_sequence``; with ``"left"`` the recurrent layer also runs over the leading pads
    (as the tutorial's model does), which the mask keeps out of the loss.

    A poem longer than F − 2 characters raises :class:`DataError` unless ``truncate=True``, which
    cuts the row at the end like the tutorial (it then loses <eos>, and characters past F − 1).

    Every batch starts from a fresh state (``reset_state`` is always True). Poems are shuffled each
    epoch when ``shuffle=True``; the last batch has ``n_poems mod B`` poems unless ``drop_last``.
    """

    def __init__(
        self,
        poems: Sequence[IntArray],
        batch_size: int,
        *,
        pad_id: int,
        bos_id: int,
        eos_id: int,
        fixed_length: int = 125,
        shuffle: bool = True,
        seed: int = 0,
        pad_side: PadSide = "left",
        truncate: bool = False,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)
        self.pad_id = _check_int("pad_id", pad_id, 0)
        self.bos_id = _check_int("bos_id", bos_id, 0)
        self.eos_id = _check_int("eos_id", eos_id, 0)
        self.fixed_length = _check_int("fixed_length", fixed_length, 3)
        if pad_side not in ("left", "right"):
            raise ConfigError(f"pad_side must be one of ['left', 'right'], got {pad_side!r}")
        self.pad_side: PadSide = pad_side
        self.shuffle, self.truncate, self.drop_last = bool(shuffle), bool(truncate), bool(drop_last)
        special = {"pad_id": self.pad_id, "bos_id": self.bos_id, "eos_id": self.eos_id}
        self.poems = _check_poems(poems, special)
        self._check_lengths()
        self._layout()

    def _layout(self) -> None:
        needed = self.batch_size if self.drop_last else 1
        if len(self.poems) < needed:
            raise DataError(
                f"{len(self.poems)} poems do not fill one batch of batch_size={self.batch_size} with "
                "drop_last=True; use a smaller batch_size or drop_last=False"
            )

    def _check_lengths(self) -> None:
        longest = max(range(len(self.poems)), key=lambda i: len(self.poems[i]))
        n = len(self.poems[longest])
        if n + 2 > self.fixed_length and not self.truncate:
            raise DataError(
                f"poem {longest} has {n} tokens, so <bos> + poem + <eos> ({n + 2}) exceeds "
                f"fixed_length={self.fixed_length}; pass truncate=True to cut rows at the end like the "
                f"tutorial, raise fixed_length to {n + 2}, or filter long poems out"
            )

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.poems) // self.batch_size
        return math.ceil(len(self.poems) / self.batch_size)

    def order(self, epoch: int) -> npt.NDArray[np.int64]:
        """Poem indices of ``epoch`` in the order they are batched."""
        if not self.shuffle:
            return np.arange(len(self.poems), dtype=np.int64)
        return _epoch_rng(self.seed, epoch).permutation(len(self.poems)).astype(np.int64)

    def _row(self, poem: IntArray) -> tuple[npt.NDArray[np.int64], int]:
        """The padded row of one poem and where its <bos> sits."""
        seq = np.concatenate(([self.bos_id], poem, [self.eos_id]))[: self.fixed_length]
        row = np.full(self.fixed_length, self.pad_id, dtype=np.int64)
        first = self.fixed_length - len(seq) if self.pad_side == "left" else 0
        row[first : first + len(seq)] = seq
        return row, first

    def _batches(self, epoch: int, start: int) -> Iterator[Batch]:
        order = self.order(epoch)
        steps = self.fixed_length - 1
        for i in range(start, len(self)):
            picked = order[i * self.batch_size : (i + 1) * self.batch_size]
            picked = picked[self._block(len(picked))]
            rows = [self._row(self.poems[j]) for j in picked]
            matrix = torch.from_numpy(
                np.stack([row for row, _ in rows], axis=1)
                if rows
                else np.empty((self.fixed_length, 0), dtype=np.int64)  # a rank with no share of a short batch
            )  # (F, B_local)
            first = torch.tensor([f for _, f in rows], dtype=torch.int64)  # index of <bos> in each row
            lengths = torch.tensor(
                [min(len(self.poems[j]) + 2, self.fixed_length) - 1 for j in picked], dtype=torch.int64
            )
            t = torch.arange(steps)[:, None]
            # The target at step t is row[t + 1]; it counts when it lies after <bos> and inside the poem.
            mask = (t >= first[None, :]) & (t < (first + lengths)[None, :])
            yield Batch(x=matrix[:-1], y=matrix[1:].clone(), mask=mask, reset_state=True, lengths=lengths)

    def _settings(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "fixed_length": self.fixed_length,
            "pad_side": self.pad_side,
            "shuffle": self.shuffle,
            "truncate": self.truncate,
            "drop_last": self.drop_last,
            "special_ids": [self.pad_id, self.bos_id, self.eos_id],
            "n_poems": len(self.poems),
            "n_tokens": sum(len(p) for p in self.poems),
        }


class PackedPoemStreams(EpochSampler):
    """Poems concatenated with ``<eos>`` separators into B dense streams: no padding compute.

    Epoch e orders the poems (a fresh permutation when ``shuffle=True``) and builds the stream
    ``<eos> p¹ <eos> p² <eos> … pⁿ <eos>`` of ``N = Σ|pⁱ| + n + 1`` tokens, so every poem is read
    after an <eos> (which plays <bos>) and every character and every closing <eos> is a target —
    ``N − 1`` targets, each exactly once per epoch. The stream is split into B contiguous rows as in
    :class:`SequentialSampler` (state carried and detached between batches, ``reset_state`` on the
    first batch of an epoch), but nothing is dropped: with ``N − 1 = qB + r`` the first r rows hold
    q + 1 targets and the others q, so at most one step per row (in the last batch) is filler,
    masked out. A row may start in the middle of a poem and a state flows from one poem into the
    next across the <eos>; that is the price of packing, in exchange for no padding compute.
    """

    def __init__(
        self,
        poems: Sequence[IntArray],
        batch_size: int,
        bptt: int,
        *,
        eos_id: int,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)
        self.bptt = _check_int("bptt", bptt, 1)
        self.eos_id = _check_int("eos_id", eos_id, 0)
        self.shuffle = bool(shuffle)
        self.poems = _check_poems(poems, {"eos_id": self.eos_id})
        self.n_targets = sum(len(p) for p in self.poems) + len(self.poems)  # N − 1
        self._layout()

    def _layout(self) -> None:
        if self.n_targets < 2 * self.batch_size:
            raise DataError(
                f"{len(self.poems)} poems give {self.n_targets} targets, fewer than 2 per stream for "
                f"batch_size={self.batch_size}; use a batch_size of at most {self.n_targets // 2} "
                "or more poems"
            )
        q, r = divmod(self.n_targets, self.batch_size)
        row_lengths = np.full(self.batch_size, q, dtype=np.int64)
        row_lengths[:r] += 1  # the first r rows take one target more
        self._row_lengths = row_lengths
        self._row_starts = np.concatenate(([0], np.cumsum(row_lengths)[:-1])).astype(np.int64)
        self.stream_length = q + (1 if r else 0)  # steps of the longest row

    def __len__(self) -> int:
        return math.ceil(self.stream_length / self.bptt)

    def order(self, epoch: int) -> npt.NDArray[np.int64]:
        """Poem indices of ``epoch`` in the order they are packed."""
        if not self.shuffle:
            return np.arange(len(self.poems), dtype=np.int64)
        return _epoch_rng(self.seed, epoch).permutation(len(self.poems)).astype(np.int64)

    def packed_stream(self, epoch: int) -> npt.NDArray[np.int64]:
        """The epoch's stream ``<eos> p <eos> … p <eos>`` and one filler <eos>, so each row can read T + 1."""
        eos = np.array([self.eos_id], dtype=np.int64)
        pieces = [eos]
        for j in self.order(epoch):
            pieces += [self.poems[j], eos]
        pieces.append(eos)  # filler, only ever read at masked steps
        return np.concatenate(pieces)

    def _batches(self, epoch: int, start: int) -> Iterator[Batch]:
        stream = self.packed_stream(epoch)
        cols = self._block(self.batch_size)
        row_starts, row_lengths = self._row_starts[cols], torch.from_numpy(self._row_lengths[cols])
        for i in range(start, len(self)):
            t0 = i * self.bptt
            steps = min(self.bptt, self.stream_length - t0)
            chunk = _gather(stream, row_starts + t0, steps + 1)  # (T+1, B_local)
            t = torch.arange(t0, t0 + steps)[:, None]
            yield Batch(x=chunk[:-1], y=chunk[1:].clone(), mask=t < row_lengths[None, :], reset_state=i == 0)

    def _settings(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "bptt": self.bptt,
            "shuffle": self.shuffle,
            "eos_id": self.eos_id,
            "n_poems": len(self.poems),
            "n_tokens": self.n_targets - len(self.poems),
        }
