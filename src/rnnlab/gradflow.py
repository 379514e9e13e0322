"""Gradient-flow diagnostics: ‖∂L_T/∂h_t‖ against the distance T − t, measured in NumPy and in torch.

The NumPy side (``rnnlab.scratch.gradflow``) back-propagates by hand; here the same weights are
loaded into ``torch.nn.RNN/LSTM/GRU`` (and, for the sigmoid RNN, which torch.nn lacks, a short
explicit torch loop), the gradients come from autograd, and the two are compared. The results
become a table, a JSON file and a PNG with one line per cell on a log axis.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from rnnlab.errors import ConfigError
from rnnlab.scratch.gradflow import (
    CELL_NAMES,
    INITS,
    TORCH_DEFAULT_SCALE,
    ProbeConfig,
    last_step_gradient_norms,
    probe_inputs,
    probe_model,
    spectral_radius,
)
from rnnlab.scratch.model import RecurrentLM

TABLE_DISTANCES: tuple[int, ...] = (1, 10, 50, 100)
LABELS = {
    "rnn-tanh": "RNN tanh",
    "rnn-sigmoid": "RNN sigmoid",
    "rnn-relu": "RNN relu",
    "lstm": "LSTM (forget bias {fb:g})",
    "gru": "GRU",
}


@dataclass(frozen=True)
class GradFlowConfig:
    """What ``measure_gradient_flow`` probes; serialises to JSON."""

    cells: tuple[str, ...] = CELL_NAMES  # which cells to probe, from CELL_NAMES
    length: int = 100  # T: steps between the earliest state and the loss
    hidden_size: int = 64  # H
    scale: float = TORCH_DEFAULT_SCALE  # spectral radius of W_hh (≈ PyTorch's default init)
    large_scale: float | None = 2.0  # a second, exploding setting with clipping shown; None to skip it
    clip: float = 1.0  # max global gradient norm used to show the effect of clipping
    samples: int = 32  # random sequences averaged over
    vocab_size: int = 16  # size of the one-hot input and softmax
    init: str = "uniform"  # "uniform" (ρ ≈ scale) or "orthogonal" (ρ = scale)
    forget_bias: float = 1.0  # LSTM forget-gate bias
    seed: int = 0  # seeds weights and inputs

    def __post_init__(self) -> None:
        unknown = [c for c in self.cells if c not in CELL_NAMES]
        if unknown or not self.cells:
            raise ConfigError(f"unknown or no cells {unknown}; options are {list(CELL_NAMES)}")
        if self.init not in INITS:
            raise ConfigError(f"unknown init {self.init!r}; options are {list(INITS)}")
        if self.large_scale is not None and not self.large_scale > 0:
            raise ConfigError(f"large_scale must be > 0 (or None to skip the panel), got {self.large_scale}")
        if not self.clip > 0:
            raise ConfigError(f"clip must be > 0, got {self.clip}")

    def probe_config(self, cell: str, scale: float) -> ProbeConfig:
        """The per-cell probe settings at a given scale."""
        return ProbeConfig(
            cell=cell,
            hidden_size=self.hidden_size,
            length=self.length,
            scale=scale,
            samples=self.samples,
            vocab_size=self.vocab_size,
            init=self.init,
            forget_bias=self.forget_bias,
            seed=self.seed,
        )


@dataclass(frozen=True)
class CellFlow:
    """One cell at one scale: the norms by distance from both implementations."""

    cell: str
    scale: float
    spectral_radius: float  # measured max |λ(W_hh)| (over gate blocks)
    numpy_norms: NDArray[np.float64]  # (T+1,), index = distance T − t
    torch_norms: NDArray[np.float64]  # (T+1,), same, from autograd
    grad_norm: float  # global norm of ∂(mean L_T)/∂θ before clipping

    def max_relative_difference(self) -> float:
        """max_d |numpy − torch| / |torch|: how far the hand-written backward is from autograd."""
        return float(
            np.max(np.abs(self.numpy_norms - self.torch_norms) / np.maximum(np.abs(self.torch_norms), 1e-300))
        )


@dataclass(frozen=True)
class GradFlowReport:
    """All measurements: the main scale, and optionally the large one."""

    config: GradFlowConfig
    main: dict[str, CellFlow]
    large: dict[str, CellFlow] = field(default_factory=dict)


def _torch_params(model: RecurrentLM) -> dict[str, torch.Tensor]:
    """The model's weights as float64 torch tensors."""
    return {name: torch.from_numpy(np.array(value, dtype=np.float64)) for name, value in model.params.items()}


