"""`rnnlab couplet`: answer an upper line (上联) with a lower line (下联)."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add the `couplet` sub-command."""
