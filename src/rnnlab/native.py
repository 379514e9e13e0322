"""The LSTM's time loop in C++ for the CPU: ``impl="compiled"`` for float32 LSTM layers there.

:mod:`rnnlab.compiled` fuses each step's pointwise work with Inductor, but the loop over time
stays in Python: per step a dictionary lookup, Inductor's wrapper, its kernel's dozen OpenMP
barriers and a product through ATen — about half of a layer-normalised LSTM's training time at
the benchmark shape went to everything but arithmetic. ``csrc/lstm_cpu.cpp`` runs a whole
sequence of one layer and direction in one call each way: MKL's prepacked GEMM for the per-step
products (the weight packed once per call) and one OpenMP loop over the batch rows per step,
which needs no barrier inside a step because every row's gates, norms and gradients depend on
that row alone. The equations are those of :mod:`rnnlab.kernels`, which stays the definition:
the tests check this loop against it and against ``torch.nn``.

The source is compiled on first use by Inductor's C++ toolchain (the compiler ``torch.compile``
needs on the CPU) and cached on disk. Where that or MKL's packed GEMM is missing, the layer runs
the Inductor-compiled steps instead (:func:`unavailable_reason` says why).
"""

from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass
from importlib import resources
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnlab.kernels import hidden_weight_gradient, state_gradient

# Bits of the kernels' `flags` (as in csrc/lstm_cpu.cpp)
IH, HH, CN, HM, MASK, BHH, IHB, CNB = 1, 2, 4, 8, 16, 32, 64, 128
_GEMM_SYMBOLS = ("cblas_sgemm_pack_get_size", "cblas_sgemm_pack", "cblas_sgemm_compute")

_FORWARD_ARGS = (
    ["const float*"] * 9 + ["const bool*"] + ["float*"] * 8
    + ["int64_t"] * 4 + ["float", "int64_t"] + ["uintptr_t"] * 3
)  # fmt: skip
_BACKWARD_ARGS = (
    ["const float*"] * 6 + ["const bool*"] + ["const float*"] * 6 + ["float*"] * 7
    + ["int64_t"] * 7 + ["uintptr_t"] * 3
)  # fmt: skip


@dataclass(frozen=True)
class _Loop:
    forward: Any  # the compiled entry points (Inductor's Python bindings)
    backward: Any
    gemm: tuple[int, int, int]  # addresses of MKL's packed-GEMM functions


def _gemm_addresses() -> tuple[int, int, int]:
    """MKL's packed-GEMM entry points as exported by libtorch_cpu (KeyError/OSError if absent)."""
    library = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
    addresses = [ctypes.cast(getattr(library, name), ctypes.c_void_p).value for name in _GEMM_SYMBOLS]
    if not all(addresses):
        raise OSError("libtorch_cpu has no MKL packed GEMM")
    a, b, c = (int(x) for x in addresses if x is not None)
    return a, b, c


@functools.cache
def _load() -> _Loop | str:
    """The compiled loop, or why it cannot be had (compiled once per process, cached on disk)."""
    from rnnlab.compiled import unavailable_reason

    reason = unavailable_reason("cpu")
    if reason is not None:
        return reason
    if not torch.backends.mkl.is_available():
        return "this PyTorch build has no MKL (the loop uses MKL's packed GEMM)"
    try:
        gemm = _gemm_addresses()
    except (OSError, AttributeError) as error:
        return f"MKL's packed GEMM is not exported by libtorch_cpu ({error})"
    source = resources.files("rnnlab").joinpath("csrc/lstm_cpu.cpp").read_text(encoding="utf-8")
    from torch._inductor.codecache import CppPythonBindingsCodeCache

    try:
        forward = CppPythonBindingsCodeCache.load_pybinding(
            _FORWARD_ARGS, "#define RNNLAB_LSTM_FORWARD 1\n" + source
        )
        backward = CppPythonBindingsCodeCache.load_pybinding(_BACKWARD_ARGS, source)
    except Exception as error:  # a compiler failure: say so, the Inductor steps still work
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"compiling csrc/lstm_cpu.cpp failed ({first})"
    return _Loop(forward, backward, gemm)


def unavailable_reason() -> str | None:
    """Why the C++ LSTM loop cannot run in this process, or None when it can."""
    loop = _load()
    return loop if isinstance(loop, str) else None


def supports(gx: Tensor, weight_hh: Tensor) -> bool:
    """Whether this loop computes an LSTM layer with these tensors (CPU float32 with a loop to run)."""
    return (
        gx.device.type == "cpu"
        and gx.dtype == torch.float32
        and weight_hh.dtype == torch.float32
        and gx.shape[0] > 0
        and unavailable_reason() is None
    )


def _c(t: Tensor | None, empty: Tensor) -> Tensor:
    """Contiguous float32 data for the kernel (an empty placeholder where the variant is off)."""
    return empty if t is None else t.detach().contiguous()


