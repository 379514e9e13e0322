"""From id sequences and a ``TrainConfig`` to the batch iterators the trainer consumes.

The four layouts come from :mod:`rnnlab.data.sampling`; this module picks one, and adds the
one the samplers do not offer: AWD-LSTM's randomly varied truncation length (Merity et al. 2018,
§4.1), where each batch of a carried stream is ``T`` long with

    T_base = bptt with probability 0.95, else bptt / 2;    T = max(5, ⌊N(T_base, 5)⌋)

so the truncation points move every epoch and every token is, over time, predicted from a
varying amount of in-graph history. The trainer scales the learning rate by ``T / bptt`` so long
and short batches weigh the same per token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, cast

import numpy as np
import torch

from rnnlab.data.sampling import (
    Batch,
    PackedPoemStreams,
    PaddedPoemBatches,
    PadSide,
    RandomWindowSampler,
    SequentialSampler,
    rank_block,
)
from rnnlab.errors import CheckpointError, DataError
from rnnlab.train.config import TrainConfig
from rnnlab.train.corpus import IdArray

MIN_RANDOM_LENGTH = 5  # AWD-LSTM's floor: shorter chunks give too little signal per update
MAX_RANDOM_EXTRA = 40  # …and its cap above bptt, so a rare long draw cannot blow up memory


class BatchSource(Protocol):
    """What the trainer needs from a sampler: epochs of batches and a resumable position."""

    @property
    def epoch(self) -> int: ...

    def __iter__(self) -> Iterator[Batch]: ...

    def __len__(self) -> int: ...

    def set_epoch(self, epoch: int) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def joined_stream(sequences: Sequence[IdArray], eos_id: int) -> IdArray:
    """``<eos> s¹ <eos> s² <eos> … <eos>``: one stream where <eos> closes each line and opens the next."""
    eos = np.array([eos_id], dtype=np.int64)
    pieces = [eos]
    for seq in sequences:
        pieces += [np.asarray(seq, dtype=np.int64), eos]
    return np.concatenate(pieces)


class RandomLengthStreams:
    """B carried streams cut into chunks of random length T (AWD-LSTM); see the module docstring.

    The stream of epoch e (``stream_for_epoch(e)``, N tokens) is split into B contiguous rows of
    ``L = ⌊(N − 1)/B⌋`` targets, as ``SequentialSampler`` does; the epoch's chunk lengths are drawn
    from ``default_rng([seed, e, 1])``, so any position can be replayed from (seed, epoch, index).
    With ``world_size > 1`` the rank reads its :func:`~rnnlab.data.sampling.rank_block` of the B rows
    (every rank draws the same lengths), as the samplers of :mod:`rnnlab.data.sampling` do.
    """

    def __init__(
        self,
        stream_for_epoch: Callable[[int], IdArray],
        n_tokens: int,
        batch_size: int,
        bptt: int,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.stream_for_epoch, self.n_tokens, self.batch_size, self.bptt, self.seed = (
            stream_for_epoch,
            n_tokens,
            batch_size,
            bptt,
            seed,
        )
        self.rank, self.world_size = rank, world_size
        self.row_length = (n_tokens - 1) // batch_size  # L
        if self.row_length < MIN_RANDOM_LENGTH:
            raise DataError(
                f"{n_tokens} tokens give rows of {self.row_length} targets for batch_size={batch_size}, "
                f"fewer than {MIN_RANDOM_LENGTH}; use a smaller batch_size or more text"
            )
        self._epoch, self._position = 0, 0

    @property
    def epoch(self) -> int:
        return self._epoch

    def lengths(self, epoch: int) -> list[int]:
        """The chunk lengths T₀, T₁, … of ``epoch``; they sum to L."""
        rng = np.random.default_rng([self.seed, epoch, 1])
        out: list[int] = []
        done = 0
        while done < self.row_length:
            base = self.bptt if rng.random() < 0.95 else self.bptt / 2
            steps = min(max(MIN_RANDOM_LENGTH, int(rng.normal(base, 5))), self.bptt + MAX_RANDOM_EXTRA)
            steps = min(steps, self.row_length - done)
            out.append(steps)
            done += steps
        return out

    def __len__(self) -> int:
        return len(self.lengths(self._epoch))

    def set_epoch(self, epoch: int) -> None:
        self._epoch, self._position = epoch, 0

    def shard(self, rank: int, world_size: int, batch_size: int | None = None) -> RandomLengthStreams:
        """The same streams for one of ``world_size`` ranks with a global batch of ``batch_size`` rows."""
        replica = RandomLengthStreams(
            self.stream_for_epoch,
            self.n_tokens,
            self.batch_size if batch_size is None else batch_size,
            self.bptt,
            seed=self.seed,
            rank=rank,
            world_size=world_size,
        )
        if replica.batch_size == self.batch_size:
            replica._epoch, replica._position = self._epoch, self._position
        else:
            replica._epoch = self._epoch
        return replica

    def __iter__(self) -> Iterator[Batch]:
        epoch, plan = self._epoch, self.lengths(self._epoch)
        stream = self.stream_for_epoch(epoch)
        block = range(self.batch_size)[rank_block(self.batch_size, self.rank, self.world_size)]
        rows = np.empty((self.row_length + 1, len(block)), dtype=np.int64)  # (L + 1, B_local)
        for j, b in enumerate(block):
            rows[:, j] = stream[b * self.row_length : (b + 1) * self.row_length + 1]
        starts = np.concatenate(([0], np.cumsum(plan)))
        for i in range(self._position, len(plan)):
            chunk = torch.from_numpy(rows[starts[i] : starts[i + 1] + 1].astype(np.int64))
            self._epoch, self._position = (epoch + 1, 0) if i + 1 == len(plan) else (epoch, i + 1)
            yield Batch(
                x=chunk[:-1],
                y=chunk[1:].clone(),
                mask=torch.ones_like(chunk[1:], dtype=torch.bool),
                reset_state=i == 0,
            )

    def state_dict(self) -> dict[str, Any]:
        return {
            "sampler": type(self).__name__,
            "seed": self.seed,
            "epoch": self._epoch,
            "position": self._position,
            "settings": {"batch_size": self.batch_size, "bptt": self.bptt, "row_length": self.row_length},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        ours = self.state_dict()
        if state.get("sampler") != ours["sampler"] or state.get("settings") != ours["settings"]:
            raise CheckpointError(
                f"sampler state {dict(state)} does not match this {ours['sampler']} ({ours['settings']}); "
                "resume with the data and settings the run was started with"
            )
        self.seed, self._epoch, self._position = (
            int(state["seed"]),
            int(state["epoch"]),
            int(state["position"]),
        )


def _pad_side(config: TrainConfig) -> PadSide:
    return cast(PadSide, config.pad_side)  # validated by TrainConfig


def training_batches(
    config: TrainConfig, sequences: Sequence[IdArray], *, pad_id: int, bos_id: int, eos_id: int
) -> BatchSource:
    """The training sampler ``config.sampling`` / ``config.bptt_mode`` ask for, seeded by ``config.seed``."""
    b, t, seed = config.batch_size, config.bptt, config.seed
    if config.sampling == "padded":
        return PaddedPoemBatches(
            sequences,
            b,
            pad_id=pad_id,
            bos_id=bos_id,
            eos_id=eos_id,
            fixed_length=config.fixed_length,
            seed=seed,
            pad_side=_pad_side(config),
            truncate=True,
        )
    if config.sampling == "packed":
        packed = PackedPoemStreams(sequences, b, t, eos_id=eos_id, seed=seed)
        if config.bptt_mode == "random-length":
            n = packed.n_targets + 1
            return RandomLengthStreams(lambda e: packed.packed_stream(e)[:n], n, b, t, seed=seed)
        return packed
    stream = joined_stream(sequences, eos_id)
    if config.bptt_mode == "random-length":
        return RandomLengthStreams(lambda e: stream, len(stream), b, t, seed=seed)
    if config.sampling == "sequential":
        return SequentialSampler(stream, b, t, seed=seed)
    return RandomWindowSampler(stream, b, t, seed=seed)


def evaluation_batches(
    config: TrainConfig, sequences: Sequence[IdArray], *, pad_id: int, bos_id: int, eos_id: int
) -> BatchSource:
    """Every character and every closing ``<eos>`` of ``sequences`` as a target, exactly once.

    A model trained on padded poems is evaluated in its own layout (``<bos>`` + poem + ``<eos>``,
    padding masked, rows long enough that nothing is cut); every other model reads the lines
    joined by ``<eos>`` with the state carried. Both count the same targets, so perplexities of
    the two kinds of model compare directly.
    """
    if not sequences:
        raise DataError("there is nothing to evaluate on: the held-out split is empty")
    if config.sampling == "padded":
        longest = max(len(s) for s in sequences)
        return PaddedPoemBatches(
            sequences,
            min(config.batch_size, len(sequences)),
            pad_id=pad_id,
            bos_id=bos_id,
            eos_id=eos_id,
            fixed_length=max(config.fixed_length, longest + 2),
            shuffle=False,
            pad_side=_pad_side(config),
        )
    n_targets = sum(len(s) for s in sequences) + len(sequences)
    batch_size = max(1, min(config.batch_size, n_targets // 2))
    return PackedPoemStreams(sequences, batch_size, config.bptt, eos_id=eos_id, shuffle=False)
