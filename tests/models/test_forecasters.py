"""Forecasters: shapes and input layout, config round trip, states, the causal CNN front end."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.conv import ConvConfig
from rnnlab.models.forecasters import (
    FORECASTERS,
    ForecasterConfig,
    build_forecaster,
    cat_states,
    repeat_state,
)

KINDS = list(FORECASTERS)
CONV = ConvConfig(channels=(6, 5), kernel_sizes=(3, 2), causal=True)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _model(**settings: object) -> torch.nn.Module:
    torch.manual_seed(0)
    base: dict[str, object] = {"tau": 5, "hidden_size": 8}
    return build_forecaster(ForecasterConfig.from_dict({**base, **settings})).eval()


def _inputs(config: ForecasterConfig, steps: int = 12, batch: int = 4) -> torch.Tensor:
    x = torch.randn(steps, batch, config.input_size)
    if config.embedding_dim:
        x[..., -1] = torch.randint(0, config.n_series, (steps, batch)).float()
    return x


@pytest.mark.parametrize("kind", KINDS)
def test_univariate_shapes_and_state_continuation(kind: str) -> None:
    """(T, B) in → θ (T, B, H, 1, 1) out; the state continues a sequence exactly as one long call."""
    model = _model(kind=kind, outputs=3)
    x = torch.randn(12, 4)
    y, _state = model(x)
    assert y.shape == (12, 4, 3, 1, 1)
    y1, s1 = model(x[:7])
    y2, _ = model(x[7:], s1)
    torch.testing.assert_close(torch.cat([y1, y2]), y)
    with pytest.raises(ShapeError, match=r"\(T, B\)"):
        model(torch.randn(12, 4, 2))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("likelihood", ["point", "gaussian", "student-t"])
def test_covariate_layout_and_heads(kind: str, likelihood: str) -> None:
    """C = 1 + P + F·H + 1 input channels; θ (T, B, H, 1 + P, S) with σ > 0 and ν > 2 where they exist."""
    cfg = ForecasterConfig(kind=kind, tau=3, hidden_size=8, outputs=2, past_covariates=2, future_covariates=3,
                           likelihood=likelihood, n_series=4, embedding_dim=2)  # fmt: skip
    assert cfg.input_size == 1 + 2 + 3 * 2 + 1 and cfg.channels == 3
    theta, _ = build_forecaster(cfg)(_inputs(cfg))
    assert theta.shape == (12, 4, 2, 3, cfg.parameters_per_value)
    if likelihood != "point":
        assert (theta[..., 1] > 0).all()
    if likelihood == "student-t":
        assert (theta[..., 2] > 2).all()
    with pytest.raises(ShapeError, match=f"\\(T, B, {cfg.input_size}\\)"):
        build_forecaster(cfg)(torch.randn(5, 2, 3))


def test_series_embedding_tells_series_apart() -> None:
    """The same inputs with another series index give other outputs (the index is read), and an index
    outside the known series is refused."""
    cfg = ForecasterConfig(kind="gru", hidden_size=8, n_series=3, embedding_dim=4)
    model = build_forecaster(cfg)
    x = torch.randn(6, 1, 2)
    a, b = x.clone(), x.clone()
    a[..., -1], b[..., -1] = 0.0, 2.0
    assert not torch.allclose(model(a)[0], model(b)[0])
    a[..., -1] = 3.0
    with pytest.raises(ShapeError, match="outside the 3 series"):
        model(a)


def test_config_round_trip_and_errors() -> None:
    """from_dict(to_dict()) is the identity (CNN front end included); bad options name the fix."""
    cfg = ForecasterConfig(kind="lstm", hidden_size=7, past_covariates=1, likelihood="student-t", conv=CONV)
    assert ForecasterConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="valid options"):
        ForecasterConfig.from_dict({"kind": "gru", "hiden_size": 3})
    with pytest.raises(ConfigError, match="options are"):
        ForecasterConfig(kind="transformer")
    with pytest.raises(ConfigError, match="likelihood"):
        ForecasterConfig(likelihood="poisson")
    with pytest.raises(ConfigError, match="causal"):
        ForecasterConfig(conv=ConvConfig(channels=(4,)))
    with pytest.raises(ConfigError, match="recurrent"):
        ForecasterConfig(kind="mlp", conv=CONV)
    with pytest.raises(ConfigError, match="n_series"):
        ForecasterConfig(embedding_dim=3)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_cnn_front_end_streams_step_by_step(kind: str) -> None:
    """A CNN-RNN fed one step at a time (state carried) gives exactly the outputs of the whole series,
    and its outputs depend on the past only (changing x_t leaves every output before t unchanged)."""
    cfg = ForecasterConfig(kind=kind, hidden_size=8, past_covariates=1, future_covariates=1, conv=CONV)
    torch.manual_seed(0)
    model = build_forecaster(cfg).double().eval()
    x = torch.randn(15, 3, cfg.input_size, dtype=torch.float64)
    whole, _ = model(x)
    state, steps = None, []
    for t in range(15):
        out, state = model(x[t : t + 1], state)
        steps.append(out)
    torch.testing.assert_close(torch.cat(steps), whole, rtol=0, atol=1e-12)
    changed = x.clone()
    changed[9:] += 1.0
    assert torch.equal(model(changed)[0][:9], whole[:9]) and not torch.allclose(
        model(changed)[0][9:], whole[9:]
    )
    assert cfg.context == 1 + 2 + 1  # the front end sees (3 − 1) + (2 − 1) steps back


def test_states_concatenate_and_repeat_on_the_batch_axis() -> None:
    """cat_states puts columns side by side, repeat_state copies each column in place, for every
    tensor of a CNN-LSTM's state (front end and recurrent)."""
    model = _model(kind="lstm", conv=CONV)
    _, s1 = model(torch.randn(4, 2))
    _, s2 = model(torch.randn(4, 3))
    joined = cat_states([s1, s2])
    assert all(t.shape[1] == 5 for t in joined) and len(joined) == 4
    torch.testing.assert_close(joined[0][:, 2:], s2[0])
    repeated = repeat_state(s1, 3)
    torch.testing.assert_close(repeated[-1][:, 3], s1[-1][:, 1])
