"""Decoding against brute force on tiny models: greedy, top-k/top-p, seeds, beams, incremental state."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.generate import DecodeConfig, RepetitionPenalty, TopK, TopP, beam_search, sample
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
    probs = torch.tensor([[0.5, 0.25, 0.15, 0.1]])
    logits = probs.log()
    kept = torch.isfinite(TopP(0.7)(torch.empty(1, 0, dtype=torch.long), logits))
    assert kept.tolist() == [[True, True, False, False]]
    kept = torch.isfinite(TopP(0.75)(torch.empty(1, 0, dtype=torch.long), logits))
    assert kept.tolist() == [[True, True, False, False]]
    kept = torch.isfinite(TopP(0.76)(torch.empty(1, 0, dtype=torch.long), logits))
    assert kept.tolist() == [[True, True, True, False]]
    assert torch.isfinite(TopP(0.01)(torch.empty(1, 0, dtype=torch.long), logits)).sum() == 1
    assert torch.isfinite(TopK(2)(torch.empty(1, 0, dtype=torch.long), logits)).sum() == 2


def test_repetition_penalty_lowers_only_seen_tokens() -> None:
    """CTRL's penalty divides positive and multiplies negative scores of generated tokens by θ."""
    logits = torch.tensor([[2.0, -1.0, 3.0]])
    out = RepetitionPenalty(2.0)(torch.tensor([[0, 1]]), logits)
    assert out.tolist() == [[1.0, -2.0, 3.0]]


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
