"""Gradient-flow probes on the NumPy models: how ‖∂L_T/∂h_t‖ shrinks or grows with the distance T − t.

Back-propagating one step multiplies the gradient by the transposed Jacobian of the recurrence;
for the Elman RNN, ∂h_t/∂h_{t−1} = diag(f′(a_t)) W_hh, so

    ∂L_T/∂h_t = ∂L_T/∂h_T · ∏_{m=t+1}^{T} diag(f′(a_m)) W_hh.

With tanh′ ≤ 1 and σ′ ≤ 1/4 the product shrinks unless W_hh is large; with relu (f′ ∈ {0, 1}) and
a large W_hh it grows. The LSTM's cell path multiplies by the forget gate f instead, which stays
near 1 when its bias is positive. The probe measures this on random inputs with the loss at the
last step only, so that every t's gradient is a pure product of T − t Jacobians.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import ConfigError
from rnnlab.scratch.bptt import FullBPTT
from rnnlab.scratch.model import GRU, LSTM, RNN, RecurrentLM, log_softmax
from rnnlab.scratch.optim import global_norm

CELL_NAMES: tuple[str, ...] = ("rnn-tanh", "rnn-sigmoid", "rnn-relu", "lstm", "gru")
INITS: tuple[str, ...] = ("uniform", "orthogonal")
# PyTorch initialises W_hh ~ U(−1/√H, 1/√H): entries of variance 1/(3H), so by the circular law its
# spectral radius is ≈ 1/√3. That is the default scale, so the default picture is the out-of-the-box one.
TORCH_DEFAULT_SCALE = float(1 / np.sqrt(3))


@dataclass(frozen=True)
class ProbeConfig:
    """One gradient-flow measurement: a cell, its size, and how its recurrent weights are drawn."""

    cell: str  # one of CELL_NAMES
    hidden_size: int = 64  # H
    length: int = 100  # T: steps of random input before the loss
    scale: float = TORCH_DEFAULT_SCALE  # spectral radius W_hh is drawn with (each gate block for LSTM/GRU)
    samples: int = 32  # random input sequences the norms are averaged over
    vocab_size: int = 16  # size of the one-hot input and of the softmax
    init: str = (
        "uniform"  # "uniform": U(−a, a) with a = scale·√(3/H), so ρ ≈ scale; "orthogonal": scale·Q, ρ = scale
    )
    forget_bias: float = 1.0  # LSTM forget-gate bias, the usual remedy for vanishing gradients
    seed: int = 0  # seeds weights and inputs

    def __post_init__(self) -> None:
        if self.cell not in CELL_NAMES:
            raise ConfigError(f"unknown cell {self.cell!r}; options are {list(CELL_NAMES)}")
        if self.init not in INITS:
            raise ConfigError(f"unknown init {self.init!r}; options are {list(INITS)}")
        for name in ("hidden_size", "length", "samples", "vocab_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if not self.scale > 0:
            raise ConfigError(f"scale must be > 0, got {self.scale}")

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return asdict(self)


@dataclass(frozen=True)
class ProbeResult:
    """What a probe measured."""

    norms: NDArray[np.float64]  # (T+1,): norms[d] = mean over samples of ‖∂L_T/∂h_{T−d}‖, d = 0 … T
    spectral_radius: float  # largest |eigenvalue| of W_hh (over gate blocks for LSTM/GRU)
    grad_norm: float  # global norm of ∂(mean_b L_T)/∂θ, the quantity gradient clipping looks at


def _orthogonal(rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """A random orthogonal matrix, Haar-distributed: Q from the QR of a Gaussian, signs fixed by diag(R)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def probe_model(config: ProbeConfig) -> RecurrentLM:
    """A one-layer float64 model with W_hh drawn per ``config``; LSTM forget bias set, other biases zero."""
    rng = np.random.default_rng(config.seed)
    h, v = config.hidden_size, config.vocab_size
    model: RecurrentLM
    if config.cell.startswith("rnn-"):
        model = RNN(v, h, nonlinearity=config.cell.removeprefix("rnn-"), seed=config.seed)
    elif config.cell == "lstm":
        model = LSTM(v, h, seed=config.seed)
    else:
        model = GRU(v, h, seed=config.seed)
    blocks = []
    for _ in range(model.gates):
        if config.init == "orthogonal":
            blocks.append(config.scale * _orthogonal(rng, h))
        else:
            # Entries of variance scale²/H: by the circular law the eigenvalues fill a disc of radius
            # ≈ scale. Uniform rather than Gaussian so that the default scale is PyTorch's own init.
            bound = config.scale * np.sqrt(3.0 / h)
            blocks.append(rng.uniform(-bound, bound, size=(h, h)))
    state = model.state_dict()
    state["weight_hh_l0"] = np.concatenate(blocks, axis=0)
    # Zero biases, so that what the plot shows comes from the weights and the nonlinearity alone.
    state["bias_ih_l0"] = np.zeros_like(state["bias_ih_l0"])
    state["bias_hh_l0"] = np.zeros_like(state["bias_hh_l0"])
    if config.cell == "lstm":
        state["bias_ih_l0"][h : 2 * h] = config.forget_bias  # gate order i, f, g, o
    model.load_state_dict(state)
    return model


