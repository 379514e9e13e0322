"""RNN/LSTM/GRU layers against torch.nn.RNN/LSTM/GRU with copied weights, on both paths."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab import GRU, LSTM, RNN, MinGRU, MinLSTM
from rnnlab.dropout import dropout
from rnnlab.errors import ConfigError, ShapeError
from rnnlab.layers import RecurrentConfig, RecurrentLayer, detach_state

I, H, T, B = 4, 5, 6, 3
LENGTHS = torch.tensor([6, 2, 4])
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}
CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def make_pair(
    cell: str, dtype: torch.dtype = torch.float64, impl: str = "auto", **kw: object
) -> tuple[RecurrentLayer, torch.nn.RNNBase]:
    """Our layer and torch.nn's with the same configuration, ours loaded with torch.nn's weights."""
    if cell.startswith("rnn"):
        nl = cell.split("_")[1]
        ref: torch.nn.RNNBase = torch.nn.RNN(I, H, nonlinearity=nl, dtype=dtype, **kw)  # type: ignore[arg-type]
        ours: RecurrentLayer = RNN(I, H, nonlinearity=nl, impl=impl, dtype=dtype, **kw)  # type: ignore[arg-type]
    elif cell == "lstm":
        ref = torch.nn.LSTM(I, H, dtype=dtype, **kw)  # type: ignore[arg-type]
        ours = LSTM(I, H, impl=impl, dtype=dtype, **kw)  # type: ignore[arg-type]
    else:
        ref = torch.nn.GRU(I, H, dtype=dtype, **kw)  # type: ignore[arg-type]
        ours = GRU(I, H, impl=impl, dtype=dtype, **kw)  # type: ignore[arg-type]
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def random_state(
    module: torch.nn.RNNBase, dtype: torch.dtype
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    n = module.num_layers * (2 if module.bidirectional else 1)
    h = torch.randn(n, B, module.proj_size or module.hidden_size, dtype=dtype)
    if isinstance(module, torch.nn.LSTM):
        return h, torch.randn(n, B, module.hidden_size, dtype=dtype)
    return h


def outputs_and_grads(
    module: torch.nn.Module, x: torch.Tensor, hx: object, lengths: torch.Tensor | None, packed_api: bool
) -> list[torch.Tensor]:
    """Output, final state and the gradients of a fixed loss w.r.t. the input and every parameter."""
    x = x.clone().requires_grad_()
    batch_first = module.batch_first
    if lengths is None:
        out, state = module(x, hx)
    elif packed_api:
        packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
        out, state = module(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    else:
        out, state = module(x, hx, lengths=lengths)
    states = state if isinstance(state, tuple) else (state,)
    weights = torch.sin(torch.arange(out.numel(), dtype=out.dtype, device=out.device)).view_as(out)
    loss = (out * weights).sum() + sum((s * s).sum() for s in states)
    grads = torch.autograd.grad(loss, [x, *module.parameters()])
    return [out, *states, *grads]


GRID = list(
    itertools.product(
        CELLS, [1, 2, 3], [False, True], [False, True], [False, True], ["fused", "reference"], list(TOLERANCE)
    )
)


@pytest.mark.parametrize(
    "cell,num_layers,bidirectional,batch_first,variable,impl,dtype",
    GRID,
    ids=[
        f"{c}-L{n}-{'bi' if bi else 'uni'}-{'bf' if bf else 'tm'}-{'var' if v else 'full'}-{i}-{str(d)[-7:]}"
        for c, n, bi, bf, v, i, d in GRID
    ],
)
def test_parity_with_torch_nn(
    cell: str,
    num_layers: int,
    bidirectional: bool,
    batch_first: bool,
    variable: bool,
    impl: str,
    dtype: torch.dtype,
) -> None:
    """Outputs, final states and all parameter/input gradients equal torch.nn's (1e-5 f32, 1e-10 f64)."""
    ours, ref = make_pair(
        cell, dtype, impl, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    assert ours.uses_fused() == (impl == "fused")
    x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=dtype)
    hx = random_state(ref, dtype)
    lengths = LENGTHS if variable else None
    expected = outputs_and_grads(ref, x, hx, lengths, packed_api=True)
    got = outputs_and_grads(ours, x, hx, lengths, packed_api=False)
    tol = TOLERANCE[dtype]
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)


