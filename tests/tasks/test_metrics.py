"""Task metrics against scikit-learn's, and the tag-group F1 against a direct count."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from rnnlab.tasks.metrics import Confusion, ambiguous_characters, tag_confusions, tagging_report


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_and_f1_match_scikit_learn(seed: int) -> None:
    """accuracy, macro-F1 and per-class F1 equal sklearn's on random labels (a class may be absent)."""
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c", "d", "e"]
    gold = rng.integers(0, 4, size=200)  # "e" never occurs …
    pred = np.where(rng.random(200) < 0.6, gold, rng.integers(0, 5, size=200))  # … but may be predicted
    c = Confusion.of(gold, pred, labels)
    assert c.accuracy == pytest.approx(accuracy_score(gold, pred))
    assert c.macro_f1 == pytest.approx(f1_score(gold, pred, average="macro"))
    present = sorted(set(gold) | set(pred))
    per = f1_score(gold, pred, labels=present, average=None)
    assert [c.f1_per_class()[labels[i]] for i in present] == pytest.approx(list(per))


def test_counts_are_summable() -> None:
    """Confusion counts of two halves add up to the counts of the whole (what ranks and batches do)."""
    rng = np.random.default_rng(3)
    gold, pred = rng.integers(0, 3, 100), rng.integers(0, 3, 100)
    labels = ["x", "y", "z"]
    a, b = (
        Confusion.of(gold[:40], pred[:40], labels).counts(),
        Confusion.of(gold[40:], pred[40:], labels).counts(),
    )
    total = {k: a.get(k, 0) + b.get(k, 0) for k in a | b}
    assert np.array_equal(
        Confusion.from_counts(total, labels).matrix, Confusion.of(gold, pred, labels).matrix
    )


def test_break_f1_counts_any_mark_against_none() -> None:
    """A 。 predicted where the text has ， is a correct break but a wrong mark; null gold is skipped."""
    texts = ["天地玄黄宇宙"]
    gold = [("O", "，", "O", "。", None, "O")]
    pred = [["O", "。", "，", "O", "O", "O"]]
    all_tags, _ = tag_confusions(texts, gold, pred, ["O", "，", "。"])
    report = tagging_report(all_tags)
    tp, fp, fn = 1, 1, 1  # break at 地 found; a break invented at 玄; the break at 黄 missed
    assert report["break_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert report["n"] == 5 and report["accuracy"] == pytest.approx(2 / 5)
    assert report["sentence_end_f1"] == pytest.approx(0.0)


def test_ambiguous_characters_need_a_real_minority() -> None:
    """A character is ambiguous with ≥ min_count labelled uses and a minority tag share ≥ min_share."""
    texts = ["行" * 10 + "山" * 10 + "长" * 3]
    tags = [["平"] * 7 + ["仄"] * 3 + ["平"] * 10 + ["平", "仄", None]]
    assert ambiguous_characters(texts, tags, min_share=0.2, min_count=5) == {"行"}
    assert ambiguous_characters(texts, tags, min_share=0.2, min_count=2) == {"行", "长"}