def probe_inputs(config: ProbeConfig) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Random token ids (T, N) and random targets (T, N); only the last step's target is used."""
    rng = np.random.default_rng(config.seed + 1)  # +1: not the stream the weights came from
    shape = (config.length, config.samples)
    return rng.integers(0, config.vocab_size, shape), rng.integers(0, config.vocab_size, shape)


def spectral_radius(model: RecurrentLM, layer: int = 0) -> float:
    """max |λ| of W_hh, or of each gate block of W_hh for gated cells (the largest is returned)."""
    w = model.params[f"weight_hh_l{layer}"]
    return max(float(np.abs(np.linalg.eigvals(block)).max()) for block in np.split(w, model.gates, axis=0))


def last_step_gradient_norms(
    model: RecurrentLM, inputs: NDArray[np.intp], targets: NDArray[np.intp]
) -> tuple[NDArray[np.float64], float]:
    """norms[d] = mean_b ‖∂L_T^(b)/∂h_{T−d}^(b)‖ for d = 0 … T, and the global norm of ∂(mean_b L_T)/∂θ.

    L_T^(b) is the cross-entropy of sample b at the last step only. Each sample's loss is
    back-propagated with weight 1 (not 1/N), so its gradient with respect to its own h_t is
    exactly ∂L_T^(b)/∂h_t^(b); h_0 (distance T) is the initial state.
    """
    fp = model.run_forward(inputs)
    batch = inputs.shape[1]
    logp = log_softmax(fp.logits[-1])
    dlogits = np.zeros_like(fp.logits)
    dlogits[-1] = np.exp(logp)
    dlogits[-1, np.arange(batch), targets[-1]] -= 1.0
    back = model.run_backward(fp, dlogits, FullBPTT())
    dh0 = back.dstate0 if isinstance(back.dstate0, np.ndarray) else back.dstate0[0]
    per_step = np.concatenate([back.dh_top[::-1], dh0[-1:]], axis=0)  # index = distance T − t
    norms = np.linalg.norm(per_step, axis=-1).mean(axis=1)
    grad_norm = global_norm(back.grads) / batch  # the gradient of the mean is the sum over N divided by N
    return norms.astype(np.float64), grad_norm


def probe(config: ProbeConfig) -> ProbeResult:
    """Build the model and inputs for ``config`` and measure the gradient flow."""
    model = probe_model(config)
    inputs, targets = probe_inputs(config)
    norms, grad_norm = last_step_gradient_norms(model, inputs, targets)
    return ProbeResult(norms=norms, spectral_radius=spectral_radius(model), grad_norm=grad_norm)
