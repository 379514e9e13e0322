"""Decoding many sources: batched equals one at a time, and beam search of width 1 is greedy decoding."""

from __future__ import annotations

import pytest
import torch

from rnnlab.generate.decoding import DecodeConfig
from rnnlab.generate.seq2seq import translate
from rnnlab.inference.seq2seq_torch import Seq2SeqStepper
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig

V, BOS, EOS = 17, 1, 2
SOURCES = [[4, 5, 6], [7, 8, 9, 10, 11], [12], [13, 14, 15, 16]]


@pytest.fixture(scope="module")
def stepper() -> Seq2SeqStepper:
    torch.manual_seed(3)
    config = Seq2SeqConfig(
        vocab_size=V, embed_size=8, encoder_hidden_size=6, hidden_size=12, attention="general"
    )
    model = Seq2Seq(config).eval()
    with torch.no_grad():  # make <eos> unlikely, so outputs run for several steps
        model.output.bias[EOS] -= 2.0
    return Seq2SeqStepper(model)


@pytest.mark.parametrize(
    ("config", "beam"),
    [
        (DecodeConfig(temperature=0.0), 0),
        (DecodeConfig(temperature=1.0, top_p=0.9, num_samples=3, seed=5), 0),
        (DecodeConfig(num_samples=2), 3),
    ],
)
def test_batched_decoding_equals_one_at_a_time(
    stepper: Seq2SeqStepper, config: DecodeConfig, beam: int
) -> None:
    """Every source gets the same outputs whether decoded in one batch, in batches of 3, or alone."""
    kwargs = {"bos_id": BOS, "eos_id": EOS, "max_new_tokens": 8, "config": config, "beam": beam}
    together = translate(stepper, SOURCES, **kwargs)  # type: ignore[arg-type]
    in_threes = translate(stepper, SOURCES, batch=3, **kwargs)  # type: ignore[arg-type]
    alone = [translate(stepper, [s], **kwargs)[0] for s in SOURCES]  # type: ignore[arg-type]
    assert together == alone == in_threes
    assert all(len(outs) == config.num_samples for outs in together)


def test_beam_of_one_is_greedy(stepper: Seq2SeqStepper) -> None:
    """Beam search with one beam picks the argmax at every step, as greedy decoding does."""
    kwargs = {"bos_id": BOS, "eos_id": EOS, "max_new_tokens": [4, 9, 2, 6]}
    greedy = translate(stepper, SOURCES, config=DecodeConfig(temperature=0.0), **kwargs)  # type: ignore[arg-type]
    beam = translate(stepper, SOURCES, beam=1, **kwargs)  # type: ignore[arg-type]
    assert greedy == beam
    assert [len(o[0]) <= n for o, n in zip(greedy, [4, 9, 2, 6], strict=True)]


def test_wider_beams_find_outputs_at_least_as_probable(stepper: Seq2SeqStepper) -> None:
    """The best of 4 beams never has a lower total log-probability than the greedy output."""
    from rnnlab.generate.beam import BeamJob, beam_search_batch

    for source in SOURCES:
        state = stepper.encode([source])
        greedy = beam_search_batch(stepper, [BeamJob([BOS], 1, 6, (EOS,), 0.0, (), state)])[0][0]
        wide = beam_search_batch(stepper, [BeamJob([BOS], 4, 6, (EOS,), 0.0, (), state)])[0][0]
        assert wide.log_prob >= greedy.log_prob - 1e-5  # float32 rows batched differently


def test_mismatched_limits_are_refused(stepper: Seq2SeqStepper) -> None:
    """One length limit per source, and no more outputs than beams."""
    from rnnlab.errors import ConfigError

    with pytest.raises(ConfigError, match="one per source"):
        translate(stepper, SOURCES, bos_id=BOS, eos_id=EOS, max_new_tokens=[3, 4])
    with pytest.raises(ConfigError, match="at most 2"):
        translate(
            stepper,
            SOURCES,
            bos_id=BOS,
            eos_id=EOS,
            max_new_tokens=3,
            beam=2,
            config=DecodeConfig(num_samples=3),
        )
