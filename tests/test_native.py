"""The C++ LSTM time loop (rnnlab.native) against the hand-written BPTT it reimplements and torch.nn."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from rnnlab import native
from rnnlab.layers import LSTM
from rnnlab.recurrence import ScanExtras, scan
from tests.test_layers import LENGTHS, B, I, T, outputs_and_grads, random_state

pytestmark = pytest.mark.skipif(
    native.unavailable_reason() is not None, reason=str(native.unavailable_reason())
)


def _norm(size: int, bias: bool, gen: torch.Generator) -> nn.LayerNorm:
    norm = nn.LayerNorm(size, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        norm.weight.copy_(torch.rand(size, generator=gen, dtype=torch.float64) + 0.5)
        if norm.bias is not None:
            norm.bias.copy_(torch.randn(size, generator=gen, dtype=torch.float64))
    return norm


def _problem(
    steps: int, batch: int, hidden: int, norms: bool, dropout: bool, lengths: bool, bias: bool, seed: int = 0
) -> tuple[list[torch.Tensor], ScanExtras, torch.Tensor | None]:
    """float64 leaves (gx, h0, c0, W_hh, b_hh) and the variants' tensors, every one random."""
    gen = torch.Generator().manual_seed(seed)
    gates = 4 * hidden

    def leaf(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).requires_grad_()

    leaves = [
        leaf(steps, batch, gates),
        leaf(batch, hidden),
        leaf(batch, hidden),
        leaf(gates, hidden, scale=hidden**-0.5),
    ]
    leaves.append(leaf(gates) if bias else None)  # type: ignore[arg-type]
    extras = ScanExtras()
    if norms:
        extras.ih_norm, extras.hh_norm = _norm(gates, False, gen), _norm(gates, False, gen)
        extras.cell_norm, extras.ih_bias = _norm(hidden, bias, gen), leaf(gates)
    if dropout:
        extras.hidden_mask = (torch.rand(batch, hidden, generator=gen) > 0.3).double() / 0.7
    mask = None
    if lengths:
        length = torch.randint(1, steps + 1, (batch,), generator=gen)
        length[0] = steps
        mask = (torch.arange(steps)[:, None] < length[None, :]).unsqueeze(-1)
    return leaves, extras, mask


def _extras_to(extras: ScanExtras, dtype: torch.dtype) -> ScanExtras:
    """The same variants in another dtype, as new leaves (so their gradients are separate)."""
    out = ScanExtras()
    for name in ("ih_norm", "hh_norm", "cell_norm"):
        norm = getattr(extras, name)
        if norm is not None:
            copy = nn.LayerNorm(norm.normalized_shape, bias=norm.bias is not None, dtype=dtype)
            copy.load_state_dict(norm.state_dict())
            setattr(out, name, copy)
    if extras.ih_bias is not None:
        out.ih_bias = extras.ih_bias.detach().to(dtype).requires_grad_()
    if extras.hidden_mask is not None:
        out.hidden_mask = extras.hidden_mask.to(dtype)
    return out


def _run(
    leaves: list[torch.Tensor],
    extras: ScanExtras,
    mask: torch.Tensor | None,
    dtype: torch.dtype,
    use_native: bool,
) -> list[torch.Tensor]:
    """Outputs, final states and the gradients of a fixed random loss w.r.t. every input."""
    xs = [None if t is None else t.detach().to(dtype).requires_grad_() for t in leaves]
    ex = _extras_to(extras, dtype)
    gx, h0, c0, w, b = xs
    out, h, c = scan("lstm", gx, h0, c0, w, b, mask, extras=ex, native=use_native)  # type: ignore[arg-type]
    assert c is not None
    assert (type(out.grad_fn).__name__ == "NativeLSTMScanBackward") == use_native
    gen = torch.Generator().manual_seed(1)
    loss = sum(
        (t * torch.randn(t.shape, generator=gen, dtype=torch.float64).to(dtype)).sum() for t in (out, h, c)
    )
    params = [t for t in xs if t is not None]
    params += [p for n in (ex.ih_norm, ex.hh_norm, ex.cell_norm) if n is not None for p in n.parameters()]
    params += [] if ex.ih_bias is None else [ex.ih_bias]
    grads = torch.autograd.grad(loss, params)  # type: ignore[arg-type]
    return [out.detach(), h.detach(), c.detach(), *grads]


VARIANTS = list(itertools.product([False, True], repeat=4))


@pytest.mark.parametrize("norms,dropout,lengths,bias", VARIANTS)
@pytest.mark.parametrize("hidden", [5, 16, 37])
def test_native_loop_equals_the_reference_bptt(
    norms: bool, dropout: bool, lengths: bool, bias: bool, hidden: int
) -> None:
    """Every variant (three layer norms with and without β, variational dropout on h, lengths, b_hh)
    and hidden sizes with partial vectors: the C++ loop's outputs, states and gradients are the
    float64 reference BPTT's (rnnlab.kernels) to float32 accuracy, as close as the same BPTT in float32."""
    leaves, extras, mask = _problem(7, 6, hidden, norms, dropout, lengths, bias)
    exact = _run(leaves, extras, mask, torch.float64, use_native=False)
    fast = _run(leaves, extras, mask, torch.float32, use_native=True)
    slow = _run(leaves, extras, mask, torch.float32, use_native=False)
    for e, f, s in zip(exact, fast, slow, strict=True):
        error, reference_error = (f.double() - e).abs().max().item(), (s.double() - e).abs().max().item()
        assert error <= max(4 * reference_error, 1e-6), (error, reference_error)


