"""rnnlab.scratch stays NumPy-only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def test_importing_scratch_does_not_import_torch() -> None:
    """Importing every scratch module in a fresh interpreter leaves torch out of sys.modules."""
    code = (
        "import sys\n"
        "import rnnlab.scratch, rnnlab.scratch.bptt, rnnlab.scratch.cells, rnnlab.scratch.gradcheck\n"
        "import rnnlab.scratch.gradflow, rnnlab.scratch.model, rnnlab.scratch.optim, rnnlab.scratch.train\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SRC)}
    )
    assert result.stdout.strip() == "False"
