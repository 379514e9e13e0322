"""The couplet application's one object: a trained encoder–decoder that answers upper lines.

    writer = CoupletWriter.load()                              # the bundled couplet model
    writer.write(CoupletRequest("海内存知己", num=3, seed=1))   # three lower lines
    writer.write_many(["白日依山尽", "春眠不觉晓"], CoupletRequest("", beam=5))   # one batch

``rnnlab couplet`` and the web page's 对联 tab are thin layers over this class. Decoding goes through
:mod:`rnnlab.generate` (sampling in a :class:`~rnnlab.generate.decoding.DecodeBatch`, or batched
beam search), with the rules of :mod:`rnnlab.generate.couplets` as constraints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnnlab.data.vocab import Vocab
from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.generate.couplets import (
    Clause,
    CoupletRequest,
    CoupletVocab,
    check_upper,
    clauses,
    constraint_for,
    join_clauses,
)
from rnnlab.generate.decoding import DecodeConfig, DecodeJob, decode
from rnnlab.generate.seq2seq import encoded_rows, source_jobs, translate

DEFAULT_COUPLET = "couplet-gru"


def bundled_couplet_dir() -> Path:
    """The bundled couplet model's folder inside the installed package."""
    from rnnlab.pretrained import bundled_dir

    return bundled_dir(DEFAULT_COUPLET)


def read_run_config(folder: Path) -> dict[str, Any]:
    """config.json of an encoder–decoder run or bundle (read without torch); CheckpointError otherwise."""
    from rnnlab.inference.loading import read_config

    if not (folder / "config.json").is_file():
        raise CheckpointError(
            f"{folder}: not a run folder (no config.json); pass a folder written by `rnnlab seq2seq train`"
        )
    config = read_config(folder)
    if config.get("kind") != "seq2seq":
        raise CheckpointError(
            f"{folder} does not hold an encoder–decoder; pass a folder written by `rnnlab seq2seq train`"
        )
    return config


def choose_couplet_engine(
    folder: Path, config: dict[str, Any], engine: str = "auto", device: str = "cpu"
) -> tuple[str, str | None]:
    """The engine ("numpy" or "torch") that ``CoupletWriter.load`` uses for a run, and its notice."""
    from rnnlab.inference.seq2seq_numpy import numpy_seq2seq_unsupported

    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; options are {list(ENGINES)}")
    reason = numpy_seq2seq_unsupported(config["model"])
    if reason is None and not (folder / "model.safetensors").is_file():
        reason = "a run without final weights (model.safetensors)"
    if reason is None and config.get("storage_dtype") == "bfloat16":
        reason = "bfloat16 weights"
    if reason is None and device != "cpu":
        reason = f"device {device!r} (it runs on the CPU)"
    if engine == "numpy" and reason is not None:
        raise ConfigError(f"the NumPy engine cannot run {reason}; use --engine torch")
    if engine == "numpy" or (engine == "auto" and reason is None):
        return "numpy", None
    return (
        "torch",
        None if engine == "torch" else f"using the torch engine: the NumPy engine cannot run {reason}",
    )


def _torch_stepper(folder: Path, device: str) -> Any:
    import torch

    from rnnlab.inference.seq2seq_torch import Seq2SeqStepper
    from rnnlab.tasks.seq2seq import load_seq2seq_run

    net, _, _ = load_seq2seq_run(folder)
    return Seq2SeqStepper(net.to(torch.device(device)))


ENGINES: tuple[str, ...] = ("auto", "numpy", "torch")


@dataclass
class PreparedCouplets:
    """Upper lines checked and cut into clauses, with one decoding job per clause when sampling."""

    uppers: list[str]  # the lines as answered (cleaned)
    counts: list[int]  # clauses per line
    clauses: list[Clause]  # all lines' clauses, in order
    jobs: list[DecodeJob]  # one per clause (sampling); empty for beam search
    num: int
    to_text: Callable[[Sequence[int]], str]

    def answers(self) -> list[list[str]]:
        """Each clause's ``num`` answers, from its finished job (``to_text`` drops the <eos>)."""
        return [[self.to_text(ids) for ids in job.outputs()] for job in self.jobs]

    def lines(self, answers: Sequence[Sequence[str]]) -> list[list[str]]:
        """Per upper line, its ``num`` lower lines: the clauses' answers joined by the line's marks."""
        out, start = [], 0
        for line, count in zip(self.uppers, self.counts, strict=True):
            mine = answers[start : start + count]
            start += count
            out.append([join_clauses(line, [a[i] for a in mine]) for i in range(self.num)])
        return out


