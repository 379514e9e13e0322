"""Training throughput of the LSTM language model: RNNLM against plain torch.nn, and FLOP utilisation.

    python -m benchmarks.throughput                        # CPU, V=5000 E=128 H=256 L=2, T=64 B=32
    python -m benchmarks.throughput --hidden 1024 --batch 256 --bptt 32 --device cuda
    python -m benchmarks.throughput --poet --impl compiled  # the RNNLM on the C++ LSTM loop

Both models get the same weights and the same batches; one update is forward, cross-entropy,
backward, global-norm clipping and an AdamW step. RNNLM's update is the Trainer's (minus its
bookkeeping): ``LanguageModelObjective``'s loss, which runs the output layer on the counted rows
only and fused with the softmax, and the optimizer of ``build_optimizer`` (PyTorch's fused AdamW).
The torch.nn model's update is the textbook one: logits, ``F.cross_entropy``, ``torch.optim.AdamW``
with its defaults. Rounds alternate between the two models and the median tokens/s is reported,
so a busy machine slows both alike.

Utilisation counts the useful matrix work only — the products on non-padding tokens — and
divides it by the machine's dense matmul FLOP/s measured in the same process:

    forward FLOPs per token = Σ_layers 2·G·H·(I_l + H) + 2·H·V       (G = 4 gates for the LSTM)
    training FLOPs per token = 3 × forward                            (the backward pass does two
                                                                       products per forward one)

Embedding lookups, nonlinearities, the loss and the optimiser count for nothing: they are the
overhead that keeps the share below 100%.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):  # run as `python benchmarks/<name>.py`: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import Tensor, nn

from benchmarks.timing import CLOCKS, clock_function, peak_memory_of, sync
from rnnlab import native
from rnnlab.data.sampling import Batch
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from rnnlab.train.config import TrainConfig
from rnnlab.train.memory import keep_freed_memory
from rnnlab.train.objective import LanguageModelObjective
from rnnlab.train.trainer import build_optimizer

if TYPE_CHECKING:
    from benchmarks.suite import Context, Section

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
COLUMNS = [
    "model", "V", "E", "H", "T", "B", "tied", "padding", "tokens/s", "× torch.nn",
    "GFLOP/s", "% of matmul", "peak MB",
]  # fmt: skip


@dataclass
class LMShape:
    vocab: int = 5000  # V
    embed: int = 128  # E
    hidden: int = 256  # H
    layers: int = 2  # L
    bptt: int = 64  # T
    batch: int = 32  # B
    padding: float = 0.0  # share of padding positions in a batch (poems of unequal length)
    tie: bool = False  # output layer = embedding matrix, after a projection H → E when H ≠ E
    impl: str = "fused"  # the RNNLM's recurrent implementation (compiled: the C++ loop on a CPU)

    def config(self) -> RNNLMConfig:
        return RNNLMConfig(
            vocab_size=self.vocab, embed_size=self.embed, hidden_size=self.hidden, num_layers=self.layers,
            dropout=0.2, layer_dropout=0.2, impl=self.impl, tie_weights=self.tie,
        )  # fmt: skip


POET = LMShape(vocab=9008, embed=128, hidden=384, batch=128, tie=True)  # the bundled poet's recipe


def training_flops_per_token(config: RNNLMConfig) -> float:
    """Useful matmul FLOPs of one training token (forward ×3), from the module docstring's formula."""
    gates, h = GATES[config.cell], config.hidden_size
    width_out = h
    forward = 0
    if config.tie_weights and h != config.embed_size:  # the projection H → E before the output layer
        width_out = config.embed_size
        forward += 2 * h * width_out
    forward += 2 * width_out * config.vocab_size
    for layer in range(config.num_layers):
        width = config.input_size if layer == 0 else h
        forward += 2 * gates * h * (width + h)
    return 3.0 * forward


