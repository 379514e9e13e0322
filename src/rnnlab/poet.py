"""The poetry application's one object: a trained character model that writes poems on request.

    poet = Poet.load()                                   # the bundled Tang model (NumPy engine)
    poet = Poet.load("runs/my-poems", engine="torch")    # a run of your own, stepped by torch
    for poem in poet.write(PoemRequest(prefix="床前明月光", num=2, seed=1)):
        print(poem, end="\\n\\n")

``rnnlab poem`` and ``rnnlab serve`` are thin layers over this class. With the NumPy engine
(the default wherever it can run the model) writing a poem imports neither torch nor FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rnnlab.data.vocab import Vocab
from rnnlab.errors import CheckpointError
from rnnlab.generate.poems import PoemJob, PoemRequest, PoemVocab, prepare_poems, write_poems
from rnnlab.inference.loading import load_lm
from rnnlab.pretrained import DEFAULT_POET, bundled_dir, describe


@dataclass
class Poet:
    """A model (a stepper of either engine), its vocabulary and the token it saw before every poem."""

    model: Any  # a stepper (rnnlab.generate.stepper): rnnlab.inference's NumpyLM or TorchStepper
    vocab: Vocab
    start_id: int
    name: str
    description: str
    engine: str = "numpy"  # the engine that steps the model: "numpy" or "torch"
    notice: str | None = None  # why the NumPy engine was not used, when it was asked for
    _tables: PoemVocab | None = field(default=None, repr=False)

    @classmethod
    def load(cls, model: str | Path | None = None, device: str = "cpu", engine: str = "auto") -> Poet:
        """The bundled default (``model=None``) or the run folder ``model`` (final weights).

        ``engine``: "auto" (NumPy when it can run the model on the CPU, else torch), "numpy" or
        "torch"; see :func:`rnnlab.inference.load_lm`.
        """
        folder = bundled_dir(DEFAULT_POET) if model is None else Path(model)
        if not folder.is_dir():
            raise CheckpointError(
                f"{folder}: no such run folder; pass --model a folder written by `rnnlab train`"
            )
        lm = load_lm(folder, engine=engine, device=device)
        return cls(
            lm.stepper,
            lm.vocab,
            start_token(lm.config, lm.vocab),
            folder.name,
            describe(folder),
            engine=lm.engine,
            notice=lm.notice,
        )

    @property
    def tables(self) -> PoemVocab:
        """The vocabulary's poem tables, built on first use and kept (they cost more than a poem)."""
        if self._tables is None:
            self._tables = PoemVocab(self.vocab)
        return self._tables

    def prepare(self, request: PoemRequest) -> PoemJob:
        """``request`` checked and made into a decoding job (for a batch that decodes many)."""
        return prepare_poems(self.tables, request, start_id=self.start_id)

    def write(self, request: PoemRequest) -> list[str]:
        """``request.num`` poems, each as its lines joined by newlines."""
        return write_poems(self.model, self.tables, request, start_id=self.start_id)

    def write_many(self, request: PoemRequest, **changes: Any) -> list[str]:
        """Like :meth:`write` with some request fields replaced (handy in notebooks)."""
        return self.write(replace(request, **changes))


def start_token(run_config: dict[str, Any], vocab: Vocab) -> int:
    """What preceded each poem in training: ``<bos>`` in padded batches, ``<eos>`` in joined streams."""
    sampling = run_config.get("train", {}).get("sampling", "packed")
    return vocab.bos_id if sampling == "padded" else vocab.eos_id
