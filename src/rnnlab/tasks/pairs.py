"""Pair files for sequence-to-sequence tasks: JSON lines ``{"source": …, "target": …}``, UTF-8.

    {"source": "海内存知己", "target": "天涯若比邻"}          a couplet: upper line → lower line
    {"source": "床前明月光，疑是地上霜。…", "target": "静夜思"}   a poem → its title

Other fields (``"id"`` of the poem a pair comes from, ``"kind"``) are kept and written back
unchanged. Reading stops at the first malformed line with a :class:`~rnnlab.errors.DataError`
naming the file and line and saying what to write instead. A file to *answer* (``rnnlab seq2seq
eval`` on inputs only) may leave ``"target"`` out.

The held-out split of a training file is chosen by a hash of each pair's ``"group"`` key — the
poem id when the pair has one, else its source — so both couplets of one poem fall on the same
side, the split does not depend on line order, and a source repeated in the file never straddles it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rnnlab.data.corpus import hash_unit
from rnnlab.errors import ConfigError, DataError
from rnnlab.tasks.files import json_object, text_field

SPLIT_SALT = "rnnlab-pairs-valid"
Targets = Literal["required", "optional"]


@dataclass(frozen=True)
class Pair:
    """One line of a pair file: its source, its target (None when absent) and where it came from."""

    source: str
    target: str | None
    line: int = 0  # 1-based line number in the file (0: made in memory)
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the whole JSON object

    @property
    def group(self) -> str:
        """What keeps related pairs on one side of a split: the poem id when given, else the source."""
        key = self.record.get("id")
        return str(key) if key is not None else self.source

    def to_record(self) -> dict[str, Any]:
        """The JSON object of this pair: its other fields, then source and target."""
        out = {**self.record, "source": self.source}
        if self.target is not None:
            out["target"] = self.target
        return out


def parse_pair(
    line: str, source: str = "<input>", number: int = 0, targets: Targets = "required"
) -> Pair | None:
    """Line ``number`` of ``source`` as a Pair (None when blank); DataError naming the line if wrong."""
    where = f"{source}:{number}"
    if not line.strip():
        return None
    record = json_object(line, where, '{"source": …, "target": …}')
    missing = 'every line needs "source" and "target"'
    text = text_field(record, "source", where, missing)
    target = None
    if "target" in record or targets == "required":
        target = text_field(record, "target", where, missing)
    record = {k: v for k, v in record.items() if k not in ("source", "target")}
    return Pair(text.strip(), None if target is None else target.strip(), number, record)


def read_pairs(path: str | Path, *, targets: Targets = "required") -> list[Pair]:
    """Every pair of a pair file; blank lines are skipped, anything malformed raises DataError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(
            f"{path}: no such file; pass a JSON-lines pair file (write one with `rnnlab data pairs`)"
        ) from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; pass a JSON-lines pair file") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 (byte {err.start}); save the pair file as UTF-8") from None
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        pair = parse_pair(line, str(path), number, targets)
        if pair is not None:
            pairs.append(pair)
    if not pairs:
        raise DataError(f'{path}: holds no pairs; write one {{"source": …, "target": …}} object a line')
    return pairs


def write_pairs(path: str | Path, pairs: Iterable[Pair | dict[str, Any]]) -> Path:
    """Write pairs (or their records) one JSON object a line, atomically (temporary name, then rename)."""
    from rnnlab.data.collection import write_jsonl

    records = (p.to_record() if isinstance(p, Pair) else p for p in pairs)
    return write_jsonl(Path(path), records)


def is_held_out(pair: Pair, valid_fraction: float) -> bool:
    """Whether ``pair`` belongs to the held-out split (a hash of its group below ``valid_fraction``)."""
    return hash_unit(pair.group, SPLIT_SALT) < valid_fraction


def split_pairs(pairs: Sequence[Pair], valid_fraction: float) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out) by the hash of each pair's group; at least one pair on each side."""
    if not 0 < valid_fraction < 1:
        raise ConfigError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    if len(pairs) < 2:
        raise DataError("a pair file needs at least two pairs to hold one out; pass --valid FILE")
    held = [is_held_out(p, valid_fraction) for p in pairs]
    train = [p for p, h in zip(pairs, held, strict=True) if not h]
    valid = [p for p, h in zip(pairs, held, strict=True) if h]
    if not valid:
        train, valid = train[:-1], train[-1:]
    if not train:
        train, valid = valid[:-1], valid[-1:]
    return train, valid
