"""Training curves of a run folder as one PNG: loss, perplexity, learning rate, gradient norm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab.errors import DataError
from rnnlab.train.checkpoint import RunDir
from rnnlab.train.metrics import read_metrics


def _series(records: list[dict[str, Any]], kind: str, key: str) -> tuple[list[int], list[float]]:
    points = [(r["step"], r[key]) for r in records if r.get("kind") == kind and r.get(key) is not None]
    return [p[0] for p in points], [float(p[1]) for p in points]


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw ``RUN_DIR/metrics.jsonl`` to ``out`` (default ``RUN_DIR/curves.png``); returns the PNG path."""
    run = RunDir(run_dir)
    if not run.metrics.is_file():
        raise DataError(f"{run.metrics} does not exist; plot a folder written by `rnnlab train`")
    records = read_metrics(run.metrics)
    # Imported here so that loading a model (e.g. `rnnlab poem`) does not pay for matplotlib.
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, safe on servers and in tests
    import matplotlib.pyplot as plt

    if not any(r.get("kind") in ("train", "valid") for r in records):
        raise DataError(f"{run.metrics} has no training records yet; train for at least log_every steps")
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    (ax_loss, ax_ppl), (ax_lr, ax_grad) = axes
    for kind, style in (("train", "-"), ("valid", "o-")):
        ax_loss.plot(*_series(records, kind, "loss"), style, label=kind, markersize=3)
        ax_ppl.plot(*_series(records, kind, "ppl"), style, label=kind, markersize=3)
    ax_loss.set(title="loss (mean NLL, nats/token)", xlabel="update")
    ax_ppl.set(title="perplexity = exp(mean NLL)", xlabel="update", yscale="log")
    ax_lr.plot(*_series(records, "train", "lr"))
    ax_lr.set(title="learning rate", xlabel="update")
    steps, norms = _series(records, "train", "grad_norm")
    ax_grad.plot(steps, norms, label="mean ‖g‖ before clipping")
    ax_grad.set(title="gradient norm", xlabel="update")
    for ax in (ax_loss, ax_ppl, ax_grad):
        ax.legend()
        ax.grid(alpha=0.3)
    ax_lr.grid(alpha=0.3)
    fig.suptitle(run.path.name)
    path = Path(out) if out is not None else run.path / "curves.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