@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_sequence_input_gives_torch_nn_packed_output(impl: str, enforce_sorted: bool) -> None:
    """A PackedSequence goes in and comes out, with torch.nn's data, order and final state."""
    ours, ref = make_pair("lstm", impl=impl, num_layers=2, bidirectional=True)
    lengths = torch.tensor([6, 4, 2]) if enforce_sorted else LENGTHS
    x = torch.randn(T, B, I, dtype=torch.float64)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    hx = random_state(ref, torch.float64)
    (out_a, (h_a, c_a)), (out_b, (h_b, c_b)) = ours(packed, hx), ref(packed, hx)
    assert isinstance(out_a, torch.nn.utils.rnn.PackedSequence)
    torch.testing.assert_close(out_a.data, out_b.data)
    assert torch.equal(out_a.batch_sizes, out_b.batch_sizes)
    torch.testing.assert_close(h_a, h_b)
    torch.testing.assert_close(c_a, c_b)


@pytest.mark.parametrize("impl", ["fused", "reference"])
def test_lstm_projection_matches_torch(impl: str) -> None:
    """proj_size (h_t = W_hr (o ⊙ tanh c)) matches torch.nn.LSTM, including with lengths."""
    ours, ref = make_pair("lstm", impl=impl, num_layers=2, bidirectional=True, proj_size=3)
    x = torch.randn(T, B, I, dtype=torch.float64)
    hx = random_state(ref, torch.float64)
    for a, b in zip(
        outputs_and_grads(ours, x, hx, LENGTHS, False),
        outputs_and_grads(ref, x, hx, LENGTHS, True),
        strict=True,
    ):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("cell", CELLS)
def test_state_dict_loads_both_ways(cell: str) -> None:
    """Our state_dict has torch.nn's keys and shapes, and torch.nn loads it strictly."""
    ours, _ = make_pair(cell, num_layers=2, bidirectional=True)
    ours.reset_parameters()
    ref = make_pair(cell, num_layers=2, bidirectional=True)[1]
    ref.load_state_dict(ours.state_dict())
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = torch.randn(T, B, I, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], ref(x)[0])


@pytest.mark.parametrize("impl", ["fused", "reference"])
def test_unbatched_input_matches_torch(impl: str) -> None:
    """An unbatched (T, I) input gives (T, D·H) outputs and (L·D, H) states, as torch.nn."""
    ours, ref = make_pair("gru", impl=impl, num_layers=2, bidirectional=True)
    x = torch.randn(T, I, dtype=torch.float64)
    (out_a, h_a), (out_b, h_b) = ours(x), ref(x)
    assert out_a.shape == (T, 2 * H) and h_a.shape == (4, H)
    torch.testing.assert_close(out_a, out_b)
    torch.testing.assert_close(h_a, h_b)


