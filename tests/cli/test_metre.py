"""`rnnlab metre`: tone marks under the poem, the pattern, the violations, and the exit status
(0 regulated, 1 not, 2 bad input), from text, a file or standard input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rnnlab.cli import main
from rnnlab.cli.metre import NOT_REGULATED
from tests.poetics.poems import NOT_REGULATED as IRREGULAR
from tests.poetics.poems import REGULATED

SPRING_VIEW = REGULATED["杜甫《春望》"]
NIGHT_THOUGHTS = IRREGULAR["李白《静夜思》"][0]


def test_regulated_poem_exits_0_with_marks_and_pattern(capsys: pytest.CaptureFixture[str]) -> None:
    """《春望》: exit 0, each line followed by its tone marks, the pattern and rhyme group named."""
    assert main(["metre", SPRING_VIEW]) == 0
    out = capsys.readouterr().out
    rows = out.splitlines()
    assert rows[:4] == ["国破山河在", "仄仄平平仄", "城春草木深", "平平仄仄平"]
    assert "五言律诗, best pattern 仄起首句不入韵; rhyme group 下平声十二侵; regulated" in out


def test_irregular_poem_exits_1_and_names_each_violation(capsys: pytest.CaptureFixture[str]) -> None:
    """《静夜思》: a distinct non-zero status, and the violations with line, character and rule."""
    assert NOT_REGULATED not in (0, 2)
    assert main(["metre", NIGHT_THOUGHTS]) == NOT_REGULATED
    out = capsys.readouterr().out
    assert "line 2, character 4 (上): 对" in out
    assert "line 3, character 2 (头): 粘" in out


def test_file_stdin_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file (lines on separate rows) and `-` (stdin) read the poem; --json prints the report."""
    path = tmp_path / "poem.txt"
    path.write_text(SPRING_VIEW.replace("，", "\n").replace("。", "\n"), encoding="utf-8")
    assert main(["metre", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["regulated"] is True and report["tones"][0] == "仄仄平平仄"
    monkeypatch.setattr("sys.stdin", io.StringIO(NIGHT_THOUGHTS))
    assert main(["metre", "-", "--json"]) == NOT_REGULATED
    assert {v["rule"] for v in json.loads(capsys.readouterr().out)["violations"]} == {"对", "粘"}


@pytest.mark.parametrize(
    "text", ["床前明月光，疑是地上霜。", "hello", "床前明月光，疑是地上霜。举头望明月，低头思故乡啊。"]
)
def test_bad_input_exits_2_with_the_fix(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Too few lines, non-Chinese text or uneven lines: exit 2 and a message saying what to change."""
    assert main(["metre", text]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab metre: error:") and ("lines" in err or "line" in err)
