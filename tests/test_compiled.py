"""impl='compiled': whole steps compiled by Inductor, the fallbacks, and (opt-in) the full parity grid.

Compiling on the CPU takes seconds per step signature, so the always-on tests compile one LSTM
with every variant at once. ``RNNLAB_COMPILE_GRID=1 pytest tests/test_compiled.py`` also runs the
parity grid of tests/test_layers.py on the compiled path (a minute or two with an empty cache).
"""

from __future__ import annotations

import os
import warnings

import pytest
import torch

import tests.test_layers as layer_tests
from rnnlab import compiled, native
from rnnlab.kernels import EAGER
from rnnlab.layers import RecurrentConfig, RecurrentLayer
from tests.test_layers import (
    GRID,
    LENGTHS,
    B,
    I,
    T,
    make_pair,
    outputs_and_grads,
    random_state,
    variant_layer,
)

needs_compiler = pytest.mark.skipif(
    compiled.unavailable_reason("cpu") is not None, reason=str(compiled.unavailable_reason("cpu"))
)


DEVICE_CASES = [
    ("cpu", "lstm", True),
    ("cpu", "lstm", False),
    ("cuda", "lstm", False),
    ("cuda", "gru", False),
]


@pytest.mark.parametrize(
    "device,cell,loop",
    DEVICE_CASES,
    ids=[f"{d}-{c}{'-native-loop' if n else ''}" for d, c, n in DEVICE_CASES],
)
def test_compiled_variants_equal_the_autograd_definition(
    device: str, cell: str, loop: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Layer norm, variational dropout, lengths, 2 layers, both directions: the compiled path gives the
    autograd loop's outputs, states and gradients (float32, 1e-5). CPU: the LSTM's C++ time loop
    (rnnlab.native) and, without it, the Inductor-compiled steps; GPU: Triton."""
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    reason = compiled.unavailable_reason(device) or (native.unavailable_reason() if loop else None)
    if reason is not None:
        pytest.skip(reason)
    if not loop:
        monkeypatch.setattr(native, "supports", lambda gx, weight_hh: False)
    fast = variant_layer(cell, "compiled", torch.float32, layer_norm=True, dropout_hidden=0.3).to(device)
    slow = variant_layer(cell, "autograd", torch.float32, layer_norm=True, dropout_hidden=0.3).to(device)
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(T, B, I, device=device)
    hx = random_state(make_pair(cell, torch.float32, num_layers=2, bidirectional=True)[1], torch.float32)
    hx = tuple(h.to(device) for h in hx) if isinstance(hx, tuple) else hx.to(device)
    results = []
    for layer in (fast, slow):
        torch.manual_seed(3)
        results.append(outputs_and_grads(layer, x, hx, LENGTHS, packed_api=False))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def _lstm_step_args(batch: int, hidden: int = 4) -> tuple[object, ...]:
    """Arguments of kernels.lstm_step_forward with every variant on (mask, dropout, the three norms)."""
    h = hidden
    return (
        torch.empty(batch, h), torch.randn(batch, 4 * h), torch.randn(batch, h), torch.randn(4 * h, h).t(),
        torch.randn(batch, h), torch.randn(batch, h), torch.rand(batch, 1) > 0.3, torch.full((batch, h), 2.0),
        None, torch.rand(4 * h) + 0.5, torch.rand(h) + 0.5, torch.randn(h),
        torch.rand(4 * h) + 0.5, torch.randn(4 * h), 1e-5,
    )  # fmt: skip


def _run(kernel: object, args: tuple[object, ...]) -> list[torch.Tensor]:
    """The step's returned tensors and the output it wrote into its slot (args[0])."""
    with torch.no_grad():
        returned = kernel(*args)  # type: ignore[operator]
    return [args[0].clone(), *torch.utils._pytree.tree_leaves(returned)]  # type: ignore[attr-defined]


@needs_compiler
def test_a_whole_step_compiles_once_per_signature_and_equals_eager() -> None:
    """The LSTM step (product, norms, mask, dropout, output slot) compiled without Dynamo computes
    the eager step's values; a repeated signature reuses its graph, a new batch size adds one."""
    from rnnlab import kernels

    step = compiled._Specialised(kernels.lstm_step_forward)
    for batch in (3, 3, 5):
        torch.manual_seed(batch)
        args = _lstm_step_args(batch)
        got = _run(step, args)
        torch.manual_seed(batch)
        expected = _run(kernels.lstm_step_forward, _lstm_step_args(batch))
        for a, e in zip(got, expected, strict=True):
            torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-5)
    assert not step.failed and len(step.graphs) == 2


