"""One-hot input + linear map vs nn.Embedding: memory and speed on the same token batches.

Both compute the same function, x_t ↦ W_xh x_t with x_t one-hot, i.e. a column lookup W_xh[:, id]
(see rnnlab.models.inputs). The one-hot path materialises a (T, B, V) float tensor and does a dense
(T·B × V)·(V × H) product; the embedding path reads T·B rows of an (V, H) table.

    PYTHONPATH=src python benchmarks/onehot_vs_embedding.py                 # Shakespeare chars + Tang chars
    PYTHONPATH=src python benchmarks/onehot_vs_embedding.py --corpus FILE --hidden 512 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnlab.data import PoemCorpus, TextCorpus, Vocab, load_corpus, shakespeare
from rnnlab.models.inputs import OneHot

SHARED_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tang" / "sample-2k.txt"


def _corpora(paths: list[Path]) -> list[tuple[str, list[str]]]:
    """(name, token list) pairs: the given files, else Shakespeare and the shared Tang sample."""
    out: list[tuple[str, list[str]]] = []
    if paths:
        for path in paths:
            corpus = load_corpus(path)
            out.append((path.name, corpus.tokens()))
        return out
    out.append(("shakespeare (chars)", shakespeare(["tragedies/hamlet"]).tokens()))
    if SHARED_SAMPLE.is_file():
        poems = load_corpus(SHARED_SAMPLE)
        assert isinstance(poems, (PoemCorpus, TextCorpus))
        out.append(("tang sample-2k (chars)", poems.tokens()))
    return out


def _time(fn: Callable[[], None], reps: int, device: torch.device) -> float:
    """Median seconds of ``fn()`` over ``reps`` runs after two warm-up runs."""
    times = []
    for i in range(reps + 2):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(
    tokens: list[str], seq_len: int, batch: int, hidden: int, reps: int, device: torch.device
) -> dict[str, float]:
    """Bytes of input activations and median fwd+bwd time of both input paths on one batch of the corpus."""
    vocab = Vocab.build(tokens)
    ids_np = vocab.encode(tokens[: seq_len * batch]).reshape(batch, seq_len).T.copy()  # (T, B) time-major
    ids = torch.from_numpy(ids_np).to(device)
    size = len(vocab)

    onehot = OneHot(size)
    proj = nn.Linear(size, hidden, bias=False).to(device)
    emb = nn.Embedding(size, hidden).to(device)
    with torch.no_grad():
        emb.weight.copy_(proj.weight.T)

    def run_onehot() -> None:
        proj.zero_grad(set_to_none=True)
        proj(onehot(ids)).sum().backward()

    def run_embedding() -> None:
        emb.zero_grad(set_to_none=True)
        emb(ids).sum().backward()

    # The two paths must agree before their speed means anything.
    torch.testing.assert_close(proj(onehot(ids)), emb(ids))
    return {
        "V": size,
        "onehot_input_bytes": seq_len * batch * size * 4,
        "embedding_input_bytes": seq_len * batch * 8,
        "onehot_s": _time(run_onehot, reps, device),
        "embedding_s": _time(run_embedding, reps, device),
        "params": size * hidden,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, action="append", default=[], help="corpus file (repeatable)")
    parser.add_argument("--seq-len", type=int, default=48, help="time steps T per batch (default: 48)")
    parser.add_argument("--batch", type=int, default=32, help="sequences B per batch (default: 32)")
    parser.add_argument("--hidden", type=int, default=256, help="output width H (default: 256)")
    parser.add_argument("--reps", type=int, default=20, help="timed repetitions (default: 20)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    device = torch.device(args.device)
    print(f"T={args.seq_len} B={args.batch} H={args.hidden} device={device} threads={args.threads}")
    header = f"| {'corpus':<24} | {'V':>6} | {'one-hot input':>13} | {'ids input':>9} | "
    header += f"{'one-hot fwd+bwd':>15} | {'embedding fwd+bwd':>17} | {'speed-up':>8} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name, tokens in _corpora(args.corpus):
        r = measure(tokens, args.seq_len, args.batch, args.hidden, args.reps, device)
        print(
            f"| {name:<24} | {r['V']:>6,} | {r['onehot_input_bytes'] / 2**20:>9.2f} MiB | "
            f"{r['embedding_input_bytes'] / 2**10:>5.1f} KiB | {r['onehot_s'] * 1e3:>12.2f} ms | "
            f"{r['embedding_s'] * 1e3:>14.2f} ms | {r['onehot_s'] / r['embedding_s']:>7.1f}× |"
        )


if __name__ == "__main__":
    main()
