"""Where rnnlab keeps downloaded corpora and caches: the user's data directory.

Resolution order: an explicit directory argument, then the ``RNNLAB_DATA`` environment variable, then
the platform's per-user data folder as ``platformdirs`` defines it (``$XDG_DATA_HOME/rnnlab`` or
``~/.local/share/rnnlab`` on Linux, ``~/Library/Application Support/rnnlab`` on macOS,
``%LOCALAPPDATA%\\rnnlab`` on Windows).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_VAR = "RNNLAB_DATA"


def data_dir(dest: str | Path | None = None) -> Path:
    """The data directory (not created here)."""
    if dest is not None:
        return Path(dest).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return platformdirs.user_data_path("rnnlab", appauthor=False)


def cache_dir(root: str | Path | None = None) -> Path:
    """Where token-id caches live: ``<data dir>/cache``."""
    return data_dir(root) / "cache"
