"""From task examples to the id arrays the models read, and back to labels and tags.

A run's ``TaskCodec`` holds its character vocabulary (``vocab.json``) and its label list (the
classes or tags, in id order, most frequent first; ``config.json``). Each kind encodes an example
of n characters c_1 … c_n as::

    classify   x = c_1 … c_n                      y = the label's id
    tag        x = c_1 … c_n                      y_t = the id of tag t (IGNORE where null)
    multi      x = <bos> c_1 … c_n                y_t = (c_{t+1} | <eos>,  tag of c_{t+1} | IGNORE)
                                                  one column per head, in the run's head order

For training, texts longer than ``max_length`` are truncated (classify: the start of a poem says
enough) or cut into consecutive pieces (tag, multi: every character stays a training target);
evaluation and prediction always read whole texts. Labels or tags not seen in training raise a
DataError naming the line, since the model has no output for them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rnnlab.data.buckets import IGNORE
from rnnlab.data.vocab import Vocab
from rnnlab.errors import DataError
from rnnlab.tasks.files import Example
from rnnlab.tasks.recipes import TaskOptions

IdArray = npt.NDArray[np.int64]


class TaskCodec:
    """Characters ↔ ids and labels ↔ ids of one run; see the module docstring."""

    def __init__(self, options: TaskOptions, vocab: Vocab, labels: Sequence[str]) -> None:
        self.options, self.vocab, self.labels = options, vocab, list(labels)
        self.index = {label: i for i, label in enumerate(self.labels)}

    @classmethod
    def build(cls, options: TaskOptions, examples: Sequence[Example]) -> TaskCodec:
        """The vocabulary and label list of the training examples."""
        vocab = Vocab.build((ch for e in examples for ch in e.text), min_freq=options.min_freq)
        counts: Counter[str] = Counter()
        for e in examples:
            if isinstance(e.target, str):
                counts[e.target] += 1
            elif e.target is not None:
                counts.update(t for t in e.target if t is not None)
        if len(counts) < 2:
            raise DataError(
                f"the training examples have {len(counts)} distinct label(s) {sorted(counts)}; "
                "a task needs at least 2"
            )
        return cls(options, vocab, sorted(counts, key=lambda k: (-counts[k], k)))

    @property
    def kind(self) -> str:
        return self.options.kind

    def ids(self, text: str) -> IdArray:
        return np.asarray(self.vocab.encode(text), dtype=np.int64)

    def _label_id(self, label: str, where: str) -> int:
        if label not in self.index:
            shown = ", ".join(repr(x) for x in self.labels[:12])
            raise DataError(
                f"{where}: label {label!r} was not seen in training, so the model cannot predict it; the run "
                f"knows {shown}{' …' if len(self.labels) > 12 else ''} — fix the label or retrain with it"
            )
        return self.index[label]

    def target(self, example: Example, source: str) -> IdArray:
        """The example's target as ids: a 0-d label id, or (n,) tag ids with IGNORE where null."""
        where = f"{source}:{example.line}"
        if isinstance(example.target, str):
            return np.asarray(self._label_id(example.target, where), dtype=np.int64)
        if example.target is None:
            raise DataError(f"{where}: the example has no target to learn or score")
        return np.array(
            [IGNORE if t is None else self._label_id(t, where) for t in example.target], dtype=np.int64
        )

    def encode(
        self, examples: Sequence[Example], source: str, *, training: bool = False
    ) -> tuple[list[IdArray], list[IdArray]]:
        """(inputs, targets) of ``examples`` (see the module docstring); ``training`` applies max_length."""
        sequences: list[IdArray] = []
        targets: list[IdArray] = []
        limit = self.options.max_length if training else None
        for e in examples:
            x, y = self.ids(e.text), self.target(e, source)
            if self.kind == "classify":
                sequences.append(x[:limit] if limit else x)
                targets.append(y)
                continue
            if self.kind == "multi":
                x, y = self._next_targets(x, y)
            step = limit or len(x)
            for start in range(0, len(x), step):
                sequences.append(x[start : start + step])
                targets.append(y[start : start + step])
        return sequences, targets

    def _next_targets(self, ids: IdArray, tags: IdArray) -> tuple[IdArray, IdArray]:
        """x = <bos> c_1 … c_n and y (n + 1, H): each head's target after each input step."""
        x = np.concatenate(([self.vocab.bos_id], ids))
        columns = []
        for head in self.options.heads:
            if head == "next":
                columns.append(np.concatenate((ids, [self.vocab.eos_id])))
            else:  # "next-tag"
                columns.append(np.concatenate((tags, [IGNORE])))
        return x, np.stack(columns, axis=1)

    def inputs(self, examples: Sequence[Example]) -> list[IdArray]:
        """The model inputs of ``examples`` (no targets needed: prediction)."""
        out = []
        for e in examples:
            x = self.ids(e.text)
            out.append(np.concatenate(([self.vocab.bos_id], x)) if self.kind == "multi" else x)
        return out
