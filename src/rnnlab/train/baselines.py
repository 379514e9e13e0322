"""N-gram baselines for a trained run: the same split, vocabulary and perplexity definition.

    rows = ngram_rows("runs/lstm", orders=range(1, 6), smoothings=("add-k", "kn", "mkn"))
    print(format_table([evaluate_run("runs/lstm")[0], *rows]))

Each n-gram model is fitted on the *training* lines of the run (its ``config.json`` records the
data file and ``valid_fraction``; :func:`rnnlab.train.corpus.split_lines` reproduces the split)
encoded with the run's own vocabulary, so characters the run maps to ``<unk>`` are ``<unk>`` here
too. It is scored on exactly the lines the neural model is scored on
(:func:`rnnlab.train.lm.eval_sequences`) and counts the same targets: every character of a line
and the ``<eos>`` closing it, the first prediction made from the line start. (The neural model in
packed layout sees the previous line as extra context; the n-gram starts each line from
``<bos>`` padding — the target set and the definition ``exp(mean NLL)`` are identical.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError
from rnnlab.models.ngram import MAX_ORDER, SMOOTHINGS, NGramConfig, NGramLM
from rnnlab.train import checkpoint as ckpt
from rnnlab.train.corpus import IdArray, encode, read_lines, split_lines
from rnnlab.train.lm import EvalRow, eval_sequences


def run_training_sequences(run_dir: str | Path) -> tuple[list[IdArray], Vocab]:
    """The training lines of a run as ids under its vocabulary, and that vocabulary."""
    run = ckpt.RunDir(run_dir)
    config = run.read_config()
    vocab = Vocab.load(run.vocab)
    train, _ = split_lines(read_lines(config["data"]["path"]), config["data"]["valid_fraction"])
    return [encode(vocab, s) for s in train], vocab


def ngram_name(n: int, smoothing: str, k: float) -> str:
    """Row label: ``5-gram kn``, ``3-gram mkn``, ``2-gram add-0.01`` (add-k shows its k)."""
    return f"{n}-gram add-{k:g}" if smoothing == "add-k" else f"{n}-gram {smoothing}"


def fit_ngram(train: Sequence[IdArray], vocab: Vocab, n: int, smoothing: str, k: float = 1.0) -> NGramLM:
    """An n-gram model over the run's vocabulary, with its ``<bos>``/``<eos>``, fitted on ``train``."""
    config = NGramConfig(n=n, smoothing=smoothing, k=k)
    return NGramLM(config, len(vocab), bos_id=vocab.bos_id, eos_id=vocab.eos_id).fit(train)


def ngram_row(lm: NGramLM, sequences: Sequence[IdArray]) -> EvalRow:
    """The table row of a fitted n-gram model scored on ``sequences`` (same targets as the neural model)."""
    total, count = lm.nll(sequences)
    config = lm.config
    return EvalRow(
        name=ngram_name(config.n, config.smoothing, config.k),
        kind="ngram",
        parameters=lm.num_ngrams,
        tokens=count,
        mean_nll=total / count,
        train_seconds=lm.fit_seconds if lm.fit_seconds is not None else float("nan"),
    )


def check_ngram_options(orders: Iterable[int], smoothings: Iterable[str], add_k: Iterable[float]) -> None:
    """Raise ConfigError naming a bad order, smoothing or k and the valid choices."""
    for n in orders:
        if not 1 <= n <= MAX_ORDER:
            raise ConfigError(f"n-gram order {n} is out of range; choose orders in 1…{MAX_ORDER}")
    for s in smoothings:
        if s not in SMOOTHINGS:
            raise ConfigError(f"unknown smoothing {s!r}; options are {list(SMOOTHINGS)}")
    for k in add_k:
        if not k > 0:
            raise ConfigError(f"add-k needs k > 0, got {k}; e.g. 1 (Laplace), 0.1 or 0.01")


def ngram_rows(
    run_dir: str | Path,
    data: str | Path | None = None,
    *,
    orders: Iterable[int] = range(1, MAX_ORDER + 1),
    smoothings: Iterable[str] = ("add-k", "kn", "mkn"),
    add_k: Iterable[float] = (1.0,),
    split: str = "auto",
) -> tuple[list[EvalRow], str]:
    """Fit n-gram models on ``run_dir``'s training split and score them as ``evaluate_run`` scores the run.

    One row per smoothing × order (× k for add-k), in that order; ``data``/``split`` choose the
    evaluation lines exactly as in :func:`rnnlab.train.lm.evaluate_run`. Returns the rows and the
    data label.
    """
    orders, smoothings, add_k = list(orders), list(smoothings), list(add_k)
    check_ngram_options(orders, smoothings, add_k)
    train, vocab = run_training_sequences(run_dir)
    config = ckpt.RunDir(run_dir).read_config()
    sequences, label = eval_sequences(config, vocab, data, split)
    rows = []
    for smoothing in smoothings:
        for k in add_k if smoothing == "add-k" else [1.0]:
            for n in orders:
                rows.append(ngram_row(fit_ngram(train, vocab, n, smoothing, k), sequences))
    return rows, label
