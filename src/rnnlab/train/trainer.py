"""``Trainer``: truncated BPTT, clipping, schedules, evaluation, checkpoints and exact resume.

The trainer knows a model only through an :class:`~rnnlab.train.objective.Objective`. One update::

    state ← init_state(B)           if the batch starts fresh streams (reset_state), else
    state ← detach_state(state)     the carried state, cut from the previous batch's graph
    (Σℓ, N, state) ← loss(batch, state)
    ∇ (Σℓ / N);  ‖g‖ ← global norm;  g ← g · min(1, clip / ‖g‖);  optimizer step at η_s

Detaching is what makes BPTT *truncated*: the state (the information) flows from batch to batch,
but gradients stop at the batch boundary, so memory and time per update stay O(T), not O(t).

Evaluation runs every ``eval_every`` updates and at each epoch end; after each one a checkpoint
is written to ``checkpoints/latest`` (and copied to ``checkpoints/best`` when validation
improved). A checkpoint holds everything the next update depends on — weights, optimizer
moments, the schedule's counters, every RNG, the sampler's position and the carried state — so a
run resumed from it performs bit-for-bit the same updates on the CPU as one never interrupted.

Stopping: epochs done, ``max_steps``, the ``max_minutes`` budget, early stopping (``patience``
evaluations without a better validation loss), Ctrl-C (checkpoint, final evaluation, clean
exit), or a non-finite loss (``nan_policy="stop"``: raise :class:`TrainingError`, leaving the
last good checkpoint untouched; ``"skip"``: drop the batch, reset the carried state, count it).

Several processes (``torchrun``, see :mod:`rnnlab.train.distributed`): every rank trains on its
block of a global batch of W × ``batch_size`` columns through DistributedDataParallel, losses and
validation are summed over ranks before they are used or logged, stop decisions are taken
together, and only rank 0 writes. Checkpoints hold the *global* batch's state, so a run resumes
on any number of ranks from the same step with the same global batch and data order.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.data.sampling import Batch
from rnnlab.errors import CheckpointError, ConfigError, TrainingError
from rnnlab.train import checkpoint as ckpt
from rnnlab.train import distributed as ddp
from rnnlab.train.batches import BatchSource, RandomLengthStreams
from rnnlab.train.config import TrainConfig
from rnnlab.train.distributed import World
from rnnlab.train.distributed import resolve_device as resolve_device  # re-exported
from rnnlab.train.memory import keep_freed_memory
from rnnlab.train.metrics import (
    IntervalMeter,
    MetricsLog,
    NLLMeter,
    ProgressBar,
    TensorBoardSink,
    format_line,
)
from rnnlab.train.objective import Objective
from rnnlab.train.schedule import LRSchedule


class Callback:
    """Hooks into training; override the ones you need (sampling text, extra logging, tests)."""

    # Callbacks run on every rank with the same (rank-reduced) records; anything that writes files
    # should check ``trainer.world.is_main``.

    def on_step_end(self, trainer: Trainer) -> None:
        """After every update (``trainer.step`` is the number of updates done)."""

    def on_evaluate(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """After each validation pass, with its record (loss, ppl, bpc, best)."""

    def on_checkpoint(self, trainer: Trainer, folder: Path) -> None:
        """After a checkpoint folder has been completely written (on rank 0, which writes it)."""

    def on_train_end(self, trainer: Trainer, result: TrainResult) -> None:
        """Once, after the final evaluation and checkpoint."""


@dataclass
class TrainResult:
    """How a call to :meth:`Trainer.fit` ended."""

    stopped: str  # "completed", "max_steps", "time_budget", "early_stopping" or "interrupted"
    step: int  # updates done in all sessions
    epoch: int  # epochs completed
    best_val_loss: float  # mean NLL of the best evaluation (nan without validation data)
    final_val_loss: float  # mean NLL of the final evaluation
    elapsed_s: float  # training wall-clock time in all sessions
    skipped_batches: int  # batches dropped by nan_policy="skip"

    @property
    def final_val_ppl(self) -> float:
        return math.exp(self.final_val_loss) if math.isfinite(self.final_val_loss) else math.nan


def build_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """SGD/Adam/AdamW; weight decay only on matrices (biases and gains are not decayed, as in nanoGPT)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)
    betas = (config.beta1, config.beta2)
    fused = _fused_adam_fits(params)
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr, betas=betas, fused=fused)
    return torch.optim.AdamW(groups, lr=config.lr, betas=betas, fused=fused)


