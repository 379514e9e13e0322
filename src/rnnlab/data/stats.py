"""Corpus statistics: what ``rnnlab data stats`` prints.

For poems: number of poems, characters (Chinese characters vs punctuation), vocabulary size, the
unknown-token rate, and how many poems have each form. Two unk rates are reported because they answer
different questions: with the vocabulary of the whole input (non-zero only when ``min_freq`` > 1 or
``max_size`` cuts it), and *held out* — vocabulary of the train split, measured on validation + test —
which is what a model trained on the split will meet.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from rnnlab.data.corpus import PoemCorpus, TextCorpus
from rnnlab.data.tokenize import CharTokenizer, Tokenizer
from rnnlab.data.vocab import Vocab

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


@dataclass(frozen=True)
class CorpusStats:
    """Summary numbers of a corpus (see the module docstring)."""

    source: str
    kind: str  # "poems" or "text"
    n_poems: int | None  # None for a text
    n_chars: int
    n_han: int  # Chinese characters among n_chars
    n_tokens: int
    vocab_size: int  # including the reserved tokens
    n_reserved: int
    min_freq: int
    unk_rate: float
    heldout_unk_rate: float | None  # None when the validation + test split is empty
    forms: dict[str, int] | None  # None for a text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field."""
        return asdict(self)

    def format(self) -> str:
        """Aligned ``name : value`` lines for a terminal."""
        rows = [("source", self.source), ("kind", self.kind)]
        if self.n_poems is not None:
            rows.append(("poems", f"{self.n_poems:,}"))
        punct = self.n_chars - self.n_han
        chars = f"{self.n_chars:,}" + (f" ({self.n_han:,} Chinese, {punct:,} other)" if self.n_han else "")
        rows.append(("characters", chars))
        if self.kind == "text":
            rows.append(("tokens", f"{self.n_tokens:,}"))
        rows.append(
            (
                "vocabulary",
                f"{self.vocab_size:,} ({self.n_reserved} reserved + {self.vocab_size - self.n_reserved:,} "
                f"seen ≥ {self.min_freq}×)",
            )
        )
        rows.append(("unk rate", f"{self.unk_rate:.3%} (vocabulary of the whole input)"))
        if self.heldout_unk_rate is not None:
            rows.append(
                ("held-out unk", f"{self.heldout_unk_rate:.3%} (train-split vocabulary on validation + test)")
            )
        if self.forms is not None:
            rows.append(("forms", " · ".join(f"{name} {n:,}" for name, n in self.forms.items())))
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}} : {value}" for name, value in rows)


def corpus_stats(
    corpus: TextCorpus | PoemCorpus,
    min_freq: int = 1,
    max_size: int | None = None,
    tokenizer: Tokenizer | None = None,
) -> CorpusStats:
    """Statistics of ``corpus``: poems are counted by character, a text by ``tokenizer`` (default: chars)."""
    if isinstance(corpus, PoemCorpus):
        tokens = corpus.tokens()
        train, valid, test = corpus.split()
        train_tokens, heldout = train.tokens(), valid.tokens() + test.tokens()
        n_poems: int | None = len(corpus)
        forms: dict[str, int] | None = corpus.form_counts()
        text_len = corpus.n_chars
        n_han = sum(1 for ch in tokens if _HAN.match(ch))
        kind = "poems"
    else:
        tok = tokenizer or CharTokenizer()
        tokens = corpus.tokens(tok)
        text_train, text_valid, text_test = corpus.split()
        train_tokens = text_train.tokens(tok)
        heldout = text_valid.tokens(tok) + text_test.tokens(tok)
        n_poems, forms, text_len, kind = None, None, len(corpus), "text"
        n_han = len(_HAN.findall(corpus.text))
    vocab = Vocab.build(tokens, min_freq=min_freq, max_size=max_size)
    train_vocab = Vocab.build(train_tokens, min_freq=min_freq, max_size=max_size)
    return CorpusStats(
        source=corpus.source,
        kind=kind,
        n_poems=n_poems,
        n_chars=text_len,
        n_han=n_han,
        n_tokens=len(tokens),
        vocab_size=len(vocab),
        n_reserved=vocab.n_reserved,
        min_freq=min_freq,
        unk_rate=vocab.unk_rate(tokens),
        heldout_unk_rate=train_vocab.unk_rate(heldout) if heldout else None,
        forms=forms,
    )