def test_past_the_signature_limit_new_signatures_go_through_dynamo(monkeypatch: pytest.MonkeyPatch) -> None:
    """After SIGNATURE_LIMIT exact signatures, a new one is handed to the Dynamo wrapper (one graph
    with dynamic shapes) instead of compiling yet another specialised graph."""
    monkeypatch.setattr(compiled, "SIGNATURE_LIMIT", 1)
    step = compiled._Specialised(torch.add)  # type: ignore[arg-type]
    step._compile = lambda structure, tensors: (lambda *t: (t[0] + t[1],), (compiled._LEAF,))  # type: ignore[method-assign]
    handed: list[int] = []
    step.dynamo = lambda *args: handed.append(len(args)) or "dynamo"  # type: ignore[assignment]
    a = torch.ones(2)
    torch.testing.assert_close(step(a, a)[0], a + a)  # the first signature is compiled
    assert step(torch.ones(3), torch.ones(3)) == "dynamo" and handed == [2]
    torch.testing.assert_close(step(a, a)[0], a + a)  # the compiled one keeps serving its signature


def test_a_failing_trace_warns_once_and_runs_eagerly() -> None:
    """If tracing or Inductor raises, the step warns naming the error, runs eagerly, and never retries."""
    step = compiled._Specialised(torch.add)  # type: ignore[arg-type]

    def broken(structure: object, tensors: object) -> object:
        raise RuntimeError("lowering exploded\nstack trace")

    step._compile = broken  # type: ignore[method-assign]
    a, b = torch.ones(2), torch.full((2,), 2.0)
    with pytest.warns(RuntimeWarning, match="RuntimeError: lowering exploded"):
        torch.testing.assert_close(step(a, b), a + b)
    assert step.failed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.testing.assert_close(step(torch.ones(3), torch.ones(3)), torch.full((3,), 2.0))


def test_unavailable_compiler_falls_back_to_eager_kernels_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a compiler, impl='compiled' warns with the reason and the fix, and computes the same."""
    monkeypatch.setattr(compiled, "unavailable_reason", lambda device_type: "no C++ compiler found")
    with pytest.warns(RuntimeWarning, match=r"no C\+\+ compiler found.*impl='reference'"):
        assert compiled.compiled_kernels(torch.device("cpu")) is EAGER
    ours, ref = make_pair("gru", impl="compiled", num_layers=2)
    x = torch.randn(T, B, I, dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="runs the eager kernels"):
        got = ours(x)
    torch.testing.assert_close(got[0], ref(x)[0])


def test_a_failing_compilation_warns_once_and_runs_eagerly() -> None:
    """If torch.compile raises (a backend failure), the kernel warns naming the error and falls back."""
    guarded = compiled._Guarded(torch.add)  # type: ignore[arg-type]

    def broken(*args: object) -> object:
        raise RuntimeError("backend exploded\nstack trace")

    guarded.compiled = broken
    a, b = torch.ones(2), torch.full((2,), 2.0)
    with pytest.warns(RuntimeWarning, match="RuntimeError: backend exploded"):
        torch.testing.assert_close(guarded(a, b), a + b)
    assert guarded.failed
    torch.testing.assert_close(guarded(a, b), a + b)  # no second attempt, no second warning


def test_past_the_recompile_limit_one_more_variant_compiles_or_runs_eagerly() -> None:
    """Dynamo's limit of 8 variants is raised for one more compile; past that, the variant runs
    eagerly without a warning and the kernel stays compiled for the others."""

    class FailOnRecompileLimitHit(Exception):  # Dynamo's exception, matched by name
        pass

    calls: list[str] = []

    def limited(*args: object) -> object:
        calls.append("compiled")
        if len(calls) < 4:
            raise FailOnRecompileLimitHit("recompile_limit reached")
        return "compiled result"

    guarded = compiled._Guarded(torch.add)  # type: ignore[arg-type]
    guarded.compiled = limited
    a = torch.ones(2)
    torch.testing.assert_close(guarded(a, a), a + a)  # both tries hit the limit: eager, no warning
    assert guarded(a, a) == "compiled result"  # the first try hits it, the raised limit compiles
    assert not guarded.failed and calls == ["compiled"] * 4


def test_compiled_is_refused_for_the_min_cells() -> None:
    """The min cells have no step kernels to compile: the config says which impls they take."""
    from rnnlab.errors import ConfigError

    with pytest.raises(ConfigError, match="'auto'"):
        RecurrentLayer.from_config(RecurrentConfig("minlstm", 2, 2, impl="compiled"))


@pytest.mark.skipif(
    os.environ.get("RNNLAB_COMPILE_GRID") != "1", reason="set RNNLAB_COMPILE_GRID=1 (a minute or two)"
)
@needs_compiler
@pytest.mark.parametrize("cell,num_layers,bidirectional,batch_first,variable,impl,dtype", GRID)
def test_compiled_parity_grid(
    cell: str,
    num_layers: int,
    bidirectional: bool,
    batch_first: bool,
    variable: bool,
    impl: str,
    dtype: torch.dtype,
) -> None:
    """The parity grid of test_layers on the compiled path: torch.nn's outputs and gradients."""
    if impl != "reference":
        pytest.skip("one compiled run per grid point")
    warnings.simplefilter("error", RuntimeWarning)  # a fallback to the eager kernels fails the test
    layer_tests.test_parity_with_torch_nn(
        cell, num_layers, bidirectional, batch_first, variable, "compiled", dtype
    )
