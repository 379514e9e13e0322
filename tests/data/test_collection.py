"""`data get strains|song|prose`: the parts of a small fake chinese-poetry archive, converted and aligned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rnnlab.data.collection import PART_FILES, check_parts
from rnnlab.data.download import TangSource, get_collection
from rnnlab.errors import ConfigError

from .test_download import write_archive

TANG = [
    {
        "id": "a",
        "author": "李白",
        "title": "靜夜思",
        "paragraphs": ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"],
    },
    {"id": "b", "author": "杜甫", "title": "春望", "paragraphs": ["國破山河在，城春草木深。"]},
    {"id": "c", "author": "王維", "title": "鹿柴", "paragraphs": ["空山不見人，但聞人語響。"]},
]
STRAINS = {  # file 0 holds b's marks, file 1000 holds a's: matched by id, not by position
    "poet.tang.0.json": [
        {"id": "b", "strains": ["仄仄平平仄，平平仄仄平。"]},
        {"id": "x", "strains": ["平。"]},
    ],
    "poet.tang.1000.json": [
        {"id": "a", "strains": ["平平平仄平，平仄仄仄平。", "仄平○平仄，平平平仄平。"]},
        {"id": "c", "strains": ["平平仄仄平。"]},  # c's marks do not align: c is left out
    ],
}
SONG = [
    {"id": "s", "author": "蘇軾", "title": "題西林壁", "paragraphs": ["橫看成嶺側成峰，遠近高低各不同。"]}
]
GUWEN = {
    "title": "古文觀止",
    "content": [
        {"title": "卷一", "content": [{"chapter": "鄭伯克段於鄢", "paragraphs": ["初，鄭武公娶於申。"]}]}
    ],
}
LUNYU = [{"chapter": "學而篇", "paragraphs": ["子曰：「學而時習之，不亦說乎？」"]}]
MENGZI = [{"chapter": "梁惠王上", "paragraphs": ["孟子見梁惠王。"]}]
DAXUE = {"chapter": "大學", "paragraphs": ["大學之道，在明明德。"]}
ZHONGYONG = {"chapter": "中庸", "paragraphs": ["天命之謂性。"]}


def fake_archive(path: Path) -> str:
    members: dict[str, Any] = {
        "package/dist/quantangshi/poet.tang.1000.json": TANG[2:],
        "package/dist/quantangshi/poet.tang.0.json": TANG[:2],
        "package/dist/quantangshi/poet.song.0.json": SONG,
        "package/dist/quantangshi/error/poet.song.0.json": [{"paragraphs": ["錯。"]}],
        "package/dist/mengxue/guwenguanzhi.json": GUWEN,
        "package/dist/lunyu/lunyu.json": LUNYU,
        "package/dist/sishuwujing/mengzi.json": MENGZI,
        "package/dist/sishuwujing/daxue.json": DAXUE,
        "package/dist/sishuwujing/zhongyong.json": ZHONGYONG,
        **{f"package/dist/strains/json/{name}": content for name, content in STRAINS.items()},
    }
    return write_archive(path, members)


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_all_parts_install_from_one_archive(tmp_path: Path) -> None:
    """Tone marks align by id (misaligned poems dropped), Song and prose are converted to simplified."""
    archive = tmp_path / "cp.tgz"
    sha = fake_archive(archive)
    paths = get_collection(
        ["all"], dest=tmp_path / "d", archive=archive, source=TangSource(sha256=sha), progress=False
    )
    assert set(paths) == {"tang", "strains", "song", "prose"}
    assert paths["strains"] == tmp_path / "d" / PART_FILES["strains"]
    strains = read(paths["strains"])
    assert [r["id"] for r in strains] == ["a", "b"]
    assert strains[0]["paragraphs"] == ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"]
    assert strains[0]["strains"] == STRAINS["poet.tang.1000.json"][0]["strains"]
    assert all(len(p) == len(s) for r in strains for p, s in zip(r["paragraphs"], r["strains"], strict=True))
    assert read(paths["song"]) == [
        {"id": "s", "title": "题西林壁", "author": "苏轼", "paragraphs": ["横看成岭侧成峰，远近高低各不同。"]}
    ]
    prose = read(paths["prose"])
    assert [(r["book"], r["chapter"]) for r in prose] == [
        ("古文观止", "郑伯克段于鄢"),
        ("论语", "学而篇"),
        ("孟子", "梁惠王上"),
        ("大学", "大学"),
        ("中庸", "中庸"),
    ]
    assert prose[1]["paragraphs"] == ["子曰：「学而时习之，不亦说乎？」"]
    meta = json.loads((paths["strains"].parent / "SOURCE.json").read_text(encoding="utf-8"))
    assert meta["sha256"] == sha and meta["poems"] == 2


def test_installed_parts_are_skipped_and_names_checked(tmp_path: Path) -> None:
    """A part already installed is not fetched again; unknown part names list the valid ones."""
    archive = tmp_path / "cp.tgz"
    sha = fake_archive(archive)
    dest = tmp_path / "d"
    first = get_collection(
        ["song"], dest=dest, archive=archive, source=TangSource(sha256=sha), progress=False
    )
    again = get_collection(["song"], dest=dest, source=TangSource(url="file:///nope.tgz", sha256=sha))
    assert first == again
    assert check_parts(["prose", "tang"]) == ["tang", "prose"]
    with pytest.raises(ConfigError, match="options are"):
        check_parts(["ci"])