def _fused_adam_fits(params: Sequence[Tensor]) -> bool:
    """Whether PyTorch's fused Adam kernel takes these parameters (floating point, on a CPU or CUDA).

    It updates all of them in one pass each (on a 2.8M-parameter language model on a CPU, 1.4 ms a
    step against 10 ms for the per-tensor loop); other devices keep the loop.
    """
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)


@torch.no_grad()
def evaluate(
    objective: Objective,
    batches: BatchSource,
    device: torch.device,
    precision: str = "fp32",
    world: World | None = None,
) -> NLLMeter:
    """Σℓ and N over one pass of ``batches`` in eval mode (no dropout), state carried as they say.

    With a ``world`` of several ranks, ``batches`` is this rank's share (its column block of each
    batch) and the sums are added over ranks, so every held-out target counts exactly once and
    every rank returns the same meter.
    """
    model = objective.model
    was_training = model.training
    model.eval()
    meter = NLLMeter()
    batches.set_epoch(0)
    state: Any = None
    with_counts = getattr(objective, "loss_with_counts", None)  # optional: task metrics (objective.py)
    try:
        for batch in batches:
            if world is not None:
                ddp.check_share(batch, batches, world)
            if batch.width == 0:
                continue  # this rank has no share of a short batch
            if batch.reset_state or state is None:
                state = objective.init_state(batch.width)
            with _autocast(device, precision):
                if with_counts is not None:
                    sum_nll, n, state, counts = with_counts(_to_device(batch, device), state)
                    meter.add_counts(counts)
                else:
                    sum_nll, n, state = objective.loss(_to_device(batch, device), state)
            meter.add(float(sum_nll), n)
    finally:
        model.train(was_training)
    if world is not None and world.distributed:
        total, count = ddp.all_reduce_sum(world, [meter.sum_nll, meter.n_tokens])
        counts = meter.counts
        if with_counts is not None:
            # Gathered, not all-reduced: a rank's counts may lack keys (a class it never saw).
            counts = {}
            for part in ddp.all_gather(world, meter.counts):
                for key, value in part.items():
                    counts[key] = counts.get(key, 0.0) + value
        meter = NLLMeter(total, int(count), counts)
    return meter


def _to_device(batch: Batch, device: torch.device) -> Batch:
    """The batch on ``device``; to a GPU through pinned memory, so the copy runs asynchronously."""
    if device.type == "cuda":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch.to(device)


def _autocast(device: torch.device, precision: str) -> Any:
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


