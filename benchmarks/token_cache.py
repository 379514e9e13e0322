"""Token-id cache on a large text: build time, throughput, peak memory, and reuse time.

Writes a text of --mb megabytes (Shakespeare repeated) to a temporary folder, builds the vocabulary
and the memory-mapped id cache in a streaming way, then opens the cache again. Peak resident memory
is reported beside the file size: it should stay far below it (the text is never read whole).

    PYTHONPATH=src python benchmarks/token_cache.py --mb 200
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnlab.data import CharTokenizer, WordTokenizer, build_vocab_from_files, shakespeare, token_cache


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def _write_big_text(path: Path, mb: int) -> None:
    block = shakespeare().text.encode("utf-8")
    with path.open("wb") as fh:
        written = 0
        while written < mb * 2**20:
            fh.write(block)
            written += len(block)
    del block


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--mb", type=int, default=100, help="size of the generated text in MiB (default: 100)"
    )
    parser.add_argument(
        "--tokenizer", choices=("char", "word"), default="char", help="tokenizer (default: char)"
    )
    args = parser.parse_args()
    tokenizer = CharTokenizer() if args.tokenizer == "char" else WordTokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        _write_big_text(path, args.mb)
        size = path.stat().st_size / 2**20
        base = _peak_rss_mib()
        t0 = time.perf_counter()
        vocab = build_vocab_from_files(path, tokenizer)
        t1 = time.perf_counter()
        built = token_cache(path, vocab, tokenizer, cache_dir=Path(tmp) / "cache", progress=False)
        t2 = time.perf_counter()
        again = token_cache(path, vocab, tokenizer, cache_dir=Path(tmp) / "cache", progress=False)
        t3 = time.perf_counter()
        checksum = int(np.asarray(again.ids[-1000:]).sum())  # touch the map
        print(f"text             : {size:,.0f} MiB, tokenizer={args.tokenizer}, vocabulary {len(vocab):,}")
        print(f"vocabulary pass  : {t1 - t0:6.1f} s  ({size / (t1 - t0):,.1f} MiB/s)")
        print(
            f"cache build      : {t2 - t1:6.1f} s  ({size / (t2 - t1):,.1f} MiB/s), {len(built):,} ids, "
            f"{built.path.stat().st_size / 2**20:,.0f} MiB on disk ({built.ids.dtype})"
        )
        print(
            f"cache reuse      : {t3 - t2:6.2f} s  (content hash, ids checksum, open; reused={again.reused})"
        )
        print(
            f"peak RSS         : {_peak_rss_mib():,.0f} MiB (before building: {base:,.0f} MiB)  [{checksum}]"
        )


if __name__ == "__main__":
    main()
