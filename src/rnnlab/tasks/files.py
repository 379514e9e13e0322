"""Task files: JSON lines, one example a line, UTF-8 — reading (errors name the line), splitting.

Each kind of task has a text field and one target field::

    classify   {"text": "床前明月光，疑是地上霜。", "label": "唐"}
    tag        {"text": "床前明月光", "tags": ["平", "平", "平", "仄", "平"]}

A tagging file has exactly one tag per character of ``text`` (punctuation included). A tag may
be ``null`` where the gold tag is unknown (the tone data's ○, or punctuation in a tone task):
such positions count in neither the loss nor any metric, and are still predicted. Other fields
are kept and written back unchanged by ``rnnlab task predict``. A sequence-to-sequence task
(``{"source", "target"}``) adds its kind to :data:`TARGET_FIELDS` and a branch to
:func:`_target`; everything else here (line-numbered errors, splitting, writing) is shared.

The held-out split of a training file is chosen by a hash of each example's text, so it does not
depend on line order, duplicates never straddle it, and baselines fitted later see exactly the
training examples the model saw.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rnnlab.data.corpus import hash_unit
from rnnlab.errors import ConfigError, DataError

TARGET_FIELDS: dict[str, str] = {"classify": "label", "tag": "tags"}
KINDS: tuple[str, ...] = tuple(TARGET_FIELDS)
SPLIT_SALT = "rnnlab-task-valid"
Targets = Literal["required", "optional"]
Tags = tuple[str | None, ...]
Target = str | Tags


@dataclass(frozen=True)
class Example:
    """One line of a task file: its text, its target (None when absent) and where it came from."""

    text: str
    target: Target | None
    line: int  # 1-based line number in the file
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the whole JSON object

    @property
    def label(self) -> str:
        assert isinstance(self.target, str)
        return self.target

    @property
    def tags(self) -> Tags:
        assert isinstance(self.target, tuple)
        return self.target


def check_kind(kind: str) -> str:
    if kind not in TARGET_FIELDS:
        raise ConfigError(f"unknown task kind {kind!r}; options are {list(KINDS)}")
    return kind


def _target(kind: str, record: dict[str, Any], where: str, text: str) -> Target:
    """The target field of ``record`` (present), checked for ``kind``."""
    name = TARGET_FIELDS[kind]
    value = record[name]
    if kind == "classify":
        if not isinstance(value, str) or not value:
            raise DataError(
                f'{where}: "label" must be a non-empty string, got {value!r}; quote numbers ("label": "3")'
            )
        return value
    if not isinstance(value, list) or not all(t is None or (isinstance(t, str) and t) for t in value):
        raise DataError(
            f'{where}: "tags" must be a list of non-empty strings (or null for unknown), got {value!r:.80}'
        )
    if len(value) != len(text):
        raise DataError(
            f'{where}: {len(value)} tags for {len(text)} characters of "text"; give exactly one tag per '
            "character, punctuation included (null where the tag is unknown)"
        )
    return tuple(value)


def json_object(line: str, where: str, shape: str) -> dict[str, Any]:
    """The JSON object on one line of a JSON-lines file; DataError naming ``where`` (``file:line``) and
    the ``shape`` expected (e.g. ``{"text": …}``) when it is not one."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{where}: not valid JSON ({err.msg}); each line must be one JSON object") from None
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object {shape}, got {type(record).__name__}")
    return record


def text_field(record: dict[str, Any], name: str, where: str, missing: str) -> str:
    """``record[name]``, a non-empty string; DataError naming the line otherwise (``missing`` says what
    every line needs)."""
    if name not in record:
        raise DataError(f'{where}: the "{name}" field is missing; {missing}')
    value = record[name]
    if not isinstance(value, str):
        raise DataError(f'{where}: "{name}" must be a string, got {type(value).__name__}')
    if not value.strip():
        raise DataError(f'{where}: "{name}" is empty; drop the line or give it some text')
    return value


def parse_line(line: str, kind: str, source: str, number: int, targets: Targets) -> Example | None:
    """Line ``number`` of ``source`` as an Example (None when blank); DataError naming the line if wrong."""
    where = f"{source}:{number}"
    if not line.strip():
        return None
    record = json_object(line, where, '{"text": …}')
    text = text_field(record, "text", where, 'every example needs "text"')
    name = TARGET_FIELDS[kind]
    if name not in record:
        if targets == "required":
            raise DataError(
                f'{where}: the "{name}" field is missing; a {kind} file needs "text" and "{name}" '
                "on every line"
            )
        return Example(text, None, number, record)
    return Example(text, _target(kind, record, where, text), number, record)


def read_examples(path: str | Path, kind: str, *, targets: Targets = "required") -> list[Example]:
    """Every example of a task file; blank lines are skipped, anything malformed raises DataError."""
    check_kind(kind)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; pass a JSON-lines task file") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 (byte {err.start}); save the task file as UTF-8") from None
    examples = []
    for number, line in enumerate(text.splitlines(), start=1):
        example = parse_line(line, kind, str(path), number, targets)
        if example is not None:
            examples.append(example)
    if not examples:
        raise DataError(f"{path}: holds no examples; write one JSON object a line")
    return examples


def split_examples(examples: Sequence[Example], valid_fraction: float) -> tuple[list[Example], list[Example]]:
    """(train, held-out) by a hash of each text; at least one example on each side."""
    if not 0 < valid_fraction < 1:
        raise ConfigError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    if len(examples) < 2:
        raise DataError("a task file needs at least two examples to hold one out; pass --valid FILE")
    held = [hash_unit(e.text, SPLIT_SALT) < valid_fraction for e in examples]
    train = [e for e, h in zip(examples, held, strict=True) if not h]
    valid = [e for e, h in zip(examples, held, strict=True) if h]
    if not valid:
        train, valid = train[:-1], train[-1:]
    if not train:
        train, valid = valid[:-1], valid[-1:]
    return train, valid


def with_target(example: Example, kind: str, target: Target) -> dict[str, Any]:
    """The example's original record with its target field set to ``target``."""
    value: Any = list(target) if isinstance(target, tuple) else target
    return {**example.record, TARGET_FIELDS[kind]: value}
