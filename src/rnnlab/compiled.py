"""``impl="compiled"``: the step kernels of :mod:`rnnlab.kernels` fused by ``torch.compile``.

Each time step of the hand-written BPTT is one matrix product and one call into a kernel
function. Eagerly that call is a dozen small operations (each a pass over memory and, on
a GPU, a launch); compiled, it is one C++/OpenMP loop on the CPU or one Triton kernel on
the GPU. The time loop itself stays in Python: unrolling it into one graph would compile
for minutes and again for every sequence length.

On the CPU only the backward kernels are compiled (see ``COMPILED_PARTS``). Compilation
happens on the first call of each kernel with new shapes or variants (tens of
seconds on a CPU, a few on a GPU). Where ``torch.compile`` cannot work — no C++ compiler
for the CPU, no Triton for the GPU, a platform Dynamo does not support — or where it fails,
the layer warns once, naming the reason and the fix, and runs the same kernels eagerly.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import torch

from rnnlab.kernels import EAGER, KernelSet

RECOMPILE_LIMIT = 64  # compiled variants per kernel (Dynamo's default is 8)


@functools.cache
def unavailable_reason(device_type: str) -> str | None:
    """Why ``torch.compile`` cannot build kernels for this device type, or None when it can."""
    import torch._dynamo

    if not torch._dynamo.is_dynamo_supported():
        return "torch.compile does not support this Python version or platform"
    if device_type == "cuda":
        from torch.utils._triton import has_triton

        return None if has_triton() else "Triton is not installed (torch.compile needs it for CUDA kernels)"
    if device_type == "cpu":
        try:
            from torch._inductor.cpp_builder import get_cpp_compiler

            get_cpp_compiler()
        except Exception:  # what raises depends on the torch version; any failure means no compiler
            return "no C++ compiler found (torch.compile builds C++ for the CPU; set CXX or install g++)"
        return None
    return f"rnnlab compiles kernels for 'cpu' and 'cuda' only, not {device_type!r}"


class _Guarded:
    """A compiled kernel that falls back to its eager twin, with one warning, if compiling fails."""

    def __init__(self, eager: Callable[..., Any]) -> None:
        self.eager = eager
        self.compiled: Callable[..., Any] = torch.compile(eager, fullgraph=True)
        self.failed = False

    def __call__(self, *args: Any) -> Any:
        if self.failed:
            return self.eager(*args)
        try:
            return self.compiled(*args)
        except Exception as error:  # a compiler or backend failure: keep training, say why
            if not _recompile_limit(error):
                return self._give_up(error, args)
        # Past Dynamo's limit of 8 variants per function. Each kernel is specialised per dtype,
        # mask, variant and (once) batch size, and a process that runs many configurations (a test
        # suite, a benchmark) needs more. The raised limit matters only while compiling: later
        # calls find the variant among the cached ones without it.
        import torch._dynamo

        try:
            with torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT):
                return self.compiled(*args)
        except Exception as error:
            if _recompile_limit(error):
                return self.eager(*args)  # this variant only; the compiled ones keep running
            return self._give_up(error, args)

    def _give_up(self, error: Exception, args: tuple[Any, ...]) -> Any:
        self.failed = True
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        warnings.warn(
            f"torch.compile failed for {self.eager.__name__} ({type(error).__name__}: {first_line}); "
            "running the eager kernels instead. Use impl='reference' to skip compiling",
            RuntimeWarning,
            stacklevel=3,
        )
        return self.eager(*args)


def _recompile_limit(error: Exception) -> bool:
    """Dynamo's refusal to compile another variant (matched by name: importing Dynamo is slow)."""
    return type(error).__name__ == "FailOnRecompileLimitHit"


# Which kernels are worth compiling, per device type. Measured on a 2-core Sapphire Rapids
# (docs/speed.md): Inductor's C++ exp/tanh (Sleef) run several times slower than ATen's, which
# outweighs the fusion in the forward kernels (sigmoid and tanh of every gate), while the
# backward kernels — products and sums only — run 2–3× faster fused. On a GPU every launch
# saved counts, so both are compiled.
COMPILED_PARTS: dict[str, tuple[str, ...]] = {"cpu": ("backward",), "cuda": ("forward", "backward")}


@functools.cache
def _compiled_set(device_type: str) -> KernelSet:
    """One wrapper per kernel and device type for the whole process (Dynamo caches per code object)."""
    parts = COMPILED_PARTS.get(device_type, ("forward", "backward"))
    kernels = []
    for f in fields(KernelSet):
        eager = getattr(EAGER, f.name)
        kernels.append(_Guarded(eager) if f.name.rsplit("_", 1)[1] in parts else eager)
    return KernelSet(*kernels)


def compiled_kernels(device: torch.device) -> KernelSet:
    """The compiled kernels for ``device``, or the eager ones with a warning saying why not."""
    reason = unavailable_reason(device.type)
    if reason is not None:
        warnings.warn(
            f"impl='compiled' runs the eager kernels: {reason}. Fix that to compile, or use "
            "impl='reference' (the same kernels, eager) to silence this warning",
            RuntimeWarning,
            stacklevel=3,
        )
        return EAGER
    return _compiled_set(device.type)
