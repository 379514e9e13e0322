"""Package namespaces whose names load on first use (PEP 562).

A package lists ``name -> defining module`` and gets the module ``__getattr__``/``__dir__``
that import a module only when one of its names is first asked for::

    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)

so ``import rnnlab.scratch`` stays torch-free and ``rnnlab poem`` does not load the trainer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for names defined in ``exports``' modules."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return list(public)

    return __getattr__, __dir__