@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("cell", CELLS)
def test_padded_steps_change_neither_state_nor_outputs(impl: str, cell: str) -> None:
    """Garbage in the padding leaves every output and the final state unchanged; padded outputs are 0."""
    ours, _ = make_pair(cell, impl=impl, num_layers=2, bidirectional=True)
    x = torch.randn(T, B, I, dtype=torch.float64)
    noisy = x.clone()
    pad = torch.arange(T).unsqueeze(1) >= LENGTHS.unsqueeze(0)
    noisy[pad] = 1e3 * torch.randn(int(pad.sum()), I, dtype=torch.float64)
    out_a, state_a = ours(x, lengths=LENGTHS)
    out_b, state_b = ours(noisy, lengths=LENGTHS)
    torch.testing.assert_close(out_a, out_b, atol=0, rtol=0)
    for a, b in zip(*(s if isinstance(s, tuple) else (s,) for s in (state_a, state_b)), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert torch.all(out_a[pad] == 0)


def test_layer_norm_lstm_follows_ba_et_al() -> None:
    """LN-LSTM: gates = LN(W_x x) + LN(W_h h) + b, h = o ⊙ tanh(LN(c)); checked against a naive loop."""
    layer = LSTM(I, H, layer_norm=True, dtype=torch.float64)
    with torch.no_grad():
        for p in layer.layer_norms.parameters():
            p.uniform_(0.5, 1.5)
    assert not layer.uses_fused()
    x = torch.randn(T, B, I, dtype=torch.float64)
    out, (_, c_n) = layer(x)
    ln = layer.layer_norms
    h = torch.zeros(B, H, dtype=torch.float64)
    c = torch.zeros(B, H, dtype=torch.float64)
    bias = layer.bias_ih_l0 + layer.bias_hh_l0
    for t in range(T):
        gates = ln["ih_l0"](x[t] @ layer.weight_ih_l0.T) + ln["hh_l0"](h @ layer.weight_hh_l0.T) + bias
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(ln["c_l0"](c))
        torch.testing.assert_close(out[t], h)
    torch.testing.assert_close(c_n[0], c)


def variant_layer(cell: str, impl: str, dtype: torch.dtype = torch.float64, **kw: object) -> RecurrentLayer:
    """Our 2-layer bidirectional layer of ``cell`` with variants, norm scales drawn away from 1."""
    nonlinearity = cell.split("_")[1] if cell.startswith("rnn") else "tanh"
    config = RecurrentConfig(
        cell.split("_")[0],
        I,
        H,
        2,
        nonlinearity,
        bidirectional=True,
        impl=impl,
        **kw,  # type: ignore[arg-type]
    )
    layer = RecurrentLayer.from_config(config, dtype=dtype)
    with torch.no_grad():  # scales and shifts away from 1 and 0, so that their gradients matter
        for p in layer.layer_norms.parameters():
            p.uniform_(0.5, 1.5)
    return layer


VARIANTS = list(itertools.product(CELLS, [False, True], [0.0, 0.4]))


@pytest.mark.parametrize(
    "cell,layer_norm,dropout_hidden",
    VARIANTS,
    ids=[f"{c}-{'ln' if n else 'plain'}-vd{d}" for c, n, d in VARIANTS],
)
def test_hand_written_bptt_equals_autograd_for_variants(
    cell: str, layer_norm: bool, dropout_hidden: float
) -> None:
    """Layer norm and variational dropout on the reference path (hand-written BPTT) equal the autograd
    loop over the readable cells: outputs, states and all gradients, 2 layers, bidirectional, lengths."""
    fast, slow = (
        variant_layer(cell, impl, layer_norm=layer_norm, dropout_hidden=dropout_hidden)
        for impl in ("reference", "autograd")
    )
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(T, B, I, dtype=torch.float64)
    hx = random_state(make_pair(cell, num_layers=2, bidirectional=True)[1], torch.float64)
    results = []
    for layer in (fast, slow):
        torch.manual_seed(7)  # the same dropout masks on both paths
        results.append(outputs_and_grads(layer, x, hx, LENGTHS, packed_api=False))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_layer_norm_gradients_match_finite_differences(cell: str) -> None:
    """The layer-normalised reference path (hand-written BPTT) is correct against finite differences."""
    layer = (LSTM if cell == "lstm" else GRU)(
        3, 2, num_layers=2, bidirectional=True, layer_norm=True, dtype=torch.float64
    )
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: layer(inp, lengths=torch.tensor([4, 2]))[0], (x,))


