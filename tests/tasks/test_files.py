"""Task files: examples read as written, and every kind of bad line named with its line number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rnnlab.errors import DataError
from rnnlab.tasks.files import read_examples, split_examples, with_target


def write(path: Path, *lines: Any) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    )
    return path


def test_classify_and_tag_files_are_read_with_line_numbers(tmp_path: Path) -> None:
    """Blank lines are skipped; null tags stay None; other fields are kept for prediction output."""
    f = write(
        tmp_path / "t.jsonl",
        {"text": "床前", "tags": ["平", None], "id": 7},
        "",
        {"text": "月", "tags": ["仄"]},
    )
    examples = read_examples(f, "tag")
    assert [(e.text, e.tags, e.line) for e in examples] == [("床前", ("平", None), 1), ("月", ("仄",), 3)]
    assert with_target(examples[0], "tag", ("平", "平")) == {"text": "床前", "tags": ["平", "平"], "id": 7}
    c = read_examples(write(tmp_path / "c.jsonl", {"text": "春眠", "label": "唐"}), "classify")
    assert c[0].label == "唐"


@pytest.mark.parametrize(
    ("kind", "line", "message"),
    [
        ("tag", {"text": "床前明", "tags": ["平", "平"]}, "2 tags for 3 characters"),
        ("tag", {"text": "", "tags": []}, '"text" is empty'),
        ("tag", {"text": "   ", "tags": ["O", "O", "O"]}, '"text" is empty'),
        ("classify", {"text": "床前"}, 'the "label" field is missing'),
        ("tag", {"text": "床前"}, 'the "tags" field is missing'),
        ("classify", {"label": "唐"}, 'the "text" field is missing'),
        ("classify", {"text": "床", "label": 3}, "quote numbers"),
        ("tag", {"text": "床", "tags": "平"}, "must be a list"),
        ("classify", "{not json", "not valid JSON"),
        ("classify", '["床"]', "expected a JSON object"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, kind: str, line: Any, message: str) -> None:
    """The error names the file, the line (here line 2) and what to fix."""
    good = {"text": "月", "label": "唐"} if kind == "classify" else {"text": "月", "tags": ["仄"]}
    f = write(tmp_path / "bad.jsonl", good, line)
    with pytest.raises(DataError, match=message) as err:
        read_examples(f, kind)
    assert f"{f}:2:" in str(err.value)


def test_predict_inputs_need_no_targets_and_missing_files_are_clear(tmp_path: Path) -> None:
    """targets="optional" reads texts alone; a missing or empty file is a DataError."""
    f = write(tmp_path / "in.jsonl", {"text": "床前"})
    assert read_examples(f, "tag", targets="optional")[0].target is None
    with pytest.raises(DataError, match="no such file"):
        read_examples(tmp_path / "nope.jsonl", "tag")
    with pytest.raises(DataError, match="holds no examples"):
        read_examples(write(tmp_path / "empty.jsonl", ""), "tag")


def test_the_split_is_by_text_hash() -> None:
    """Deterministic, order-independent, duplicates on one side, roughly the asked-for share held out."""
    from rnnlab.tasks.files import Example

    examples = [Example(f"诗{i % 700}", "x", i + 1) for i in range(1000)]
    train, held = split_examples(examples, 0.1)
    _, held2 = split_examples(examples[::-1], 0.1)
    assert {e.text for e in held} == {e.text for e in held2}
    assert not {e.text for e in train} & {e.text for e in held}
    assert 0.05 < len(held) / len(examples) < 0.15
