"""Pair files from the collection: the couplets of regulated verse, titles, and 声律启蒙's matched pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.data.poems import Poem
from rnnlab.tasks.pair_sources import build_pairs, couplets_of, shenglv_pairs, split_by_poem, title_of
from rnnlab.tasks.pairs import Pair, read_pairs

LUSHI = Poem(
    "送杜少府之任蜀州",
    "王勃",
    (
        "城阙辅三秦，风烟望五津。",
        "与君离别意，同是宦游人。",
        "海内存知己，天涯若比邻。",
        "无为在歧路，儿女共沾巾。",
    ),
    id="p1",
)


def test_couplets_are_lines_three_to_six_of_regulated_verse() -> None:
    """A 律诗 gives its 颔联 (lines 3–4) and 颈联 (5–6); a quatrain gives nothing."""
    pairs = couplets_of(LUSHI)
    assert [(p.source, p.target, p.record["kind"]) for p in pairs] == [
        ("与君离别意", "同是宦游人", "颔联"),
        ("海内存知己", "天涯若比邻", "颈联"),
    ]
    assert all(p.record["id"] == "p1" for p in pairs)
    quatrain = Poem("静夜思", "李白", ("床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"))
    assert couplets_of(quatrain) == []


def test_titles_are_cleaned_and_capped() -> None:
    """A title loses editors' notes; poems or titles too long give no pair."""
    assert title_of(Poem("静夜思（一作夜思）", "", ("床前明月光，疑是地上霜。",))).target == "静夜思"  # type: ignore[union-attr]
    assert title_of(Poem("静夜思", "", ("床前明月光，疑是地上霜。",)), max_chars=5) is None


def test_shenglv_splits_what_splits_cleanly() -> None:
    """声律启蒙: "A对B" clauses, two equal clauses, two halves at ；are pairs; the rest is skipped."""
    paragraph = (
        "云对雨，雪对风，晚照对晴空。来鸿对去燕，宿鸟对鸣虫。三尺剑，六钧弓，岭北对江东。"
        "人间清暑殿，天上广寒宫。两鬓风霜，途次早行之客；一蓑烟雨，溪边晚钓之翁。长短句，不齐。"
    )
    got = [(p.source, p.target) for p in shenglv_pairs([paragraph])]
    assert got == [
        ("云", "雨"),
        ("雪", "风"),
        ("晚照", "晴空"),
        ("来鸿", "去燕"),
        ("宿鸟", "鸣虫"),
        ("岭北", "江东"),
        ("三尺剑", "六钧弓"),
        ("人间清暑殿", "天上广寒宫"),
        ("两鬓风霜，途次早行之客", "一蓑烟雨，溪边晚钓之翁"),
    ]


def test_split_by_poem_leaves_no_line_on_both_sides() -> None:
    """Whole poems go one way, copies are dropped, and no training pair shares a line with a test pair."""
    items = [(f"poem {i}", [Pair(f"上{i}", f"下{i}")]) for i in range(300)]
    items.append(("a copy", [Pair("上0", "下x")]))  # another poem with a test line, maybe
    train, test = split_by_poem(items, 0.1)
    assert test
    test_lines = {p.source for p in test} | {p.target for p in test}
    assert not any(p.source in test_lines or p.target in test_lines for p in train)


def test_build_pairs_from_a_collection_folder(tmp_path: Path) -> None:
    """`rnnlab data pairs couplets` writes train and test files from DIR/tang/tang.jsonl, split by poem."""
    pool = [chr(0x4E00 + k) for k in range(40 * 40)]
    poems = []
    for i in range(40):  # forty distinct 五言律诗: eight lines of five characters each
        lines = ["".join(pool[(i * 40 + j * 5 + k) % len(pool)] for k in range(5)) for j in range(8)]
        body = [f"{lines[j]}，{lines[j + 1]}。" for j in range(0, 8, 2)]
        poems.append({"id": f"p{i}", "title": f"题{i}", "author": "", "paragraphs": body})
    (tmp_path / "tang").mkdir()
    (tmp_path / "tang" / "tang.jsonl").write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in poems), encoding="utf-8"
    )
    files = build_pairs("couplets", tmp_path / "out", source=tmp_path, test_fraction=0.3)
    train, test = read_pairs(files.train), read_pairs(files.test)
    assert (files.n_train, files.n_test) == (len(train), len(test)) and train and test
    assert len(train) + len(test) == 80
    assert {p.record["id"] for p in train}.isdisjoint({p.record["id"] for p in test})


def test_real_collection_split_matches_the_poets_held_out_poems(shared_dir: Path) -> None:
    """On the shared Tang poems, every test couplet comes from a poem the bundled poet held out."""
    from rnnlab.train.corpus import is_held_out

    texts = {}
    with (shared_dir / "data" / "tang" / "tang.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            texts[record["id"]] = "".join(record["paragraphs"])
            if len(texts) >= 3000:
                break
    subset = [Poem.from_dict(json.loads(json.dumps({"id": k, "paragraphs": [v]}))) for k, v in texts.items()]
    items = [(p.text, couplets_of(p)) for p in subset]
    _, test = split_by_poem(items, 0.05)
    assert test
    assert all(is_held_out(texts[p.record["id"]], 0.05) for p in test)


@pytest.mark.parametrize("name", ["couplets", "verses"])
def test_unknown_task_or_missing_collection(tmp_path: Path, name: str) -> None:
    """A missing tang.jsonl or an unknown task name raises an error that says what to do."""
    from rnnlab.errors import ConfigError, DataError

    with pytest.raises((ConfigError, DataError), match=r"rnnlab data get tang|options are"):
        build_pairs(name, tmp_path / "out", source=tmp_path)
