"""Generation: decoding (sampling, greedy, beam search, batches that change while they run),
logits processors and poem constraints — written once, in NumPy, for every engine.

A model reaches the decoder as a *stepper* (:mod:`rnnlab.generate.stepper`): the NumPy engine of
:mod:`rnnlab.inference` is one, and any torch language model such as ``RNNLM`` is wrapped into one.
"""

from rnnlab.generate.beam import Beam, BeamJob, beam_search, beam_search_batch
from rnnlab.generate.decoding import (
    DecodeBatch,
    DecodeConfig,
    DecodeJob,
    decode,
    sample,
    warm_up,
)
from rnnlab.generate.poems import (
    FormConstraint,
    PoemForm,
    PoemJob,
    PoemRequest,
    PoemVocab,
    prepare_poems,
    write_poems,
)
from rnnlab.generate.processors import (
    BanTokens,
    LogitsProcessor,
    RepetitionPenalty,
    Temperature,
    TopK,
    TopP,
    filter_scores,
    sampling_processors,
)
from rnnlab.generate.sampling import pick_tokens
from rnnlab.generate.stepper import Stepper, as_stepper

__all__ = [
    "BanTokens",
    "Beam",
    "BeamJob",
    "DecodeBatch",
    "DecodeConfig",
    "DecodeJob",
    "FormConstraint",
    "LogitsProcessor",
    "PoemForm",
    "PoemJob",
    "PoemRequest",
    "PoemVocab",
    "RepetitionPenalty",
    "Stepper",
    "Temperature",
    "TopK",
    "TopP",
    "as_stepper",
    "beam_search",
    "beam_search_batch",
    "decode",
    "filter_scores",
    "pick_tokens",
    "prepare_poems",
    "sample",
    "sampling_processors",
    "warm_up",
    "write_poems",
]
