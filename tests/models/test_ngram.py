"""N-gram baselines: normalisation, hand counts, a brute-force Kneser–Ney reference, persistence, errors."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from rnnlab.errors import CheckpointError, ConfigError, DataError
from rnnlab.models.ngram import NGramConfig, NGramLM, estimate_discounts

SMOOTHINGS = ("add-k", "kn", "mkn")
# (bos_id, eos_id): sequences padded with <bos> and closed by <eos>, or plain streams.
MODES = {"sequences": (0, 1), "streams": (None, None)}

# Jurafsky & Martin's three sentences, as ids: 0 <bos>, 1 <eos>, 2 <unk>, then the words.
WORDS = ["<bos>", "<eos>", "<unk>", "I", "am", "Sam", "do", "not", "like", "green", "eggs", "and", "ham"]
ID = {w: i for i, w in enumerate(WORDS)}
TEXTBOOK = [
    [ID[w] for w in ["I", "am", "Sam"]],
    [ID[w] for w in ["Sam", "I", "am"]],
    [ID[w] for w in ["I", "do", "not", "like", "green", "eggs", "and", "ham"]],
]


def random_corpus(seed: int, vocab: int, n_seqs: int = 6, low: int = 2) -> list[list[int]]:
    """A few short sequences over ids low…vocab−1, some empty, from a fixed seed."""
    rng = np.random.default_rng(seed)
    return [rng.integers(low, vocab, size=rng.integers(0, 12)).tolist() for _ in range(n_seqs)]


# ---------------------------------------------------------------- independent brute-force reference


def reference_counts(
    corpus: list[list[int]], n: int, bos: int | None, eos: int | None
) -> dict[int, Counter[tuple[int, ...]]]:
    """c(m-gram) for m = 1…n, counted at every predicted token straight from the padded sequences."""
    counts: dict[int, Counter[tuple[int, ...]]] = {m: Counter() for m in range(1, n + 1)}
    for seq in corpus:
        pad = [bos] * (n - 1) if bos is not None else []
        full = pad + list(seq) + ([eos] if eos is not None else [])
        for i in range(len(pad), len(full)):
            for m in range(1, n + 1):
                if i - m + 1 >= 0:
                    counts[m][tuple(full[i - m + 1 : i + 1])] += 1
    return counts


def reference_discounts(values: list[int], smoothing: str) -> tuple[tuple[float, ...], int]:
    """Chen & Goodman's estimates from count-of-counts, written out by hand.

    Returns the discounts and how many of them were estimated (the rest take the documented
    fallback: 0.75 for kn; 0.5, 1.0, 1.5 for mkn).
    """
    n1, n2, n3, n4 = (sum(1 for v in values if v == r) for r in (1, 2, 3, 4))
    y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else math.nan
    if smoothing == "kn":
        estimates, fallback, limits = [y, y, y], [0.75] * 3, [1, 1, 1]
    else:
        ratio = [n2 / n1 if n1 else math.nan, n3 / n2 if n2 else math.nan, n4 / n3 if n3 else math.nan]
        estimates = [1 - 2 * y * ratio[0], 2 - 3 * y * ratio[1], 3 - 4 * y * ratio[2]]
        fallback, limits = [0.5, 1.0, 1.5], [1, 2, 3]
    ok = [math.isfinite(d) and 0 < d <= lim for d, lim in zip(estimates, limits, strict=True)]
    chosen = tuple(d if good else f for d, f, good in zip(estimates, fallback, ok, strict=True))
    return chosen, sum(ok)


def reference_kn(
    corpus: list[list[int]],
    vocab: int,
    n: int,
    bos: int | None,
    eos: int | None,
    smoothing: str,
    fixed: tuple[float, ...] | None,
    estimated: list[int] | None = None,
) -> Callable[[tuple[int, ...], int], float]:
    """p(w | h) by the interpolated Kneser–Ney recursion, with dictionaries and loops only.

    ``estimated`` (if given) collects, per discount table, how many discounts came from the estimate.
    """
    raw = reference_counts(corpus, n, bos, eos)
    cont: dict[int, Counter[tuple[int, ...]]] = {}
    for m in range(1, n):
        # c'(g) = N₁₊(• g): distinct tokens seen right before the m-gram g.
        cont[m] = Counter({g: len({h[0] for h in raw[m + 1] if h[1:] == g}) for g in raw[m]})

    def discounts(counts: Counter[tuple[int, ...]]) -> tuple[float, ...]:
        if fixed is not None:
            return fixed * 3 if len(fixed) == 1 else fixed
        found, n_estimated = reference_discounts([v for v in counts.values() if v > 0], smoothing)
        if estimated is not None:
            estimated.append(n_estimated)
        return found

    tables = {("raw", m): discounts(raw[m]) for m in range(1, n + 1)}
    tables.update({("cont", m): discounts(cont[m]) for m in range(1, n)})

    def p(w: int, h: tuple[int, ...], top: bool) -> float:
        m = len(h) + 1
        kind = "raw" if top else "cont"
        counts = raw[m] if top else cont[m]
        table = tables[(kind, m)]

        def d(c: int) -> float:
            return 0.0 if c == 0 else table[min(c, 3) - 1]

        lower = 1 / vocab if m == 1 else p(w, h[1:], False)
        followers = {g: c for g, c in counts.items() if g[:-1] == h and c > 0}
        c_h = sum(followers.values())
        if c_h == 0:
            return lower
        c_hw = followers.get((*h, w), 0)
        gamma = sum(d(c) for c in followers.values()) / c_h
        return (c_hw - d(c_hw)) / c_h + gamma * lower

    def prob(context: tuple[int, ...], w: int) -> float:
        ctx = ((bos,) * (n - 1) + context) if bos is not None else context
        h = ctx[len(ctx) - min(len(ctx), n - 1) :]
        return p(w, h, True)

    return prob


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_distribution_sums_to_one_for_every_kind_of_context(smoothing: str, n: int, mode: str) -> None:
    """p(· | h) sums to 1 over all V ids within 1e-9 for seen, unseen, partly seen and start contexts."""
    bos, eos = MODES[mode]
    vocab = 7
    rng = np.random.default_rng(n)
    for seed in (0, 1):
        corpus = random_corpus(seed, vocab)
        lm = NGramLM(NGramConfig(n=n, smoothing=smoothing), vocab, bos_id=bos, eos_id=eos).fit(corpus)
        seen = next(s for s in corpus if len(s) >= 4)
        contexts = [
            [],  # sequence start
            seen[:1],  # short
            seen[:4],  # seen
            [vocab - 1] * 6,  # probably unseen
            [*rng.integers(0, vocab, size=3).tolist(), *seen[:2]],  # partly seen
            rng.integers(0, vocab, size=n + 2).tolist(),  # random, longer than n − 1
        ]
        for context in contexts:
            dist = lm.distribution(context)
            assert dist.shape == (vocab,)
            assert np.all(dist > 0)
            assert abs(dist.sum() - 1.0) < 1e-9, (context, dist.sum())


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_nll_equals_sum_of_per_token_distributions(smoothing: str, mode: str) -> None:
    """The vectorised nll equals −Σ log distribution(prefix)[token] token by token, <eos> included."""
    bos, eos = MODES[mode]
    vocab = 9
    corpus = random_corpus(3, vocab)
    held_out = random_corpus(4, vocab)
    lm = NGramLM(NGramConfig(n=3, smoothing=smoothing), vocab, bos_id=bos, eos_id=eos).fit(corpus)
    expected, count = 0.0, 0
    for seq in held_out:
        targets = seq + ([eos] if eos is not None else [])
        for i, token in enumerate(targets):
            expected -= math.log(lm.distribution(seq[:i])[token])
            count += 1
    total, n_predicted = lm.nll(held_out)
    assert n_predicted == count
    assert total == pytest.approx(expected, rel=1e-12)
    assert lm.perplexity(held_out) == pytest.approx(math.exp(expected / count), rel=1e-12)


def test_uniform_model_has_perplexity_equal_to_vocab_size() -> None:
    """A model that spreads mass evenly has perplexity exactly V (and ≈ V for add-k with a huge k)."""
    vocab = 5
    # Every id once in a stream: add-1 unigram p(w) = (1 + 1) / (5 + 5) = 1/5 for each.
    flat = NGramLM(NGramConfig(n=1, smoothing="add-k", k=1.0), vocab).fit([[0, 1, 2, 3, 4]])
    assert flat.perplexity([[4, 2, 2, 0], [1]]) == pytest.approx(vocab, rel=1e-12)
    huge = NGramLM(NGramConfig(n=3, smoothing="add-k", k=1e12), 11, bos_id=0, eos_id=1)
    huge.fit(random_corpus(0, 11))
    assert huge.perplexity(random_corpus(1, 11)) == pytest.approx(11, rel=1e-9)


def test_add_one_bigram_equals_hand_counts() -> None:
    """Laplace bigram p(w | h) = (c(h w) + 1) / (c(h) + V), checked against counts done by hand."""
    # Padded: <bos> 2 3 <eos> · <bos> 2 2 3 <eos>; bigrams (0,2)×2 (2,3)×2 (3,1)×2 (2,2)×1.
    lm = NGramLM(NGramConfig(n=2, smoothing="add-k", k=1.0), 5, bos_id=0, eos_id=1).fit([[2, 3], [2, 2, 3]])
    assert lm.prob([2], 3) == pytest.approx(3 / 8)  # c(2 3) = 2, c(2) = 3
    assert lm.prob([2], 2) == pytest.approx(2 / 8)
    assert lm.prob([2], 4) == pytest.approx(1 / 8)
    assert lm.prob([], 2) == pytest.approx(3 / 7)  # context <bos>: c(<bos> 2) = 2, c(<bos>) = 2
    assert lm.prob([3], 1) == pytest.approx(3 / 7)
    assert lm.prob([4], 0) == pytest.approx(1 / 5)  # unseen context: uniform
    # The first sequence: p(2|<bos>) p(3|2) p(<eos>|3).
    assert lm.log_prob([2, 3]) == pytest.approx(math.log(3 / 7 * 3 / 8 * 3 / 7))


@pytest.mark.parametrize(
    ("smoothing", "fixed"),
    [("kn", (0.75,)), ("mkn", (0.6, 1.1, 1.4)), ("kn", (1.0,)), ("mkn", (0.3, 0.5, 0.7))],
)
@pytest.mark.parametrize("n", [2, 3])
def test_kneser_ney_matches_bruteforce_on_textbook_corpus(
    n: int, smoothing: str, fixed: tuple[float, ...]
) -> None:
    """KN p(w | h) equals the brute-force recursion for every context of n − 1 ids and every w."""
    vocab = len(WORDS)
    lm = NGramLM(NGramConfig(n=n, smoothing=smoothing, discounts=fixed), vocab, bos_id=0, eos_id=1)
    lm.fit(TEXTBOOK)
    reference = reference_kn(TEXTBOOK, vocab, n, 0, 1, smoothing, fixed)
    contexts = (
        [()]
        + [(a,) for a in range(vocab)]
        + ([(a, b) for a in range(vocab) for b in range(vocab)] if n == 3 else [])
    )
    for context in contexts:
        dist = lm.distribution(list(context))
        expected = np.array([reference(context, w) for w in range(vocab)])
        np.testing.assert_allclose(dist, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("smoothing", ["kn", "mkn"])
def test_kneser_ney_with_estimated_discounts_matches_bruteforce(smoothing: str, mode: str) -> None:
    """With discounts from count-of-counts, p(w | h) equals the brute-force reference (stream starts too)."""
    bos, eos = MODES[mode]
    vocab, n = 40, 3
    rng = np.random.default_rng(7)
    # Zipf-like token frequencies, so that most orders have n-grams seen 1, 2, 3 and 4 times.
    weights = 1 / np.arange(1, vocab - 1)
    corpus = [rng.choice(np.arange(2, vocab), size=60, p=weights / weights.sum()).tolist() for _ in range(5)]
    lm = NGramLM(NGramConfig(n=n, smoothing=smoothing), vocab, bos_id=bos, eos_id=eos).fit(corpus)
    estimated: list[int] = []
    reference = reference_kn(corpus, vocab, n, bos, eos, smoothing, None, estimated)
    seen = [tuple(seq[i : i + 2]) for seq in corpus for i in range(0, 20, 3)]
    contexts = [(), (2,), (vocab - 1,), (vocab - 1, vocab - 2), *seen]
    for context in contexts:
        expected = np.array([reference(context, w) for w in range(vocab)])
        np.testing.assert_allclose(lm.distribution(list(context)), expected, rtol=1e-12, atol=0)
    # The check is only worth something if the estimates (not the fallbacks) were mostly in use.
    assert sum(estimated) >= 0.9 * 3 * len(estimated), estimated


def test_estimate_discounts_follows_chen_goodman() -> None:
    """n₁..n₄ = 4, 2, 1, 1 give Y = 1/2, D₁ = 1/2, D₂ = 5/4, D₃₊ = 1 (mkn) and D = 1/2 (kn), by hand."""
    counts = np.array([1, 1, 1, 1, 2, 2, 3, 4, 7, 0], dtype=np.int64)
    assert estimate_discounts(counts, "mkn") == pytest.approx((0.5, 1.25, 1.0))
    assert estimate_discounts(counts, "kn") == pytest.approx((0.5, 0.5, 0.5))
    # No n-gram seen twice → Y = 1 and D₂ undefined: the valid D₁ = 1 is kept, the others fall back.
    assert estimate_discounts(np.array([1, 1, 5], dtype=np.int64), "mkn") == pytest.approx((1.0, 1.0, 1.5))


@pytest.mark.parametrize("smoothing", ["kn", "mkn", "add-k"])
def test_higher_order_lowers_training_perplexity(smoothing: str) -> None:
    """On structured text, training perplexity falls strictly as n grows from 1 to 5."""
    text = "the cat sat on the mat. the dog sat on the log. a cat and a dog sat on a mat. " * 3
    chars = sorted(set(text))
    ids = [[chars.index(c) + 2 for c in line] for line in text.split(". ") if line]
    vocab = len(chars) + 2
    k = 0.01
    ppl = [
        NGramLM(NGramConfig(n=n, smoothing=smoothing, k=k), vocab, bos_id=0, eos_id=1)
        .fit(ids)
        .perplexity(ids)
        for n in range(1, 6)
    ]
    assert all(a > b for a, b in itertools.pairwise(ppl)), ppl


@pytest.mark.parametrize("mode", list(MODES))
def test_save_load_round_trip(tmp_path: Path, mode: str) -> None:
    """A saved and reloaded model has the same config, ids, discounts and probabilities, bit for bit."""
    bos, eos = MODES[mode]
    corpus = random_corpus(5, 8)
    lm = NGramLM(NGramConfig(n=4, smoothing="mkn"), 8, bos_id=bos, eos_id=eos).fit(corpus)
    path = lm.save(tmp_path / "lm.npz")
    assert not list(tmp_path.glob("*.tmp"))
    back = NGramLM.load(path)
    assert (back.config, back.vocab_size, back.bos_id, back.eos_id) == (lm.config, 8, bos, eos)
    assert back.discounts() == lm.discounts()
    assert back.num_ngrams == lm.num_ngrams
    assert back.fit_seconds == lm.fit_seconds
    held_out = random_corpus(6, 8)
    assert back.nll(held_out) == lm.nll(held_out)
    for context in ([], [3], [2, 5, 7]):
        np.testing.assert_array_equal(back.distribution(context), lm.distribution(context))


def test_config_round_trips_through_json() -> None:
    """NGramConfig → JSON → NGramConfig is the identity; unknown keys are refused with the valid ones."""
    config = NGramConfig(n=5, smoothing="mkn", discounts=(0.5, 1.0, 1.5))
    assert NGramConfig.from_json(config.to_json()) == config
    with pytest.raises(ConfigError, match="valid keys"):
        NGramConfig.from_dict({"n": 2, "order": 3})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "order n"),
        ({"n": 6}, "order n"),
        ({"n": 2.0}, "order n"),
        ({"k": 0.0}, "pseudo-count"),
        ({"k": -1.0}, "pseudo-count"),
        ({"smoothing": "witten-bell"}, "options are"),
        ({"smoothing": "kn", "discounts": (1.5,)}, "D1"),
        ({"smoothing": "mkn", "discounts": (0.5, 1.0)}, "takes 3"),
        ({"smoothing": "mkn", "discounts": (0.5, 1.0, 0.0)}, "D3"),
        ({"smoothing": "add-k", "discounts": (0.5,)}, "apply to"),
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, object], message: str) -> None:
    """Impossible hyper-parameters raise ConfigError naming the field."""
    with pytest.raises(ConfigError, match=message):
        NGramConfig(**kwargs)


def test_bad_data_is_refused() -> None:
    """Empty corpora, out-of-vocabulary ids, text, flat streams and unfitted use give clear errors."""
    lm = NGramLM(NGramConfig(n=2), 5, bos_id=0, eos_id=1)
    with pytest.raises(ConfigError, match="call fit"):
        lm.distribution([2])
    with pytest.raises(DataError, match="empty"):
        NGramLM(NGramConfig(n=2), 5).fit([[], []])
    with pytest.raises(DataError, match="empty"):
        lm.fit([])
    with pytest.raises(DataError, match=r"id 5 at position 1, outside the vocabulary 0…4"):
        lm.fit([[2, 3], [2, 5]])
    with pytest.raises(DataError, match="outside the vocabulary"):
        lm.fit([[2, -1]])
    with pytest.raises(DataError, match="not text"):
        lm.fit("abc")
    with pytest.raises(DataError, match=r"wrap a single stream as \[stream\]"):
        lm.fit(np.array([2, 3, 4]))
    with pytest.raises(DataError, match="integer token ids"):
        lm.fit([[2.0, 3.0]])
    lm.fit([[2, 3]])
    with pytest.raises(DataError, match="outside the vocabulary"):
        lm.distribution([9])
    with pytest.raises(DataError, match="token must be an id"):
        lm.prob([2], 5)
    with pytest.raises(ConfigError, match="bos_id"):
        NGramLM(NGramConfig(), 5, bos_id=5)
    with pytest.raises(ConfigError, match="vocab_size"):
        NGramLM(NGramConfig(), 0)


def test_corrupt_file_is_refused(tmp_path: Path) -> None:
    """Loading something that is not a saved n-gram model raises CheckpointError saying so."""
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match="cannot read an n-gram model"):
        NGramLM.load(bad)
    with pytest.raises(CheckpointError, match="cannot read"):
        NGramLM.load(tmp_path / "missing.npz")


def test_tang_sample_kneser_ney_beats_unigram(shared_dir: Path) -> None:
    """On real poems a KN trigram's held-out perplexity is ≥ 30% below the unigram's, itself below V."""
    path = shared_dir / "data" / "tang" / "sample-2k.txt"
    if not path.is_file():
        pytest.skip("sample-2k.txt is not in ../shared/data/tang")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    train_text, valid_text = lines[:1800], lines[1800:]
    chars = {c: i + 4 for i, c in enumerate(sorted(set("".join(train_text))))}
    vocab = len(chars) + 4

    def encode(text: list[str]) -> list[list[int]]:
        return [[chars.get(c, 1) for c in line] for line in text]

    train, valid = encode(train_text), encode(valid_text)
    ppl = {
        n: NGramLM(NGramConfig(n=n, smoothing="mkn"), vocab, bos_id=2, eos_id=3).fit(train).perplexity(valid)
        for n in (1, 3)
    }
    assert ppl[3] < 0.7 * ppl[1] < vocab
