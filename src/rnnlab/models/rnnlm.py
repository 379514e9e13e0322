"""``RNNLM``: a recurrent language model, p(x_{t+1} | x_1 … x_t).

    ids (T, B) ─ embedding or one-hot ─▶ (T, B, E) ─ RNN/LSTM/GRU ─▶ (T, B, H) ─ dropout
        ─▶ [projection H→E when tied and H ≠ E] ─ linear ─▶ logits (T, B, V)

Weight tying (Press & Wolf 2017; Inan et al. 2017) shares the embedding matrix with the
output layer, which needs the last hidden size to equal the embedding size: when they
differ a linear projection H → E is inserted.

A language model may only see the past. A bidirectional layer would read x_{t+1} while
predicting it, drive the training loss towards zero and generate nonsense, so the config
refuses it.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from rnnlab.dropout import Dropout
from rnnlab.errors import ConfigError
from rnnlab.layers import RecurrentLayer, State
from rnnlab.models.configs import INPUTS, RNNLMConfig
from rnnlab.models.inputs import check_ids, make_input_layer

__all__ = ["INPUTS", "RNNLM", "RNNLMConfig"]


class RNNLM(nn.Module):
    """Embedding/one-hot → recurrent layer → dropout → linear; see the module docstring."""

    def __init__(self, config: RNNLMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding, _ = make_input_layer(
            "embedding" if config.input == "embedding" else "onehot", config.vocab_size, config.embed_size
        )
        self.rnn = RecurrentLayer.from_config(config.recurrent_config())
        self.drop = Dropout(config.dropout)
        out_features = config.hidden_size
        self.projection: nn.Module | None = None
        if config.tie_weights and config.hidden_size != config.embed_size:
            self.projection = nn.Linear(config.hidden_size, config.embed_size, bias=False)
            out_features = config.embed_size
        self.decoder = nn.Linear(out_features, config.vocab_size)
        if config.tie_weights:
            assert isinstance(self.embedding, nn.Embedding)
            self.decoder.weight = self.embedding.weight

    @classmethod
    def from_config(cls, config: RNNLMConfig | dict[str, Any]) -> RNNLM:
        return cls(config if isinstance(config, RNNLMConfig) else RNNLMConfig.from_dict(config))

    def init_state(self, batch_size: int) -> State:
        """The zero state for ``batch_size`` streams."""
        return self.rnn.zero_state(batch_size)

    def forward(self, ids: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """ids (T, B) int64 → logits (T, B, V) and the final state (time-major, as torch.nn)."""
        features, state = self.features(ids, state)
        return self.decoder(features), state

    def features(self, ids: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """ids (T, B) → what the output layer reads (T, B, H or E), and the final state.

        ``forward`` is ``decoder(features)``; a loss that fuses the output layer with the softmax
        (:func:`rnnlab.models.cross_entropy.linear_cross_entropy`) starts from here.
        """
        if ids.dim() != 2:
            raise ConfigError(f"RNNLM expects token ids of shape (T, B), got {tuple(ids.shape)}")
        check_ids(ids, self.config.vocab_size)
        x = self.drop(self.embedding(ids))
        out, state = self.rnn(x, state)
        assert isinstance(out, Tensor)
        out = self.drop(out)
        if self.projection is not None:
            out = self.projection(out)
        return out, state

    def num_parameters(self) -> int:
        """Trainable parameters, counting a tied matrix once."""
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())