@dataclass
class CoupletWriter:
    """A stepper that can encode sources, its vocabulary's tables, and where it came from."""

    stepper: Any  # NumpySeq2Seq or Seq2SeqStepper: encode, prefill, step, select, concat, attention
    tables: CoupletVocab
    folder: Path
    engine: str  # "numpy" or "torch"
    notice: str | None = None  # why the NumPy engine was not used when "auto" wanted it

    @property
    def vocab(self) -> Vocab:
        return self.tables.vocab

    @property
    def name(self) -> str:
        return self.folder.name

    @classmethod
    def load(
        cls, model: str | Path | None = None, device: str = "cpu", engine: str = "auto"
    ) -> CoupletWriter:
        """The bundled couplet model (``model=None``) or the run folder ``model`` (final weights).

        ``engine``: "numpy" (no torch: the CPU engine of :mod:`rnnlab.inference.seq2seq_numpy`),
        "torch", or "auto" — NumPy on the CPU when it can run the model, torch otherwise (a notice
        in ``notice`` says why).
        """
        folder = bundled_couplet_dir() if model is None else Path(model)
        config = read_run_config(folder)
        chosen, notice = choose_couplet_engine(folder, config, engine, device)
        tables = CoupletVocab(Vocab.load(folder / "vocab.json"))
        if chosen == "numpy":
            from rnnlab.inference.seq2seq_numpy import load_numpy_seq2seq

            return cls(load_numpy_seq2seq(folder, config["model"]), tables, folder, "numpy")
        return cls(_torch_stepper(folder, device), tables, folder, "torch", notice)

    def write(self, request: CoupletRequest) -> list[str]:
        """``request.num`` lower lines for ``request.upper``."""
        return self.write_many([request.upper], request)[0]

    def write_many(self, uppers: Sequence[str], request: CoupletRequest) -> list[list[str]]:
        """``request.num`` lower lines for each upper line, decoded in one batch.

        Every line is checked first (unknown characters, length, stray symbols raise with the
        line's text in the message), so a bad line fails the call before any decoding.
        """
        prepared = self.prepare(uppers, request)
        if request.beam:
            flat = prepared.clauses
            constraints = [constraint_for(clause, self.tables, request) for clause in flat]
            outputs = translate(
                self.stepper,
                [self._ids(clause.text) for clause in flat],
                bos_id=self.vocab.bos_id,
                eos_id=self.vocab.eos_id,
                max_new_tokens=[len(clause.text) + 1 for clause in flat],
                config=DecodeConfig(num_samples=request.num),
                beam=request.beam,
                length_penalty=0.0,  # every answer has the clause's length: nothing to normalise
                processors=lambda i: [constraints[i]],
            )
            return prepared.lines([[self._text(ids) for ids in outs] for outs in outputs])
        decode(self.stepper, prepared.jobs)
        return prepared.lines(prepared.answers())

    def prepare(self, uppers: Sequence[str], request: CoupletRequest) -> PreparedCouplets:
        """Check the upper lines and, for sampling, make one decoding job per clause (not yet run).

        The server queues :attr:`PreparedCouplets.jobs` on its model's continuous batch; after they
        are done, :meth:`PreparedCouplets.lines` joins the answers per upper line.
        """
        lines = [check_upper(u, self.vocab) for u in uppers]
        pieces = [clauses(line, self.tables) for line in lines]
        flat = [clause for line in pieces for clause in line]
        jobs: list[DecodeJob] = []
        if not request.beam and flat:
            config = DecodeConfig(
                temperature=request.temperature,
                top_k=request.top_k,
                top_p=request.top_p,
                num_samples=request.num,
                seed=request.seed,
            )
            rows = encoded_rows(self.stepper, [self._ids(clause.text) for clause in flat])
            chains = [[constraint_for(clause, self.tables, request)] for clause in flat]
            limits = [len(clause.text) + 1 for clause in flat]
            jobs = source_jobs(rows, limits, chains, config, self.vocab.bos_id, self.vocab.eos_id)
        return PreparedCouplets(lines, [len(p) for p in pieces], flat, jobs, request.num, self._text)

    def _ids(self, text: str) -> list[int]:
        return [self.vocab[c] for c in text]

    def _text(self, ids: Sequence[int]) -> str:
        return "".join(self.vocab.to_tokens([i for i in ids if i != self.vocab.eos_id]))

    def write_with(self, request: CoupletRequest, **changes: Any) -> list[str]:
        """Like :meth:`write` with some request fields replaced (handy in notebooks)."""
        return self.write(replace(request, **changes))

    def attention(self, upper: str, lower: str) -> NDArray[np.float64]:
        """The attention weights (len(lower), len(upper)) of the model writing ``lower`` for ``upper``.

        Row t is where the model looked while choosing lower[t]; a line answered clause by clause
        gives one block per clause (zero elsewhere, and on the marks).
        """
        line = check_upper(upper, self.vocab)
        if len(lower) != len(line):
            raise ConfigError(
                f"the lower line has {len(lower)} characters but the upper line {len(line)}; "
                "pass a lower line written for this upper line"
            )
        weights = np.zeros((len(line), len(line)))
        start = 0
        for clause in clauses(line, self.tables):
            n = len(clause.text)
            weights[start : start + n, start : start + n] = self._clause_attention(
                clause.text, lower[start : start + n]
            )
            start += n + 1  # the mark after the clause
        return weights

    def _clause_attention(self, source: str, target: str) -> NDArray[np.float64]:
        vocab = self.vocab
        state = self.stepper.encode([[vocab[c] for c in source]])
        ids = np.array([[vocab.bos_id, *(vocab[c] for c in target[:-1])]], dtype=np.int64).T  # (T, 1)
        return np.asarray(self.stepper.attention(ids, state), dtype=np.float64)
