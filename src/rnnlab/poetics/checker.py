"""The metre checker: which characters of a poem break which rule of regulated verse.

The poem is judged against each of its form's four patterns (see :mod:`rnnlab.poetics.patterns`);
the best is the one with the fewest violations. A polyphonic character takes whichever reading
fits best, so it is never blamed for a rule that one of its readings keeps. A character the rhyme
book does not know is taken as fitting and listed in :attr:`MetreReport.unknown`, so a verdict is
never built on missing data.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from rnnlab.errors import DataError
from rnnlab.poetics.patterns import Pattern, Rule, line_faults, patterns, position_rule
from rnnlab.poetics.rhymebook import RhymeBook, Tone

_SEPARATORS = re.compile(r"[，。！？；：、,.!?;:\s]+")
FORM_NAMES = {(5, 4): "五言绝句", (7, 4): "七言绝句", (5, 8): "五言律诗", (7, 8): "七言律诗"}


@dataclass(frozen=True)
class Violation:
    """Character ``col`` of line ``line`` (both 0-based) breaks ``rule``."""

    line: int
    col: int
    char: str
    rule: Rule
    detail: str

    def __str__(self) -> str:
        return f"line {self.line + 1}, character {self.col + 1} ({self.char}): {self.rule.value} — {self.detail}"


@dataclass
class MetreReport:
    """What :func:`check_poem` found; ``regulated`` when nothing breaks the best pattern."""

    lines: list[str]
    pattern: Pattern
    tones: list[list[Tone]]  # the reading each character is taken in (PING or ZE; ANY if unknown)
    readings: list[list[Tone]]  # every tone each character can take (NONE: unknown)
    rhyme_group: str | None
    violations: list[Violation] = field(default_factory=list)
    unknown: list[tuple[int, int, str]] = field(default_factory=list)  # (line, col, char)

    @property
    def regulated(self) -> bool:
        return not self.violations

    @property
    def form_name(self) -> str:
        return FORM_NAMES.get((self.pattern.chars, self.pattern.lines), f"{self.pattern.lines}-line 排律")

    def tone_ok(self) -> bool:
        """No tone-pattern violation (对 粘 二四六 孤平 三平尾, and 仄 at unrhymed line ends)."""
        return all(v.rule != Rule.RHYME or not self.pattern.rhymes(v.line) for v in self.violations)

    def rhyme_ok(self) -> bool:
        """Every rhyming line ends in :attr:`rhyme_group`."""
        return not any(v.rule == Rule.RHYME and self.pattern.rhymes(v.line) for v in self.violations)

    def format(self) -> str:
        """The poem with a tone under every character, ＾ under faults, then the verdict and faults."""
        out = []
        faulty = {(v.line, v.col) for v in self.violations}
        for i, line in enumerate(self.lines):
            out.append(line)
            out.append("".join(t.mark for t in self.tones[i]))
            if any(li == i for li, _ in faulty):
                out.append("".join("＾" if (i, c) in faulty else "\u3000" for c in range(len(line))))
        group = self.rhyme_group or "none"
        verdict = "regulated" if self.regulated else f"not regulated: {len(self.violations)} violation(s)"
        out += ["", f"{self.form_name}, best pattern {self.pattern.name}; rhyme group {group}; {verdict}"]
        out += [f"  {v}" for v in self.violations]
        poly = [
            f"{self.lines[i][c]}→{self.tones[i][c].mark}"
            for i, row in enumerate(self.readings)
            for c, tone in enumerate(row)
            if tone == Tone.ANY
        ]
        if poly:
            out.append("polyphonic, read as: " + " ".join(poly))
        if self.unknown:
            chars = " ".join(dict.fromkeys(ch for _, _, ch in self.unknown))
            out.append(f"not in the rhyme book, taken as fitting: {chars}")
        return "\n".join(out)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: lines, tone marks, pattern, rhyme group, violations."""
        return {
            "lines": self.lines,
            "tones": ["".join(t.mark for t in row) for row in self.tones],
            "form": self.form_name,
            "pattern": self.pattern.name,
            "rhyme_group": self.rhyme_group,
            "regulated": self.regulated,
            "violations": [
                {"line": v.line, "col": v.col, "char": v.char, "rule": v.rule.value, "detail": v.detail}
                for v in self.violations
            ],
            "unknown": [ch for _, _, ch in self.unknown],
        }