def test_weight_drop_is_the_same_on_both_paths_and_off_in_eval() -> None:
    """DropConnect on W_hh draws one mask per forward: with the same seed both paths agree; eval is plain."""
    _, ref = make_pair("lstm", num_layers=2)
    fused = LSTM(I, H, num_layers=2, impl="fused", weight_drop=0.5, dtype=torch.float64)
    reference = LSTM(I, H, num_layers=2, impl="reference", weight_drop=0.5, dtype=torch.float64)
    fused.load_state_dict(ref.state_dict())
    reference.load_state_dict(ref.state_dict())
    x = torch.randn(T, B, I, dtype=torch.float64)
    torch.manual_seed(3)
    out_fused = fused(x)[0]
    torch.manual_seed(3)
    out_reference = reference(x)[0]
    torch.testing.assert_close(out_fused, out_reference)
    assert not torch.allclose(out_fused, ref(x)[0])
    fused.eval()
    torch.testing.assert_close(fused(x)[0], ref(x)[0])


def test_variational_input_dropout_uses_one_mask_per_sequence() -> None:
    """dropout_input zeroes the same input features at every time step of a sequence (Gal & Ghahramani)."""
    layer = RNN(H, H, nonlinearity="relu", dropout_input=0.5, bias=False, dtype=torch.float64)
    with torch.no_grad():  # h_t = relu(x_t ⊙ m): the output shows the mask itself
        layer.weight_ih_l0.copy_(torch.eye(H))
        layer.weight_hh_l0.zero_()
    assert not layer.uses_fused()
    out = layer(torch.ones(T, 8, H, dtype=torch.float64))[0]
    assert torch.all(out == out[:1]), "the mask must not change over time"
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert not torch.all(out[0] == out[0, :1]), "sequences get different masks"
    layer.eval()
    assert layer.uses_fused()
    assert torch.all(layer(torch.ones(T, 8, H, dtype=torch.float64))[0] == 1)


def test_variational_hidden_dropout_is_constant_over_time() -> None:
    """dropout_hidden multiplies h_{t−1} by one mask per sequence: a dropped unit never feeds back."""
    layer = RNN(H, H, nonlinearity="relu", dropout_hidden=0.5, bias=False, dtype=torch.float64)
    with torch.no_grad():  # h_t = relu(1 + m ⊙ h_{t−1})
        layer.weight_ih_l0.copy_(torch.eye(H))
        layer.weight_hh_l0.copy_(torch.eye(H))
    out = layer(torch.ones(T, 8, H, dtype=torch.float64))[0]
    dropped = out[-1] == 1
    assert dropped.any() and (~dropped).any()
    assert torch.all(out[:, dropped] == 1)
    assert torch.all(out[1:, ~dropped] > out[:-1, ~dropped])


def test_forget_bias_initialisation() -> None:
    """forget_bias sets b_f = b_ih[H:2H] + b_hh[H:2H] to the value for every layer and direction."""
    layer = LSTM(I, H, num_layers=2, bidirectional=True, forget_bias=1.0)
    for name, p in layer.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.all(p[H : 2 * H] == 1.0)
        if name.startswith("bias_hh"):
            assert torch.all(p[H : 2 * H] == 0.0)
    assert layer.uses_fused()


