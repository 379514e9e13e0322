"""Pair files: reading with errors that name the line, writing back, splitting by group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.errors import DataError
from rnnlab.tasks.pairs import Pair, read_pairs, split_pairs, write_pairs


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_round_trip_keeps_other_fields(tmp_path: Path) -> None:
    """Pairs read back as written, extra fields included; blank lines are skipped."""
    path = write(
        tmp_path / "p.jsonl",
        ['{"id": "a", "source": "海内存知己", "target": "天涯若比邻"}', "", '{"source": "x", "target": "y"}'],
    )
    pairs = read_pairs(path)
    assert [(p.source, p.target, p.line) for p in pairs] == [("海内存知己", "天涯若比邻", 1), ("x", "y", 3)]
    assert pairs[0].record == {"id": "a"}
    out = write_pairs(tmp_path / "out.jsonl", pairs)
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[0]) == {
        "id": "a",
        "source": "海内存知己",
        "target": "天涯若比邻",
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["source", "target"]', "expected a JSON object"),
        ('{"target": "y"}', '"source" field is missing'),
        ('{"source": "x"}', '"target" field is missing'),
        ('{"source": 3, "target": "y"}', "must be a string"),
        ('{"source": " ", "target": "y"}', "is empty"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    """A malformed line raises DataError with ``file:line`` and what is wrong."""
    path = write(tmp_path / "bad.jsonl", ['{"source": "a", "target": "b"}', line])
    with pytest.raises(DataError, match=f"bad.jsonl:2: .*{message}"):
        read_pairs(path)


def test_missing_targets_allowed_when_optional(tmp_path: Path) -> None:
    """A file of sources only reads when targets are optional."""
    path = write(tmp_path / "in.jsonl", ['{"source": "a"}'])
    assert read_pairs(path, targets="optional")[0].target is None


def test_unreadable_files(tmp_path: Path) -> None:
    """Missing, empty and non-UTF-8 files raise DataError saying what to pass."""
    with pytest.raises(DataError, match="no such file"):
        read_pairs(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="holds no pairs"):
        read_pairs(write(tmp_path / "empty.jsonl", [""]))
    (tmp_path / "latin.jsonl").write_bytes(b'{"source": "\xe9"}')
    with pytest.raises(DataError, match="UTF-8"):
        read_pairs(tmp_path / "latin.jsonl")


def test_split_keeps_groups_together() -> None:
    """Pairs sharing an id land on one side; the split does not depend on order; both sides are non-empty."""
    pairs = [Pair(f"s{i}", "t", record={"id": str(i // 2)}) for i in range(400)]
    train, held = split_pairs(pairs, 0.2)
    assert train and held and len(train) + len(held) == 400
    assert {p.group for p in train}.isdisjoint({p.group for p in held})
    _, held2 = split_pairs(pairs[::-1], 0.2)
    assert {p.source for p in held} == {p.source for p in held2}
