"""Batched beam search over a language model: jobs are independent, width 1 is greedy, stopping is safe."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.generate.beam import BeamJob, beam_search, beam_search_batch
from rnnlab.generate.decoding import DecodeConfig, sample
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig

V = 9


@pytest.fixture(scope="module")
def model() -> RNNLM:
    torch.manual_seed(2)
    return RNNLM(RNNLMConfig(vocab_size=V, embed_size=6, hidden_size=10, num_layers=1, dropout=0.0)).eval()


def test_jobs_in_one_batch_equal_jobs_alone(model: RNNLM) -> None:
    """Each job's beams are the same searched beside other jobs (of other lengths and widths) or alone."""
    jobs = lambda: [  # noqa: E731 - fresh jobs each time: a job records its search
        BeamJob([1, 2], 3, 5, (0,), 0.7),
        BeamJob([3], 2, 4, (0,)),
        BeamJob([4, 5, 6], 4, 6, (0,), 1.0),
    ]
    together = beam_search_batch(model, jobs())
    alone = [beam_search_batch(model, [job])[0] for job in jobs()]
    assert [[b.ids for b in r] for r in together] == [[b.ids for b in r] for r in alone]
    for a, b in zip(together, alone, strict=True):  # a batch's products round differently in the last bits
        np.testing.assert_allclose([x.log_prob for x in a], [x.log_prob for x in b], rtol=1e-6)


def test_width_one_is_greedy(model: RNNLM) -> None:
    """One beam follows the argmax, as greedy sampling does (stopping at the stop id)."""
    beams = beam_search(model, [1, 2], beam_size=1, max_new_tokens=7, stop_ids=(0,))
    greedy = sample(model, [1, 2], DecodeConfig(temperature=0.0, max_new_tokens=7, stop_ids=(0,)))[0]
    assert beams[0].ids == greedy


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_early_stopping_returns_the_exhaustive_best(model: RNNLM, alpha: float) -> None:
    """Stopping once no running beam can win returns what searching to the length limit returns."""
    from rnnlab.generate import beam as beam_module

    full = BeamJob([1], 3, 6, (0,), alpha)
    full.can_improve = lambda: bool(full.running)  # type: ignore[method-assign] - never stop early
    exhaustive = beam_module.beam_search_batch(model, [full])[0]
    early = beam_search(model, [1], beam_size=3, max_new_tokens=6, stop_ids=(0,), length_penalty=alpha)
    assert [b.ids for b in early] == [b.ids for b in exhaustive]
    scores = [b.score(alpha) for b in early]
    assert scores == sorted(scores, reverse=True)
    assert np.isfinite(scores).all()
