"""Scores of predicted targets against references, for any pair file and for couplets in particular.

For every pair file (sacrebleu, character level — Chinese has no spaces to split words at):

* **chrF** (Popović 2015): the F_β (β = 2) of character n-gram precision and recall, n = 1 … 6,
  over the whole corpus — partial credit for partly right lines;
* **BLEU** (Papineni et al. 2002): the geometric mean of 1…4-gram precisions times the brevity
  penalty, corpus level, each character a token (``tokenize="char"``);
* **exact match**: the share of predictions equal to their reference.

For *aligned* pairs — couplets, where every target is as long as its source — also:

* **same-position characters** (``char_match``): the share of the references' characters that the
  prediction has at the same position — the plainest "how close" for lines of fixed length, where
  chrF's 1…6-grams of a 5- or 7-character line mostly find nothing;
* **length match**: the share of predictions exactly as long as their source;
* **punctuation match**: the share whose marks (，。、；：！？) stand where the source's do;
* **tone opposition** (对仗's rule of 平仄): at the even positions 2, 4, 6 of each clause, the
  share where the prediction's tone is the opposite of the source's. Tones come from the Pingshui
  rhyme book (:mod:`rnnlab.poetics`); a position counts only when both characters have one tone in
  every reading (polyphonic or unknown characters are left out, ``tone_coverage`` says how many
  positions counted). The same measure of the references shows how often real couplets obey it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from rnnlab.errors import DataError

MARKS = "，。、；：！？"


@dataclass
class PairScores:
    """Corpus-level scores of one system on one pair file; the aligned-pair fields are None otherwise."""

    n: int  # pairs scored
    chrf: float  # 0–100
    bleu: float  # 0–100
    exact: float  # share, 0–1
    char_match: float | None = None
    length_match: float | None = None
    punct_match: float | None = None
    tone_opposition: float | None = None
    tone_coverage: float | None = None  # share of positions 2/4/6 whose tones were both known

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def is_aligned(sources: Sequence[str], targets: Sequence[str]) -> bool:
    """Whether every target is exactly as long as its source (couplets)."""
    return bool(sources) and all(len(s) == len(t) for s, t in zip(sources, targets, strict=True))


def mark_positions(text: str) -> list[tuple[int, str]]:
    return [(i, c) for i, c in enumerate(text) if c in MARKS]


def even_positions(text: str) -> list[int]:
    """Indices of the 2nd, 4th, 6th … character of each clause (clauses split at the marks)."""
    out, k = [], 0
    for i, ch in enumerate(text):
        if ch in MARKS:
            k = 0
            continue
        k += 1
        if k % 2 == 0:
            out.append(i)
    return out


def tone_opposition(sources: Sequence[str], predictions: Sequence[str]) -> tuple[float, float]:
    """(share of counted positions whose tones are opposite, share of positions counted)."""
    from rnnlab.poetics.rhymebook import RhymeBook, Tone

    book = RhymeBook.pingshui()
    definite = (Tone.PING, Tone.ZE)
    opposite = counted = eligible = 0
    for source, prediction in zip(sources, predictions, strict=True):
        for i in even_positions(source):
            eligible += 1
            if i >= len(prediction):
                continue
            a, b = book.tones(source[i]), book.tones(prediction[i])
            if a in definite and b in definite:
                counted += 1
                opposite += a != b
    return (opposite / counted if counted else float("nan"), counted / eligible if eligible else float("nan"))


def score_pairs(sources: Sequence[str], references: Sequence[str], predictions: Sequence[str]) -> PairScores:
    """Every score of ``predictions`` against ``references`` (see the module docstring)."""
    from sacrebleu.metrics import BLEU, CHRF

    if not (len(sources) == len(references) == len(predictions)):
        raise DataError(
            f"{len(sources)} sources, {len(references)} references and {len(predictions)} predictions; "
            "give one of each per pair"
        )
    if not sources:
        raise DataError("there is nothing to score: the pair file is empty")
    hyps, refs = list(predictions), [list(references)]
    scores = PairScores(
        n=len(sources),
        chrf=CHRF().corpus_score(hyps, refs).score,
        bleu=BLEU(tokenize="char").corpus_score(hyps, refs).score,
        exact=sum(p == r for p, r in zip(predictions, references, strict=True)) / len(sources),
    )
    if is_aligned(sources, references):
        pairs = list(zip(sources, predictions, strict=True))
        same = sum(
            a == b for r, p in zip(references, predictions, strict=True) for a, b in zip(r, p, strict=False)
        )
        scores.char_match = same / max(1, sum(len(r) for r in references))
        scores.length_match = sum(len(s) == len(p) for s, p in pairs) / len(pairs)
        scores.punct_match = sum(mark_positions(s) == mark_positions(p) for s, p in pairs) / len(pairs)
        scores.tone_opposition, scores.tone_coverage = tone_opposition(sources, predictions)
    return scores


def format_scores(rows: Sequence[tuple[str, PairScores]], title: str = "") -> str:
    """A fixed-width table, one row per system; percentages for the shares."""
    columns = ("chrF", "BLEU", "exact", "chars", "len", "punct", "tone", "known")
    header = f"{'system':<32} {'pairs':>6} " + " ".join(f"{c:>6}" for c in columns)
    lines = [title] if title else []
    lines += [header, "-" * len(header)]

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}"

    for name, s in rows:
        shares = (s.exact, s.char_match, s.length_match, s.punct_match, s.tone_opposition, s.tone_coverage)
        cells = [f"{s.chrf:.1f}", f"{s.bleu:.1f}", *(pct(v) for v in shares)]
        lines.append(f"{name[:32]:<32} {s.n:>6} " + " ".join(f"{c:>6}" for c in cells))
    return "\n".join(lines)
