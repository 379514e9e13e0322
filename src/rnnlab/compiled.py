"""``impl="compiled"``: the whole-step functions of :mod:`rnnlab.kernels` compiled by Inductor.

Each time step of the hand-written BPTT is one call: the hidden product and the pointwise
work forward; the pointwise derivative, the product that carries the gradient back and the
running parameter sums backward. Eagerly such a call is a dozen small operations (each a
pass over memory and, on a GPU, a launch); compiled, it is the matrix product and one
C++/OpenMP loop on the CPU, or one Triton kernel on the GPU. The time loop itself stays in
Python: unrolling it into one graph would compile for minutes and again for every length.

The step functions are compiled once per exact signature and called without Dynamo
(:class:`_Specialised`): at a hundred-odd microseconds of work per step, Dynamo's guards
and wrappers were a tenth of the time. Compilation happens on the first call with new
shapes or variants (seconds on a CPU, a few on a GPU; Inductor caches them on disk). Where
``torch.compile`` cannot work — no C++ compiler for the CPU, no Triton for the GPU, a
platform Dynamo does not support — or where it fails, the layer warns once, naming the
reason and the fix, and runs the same functions eagerly. (A float32 LSTM on the CPU skips
these steps for the C++ time loop of :mod:`rnnlab.native`, which has no per-step Python.)
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Hashable, Iterator
from dataclasses import fields
from typing import Any

import torch
from torch import Tensor

from rnnlab.kernels import EAGER, KernelSet

RECOMPILE_LIMIT = 64  # compiled variants per kernel (Dynamo's default is 8)
SIGNATURE_LIMIT = 8  # exact signatures per kernel compiled without Dynamo; the rest go through Dynamo


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

    def __init__(self, eager: Callable[..., Any], options: dict[str, Any] | None = None) -> None:
        self.eager = eager
        self.compiled: Callable[..., Any] = torch.compile(eager, fullgraph=True, options=options)
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
        _warn_fallback(self.eager, error, stacklevel=3)
        return self.eager(*args)


class _Specialised:
    """A kernel compiled by Inductor once per exact signature and called without Dynamo.

    Dynamo's guards and its wrappers cost tens of microseconds per call, a large share of a
    step whose pointwise work takes about a hundred. The kernels are pure functions of their
    tensors, so each signature (shapes, strides, dtypes, devices, which arguments are None, the
    constants) is traced once with ``make_fx`` and compiled with ``torch._inductor.compile``, and
    a dictionary lookup replaces the guards. Past ``SIGNATURE_LIMIT`` signatures (a batch size
    per length bucket, say) the rest go through Dynamo, whose dynamic shapes serve them all with
    one graph; if compiling fails, the kernel warns once and runs eagerly.
    """

    def __init__(self, eager: Callable[..., Any], options: dict[str, Any] | None = None) -> None:
        self.eager = eager
        self.options = options or {}  # Inductor's settings
        self.dynamo = _Guarded(eager, self.options)
        self.graphs: dict[Hashable, tuple[Callable[..., Any], Any]] = {}
        self.failed = False

    def __call__(self, *args: Any) -> Any:
        tensors: list[Tensor] = []
        structure = _flatten(args, tensors)
        # The step functions are called by the time loops with grad disabled (inside the BPTT's
        # autograd.Function, or where nothing needs a gradient), so no no_grad context here.
        key = (structure, tensors[0].device, *[(t.shape, t.stride(), t.dtype) for t in tensors])
        entry = self.graphs.get(key)
        if entry is None:
            if self.failed:
                return self.eager(*args)
            if len(self.graphs) >= SIGNATURE_LIMIT:
                return self.dynamo(*args)
            try:
                entry = self.graphs[key] = self._compile(structure, tensors)
            except Exception as error:  # a tracer or compiler failure: keep training, say why
                self.failed = True
                _warn_fallback(self.eager, error, stacklevel=3)
                return self.eager(*args)
        graph, out_structure = entry
        return _unflatten(out_structure, iter(graph(*tensors)))

    def _compile(self, structure: tuple[Any, ...], tensors: list[Tensor]) -> tuple[Callable[..., Any], Any]:
        from torch.fx.experimental.proxy_tensor import make_fx

        out_structures: list[tuple[Any, ...]] = []

        def flat(*leaves: Tensor) -> list[Tensor]:
            outputs: list[Tensor] = []
            out_structures.append(_flatten(self.eager(*_unflatten(structure, iter(leaves))), outputs))
            return outputs

        with torch.no_grad():
            inputs: list[Any] = list(tensors)
            graph = torch._inductor.compile(make_fx(flat)(*tensors), inputs, options=self.options)
        return graph, out_structures[0]


_LEAF = object()  # a tensor's place in a flattened argument structure


def _flatten(tree: tuple[Any, ...], tensors: list[Tensor]) -> tuple[Any, ...]:
    """The structure of nested tuples of tensors, None and constants, its tensors appended to ``tensors``.

    Called at every time step, so plain loops rather than a general pytree library.
    """
    structure = []
    for x in tree:
        if isinstance(x, Tensor):
            tensors.append(x)
            structure.append(_LEAF)
        elif isinstance(x, tuple):
            structure.append(_flatten(x, tensors))
        else:
            structure.append(x)
    return tuple(structure)


def _unflatten(structure: tuple[Any, ...], tensors: Iterator[Tensor]) -> tuple[Any, ...]:
    """The nested tuples of :func:`_flatten` with its tensors put back in order."""
    return tuple(
        next(tensors) if s is _LEAF else (_unflatten(s, tensors) if isinstance(s, tuple) else s)
        for s in structure
    )


def _warn_fallback(eager: Callable[..., Any], error: Exception, stacklevel: int) -> None:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    warnings.warn(
        f"torch.compile failed for {eager.__name__} ({type(error).__name__}: {first_line}); "
        "running the eager kernels instead. Use impl='reference' to skip compiling",
        RuntimeWarning,
        stacklevel=stacklevel + 1,
    )


def _recompile_limit(error: Exception) -> bool:
    """Dynamo's refusal to compile another variant (matched by name: importing Dynamo is slow)."""
    return type(error).__name__ == "FailOnRecompileLimitHit"


# Inductor's settings per device type. On the CPU its vectorised tanh (Sleef's, within 1 ulp)
# takes about five times as long as ATen's; written as 2σ(2x) − 1 it costs one exp and stays
# within 2e-7 of tanh, and the fused forward step gains about 3% (docs/speed.md).
INDUCTOR_OPTIONS: dict[str, dict[str, Any]] = {"cpu": {"cpp.use_decompose_tanh": True}}


@functools.cache
def _compiled_set(device_type: str) -> KernelSet:
    """One wrapper per kernel and device type for the whole process (each caches its graphs)."""
    options = INDUCTOR_OPTIONS.get(device_type, {})
    return KernelSet(*(_Specialised(getattr(EAGER, f.name), options) for f in fields(KernelSet)))


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
