"""Suite entries for poem generation with the bundled model: speed, and quality where it is cheap.

The measurements are those of ``benchmarks/poems.py`` (run it alone for the full quality table);
this module only sizes them for the suite. Generation runs on one thread, as a poem server would.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import torch

from benchmarks.poems import first_lines, measure_quality, measure_speed, ngrams
from rnnlab.poet import Poet
from rnnlab.train.corpus import read_lines, split_lines

if TYPE_CHECKING:
    from benchmarks.suite import Context, Section


def suite_entry(ctx: Context) -> list[Section]:
    from benchmarks.suite import Section

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        poet = Poet.load()
        speed = measure_speed(poet, batch=ctx.pick(4, 64, 64), repeats=ctx.pick(1, 10, 20))
        sections = [
            Section(
                "generation",
                "Poem generation with the bundled model (the default engine, 1 thread)",
                ["single_poem_seconds", "single_chars_per_s", "batched_chars_per_s", "batch"],
                [speed],
                [
                    f"model: {poet.description}; engine: {type(poet.model).__name__}",
                    "五言绝句 (24 characters with punctuation) per poem",
                ],
            )
        ]
        tang = None if ctx.data_dir is None else ctx.data_dir / "tang" / "tang.jsonl"
        if ctx.mode != "quick" and tang is not None and tang.is_file():
            train, valid = split_lines(read_lines(tang), 0.05)
            prompts = first_lines(valid, ctx.pick(0, 20, 100), poet)
            grams = set(ngrams((line for poem in train for line in re.split("[，。]", poem)), 4))
            rows = measure_quality(poet, prompts, [0.8], grams)
            sections.append(
                Section(
                    "quality",
                    f"Poem quality on {len(prompts)} held-out first lines (temperature 0.8)",
                    ["temperature", "constrained", "well_formed", "copied_4grams", "distinct_2"],
                    rows,
                    ["full table: python -m benchmarks.poems --data ../shared/data/tang/tang.jsonl"],
                )
            )
        return sections
    finally:
        torch.set_num_threads(threads)
