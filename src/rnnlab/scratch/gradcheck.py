"""Finite-difference references for the hand-written gradients, for every BPTT mode.

Full BPTT is checked against the plain central difference of the loss,
∂L/∂θ_i ≈ (L(θ + εe_i) − L(θ − εe_i)) / 2ε.

Truncated and randomly truncated BPTT compute something that is not the derivative of any loss,
so their reference is built from finer pieces: g(t, j) = ∂E_t/∂θ|_j, the derivative of the loss
at step t with respect to the copy of θ used at step j alone (θ perturbed at step j, the original
θ at every other step), again by central differences. Every mode is then Σ_{t,j} w(t, j) g(t, j)
with the mode's closed-form weights (``BackwardPolicy.lag_weights``); for full BPTT, w ≡ 1 on
j ≤ t and the sum is the chain rule's total derivative. Only the forward pass is used here, never
the backward under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import ConfigError
from rnnlab.scratch.bptt import BackwardPolicy, Truncation, resolve_truncation
from rnnlab.scratch.cells import Array
from rnnlab.scratch.model import RecurrentLM, State, log_softmax


def relative_error(a: NDArray[Any], b: NDArray[Any]) -> float:
    """‖a − b‖ / max(‖a‖, ‖b‖) (0 when both are zero): the disagreement relative to the values' size."""
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(np.asarray(a) - np.asarray(b))) / scale


def _require_float64(model: RecurrentLM) -> None:
    """Central differences in float32 lose about half the digits; refuse rather than mislead."""
    if model.dtype != np.float64:
        raise ConfigError(
            f"gradient checks need a float64 model, got {model.dtype}; build it with dtype=np.float64"
        )


def _step_losses(
    model: RecurrentLM, inputs: NDArray[Any], targets: NDArray[Any], state: State | None
) -> Array:
    """E_t = mean_b −log o_t[y_t] for each step of a forward from ``state``: shape (T,)."""
    logits, _ = model.forward(inputs, state)
    logp = log_softmax(logits)
    picked = np.take_along_axis(logp, np.asarray(targets)[..., None], axis=-1)[..., 0]
    return -picked.mean(axis=1)


def numerical_gradients(
    model: RecurrentLM, inputs: NDArray[Any], targets: NDArray[Any], eps: float = 1e-5
) -> dict[str, Array]:
    """Central differences of the full loss L = Σ_t E_t with respect to every parameter entry."""
    _require_float64(model)
    grads = {}
    for name, value in model.params.items():
        grad = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            original = value[idx]
            value[idx] = original + eps
            plus = _step_losses(model, inputs, targets, None).sum()
            value[idx] = original - eps
            minus = _step_losses(model, inputs, targets, None).sum()
            value[idx] = original
            grad[idx] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return grads


def step_gradients(
    model: RecurrentLM, inputs: NDArray[Any], targets: NDArray[Any], eps: float = 1e-5
) -> dict[str, Array]:
    """g[t, j] = ∂E_t/∂θ|_j by central differences: arrays of shape (T, T, *param_shape).

    θ is perturbed at step j only: the forward runs the original model up to step j−1, one step
    with the perturbed parameters, and the original model again from step j+1 on. g[t, j] = 0 for
    t < j because a later step cannot change an earlier loss.
    """
    _require_float64(model)
    tokens, labels = np.asarray(inputs), np.asarray(targets)
    steps = tokens.shape[0]
    states: list[State | None] = [None]  # states[j]: the state before step j, on the original model
    for j in range(steps - 1):
        _, state = model.forward(tokens[j : j + 1], states[j])
        states.append(state)

    def losses_from(j: int) -> Array:
        """E_j … E_{T−1} with the model's current parameters at step j and the original ones after."""
        logits, state = model.forward(tokens[j : j + 1], states[j])
        first = -log_softmax(logits)[0, np.arange(labels.shape[1]), labels[j]].mean()
        return np.concatenate([[first], _rest(j, state)])

    original_params = model.state_dict()

    def _rest(j: int, state: State) -> Array:
        """E_{j+1} … E_{T−1} with the original parameters, from ``state``."""
        if j + 1 == steps:
            return np.zeros(0)
        perturbed = model.params
        model.params = original_params
        try:
            return _step_losses(model, tokens[j + 1 :], labels[j + 1 :], state)
        finally:
            model.params = perturbed

    grads = {}
    for name, value in model.params.items():
        grad = np.zeros((steps, steps, *value.shape))
        for idx in np.ndindex(value.shape):
            original = value[idx]
            for j in range(steps):
                value[idx] = original + eps
                plus = losses_from(j)
                value[idx] = original - eps
                minus = losses_from(j)
                value[idx] = original
                where = (slice(j, None), j, *idx)  # E_j … E_{T−1}, parameter copy j, entry idx
                grad[where] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return grads


def combine_step_gradients(step_grads: dict[str, Array], policy: BackwardPolicy) -> dict[str, Array]:
    """Σ_{t,j} w(t, j) g[t, j] for each parameter: what a BPTT mode should return."""
    out = {}
    for name, g in step_grads.items():
        weights = policy.lag_weights(g.shape[0])
        out[name] = np.tensordot(weights, g, axes=([0, 1], [0, 1]))
    return out


def check_gradients(
    model: RecurrentLM,
    inputs: NDArray[Any],
    targets: NDArray[Any],
    truncate: Truncation = None,
    eps: float = 1e-5,
) -> dict[str, float]:
    """Relative error of ``loss_and_grads`` against its finite-difference reference, per parameter.

    A RandomTruncation is drawn once, and the same cut pattern is used for the analytic gradient
    and its reference.
    """
    steps = np.asarray(inputs).shape[0]
    policy = resolve_truncation(truncate, steps)
    _, grads = model.loss_and_grads(inputs, targets, truncate=policy)
    if truncate is None:
        reference = numerical_gradients(model, inputs, targets, eps)
    else:
        reference = combine_step_gradients(step_gradients(model, inputs, targets, eps), policy)
    return {name: relative_error(grads[name], reference[name]) for name in grads}
