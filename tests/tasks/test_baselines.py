"""The baselines: HMM Viterbi against brute force, and each baseline doing what its definition says."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnlab.tasks.baselines import (
    HMMTagger,
    MajorityClass,
    MajorityTag,
    MostFrequentTag,
    NgramTagger,
    SklearnTextClassifier,
)

TEXTS = ["行人看山", "银行看海", "山行人远", "看花行人", "海上行舟"]
TAGS = [
    ["平", "平", "平", "平"],
    ["平", "平", "仄", "仄"],
    ["平", "平", "平", "仄"],
    ["仄", "平", "平", "平"],
    ["仄", "仄", "仄", "平"],
]


def test_hmm_viterbi_is_the_brute_force_argmax_of_its_joint() -> None:
    """For every test text, the decoded tags maximise log π + Σ log A + Σ log B over all K^T sequences."""
    hmm = HMMTagger(smoothing=0.5).fit(TEXTS, TAGS)
    k = len(hmm.tags)
    for text in ["行人看海", "看山行", "舟上人", "新"]:

        def joint(path: tuple[int, ...], text: str = text) -> float:
            emit = [hmm.log_emit.get(ch, hmm.log_unknown) for ch in text]
            total = hmm.log_start[path[0]] + emit[0][path[0]]
            for t in range(1, len(text)):
                total += hmm.log_trans[path[t - 1], path[t]] + emit[t][path[t]]
            return float(total)

        best = max(itertools.product(range(k), repeat=len(text)), key=joint)
        assert hmm.predict([text])[0] == [hmm.tags[i] for i in best]


def test_hmm_probabilities_are_normalised() -> None:
    """π and every row of A sum to one; every tag's emissions (with 'unknown') sum to one."""
    hmm = HMMTagger().fit(TEXTS, TAGS)
    assert np.exp(hmm.log_start).sum() == pytest.approx(1.0)
    assert np.exp(hmm.log_trans).sum(1) == pytest.approx(np.ones(len(hmm.tags)))
    emissions = np.exp(np.stack(list(hmm.log_emit.values()))).sum(0) + np.exp(hmm.log_unknown)
    assert emissions == pytest.approx(np.ones(len(hmm.tags)))


def test_characters_seen_only_unlabelled_are_transparent() -> None:
    """Punctuation with null tags in training is skipped by the HMM chain and tagged with the majority."""
    hmm = HMMTagger().fit(["山，行"], [["平", None, "仄"]])
    assert hmm.transparent == {"，"}
    assert hmm.predict(["山，行"]) == [
        [hmm.predict(["山行"])[0][0], hmm.default, hmm.predict(["山行"])[0][1]]
    ]


def test_most_frequent_tag_and_majority() -> None:
    """Each character's commonest training tag; unseen characters and the majority baseline use the
    overall commonest tag."""
    mft = MostFrequentTag().fit(TEXTS, TAGS)
    assert mft.predict(["行看舟新"]) == [["平", "仄", "平", "平"]]  # 看: 仄 twice, 平 once
    assert mft.table["海"] == "仄" and mft.table["舟"] == "平"
    assert MajorityTag().fit(TEXTS, TAGS).predict(["新新"]) == [["平", "平"]]


def test_ngram_tagger_backs_off_from_the_widest_window_seen() -> None:
    """With min_count 1, a window seen in training decides; an unseen one falls back to narrower ones."""
    ngram = NgramTagger(min_count=1).fit(["甲乙丙", "丁乙戊"], [["a", "b", "c"], ["d", "e", "f"]])
    assert ngram.predict(["甲乙丙"]) == [["a", "b", "c"]]  # the full windows were seen
    assert ngram.predict(["丁乙丙"])[0][1] == "b"  # (乙, 丙) right context decides the middle
    assert ngram.predict(["己"]) == [[ngram.default]]


def test_text_classifiers_learn_an_obvious_split() -> None:
    """Majority predicts the commonest label; NB and logistic regression separate two vocabularies."""
    texts = ["山水云月", "月山云水", "水月山云", "车马城门", "门城马车", "城门车马"] * 3
    labels = ["a", "a", "a", "b", "b", "b"] * 3
    assert MajorityClass().fit(texts, [*labels[:-1], "a"]).predict(["x"]) == ["a"]
    for name in ("naive-bayes", "logreg"):
        model = SklearnTextClassifier(name, balanced=True).fit(texts, labels)
        assert model.predict(["云月水山", "马门车城"]) == ["a", "b"]
