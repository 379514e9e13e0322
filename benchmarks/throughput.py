"""Training throughput of RNNLM (fused path) against the same model built on plain torch.nn.LSTM.

    python benchmarks/throughput.py                         # CPU, V=5000 E=128 H=256 L=2, T=64 B=32
    python benchmarks/throughput.py --device cuda --batch 128

Both models get the same weights and the same batches; one update is forward, cross-entropy,
backward, global-norm clipping and an AdamW step, i.e. what the Trainer does per batch (minus
its bookkeeping). Rounds alternate between the two models and the median tokens/s is reported,
so a busy machine slows both alike. Target: RNNLM within 5% of torch.nn.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import Tensor, nn

from rnnlab.models.rnnlm import RNNLM, RNNLMConfig


class PlainLM(nn.Module):
    """Embedding → torch.nn.LSTM → dropout → Linear: the reference model."""

    def __init__(self, v: int, e: int, h: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(v, e)
        self.rnn = nn.LSTM(e, h, layers, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(h, v)

    def forward(self, ids: Tensor) -> Tensor:
        out, _ = self.rnn(self.drop(self.embedding(ids)))
        return self.decoder(self.drop(out))


def update(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, y: Tensor) -> None:
    out = model(x)
    logits = out[0] if isinstance(out, tuple) else out
    loss = nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocab", type=int, default=5000, help="V")
    p.add_argument("--embed", type=int, default=128, help="E")
    p.add_argument("--hidden", type=int, default=256, help="H")
    p.add_argument("--layers", type=int, default=2, help="L")
    p.add_argument("--bptt", type=int, default=64, help="T")
    p.add_argument("--batch", type=int, default=32, help="B")
    p.add_argument("--steps", type=int, default=10, help="updates per timed round")
    p.add_argument("--rounds", type=int, default=7, help="alternating rounds; the median is kept")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    args = p.parse_args()
    dev = torch.device(args.device)
    torch.manual_seed(0)
    ours = RNNLM(
        RNNLMConfig(
            vocab_size=args.vocab,
            embed_size=args.embed,
            hidden_size=args.hidden,
            num_layers=args.layers,
            dropout=0.2,
            layer_dropout=0.2,
            impl="fused",
        )
    ).to(dev)
    plain = PlainLM(args.vocab, args.embed, args.hidden, args.layers, 0.2).to(dev)
    plain.load_state_dict(ours.state_dict())  # same parameter names and shapes
    models = {"rnnlab RNNLM (fused)": ours, "torch.nn.LSTM model": plain}
    opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-3) for k, m in models.items()}
    x = torch.randint(0, args.vocab, (args.bptt, args.batch), device=dev)
    y = torch.randint(0, args.vocab, (args.bptt, args.batch), device=dev)
    for k, m in models.items():  # warm-up: allocator, cuDNN/oneDNN plans
        for _ in range(3):
            update(m, opts[k], x, y)
    rates: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(args.rounds):
        for k, m in models.items():
            if dev.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(args.steps):
                update(m, opts[k], x, y)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            rates[k].append(args.steps * args.bptt * args.batch / (time.perf_counter() - start))
    print(
        f"device {dev}, threads {torch.get_num_threads()}, V={args.vocab} E={args.embed} H={args.hidden} "
        f"L={args.layers} T={args.bptt} B={args.batch}"
    )
    med = {k: statistics.median(v) for k, v in rates.items()}
    for k, v in med.items():
        print(f"{k:<24} {v:>12,.0f} tokens/s (median of {args.rounds})")
    ratio = med["rnnlab RNNLM (fused)"] / med["torch.nn.LSTM model"]
    print(f"ratio ours / torch.nn = {ratio:.3f}  ({'within' if ratio >= 0.95 else 'NOT within'} 5%)")


if __name__ == "__main__":
    main()
