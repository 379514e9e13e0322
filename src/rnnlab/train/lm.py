"""Train, resume and evaluate character language models in run folders: the API behind the CLI.

    train_language_model("poems.txt", "runs/lstm", TrainConfig(epochs=5), {"cell": "lstm"})
    train_language_model(None, "runs/lstm", resume=True)             # continue exactly
    row = evaluate_run("runs/lstm", "poems.txt")                      # held-out perplexity
    print(format_table([row]))

A run folder alone rebuilds the model, the vocabulary and the sampler position (``config.json``
records the data file, the split and both configs).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnnlab.data.vocab import Vocab
from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from rnnlab.train import checkpoint as ckpt
from rnnlab.train import distributed as ddp
from rnnlab.train.batches import evaluation_batches, training_batches
from rnnlab.train.config import DEFAULT_VALID_FRACTION, RECIPE_MODEL_DEFAULTS, TrainConfig
from rnnlab.train.corpus import IdArray, encode, encode_all, load_lm_corpus, read_lines, split_lines
from rnnlab.train.corpus_cache import CachedCorpus, cached_lm_corpus
from rnnlab.train.distributed import resolve_device
from rnnlab.train.metrics import bits_per_token, perplexity, read_metrics
from rnnlab.train.objective import LanguageModelObjective
from rnnlab.train.trainer import Callback, Trainer, TrainResult, evaluate

# Settings that may change when a run is resumed: budgets and where it runs, nothing that
# changes what an update computes.
RESUMABLE_OVERRIDES: frozenset[str] = frozenset(
    {"epochs", "max_steps", "max_minutes", "patience", "device", "log_every", "tensorboard"}
    | {"dist_timeout_minutes", "keep_memory"}
)


def check_resume_overrides(overrides: dict[str, Any]) -> None:
    """Refuse, naming them, overrides that would change what a resumed run's updates compute."""
    refused = sorted(set(overrides) - RESUMABLE_OVERRIDES)
    if refused:
        raise ConfigError(
            f"cannot change {refused} when resuming (the run would no longer continue exactly); "
            f"only {sorted(RESUMABLE_OVERRIDES)} may change — start a new run for other settings"
        )


def continues_after_restart(world: ddp.World, run: ckpt.RunDir) -> bool:
    """Whether a new run's command must resume ``run`` instead: True only when torchrun restarted
    the job (``--max-restarts``) after its first checkpoint. A folder that already holds a run
    without a restart is refused; a restart before the first checkpoint starts the run again.

    Rank 0's view of the folder is taken before anyone writes, and torchrun counts restarts per
    machine, so any rank that was restarted makes this a restart.
    """
    exists, has_checkpoint = ddp.broadcast(world, (run.config.exists(), run.has_checkpoint()))
    restarted = max(ddp.all_gather(world, world.restarts)) > 0
    if not exists:
        return False
    if not restarted:
        raise ConfigError(
            f"{run.path} already holds a run; continue it with --resume {run.path}, or choose another --out"
        )
    if has_checkpoint:
        return True
    if world.is_main:  # restarted before the first checkpoint: start the run again
        run.metrics.unlink(missing_ok=True)
    return False


def recipe_model_options(model_options: dict[str, Any] | None) -> dict[str, Any]:
    """``model_options`` with the default recipe's choices filled in where not given.

    A one-hot input has no embedding to tie, so it gets none of them.
    """
    options = dict(model_options or {})
    if options.get("input", "embedding") == "embedding":
        for key, value in RECIPE_MODEL_DEFAULTS.items():
            options.setdefault(key, value)
    return options


