"""Decoding against brute force on tiny models: greedy, top-k/top-p, seeds, beams, incremental state."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.generate import (
    DecodeBatch,
    DecodeConfig,
    DecodeJob,
    RepetitionPenalty,
    TopK,
    TopP,
    as_stepper,
    beam_search,
    filter_scores,
    pick_tokens,
    sample,
    sampling_processors,
)
from rnnlab.generate.decoding import row_generators
from rnnlab.generate.processors import apply_processors
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig

V = 7


@pytest.fixture
def model() -> RNNLM:
    torch.manual_seed(0)
    lm = RNNLM(RNNLMConfig(vocab_size=V, embed_size=5, hidden_size=8, num_layers=2, dropout=0.0))
    with torch.no_grad():  # sharper distributions make greedy and beams differ visibly
        lm.decoder.weight.mul_(4)
    return lm.eval()


def test_incremental_decoding_equals_recomputing_the_whole_prefix(model: RNNLM) -> None:
    """Carrying the state token by token gives the same logits as one forward over the full sequence."""
    ids = torch.randint(0, V, (9, 2))
    full, _ = model(ids)
    state = None
    for t in range(9):
        step, state = model(ids[t : t + 1], state)
        torch.testing.assert_close(step[0], full[t], atol=1e-6, rtol=1e-6)


def test_greedy_picks_the_argmax_at_every_step(model: RNNLM) -> None:
    """temperature=0 chooses argmax p(x_t | prefix) computed by a full forward at each step."""
    out = sample(model, [1, 2], DecodeConfig(temperature=0, max_new_tokens=6))[0]
    seq = [1, 2]
    for token in out:
        logits, _ = model(torch.tensor(seq).unsqueeze(1))
        assert token == int(logits[-1, 0].argmax())
        seq.append(token)


def test_top_k_one_equals_greedy(model: RNNLM) -> None:
    """Sampling with top_k=1 can only draw the most likely token: it reproduces greedy decoding."""
    greedy = sample(model, [3], DecodeConfig(temperature=0, max_new_tokens=10))
    for seed in range(3):
        assert sample(model, [3], DecodeConfig(top_k=1, max_new_tokens=10, seed=seed)) == greedy


def test_seed_reproduces_and_no_seed_varies(model: RNNLM) -> None:
    """The same seed gives the same samples; without a seed repeated calls differ."""
    config = DecodeConfig(max_new_tokens=20, num_samples=4, seed=123, temperature=1.5)
    assert sample(model, [0], config) == sample(model, [0], config)
    unseeded = DecodeConfig(max_new_tokens=20, num_samples=4, temperature=1.5)
    assert len({str(sample(model, [0], unseeded)) for _ in range(4)}) > 1


def test_stop_ids_end_each_sample_and_are_kept(model: RNNLM) -> None:
    """A continuation ends right after its first stop id; others continue up to max_new_tokens."""
    outs = sample(
        model, [0], DecodeConfig(max_new_tokens=30, num_samples=16, seed=0, temperature=2.0, stop_ids=(4,))
    )
    for out in outs:
        assert 4 not in out[:-1]
        assert out[-1] == 4 or len(out) == 30


def test_prime_changes_the_state_but_not_the_output_text(model: RNNLM) -> None:
    """A prime warms the state up without appearing; it equals prompting with prime+prompt."""
    with_prime = sample(model, [2], DecodeConfig(temperature=0, max_new_tokens=5), prime=[5, 6, 1])
    as_prompt = sample(model, [5, 6, 1, 2], DecodeConfig(temperature=0, max_new_tokens=5))
    assert with_prime == as_prompt


def test_top_p_keeps_the_smallest_nucleus() -> None:
    """top_p keeps the most likely tokens until their mass reaches p, checked by brute force."""
    probs = np.array([[0.5, 0.25, 0.15, 0.1]])
    logits = np.log(probs).astype(np.float32)
    none = np.empty((1, 0), dtype=np.int64)

    def kept(processor: Any) -> list[list[bool]]:
        return np.isfinite(processor(none, logits)).tolist()  # type: ignore[no-any-return]

    assert kept(TopP(0.7)) == [[True, True, False, False]]
    assert kept(TopP(0.75)) == [[True, True, False, False]]
    assert kept(TopP(0.76)) == [[True, True, True, False]]
    assert sum(kept(TopP(0.01))[0]) == 1
    assert sum(kept(TopK(2))[0]) == 2


def test_repetition_penalty_lowers_only_seen_tokens() -> None:
    """CTRL's penalty divides positive and multiplies negative scores of generated tokens by θ."""
    logits = np.array([[2.0, -1.0, 3.0]], dtype=np.float32)
    out = RepetitionPenalty(2.0)(np.array([[0, 1, 0]]), logits)
    assert out.tolist() == [[1.0, -2.0, 3.0]]
    assert logits.tolist() == [[2.0, -1.0, 3.0]], "the input must not change"
    exempt = RepetitionPenalty(2.0, ignore=(1,))(np.array([[0, 1]]), logits)
    assert exempt.tolist() == [[1.0, -1.0, 3.0]]


