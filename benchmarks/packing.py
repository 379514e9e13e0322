"""How much compute packing poems saves over the tutorial's fixed-length padded batches.

Reads the Tang poems (``tang.jsonl``: one JSON object a line with ``paragraphs``; a poem is its
paragraphs joined, tokenised by character; any other file: one poem a line), lays one epoch out
both ways and reports

* the share of positions that are padding (positions the RNN computes but the loss ignores),
* counted (real) target tokens per batch and batches per epoch,
* measured throughput of a small ``torch.nn.LSTM`` language model (embedding → LSTM → linear,
  masked cross-entropy, forward + backward) on the first batches of each layout: positions/s
  (raw work) and counted tokens/s (useful work), and the projected epoch time of each.

Both layouts use the same B and T (``--bptt`` defaults to ``fixed_length − 1``), so a batch costs
the same either way and the speed-up is the ratio of useful tokens per batch.

Example::

    PYTHONPATH=src python benchmarks/packing.py --batches 6 --hidden 128
    PYTHONPATH=src python benchmarks/packing.py --path ../shared/data/tang/sample-2k.txt --batches 2
    PYTHONPATH=src python benchmarks/packing.py --device cuda --batches 50 --threads 4
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from rnnlab.data.sampling import Batch, PackedPoemStreams, PaddedPoemBatches

DEFAULT_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tang" / "tang.jsonl"
PAD, BOS, EOS = 0, 1, 2  # character ids start at 3


def read_poems(path: Path) -> list[str]:
    """Poems as strings: a ``.jsonl`` line's ``paragraphs`` joined, else one poem a line; empty dropped."""
    poems = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                text = "".join(json.loads(line)["paragraphs"]) if path.suffix == ".jsonl" else line
                if text.strip():
                    poems.append(text.strip())
    return poems


def encode(poems: list[str]) -> tuple[list[np.ndarray], int]:
    """Character ids by frequency (ties: first appearance), after the three special ids; and V."""
    counts = Counter(ch for poem in poems for ch in poem)
    ids = {ch: 3 + i for i, (ch, _) in enumerate(counts.most_common())}
    return [np.array([ids[ch] for ch in poem], dtype=np.int32) for poem in poems], 3 + len(ids)


