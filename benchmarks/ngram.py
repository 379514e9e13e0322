"""N-gram baselines on the Tang poems: fit time and held-out character perplexity for n = 1…5.

Reads the chinese-poetry JSONL directly (one poem a line, ``paragraphs`` joined), splits it 90/5/5
by a hash of the poem id, builds a character vocabulary on the training part (min count 1; the
rest becomes <unk>) and reports, for add-k, interpolated Kneser–Ney (kn) and modified KN (mkn):
fit time, evaluation time, validation and test perplexity per predicted token (characters plus the
end of each poem, as the neural language model counts them) and bits per token (log₂ ppl).

For add-k the pseudo-count k is chosen on the validation split from ``--k-grid``; the test column is
then an honest held-out number. Run it in the background; it prints a markdown table::

    PYTHONPATH=src python benchmarks/ngram.py --path ../shared/data/tang/tang.jsonl
    PYTHONPATH=src python benchmarks/ngram.py --path ../shared/data/tang/tang.jsonl \\
        --limit 5000 --orders 1 2 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rnnlab.models.ngram import NGramConfig, NGramLM

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
PAD, UNK, BOS, EOS = range(len(SPECIALS))


@dataclass
class Split:
    """Poems as character strings, by split name."""

    train: list[str]
    valid: list[str]
    test: list[str]


def read_poems(path: Path, limit: int | None) -> list[tuple[str, str]]:
    """(id, text) per poem; text is the paragraphs joined, poems with no text dropped."""
    poems = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            obj = json.loads(line)
            text = "".join(obj.get("paragraphs", []))
            if text:
                poems.append((str(obj["id"]), text))
            if limit is not None and len(poems) >= limit:
                break
    return poems


def split_by_id(poems: list[tuple[str, str]]) -> Split:
    """90/5/5 by the SHA-1 of the poem id, so the split never depends on file order."""
    split = Split([], [], [])
    for poem_id, text in poems:
        bucket = int(hashlib.sha1(poem_id.encode("utf-8")).hexdigest(), 16) % 100
        (split.train if bucket < 90 else split.valid if bucket < 95 else split.test).append(text)
    return split


def build_vocab(texts: list[str]) -> dict[str, int]:
    """Specials first, then every training character by falling frequency (ties by code point)."""
    counts = Counter("".join(texts))
    chars = sorted(counts, key=lambda ch: (-counts[ch], ch))
    return {tok: i for i, tok in enumerate([*SPECIALS, *chars])}


def encode(texts: list[str], vocab: dict[str, int]) -> list[np.ndarray]:
    """Each poem as an int64 id array, unseen characters mapped to <unk>."""
    return [np.array([vocab.get(ch, UNK) for ch in text], dtype=np.int64) for text in texts]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--path", type=Path, required=True, help="tang.jsonl (one poem object a line)")
    parser.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="n-gram orders to run")
    parser.add_argument(
        "--smoothings", nargs="+", default=["add-k", "kn", "mkn"], help="smoothings to run: add-k kn mkn"
    )
    parser.add_argument(
        "--k-grid", type=float, nargs="+", default=[1.0, 0.1, 0.01, 0.001], help="add-k values tried on valid"
    )
    parser.add_argument("--limit", type=int, default=None, help="read only the first N poems (quick runs)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()

    start = time.perf_counter()
    split = split_by_id(read_poems(args.path, args.limit))
    vocab = build_vocab(split.train)
    train, valid, test = (encode(part, vocab) for part in (split.train, split.valid, split.test))
    n_chars = sum(len(p) for p in train)
    print(
        f"poems train/valid/test = {len(train)}/{len(valid)}/{len(test)}, "
        f"train characters = {n_chars:,}, V = {len(vocab)} (incl. {len(SPECIALS)} specials), "
        f"read+encode {time.perf_counter() - start:.1f} s"
    )

    runs = [(n, s) for s in args.smoothings for n in args.orders]
    rows = []
    for n, smoothing in tqdm(runs, desc="n-gram runs", unit="model"):
        ks = args.k_grid if smoothing == "add-k" else [1.0]
        best: dict[str, float | int | str] | None = None
        for k in ks:
            lm = NGramLM(NGramConfig(n=n, smoothing=smoothing, k=k), len(vocab), bos_id=BOS, eos_id=EOS)
            t0 = time.perf_counter()
            lm.fit(train)
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            valid_ppl = lm.perplexity(valid)
            eval_s = time.perf_counter() - t0
            if best is None or valid_ppl < float(best["valid_ppl"]):
                test_ppl = lm.perplexity(test)
                best = {
                    "n": n,
                    "smoothing": smoothing,
                    "k": k if smoothing == "add-k" else "",
                    "fit_s": fit_s,
                    "eval_valid_s": eval_s,
                    "valid_ppl": valid_ppl,
                    "test_ppl": test_ppl,
                    "test_bits": math.log2(test_ppl),
                    "ngrams": lm.num_ngrams,
                }
        assert best is not None
        rows.append(best)

    print()
    print("| n | smoothing | k | fit s | eval valid s | valid ppl | test ppl | test bits/token | n-grams |")
    print("|--:|---|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(
            f"| {r['n']} | {r['smoothing']} | {r['k']} | {r['fit_s']:.2f} | {r['eval_valid_s']:.2f} | "
            f"{r['valid_ppl']:.2f} | {r['test_ppl']:.2f} | {r['test_bits']:.3f} | {r['ngrams']:,} |"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