def _torch_module(cell: str, model: RecurrentLM) -> torch.nn.RNNBase | None:
    """torch.nn.RNN/LSTM/GRU holding the model's weights; None for the sigmoid RNN, which torch.nn lacks."""
    v, h = model.vocab_size, model.hidden_size
    module: torch.nn.RNNBase
    if cell == "rnn-sigmoid":
        return None
    if cell.startswith("rnn-"):
        module = torch.nn.RNN(v, h, nonlinearity=cell.removeprefix("rnn-"))
    elif cell == "lstm":
        module = torch.nn.LSTM(v, h)
    else:
        module = torch.nn.GRU(v, h)
    module = module.double()
    params = _torch_params(model)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(params[name])
    return module


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run torch on one thread, then restore the setting.

    The probe is a hundred tiny sequential steps: splitting (N, H) matrices over threads costs more
    in synchronisation than it saves, and on a busy machine it made the probe ten times slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_gradient_norms(
    cell: str, model: RecurrentLM, inputs: NDArray[np.intp], targets: NDArray[np.intp]
) -> NDArray[np.float64]:
    """norms[d] = mean_b ‖∂L_T^(b)/∂h_{T−d}‖ from torch autograd, d = 0 … T (h_0: the initial state).

    The sequence is fed one step at a time so that every h_t is a tensor of its own whose
    gradient autograd can report (the fused multi-step call hides the intermediate states).
    """
    steps, batch = inputs.shape
    x = torch.nn.functional.one_hot(torch.from_numpy(inputs), model.vocab_size).double()  # (T, N, V)
    params = _torch_params(model)
    module = _torch_module(cell, model)
    h = torch.zeros(1, batch, model.hidden_size, dtype=torch.float64, requires_grad=True)
    c = torch.zeros_like(h)
    hs = [h]
    for t in range(steps):
        if module is None:  # σ-RNN: h_t = σ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)
            a = x[t] @ params["weight_ih_l0"].T + params["bias_ih_l0"] + h[0] @ params["weight_hh_l0"].T
            h = torch.sigmoid(a + params["bias_hh_l0"])[None]
        elif isinstance(module, torch.nn.LSTM):
            _, (h, c) = module(x[t : t + 1], (h, c))
        else:
            _, h = module(x[t : t + 1], h)
        h.retain_grad()
        hs.append(h)
    logits = hs[-1][0] @ params["out.weight"].T + params["out.bias"]
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(targets[-1]), reduction="sum")
    loss.backward()
    grads = [state.grad for state in hs]
    if any(g is None for g in grads):  # pragma: no cover - autograd reaches every state by construction
        raise RuntimeError("autograd did not reach every hidden state")
    norms = [grads[steps - d][0].norm(dim=-1).mean().item() for d in range(steps + 1)]
    return np.array(norms, dtype=np.float64)


def _torch_norms_one_thread(
    cell: str, model: RecurrentLM, inputs: NDArray[np.intp], targets: NDArray[np.intp]
) -> NDArray[np.float64]:
    """``torch_gradient_norms`` on a single torch thread."""
    with _one_torch_thread():
        return torch_gradient_norms(cell, model, inputs, targets)


def measure_cell(config: ProbeConfig) -> CellFlow:
    """Probe one cell with both implementations on identical weights and inputs."""
    model = probe_model(config)
    inputs, targets = probe_inputs(config)
    numpy_norms, grad_norm = last_step_gradient_norms(model, inputs, targets)
    return CellFlow(
        cell=config.cell,
        scale=config.scale,
        spectral_radius=spectral_radius(model),
        numpy_norms=numpy_norms,
        torch_norms=_torch_norms_one_thread(config.cell, model, inputs, targets),
        grad_norm=grad_norm,
    )


def measure_gradient_flow(config: GradFlowConfig | None = None) -> GradFlowReport:
    """Probe every configured cell at ``scale`` and, if set, at ``large_scale``."""
    config = config or GradFlowConfig()
    main = {cell: measure_cell(config.probe_config(cell, config.scale)) for cell in config.cells}
    large = {}
    if config.large_scale is not None:
        large = {cell: measure_cell(config.probe_config(cell, config.large_scale)) for cell in config.cells}
    return GradFlowReport(config=config, main=main, large=large)