def test_beam_search_finds_the_most_probable_sequence(model: RNNLM) -> None:
    """With a beam as wide as the search space, the best beam is the brute-force argmax of log p."""
    prompt, length = [1], 3

    def log_prob(continuation: tuple[int, ...]) -> float:
        seq = torch.tensor(prompt + list(continuation)).unsqueeze(1)
        logp = model(seq)[0].detach().log_softmax(-1)[:-1, 0]
        return float(logp.gather(1, seq[1:]).sum())

    best = max(itertools.product(range(V), repeat=length), key=log_prob)
    beams = beam_search(model, prompt, beam_size=V**2, max_new_tokens=length)
    assert tuple(beams[0].ids) == best
    assert beams[0].log_prob == pytest.approx(log_prob(best), abs=1e-5)
    assert (
        beam_search(model, prompt, beam_size=1, max_new_tokens=5)[0].ids
        == sample(model, prompt, DecodeConfig(temperature=0, max_new_tokens=5))[0]
    )


def test_bad_decoding_settings_are_rejected() -> None:
    """Impossible settings raise ConfigError naming the setting and its range."""
    with pytest.raises(ConfigError, match="top_p"):
        TopP(0.0)
    with pytest.raises(ConfigError, match="temperature"):
        DecodeConfig(temperature=-1)
    with pytest.raises(ConfigError, match="num_samples"):
        DecodeConfig(num_samples=0)


def test_jobs_joining_a_running_batch_decode_as_if_alone(model: RNNLM) -> None:
    """Rows of different jobs (own temperature, top-k/p, seed, stop ids) joining and leaving a batch
    at different steps get exactly the tokens each job gets when decoded alone."""
    configs = [
        DecodeConfig(max_new_tokens=12, temperature=1.3, seed=1, num_samples=2),
        DecodeConfig(max_new_tokens=5, temperature=0.0),
        DecodeConfig(max_new_tokens=20, temperature=0.9, top_k=3, seed=2, stop_ids=(4,), num_samples=3),
        DecodeConfig(max_new_tokens=9, temperature=2.0, top_p=0.6, seed=3, repetition_penalty=1.5),
    ]
    prompts = [[1, 2], [3], [0, 5, 6], [2]]
    alone = [sample(model, prompt, config) for prompt, config in zip(prompts, configs, strict=True)]
    jobs = [DecodeJob(prompt, config) for prompt, config in zip(prompts, configs, strict=True)]
    batch = DecodeBatch(model)
    finished: list[DecodeJob] = []
    for step in range(40):
        if step < len(jobs):
            batch.add(jobs[step])  # one more job joins before each of the first steps
        finished += batch.step()
    assert len(batch) == 0 and set(finished) == set(jobs)
    assert [job.outputs() for job in jobs] == alone


def test_per_row_filters_equal_the_same_filters_row_by_row() -> None:
    """filter_scores with one (k, p) per row equals applying each row's own TopK/TopP to that row."""
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((5, 30)).astype(np.float32)
    k = np.array([0, 3, 1, 0, 10])
    p = np.array([1.0, 1.0, 0.5, 0.3, 0.8])
    together = filter_scores(scores, k, p)
    none = np.empty((1, 0), dtype=np.int64)
    for row in range(5):
        chain = sampling_processors(1.0, int(k[row]), float(p[row]))
        expected = apply_processors(chain, none, scores[row : row + 1])
        np.testing.assert_array_equal(together[row : row + 1], expected)


def test_a_row_with_nothing_allowed_is_a_clear_error() -> None:
    """Constraints that exclude every token raise ConfigError instead of drawing garbage."""
    scores = np.full((1, 3), -np.inf, dtype=np.float32)
    with pytest.raises(ConfigError, match="every token is excluded"):
        pick_tokens(scores, np.ones(1), np.zeros(1, dtype=np.int64), np.ones(1), row_generators(0, 1))


def test_torch_stepper_select_and_concat_keep_rows_apart(model: RNNLM) -> None:
    """Stepping concat(states) equals stepping each state alone; select picks and repeats rows."""
    stepper = as_stepper(model)
    _, a = stepper.prefill(np.array([[1], [2]]), None)
    _, b = stepper.prefill(np.array([[3, 4], [5, 6]]), None)
    ids = np.array([0, 1, 2])
    both, _ = stepper.step(ids, stepper.concat([a, b]))
    np.testing.assert_allclose(both[:1], stepper.step(ids[:1], a)[0], atol=1e-6)
    np.testing.assert_allclose(both[1:], stepper.step(ids[1:], b)[0], atol=1e-6)
    picked, _ = stepper.step(np.array([2, 2]), stepper.select(b, np.array([1, 1])))
    np.testing.assert_allclose(picked[0], picked[1], atol=0)
