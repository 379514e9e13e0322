"""rnnlab: recurrent neural networks you can read, check and use.

The recurrent core is importable from the top level::

    from rnnlab import LSTM
    layer = LSTM(128, 256, num_layers=2)        # torch.nn.LSTM's signature and weights

The names below load on first use (PEP 562), so ``import rnnlab.scratch`` — the NumPy-only
reference — never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnlab.lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "RNNCell": "rnnlab.cells",
    "LSTMCell": "rnnlab.cells",
    "GRUCell": "rnnlab.cells",
    "rnn_cell": "rnnlab.cells",
    "lstm_cell": "rnnlab.cells",
    "gru_cell": "rnnlab.cells",
    "RNN": "rnnlab.layers",
    "LSTM": "rnnlab.layers",
    "GRU": "rnnlab.layers",
    "RecurrentConfig": "rnnlab.layers",
    "RecurrentLayer": "rnnlab.layers",
    "detach_state": "rnnlab.layers",
}

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

if TYPE_CHECKING:
    from rnnlab.cells import GRUCell, LSTMCell, RNNCell, gru_cell, lstm_cell, rnn_cell
    from rnnlab.layers import GRU, LSTM, RNN, RecurrentConfig, RecurrentLayer, detach_state

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