class TinyLM(torch.nn.Module):
    """Embedding → one-layer LSTM → linear head; masked mean cross-entropy.

    ``head_on="all"`` computes logits at every position and masks the loss (the tutorial's model);
    ``"counted"`` sends only the counted positions through the head and softmax.
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int, head_on: str) -> None:
        super().__init__()
        self.head_on = head_on
        self.embed = torch.nn.Embedding(vocab_size, embed)
        self.lstm = torch.nn.LSTM(embed, hidden)  # time-major (T, B, ·)
        self.head = torch.nn.Linear(hidden, vocab_size)

    def loss(
        self, batch: Batch, state: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        out, state = self.lstm(self.embed(batch.x), state)  # (T, B, H)
        if self.head_on == "counted":  # only counted positions reach the (large) head and softmax
            return torch.nn.functional.cross_entropy(self.head(out[batch.mask]), batch.y[batch.mask]), state
        # Every position through head and softmax, the mask as loss weights: the cost of a batch
        # is then independent of how many of its positions count, as in the tutorial's model.
        logits = self.head(out)  # (T, B, V)
        nll = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch.y.flatten(), reduction="none")
        weights = batch.mask.flatten().to(nll.dtype)
        return (nll * weights).sum() / weights.sum(), state


def time_layout(
    model: TinyLM, batches: Iterator[Batch], n: int, warmup: int, device: str, label: str
) -> tuple[float, int, int]:
    """Seconds, positions and counted tokens for n forward+backward steps after `warmup` untimed ones."""
    state: tuple[torch.Tensor, torch.Tensor] | None = None
    seconds, positions, tokens = 0.0, 0, 0
    for i in tqdm(range(warmup + n), desc=label, unit="batch", leave=False):
        batch = next(batches).to(device)
        if state is not None:  # carry the state (packed streams) but cut the gradient at the batch edge
            state = None if batch.reset_state else (state[0].detach(), state[1].detach())
        start = time.perf_counter()
        model.zero_grad(set_to_none=True)
        loss, state = model.loss(batch, state)
        loss.backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i >= warmup:
            seconds += time.perf_counter() - start
            positions += batch.mask.numel()
            tokens += batch.n_tokens
    return seconds, positions, tokens


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH, help="tang.jsonl-style poems file")
    parser.add_argument("--batch-size", type=int, default=64, help="B, poems (or streams) per batch")
    parser.add_argument(
        "--fixed-length", type=int, default=125, help="padded row length (the tutorial's 125)"
    )
    parser.add_argument("--bptt", type=int, default=None, help="packed T (default: fixed_length − 1)")
    parser.add_argument("--embed", type=int, default=64, help="embedding size of the timing model")
    parser.add_argument("--hidden", type=int, default=128, help="LSTM hidden size of the timing model")
    parser.add_argument("--batches", type=int, default=6, help="timed batches per layout")
    parser.add_argument("--warmup", type=int, default=1, help="untimed batches per layout first")
    parser.add_argument(
        "--head-on",
        choices=["all", "counted"],
        default="all",
        help="output layer on every position (the tutorial) or on counted positions only",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="torch device for the timing, e.g. cpu or cuda")
    parser.add_argument("--seed", type=int, default=0, help="sampler and model seed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    poems, vocab_size = encode(read_poems(args.path))
    lengths = np.array([len(p) for p in poems])
    fixed, batch_size = args.fixed_length, args.batch_size
    bptt = args.bptt or fixed - 1
    padded = PaddedPoemBatches(
        poems,
        batch_size,
        pad_id=PAD,
        bos_id=BOS,
        eos_id=EOS,
        fixed_length=fixed,
        truncate=True,
        seed=args.seed,
    )
    packed = PackedPoemStreams(poems, batch_size, bptt, eos_id=EOS, seed=args.seed)

    # One epoch's layout, counted exactly from the formulas the samplers document.
    pad_positions = len(poems) * (fixed - 1)  # every row computes T = F − 1 steps
    pad_counted = int(np.minimum(lengths + 2, fixed).sum() - len(poems))  # chars + <eos>, cut at F
    pack_positions = packed.stream_length * batch_size
    pack_counted = packed.n_targets  # every char and every <eos>, nothing cut
    too_long = lengths + 2 > fixed
    print(f"corpus: {len(poems):,} poems, {int(lengths.sum()):,} characters, vocabulary {vocab_size:,}")
    print(f"poem length: mean {lengths.mean():.1f}, median {np.median(lengths):.0f}, max {lengths.max()}")
    print(
        f"padded to {fixed}: {int(too_long.sum()):,} poems longer than {fixed - 2} cut, losing "
        f"{int((lengths + 2 - fixed)[too_long].sum()):,} characters (and their <eos>)"
    )
    print()
    print(
        f"| layout (B = {batch_size}) | T | batches/epoch | positions/epoch | counted/epoch "
        "| padding | counted/batch |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, steps, n, pos, cnt in (
        (f"padded {fixed}", fixed - 1, len(padded), pad_positions, pad_counted),
        ("packed", bptt, len(packed), pack_positions, pack_counted),
    ):
        print(f"| {name} | {steps} | {n:,} | {pos:,} | {cnt:,} | {1 - cnt / pos:.1%} | {cnt / n:,.0f} |")

    model = TinyLM(vocab_size, args.embed, args.hidden, args.head_on).to(args.device)
    print()
    print(
        f"timing: Embedding({vocab_size}, {args.embed}) → LSTM({args.embed}, {args.hidden}) → Linear "
        f"on {args.head_on} positions, forward + backward, "
        f"{args.batches} batches after {args.warmup} warm-up, "
        f"device {args.device}, {args.threads} CPU thread(s)"
    )
    print("| layout | positions/s | counted tokens/s | projected epoch |")
    print("|---|---|---|---|")
    rates = {}
    for name, sampler, total in (("padded", padded, pad_counted), ("packed", packed, pack_counted)):
        seconds, positions, tokens = time_layout(
            model, iter(sampler), args.batches, args.warmup, args.device, name
        )
        rates[name] = tokens / seconds
        print(
            f"| {name} | {positions / seconds:,.0f} | {tokens / seconds:,.0f} | "
            f"{total / rates[name] / 60:,.1f} min |"
        )
    print()
    print(f"packing speed-up in counted tokens/s: {rates['packed'] / rates['padded']:.2f}×")


if __name__ == "__main__":
    main()
