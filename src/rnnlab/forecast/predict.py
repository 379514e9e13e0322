"""Warm-up, one-step, recursive k-step, sampled and direct prediction, in model space.

A series is given as its input matrix X (N, C) (:mod:`rnnlab.forecast.encoding`; a plain (N,)
array is a univariate series). An *origin* t means "X_0 … X_t are known". Every prediction from
an origin starts from the state the model reaches by reading the true rows X_0 … X_t (the
warm-up: the whole past, as the validation loss measured it); then

* one-step:  ẑ_{t+1|t} — the model's next output, always after true observations;
* k-step:    ẑ_{t+1|t}, ẑ_{t+2|t}, … — each prediction of the D predicted channels (target and
  past covariates) is fed back as the next input's first D columns; the other columns (future
  covariates, series index) are known ahead and read from X (the recursive strategy);
* sampled:   the same recursion with a *draw* from the predictive distribution fed back instead
  of its centre: K draws per origin give K paths from the joint distribution of the forecast
  (ancestral sampling, as DeepAR forecasts);
* direct:    ẑ_{t+1 … t+H|t} (or their distributions) read at once from a multi-output head.

Nothing here looks past the origin for the target or the past covariates: ``states_at`` reads X
one step at a time and keeps the state of each origin, and the recursion overwrites those
columns of the later rows with predictions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from rnnlab.errors import ShapeError
from rnnlab.models import likelihoods
from rnnlab.models.forecasters import Forecaster, ForecastState, cat_states, repeat_state


def _inputs(x: np.ndarray | Tensor, model: Forecaster) -> Tensor:
    t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if t.dim() == 1:
        t = t[:, None]
    if t.dim() != 2:
        raise ShapeError(f"predictions read one series as (N,) or (N, C) inputs, got {tuple(t.shape)}")
    return t.to(next(model.parameters()).device)


def _origins(origins: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    o = np.asarray(origins, dtype=np.int64)
    if o.ndim != 1 or len(o) == 0:
        raise ShapeError(f"origins must be a non-empty 1-D list of time indices, got shape {o.shape}")
    if o.min() < 0 or o.max() >= n:
        raise ShapeError(
            f"origins must lie in [0, {n}) (the known part of the series), got {o.min()}…{o.max()}"
        )
    return o


@torch.no_grad()
def one_step(model: Forecaster, x: np.ndarray | Tensor) -> np.ndarray:
    """ẑ_{t+1|t} for every t (N,), from one forward pass over the true series (warmed from X_0).

    The first predictions of the MLP see zero padding (t < τ − 1): drop them as warm-up.
    """
    model.eval()
    theta, _ = model(_inputs(x, model)[:, None, :], None)  # (N, 1, H, D, S)
    return theta[:, 0, 0, 0, 0].cpu().numpy().astype(np.float64)


@torch.no_grad()
def states_at(
    model: Forecaster, x: np.ndarray | Tensor, origins: Sequence[int] | np.ndarray
) -> tuple[ForecastState, Tensor]:
    """(state, θ) at each origin: the state after reading X_0 … X_t, and its output θ (B, H, D, S).

    Reads the series step by step, so the state kept for origin t is computed from X_{≤t} alone.
    """
    model.eval()
    inputs = _inputs(x, model)
    o = _origins(origins, len(inputs))
    wanted = set(o.tolist())
    kept: dict[int, tuple[ForecastState, Tensor]] = {}
    state: ForecastState | None = None
    for t in range(int(o.max()) + 1):
        out, state = model(inputs[t : t + 1, None, :], state)
        if t in wanted:
            kept[t] = (state, out[0])
    return cat_states([kept[int(t)][0] for t in o]), torch.cat([kept[int(t)][1] for t in o], dim=0)


def _recurse(
    model: Forecaster, inputs: Tensor, origins: np.ndarray, state: ForecastState, theta: Tensor, k: int,
    copies: int, draw: bool,
) -> Tensor:  # fmt: skip
    """(B·copies, k) target values of k steps, each step's D predicted values fed back in."""
    channels = model.config.channels
    rows = torch.as_tensor(origins, device=inputs.device).repeat_interleave(copies)
    likelihood = model.config.likelihood if draw else "point"
    values = likelihoods.sample(likelihood, theta[:, 0])  # (B·copies, D): the step t+1 values
    preds = [values[:, 0]]
    for j in range(1, k):
        step = inputs[torch.clamp(rows + j, max=len(inputs) - 1)].clone()  # known-ahead columns of X_{t+j}
        step[:, :channels] = values.to(step.dtype)
        out, state = model(step[None], state)
        values = likelihoods.sample(likelihood, out[0, :, 0])
        preds.append(values[:, 0])
    return torch.stack(preds, dim=1)


@torch.no_grad()
def k_step(
    model: Forecaster, x: np.ndarray | Tensor, origins: Sequence[int] | np.ndarray, k: int
) -> np.ndarray:
    """Recursive forecasts (B, k): ẑ_{t+j|t} for j = 1 … k, feeding each prediction (μ) back in."""
    if k < 1:
        raise ShapeError(f"k must be ≥ 1, got {k}")
    inputs = _inputs(x, model)
    o = _origins(origins, len(inputs))
    state, theta = states_at(model, inputs, o)
    paths = _recurse(model, inputs, o, state, theta, k, 1, draw=False)
    return paths.cpu().numpy().astype(np.float64)


@torch.no_grad()
def sample_paths(
    model: Forecaster,
    x: np.ndarray | Tensor,
    origins: Sequence[int] | np.ndarray,
    k: int,
    samples: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """K sampled forecast paths per origin (B, K, k) by ancestral sampling from a distribution head.

    Each path draws v_{t+1} ~ p(· | θ_t), feeds the draw back as the next input, draws v_{t+2}, …
    so the paths follow the model's joint distribution of the next k values (errors compound as
    they would). Seeded from ``seed`` without disturbing the global RNG.
    """
    if k < 1 or samples < 1:
        raise ShapeError(f"k and samples must be ≥ 1, got k={k}, samples={samples}")
    inputs = _inputs(x, model)
    o = _origins(origins, len(inputs))
    state, theta = states_at(model, inputs, o)
    devices = [inputs.device.index or 0] if inputs.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        state, theta = repeat_state(state, samples), theta.repeat_interleave(samples, dim=0)
        paths = _recurse(model, inputs, o, state, theta, k, samples, draw=True)
    return paths.reshape(len(o), samples, k).cpu().numpy().astype(np.float64)


@torch.no_grad()
def direct_parameters(
    model: Forecaster, x: np.ndarray | Tensor, origins: Sequence[int] | np.ndarray
) -> np.ndarray:
    """θ of the target at each of the H steps ahead (B, H, S), read at once from the head."""
    _, theta = states_at(model, x, origins)
    return theta[:, :, 0, :].cpu().numpy().astype(np.float64)


def direct(model: Forecaster, x: np.ndarray | Tensor, origins: Sequence[int] | np.ndarray) -> np.ndarray:
    """Direct multi-output forecasts (B, H): ẑ_{t+1 … t+H|t} (the centre μ of each step's θ)."""
    return direct_parameters(model, x, origins)[..., 0]


def direct_samples(theta: np.ndarray, likelihood: str, samples: int, seed: int = 0) -> np.ndarray:
    """(B, K, H) draws from each step's own distribution θ (B, H, S) — the direct head's marginals."""
    t = torch.as_tensor(theta, dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        draws = likelihoods.sample(likelihood, t[:, None].expand(-1, samples, -1, -1))
    return draws.numpy()