def train_language_model(
    data: str | Path | None,
    out: str | Path,
    train_config: TrainConfig | None = None,
    model_options: dict[str, Any] | None = None,
    *,
    valid_fraction: float = DEFAULT_VALID_FRACTION,
    resume: bool = False,
    resume_overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    cache: bool = True,
    cache_dir: str | Path | None = None,
) -> TrainResult:
    """Train an RNNLM on the lines of ``data`` into the run folder ``out`` (or resume it).

    ``model_options`` are RNNLMConfig fields other than ``vocab_size`` (set from the data); fields
    left out take the RNNLMConfig defaults except those of ``RECIPE_MODEL_DEFAULTS``.
    With ``resume=True`` everything comes from ``out/config.json``; ``resume_overrides`` may
    change only the budget and device (``RESUMABLE_OVERRIDES``).

    The corpus is read through the corpus cache in ``cache_dir`` (default ``<data dir>/cache``):
    encoded once per machine and data set, memory-mapped by every process (see
    :func:`load_training_corpus`); ``cache=False`` reads and encodes it in memory instead. Both
    give the same ids, so the same run.

    Under torchrun every rank calls this with the same arguments; rank 0 alone creates the run
    folder, and ``train_config.batch_size`` is the per-rank batch. When torchrun restarts a failed
    job (``--max-restarts``), the same command continues the run from its latest checkpoint.
    """
    run = ckpt.RunDir(out)
    source = _CorpusOptions(cache, cache_dir)
    if resume:
        return _resume(run, data, resume_overrides or {}, callbacks, progress, source)
    train_config = train_config or TrainConfig()
    world = ddp.init_world(train_config.device, train_config.dist_timeout_minutes)
    if continues_after_restart(world, run):
        return _resume(run, data, {}, callbacks, progress, source)
    if data is None:
        raise ConfigError("no training data: pass --data PATH (a UTF-8 text file, one poem or line a line)")
    corpus = load_training_corpus(world, data, valid_fraction, cache=cache, cache_dir=cache_dir).corpus
    options = recipe_model_options(model_options)
    if "vocab_size" in options:
        raise ConfigError("vocab_size comes from the data's vocabulary; leave it out of the model options")
    torch.manual_seed(train_config.seed)  # the initial weights are part of the reproducible run
    model = RNNLM(RNNLMConfig(vocab_size=len(corpus.vocab), **options))
    if world.is_main:
        run.path.mkdir(parents=True, exist_ok=True)
        corpus.vocab.save(run.vocab)
        ckpt.atomic_write_json(
            run.config,
            {
                "model": model.config.to_dict(),
                "train": train_config.to_dict(),
                "data": {
                    "path": str(Path(data).resolve()),
                    "valid_fraction": valid_fraction,
                    "train_lines": len(corpus.train),
                    "valid_lines": len(corpus.valid),
                    "train_tokens": corpus.n_train_tokens,
                },
                "parameters": model.num_parameters(),
                "world_size": world.size,  # train.batch_size is per rank: the global batch is their product
            },
        )
    trainer = _trainer(
        model, train_config, corpus.train, corpus.valid, corpus.vocab, run, callbacks, progress
    )
    return trainer.fit()


def _resume(
    run: ckpt.RunDir,
    data: str | Path | None,
    overrides: dict[str, Any],
    callbacks: Sequence[Callback],
    progress: bool,
    source: _CorpusOptions,
) -> TrainResult:
    config = run.read_config()
    check_resume_overrides(overrides)
    if not run.has_checkpoint():
        raise CheckpointError(
            f"{run.latest} holds no complete checkpoint (the run stopped before its first one); "
            f"start it again with a fresh --out"
        )
    train_config = TrainConfig.from_dict({**config["train"], **overrides})
    world = ddp.init_world(train_config.device, train_config.dist_timeout_minutes)
    vocab = Vocab.load(run.vocab)
    path = data if data is not None else config["data"]["path"]
    corpus = load_training_corpus(
        world, path, config["data"]["valid_fraction"], vocab, cache=source.cache, cache_dir=source.cache_dir
    ).corpus
    model = RNNLM(RNNLMConfig.from_dict(config["model"]))
    trainer = _trainer(model, train_config, corpus.train, corpus.valid, vocab, run, callbacks, progress)
    trainer.resume()
    return trainer.fit()


@dataclass(frozen=True)
class _CorpusOptions:
    """How a run reads its corpus: through the cache (in ``cache_dir``, or the default) or not."""

    cache: bool
    cache_dir: str | Path | None


