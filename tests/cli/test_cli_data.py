"""`rnnlab data …` commands, called through rnnlab.cli.main."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli import main

POEMS = [
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。",
    "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。",
    "春眠不觉晓，处处闻啼鸟。",
]


@pytest.fixture
def poem_file(tmp_path: Path) -> Path:
    path = tmp_path / "poems.txt"
    path.write_text("\n".join(POEMS) + "\n", encoding="utf-8")
    return path


def test_stats_prints_counts_forms_and_unk_rate(poem_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`data stats` on a poem-per-line file reports poems, characters, vocabulary, unk rate and forms."""
    assert main(["data", "stats", str(poem_file)]) == 0
    rows = dict(line.split(" : ", 1) for line in capsys.readouterr().out.splitlines())
    rows = {name.strip(): value for name, value in rows.items()}
    n_chars = sum(map(len, POEMS))
    n_types = len(set("".join(POEMS)))
    assert rows["poems"] == "4"
    assert rows["characters"].startswith(f"{n_chars:,} (")
    assert rows["vocabulary"].startswith(f"{n_types + 4:,} (4 reserved")
    assert rows["unk rate"].startswith("0.000%")
    assert rows["forms"] == "五言绝句 1 · 七言绝句 1 · 五言律诗 1 · 七言律诗 0 · 其他 1"


def test_stats_json_for_text_and_npz(
    tmp_path: Path, poem_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json gives machine-readable numbers; a text counts tokens; an exported tang.npz reads back."""
    text = tmp_path / "play.txt"
    text.write_text("to be or not to be\n", encoding="utf-8")
    assert main(["data", "stats", str(text), "--tokenizer", "word", "--min-freq", "2", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["kind"] == "text" and stats["n_tokens"] == 6
    assert stats["vocab_size"] == 4 + 2 and stats["unk_rate"] == pytest.approx(2 / 6)  # "or", "not" are rare

    npz = tmp_path / "tang.npz"
    assert main(["data", "export", str(poem_file), str(npz)]) == 0
    assert "wrote 4 poems" in capsys.readouterr().out
    assert np.load(npz, allow_pickle=True)["data"].shape == (4, 125)
    assert main(["data", "stats", str(npz), "--json"]) == 0
    from_npz = json.loads(capsys.readouterr().out)
    assert from_npz["n_poems"] == 4 and from_npz["n_chars"] == sum(map(len, POEMS))


def test_errors_are_reported_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad input exits with code 2 and a one-line message naming the problem."""
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("床前明月光".encode("gbk"))
    assert main(["data", "stats", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "byte offset 0" in err and "--encoding" in err and "Traceback" not in err


def test_get_tang_from_local_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`data get tang --archive` refuses an archive whose checksum is not the published one."""
    archive = tmp_path / "a.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        data = json.dumps([{"title": "t", "paragraphs": ["春。"]}]).encode()
        info = tarfile.TarInfo("package/dist/quantangshi/poet.tang.0.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert hashlib.sha256(archive.read_bytes()).hexdigest() != "25b549e4"
    code = main(
        ["data", "get", "tang", "--dest", str(tmp_path / "d"), "--archive", str(archive), "--no-progress"]
    )
    assert code == 2 and "checksum mismatch" in capsys.readouterr().err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    """Each data action's --help lists its options and an example."""
    for action in ("stats", "get", "export"):
        with pytest.raises(SystemExit) as exc:
            main(["data", action, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"rnnlab data {action}" in out