def test_inter_layer_dropout_is_active_only_in_training() -> None:
    """dropout between layers changes training outputs and leaves eval equal to torch.nn's."""
    for impl in ("fused", "reference"):
        ours, ref = make_pair("gru", impl=impl, num_layers=2, dropout=0.5)
        x = torch.randn(T, B, I, dtype=torch.float64)
        assert not torch.allclose(ours(x)[0], ref.eval()(x)[0])
        torch.testing.assert_close(ours.eval()(x)[0], ref(x)[0])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_fused_stack_with_dropout_is_torch_layers_with_our_dropout_between(
    cell: str, bidirectional: bool, packed: bool
) -> None:
    """Training on a CPU, the fused stack with dropout equals single torch.nn layers with
    rnnlab.dropout between them under the same seed: outputs, final states and gradients."""
    num_layers = 3
    ours, ref = make_pair(cell, num_layers=num_layers, dropout=0.4, bidirectional=bidirectional)
    singles = []
    for layer in range(num_layers):
        width = I if layer == 0 else H * (2 if bidirectional else 1)
        kind = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        single = kind(width, H, bidirectional=bidirectional, dtype=torch.float64)
        single.load_state_dict(
            {k.replace(f"_l{layer}", "_l0"): v for k, v in ref.state_dict().items() if f"_l{layer}" in k}
        )
        singles.append(single)
    x = torch.randn(T, B, I, dtype=torch.float64)
    hx = random_state(ref, torch.float64)
    d = 2 if bidirectional else 1

    def run_ours() -> list[torch.Tensor]:
        torch.manual_seed(11)
        inp = pack_padded_sequence(x, LENGTHS, enforce_sorted=False) if packed else x
        out, state = ours(inp, hx)
        if packed:
            out, _ = pad_packed_sequence(out, total_length=T)
        return [out, *(state if isinstance(state, tuple) else (state,))]

    def run_singles() -> list[torch.Tensor]:
        torch.manual_seed(11)
        inp = pack_padded_sequence(x, LENGTHS, enforce_sorted=False) if packed else x
        hs, cs = [], []
        for layer, single in enumerate(singles):
            part = slice(layer * d, (layer + 1) * d)
            h_l = (hx[0][part], hx[1][part]) if isinstance(hx, tuple) else hx[part]
            if layer > 0:
                if packed:
                    data = dropout(inp.data, 0.4)
                    inp = torch.nn.utils.rnn.PackedSequence(
                        data, inp.batch_sizes, inp.sorted_indices, inp.unsorted_indices
                    )
                else:
                    inp = dropout(inp, 0.4)
            inp, state = single(inp, h_l)
            hs.append(state[0] if isinstance(state, tuple) else state)
            if isinstance(state, tuple):
                cs.append(state[1])
        out = pad_packed_sequence(inp, total_length=T)[0] if packed else inp
        return [out, torch.cat(hs), *([torch.cat(cs)] if cs else [])]

    got, want = run_ours(), run_singles()
    for a, e in zip(got, want, strict=True):
        torch.testing.assert_close(a, e)
    weights = torch.sin(torch.arange(got[0].numel(), dtype=torch.float64)).view_as(got[0])
    grads = torch.autograd.grad((got[0] * weights).sum() + got[1].sum(), list(ours.parameters()))
    single_params = [p for single in singles for p in single.parameters()]
    single_grads = torch.autograd.grad((want[0] * weights).sum() + want[1].sum(), single_params)
    for a, e in zip(grads, single_grads, strict=True):
        torch.testing.assert_close(a, e)


def test_auto_picks_fused_unless_a_variant_needs_the_reference_path() -> None:
    """impl='auto' is fused for plain layers, reference for layer norm and active variational dropout."""
    assert LSTM(I, H).uses_fused()
    assert not LSTM(I, H, impl="compiled").uses_fused()
    assert not LSTM(I, H, impl="autograd").uses_fused()
    assert not LSTM(I, H, layer_norm=True).uses_fused()
    variational = GRU(I, H, dropout_hidden=0.3)
    assert not variational.uses_fused()
    assert variational.eval().uses_fused()
    assert not LSTM(I, H, impl="reference").uses_fused()
    with pytest.raises(ConfigError, match="impl='reference'"):
        LSTM(I, H, impl="fused", layer_norm=True)


def test_config_round_trips_through_json_and_rebuilds_the_layer() -> None:
    """A layer's config serialises to JSON and rebuilds an identical layer; unknown keys are rejected."""
    layer = LSTM(I, H, 2, bidirectional=True, forget_bias=1.0, weight_drop=0.2)
    config = RecurrentConfig.from_dict(json.loads(json.dumps(layer.config.to_dict())))
    rebuilt = RecurrentLayer.from_config(config)
    assert isinstance(rebuilt, LSTM) and rebuilt.config == layer.config
    rebuilt.load_state_dict(layer.state_dict())
    with pytest.raises(ConfigError, match="valid options"):
        RecurrentConfig.from_dict({**layer.config.to_dict(), "hiden_size": 3})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"cell": "lstm", "input_size": 0, "hidden_size": 2}, "input_size"),
        ({"cell": "tree", "input_size": 2, "hidden_size": 2}, "options are"),
        ({"cell": "gru", "input_size": 2, "hidden_size": 2, "dropout": 1.0}, r"\[0, 1\)"),
        ({"cell": "gru", "input_size": 2, "hidden_size": 2, "forget_bias": 1.0}, "forget gate"),
        ({"cell": "lstm", "input_size": 2, "hidden_size": 2, "proj_size": 2}, "proj_size"),
    ],
)
def test_invalid_configurations_are_named(kwargs: dict[str, object], match: str) -> None:
    """Impossible configurations raise ConfigError naming the option and its valid range."""
    with pytest.raises(ConfigError, match=match):
        RecurrentConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("impl", ["fused", "reference"])
