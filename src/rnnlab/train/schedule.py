"""Learning-rate schedules as a pure function of progress, plus the plateau rule's small state.

With peak rate η, warm-up W updates, step s (0-based) and progress p ∈ [0, 1]:

    warm-up      η_s = η · (s + 1) / W                                   for s < W
    none         η_s = η
    cosine       η_s = η · (r + (1 − r) · ½ (1 + cos π p))               r = min_lr_ratio
    plateau      η_s = η · f^k        k = decays so far: one each time `patience` + 1 evaluations
                                      in a row fail to improve the best validation loss

Progress is ``max(s / S, t / budget)`` for a run of S updates and a wall-clock budget, whichever
ends first, so a time-budgeted run still anneals to its final rate. Everything but the plateau
counters is recomputed from the step, which is why resuming needs only ``state_dict()``.
"""

from __future__ import annotations

import math
from typing import Any

from rnnlab.train.config import TrainConfig


class LRSchedule:
    """η for each update; ``observe(val_loss)`` after each evaluation drives the plateau rule."""

    def __init__(self, config: TrainConfig, total_steps: int) -> None:
        self.config = config
        self.total_steps = max(1, total_steps)
        self.best = math.inf  # best validation loss seen by the plateau rule
        self.bad_evals = 0  # evaluations since the last improvement
        self.decays = 0  # k in η · f^k

    def progress(self, step: int, elapsed_s: float = 0.0) -> float:
        p = step / self.total_steps
        if self.config.max_minutes > 0:
            p = max(p, elapsed_s / (60 * self.config.max_minutes))
        return min(1.0, p)

    def lr(self, step: int, elapsed_s: float = 0.0) -> float:
        """The learning rate for update ``step`` (0-based)."""
        c = self.config
        if step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        if c.schedule == "cosine":
            p = self.progress(step, elapsed_s)
            return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p)))
        if c.schedule == "plateau":
            return c.lr * c.plateau_factor**self.decays
        return c.lr

    def observe(self, val_loss: float) -> None:
        """Record an evaluation; on a plateau, decay η by ``plateau_factor``."""
        if val_loss < self.best:
            self.best, self.bad_evals = val_loss, 0
            return
        self.bad_evals += 1
        if self.config.schedule == "plateau" and self.bad_evals > self.config.plateau_patience:
            self.decays += 1
            self.bad_evals = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best if math.isfinite(self.best) else None,
            "bad_evals": self.bad_evals,
            "decays": self.decays,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = math.inf if state["best"] is None else float(state["best"])
        self.bad_evals, self.decays = int(state["bad_evals"]), int(state["decays"])
