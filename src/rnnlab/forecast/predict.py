"""Warm-up, one-step, recursive k-step and direct prediction, in model space (normalised z).

An *origin* t means "z_0 … z_t are known". Every prediction from an origin starts from the state
the model reaches by reading the true observations z_0 … z_t (the warm-up: the whole past, as
the validation loss measured it); then

* one-step:  ẑ_{t+1|t} — the model's next output, always after true observations;
* k-step:    ẑ_{t+1|t}, ẑ_{t+2|t}, … — each prediction is fed back as the next input, so errors
  compound with k (the recursive strategy);
* direct:    ẑ_{t+1 … t+H|t} read at once from a multi-output head (no feedback).

Nothing here looks past the origin: ``states_at`` reads z one step at a time and keeps the
state of each origin, so a value after t can never reach a prediction made at t.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from rnnlab.errors import ShapeError
from rnnlab.layers import State
from rnnlab.models.forecasters import Forecaster


def _series(z: np.ndarray | Tensor, model: Forecaster) -> Tensor:
    t = torch.as_tensor(np.asarray(z, dtype=np.float32))
    if t.dim() != 1:
        raise ShapeError(f"predictions read one series of shape (N,), got {tuple(t.shape)}")
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


def _cat_states(states: list[State]) -> State:
    """Stack single-column states along the batch axis (dim 1, as the layers keep it)."""
    first = states[0]
    if isinstance(first, tuple):
        pairs = [s for s in states if isinstance(s, tuple)]
        return (torch.cat([s[0] for s in pairs], dim=1), torch.cat([s[1] for s in pairs], dim=1))
    return torch.cat([s for s in states if isinstance(s, Tensor)], dim=1)


@torch.no_grad()
def one_step(model: Forecaster, z: np.ndarray | Tensor) -> np.ndarray:
    """ẑ_{t+1|t} for every t (N,), from one forward pass over the true series (warmed from z_0).

    The first predictions of the MLP see zero padding (t < τ − 1): drop them as warm-up.
    """
    model.eval()
    x = _series(z, model)
    pred, _ = model(x[:, None], None)  # (N, 1, H)
    return pred[:, 0, 0].cpu().numpy().astype(np.float64)


@torch.no_grad()
def states_at(
    model: Forecaster, z: np.ndarray | Tensor, origins: Sequence[int] | np.ndarray
) -> tuple[State, Tensor]:
    """(state, ŷ) at each origin: the state after reading z_0 … z_t, and its output ŷ (B, H).

    Reads the series step by step, so the state kept for origin t is computed from z_{≤t} alone.
    """
    model.eval()
    x = _series(z, model)
    o = _origins(origins, len(x))
    wanted = set(o.tolist())
    kept: dict[int, tuple[State, Tensor]] = {}
    state: State | None = None
    for t in range(int(o.max()) + 1):
        out, state = model(x[t : t + 1, None], state)
        if t in wanted:
            kept[t] = (state, out[0])
    states = [kept[int(t)][0] for t in o]
    outs = [kept[int(t)][1] for t in o]
    return _cat_states(states), torch.cat(outs, dim=0)


@torch.no_grad()
def k_step(
    model: Forecaster, z: np.ndarray | Tensor, origins: Sequence[int] | np.ndarray, k: int
) -> np.ndarray:
    """Recursive forecasts (B, k): ẑ_{t+j|t} for j = 1 … k, feeding each prediction back in."""
    if k < 1:
        raise ShapeError(f"k must be ≥ 1, got {k}")
    state, out = states_at(model, z, origins)
    preds = [out[:, 0]]  # ẑ_{t+1|t}, from true observations only
    for _ in range(k - 1):
        out3, state = model(preds[-1][None, :], state)  # the model reads its own prediction
        preds.append(out3[0, :, 0])
    return torch.stack(preds, dim=1).cpu().numpy().astype(np.float64)


@torch.no_grad()
def direct(model: Forecaster, z: np.ndarray | Tensor, origins: Sequence[int] | np.ndarray) -> np.ndarray:
    """Direct multi-output forecasts (B, H): ẑ_{t+1 … t+H|t} from the head at once."""
    _, out = states_at(model, z, origins)
    return out.cpu().numpy().astype(np.float64)
