"""The CNN front end: the convolution formula, lengths, padding that never leaks, causal streaming."""

from __future__ import annotations

import json

import pytest
import torch

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.conv import ConvConfig, ConvFrontEnd


def _front(config: ConvConfig, input_size: int = 3, seed: int = 0) -> ConvFrontEnd:
    torch.manual_seed(seed)
    return ConvFrontEnd(input_size, config).double().eval()


def test_one_layer_matches_the_written_sum() -> None:
    """y_{j,c} = f(b_c + Σ_i Σ_c' W_{c,c',i} x_{j·s−pad+i,c'}), computed by explicit loops in float64."""
    front = _front(ConvConfig(channels=(4,), kernel_sizes=(3,), stride=2, activation="tanh"))
    x = torch.randn(9, 2, 3, dtype=torch.float64)
    y, _, _ = front(x)
    conv = front.convs[0]
    w, b = conv.weight, conv.bias
    assert b is not None
    padded = torch.cat([torch.zeros(1, 2, 3, dtype=x.dtype), x, torch.zeros(1, 2, 3, dtype=x.dtype)])
    expected = torch.zeros(5, 2, 4, dtype=x.dtype)
    for j in range(5):
        for c in range(4):
            acc = b[c] + sum(w[c, cp, i] * padded[2 * j + i, :, cp] for i in range(3) for cp in range(3))
            expected[j, :, c] = torch.tanh(acc)
    assert y.shape == (5, 2, 4)
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "config",
    [
        ConvConfig(channels=(5, 4), kernel_sizes=(3, 5)),
        ConvConfig(channels=(5, 4), kernel_sizes=(4, 2), stride=2, pool=2),
        ConvConfig(channels=(6,), kernel_sizes=(3,), causal=True),
        ConvConfig(channels=(5, 4), kernel_sizes=(2, 3), causal=True),
    ],
    ids=["centred", "strided-pooled", "causal", "causal-2-layers"],
)
def test_a_padded_batch_gives_each_sequence_its_own_features(config: ConvConfig) -> None:
    """Each column of a padded batch gets exactly the outputs (and T') it gets alone; padding stays 0."""
    front = _front(config)
    lengths = torch.tensor([11, 4, 7, 1])
    x = torch.randn(11, 4, 3, dtype=torch.float64)
    x[lengths.unsqueeze(0) <= torch.arange(11).unsqueeze(1)] = 1e3  # garbage in the padding
    y, out_lengths, _ = front(x, lengths)
    assert out_lengths is not None
    for b, length in enumerate(lengths.tolist()):
        alone, _, _ = front(x[:length, b : b + 1])
        n = int(out_lengths[b])
        assert alone.shape[0] == n
        torch.testing.assert_close(y[:n, b], alone[:, 0], rtol=1e-12, atol=1e-12)
        assert bool((y[n:, b] == 0).all())


def test_output_lengths_follow_the_arithmetic_of_stride_and_pool() -> None:
    """T' from output_lengths equals the length of the output actually produced, for T = 1 … 20."""
    front = _front(ConvConfig(channels=(2, 2), kernel_sizes=(5, 2), stride=2, pool=2))
    for t in range(1, 21):
        y, _, _ = front(torch.randn(t, 1, 3, dtype=torch.float64))
        assert int(front.output_lengths(torch.tensor([t]))[0]) == y.shape[0]
    assert ConvConfig(channels=(2,), kernel_sizes=(4,)).preserves_length
    assert not ConvConfig(stride=2).preserves_length


def test_causal_outputs_never_see_the_future() -> None:
    """Changing x_{t+1…} leaves y_{≤t} of a causal front end unchanged (and changes later steps)."""
    front = _front(ConvConfig(channels=(4, 4), kernel_sizes=(3, 3), causal=True))
    x = torch.randn(10, 2, 3, dtype=torch.float64)
    changed = x.clone()
    changed[6:] += 1.0
    y, _, _ = front(x)
    y2, _, _ = front(changed)
    torch.testing.assert_close(y[:6], y2[:6], rtol=0, atol=0)
    assert not torch.allclose(y[6:], y2[6:])


def test_causal_streaming_equals_the_whole_sequence() -> None:
    """Feeding a sequence one step at a time (carrying the state) gives the outputs of feeding it whole,
    also when a batch's rows end at different lengths in one call."""
    front = _front(ConvConfig(channels=(4, 3), kernel_sizes=(3, 4), causal=True))
    x = torch.randn(12, 3, 3, dtype=torch.float64)
    whole, _, _ = front(x)
    state = None
    steps = []
    for t in range(12):
        y, _, state = front(x[t : t + 1], state=state)
        steps.append(y)
    torch.testing.assert_close(torch.cat(steps), whole, rtol=1e-12, atol=1e-12)
    # rows of lengths 5, 2 and 8 in a first call, then each row's own continuation
    lengths = torch.tensor([5, 2, 8])
    _, _, state = front(x[:8], lengths, None)
    for b, length in enumerate(lengths.tolist()):
        rest, _, _ = front(x[length:, b : b + 1], state=[s[b : b + 1] for s in state])
        torch.testing.assert_close(rest, whole[length:, b : b + 1], rtol=1e-12, atol=1e-12)


def test_receptive_field_is_the_span_of_nonzero_gradients() -> None:
    """The last output's gradient w.r.t. the inputs is non-zero on exactly receptive_field steps."""
    front = _front(ConvConfig(channels=(3, 3), kernel_sizes=(3, 5), causal=True, activation="tanh"))
    x = torch.randn(20, 1, 3, dtype=torch.float64, requires_grad=True)
    y, _, _ = front(x)
    y[-1].sum().backward()
    assert x.grad is not None
    touched = (x.grad.abs().sum(dim=(1, 2)) > 0).nonzero().flatten()
    assert len(touched) == front.receptive_field == 7
    assert int(touched[-1]) == 19


def test_config_round_trips_through_json_and_rejects_bad_values() -> None:
    """A config survives JSON (lists back to tuples); bad values raise ConfigError naming the fix."""
    config = ConvConfig(channels=(8, 16), kernel_sizes=(3,), pool=2, activation="gelu")
    assert config.kernel_sizes == (3, 3)
    again = ConvConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    with pytest.raises(ConfigError, match="one kernel size per layer"):
        ConvConfig(channels=(8, 8, 8), kernel_sizes=(3, 5))
    with pytest.raises(ConfigError, match="causal"):
        ConvConfig(causal=True, stride=2)
    with pytest.raises(ConfigError, match="options are"):
        ConvConfig(activation="swish")
    with pytest.raises(ConfigError, match="unknown CNN front-end option"):
        ConvConfig.from_dict({"chanels": [3]})


def test_wrong_shapes_are_refused() -> None:
    """A wrong feature width, lengths beyond T, or a state for a centred front end are clear errors."""
    front = _front(ConvConfig())
    with pytest.raises(ShapeError, match=r"\(T, B, 3\)"):
        front(torch.randn(5, 2, 4, dtype=torch.float64))
    with pytest.raises(ShapeError, match="lengths"):
        front(torch.randn(5, 2, 3, dtype=torch.float64), torch.tensor([6, 2]))
    with pytest.raises(ConfigError, match="causal"):
        front(torch.randn(5, 2, 3, dtype=torch.float64), state=[])
