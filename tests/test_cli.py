"""The `rnnlab` command line: every sub-command documents every option and shows an example."""

from __future__ import annotations

import argparse

import pytest

from rnnlab.cli import COMMAND_MODULES, build_parser
from tests.imports import imported_after


def subcommand_parser(name: str) -> argparse.ArgumentParser:
    """The parser of `rnnlab NAME`."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices[name]  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_every_option_has_help_text(name: str) -> None:
    """No option of `rnnlab NAME` is undocumented (argparse would show an empty help)."""
    parser = subcommand_parser(name)
    missing = [a.option_strings for a in parser._actions if a.option_strings and not a.help]
    assert missing == []


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_every_command_help_carries_an_example(name: str) -> None:
    """`rnnlab NAME --help` ends with at least one example invocation of that command."""
    assert f"rnnlab {name}" in (subcommand_parser(name).epilog or "")


def test_help_of_every_command_imports_no_heavy_library() -> None:
    """`rnnlab --help` and every `rnnlab X --help` load neither torch, FastAPI, uvicorn, matplotlib nor
    statsmodels: the whole parser is built and each command's help formatted in one fresh process."""
    code = (
        "from rnnlab.cli import build_parser\n"
        "parser = build_parser()\n"
        "parser.format_help()\n"
        "for sub in next(a for a in parser._actions if a.dest == 'command').choices.values():\n"
        "    sub.format_help()\n"
    )
    assert imported_after(code) == []


def test_writing_a_poem_imports_no_heavy_library() -> None:
    """`rnnlab poem 床前明月光` (the NumPy engine) writes its poem without torch or the web stack."""
    code = "from rnnlab.cli import main\nassert main(['poem', '床前明月光', '--seed', '1']) == 0"
    assert imported_after(code) == []
