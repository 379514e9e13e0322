"""A tiny NumPy training loop: a character language model on a short text, with chunked truncated BPTT.

The text becomes B parallel streams, cut into chunks of ``seq_len`` steps; the state is carried
from one chunk to the next but no gradient flows back into it (the chunk boundary is where BPTT
is truncated — within a chunk, ``truncate`` can shorten it further)::

    text  a b c d e f g h i j k l m n o p q r s t u v w x      (N characters)
    B = 2 streams:   a b c d e f g h i j k l      | columns of a (n, B) array,
                     m n o p q r s t u v w x      | read top to bottom
    seq_len = 4:     chunk 0 = rows 0..3 (inputs) → rows 1..4 (targets), then chunk 1 = rows 4..7, …
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from rnnlab.errors import ConfigError, DataError
from rnnlab.scratch.model import DTYPES, RecurrentLM, ScratchConfig, State, build_model, log_softmax
from rnnlab.scratch.optim import SGD, Adam, clip_by_global_norm


@dataclass(frozen=True)
class TrainConfig:
    """Settings of ``train_char_model``; serialises to JSON."""

    cell: str = "lstm"  # "rnn", "lstm" or "gru"
    nonlinearity: str = "tanh"  # RNN only: "tanh", "sigmoid" or "relu"
    hidden_size: int = 64  # units per layer
    num_layers: int = 1  # stacked recurrent layers
    seq_len: int = 25  # steps per chunk; BPTT never reaches past a chunk's start
    batch_size: int = 8  # parallel streams the text is split into
    steps: int = 300  # optimiser updates
    optimizer: str = "adam"  # "adam" or "sgd"
    lr: float = 1e-2  # learning rate; the loss sums over seq_len steps, so SGD wants ~0.1–0.2 here
    clip: float | None = 5.0  # max global gradient norm, None to train without clipping
    truncate: int | None = None  # extra truncation inside a chunk, k steps; None = the whole chunk
    dtype: str = "float32"  # float32 trains faster; float64 for exactness
    seed: int = 0  # seeds the initial weights

    def to_json(self) -> str:
        """The config as a JSON object."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class TrainResult:
    """The trained model, its vocabulary and the training curve."""

    model: RecurrentLM
    vocab: list[str]  # id → character
    losses: list[float] = field(default_factory=list)  # mean cross-entropy per character, one per update
    grad_norms: list[float] = field(default_factory=list)  # global gradient norm before clipping, per update


def build_vocab(text: str) -> list[str]:
    """The sorted distinct characters of the text; a character's id is its index."""
    if not text:
        raise DataError("the training text is empty; give at least a few sentences")
    return sorted(set(text))


def batchify(ids: NDArray[Any], batch_size: int) -> NDArray[np.intp]:
    """Cut a 1-D id array into ``batch_size`` equal streams, time-major: shape (n, B)."""
    n = len(ids) // batch_size
    if n < 2:
        raise DataError(
            f"a text of {len(ids)} characters cannot feed {batch_size} streams; "
            "use a longer text or a smaller batch_size"
        )
    return np.asarray(ids[: n * batch_size], dtype=np.intp).reshape(batch_size, n).T


def _make_optimizer(config: TrainConfig) -> SGD | Adam:
    """The optimiser the config names."""
    if config.optimizer == "adam":
        return Adam(lr=config.lr)
    if config.optimizer == "sgd":
        return SGD(lr=config.lr)
    raise ConfigError(f"unknown optimizer {config.optimizer!r}; options are ['adam', 'sgd']")


def train_char_model(text: str, config: TrainConfig | None = None, progress: bool = True) -> TrainResult:
    """Train a character model on ``text`` and record the loss per update."""
    config = config or TrainConfig()
    if config.dtype not in DTYPES:
        raise ConfigError(f"dtype must be one of {sorted(DTYPES)}, got {config.dtype!r}")
    vocab = build_vocab(text)
    index = {ch: i for i, ch in enumerate(vocab)}
    data = batchify(np.array([index[ch] for ch in text]), config.batch_size)
    if config.seq_len < 1 or data.shape[0] < config.seq_len + 1:
        raise DataError(
            f"seq_len={config.seq_len} does not fit streams of {data.shape[0]} characters; "
            f"use 1 ≤ seq_len ≤ {data.shape[0] - 1}, a longer text, or a smaller batch_size"
        )
    model = build_model(
        ScratchConfig(
            cell=config.cell,
            vocab_size=len(vocab),
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            nonlinearity=config.nonlinearity,
            dtype=config.dtype,
            seed=config.seed,
        )
    )
    optimizer = _make_optimizer(config)
    result = TrainResult(model=model, vocab=vocab)
    state: State | None = None
    start = 0
    bar = tqdm(range(config.steps), desc=f"train {model.describe()}", unit="step", disable=not progress)
    for _ in bar:
        if start + config.seq_len + 1 > data.shape[0]:
            start, state = 0, None  # wrapped around the text: start again from the zero state
        inputs = data[start : start + config.seq_len]
        targets = data[start + 1 : start + config.seq_len + 1]
        loss, grads, state = model.loss_and_grads_with_state(inputs, targets, config.truncate, state)
        norm = float("nan")
        if config.clip is not None:
            grads, norm = clip_by_global_norm(grads, config.clip)
        optimizer.step(model.params, grads)
        result.losses.append(loss / config.seq_len)
        result.grad_norms.append(norm)
        bar.set_postfix(loss=f"{loss / config.seq_len:.3f}")
        start += config.seq_len
    return result


def sample(
    model: RecurrentLM,
    vocab: Sequence[str],
    prefix: str,
    length: int,
    temperature: float = 1.0,
    seed: int = 0,
) -> str:
    """Continue ``prefix`` by ``length`` characters drawn from softmax(z / temperature)."""
    if not prefix:
        raise DataError("sampling needs a non-empty prefix to warm the state up")
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    index = {ch: i for i, ch in enumerate(vocab)}
    unknown = sorted({ch for ch in prefix if ch not in index})
    if unknown:
        raise DataError(f"prefix holds characters the model never saw: {unknown}")
    rng = np.random.default_rng(seed)
    # The prefix warms the state up; its last logits give the first new character.
    logits, state = model.forward(np.array([[index[ch]] for ch in prefix]))
    out = []
    for _ in range(length):
        p = np.exp(log_softmax(logits[-1, 0].astype(np.float64) / temperature))
        nxt = int(rng.choice(len(vocab), p=p / p.sum()))
        out.append(vocab[nxt])
        logits, state = model.forward(np.array([[nxt]]), state)
    return prefix + "".join(out)
