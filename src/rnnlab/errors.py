"""Exceptions raised where the user can act on them; each message names the problem and the fix."""

from __future__ import annotations


class RnnlabError(Exception):
    """Base class for every error rnnlab raises on purpose."""


class ShapeError(RnnlabError, ValueError):
    """A tensor or argument has an impossible shape; the message states the expected one."""


class ConfigError(RnnlabError, ValueError):
    """A configuration value is invalid or combines badly with another; the message lists valid options."""


class DataError(RnnlabError, ValueError):
    """Input data cannot be read or used as given (empty, wrong encoding, unknown characters, …)."""


class CheckpointError(RnnlabError, ValueError):
    """A checkpoint or saved file is corrupt, incomplete, or does not match what it is loaded into."""


class TrainingError(RnnlabError, ArithmeticError):
    """Training cannot go on (a NaN/inf loss or gradient); the message names the step and last checkpoint."""
