"""The scratch models' interface: torch.nn names and shapes, state dicts, state carrying, input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.errors import CheckpointError, ConfigError, DataError, ShapeError
from rnnlab.scratch import GRU, LSTM, RNN, ScratchConfig, build_model
from tests.scratch.scratch_helpers import make_model, tokens


@pytest.mark.parametrize(
    ("model", "reference"),
    [
        (RNN(7, 5, 2), torch.nn.RNN(7, 5, 2)),
        (LSTM(7, 5, 3), torch.nn.LSTM(7, 5, 3)),
        (GRU(7, 5, 2), torch.nn.GRU(7, 5, 2)),
    ],
    ids=["rnn", "lstm", "gru"],
)
def test_state_dict_names_and_shapes_are_torch_nn(model: object, reference: torch.nn.Module) -> None:
    """state_dict() has torch.nn's recurrent names and shapes, plus out.weight (V, H) and out.bias (V,)."""
    expected = {name: tuple(p.shape) for name, p in reference.state_dict().items()}
    expected |= {"out.weight": (7, 5), "out.bias": (7,)}
    got = {name: value.shape for name, value in model.state_dict().items()}  # type: ignore[attr-defined]
    assert got == expected


def test_load_state_dict_round_trips_and_copies() -> None:
    """Loading another model's state dict makes outputs equal; later edits to the source do not leak in."""
    x, _ = tokens(5, 2, 6, seed=0)
    a, b = LSTM(6, 4, 2, seed=1), LSTM(6, 4, 2, seed=2)
    state = a.state_dict()
    b.load_state_dict(state)
    np.testing.assert_array_equal(a.forward(x)[0], b.forward(x)[0])
    state["out.bias"] += 1.0
    np.testing.assert_array_equal(a.forward(x)[0], b.forward(x)[0])


def test_load_state_dict_rejects_mismatches() -> None:
    """Missing or unexpected names and wrong shapes raise CheckpointError saying which."""
    model = GRU(6, 4)
    state = model.state_dict()
    del state["bias_hh_l0"]
    with pytest.raises(CheckpointError, match="missing \\['bias_hh_l0'\\]"):
        model.load_state_dict(state)
    state = model.state_dict()
    state["weight_hh_l0"] = np.zeros((4, 4))
    with pytest.raises(CheckpointError, match="weight_hh_l0 has shape"):
        model.load_state_dict(state)


@pytest.mark.parametrize("cell", ["rnn-tanh", "lstm", "gru"])
def test_carrying_state_equals_one_long_forward(cell: str) -> None:
    """forward(x[:4]) then forward(x[4:], state) gives the logits and final state of forward(x)."""
    model = make_model(cell, 5, 4, layers=2)
    x, _ = tokens(9, 3, 5, seed=1)
    whole, final = model.forward(x)
    first, state = model.forward(x[:4])
    second, final2 = model.forward(x[4:], state)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-13, atol=1e-15)
    for a, b in zip(np.atleast_3d(final), np.atleast_3d(final2), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_bad_inputs_raise_clear_errors() -> None:
    """Wrong shapes, non-integer or out-of-vocabulary ids and mismatched targets raise the right error."""
    model = RNN(5, 3)
    good, _ = tokens(4, 2, 5, seed=0)
    with pytest.raises(ShapeError, match=r"\(T, B\)"):
        model.forward(good[:, 0])
    with pytest.raises(DataError, match="integer token ids"):
        model.forward(good.astype(float))
    with pytest.raises(DataError, match="valid ids 0 … 4"):
        model.forward(good + 5)
    with pytest.raises(ShapeError, match="must match"):
        model.loss_and_grads(good, good[:3])
    with pytest.raises(ShapeError, match="expected \\(L, B, H\\)"):
        model.forward(good, np.zeros((1, 3, 3)))


def test_bad_constructor_arguments_raise_config_errors() -> None:
    """An unknown nonlinearity, a size below 1, a non-float dtype or an unknown cell is a ConfigError."""
    with pytest.raises(ConfigError, match="options are"):
        RNN(5, 3, nonlinearity="gelu")
    with pytest.raises(ConfigError, match="hidden_size"):
        LSTM(5, 0)
    with pytest.raises(ConfigError, match="float32 or float64"):
        GRU(5, 3, dtype=np.int32)
    with pytest.raises(ConfigError, match="unknown cell"):
        build_model(ScratchConfig(cell="transformer", vocab_size=5, hidden_size=3))


def test_config_round_trips_through_json() -> None:
    """A model's config serialises to JSON and rebuilds an identical model; unknown keys are refused."""
    model = RNN(6, 4, 2, nonlinearity="relu", dtype=np.float32, seed=3)
    config = ScratchConfig.from_json(model.config().to_json())
    rebuilt = build_model(config)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(rebuilt.state_dict()[name], value)
    assert rebuilt.dtype == np.float32
    with pytest.raises(ConfigError, match="unknown scratch config key"):
        ScratchConfig.from_json('{"cell": "rnn", "vocab_size": 3, "hidden_size": 2, "colour": "red"}')