def test_bad_input_raises_value_error_naming_the_expected_shape(impl: str) -> None:
    """Wrong input size, state shape, lengths and empty batches give ShapeError (a ValueError)."""
    layer = LSTM(I, H, num_layers=2, impl=impl)
    x = torch.randn(T, B, I)
    with pytest.raises(ValueError, match=rf"\(T, B, {I}\)"):
        layer(torch.randn(T, B, I + 1))
    with pytest.raises(ShapeError, match=rf"\(2, {B}, {H}\)"):
        layer(x, (torch.zeros(1, B, H), torch.zeros(2, B, H)))
    with pytest.raises(ShapeError, match=r"\(h_0, c_0\)"):
        layer(x, torch.zeros(2, B, H))
    with pytest.raises(ShapeError, match=rf"\[1, T={T}\]"):
        layer(x, lengths=torch.tensor([T + 1, 2, 2]))
    with pytest.raises(ShapeError, match=rf"\({B},\)"):
        layer(x, lengths=torch.tensor([2, 2]))
    with pytest.raises(ShapeError, match="empty batch"):
        layer(torch.randn(T, 0, I))
    with pytest.raises(ShapeError, match="empty batch"):
        layer(torch.randn(0, B, I))
    with pytest.raises(ValueError, match="dtype"):
        layer(x.double())


def test_detach_state_cuts_the_graph() -> None:
    """detach_state keeps the values and drops the history of (h, c) and of h."""
    layer = LSTM(I, H)
    _, state = layer(torch.randn(T, B, I))
    detached = detach_state(state)
    assert isinstance(detached, tuple)
    assert all(not s.requires_grad for s in detached)
    torch.testing.assert_close(detached[0], state[0])
    zero = GRU(I, H, 2).zero_state(B)
    assert isinstance(zero, torch.Tensor) and zero.shape == (2, B, H)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("cell", CELLS)
def test_cuda_parity_with_torch_nn(impl: str, cell: str) -> None:
    """On the GPU (cuDNN for the fused path) outputs and gradients equal torch.nn's in float64."""
    ours, ref = make_pair(cell, impl=impl, num_layers=2, bidirectional=True)
    ours, ref = ours.cuda(), ref.cuda()
    x = torch.randn(T, B, I, dtype=torch.float64, device="cuda")
    hx = random_state(ref, torch.float64)
    hx = tuple(h.cuda() for h in hx) if isinstance(hx, tuple) else hx.cuda()
    for variable in (None, LENGTHS):
        got = outputs_and_grads(ours, x, hx, variable, False)
        expected = outputs_and_grads(ref, x, hx, variable, True)
        for a, b in zip(got, expected, strict=True):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


# ------------------------------------------------------------------ minGRU / minLSTM
MIN_CELLS = [MinGRU, MinLSTM]


