"""Helpers the command modules share for turning parsed flags into config dicts (no heavy imports)."""

from __future__ import annotations

import argparse
from typing import Any


def given(args: argparse.Namespace, flags: dict[str, str]) -> dict[str, Any]:
    """``{config key: value}`` for each flag in ``flags`` (flag → key) the user actually gave."""
    return {key: getattr(args, flag) for flag, key in flags.items() if getattr(args, flag, None) is not None}