def norms_by_distance(flows: dict[str, CellFlow]) -> dict[str, dict[str, float]]:
    """{cell: {distance: mean gradient norm}} (NumPy measurement; distances as JSON string keys)."""
    return {cell: {str(d): float(v) for d, v in enumerate(flow.numpy_norms)} for cell, flow in flows.items()}


def write_json(report: GradFlowReport, path: str | Path) -> None:
    """Write the main scale's {cell: {distance: norm}} as JSON."""
    Path(path).write_text(json.dumps(norms_by_distance(report.main), indent=1) + "\n", encoding="utf-8")


def format_table(report: GradFlowReport, distances: Sequence[int] = TABLE_DISTANCES) -> str:
    """A fixed-width table of the norms at the given distances, with ρ(W_hh) and the NumPy/torch agreement."""
    lines = []
    for title, flows in (("scale", report.main), ("large scale", report.large)):
        if not flows:
            continue
        first = next(iter(flows.values()))
        shown = [d for d in distances if d < len(first.numpy_norms)]
        lines.append(
            f"‖∂L_T/∂h_t‖ by distance T−t ({title} {first.scale:.3g}, "
            f"{report.config.init} W_hh, T={report.config.length})"
        )
        header = f"| {'cell':<12} | {'ρ(W_hh)':>7} | " + " | ".join(f"{'d=' + str(d):>9}" for d in shown)
        header += f" | {'‖∇θ‖':>9} | {'numpy vs torch':>14} |"
        lines.append(header)
        lines.append("|" + "-" * (len(header) - 2) + "|")
        for cell, flow in flows.items():
            cells = " | ".join(f"{flow.numpy_norms[d]:9.2e}" for d in shown)
            lines.append(
                f"| {cell:<12} | {flow.spectral_radius:7.3f} | {cells} | {flow.grad_norm:9.2e} | "
                f"{flow.max_relative_difference():14.1e} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _label(cell: str, config: GradFlowConfig) -> str:
    """Legend text for a cell."""
    return LABELS[cell].format(fb=config.forget_bias)


def plot_gradient_flow(report: GradFlowReport, path: str | Path) -> None:
    """Write a PNG: log ‖∂L_T/∂h_t‖ against T − t, one line per cell; a second panel for the large scale."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    config = report.config
    panels = 2 if report.large else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.8), squeeze=False)
    colors = dict(zip(CELL_NAMES, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    for ax, flows, large in ((axes[0, 0], report.main, False), (axes[0, -1], report.large, True)):
        if not flows:
            continue
        for cell, flow in flows.items():
            distance = np.arange(len(flow.numpy_norms))
            ax.semilogy(
                distance,
                flow.numpy_norms,
                color=colors[cell],
                label=f"{_label(cell, config)}, ρ={flow.spectral_radius:.2f}",
            )
            if large and flow.grad_norm > config.clip:
                # Clipping multiplies the whole gradient by clip/‖∇θ‖: the curve moves down, its shape stays.
                ax.semilogy(
                    distance,
                    flow.numpy_norms * config.clip / flow.grad_norm,
                    color=colors[cell],
                    linestyle="--",
                )
        scale = next(iter(flows.values())).scale
        ax.set_xlabel("distance T − t (steps back from the loss)")
        ax.set_ylabel("mean ‖∂L_T / ∂h_t‖ (log scale)")
        ax.set_title(
            f"{config.init} W_hh, scale {scale:.2f}"
            + (f" — dashed: clipped to ‖∇θ‖ ≤ {config.clip:g}" if large else "")
        )
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.suptitle(
        f"Gradient flow through time: ∏ diag(f′)·W_hh over T − t steps "
        f"(H={config.hidden_size}, mean over {config.samples} random sequences)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report_to_dict(report: GradFlowReport) -> dict[str, Any]:
    """Everything in the report, JSON-serialisable (config, both scales, both implementations)."""

    def flows(f: dict[str, CellFlow]) -> dict[str, Any]:
        return {
            cell: {
                "spectral_radius": flow.spectral_radius,
                "grad_norm": flow.grad_norm,
                "numpy": flow.numpy_norms.tolist(),
                "torch": flow.torch_norms.tolist(),
            }
            for cell, flow in f.items()
        }

    return {"config": asdict(report.config), "main": flows(report.main), "large": flows(report.large)}


def with_overrides(config: GradFlowConfig, **changes: Any) -> GradFlowConfig:
    """A copy of the config with some fields replaced (None values are ignored)."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
