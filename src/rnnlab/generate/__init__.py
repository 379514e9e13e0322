"""Generation: incremental decoding (sampling, greedy, beam search) and logits processors."""

from rnnlab.generate.decoding import Beam, DecodeConfig, beam_search, sample, warm_up
from rnnlab.generate.processors import (
    BanTokens,
    LogitsProcessor,
    RepetitionPenalty,
    Temperature,
    TopK,
    TopP,
    sampling_processors,
)

__all__ = [
    "BanTokens",
    "Beam",
    "DecodeConfig",
    "LogitsProcessor",
    "RepetitionPenalty",
    "Temperature",
    "TopK",
    "TopP",
    "beam_search",
    "sample",
    "sampling_processors",
    "warm_up",
]
