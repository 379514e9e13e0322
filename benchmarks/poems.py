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

With ``--metre-poems N`` (regulated verse, issue 16) it also writes N poems per form and temperature
three ways — the model alone (form constraint only), ``--rhyme`` with the modern book, ``--metre`` —
and reports, beside the same shares for the real held-out Tang poems of each form:

* metre / rhyme   share passing our checker's tone pattern / Pingshui rhyme (rnnlab.poetics)
* ref             share passing pingshui-rhyme's own checker (tone pattern and rhyme), if installed
* log p           mean log-probability per token of the poems under the unconstrained model
* speed           characters per second with and without the metre, interleaved in one run,
                  and the rows that found no legal character (backtracking would be needed)
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnlab.data.poems import poem_form
from rnnlab.generate import DecodeConfig, RepetitionPenalty, sample
from rnnlab.generate.beam import log_softmax
from rnnlab.generate.decoding import decode
from rnnlab.generate.metre import MetreConstraint
from rnnlab.generate.poems import COMMA, FORM_NAMES, PERIOD, PoemForm, PoemRequest, is_hanzi, prepare_poems
from rnnlab.generate.stepper import as_stepper
from rnnlab.poet import Poet
from rnnlab.poetics.checker import check_poem
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


CONDITIONS = {  # name → request fields
    "model alone": {},
    "--rhyme modern": {"rhyme": True, "rhyme_book": "modern"},
    "--metre": {"metre": True},
}


def verdicts(lines: list[str], reference: Any) -> tuple[bool, bool, bool]:
    """(our tone pattern, our Pingshui rhyme, pingshui-rhyme's checker for both) of one poem."""
    report = check_poem(lines)
    return report.tone_ok(), report.rhyme_ok(), bool(reference(lines).both) if reference else False


def mean_log_prob(poet: Poet, poems: Sequence[str]) -> float:
    """Mean log-probability per token (characters and ，。) of ``poems`` under the model alone."""
    vocab = poet.vocab
    rows = [[vocab[c] for c in poem.replace("\n", "")] for poem in poems]
    length = len(rows[0])
    ids = np.array(rows, dtype=np.int64)  # (N, T), one form: equal lengths
    stepper = as_stepper(poet.model)
    logits, state = stepper.prefill(np.full((1, len(rows)), poet.start_id, dtype=np.int64), None)
    total = 0.0
    for t in range(length):
        total += float(log_softmax(logits.astype(np.float64))[np.arange(len(rows)), ids[:, t]].sum())
        if t + 1 < length:
            logits, state = stepper.step(ids[:, t], state)
    return total / (len(rows) * length)


def held_out_shares(valid: Sequence[str], reference: Any) -> dict[str, dict[str, float]]:
    """Our metre/rhyme shares and pingshui-rhyme's for the held-out real poems of each form."""
    out = {}
    for spec, name in FORM_NAMES.items():
        poems = [split_lines_of(text) for text in valid if poem_form(text) == name]
        poems = [lines for lines in poems if all(is_hanzi(c) for line in lines for c in line)]
        marks = [verdicts(lines, reference) for lines in poems]
        out[spec] = {
            "poems": len(poems),
            "metre": sum(m for m, _, _ in marks) / len(marks),
            "rhyme": sum(r for _, r, _ in marks) / len(marks),
            "ref": sum(b for _, _, b in marks) / len(marks),
        }
    return out


def split_lines_of(text: str) -> list[str]:
    return [part for part in re.split("[，。！？；]", text) if part]


def measure_metre(
    poet: Poet, forms: Sequence[str], temperatures: Sequence[float], n: int, reference: Any
) -> list[dict[str, Any]]:
    """For each form, temperature and condition: pass shares, log-probability, speed, dead ends."""
    rows = []
    for form in forms:
        chars = PoemForm.parse(form).chars * PoemForm.parse(form).lines
        for t in temperatures:
            for name, fields in CONDITIONS.items():
                request = PoemRequest(form=form, num=n, temperature=t, seed=7, **fields)  # type: ignore[arg-type]
                job = prepare_poems(poet.tables, request, poet.start_id)
                start = time.perf_counter()
                decode(poet.model, [job.job])
                seconds = time.perf_counter() - start
                poems = job.poems()
                marks = [verdicts([line[:-1] for line in poem.split("\n")], reference) for poem in poems]
                dead = sum(p.dead_ends for p in job.job.processors if isinstance(p, MetreConstraint))
                rows.append(
                    {
                        "form": form,
                        "temperature": t,
                        "condition": name,
                        "metre": sum(m for m, _, _ in marks) / n,
                        "rhyme": sum(r for _, r, _ in marks) / n,
                        "ref": sum(b for _, _, b in marks) / n if reference else None,
                        "log_p": mean_log_prob(poet, poems),
                        "chars_per_s": n * chars / seconds,
                        "dead_ends": dead,
                        "example": poems[0],
                    }
                )
                r = rows[-1]
                print(
                    f"{form:>5} {t:>5.1f} {name:>15} {r['metre']:>7.1%} {r['rhyme']:>7.1%} "
                    f"{(r['ref'] or 0):>7.1%} {r['log_p']:>7.3f} {r['chars_per_s']:>8.0f} {dead:>5}",
                    flush=True,
                )
    return rows


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
    parser.add_argument("--metre-poems", type=int, default=0, help="poems per form/temperature/condition")
    parser.add_argument("--metre-temperatures", default="0.6,0.8,1.0")
    parser.add_argument("--metre-only", action="store_true", help="skip the form/copying/speed part")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, Any] = {}

    poet = Poet.load(args.model)
    train, valid = split_lines(read_lines(args.data), args.valid_fraction)
    prompts = first_lines(valid, args.lines, poet)
    train_4grams = set(ngrams((line for poem in train for line in re.split("[，。]", poem)), 4))
    temperatures = [float(t) for t in args.temperatures.split(",")]
    print(f"{poet.description}\n{len(prompts)} held-out first lines, {len(train_4grams):,} training 4-grams")

    if args.metre_poems:
        results["metre"] = metre_section(poet, valid, args)
    if args.metre_only:
        write_json(args.json, results)
        return
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
    results.update(quality=rows, speed=speed)
    write_json(args.json, results)


def write_json(path: Path | None, results: dict[str, Any]) -> None:
    if path:
        path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def metre_section(poet: Poet, valid: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    """The regulated-verse evidence: generated poems three ways beside the held-out real ones."""
    try:
        from rnnlab.poetics.reference import PingshuiReference

        reference: Any = PingshuiReference()
    except Exception as err:  # pingshui-rhyme missing: report our checker only
        print(f"no reference checker ({err})")
        reference = None
    real = held_out_shares(valid, reference)
    print("\nreal held-out Tang poems:  form  poems  metre  rhyme  ref")
    for form, r in real.items():
        print(f"{form:>30} {r['poems']:>6} {r['metre']:>6.1%} {r['rhyme']:>6.1%} {r['ref']:>6.1%}")
    temperatures = [float(t) for t in args.metre_temperatures.split(",")]
    print(
        f"\n{'form':>5} {'T':>5} {'condition':>15} {'metre':>7} {'rhyme':>7} {'ref':>7} {'log p':>7} "
        f"{'chars/s':>8} {'dead':>5}"
    )
    rows = measure_metre(poet, list(FORM_NAMES), temperatures, args.metre_poems, reference)
    return {"held_out": real, "generated": rows}


if __name__ == "__main__":
    main()