class Trainer:
    """Trains ``objective.model`` on ``train_batches``; see the module docstring for what it does.

    ``run_dir`` (optional) receives ``metrics.jsonl``, ``checkpoints/`` and ``model.safetensors``;
    without it the trainer only trains and evaluates. ``log`` receives the fixed-width lines.

    ``train_batches`` (and ``valid_batches``) are built as for one process; ``config.batch_size``
    is the per-rank batch. Started by torchrun, the trainer joins the process group and trains on
    this rank's block of global batches of W × that size (see :mod:`rnnlab.train.distributed`).
    """

    def __init__(
        self,
        objective: Objective,
        config: TrainConfig,
        train_batches: BatchSource,
        valid_batches: BatchSource | None = None,
        *,
        run_dir: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool = True,
    ) -> None:
        self.objective, self.config = objective, config
        self.world = ddp.init_world(config.device, config.dist_timeout_minutes)
        self.run = ckpt.RunDir(run_dir) if run_dir is not None else None  # its paths, on every rank
        self.callbacks = list(callbacks)
        self.device = self.world.device
        if config.precision == "bf16" and self.device.type == "cpu" and not _cpu_supports_bf16():
            raise ConfigError("this CPU/PyTorch build has no bf16 autocast; use --precision fp32")
        if config.keep_memory and self.device.type == "cpu":
            keep_freed_memory()  # a setting of the process; see rnnlab.train.memory
        self.model = objective.model.to(self.device)
        self.optimizer = build_optimizer(config, self.model)
        ddp.seed_ranks(self.world, config.seed)
        # The sources as built for one process; each rank reads its share of them.
        self._train_source = train_batches
        per_rank = ddp.source_batch_size(train_batches)
        self.global_batch = None if per_rank is None else per_rank * self.world.size
        self.train_batches = ddp.shard_batches(train_batches, self.world, self.global_batch)
        self.schedule = LRSchedule(config, total_steps=self._total_steps())
        self.valid_batches, self._valid_world = valid_batches, None
        if valid_batches is not None and self.world.distributed and hasattr(valid_batches, "shard"):
            # Validation keeps the layout it was built with, its columns spread over the ranks.
            self.valid_batches, self._valid_world = ddp.shard_batches(valid_batches, self.world), self.world
        # The loss runs through DDP's forward (several ranks), so the backward pass syncs gradients.
        net = ddp.data_parallel(ddp.ObjectiveModule(objective), self.world)
        self._loss: Callable[[Batch, Any], tuple[Tensor, int, Any]] = (
            torch.compile(net) if config.compile else net
        )
        # Counters saved in every checkpoint.
        self.step = 0
        self.best_val_loss = math.inf
        self.evals_without_gain = 0
        self.skipped_batches = 0
        self.tokens_seen = 0
        self.elapsed_before = 0.0  # training seconds of earlier sessions (resume)
        self.carry: Any = None  # the recurrent state carried into the next batch
        self.last_val_loss = math.nan
        self._last_checkpoint_step = -1
        self._last_good_checkpoint: Path | None = None
        self._session_start = time.perf_counter()
        self._interrupted = False
        self._group_stop: str | None = None  # a stop every rank agreed on in the last update
        self._meter = IntervalMeter()
        writes = self.run is not None and self.world.is_main  # only rank 0 writes
        if writes and self.run is not None:
            self.run.path.mkdir(parents=True, exist_ok=True)
        self._bar = ProgressBar(progress and self.world.is_main)
        self._log = MetricsLog(self.run.metrics) if writes and self.run else None
        self._tb = (
            TensorBoardSink(self.run.path / "tensorboard")
            if writes and self.run and config.tensorboard
            else None
        )

    def _total_steps(self) -> int:
        total = self.config.epochs * max(1, len(self.train_batches))
        return min(total, self.config.max_steps) if self.config.max_steps else total

    def _use_global_batch(self, global_batch: int) -> None:
        """Train on global batches of ``global_batch`` columns (a resumed run keeps its own)."""
        if global_batch < self.world.size:
            raise CheckpointError(
                f"the run's global batch has {global_batch} columns, fewer than the {self.world.size} ranks "
                f"now training it; resume it on at most {global_batch} processes"
            )
        self.global_batch = global_batch
        self.train_batches = ddp.shard_batches(self._train_source, self.world, global_batch)
        self.schedule.total_steps = max(1, self._total_steps())

    # ------------------------------------------------------------------ time and records
    @property
    def elapsed_s(self) -> float:
        return self.elapsed_before + time.perf_counter() - self._session_start

    def _record(self, record: dict[str, Any], echo: bool = True) -> None:
        if not self.world.is_main:
            return
        if self._log is not None:
            self._log.write(record)
        if self._tb is not None:
            self._tb.write(record)
        if echo and record["kind"] in ("train", "valid"):
            self._bar.write(format_line(record))
        elif echo:
            self._bar.write(record.get("message", str(record)))

    def request_stop(self) -> None:
        """Stop after the current update as Ctrl-C does: checkpoint, final evaluation, return."""
        self._interrupted = True

    # ------------------------------------------------------------------ resume
    def resume(self, folder: str | Path | None = None) -> None:
        """Continue from a checkpoint folder (default: the run's ``checkpoints/latest``)."""
        if folder is None:
            if self.run is None:
                raise ConfigError("resume() needs a checkpoint folder or a trainer with a run_dir")
            folder = self.run.latest
        folder = ckpt.find_checkpoint(Path(folder))
        tensors, state = ckpt.read_checkpoint(folder, self.model)  # every rank reads the same files
        try:
            saved_batch = state.get("global_batch")
            if saved_batch is not None and saved_batch != self.global_batch:
                self._use_global_batch(int(saved_batch))
            self.optimizer.load_state_dict(ckpt.optimizer_state(tensors, state["optimizer"]))
            self.schedule.load_state_dict(state["schedule"])
            self.train_batches.load_state_dict(state["sampler"])
            self.step = int(state["step"])
            self.best_val_loss = math.inf if state["best_val_loss"] is None else float(state["best_val_loss"])
            self.last_val_loss = math.nan if state["last_val_loss"] is None else float(state["last_val_loss"])
            self.evals_without_gain = int(state["evals_without_gain"])
            self.skipped_batches = int(state["skipped_batches"])
            self.tokens_seen = int(state["tokens_seen"])
            self.elapsed_before = float(state["elapsed_s"])
            self.carry = ddp.local_state(self.world, ckpt.carried_state(tensors, self.device))
            self._restore_rng(tensors, state)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise CheckpointError(
                f"{folder / ckpt.STATE_FILE} does not fit this run ({type(err).__name__}: {err}); "
                "resume with the config the run was started with"
            ) from None
        self._last_checkpoint_step = self.step
        self._last_good_checkpoint = folder
        self._session_start = time.perf_counter()
        if self._log is not None:
            self._log.truncate_after(self.step)  # records past the checkpoint are replayed
        ranks = ""
        if self.world.distributed or state.get("world_size", 1) > 1:
            ranks = f" on {self.world.size} ranks" if self.world.distributed else " in one process"
        self._record(
            {
                "kind": "event",
                "step": self.step,
                "event": "resumed",
                "world_size": self.world.size,
                "message": f"resumed from {folder} at step {self.step}{ranks}",
            }
        )

    def _restore_rng(self, tensors: dict[str, Tensor], state: dict[str, Any]) -> None:
        """Rank 0 restores the saved generators; rank r > 0 its own when the world size is unchanged.

        On another number of ranks, ranks r > 0 draw fresh streams from (seed, step, r): dropout
        masks then differ from an uninterrupted run's (the data order and global batch do not).
        """
        rank = self.world.rank
        if rank == 0:
            ckpt.restore_rng(tensors, state["rng"])
            return
        saved = state.get("rng_ranks") or []
        if state.get("world_size", 1) == self.world.size and len(saved) >= rank:
            prefix = f"rank{rank}."
            own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            ckpt.restore_rng(own, saved[rank - 1])
        else:
            torch.manual_seed(ddp.rank_seed(self.config.seed + self.step, rank))

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint_state(self) -> tuple[dict[str, Tensor], dict[str, Any]] | None:
        """What a checkpoint holds, on rank 0 (None elsewhere); every rank must call it (collectives)."""
        carry = ddp.gather_state(self.world, self.carry)  # the whole global batch's state
        rng_tensors, rng_json = ckpt.rng_parts()
        ranks = ddp.all_gather(self.world, (rng_tensors, rng_json))
        if not self.world.is_main:
            return None
        optim_tensors, optim_json = ckpt.optimizer_parts(self.optimizer)
        tensors = {**optim_tensors, **rng_tensors, **ckpt.state_tensors(carry)}
        for rank, (own, _) in enumerate(ranks[1:], start=1):
            tensors.update({f"rank{rank}.{k}": v for k, v in own.items()})
        state = {
            "step": self.step,
            "epoch": self.train_batches.epoch,
            "best_val_loss": ckpt.finite_or_none(self.best_val_loss),
            "last_val_loss": ckpt.finite_or_none(self.last_val_loss),
            "evals_without_gain": self.evals_without_gain,
            "skipped_batches": self.skipped_batches,
            "tokens_seen": self.tokens_seen,
            "elapsed_s": self.elapsed_s,
            "sampler": self.train_batches.state_dict(),
            "schedule": self.schedule.state_dict(),
            "optimizer": optim_json,
            "rng": rng_json,
            "rng_ranks": [own_json for _, own_json in ranks[1:]],
            "world_size": self.world.size,
            "global_batch": self.global_batch,
            "train_config": self.config.to_dict(),
        }
        return tensors, state

    def save_checkpoint(self, is_best: bool) -> None:
        """Write ``checkpoints/latest`` (and ``best``); a broken model is refused, the old one kept."""
        self._last_checkpoint_step = self.step
        if self.run is None:
            return
        parts = self._checkpoint_state()
        self._last_good_checkpoint = self.run.latest
        if parts is None:
            return  # ranks other than 0 only contributed their share of the state
        tensors, state = parts
        ckpt.write_checkpoint(self.run.latest, self.model, tensors, state)
        if is_best:
            ckpt.copy_checkpoint(self.run.latest, self.run.best)
        for cb in self.callbacks:
            cb.on_checkpoint(self, self.run.latest)

    # ------------------------------------------------------------------ evaluation
    def validate_and_checkpoint(self) -> None:
        """Evaluate (if there is validation data), update best/plateau/early-stopping, checkpoint."""
        is_best = False
        if self.valid_batches is not None:
            meter = evaluate(
                self.objective, self.valid_batches, self.device, self.config.precision, self._valid_world
            )
            self.last_val_loss = meter.mean
            is_best = meter.mean < self.best_val_loss
            if is_best:
                self.best_val_loss, self.evals_without_gain = meter.mean, 0
            else:
                self.evals_without_gain += 1
            self.schedule.observe(meter.mean)
            record = {
                "kind": "valid",
                "step": self.step,
                "epoch": self._epoch_number(),
                "loss": meter.mean,
                "ppl": meter.ppl,
                "bpc": meter.bits,
                "tokens": meter.n_tokens,
                "best": is_best,
                "elapsed_s": self.elapsed_s,
            }
            summarize = getattr(self.objective, "metrics_from_counts", None)
            if summarize is not None and meter.counts:
                record["metrics"] = summarize(meter.counts)
            self._record(record)
            for cb in self.callbacks:
                cb.on_evaluate(self, record)
        else:
            is_best = True  # without validation data the latest is the best we know
        self.save_checkpoint(is_best)

    def _epoch_number(self) -> int:
        """1-based epoch of the last update (the sampler already points past a finished epoch)."""
        sampler = self.train_batches
        return sampler.epoch + (1 if _position(sampler) else 0)

    # ------------------------------------------------------------------ one update
    def _lr_for(self, batch: Batch) -> float:
        lr = self.schedule.lr(self.step, self.elapsed_s)
        if isinstance(self.train_batches, RandomLengthStreams):
            lr *= batch.x.shape[0] / self.config.bptt  # AWD-LSTM: equal weight per token
        return lr

    def _train_step(self, batch: Batch) -> None:
        start = time.perf_counter()
        ddp.check_share(batch, self.train_batches, self.world)
        if batch.width == 0:
            state = None  # no share of this short batch; the rank still joins the all-reduces
        elif batch.reset_state or self.carry is None:
            state = self.objective.init_state(batch.width)
        else:
            state = self.objective.detach_state(self.carry)
        lr = self._lr_for(batch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        votes = self._stop_votes()
        with _autocast(self.device, self.config.precision):
            sum_nll, n_local, new_state = self._loss(_to_device(batch, self.device), state)
        # Σ over ranks of the loss, the counted targets and the wishes to stop, in one all-reduce.
        total, count, *agreed = ddp.all_reduce_sum(self.world, [float(sum_nll.detach()), n_local, *votes])
        self._agree_on_stop(agreed)
        n_tokens = int(count)
        # ℒ_r = S_r / (N / W): DDP averages the W gradients into ∇(Σ_r S_r) / N (module docstring).
        loss = sum_nll / (n_tokens / self.world.size if n_tokens else 1.0)
        loss_value = total / max(1, n_tokens)
        if not math.isfinite(loss_value):
            self._non_finite("loss", loss_value)
            return
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.config.clip_norm if self.config.clip_norm > 0 else math.inf
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip))
        if not math.isfinite(grad_norm):
            self.optimizer.zero_grad(set_to_none=True)
            self._non_finite("gradient norm", grad_norm)
            return
        self.optimizer.step()
        # Detaching frees this batch's graph now.
        self.carry = None if new_state is None else self.objective.detach_state(new_state)
        self.step += 1
        self.tokens_seen += n_tokens
        seconds = time.perf_counter() - start
        self._meter.add_step(total, n_tokens, seconds, grad_norm, grad_norm > clip)
        self._bar.update(math.exp(min(loss_value, 50.0)), lr, n_tokens / max(seconds, 1e-9))

    def _non_finite(self, what: str, value: float) -> None:
        step = self.step + 1
        if self.config.nan_policy == "skip":
            self.skipped_batches += 1
            self.carry = None  # the state after a NaN batch is poisoned; start the streams afresh
            self.optimizer.zero_grad(set_to_none=True)
            self._record(
                {
                    "kind": "event",
                    "step": self.step,
                    "event": "skipped_batch",
                    "value": str(value),
                    "message": f"non-finite {what} ({value}) at update {step}: batch skipped "
                    f"({self.skipped_batches} so far)",
                }
            )
            return
        last = self._last_good_checkpoint or "none written yet"
        message = (
            f"non-finite {what} ({value}) at update {step} (epoch {self._epoch_number()}); training stopped "
            f"before applying it, so the model was not changed. Last good checkpoint: {last}. Lower --lr, "
            "set --clip-norm, check the data, or pass --nan-policy skip to drop such batches"
        )
        self._record(
            {"kind": "event", "step": self.step, "event": "non_finite", "message": message}, echo=False
        )
        raise TrainingError(message)

    # ------------------------------------------------------------------ the loop
    def _log_interval(self) -> None:
        if self._meter.steps == 0:
            return
        record = {
            "kind": "train",
            "step": self.step,
            "epoch": self._epoch_number(),
            "lr": self._lr_for_log(),
            **self._meter.summary(),
            "tokens_seen": self.tokens_seen,
            "skipped": self.skipped_batches,
            "elapsed_s": self.elapsed_s,
        }
        self._record(record)
        self._meter = IntervalMeter()

    def _lr_for_log(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _over_time(self) -> bool:
        return bool(self.config.max_minutes) and self.elapsed_s >= 60 * self.config.max_minutes

    def _stop_votes(self) -> list[float]:
        """This rank's wish to stop (Ctrl-C, its clock past the budget), summed over ranks each update.

        One rank stopping alone would leave the others waiting in the next all-reduce; deciding
        together, every rank stops after the same update (one update after the first wish).
        """
        if not self.world.distributed:
            return []
        return [float(self._interrupted), float(self._over_time())]

    def _agree_on_stop(self, agreed: Sequence[float]) -> None:
        if agreed:
            interrupted, over_time = agreed
            self._group_stop = "interrupted" if interrupted else "time_budget" if over_time else None

    def _stop_reason(self) -> str | None:
        c = self.config
        distributed = self.world.distributed
        if self._group_stop == "interrupted" or (self._interrupted and not distributed):
            return "interrupted"
        if c.patience and self.evals_without_gain >= c.patience:
            return "early_stopping"
        if c.max_steps and self.step >= c.max_steps:
            return "max_steps"
        if self._group_stop == "time_budget" or (self._over_time() and not distributed):
            return "time_budget"
        return None

    def fit(self) -> TrainResult:
        """Train until a stopping rule fires; always ends with an evaluation and a checkpoint."""
        c = self.config
        stopped = self._stop_reason() or ""
        if self.world.distributed:
            self._record(
                {
                    "kind": "event",
                    "step": self.step,
                    "event": "distributed",
                    "world_size": self.world.size,
                    "global_batch": self.global_batch,
                    "message": f"training on {self.world.size} ranks ({self.device.type}), "
                    f"global batch {self.global_batch} = {self.world.size} × "
                    f"{(self.global_batch or 0) / self.world.size:g} per rank",
                }
            )
        with self._sigint_saves(), self._closing_bar():
            while not stopped:
                if self.train_batches.epoch >= c.epochs:
                    stopped = "completed"
                    break
                epoch = self.train_batches.epoch
                self._bar.start_epoch(epoch + 1, len(self.train_batches), _position(self.train_batches))
                for batch in self.train_batches:
                    self._train_step(batch)
                    if self.step and self.step % c.log_every == 0 and self._meter.steps:
                        self._log_interval()
                    epoch_end = self.train_batches.epoch != epoch
                    if epoch_end or (c.eval_every and self.step % c.eval_every == 0 and self._meter_fresh()):
                        self._log_interval()
                        self.validate_and_checkpoint()
                    for cb in self.callbacks:
                        cb.on_step_end(self)
                    stopped = self._stop_reason() or ""
                    if stopped:
                        break
            self._bar.close()
            self._log_interval()
            if self._last_checkpoint_step != self.step:
                self.validate_and_checkpoint()
            if self.run is not None and self.world.is_main:
                ckpt.save_weights(self.model, self.run.model)
        result = TrainResult(
            stopped=stopped,
            step=self.step,
            epoch=self.train_batches.epoch,
            best_val_loss=self.best_val_loss if math.isfinite(self.best_val_loss) else math.nan,
            final_val_loss=self.last_val_loss,
            elapsed_s=self.elapsed_s,
            skipped_batches=self.skipped_batches,
        )
        self._record(
            {
                "kind": "event",
                "step": self.step,
                "event": "end",
                "stopped": stopped,
                "message": f"training ended ({stopped}) after {self.step} updates, {result.elapsed_s:.0f} s",
            }
        )
        if self._tb is not None:
            self._tb.close()
        for cb in self.callbacks:
            cb.on_train_end(self, result)
        return result

    def _meter_fresh(self) -> bool:
        """False right after a skipped batch, so eval_every does not re-trigger on the same step."""
        return self._last_checkpoint_step != self.step

    @contextmanager
    def _closing_bar(self) -> Iterator[None]:
        try:
            yield
        finally:
            self._bar.close()

    @contextmanager
    def _sigint_saves(self) -> Iterator[None]:
        """First Ctrl-C: finish the current update, checkpoint, evaluate, exit. Second: abort now."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            if self._interrupted:
                raise KeyboardInterrupt
            self._interrupted = True
            if self.world.is_main:
                self._bar.write("interrupted: saving a checkpoint and evaluating (Ctrl-C again to abort)")

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def _position(sampler: BatchSource) -> int:
    return int(sampler.state_dict().get("position", 0))


def _cpu_supports_bf16() -> bool:
    try:
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            torch.ones(2, 2) @ torch.ones(2, 2)
        return True
    except RuntimeError:
        return False
