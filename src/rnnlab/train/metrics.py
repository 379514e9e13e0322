"""Training metrics: perplexity and bits per token, running meters, the JSONL log and live display.

For N counted targets with negative log-likelihoods ℓ_i = −ln p(y_i | context):

    mean NLL  ℓ̄ = (1/N) Σ ℓ_i            (nats per token)
    perplexity   = exp(ℓ̄)                (a uniform model over V tokens scores exactly V)
    bits/token   = ℓ̄ / ln 2              (bits per character for a character model)

Perplexity is always the exponential of the mean over *all* counted tokens of a split, never
the mean of per-batch perplexities (which would overweight short batches and is not a perplexity).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from rnnlab.errors import ConfigError

LN2 = math.log(2.0)
PPL_CAP = 1e12  # exp() of a diverged loss overflows; show "inf"-like numbers as this cap instead


def perplexity(mean_nll: float) -> float:
    """exp(ℓ̄), capped so a diverged model still prints a number."""
    return math.exp(mean_nll) if mean_nll < math.log(PPL_CAP) else PPL_CAP


def bits_per_token(mean_nll: float) -> float:
    """ℓ̄ / ln 2."""
    return mean_nll / LN2


@dataclass
class NLLMeter:
    """Σ ℓ_i and N over a split or an interval; ``mean``/``ppl``/``bits`` derive from them.

    ``counts`` holds an objective's optional summable evaluation counts (correct predictions,
    true positives, …; see :mod:`rnnlab.train.objective`), added up batch by batch.
    """

    sum_nll: float = 0.0
    n_tokens: int = 0
    counts: dict[str, float] = field(default_factory=dict)

    def add(self, sum_nll: float, n_tokens: int) -> None:
        self.sum_nll += sum_nll
        self.n_tokens += n_tokens

    def add_counts(self, counts: dict[str, float]) -> None:
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0.0) + value

    @property
    def mean(self) -> float:
        return self.sum_nll / self.n_tokens if self.n_tokens else math.nan

    @property
    def ppl(self) -> float:
        return perplexity(self.mean)

    @property
    def bits(self) -> float:
        return bits_per_token(self.mean)


@dataclass
class IntervalMeter:
    """What happened since the last log line: loss, tokens, time, gradient norms, clipping."""

    nll: NLLMeter = field(default_factory=NLLMeter)
    steps: int = 0
    seconds: float = 0.0
    clipped: int = 0
    grad_norm_sum: float = 0.0

    def add_step(
        self, sum_nll: float, n_tokens: int, seconds: float, grad_norm: float, clipped: bool
    ) -> None:
        self.nll.add(sum_nll, n_tokens)
        self.steps += 1
        self.seconds += seconds
        self.grad_norm_sum += grad_norm
        self.clipped += int(clipped)

    def summary(self) -> dict[str, float]:
        """loss, ppl, bpc, tok/s, mean grad norm and clipped share of the interval."""
        return {
            "loss": self.nll.mean,
            "ppl": self.nll.ppl,
            "bpc": self.nll.bits,
            "tok_s": self.nll.n_tokens / self.seconds if self.seconds > 0 else math.nan,
            "grad_norm": self.grad_norm_sum / self.steps if self.steps else math.nan,
            "clipped_share": self.clipped / self.steps if self.steps else math.nan,
        }


def format_line(record: dict[str, Any]) -> str:
    """A fixed-width ``| epoch | step | loss | ppl | lr | tok/s |`` line for a train or valid record."""
    if record["kind"] == "valid":
        task = "".join(f" {k} {v:.4f} |" for k, v in record.get("metrics", {}).items())
        best = " best" if record.get("best") else ""
        return (
            f"| epoch {record['epoch']:3d} | step {record['step']:7d} | valid loss {record['loss']:6.3f} "
            f"| ppl {record['ppl']:9.2f} | bpc {record['bpc']:6.3f} |{task}{best}"
        )
    return (
        f"| epoch {record['epoch']:3d} | step {record['step']:7d} | loss {record['loss']:6.3f} "
        f"| ppl {record['ppl']:9.2f} | lr {record['lr']:.2e} | tok/s {record['tok_s']:8.0f} "
        f"| ‖g‖ {record['grad_norm']:6.2f} | clipped {100 * record['clipped_share']:3.0f}% |"
    )


def _json_safe(value: Any) -> Any:
    """NaN/inf are not JSON; write them as null so every line parses."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsLog:
    """Append-only ``metrics.jsonl``: one JSON object a line, flushed as written."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({k: _json_safe(v) for k, v in record.items()}, ensure_ascii=False) + "\n")

    def read(self) -> list[dict[str, Any]]:
        return read_metrics(self.path)

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step`` (a resumed run replays them); atomic rewrite."""
        if not self.path.exists():
            return
        kept = [r for r in self.read() if int(r.get("step", 0)) <= step]
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
        os.replace(tmp, self.path)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Records of a ``metrics.jsonl``; a torn last line (a killed run) is ignored."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


class TensorBoardSink:
    """Scalars to TensorBoard through ``torch.utils.tensorboard`` (requires the ``tensorboard`` package)."""

    def __init__(self, log_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "tensorboard logging needs the `tensorboard` package: pip install tensorboard, "
                "or leave --tensorboard off (metrics.jsonl and `rnnlab plot` need nothing extra)"
            ) from None
        self.writer = SummaryWriter(str(log_dir))

    def write(self, record: dict[str, Any]) -> None:
        for key, value in record.items():
            if key not in ("kind", "step", "epoch") and isinstance(value, (int, float)) and value is not None:
                self.writer.add_scalar(f"{record['kind']}/{key}", value, record["step"])
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class ProgressBar:
    """tqdm over the updates of an epoch, with the current ppl and lr; log lines print above it."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream
        self.bar: tqdm[Any] | None = None

    def start_epoch(self, epoch: int, total: int, done: int) -> None:
        self.close()
        if self.enabled:
            self.bar = tqdm(
                total=total,
                initial=done,
                desc=f"epoch {epoch}",
                unit="step",
                dynamic_ncols=True,
                file=self.stream,
                leave=False,
            )

    def update(self, ppl: float, lr: float, tok_s: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix(ppl=f"{ppl:.2f}", lr=f"{lr:.1e}", tok_s=f"{tok_s:.0f}", refresh=False)
            self.bar.update(1)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
