"""The poetry application's one object: a trained character model that writes poems on request.

    poet = Poet.load()                                   # the bundled Tang model
    poet = Poet.load("runs/my-poems")                    # a run of your own
    for poem in poet.write(PoemRequest(prefix="床前明月光", num=2, seed=1)):
        print(poem, end="\\n\\n")

``rnnlab poem`` and ``rnnlab serve`` are thin layers over this class.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from rnnlab.data.vocab import Vocab
from rnnlab.errors import CheckpointError
from rnnlab.generate.poems import PoemRequest, write_poems
from rnnlab.models.rnnlm import RNNLM
from rnnlab.pretrained import DEFAULT_POET, bundled_dir, describe
from rnnlab.train.lm import load_run


@dataclass
class Poet:
    """A model, its vocabulary and the token it saw before every poem in training."""

    model: RNNLM
    vocab: Vocab
    start_id: int
    name: str
    description: str

    @classmethod
    def load(cls, model: str | Path | None = None, device: str = "cpu") -> Poet:
        """The bundled default (``model=None``) or the run folder ``model`` (final weights)."""
        folder = bundled_dir(DEFAULT_POET) if model is None else Path(model)
        if not folder.is_dir():
            raise CheckpointError(
                f"{folder}: no such run folder; pass --model a folder written by `rnnlab train`"
            )
        net, vocab, config = load_run(folder)
        net.to(torch.device(device))
        return cls(net, vocab, start_token(config, vocab), folder.name, describe(folder))

    def write(self, request: PoemRequest) -> list[str]:
        """``request.num`` poems, each as its lines joined by newlines."""
        return write_poems(self.model, self.vocab, request, start_id=self.start_id)

    def write_many(self, request: PoemRequest, **changes: Any) -> list[str]:
        """Like :meth:`write` with some request fields replaced (handy in notebooks)."""
        return self.write(replace(request, **changes))


def start_token(run_config: dict[str, Any], vocab: Vocab) -> int:
    """What preceded each poem in training: ``<bos>`` in padded batches, ``<eos>`` in joined streams."""
    sampling = run_config.get("train", {}).get("sampling", "packed")
    return vocab.bos_id if sampling == "padded" else vocab.eos_id
