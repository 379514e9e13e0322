"""Which heavy libraries a piece of code imports, checked in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "fastapi", "uvicorn", "matplotlib", "statsmodels")
SRC = Path(__file__).resolve().parents[1] / "src"


def imported_after(code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of ``modules`` a fresh interpreter (this checkout's ``src`` first) imported running ``code``."""
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    ).stdout
    return list(ast.literal_eval(out.strip().splitlines()[-1]))
