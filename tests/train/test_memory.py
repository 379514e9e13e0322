"""rnnlab.train.memory: freed memory stays mapped, so reallocating it does not fault pages in again."""

from __future__ import annotations

import platform
import resource

import pytest
import torch

from rnnlab.train.config import TrainConfig
from rnnlab.train.memory import keep_freed_memory
from rnnlab.train.trainer import build_optimizer

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def _faults_of_touching_a_fresh_block(mib: int) -> int:
    """Minor page faults taken while allocating and filling a ``mib`` MiB tensor."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = torch.empty(mib * 2**18)  # float32: 4 bytes each
    block.fill_(1.0)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    del block
    return after - before


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's; elsewhere keep_freed_memory does nothing")
def test_a_block_allocated_again_and_again_stops_faulting_pages_in() -> None:
    """After keep_freed_memory, a 64 MiB tensor allocated step after step reuses mapped pages: once the
    heap has settled (glibc's aligned allocations creep up for a few rounds) each allocation takes
    < 5% of the 16,384 page faults of a fresh mapping, which glibc's default would take every time."""
    assert keep_freed_memory()
    assert keep_freed_memory()  # idempotent
    faults = [_faults_of_touching_a_fresh_block(64) for _ in range(20)]
    assert max(faults[-5:]) < 0.05 * 64 * 256, faults


@pytest.mark.skipif(GLIBC, reason="on glibc the setting is taken")
def test_elsewhere_it_says_it_did_nothing() -> None:
    """Without glibc there is nothing to set, and the function says so instead of failing."""
    assert keep_freed_memory() is False


def test_adam_on_cpu_parameters_uses_the_fused_kernel() -> None:
    """build_optimizer picks PyTorch's fused Adam(W) for CPU float parameters (one pass per step)."""
    model = torch.nn.Linear(3, 2)
    for name in ("adam", "adamw"):
        optimizer = build_optimizer(TrainConfig(optimizer=name), model)
        assert optimizer.defaults["fused"] is True
    assert not build_optimizer(TrainConfig(optimizer="sgd"), model).defaults.get("fused")