@pytest.mark.parametrize("layer_cls", MIN_CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_min_layers_parallel_equals_sequential_with_lengths(
    layer_cls: type[RecurrentLayer], bidirectional: bool, batch_first: bool
) -> None:
    """The parallel scan (auto) and the step loop (reference) agree: outputs, states, gradients (f64)."""
    fast = layer_cls(I, H, 2, batch_first=batch_first, bidirectional=bidirectional, dtype=torch.float64)  # type: ignore[call-arg]
    slow = layer_cls(  # type: ignore[call-arg]
        I, H, 2, batch_first=batch_first, bidirectional=bidirectional, impl="reference", dtype=torch.float64
    )
    slow.load_state_dict(fast.state_dict())
    x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=torch.float64)
    h0 = torch.randn(2 * (2 if bidirectional else 1), B, H, dtype=torch.float64)
    for a, b in zip(
        outputs_and_grads(fast, x, h0, LENGTHS, False),
        outputs_and_grads(slow, x, h0, LENGTHS, False),
        strict=True,
    ):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("layer_cls", MIN_CELLS)
def test_min_layers_carry_state_one_step_at_a_time(layer_cls: type[RecurrentLayer]) -> None:
    """Feeding a sequence one step at a time with the carried state (generation) equals one parallel call."""
    layer = layer_cls(I, H, 2)  # type: ignore[call-arg]
    x = torch.randn(T, B, I)
    whole, state = layer(x)
    h = None
    steps = []
    for t in range(T):
        out, h = layer(x[t : t + 1], h)
        steps.append(out)
    torch.testing.assert_close(torch.cat(steps), whole, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h, state, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("layer_cls", MIN_CELLS)
def test_min_layers_packed_input_and_padding(layer_cls: type[RecurrentLayer]) -> None:
    """A PackedSequence equals padded input with lengths; garbage in the padding changes nothing."""
    layer = layer_cls(I, H, 2, bidirectional=True, dtype=torch.float64)  # type: ignore[call-arg]
    x = torch.randn(T, B, I, dtype=torch.float64)
    packed = pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
    out_packed, h_packed = layer(packed)
    out_padded, h_padded = layer(x, lengths=LENGTHS)
    torch.testing.assert_close(pad_packed_sequence(out_packed, total_length=T)[0], out_padded)
    torch.testing.assert_close(h_packed, h_padded)
    noisy = x.clone()
    pad = torch.arange(T).unsqueeze(1) >= LENGTHS.unsqueeze(0)
    noisy[pad] = 1e3
    out_noisy, h_noisy = layer(noisy, lengths=LENGTHS)
    torch.testing.assert_close(out_noisy, out_padded, atol=0, rtol=0)
    torch.testing.assert_close(h_noisy, h_padded, atol=0, rtol=0)


def test_min_layer_parameters_and_config_round_trip() -> None:
    """A min layer has W_ih and b_ih only (2H or 3H rows) and rebuilds from its JSON config."""
    gru, lstm = MinGRU(I, H, 2), MinLSTM(I, H)
    assert sorted(n for n, _ in gru.named_parameters()) == [
        "bias_ih_l0", "bias_ih_l1", "weight_ih_l0", "weight_ih_l1"
    ]  # fmt: skip
    assert gru.weight_ih_l0.shape == (2 * H, I) and lstm.weight_ih_l0.shape == (3 * H, I)
    config = RecurrentConfig.from_dict(json.loads(json.dumps(gru.config.to_dict())))
    rebuilt = RecurrentLayer.from_config(config)
    assert isinstance(rebuilt, MinGRU)
    rebuilt.load_state_dict(gru.state_dict())
    x = torch.randn(T, B, I)
    torch.testing.assert_close(rebuilt(x)[0], gru(x)[0])
    assert not gru.uses_fused()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"layer_norm": True}, "layer_norm"),
        ({"dropout_hidden": 0.1}, "dropout_hidden"),
        ({"weight_drop": 0.1}, "weight_drop"),
        ({"impl": "fused"}, "'auto'"),
        ({"impl": "compiled"}, "'auto'"),
    ],
)
def test_min_cells_refuse_options_on_the_missing_hidden_product(
    kwargs: dict[str, object], match: str
) -> None:
    """Options that act on W_hh (or kernels the min cells lack) raise ConfigError naming the fix."""
    with pytest.raises(ConfigError, match=match):
        RecurrentConfig(cell="mingru", input_size=2, hidden_size=2, **kwargs)  # type: ignore[arg-type]
