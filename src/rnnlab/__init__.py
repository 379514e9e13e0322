"""rnnlab: recurrent neural networks you can read, check and use.

The recurrent core is importable from the top level::

    from rnnlab import LSTM
    layer = LSTM(128, 256, num_layers=2)        # torch.nn.LSTM's signature and weights
"""

from __future__ import annotations

from rnnlab.cells import GRUCell, LSTMCell, RNNCell, gru_cell, lstm_cell, rnn_cell
from rnnlab.layers import GRU, LSTM, RNN, RecurrentConfig, RecurrentLayer, detach_state

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "GRUCell",
    "LSTMCell",
    "RNNCell",
    "RecurrentConfig",
    "RecurrentLayer",
    "__version__",
    "detach_state",
    "gru_cell",
    "lstm_cell",
    "rnn_cell",
]
