"""Quality and speed of poem generation: form, copying, diversity, characters per second.

    python benchmarks/poems.py --data ../shared/data/tang/tang.jsonl            # the bundled model
    python benchmarks/poems.py --data poems.jsonl --model runs/NAME --lines 200

Prompts are the first lines (five or seven characters) of poems the model never trained on: the
held-out split that ``rnnlab train`` chose for the model's own run (same data file, same hash).
For each prompt and temperature the model continues the poem as a quatrain of that line length,
once with the form constraint and once without it, and we report:

* well-formed   share of poems with exactly the form's layout (lines, characters, ，and 。)
* copied 4-gram share of generated 4-grams (within a line) that occur in the training poems
* distinct-2    distinct generated bigrams / all generated bigrams, over all poems
* speed         characters per second for one poem at a time and for a batch of 64, one thread
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from rnnlab.generate import DecodeConfig, RepetitionPenalty, sample
from rnnlab.generate.poems import COMMA, PERIOD, PoemForm, PoemRequest, is_hanzi
from rnnlab.poet import Poet
from rnnlab.train.corpus import read_lines, split_lines


def first_lines(poems: Iterable[str], count: int, poet: Poet) -> list[str]:
    """First lines of held-out poems: 5 or 7 Chinese characters the model knows (no □ placeholders)."""
    out = []
    for poem in poems:
        line = poem.split(COMMA)[0]
        if len(line) in (5, 7) and all(is_hanzi(c) and c in poet.vocab for c in line) and line not in out:
            out.append(line)
        if len(out) == count:
            break
    return out


def layout_pattern(form: PoemForm) -> re.Pattern[str]:
    couplet = rf"[^，。]{{{form.chars}}}，[^，。]{{{form.chars}}}。"
    return re.compile(rf"^(?:{couplet}){{{form.lines // 2}}}$")


def generated_lines(poem: str, prompt: str) -> list[str]:
    """The verse lines the model wrote (the prompt's line excluded), punctuation removed."""
    body = poem.replace("\n", "")[len(prompt) :]
    return [part for part in re.split("[，。]", body) if part]


def ngrams(lines: Iterable[str], n: int) -> Iterable[str]:
    for line in lines:
        for i in range(len(line) - n + 1):
            yield line[i : i + n]


def unconstrained(poet: Poet, prompt: str, form: PoemForm, temperature: float, seed: int) -> str:
    """The same sampling without the form constraint: the model alone decides lines and punctuation."""
    vocab = poet.vocab
    punctuation = (vocab[COMMA], vocab[PERIOD])
    config = DecodeConfig(
        max_new_tokens=len(form.template()) - len(prompt) + 1,
        temperature=temperature,
        top_p=0.9,
        seed=seed,
        stop_ids=(vocab.eos_id,),
    )
    (ids,) = sample(
        poet.model,
        [poet.start_id, *(vocab[c] for c in prompt)],
        config,
        processors=[RepetitionPenalty(1.2, ignore=punctuation)],
    )
    return prompt + "".join(vocab.to_tokens([i for i in ids if i != vocab.eos_id]))


def measure_quality(
    poet: Poet, prompts: Sequence[str], temperatures: Sequence[float], train_4grams: set[str]
) -> list[dict[str, float]]:
    rows = []
    for t in temperatures:
        for constrained in (True, False):
            formed, copied, total4, bigrams = 0, 0, 0, []
            for i, prompt in enumerate(prompts):
                form = PoemForm(len(prompt), 4)
                if constrained:
                    (poem,) = poet.write(PoemRequest(prefix=prompt, form=str(form), temperature=t, seed=i))
                    flat = poem.replace("\n", "")
                else:
                    flat = unconstrained(poet, prompt, form, t, seed=i)
                formed += bool(layout_pattern(form).match(flat))
                lines = generated_lines(flat, prompt)
                grams = list(ngrams(lines, 4))
                copied += sum(g in train_4grams for g in grams)
                total4 += len(grams)
                bigrams += list(ngrams(lines, 2))
            rows.append(
                {
                    "temperature": t,
                    "constrained": constrained,
                    "well_formed": formed / len(prompts),
                    "copied_4grams": copied / max(total4, 1),
                    "distinct_2": len(set(bigrams)) / max(len(bigrams), 1),
                }
            )
    return rows


def measure_speed(poet: Poet, batch: int, repeats: int) -> dict[str, float]:
    """Characters per second (punctuation included) writing 五言绝句 one at a time and in a batch."""
    chars_per_poem = len(PoemForm(5, 4).template())
    poet.write(PoemRequest(num=1, seed=0))  # first call pays one-off costs
    start = time.perf_counter()
    for i in range(repeats):
        poet.write(PoemRequest(num=1, seed=i))
    single = time.perf_counter() - start
    start = time.perf_counter()
    poet.write(PoemRequest(num=batch, seed=0))
    batched = time.perf_counter() - start
    return {
        "single_poem_seconds": single / repeats,
        "single_chars_per_s": repeats * chars_per_poem / single,
        "batched_chars_per_s": batch * chars_per_poem / batched,
        "batch": batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="the corpus the model was trained on")
    parser.add_argument("--model", help="run folder (default: the bundled model)")
    parser.add_argument("--lines", type=int, default=200, help="held-out first lines (default 200)")
    parser.add_argument("--temperatures", default="0.6,0.8,1.0,1.2")
    parser.add_argument("--valid-fraction", type=float, default=0.05)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    poet = Poet.load(args.model)
    train, valid = split_lines(read_lines(args.data), args.valid_fraction)
    prompts = first_lines(valid, args.lines, poet)
    train_4grams = set(ngrams((line for poem in train for line in re.split("[，。]", poem)), 4))
    temperatures = [float(t) for t in args.temperatures.split(",")]
    print(f"{poet.description}\n{len(prompts)} held-out first lines, {len(train_4grams):,} training 4-grams")

    rows = measure_quality(poet, prompts, temperatures, train_4grams)
    print(
        f"\n{'temperature':>11} {'constraint':>10} {'well-formed':>11} "
        f"{'copied 4-grams':>14} {'distinct-2':>10}"
    )
    for r in rows:
        on = "on" if r["constrained"] else "off"
        print(
            f"{r['temperature']:>11.1f} {on:>10} {r['well_formed']:>11.1%} "
            f"{r['copied_4grams']:>14.1%} {r['distinct_2']:>10.3f}"
        )
    speed = measure_speed(poet, batch=64, repeats=20)
    print(
        f"\nspeed (1 thread): one poem {speed['single_poem_seconds'] * 1e3:.0f} ms, "
        f"{speed['single_chars_per_s']:.0f} chars/s single stream, "
        f"{speed['batched_chars_per_s']:.0f} chars/s in batches of {speed['batch']}"
    )
    if args.json:
        args.json.write_text(json.dumps({"quality": rows, "speed": speed}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