def load_training_corpus(
    world: ddp.World,
    data: str | Path,
    valid_fraction: float,
    vocab: Vocab | None = None,
    *,
    cache: bool = True,
    cache_dir: str | Path | None = None,
) -> CachedCorpus:
    """The corpus a run trains on, as every rank of ``world`` gets it.

    With the cache, local rank 0 of each machine opens or builds it first
    (:func:`~rnnlab.train.corpus_cache.cached_lm_corpus`) and the other ranks open what it wrote
    (:func:`~rnnlab.train.distributed.build_once`): the corpus is read and encoded at most once per
    machine, and every rank maps the same files. Without it every rank reads and encodes the
    corpus itself. Rank 0 prints one line saying which happened and how long it took.
    """
    start = time.perf_counter()
    if cache:
        loaded = ddp.build_once(
            world,
            lambda: cached_lm_corpus(data, valid_fraction, vocab=vocab, cache_dir=cache_dir),
        )
        how = f"cache {'reused' if loaded.reused else 'built'}: {loaded.manifest}"
    else:
        loaded = CachedCorpus(load_lm_corpus(data, valid_fraction, vocab=vocab), None, reused=False)
        how = "read without the cache"
    if world.is_main:
        corpus = loaded.corpus
        print(
            f"corpus: {len(corpus.train):,} training and {len(corpus.valid):,} held-out lines, "
            f"{corpus.n_train_tokens:,} training tokens, {len(corpus.vocab):,} ids; {how} "
            f"({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
    return loaded


def _trainer(
    model: RNNLM,
    config: TrainConfig,
    train: list[IdArray],
    valid: list[IdArray],
    vocab: Vocab,
    run: ckpt.RunDir,
    callbacks: Sequence[Callback],
    progress: bool,
) -> Trainer:
    ids = {"pad_id": vocab.pad_id, "bos_id": vocab.bos_id, "eos_id": vocab.eos_id}
    return Trainer(
        LanguageModelObjective(model, loss_on_padding=config.loss_on_padding),
        config,
        training_batches(config, train, **ids),
        evaluation_batches(config, valid, **ids),
        run_dir=run.path,
        callbacks=callbacks,
        progress=progress,
    )


# ---------------------------------------------------------------------------------------------
# Loading and evaluating runs.


def load_run(run_dir: str | Path, weights: str = "final") -> tuple[RNNLM, Vocab, dict[str, Any]]:
    """The trained model (in eval mode), its vocabulary and its config.json, from a run folder.

    ``weights``: "final" (``model.safetensors``; falls back to the latest checkpoint when the run
    has not finished), "best" (best validation) or "latest".
    """
    run = ckpt.RunDir(run_dir)
    config = run.read_config()
    model = RNNLM(RNNLMConfig.from_dict(config["model"]))
    vocab = Vocab.load(run.vocab)
    ckpt.load_run_weights(run, model, weights)
    return model.eval(), vocab, config


@dataclass
class EvalRow:
    """One line of the comparison table; n-gram baselines produce the same rows."""

    name: str
    kind: str  # "lstm", "gru", "rnn", "ngram-kn5", …
    parameters: int
    tokens: int  # counted targets
    mean_nll: float  # nats per token
    train_seconds: float  # nan when unknown

    @property
    def perplexity(self) -> float:
        return perplexity(self.mean_nll)

    @property
    def bits_per_char(self) -> float:
        return bits_per_token(self.mean_nll)


def eval_sequences(
    run_config: dict[str, Any], vocab: Vocab, data: str | Path | None, split: str
) -> tuple[list[IdArray], str]:
    """The lines to evaluate on and a label: the run's held-out split of its own data, or a whole file.

    ``split="auto"``: the held-out split when ``data`` is the file the run was trained on (or
    None), the whole file otherwise.
    """
    trained_on = Path(run_config["data"]["path"])
    path = Path(data) if data is not None else trained_on
    if split not in ("auto", "valid", "all"):
        raise ConfigError(f"unknown split {split!r}; options are ['auto', 'valid', 'all']")
    if split == "auto":
        split = "valid" if path.resolve() == trained_on.resolve() else "all"
    if split == "all":
        return encode_all(path, vocab), f"{path} (all lines)"
    _, valid = split_lines(read_lines(path), run_config["data"]["valid_fraction"])
    return [encode(vocab, s) for s in valid], f"{path} (held-out {run_config['data']['valid_fraction']:.0%})"


def evaluate_run(
    run_dir: str | Path,
    data: str | Path | None = None,
    *,
    split: str = "auto",
    weights: str = "final",
    device: str = "auto",
) -> tuple[EvalRow, str]:
    """Perplexity of a run's model on ``data`` (see :func:`eval_sequences`): the row and the data label."""
    model, vocab, config = load_run(run_dir, weights)
    sequences, label = eval_sequences(config, vocab, data, split)
    train_config = TrainConfig.from_dict(config["train"])
    ids = {"pad_id": vocab.pad_id, "bos_id": vocab.bos_id, "eos_id": vocab.eos_id}
    dev = resolve_device(device)
    model.to(dev)
    meter = evaluate(LanguageModelObjective(model), evaluation_batches(train_config, sequences, **ids), dev)
    return EvalRow(
        name=Path(run_dir).name,
        kind=model.config.cell,
        parameters=model.num_parameters(),
        tokens=meter.n_tokens,
        mean_nll=meter.mean,
        train_seconds=training_seconds(run_dir),
    ), label


def training_seconds(run_dir: str | Path) -> float:
    """Wall-clock training time recorded by the run (nan when it recorded none)."""
    run = ckpt.RunDir(run_dir)
    if not run.metrics.is_file():
        return math.nan
    times = [r["elapsed_s"] for r in read_metrics(run.metrics) if r.get("elapsed_s") is not None]
    return max(times) if times else math.nan


def _duration(seconds: float) -> str:
    """``-`` when unknown, seconds below a minute (n-gram fits), minutes above."""
    if not math.isfinite(seconds):
        return "-"
    return f"{seconds:.1f}s" if seconds < 60 else f"{seconds / 60:.1f}m"


def format_table(rows: Sequence[EvalRow], title: str = "") -> str:
    """Fixed-width comparison table; the last line is ``perplexity X`` for the first row."""
    header = (
        f"{'model':<24} {'kind':<10} {'params':>11} {'tokens':>9} {'perplexity':>11} "
        f"{'bits/char':>9} {'train':>8}"
    )
    lines = [title] if title else []
    lines += [header, "-" * len(header)]
    for r in rows:
        t = _duration(r.train_seconds)
        lines.append(
            f"{r.name[:24]:<24} {r.kind[:10]:<10} {r.parameters:>11,} {r.tokens:>9,} {r.perplexity:>11.2f} "
            f"{r.bits_per_char:>9.3f} {t:>8}"
        )
    if rows:
        lines.append(f"perplexity {rows[0].perplexity:.2f}")
    return "\n".join(lines)
