"""The benchmark suite (`python -m benchmarks`) in quick mode: every entry runs and reports."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from benchmarks import suite, timing


def test_quick_suite_writes_every_entry_to_summary_json_and_markdown(tmp_path: Path) -> None:
    """--quick runs all registered entries on tiny shapes; every ratio is finite and positive."""
    assert suite.main(["--quick", "--threads", "1", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["errors"] == {}
    names = {s["name"] for s in summary["sections"]}
    assert {"machine", "layers", "min_cells", "lm_training", "scaling", "generation"} <= names
    ratios = [
        value
        for section in summary["sections"]
        for row in section["rows"]
        for key, value in row.items()
        if key.startswith("×")
    ]
    assert ratios and all(math.isfinite(r) and r > 0 for r in ratios)
    report = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "× torch.nn" in report and "### Recurrent layers" in report
    assert (tmp_path / "scaling.png").stat().st_size > 0


def test_a_failing_entry_is_recorded_and_the_others_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry that raises is listed under errors (exit status 1); a missing module is skipped."""
    monkeypatch.setattr(
        suite,
        "ENTRIES",
        {
            "machine": suite.ENTRIES["machine"],
            "broken": "benchmarks.suite:nothing_here",
            "absent": "benchmarks.not_written_yet:suite_entry",
        },
    )
    assert suite.main(["--quick", "--out", str(tmp_path)]) == 1
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in summary["sections"]] == ["machine"]
    assert "AttributeError" in summary["errors"]["broken"]
    assert summary["errors"]["absent"].startswith("skipped")


def test_peak_memory_probe_sees_a_large_allocation() -> None:
    """The fresh-process probe reports at least the bytes a training step of a known size allocates."""
    import torch

    spec = {"impl": "torch.nn.LSTM", "input": 64, "hidden": 256, "steps": 256, "batch": 64}
    peak = timing.peak_memory_of("benchmarks.scaling", spec, torch.device("cpu"))
    outputs = 256 * 64 * 256 * 4  # one layer's outputs alone, float32
    assert peak > outputs
