"""Data-parallel training on many processes, GPUs and machines: PyTorch's DDP, launched by torchrun.

The :class:`~rnnlab.train.trainer.Trainer` calls into this module; no command, objective or model
learns that ranks exist. ``torchrun`` starts W copies of the same command and tells each one its
rank in the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``PORT``);
:func:`init_world` joins them into a process group (gloo on CPUs, NCCL on GPUs), and each rank
then trains on its own block of every global batch::

    global batch (B = W·b columns)   | rank 0: columns 0‥b−1 | rank 1: b‥2b−1 | … | rank W−1 |

**Why W ranks end with the single-process weights.** Each sampler computes the same epoch plan
from the same seed on every rank and hands rank r its block ``rank_block(B, r, W)`` of the
columns, so the blocks side by side are the batch one process with batch B would get. With S_r the
summed loss of rank r's counted targets and n_r their number, one update is::

    (S_r, n_r) ← objective.loss(batch_r, state_r)            forward through DDP
    (S, N) ← Σ_r (S_r, n_r)                                    one small all-reduce
    ℒ_r = W · S_r / N;  backward                                DDP all-reduces and averages:
    g = (1/W) Σ_r ∇ℒ_r = ∇(Σ_r S_r) / N = ∇(S / N)             the single-process gradient

Every rank then holds the same averaged g, so ``clip_grad_norm_`` computes the same *global*
norm ‖g‖ everywhere and every rank applies the same update: the replicas never drift apart.
Each rank carries the recurrent state of its own columns (columns never interact in a recurrent
layer), so the carried state of the whole batch is the ranks' states side by side along dim 1.

**Rank 0 writes; everyone computes.** Logs, progress, metrics and checkpoints come from rank 0;
what they record (losses, token counts, validation) is reduced over all ranks first.
"""

from __future__ import annotations

import atexit
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, TypeVar, cast

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from rnnlab.data.sampling import Batch, rank_block
from rnnlab.errors import ConfigError, TrainingError
from rnnlab.train.batches import BatchSource
from rnnlab.train.objective import Objective

T = TypeVar("T")

# Environment variables torchrun (and Slurm + torchrun) set for every worker.
ENV_RANK, ENV_WORLD_SIZE, ENV_LOCAL_RANK = "RANK", "WORLD_SIZE", "LOCAL_RANK"
ENV_RESTARTS = "TORCHELASTIC_RESTART_COUNT"  # 0 on the first start, k after the k-th restart
ENV_NO_SHARED_STORE = "TORCH_DISABLE_SHARE_RDZV_TCP_STORE"  # "1": a fresh store per restart


@dataclass(frozen=True)
class World:
    """Which process this is among how many, and where it computes."""

    rank: int = 0  # global rank, 0 … size − 1; rank 0 writes
    size: int = 1  # W, the number of processes training together
    local_rank: int = 0  # rank on this machine: the GPU index with --device cuda
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    restarts: int = 0  # how many times torchrun has restarted the job (--max-restarts)

    @property
    def is_main(self) -> bool:
        """True on the one process that writes logs, metrics and checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(
            f"environment variable {name}={value!r} is not an integer; torchrun sets it"
        ) from None


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """ "auto" → cuda when available, else cpu; on a GPU the process of local rank k uses cuda:k."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name != "cuda":
        return torch.device(name)
    if not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but no CUDA GPU is visible; use --device cpu or auto")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise ConfigError(
            f"this is local rank {local_rank} but only {count} GPU(s) are visible: run one process per GPU "
            f"(torchrun --nproc-per-node {count}, rnnlab train --nproc {count}) or use --device cpu"
        )
    return torch.device("cuda", local_rank)


def _current_world(device: str) -> World:
    local_rank = _env_int(ENV_LOCAL_RANK, 0)
    return World(
        rank=dist.get_rank(),
        size=dist.get_world_size(),
        local_rank=local_rank,
        device=resolve_device(device, local_rank),
        restarts=_env_int(ENV_RESTARTS, 0),
    )


