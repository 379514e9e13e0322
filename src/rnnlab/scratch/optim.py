"""Gradient clipping by global norm, and the SGD and Adam updates, on dicts of NumPy arrays.

Optimisers update the parameter arrays in place, so ``model.params`` can be handed over directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.scratch.cells import Array


def global_norm(grads: Mapping[str, Array]) -> float:
    """‖g‖ = sqrt(Σ_p ‖g_p‖²) over every parameter, as if all were one vector."""
    return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())))


def clip_by_global_norm(grads: Mapping[str, Array], max_norm: float) -> tuple[dict[str, Array], float]:
    """Rescale g to g · min(1, max_norm / ‖g‖) (Pascanu et al. 2013); returns (clipped, ‖g‖ before clipping).

    The direction is kept, only the length is capped: an exploding gradient gives a bounded step
    rather than a huge one. The pre-clip norm is returned because it is the quantity worth logging.
    """
    if not max_norm > 0:
        raise ConfigError(f"max_norm must be > 0, got {max_norm}; omit clipping instead of passing 0")
    norm = global_norm(grads)
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {name: g * g.dtype.type(scale) for name, g in grads.items()}, norm


@dataclass
class SGD:
    """θ ← θ − lr · g, with optional momentum v ← μv + g, θ ← θ − lr · v (torch.optim.SGD's form)."""

    lr: float = 0.1  # learning rate
    momentum: float = 0.0  # μ; 0 is plain SGD
    _velocity: dict[str, Array] = field(default_factory=dict, init=False, repr=False)

    def step(self, params: dict[str, Array], grads: Mapping[str, Array]) -> None:
        """Update every parameter in place."""
        for name, p in params.items():
            g = grads[name]
            if self.momentum:
                v = self._velocity.get(name)
                v = g.copy() if v is None else self.momentum * v + g
                self._velocity[name] = v
                g = v
            p -= (self.lr * g).astype(p.dtype)


@dataclass
class Adam:
    """Adam (Kingma & Ba 2015): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr · m̂ / (√v̂ + ε).

    m̂ = m / (1 − β₁ᵗ) and v̂ = v / (1 − β₂ᵗ) undo the bias of starting m and v at zero.
    """

    lr: float = 1e-2  # learning rate
    beta1: float = 0.9  # decay of the first-moment average
    beta2: float = 0.999  # decay of the second-moment average
    eps: float = 1e-8  # added to √v̂ so that a zero gradient does not divide by zero
    _m: dict[str, Array] = field(default_factory=dict, init=False, repr=False)
    _v: dict[str, Array] = field(default_factory=dict, init=False, repr=False)
    _t: int = field(default=0, init=False, repr=False)

    def step(self, params: dict[str, Array], grads: Mapping[str, Array]) -> None:
        """Update every parameter in place."""
        self._t += 1
        for name, p in params.items():
            g = grads[name]
            m = self.beta1 * self._m.get(name, np.zeros_like(g)) + (1 - self.beta1) * g
            v = self.beta2 * self._v.get(name, np.zeros_like(g)) + (1 - self.beta2) * g * g
            self._m[name], self._v[name] = m, v
            m_hat = m / (1 - self.beta1**self._t)
            v_hat = v / (1 - self.beta2**self._t)
            p -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype)
