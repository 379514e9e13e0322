"""Tiny task files for the API and CLI tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

CHARS = "山水云月花鸟风雨春秋"
LEVEL = set("山云花风春")  # these characters are 平, the others 仄: a tagger learns it at once


def tone_line(rng: random.Random) -> dict[str, object]:
    text = "".join(rng.choice(CHARS) for _ in range(rng.randint(3, 9))) + "。"
    return {"text": text, "tags": [("平" if c in LEVEL else "仄") if c != "。" else None for c in text]}


def class_line(rng: random.Random) -> dict[str, object]:
    label = rng.choice(["唐", "宋"])
    pool = "山水云月" if label == "唐" else "花鸟风雨"
    return {"text": "".join(rng.choice(pool) for _ in range(rng.randint(2, 8))), "label": label}


def write_lines(path: Path, lines: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return path


def make_tag_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = random.Random(0)
    return (
        write_lines(tmp_path / "tones.train.jsonl", [tone_line(rng) for _ in range(80)]),
        write_lines(tmp_path / "tones.test.jsonl", [{**tone_line(rng), "id": i} for i in range(12)]),
    )


def make_class_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = random.Random(1)
    return (
        write_lines(tmp_path / "dyn.train.jsonl", [class_line(rng) for _ in range(80)]),
        write_lines(tmp_path / "dyn.test.jsonl", [class_line(rng) for _ in range(12)]),
    )


TINY = {"embed_size": 8, "hidden_size": 8}
FAST = {"max_steps": 6, "eval_every": 3, "warmup_steps": 2, "batch_size": 8, "device": "cpu"}