class PlainLM(nn.Module):
    """Embedding → torch.nn.LSTM → dropout → [projection] → Linear: the reference model."""

    def __init__(self, v: int, e: int, h: int, layers: int, dropout: float, tie: bool = False) -> None:
        super().__init__()
        self.embedding = nn.Embedding(v, e)
        self.rnn = nn.LSTM(e, h, layers, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.projection = nn.Linear(h, e, bias=False) if tie and h != e else None
        self.decoder = nn.Linear(e if tie else h, v)
        if tie:
            self.decoder.weight = self.embedding.weight

    def forward(self, ids: Tensor) -> Tensor:
        out, _ = self.rnn(self.drop(self.embedding(ids)))
        out = self.drop(out)
        if self.projection is not None:
            out = self.projection(out)
        return self.decoder(out)


def batch(shape: LMShape, device: torch.device, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """(x, y, mask): random ids; with padding, each row ends in a run of padding of random length."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, shape.vocab, (shape.bptt, shape.batch), generator=g)
    y = torch.randint(1, shape.vocab, (shape.bptt, shape.batch), generator=g)
    mask = torch.ones(shape.bptt, shape.batch, dtype=torch.bool)
    if shape.padding > 0:
        # lengths uniform in [T·(1 − 2p), T] give a padding share of about p
        low = max(1, round(shape.bptt * (1 - 2 * shape.padding)))
        lengths = torch.randint(low, shape.bptt + 1, (shape.batch,), generator=g)
        mask = torch.arange(shape.bptt).unsqueeze(1) < lengths
    return x.to(device), y.to(device), mask.to(device)


Update = Callable[[Tensor, Tensor, Tensor], None]  # (x, y, mask) → one training step


def textbook_update(model: nn.Module) -> Update:
    """Logits, ``F.cross_entropy`` over every position masked afterwards, clipping, default AdamW."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def update(x: Tensor, y: Tensor, mask: Tensor) -> None:
        out = model(x)
        logits = out[0] if isinstance(out, tuple) else out
        losses = nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="none")
        _step(model, opt, (losses * mask.flatten()).sum() / mask.sum())

    return update


def trainer_update(model: RNNLM) -> Update:
    """What ``Trainer._train_step`` does with an RNNLM: the objective's loss and ``build_optimizer``."""
    objective = LanguageModelObjective(model)
    opt = build_optimizer(TrainConfig(lr=1e-3, weight_decay=0.01), model)

    def update(x: Tensor, y: Tensor, mask: Tensor) -> None:
        sum_nll, n_tokens, _ = objective.loss(Batch(x, y, mask, reset_state=True), None)
        _step(model, opt, sum_nll / n_tokens)

    return update


def _step(model: nn.Module, opt: torch.optim.Optimizer, loss: Tensor) -> None:
    """Backward, global-norm clipping at 1 and the optimizer step, as the Trainer does."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


def build(shape: LMShape, device: torch.device, compiled_row: bool = False) -> dict[str, Update]:
    """The models with the same weights, each with its update (``compiled_row``: also RNNLM with
    ``impl="compiled"``, on a CPU the C++ LSTM loop)."""
    torch.manual_seed(0)
    ours = RNNLM(shape.config()).to(device)
    plain = PlainLM(shape.vocab, shape.embed, shape.hidden, shape.layers, 0.2, shape.tie).to(device)
    plain.load_state_dict(ours.state_dict())  # same parameter names and shapes
    updates = {RNNLM_ROW: trainer_update(ours), TORCH_ROW: textbook_update(plain)}
    if compiled_row:
        compiled = RNNLM(dataclasses.replace(shape, impl="compiled").config()).to(device)
        compiled.load_state_dict(ours.state_dict())
        updates[COMPILED_ROW] = trainer_update(compiled)
    return updates


RNNLM_ROW = "rnnlab RNNLM (trainer's update)"
COMPILED_ROW = "rnnlab RNNLM, impl=compiled (C++ LSTM loop)"
TORCH_ROW = "torch.nn.LSTM model (textbook update)"
MATMUL = "dense matmul"  # the key of the interleaved matmul reference in measure()'s result


def measure(
    shape: LMShape,
    device: torch.device,
    steps: int,
    rounds: int,
    matmul_size: int = 0,
    clock: str = "wall",
    compiled_row: bool = False,
) -> dict[str, float]:
    """Median useful tokens/s per model, and dense matmul FLOP/s (key ``MATMUL``), interleaved.

    Each round times both models and a square float32 matmul (``matmul_size``, default 2048 on the
    CPU, 8192 on a GPU), so the utilisation divides two rates measured under the same load, not a
    rate by a best case taken at another moment.
    """
    now = clock_function(clock, device)
    if device.type == "cpu":
        keep_freed_memory()  # as the Trainer does (both rows: a setting of the process)
    updates = build(shape, device, compiled_row)
    x, y, mask = batch(shape, device)
    useful = int(mask.sum())
    size = matmul_size or (2048 if device.type == "cpu" else 8192)
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    for update in updates.values():  # warm-up: allocator, cuDNN/oneDNN plans
        for _ in range(2):
            update(x, y, mask)
    rates: dict[str, list[float]] = {k: [] for k in (*updates, MATMUL)}
    for _ in range(rounds):
        for k, update in updates.items():
            sync(device)
            start = now()
            for _ in range(steps):
                update(x, y, mask)
            sync(device)
            rates[k].append(steps * useful / (now() - start))
        sync(device)
        start = now()
        for _ in range(3):
            a @ b
        sync(device)
        rates[MATMUL].append(3 * 2 * size**3 / (now() - start))
    return {k: statistics.median(v) for k, v in rates.items()}


def probe(spec: dict[str, Any]) -> Callable[[], None]:
    """One update of RNNLM at ``spec``'s shape (for the peak-memory child process)."""
    device = torch.device(spec["device"])
    shape = LMShape(**spec["shape"])
    update = trainer_update(RNNLM(shape.config()).to(device))
    x, y, mask = batch(shape, device)
    return lambda: update(x, y, mask)


def suite_entry(ctx: Context) -> list[Section]:
    """LM training tokens/s vs torch.nn and the share of the machine's matmul FLOP/s it achieves."""
    from benchmarks.suite import Section

    shapes = ctx.pick(
        [LMShape(vocab=50, embed=8, hidden=16, bptt=8, batch=4)],
        [LMShape(), LMShape(padding=0.25), LMShape(hidden=512, batch=128), POET],
        [
            LMShape(),
            LMShape(padding=0.25),
            LMShape(hidden=512, batch=128),
            POET,
            LMShape(hidden=1024, batch=256, bptt=32),
        ],
    )
    steps, rounds = ctx.pick((1, 2), (2, 5), (3, 7))  # the VM moves ±10% between rounds
    # RNNLM on the C++ LSTM loop too, where it exists (a CPU with MKL and a compiler; not in CI's quick run)
    compiled_row = ctx.mode != "quick" and ctx.device.type == "cpu" and native.unavailable_reason() is None
    rows = []
    matmul = []
    for shape in shapes:
        rates = measure(shape, ctx.device, steps, rounds, ctx.pick(256, 0, 0), ctx.clock, compiled_row)
        peak = rates.pop(MATMUL)
        matmul.append(peak / 1e9)
        flops = training_flops_per_token(shape.config())
        memory = float("nan")
        if ctx.mode != "quick":  # a fresh process per probe: too slow for CI
            spec = {"shape": shape.__dict__, "threads": ctx.threads}
            memory = peak_memory_of("benchmarks.throughput", spec, ctx.device)
        for name, rate in rates.items():
            rows.append(
                {
                    "model": name, "V": shape.vocab, "E": shape.embed, "H": shape.hidden, "T": shape.bptt,
                    "B": shape.batch, "tied": "yes" if shape.tie else "no", "padding": f"{shape.padding:.0%}",
                    "tokens/s": rate,
                    "× torch.nn": rate / rates[TORCH_ROW], "GFLOP/s": rate * flops / 1e9,
                    "% of matmul": 100 * rate * flops / peak,
                    "peak MB": memory / 2**20 if name == RNNLM_ROW else None,
                }
            )  # fmt: skip
    return [
        Section(
            "lm_training",
            f"LSTM language model training (update = forward, loss, backward, clip, AdamW), {ctx.device}",
            COLUMNS,
            rows,
            [
                "% of matmul: useful GFLOP/s over the FLOP/s of a dense square float32 matmul timed in the "
                f"same rounds (medians {', '.join(f'{g:.0f}' for g in matmul)} GFLOP/s for the rows' shapes)",
                "tokens/s and GFLOP/s count useful (non-padding) tokens only; FLOPs = 3 × forward matmul "
                "FLOPs (2·4H·(I+H) per LSTM layer + 2·H·E for the projection of a tied model + 2·H·V, "
                "or 2·E·V tied, for the output layer) per token",
                "rnnlab RNNLM: the Trainer's update (output layer fused with the softmax on counted rows "
                "only, PyTorch's fused AdamW); torch.nn model: the textbook update (logits, "
                "F.cross_entropy, AdamW's default loop) on the same weights and batches",
                "impl=compiled: the same RNNLM, its LSTM layers on the C++ time loop of rnnlab.native "
                "(rnnlab train --impl compiled); the other RNNLM row: PyTorch's fused kernel (the default)",
                "padding 25%: rows end in padding, as padded poems do; the recurrent layer computes it too",
                "tied = yes, V=9008 H=384 B=128: the bundled poet's recipe",
                "peak MB: memory one update adds (fresh process; CPU: resident set high-water mark)",
                "goal: ≥ 70% of matmul FLOP/s",
            ],
        )
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocab", type=int, default=5000, help="V")
    p.add_argument("--embed", type=int, default=128, help="E")
    p.add_argument("--hidden", type=int, default=256, help="H")
    p.add_argument("--layers", type=int, default=2, help="L")
    p.add_argument("--bptt", type=int, default=64, help="T")
    p.add_argument("--batch", type=int, default=32, help="B")
    p.add_argument("--padding", type=float, default=0.0, help="share of padding per batch (0 = streams)")
    p.add_argument("--tie", action="store_true", help="tie the output layer to the embedding (H→E first)")
    p.add_argument("--poet", action="store_true", help="the bundled poet's recipe (V=9008 E=128 H=384 B=128)")
    p.add_argument(
        "--impl", choices=("fused", "compiled"), default="fused",
        help="the RNNLM's recurrent layers: PyTorch's fused kernel, or compiled (on a CPU the C++ LSTM loop)",
    )  # fmt: skip
    p.add_argument("--steps", type=int, default=10, help="updates per timed round")
    p.add_argument("--rounds", type=int, default=7, help="alternating rounds; the median is kept")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--clock", choices=CLOCKS, default="wall", help="wall or CPU time (see timing.py)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    shape = dataclasses.replace(POET, impl=args.impl)
    if not args.poet:
        sizes = (args.vocab, args.embed, args.hidden, args.layers, args.bptt, args.batch)
        shape = LMShape(*sizes, padding=args.padding, tie=args.tie, impl=args.impl)
    med = measure(shape, dev, args.steps, args.rounds, clock=args.clock)
    matmul = med.pop(MATMUL)
    flops = training_flops_per_token(shape.config())
    print(f"device {dev}, threads {torch.get_num_threads()}, {shape}")
    print(f"dense matmul {matmul / 1e9:.0f} GFLOP/s; training FLOPs per useful token {flops / 1e6:.1f} M")
    for k, v in med.items():
        print(
            f"{k:<24} {v:>12,.0f} useful tokens/s (median of {args.rounds}), {v * flops / 1e9:.0f} GFLOP/s "
            f"= {100 * v * flops / matmul:.0f}% of matmul"
        )
    print(f"ratio ours / torch.nn = {med[RNNLM_ROW] / med[TORCH_ROW]:.3f}")


if __name__ == "__main__":
    main()
