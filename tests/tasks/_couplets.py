"""A tiny couplet pair file and run folder for the couplet, seq2seq and CLI tests (imported by them)."""

from __future__ import annotations

import json
from pathlib import Path

COUPLETS = [
    ("海内存知己", "天涯若比邻"),
    ("与君离别意", "同是宦游人"),
    ("明月松间照", "清泉石上流"),
    ("白日依山尽", "黄河入海流"),
    ("两个黄鹂鸣翠柳", "一行白鹭上青天"),
    ("窗含西岭千秋雪", "门泊东吴万里船"),
    ("国破山河在", "城春草木深"),
    ("感时花溅泪", "恨别鸟惊心"),
    ("无边落木萧萧下", "不尽长江滚滚来"),
    ("星垂平野阔", "月涌大江流"),
    ("野旷天低树", "江清月近人"),
    ("大漠孤烟直", "长河落日圆"),
]
TINY_SEQ2SEQ = {"embed_size": 8, "encoder_hidden_size": 8, "hidden_size": 16, "dropout": 0.0}


def write_couplets(path: Path, repeat: int = 4) -> Path:
    """The couplets above, ``repeat`` times (each copy its own "id"), as a pair file."""
    lines = [
        json.dumps({"id": f"{k}-{i}", "source": s, "target": t}, ensure_ascii=False)
        for k in range(repeat)
        for i, (s, t) in enumerate(COUPLETS)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train_tiny_couplets(folder: Path, steps: int = 30, **options: object) -> Path:
    """A run folder of a tiny encoder–decoder trained for a few updates on :data:`COUPLETS`."""
    from rnnlab.tasks.seq2seq import Seq2SeqOptions, train_seq2seq
    from rnnlab.train.config import TrainConfig

    data = write_couplets(folder.parent / f"{folder.name}.pairs.jsonl")
    config = TrainConfig(
        batch_size=8, epochs=50, max_steps=steps, lr=1e-2, warmup_steps=0, log_every=10, device="cpu"
    )
    train_seq2seq(
        data, folder, config, {**TINY_SEQ2SEQ, **options}, Seq2SeqOptions(valid_fraction=0.2), progress=False
    )
    return folder