def test_native_loop_without_gradients_gives_the_same_outputs() -> None:
    """Under no_grad the loop runs forward only and returns what the training call returns."""
    leaves, extras, mask = _problem(9, 4, 8, True, True, True, True)
    with_grad = _run(leaves, extras, mask, torch.float32, use_native=True)[:3]
    xs = [None if t is None else t.detach().float() for t in leaves]
    with torch.no_grad():
        out, h, c = scan("lstm", *xs, mask, extras=_extras_to(extras, torch.float32), native=True)  # type: ignore[misc]
    for a, b in zip(with_grad, (out, h, c), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_compiled_lstm_runs_the_native_loop_and_matches_torch_nn(bidirectional: bool) -> None:
    """impl='compiled' on the CPU in float32: 2 layers, lengths, the packed API — torch.nn.LSTM's
    outputs, states and gradients, through the C++ loop (its backward node is in the graph)."""
    torch.manual_seed(0)
    ref = nn.LSTM(I, 5, num_layers=2, bidirectional=bidirectional)
    ours = LSTM(I, 5, num_layers=2, bidirectional=bidirectional, impl="compiled")
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(T, B, I)
    hx = random_state(ref, torch.float32)
    expected = outputs_and_grads(ref, x, hx, LENGTHS, packed_api=True)
    for packed in (False, True):
        got = outputs_and_grads(ours, x, hx, LENGTHS, packed_api=packed)
        for p, q in zip(got, expected, strict=True):
            torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-5)
    out, _ = ours(x.requires_grad_())
    assert _has_native_node(out)


def test_one_thread_and_two_give_the_same_result() -> None:
    """The parameter sums are added per thread and then together: the thread count changes only the
    order of float32 additions."""
    leaves, extras, mask = _problem(6, 9, 12, True, False, True, True)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _run(leaves, extras, mask, torch.float32, use_native=True)
        torch.set_num_threads(2)
        two = _run(leaves, extras, mask, torch.float32, use_native=True)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(one, two, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_other_dtypes_and_an_unavailable_loop_take_the_step_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """float64 is not the loop's (it is float32 only), and where it cannot be built the layer runs
    the per-step kernels with the same results."""
    leaves, extras, mask = _problem(4, 3, 6, True, True, True, True)
    xs = [None if t is None else t.detach() for t in leaves]
    out, _, _ = scan("lstm", *xs, mask, extras=extras, native=True)  # type: ignore[misc]
    assert type(out.grad_fn).__name__ == "_BPTTScanBackward"  # the per-step kernels' BPTT
    native_result = _run(leaves, extras, mask, torch.float32, use_native=True)
    monkeypatch.setattr(native, "_load", lambda: "no compiler in this test")
    assert native.unavailable_reason() == "no compiler in this test"
    assert not native.supports(torch.zeros(1, 1, 4), torch.zeros(4, 1))
    step_result = _run(leaves, extras, mask, torch.float32, use_native=False)
    for a, b in zip(native_result, step_result, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def _has_native_node(out: torch.Tensor) -> bool:
    """Whether the autograd graph behind ``out`` holds the C++ loop's backward node."""
    nodes, seen = [out.grad_fn], set()
    while nodes:
        node = nodes.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        nodes += [n for n, _ in node.next_functions]
    return any(type(n).__name__ == "NativeLSTMScanBackward" for n in seen)


def test_auto_takes_the_native_loop_for_variants_but_not_for_single_steps() -> None:
    """impl='auto' (the default) sends a layer-normalised float32 LSTM over a sequence to the C++ loop,
    with the reference path's results; a single step (generation) stays on the per-step kernels."""
    torch.manual_seed(0)
    auto = LSTM(I, 6, num_layers=2, layer_norm=True, dropout_hidden=0.2)
    reference = LSTM(I, 6, num_layers=2, layer_norm=True, dropout_hidden=0.2, impl="reference")
    reference.load_state_dict(auto.state_dict())
    x = torch.randn(T, B, I)
    results = []
    for layer in (auto, reference):
        torch.manual_seed(1)  # the same dropout masks
        out, (h, c) = layer(x.clone().requires_grad_(), lengths=LENGTHS)
        results.append(_has_native_node(out))
        grads = torch.autograd.grad((out * out).sum() + h.sum() + c.sum(), list(layer.parameters()))
        results.append([out, h, c, *grads])
    assert results[0] and not results[2]
    for a, b in zip(results[1], results[3], strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    out, _ = auto(torch.randn(1, B, I))
    assert not _has_native_node(out)