def init_world(device: str = "auto", timeout_minutes: float = 30.0) -> World:
    """This process's place in the job; joins the process group torchrun describes (idempotent).

    Outside torchrun (no ``WORLD_SIZE`` > 1 in the environment) this is the single process, rank 0
    of 1, and nothing is initialised. Under torchrun the first call initialises the default process
    group — gloo for CPU training, NCCL for ``cuda`` (one GPU per process, ``cuda:LOCAL_RANK``) —
    with ``timeout_minutes`` as the longest any collective may wait for the others, so a rank that
    hangs (rather than dies, which torchrun notices at once) still ends the job with an error.
    A group the caller initialised already is used as it is.
    """
    if dist.is_available() and dist.is_initialized():
        return _current_world(device)
    size = _env_int(ENV_WORLD_SIZE, 1)
    if size <= 1:
        return World(device=resolve_device(device), restarts=_env_int(ENV_RESTARTS, 0))
    if not dist.is_available():
        raise ConfigError("this PyTorch build has no torch.distributed; run a single process (no torchrun)")
    local_rank = _env_int(ENV_LOCAL_RANK, 0)
    target = resolve_device(device, local_rank)
    if target.type == "cuda":
        torch.cuda.set_device(target)
    if timeout_minutes <= 0:
        raise ConfigError(f"the distributed timeout must be positive, got {timeout_minutes} minutes")
    dist.init_process_group(
        backend="nccl" if target.type == "cuda" else "gloo",
        timeout=timedelta(minutes=timeout_minutes),
        device_id=target if target.type == "cuda" else None,
    )
    atexit.register(_destroy_process_group)
    return _current_world(device)


def _destroy_process_group() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_main_process() -> bool:
    """Whether this process is rank 0 (or the only one): the one that writes results files."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return _env_int(ENV_RANK, 0) == 0


# ---------------------------------------------------------------------------------------------
# Collectives (no-ops on one process).


def _comm_device(world: World) -> torch.device:
    """NCCL reduces tensors on the GPU, gloo on the CPU."""
    return world.device if dist.get_backend() == "nccl" else torch.device("cpu")


def all_reduce_sum(world: World, values: Sequence[float]) -> list[float]:
    """Σ over ranks of each value (float64, so token counts stay exact far beyond 2²⁴)."""
    if not world.distributed:
        return [float(v) for v in values]
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64, device=_comm_device(world))
    dist.all_reduce(tensor)
    return [float(v) for v in tensor.tolist()]


def all_gather(world: World, obj: T) -> list[T]:
    """Every rank's ``obj`` (picklable), in rank order, on every rank."""
    if not world.distributed:
        return [obj]
    out: list[Any] = [None] * world.size
    dist.all_gather_object(out, obj)
    return cast(list[T], out)


def broadcast(world: World, obj: T) -> T:
    """Rank 0's ``obj`` on every rank (a decision rank 0 takes for all, e.g. whether a run exists)."""
    if not world.distributed:
        return obj
    box: list[Any] = [obj]
    dist.broadcast_object_list(box, src=0)
    return cast(T, box[0])


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def build_once(world: World, build: Callable[[], T]) -> T:
    """``build()`` first on local rank 0 of each machine, then (once it is done) on the others.

    For idempotent builders such as :func:`rnnlab.data.token_cache`: the first call creates the
    memory-mapped token cache, the later ones find and open it, so every process on a machine maps
    the same file (the OS shares its pages) and the tokenisation runs once per machine. A failure on
    the builder is raised on every rank instead of leaving the others waiting.
    """
    if not world.distributed:
        return build()
    result: T | None = None
    failure: Exception | None = None
    if world.local_rank == 0:
        try:
            result = build()
        except Exception as err:  # re-raised below, after the others have heard of it
            failure = err
    message = None if failure is None else f"{type(failure).__name__}: {failure}"
    errors = [e for e in all_gather(world, message) if e is not None]  # also the barrier
    if failure is not None:
        raise failure
    if errors:
        raise TrainingError(f"the build on local rank 0 failed, so this rank stops too: {errors[0]}")
    if world.local_rank != 0:
        result = build()
    return cast(T, result)