def split_poem(text: str) -> list[str]:
    """The verse lines of ``text`` (split at punctuation and white space), checked for a regular form."""
    lines = [part for part in _SEPARATORS.split(text.strip()) if part]
    if not lines:
        raise DataError("the poem is empty; give its lines, e.g. 国破山河在，城春草木深。…")
    for line in lines:
        odd = [c for c in line if not unicodedata.name(c, "").startswith("CJK UNIFIED IDEOGRAPH")]
        if odd:
            raise DataError(
                f"line {line!r} holds {''.join(odd)!r}: a poem line holds Chinese characters only; "
                "separate lines with ，。 or new lines"
            )
    lengths = {len(line) for line in lines}
    if len(lengths) != 1 or lengths.pop() not in (5, 7):
        raise DataError(
            f"regulated verse has lines of 5 or of 7 characters, got lengths {[len(x) for x in lines]}; "
            "check the punctuation between lines"
        )
    if len(lines) < 4 or len(lines) % 2:
        raise DataError(
            f"regulated verse has 4 (绝句), 8 (律诗) or another even number of lines, got {len(lines)}"
        )
    return lines


def check_poem(text: str | Sequence[str], book: RhymeBook | None = None) -> MetreReport:
    """Judge a 绝句 or 律诗 (text with punctuation or new lines, or its lines) against regulated verse."""
    book = book or RhymeBook.pingshui()
    lines = split_poem(text if isinstance(text, str) else "\n".join(text))
    readings = [[book.tones(ch) for ch in line] for line in lines]
    reports = [_judge(lines, readings, pattern, book) for pattern in patterns(len(lines[0]), len(lines))]
    return min(reports, key=lambda r: len(r.violations))  # first of the best: patterns() order


def _judge(lines: list[str], readings: list[list[Tone]], pattern: Pattern, book: RhymeBook) -> MetreReport:
    """The report of ``lines`` against one pattern."""
    chars = pattern.chars
    unknown = [(i, c, ch) for i, line in enumerate(lines) for c, ch in enumerate(line) if ch not in book]
    group, rhyme_faults = _rhyme(lines, pattern, book)
    tones, violations = [], []
    for i, line in enumerate(lines):
        options = [tone if tone != Tone.NONE else Tone.ANY for tone in readings[i]]
        if pattern.rhymes(i):
            options[-1] = Tone.PING  # the rhyme is judged by group below, not twice
        best, faults = _best_reading(options, pattern.kinds[i])
        if pattern.rhymes(i) and not readings[i][-1] & Tone.PING:
            best[-1] = readings[i][-1] or Tone.ANY  # show the rhyme character's own tone
        tones.append(best)
        for col, rule in faults:
            rule = rule or position_rule(i, col, chars)
            violations.append(Violation(i, col, line[col], rule, _detail(rule, pattern, i, col)))
        violations += [v for v in rhyme_faults if v.line == i]
    return MetreReport(lines, pattern, tones, readings, group, violations, unknown)


def _best_reading(options: list[Tone], kind: str) -> tuple[list[Tone], list[tuple[int, Rule | None]]]:
    """The reading of a line (one tone per character, from each one's options) with fewest faults."""
    choices = [[t for t in (Tone.PING, Tone.ZE) if t & option] for option in options]
    best: tuple[list[Tone], list[tuple[int, Rule | None]]] | None = None
    for reading in itertools.product(*choices):
        faults = line_faults(reading, kind)
        if best is None or len(faults) < len(best[1]):
            best = (list(reading), faults)
            if not faults:
                break
    assert best is not None
    return best


def _rhyme(lines: list[str], pattern: Pattern, book: RhymeBook) -> tuple[str | None, list[Violation]]:
    """The level-tone group most rhyming lines end in, and a violation for each line that does not."""
    ends = [(i, line[-1]) for i, line in enumerate(lines) if pattern.rhymes(i)]
    known = [(i, ch) for i, ch in ends if ch in book]
    count = {g: sum(g in book.level_groups_of(ch) for _, ch in known) for g in book.level_groups}
    group = max(book.level_groups, key=lambda g: count[g]) if known and max(count.values()) else None
    faults = []
    for i, ch in known:
        if group is None or group not in book.level_groups_of(ch):
            own = "、".join(sorted(r.group for r in book.readings(ch)))
            want = f"the poem rhymes in {group}" if group else "no rhyming line ends in a level-tone group"
            faults.append(Violation(i, len(lines[i]) - 1, ch, Rule.RHYME, f"{ch} is {own}; {want}"))
    return group, faults


def _detail(rule: Rule, pattern: Pattern, line: int, col: int) -> str:
    want = pattern.tones(line)[col].mark
    if rule == Rule.RHYME:
        return f"a line that does not rhyme ends in {want}"
    if rule in (Rule.DUI, Rule.NIAN, Rule.ALTERNATION):
        return f"needs {want} ({rule.meaning})"
    return rule.meaning
