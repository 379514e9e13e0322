"""Train encoder–decoders on pair files in run folders: the objective and the API behind ``rnnlab seq2seq``.

    train_seq2seq("couplets.train.jsonl", "runs/couplets", TrainConfig(epochs=5), {"attention": "additive"})
    train_seq2seq(None, "runs/couplets", resume=True)              # continue exactly
    model, vocab, config = load_seq2seq_run("runs/couplets")

A run folder holds what every run holds (see :mod:`rnnlab.train.checkpoint`); its ``config.json``
has ``"kind": "seq2seq"``, the model and training configs, the task options (held-out fraction,
scheduled-sampling rate) and a data summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn

from rnnlab.config import from_dict_strict
from rnnlab.data.pair_batches import PairBatch, PairBatches
from rnnlab.data.vocab import Vocab
from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.generate.seq2seq import translate
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.tasks.pair_baselines import Retrieval, copy_baseline
from rnnlab.tasks.pair_metrics import PairScores, format_scores, is_aligned, score_pairs
from rnnlab.tasks.pairs import Pair, read_pairs, split_pairs
from rnnlab.train import checkpoint as ckpt
from rnnlab.train import distributed as ddp
from rnnlab.train.config import TrainConfig
from rnnlab.train.lm import check_resume_overrides, continues_after_restart
from rnnlab.train.objective import Objective
from rnnlab.train.trainer import Callback, Trainer, TrainResult

KIND = "seq2seq"


@dataclass
class Seq2SeqOptions:
    """What a seq2seq run needs besides the model and the optimiser."""

    valid_fraction: float = 0.05  # held out of the training file by a hash of each pair's group
    sampling_rate: float = 0.0  # scheduled sampling ε: share of decoder inputs drawn from the model
    min_freq: int = 1  # characters seen fewer times in training become <unk>

    def __post_init__(self) -> None:
        if not 0 < self.valid_fraction < 1:
            raise ConfigError(f"valid_fraction must lie in (0, 1), got {self.valid_fraction}")
        if not 0 <= self.sampling_rate <= 1:
            raise ConfigError(
                f"sampling_rate (scheduled sampling) is a probability in [0, 1], got {self.sampling_rate}"
            )
        if isinstance(self.min_freq, bool) or not isinstance(self.min_freq, int) or self.min_freq < 1:
            raise ConfigError(f"min_freq must be an integer ≥ 1, got {self.min_freq!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seq2SeqOptions:
        return from_dict_strict(cls, data, "seq2seq task option")


class Seq2SeqObjective:
    """Cross-entropy of the next target token under teacher forcing (scheduled sampling optional).

    ℒ_sum = −Σ_{(t,b) ∈ M} log softmax(z_{t,b})[y_{t,b}] over the real target positions M (each
    pair's <eos> included); logits are upcast to fp32 first. There is no state between batches:
    every pair starts from its own encoded source.
    """

    def __init__(self, model: Seq2Seq, *, sampling_rate: float = 0.0) -> None:
        self.model = model
        self.sampling_rate = sampling_rate

    def loss(self, batch: PairBatch, state: Any) -> tuple[Tensor, int, None]:
        sum_nll, n, _, _ = self._loss(batch)
        return sum_nll, n, None

    def loss_with_counts(self, batch: PairBatch, state: Any) -> tuple[Tensor, int, None, dict[str, float]]:
        """The loss, and for validation the targets predicted right (argmax under teacher forcing)."""
        sum_nll, n, logits, mask = self._loss(batch)
        correct = (logits.argmax(-1).flatten() == batch.y.flatten()) & mask
        return sum_nll, n, None, {"correct": float(correct.sum()), "tokens": float(n)}

    def metrics_from_counts(self, counts: Mapping[str, float]) -> dict[str, float]:
        return {"token_acc": counts.get("correct", 0.0) / max(counts.get("tokens", 0.0), 1.0)}

    def _loss(self, batch: PairBatch) -> tuple[Tensor, int, Tensor, Tensor]:
        logits, _ = self.model(batch.x, batch.x_lengths, batch.y_in, self.sampling_rate)  # (T, B, V)
        nll = nn.functional.cross_entropy(logits.float().flatten(0, 1), batch.y.flatten(), reduction="none")
        mask = batch.mask.flatten()
        return torch.masked_select(nll, mask).sum(), batch.n_tokens, logits, mask

    def init_state(self, batch_size: int) -> None:
        return None

    def detach_state(self, state: Any) -> None:
        return None


def build_vocab(pairs: Sequence[Pair], min_freq: int = 1) -> Vocab:
    """One character vocabulary for sources and targets (reserved ``<unk> <pad> <bos> <eos>`` first)."""
    return Vocab.build(
        (ch for p in pairs for text in (p.source, p.target or "") for ch in text), min_freq=min_freq
    )


def encode_text(vocab: Vocab, text: str) -> np.ndarray:
    """Character ids of ``text``; characters outside the vocabulary become ``<unk>``."""
    return np.asarray(vocab.encode(text), dtype=np.int64)


def pair_batches(
    pairs: Sequence[Pair], vocab: Vocab, batch_size: int, *, shuffle: bool, seed: int = 0
) -> PairBatches:
    """The batches of ``pairs`` (targets required) under ``vocab``."""
    return PairBatches(
        [encode_text(vocab, p.source) for p in pairs],
        [encode_text(vocab, p.target or "") for p in pairs],
        batch_size,
        pad_id=vocab.pad_id,
        bos_id=vocab.bos_id,
        eos_id=vocab.eos_id,
        shuffle=shuffle,
        seed=seed,
    )


def load_split(
    data: str | Path, valid: str | Path | None, valid_fraction: float
) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out): ``valid`` when given, else a hashed share of ``data``."""
    pairs = read_pairs(data)
    if valid is not None:
        return pairs, read_pairs(valid)
    return split_pairs(pairs, valid_fraction)


def train_seq2seq(
    data: str | Path | None,
    out: str | Path,
    train_config: TrainConfig | None = None,
    model_options: dict[str, Any] | None = None,
    options: Seq2SeqOptions | None = None,
    *,
    valid: str | Path | None = None,
    resume: bool = False,
    resume_overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
) -> TrainResult:
    """Train a Seq2Seq on the pair file ``data`` into the run folder ``out`` (or resume it).

    ``model_options`` are Seq2SeqConfig fields other than ``vocab_size`` (set from the data).
    ``valid`` is a separate held-out pair file; without it ``options.valid_fraction`` of ``data``
    is held out. With ``resume=True`` everything comes from ``out/config.json``.
    """
    run = ckpt.RunDir(out)
    if resume:
        return _resume(run, data, resume_overrides or {}, callbacks, progress)
    train_config = train_config or TrainConfig()
    world = ddp.init_world(train_config.device, train_config.dist_timeout_minutes)
    if continues_after_restart(world, run):
        return _resume(run, data, {}, callbacks, progress)
    if data is None:
        raise ConfigError(
            'no training data: pass --data PAIRS.jsonl (one {"source", "target"} object a line)'
        )
    options = options or Seq2SeqOptions()
    model_options = dict(model_options or {})
    if "vocab_size" in model_options:
        raise ConfigError("vocab_size comes from the data's vocabulary; leave it out of the model options")
    train, held = load_split(data, valid, options.valid_fraction)
    vocab = build_vocab(train, options.min_freq)
    torch.manual_seed(train_config.seed)  # the initial weights are part of the reproducible run
    model = Seq2Seq(Seq2SeqConfig(vocab_size=len(vocab), **model_options))
    if world.is_main:  # under torchrun every rank builds the same model; rank 0 alone writes
        run.path.mkdir(parents=True, exist_ok=True)
        vocab.save(run.vocab)
        ckpt.atomic_write_json(
            run.config,
            {
                "kind": KIND,
                "model": model.config.to_dict(),
                "train": train_config.to_dict(),
                "task": asdict(options),
                "data": {
                    "path": str(Path(data).resolve()),
                    "valid_path": None if valid is None else str(Path(valid).resolve()),
                    "train_pairs": len(train),
                    "valid_pairs": len(held),
                    "train_target_tokens": sum(len(p.target or "") + 1 for p in train),
                },
                "parameters": model.num_parameters(),
            },
        )
    ddp.barrier(world)
    trainer = _trainer(model, train_config, options, train, held, vocab, run, callbacks, progress)
    return trainer.fit()


def _resume(
    run: ckpt.RunDir,
    data: str | Path | None,
    overrides: dict[str, Any],
    callbacks: Sequence[Callback],
    progress: bool,
) -> TrainResult:
    config = read_seq2seq_config(run.path)
    check_resume_overrides(overrides)
    train_config = TrainConfig.from_dict({**config["train"], **overrides})
    options = Seq2SeqOptions.from_dict(config["task"])
    vocab = Vocab.load(run.vocab)
    path = data if data is not None else config["data"]["path"]
    train, held = load_split(path, config["data"].get("valid_path"), options.valid_fraction)
    model = Seq2Seq(Seq2SeqConfig.from_dict(config["model"]))
    if not run.has_checkpoint():
        raise CheckpointError(
            f"{run.latest} holds no complete checkpoint (the run stopped before its first one); "
            "start it again with a fresh --out"
        )
    trainer = _trainer(model, train_config, options, train, held, vocab, run, callbacks, progress)
    trainer.resume()
    return trainer.fit()


def _trainer(
    model: Seq2Seq,
    config: TrainConfig,
    options: Seq2SeqOptions,
    train: Sequence[Pair],
    held: Sequence[Pair],
    vocab: Vocab,
    run: ckpt.RunDir,
    callbacks: Sequence[Callback],
    progress: bool,
) -> Trainer:
    objective = Seq2SeqObjective(model, sampling_rate=options.sampling_rate)
    return Trainer(
        cast(Objective, objective),
        config,
        cast(Any, pair_batches(train, vocab, config.batch_size, shuffle=True, seed=config.seed)),
        cast(Any, pair_batches(held, vocab, config.batch_size, shuffle=False)),
        run_dir=run.path,
        callbacks=callbacks,
        progress=progress,
    )


def read_seq2seq_config(run_dir: str | Path) -> dict[str, Any]:
    """``config.json`` of a seq2seq run; CheckpointError when the folder holds another kind of run."""
    config = ckpt.RunDir(run_dir).read_config()
    if config.get("kind") != KIND:
        raise CheckpointError(
            f"{run_dir} holds a {config.get('kind', 'language-model')} run, not an encoder–decoder; pass a "
            "folder written by `rnnlab seq2seq train`"
        )
    return config


def load_seq2seq_run(run_dir: str | Path, weights: str = "final") -> tuple[Seq2Seq, Vocab, dict[str, Any]]:
    """The trained model (eval mode), its vocabulary and its config.json from a run folder or bundle.

    ``weights``: "final" (``model.safetensors``; the latest checkpoint when the run has not
    finished), "best" (best validation) or "latest".
    """
    config = read_seq2seq_config(run_dir)
    model = Seq2Seq(Seq2SeqConfig.from_dict(config["model"]))
    ckpt.load_run_weights(ckpt.RunDir(run_dir), model, weights)
    return model.eval(), Vocab.load(ckpt.RunDir(run_dir).vocab), config


# ---------------------------------------------------------------------------------------------
# Decoding and scoring a pair file.


@dataclass
class Seq2SeqEvaluation:
    """Scores of a run (and its baselines) on a pair file, with the run's predictions."""

    label: str  # what was scored: the file, how many pairs, how they were decoded
    rows: list[tuple[str, PairScores]]
    pairs: list[Pair]
    predictions: list[str]  # the run's, in the file's order

    def table(self) -> str:
        return format_scores(self.rows, self.label)

    def summary(self) -> dict[str, Any]:
        """Every number as one JSON-ready object (the last line ``rnnlab seq2seq eval`` prints)."""
        return {"data": self.label, **{name: scores.to_dict() for name, scores in self.rows}}


def predict(
    model: Seq2Seq,
    vocab: Vocab,
    sources: Sequence[str],
    *,
    beam: int = 1,
    constrained: bool = False,
    length_penalty: float = 1.0,
    batch: int = 256,
) -> list[str]:
    """The best output for each source: greedy (``beam=1``) or beam search, batched.

    ``constrained`` keeps each output as long as its source with its marks in place (couplets;
    see :class:`~rnnlab.generate.couplets.CoupletConstraint`); otherwise outputs end at <eos> or
    after 2·len(source) + 10 tokens. ``<pad>``, ``<bos>`` and ``<unk>`` are never produced.
    """
    from rnnlab.generate.couplets import MARKS, CoupletConstraint, CoupletVocab
    from rnnlab.generate.processors import BanTokens
    from rnnlab.inference.seq2seq_torch import Seq2SeqStepper

    if beam < 1:
        raise ConfigError(f"beam must be ≥ 1 (1 = greedy), got {beam}")
    ban = BanTokens((vocab.pad_id, vocab.bos_id, vocab.unk_id))
    tables = CoupletVocab(vocab) if constrained else None
    ids = [[vocab[c] for c in s] for s in sources]

    def processors(i: int) -> list[Any]:
        if tables is None:
            return [ban]
        marks = {j: vocab[c] for j, c in enumerate(sources[i]) if c in MARKS}
        return [ban, CoupletConstraint(ids[i], tables, marks)]

    limits = [len(s) + 1 if constrained else 2 * len(s) + 10 for s in sources]
    outputs = translate(
        Seq2SeqStepper(model),
        ids,
        bos_id=vocab.bos_id,
        eos_id=vocab.eos_id,
        max_new_tokens=limits,
        beam=0 if beam == 1 else beam,
        length_penalty=length_penalty,
        processors=processors,
        batch=batch,
    )
    return ["".join(vocab.to_tokens(out[0])) for out in outputs]


def training_pairs(config: dict[str, Any]) -> list[Pair]:
    """The pairs a run was trained on (its data file minus the held-out share, or all of it)."""
    data = config["data"]
    options = Seq2SeqOptions.from_dict(config["task"])
    return load_split(data["path"], data.get("valid_path"), options.valid_fraction)[0]


def evaluate_seq2seq(
    run_dir: str | Path,
    data: str | Path,
    *,
    beam: int = 1,
    constrained: bool = False,
    length_penalty: float = 1.0,
    baselines: bool = False,
    limit: int | None = None,
    batch: int = 256,
    weights: str = "final",
) -> Seq2SeqEvaluation:
    """Decode the sources of ``data`` with the run's model and score them against the targets.

    ``baselines`` adds the copy baseline and retrieval from the run's own training pairs.
    """
    model, vocab, config = load_seq2seq_run(run_dir, weights)
    pairs = read_pairs(data)
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"limit must be ≥ 1, got {limit}")
        pairs = pairs[:limit]
    sources = [p.source for p in pairs]
    targets = [p.target or "" for p in pairs]
    if constrained and not is_aligned(sources, targets):
        raise ConfigError(
            f"{data}: --constrained keeps each output as long as its source, but this file's targets "
            "differ in length from their sources (it is not a couplet file); leave --constrained out"
        )
    predictions = predict(
        model, vocab, sources, beam=beam, constrained=constrained, length_penalty=length_penalty, batch=batch
    )
    how = "greedy" if beam == 1 else f"beam {beam}"
    name = f"{Path(run_dir).name} ({how}{', constrained' if constrained else ''})"
    rows = [(name, score_pairs(sources, targets, predictions))]
    if baselines:
        rows.append(("copy", score_pairs(sources, targets, copy_baseline(sources))))
        retrieval = Retrieval(training_pairs(config))
        rows.append(("retrieval", score_pairs(sources, targets, retrieval(sources))))
    label = f"{data} ({len(pairs)} pairs)"
    return Seq2SeqEvaluation(label, rows, pairs, predictions)