# ---------------------------------------------------------------------------------------------
# Batches and states split by rank.


class ShardableSource(Protocol):
    """A batch source that can serve one rank's block of a wider global batch."""

    batch_size: int

    def shard(self, rank: int, world_size: int, batch_size: int | None = None) -> BatchSource: ...


def shard_batches(source: BatchSource, world: World, batch_size: int | None = None) -> BatchSource:
    """``source`` as this rank's share of global batches of ``batch_size`` columns (default: its own).

    One process with the default batch size gets ``source`` itself. Sources that cannot be split
    (no ``shard`` method) are refused for training on several ranks, with the way out.
    """
    shard = getattr(source, "shard", None)
    if not world.distributed and (batch_size is None or batch_size == getattr(source, "batch_size", None)):
        return source
    if shard is None:
        raise ConfigError(
            f"{type(source).__name__} cannot be split between {world.size} ranks: it has no "
            "shard(rank, world_size, batch_size) method; derive it from rnnlab.data.sampling.EpochSampler "
            "(which has one) or train in one process"
        )
    return cast(ShardableSource, source).shard(world.rank, world.size, batch_size)


def check_share(batch: Batch, source: BatchSource, world: World) -> None:
    """Refuse a batch wider than this rank's share: its sampler ignores ``rank``/``world_size``.

    A sampler that hands every rank the whole batch would make each rank train (and count) the
    same data, silently. Samplers derived from ``EpochSampler`` take ``self._block(width)`` of
    each batch's columns.
    """
    size = source_batch_size(source)
    if not world.distributed or size is None:
        return
    block = rank_block(size, world.rank, world.size)
    if batch.width > block.stop - block.start:
        raise ConfigError(
            f"{type(source).__name__} gave rank {world.rank} a batch of {batch.width} columns, more than "
            f"its share ({block.stop - block.start} of {size}): the sampler ignores its rank; take "
            "self._block(width) of each batch's columns in _batches (see rnnlab.data.sampling.EpochSampler)"
        )


def source_batch_size(source: BatchSource) -> int | None:
    """The global batch size of a shardable source (None when it does not say)."""
    size = getattr(source, "batch_size", None)
    return int(size) if isinstance(size, int) else None


def _map_state(state: Any, fn: Callable[[Tensor], Tensor]) -> Any:
    if state is None:
        return None
    if isinstance(state, Tensor):
        return fn(state)
    if isinstance(state, (tuple, list)):
        return type(state)(_map_state(s, fn) for s in state)
    raise TypeError(f"a recurrent state must be a tensor or a tuple of tensors, got {type(state).__name__}")


def gather_state(world: World, state: Any) -> Any:
    """The whole batch's carried state: every rank's columns side by side along dim 1, in rank order.

    States follow torch.nn's layout ``(layers·directions, B, H)`` — the batch on dim 1 — as every
    rnnlab model's ``init_state`` does. Ranks holding no state contribute no columns.
    """
    if not world.distributed:
        return state
    parts = [p for p in all_gather(world, _map_state(state, lambda t: t.detach().cpu())) if p is not None]
    return _side_by_side(parts) if parts else None


def _side_by_side(parts: list[Any]) -> Any:
    """States of column blocks (same structure) joined along the batch dimension 1."""
    if isinstance(parts[0], Tensor):
        return torch.cat(parts, dim=1)
    return type(parts[0])(_side_by_side([p[i] for p in parts]) for i in range(len(parts[0])))


def local_state(world: World, state: Any) -> Any:
    """This rank's columns of a whole-batch state (the inverse of :func:`gather_state`)."""
    if not world.distributed or state is None:
        return state
    return _map_state(state, lambda t: t[:, rank_block(t.shape[1], world.rank, world.size)].contiguous())


# ---------------------------------------------------------------------------------------------
# The model side: DDP around the objective, per-rank randomness.


