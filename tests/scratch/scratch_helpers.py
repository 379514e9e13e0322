"""Shared builders for the scratch tests: tiny models, fixed data, and torch.nn twins of a model."""

from __future__ import annotations

import numpy as np
import torch

from rnnlab.scratch import GRU, LSTM, RNN, RecurrentLM

# Every cell the scratch package implements, by the names the gradient-flow tools use.
CELLS = ("rnn-tanh", "rnn-sigmoid", "rnn-relu", "lstm", "gru")


def make_model(
    cell: str, vocab: int = 4, hidden: int = 3, layers: int = 1, seed: int = 0, **kw: object
) -> RecurrentLM:
    """A small model of the named cell; weights are a bit larger than the default so every path matters."""
    model: RecurrentLM
    if cell.startswith("rnn-"):
        model = RNN(vocab, hidden, layers, nonlinearity=cell.removeprefix("rnn-"), seed=seed, **kw)
    elif cell == "lstm":
        model = LSTM(vocab, hidden, layers, seed=seed, **kw)
    else:
        model = GRU(vocab, hidden, layers, seed=seed, **kw)
    # Scale the default U(−1/√H, 1/√H) weights up so that gradients from far steps are not negligible
    # (otherwise a truncation bug could hide below the tolerance).
    state = {name: 2.0 * value for name, value in model.state_dict().items()}
    model.load_state_dict(state)
    return model


def tokens(steps: int, batch: int, vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (inputs, targets) of shape (T, B)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab, (steps, batch)), rng.integers(0, vocab, (steps, batch))


class TorchSigmoidRNN(torch.nn.Module):
    """h_t = σ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), stacked; torch.nn.RNN has no sigmoid option."""

    def __init__(self, input_size: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.layers = layers
        for k in range(layers):
            fan_in = input_size if k == 0 else hidden
            self.register_parameter(f"weight_ih_l{k}", torch.nn.Parameter(torch.zeros(hidden, fan_in)))
            self.register_parameter(f"weight_hh_l{k}", torch.nn.Parameter(torch.zeros(hidden, hidden)))
            self.register_parameter(f"bias_ih_l{k}", torch.nn.Parameter(torch.zeros(hidden)))
            self.register_parameter(f"bias_hh_l{k}", torch.nn.Parameter(torch.zeros(hidden)))

    def forward(self, x: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (T, B, I), h0 (L, B, H) → outputs (T, B, H), h_n (L, B, H)."""
        h = list(h0)
        outs = []
        for t in range(x.shape[0]):
            inp = x[t]
            for k in range(self.layers):
                p = dict(self.named_parameters())
                a = (
                    inp @ p[f"weight_ih_l{k}"].T
                    + p[f"bias_ih_l{k}"]
                    + h[k] @ p[f"weight_hh_l{k}"].T
                    + p[f"bias_hh_l{k}"]
                )
                h[k] = torch.sigmoid(a)
                inp = h[k]
            outs.append(inp)
        return torch.stack(outs), torch.stack(h)


def torch_twin(cell: str, model: RecurrentLM) -> tuple[torch.nn.Module, torch.nn.Linear]:
    """torch.nn.RNN/LSTM/GRU (or the σ-RNN loop) + torch.nn.Linear, float64, holding the model's weights."""
    v, h, layers = model.vocab_size, model.hidden_size, model.num_layers
    rnn: torch.nn.Module
    if cell == "rnn-sigmoid":
        rnn = TorchSigmoidRNN(v, h, layers)
    elif cell.startswith("rnn-"):
        rnn = torch.nn.RNN(v, h, layers, nonlinearity=cell.removeprefix("rnn-"))
    elif cell == "lstm":
        rnn = torch.nn.LSTM(v, h, layers)
    else:
        rnn = torch.nn.GRU(v, h, layers)
    rnn = rnn.double()
    out = torch.nn.Linear(h, v).double()
    state = model.state_dict()
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(state[name]))
        out.weight.copy_(torch.from_numpy(state["out.weight"]))
        out.bias.copy_(torch.from_numpy(state["out.bias"]))
    return rnn, out


def torch_grads(rnn: torch.nn.Module, out: torch.nn.Linear) -> dict[str, np.ndarray]:
    """The .grad of every parameter, under the scratch model's names."""
    grads = {name: p.grad.numpy().copy() for name, p in rnn.named_parameters()}
    grads["out.weight"] = out.weight.grad.numpy().copy()
    grads["out.bias"] = out.bias.grad.numpy().copy()
    return grads
