"""Task files from the collection: each converter round-trips the collection's own text and marks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rnnlab.data.collection import PART_FILES
from rnnlab.tasks.files import read_examples
from rnnlab.tasks.sources import (
    build_task,
    is_irregular,
    punct_examples,
    punctuate,
    strains_of,
    strip_marks,
    tone_example,
)

TONES = [
    {"id": "a", "paragraphs": ["床前明月光，疑是地上霜。"], "strains": ["平平平仄平，平仄仄仄平。"]},
    {"id": "b", "paragraphs": ["相看两不厌，只有敬亭山。"], "strains": ["○平仄仄仄，仄仄仄平平。"]},
]
PROSE = [
    {
        "book": "论语",
        "chapter": "学而篇",
        "paragraphs": ["子曰：“学而时习之，不亦说乎？有朋自远方来，不亦乐乎？”", "曾子曰：“吾日三省吾身。”"],
    }
]
POEMS = [
    {
        "id": "p",
        "title": "蜀道难",
        "author": "李白",
        "paragraphs": ["噫吁嚱，危乎高哉！蜀道之难，难于上青天。"],
    },
    {"id": "q", "title": "静夜思", "author": "李白", "paragraphs": ["床前明月光，疑是地上霜。"]},
]
SONG = [
    {"id": "s", "title": "题西林壁", "author": "苏轼", "paragraphs": ["横看成岭侧成峰，远近高低各不同。"]}
]


def write_collection(root: Path) -> Path:
    parts: dict[str, list[dict[str, Any]]] = {"strains": TONES, "prose": PROSE, "tang": POEMS, "song": SONG}
    for part, records in parts.items():
        path = root / PART_FILES[part]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return root


def test_tone_examples_round_trip_the_marks() -> None:
    """Text = the poem; 平/仄 become tags, ○ and punctuation null; strains_of gives the marks back."""
    for record in TONES:
        example = tone_example(record)
        assert example is not None and example["text"] == "".join(record["paragraphs"])
        assert strains_of(example["text"], example["tags"]) == "".join(record["strains"])
    assert tone_example(TONES[1])["tags"][:3] == [None, "平", "仄"]  # type: ignore[index]


def test_notes_are_cut_from_text_and_tags_alike() -> None:
    """A bracketed editors' note disappears with its marks, keeping the alignment."""
    record = {"paragraphs": ["春眠（一作眠）不觉晓。"], "strains": ["平平？仄仄平？仄仄○。"]}
    example = tone_example(record)
    assert example == {"text": "春眠不觉晓。", "tags": ["平", "平", "仄", "仄", None, None]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("子曰：“学而时习之，不亦说乎？”", "子曰：学而时习之，不亦说乎？"),
        ("臣闻: 求木之长者,必固其根本.", "臣闻：求木之长者，必固其根本。"),
        ("《诗》云：「周虽旧邦，其命维新。」", "诗云：周虽旧邦，其命维新。"),
        ("噫吁嚱，危乎高哉！！", "噫吁嚱，危乎高哉！"),
    ],
)
def test_punctuation_round_trips_the_normalised_text(text: str, expected: str) -> None:
    """punctuate(strip_marks(x)) is x without quotes and book marks, half-width marks made full-width,
    and of several marks in a row the first."""
    chars, tags = strip_marks(text)
    assert not set(chars) & set("，。？！；：、“”「」《》")
    assert punctuate(chars, tags) == expected


def test_long_paragraphs_are_cut_at_sentence_ends() -> None:
    """Pieces end after 。？！ and stay within max_chars unless one sentence is longer."""
    text = "甲乙丙。丁戊己庚。辛壬癸子丑寅卯辰。巳午。"
    pieces = punct_examples(text, max_chars=8)
    assert [p["text"] for p in pieces] == ["甲乙丙丁戊己庚", "辛壬癸子丑寅卯辰", "巳午"]
    assert "".join(punctuate(p["text"], p["tags"]) for p in pieces) == text


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_build_task_writes_train_and_test_files(tmp_path: Path) -> None:
    """Each task's two files together hold every example once, and read back as task files."""
    from rnnlab.data.poems import Poem

    root = write_collection(tmp_path / "data")
    assert is_irregular(Poem.from_dict(POEMS[0])) and not is_irregular(Poem.from_dict(POEMS[1]))
    expected = {"tones": 2, "punct": 3, "dynasty": 3, "authors": 2}
    for name, n in expected.items():
        files = build_task(name, tmp_path / "tasks", source=root, test_fraction=0.5)
        both = records(files.train) + records(files.test)
        assert files.n_train + files.n_test == len(both) == n
    dynasty = records(tmp_path / "tasks" / "dynasty.train.jsonl") + records(
        tmp_path / "tasks" / "dynasty.test.jsonl"
    )
    assert sorted(r["label"] for r in dynasty) == ["唐", "唐", "宋"]
    punct = records(tmp_path / "tasks" / "punct.train.jsonl") + records(
        tmp_path / "tasks" / "punct.test.jsonl"
    )
    assert {r["source"] for r in punct} == {"论语", "tang"}  # the prose and the irregular poem, not 静夜思
    for path in (tmp_path / "tasks").glob("tones.*.jsonl"):
        if path.stat().st_size:
            read_examples(path, "tag")