class ObjectiveModule(nn.Module):
    """The objective's loss as the ``forward`` of a module, so DistributedDataParallel can wrap it.

    DDP synchronises the gradients of a backward pass only when the forward ran through the DDP
    wrapper itself, and the objective (not the model) knows how to turn a batch into a loss. The
    model is registered as a submodule, so the wrapper sees exactly its parameters.

    A rank whose block of a short last batch is empty still has to join the gradient all-reduce:
    it returns a zero loss that touches every parameter (zero gradients, the right collectives).
    """

    def __init__(self, objective: Objective) -> None:
        super().__init__()
        self.objective = objective
        self.model = objective.model

    def forward(self, batch: Batch, state: Any) -> tuple[Tensor, int, Any]:
        if batch.width == 0:
            params = [p for p in self.model.parameters() if p.requires_grad]
            zero = torch.stack([(p * 0).sum() for p in params]).sum()
            return zero, 0, state
        return self.objective.loss(batch, state)


def data_parallel(module: nn.Module, world: World) -> nn.Module:
    """``module`` under DistributedDataParallel on several ranks; itself on one.

    Buffers are not re-broadcast before every forward: rnnlab models keep none that training
    changes (only an empty dtype anchor), and the broadcast would cost a collective per step.
    """
    if not world.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    params = inspect.signature(DistributedDataParallel.__init__).parameters
    # torch 2.13 renamed broadcast_buffers (now deprecated) to forward_sync_buffers.
    flag = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
    no_sync: dict[str, Any] = {flag: False}
    device_ids = [world.device.index] if world.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids, **no_sync)


def rank_seed(seed: int, rank: int) -> int:
    """A seed for rank r > 0's dropout draws, independent of every other rank's (rank 0 keeps ``seed``)."""
    return int(np.random.SeedSequence([seed, rank]).generate_state(1, dtype=np.uint64)[0] >> 1)


def seed_ranks(world: World, seed: int) -> None:
    """Give ranks 1 … W−1 their own random streams (dropout masks) once the weights are built.

    The weights themselves are identical on every rank (built from the same seed, and DDP
    broadcasts rank 0's at start); rank 0 keeps the stream of a single-process run.
    """
    if world.rank > 0:
        torch.manual_seed(rank_seed(seed, world.rank))


# ---------------------------------------------------------------------------------------------
# Launching: `rnnlab train --nproc N` is torchrun on one machine.


def under_torchrun() -> bool:
    """Whether this process was started by torchrun (or another launcher speaking its protocol)."""
    return ENV_LOCAL_RANK in os.environ and ENV_WORLD_SIZE in os.environ


def launch_local(nproc: int, argv: Sequence[str], *, max_restarts: int = 0, module: str = "rnnlab") -> None:
    """Run ``python -m MODULE ARGV`` as ``nproc`` ranks of this machine under torchrun.

    The same as ``torchrun --standalone --nproc-per-node NPROC --max-restarts R -m rnnlab ARGV``
    (torch.distributed.run's own launcher: rendezvous on a free local port, worker monitoring, and
    a restart of every worker when one dies, up to ``max_restarts`` times). ``OMP_NUM_THREADS``,
    when unset, becomes the CPU count divided by ``nproc`` rather than torchrun's 1, and
    ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1`` makes restarts work (see docs/scale.md).
    """
    if nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {nproc}")
    if max_restarts < 0:
        raise ConfigError(f"--max-restarts must be ≥ 0, got {max_restarts}")
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    # Restarted workers must not share torchrun's rendezvous store with the failed ones: they would
    # read the old workers' addresses from it (pytorch/pytorch#135712).
    os.environ.setdefault(ENV_NO_SHARED_STORE, "1")
    args = parse_args(
        ["--standalone", f"--nproc-per-node={nproc}", f"--max-restarts={max_restarts}", "-m", module, *argv]
    )
    try:
        run(args)
    except ChildFailedError as err:
        rank, failure = err.get_first_failure()
        raise TrainingError(
            f"{len(err.failures)} of {nproc} processes failed; the first was rank {rank} "
            f"(exit code {failure.exitcode}); its own message is printed above. Fix the cause and continue "
            "from the last checkpoint with --resume RUN_DIR"
        ) from None
