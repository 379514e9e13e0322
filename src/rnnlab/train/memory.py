"""Keep freed host memory mapped during CPU training, so each step reuses its pages.

A training step on a CPU allocates the same large tensors every time: oneDNN's LSTM workspace
(182 MB a layer for the bundled poet's recipe, T=64 B=128 H=384), gate and gradient buffers, the
logits of a textbook loss. PyTorch's CPU allocator is glibc's ``malloc``, which serves blocks
above its mmap threshold (at most 32 MB) with a fresh ``mmap`` and gives them back with
``munmap`` on free; every step then takes one page fault per 4 KiB it touches, and the kernel
zeroes each page. Measured on the poet's recipe (2 threads): 88,000 faults and 0.24 s of
system time a step, 1.03 s a step against 0.91 s with the pages kept; the textbook torch.nn
model, whose loss allocates more, 1.75 s against 0.98 s.

:func:`keep_freed_memory` asks glibc (``mallopt``) to serve every block from its heap
(``M_MMAP_MAX = 0``) and never to trim the heap (``M_TRIM_THRESHOLD`` at its maximum): freed
blocks stay mapped and the next step's allocations reuse them, as a caching allocator (CUDA's,
jemalloc, tcmalloc) would. The cost is memory: the process keeps its peak resident set until it
exits, and glibc's aligned allocations creep up the heap for the first few steps before they
settle (the poet's recipe: 917 MB resident after 12 steps against a 746 MB high-water mark
without). It is a setting of the whole process, for a process that trains (``TrainConfig.
keep_memory``, ``rnnlab train --no-keep-memory`` to leave glibc's defaults); elsewhere than on
glibc (macOS, Windows, musl) it does nothing and says so.
"""

from __future__ import annotations

import ctypes
import platform

__all__ = ["keep_freed_memory"]

# glibc's <malloc.h> parameter numbers
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
INT_MAX = 2**31 - 1


def keep_freed_memory() -> bool:
    """Serve allocations from the heap and keep freed memory mapped (glibc); True if glibc took both.

    Idempotent; see the module docstring for why and what it costs.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)  # the process's own symbols, glibc's among them (find_library spawns ldconfig)
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, INT_MAX))