class NativeLSTMScan(torch.autograd.Function):
    """The LSTM's time loop with its hand-written BPTT, both in C++ (see the module docstring).

    Inputs and outputs as ``rnnlab.recurrence._BPTTScan`` for an LSTM: (outputs (T, B, H),
    h_T, C_T), gradients for gx, h0, c0, W_hh, b_hh and the norms' γ and β.
    """

    @staticmethod
    def forward(
        ctx: Any,
        eps: float,
        mask: Tensor | None,
        gx: Tensor,
        h0: Tensor,
        c0: Tensor,
        weight_hh: Tensor,
        bias_hh: Tensor | None,
        hmask: Tensor | None,
        hh_w: Tensor | None,
        c_w: Tensor | None,
        c_b: Tensor | None,
        ih_w: Tensor | None,
        ih_b: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        loop = _load()
        assert isinstance(loop, _Loop)
        steps, batch, gates = gx.shape
        hidden = gates // 4
        variants = [(ih_w, IH), (hh_w, HH), (c_w, CN), (c_b, CNB), (hmask, HM), (mask, MASK)]
        flags = sum(bit for tensor, bit in [*variants, (bias_hh, BHH), (ih_b, IHB)] if tensor is not None)
        empty = gx.new_empty(0)
        gx = gx.detach().contiguous()
        weight = weight_hh.detach().contiguous()
        mask_rows = empty.bool() if mask is None else mask.reshape(steps, batch).contiguous()
        states = gx.new_empty(steps + 1, batch, hidden)
        cells = gx.new_empty(steps + 1, batch, hidden)
        states[0], cells[0] = h0, c0
        h_run = h0.detach().contiguous().clone()
        h_in = h_run.clone() if hmask is None else (h_run * hmask).contiguous()
        gh = gx.new_empty(steps if hh_w is not None else 1, batch, gates)
        act = gx.new_empty(steps, batch, gates)
        tanh_c = gx.new_empty(steps, batch, hidden)
        stats = gx.new_empty(steps, batch, 6)
        threads = torch.get_num_threads()
        hm, hw, cw, iw = (_c(t, empty) for t in (hmask, hh_w, c_w, ih_w))
        loop.forward(
            gx, weight, _c(bias_hh, empty), hw, cw, _c(c_b, empty), iw, _c(ih_b, empty), hm, mask_rows,
            states, cells, h_run, h_in, gh, act, tanh_c, stats,
            steps, batch, hidden, flags, float(eps), threads, *loop.gemm,
        )  # fmt: skip
        ctx.flags, ctx.threads = flags, threads
        ctx.save_for_backward(gx, weight, states, cells, gh, act, tanh_c, stats, mask_rows, hm, hw, cw, iw)
        c_last = cells[steps].clone()
        return states[1:], h_run, c_last

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, d_outputs: Tensor, d_h_last: Tensor, d_c_last: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        loop = _load()
        assert isinstance(loop, _Loop)
        gx, weight, states, cells, gh, act, tanh_c, stats, mask_rows, hmask, hh_w, c_w, ih_w = (
            ctx.saved_tensors
        )
        flags, threads = ctx.flags, ctx.threads
        steps, batch, gates = gx.shape
        hidden = gates // 4
        # (eps, mask, gx, h0, c0, W_hh, b_hh, hmask, γ_h, γ_c, β_c, γ_x, b_ih)
        needs = ctx.needs_input_grad
        need_bias = bool(needs[6] and flags & BHH)
        need_ih_bias = bool(needs[12] and flags & IHB)
        d_out = d_outputs.contiguous()
        dh_keep = d_h_last.contiguous().clone()
        dc = torch.zeros_like(dh_keep) if d_c_last is None else d_c_last.contiguous().clone()
        dh_mm = torch.zeros_like(dh_keep)
        d_gx = gx.new_empty(steps, batch, gates)
        same = not flags & (IH | HH)  # ∂L/∂gh_raw is ∂L/∂gx without the norms
        d_raw = d_gx if same else torch.empty_like(d_gx)
        sums = gx.new_zeros(threads, 4 * gates + 2 * hidden)
        scratch = gx.new_empty(threads, gates + hidden)
        loop.backward(
            gx, weight, hh_w, c_w, ih_w, hmask, mask_rows, gh, act, tanh_c, stats, cells, d_out,
            dh_mm, dh_keep, dc, d_gx, d_raw, scratch, sums,
            steps, batch, hidden, flags, int(need_bias), int(need_ih_bias), threads, *loop.gemm,
        )  # fmt: skip
        # the threads' sums of ∂b_hh, ∂γ_h, ∂γ_x, ∂b_ih (G each), ∂γ_c, ∂β_c (H each) (the kernel's layout)
        d_bhh, d_hh, d_ih, d_bih, d_cw, d_cb = sums.sum(0).split([gates] * 4 + [hidden] * 2)
        hmask_or_none = hmask if flags & HM else None
        d_weight = hidden_weight_gradient(d_raw, states, hmask_or_none) if needs[5] else None
        return (
            None, None, d_gx, state_gradient(dh_mm, dh_keep, hmask_or_none), dc, d_weight,
            d_bhh if need_bias else None, None,
            d_hh if flags & HH else None,
            d_cw if flags & CN else None,
            d_cb if flags & CNB else None,
            d_ih if flags & IH else None,
            d_bih if need_ih_bias else None,
        )  # fmt: skip
