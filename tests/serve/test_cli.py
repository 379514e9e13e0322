"""`rnnlab serve`: help, argument checks, and what it hands to uvicorn (without binding a port)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import uvicorn
from fastapi import FastAPI

from rnnlab.cli import main
from rnnlab.pretrained import bundled_dir
from rnnlab.serve.app import ENVIRONMENT, app_from_environment
from tests.imports import imported_after


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "rnnlab serve --model mine=runs/my-poems" in out and "/api/poems" in out


def test_serve_runs_uvicorn_with_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    threads = torch.get_num_threads()
    try:
        assert main(["serve", "--port", "8123", "--model", f"copy={bundled_dir()}", "--threads", "1"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    (call,) = calls
    assert (call["host"], call["port"]) == ("127.0.0.1", 8123)
    app: FastAPI = call["app"]
    assert app.state.registry.names() == ["tang-lstm", "copy"]


def test_workers_start_processes_that_build_the_same_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """--workers N hands uvicorn an import string and the options, which each process turns into the app."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    argv = [
        "serve",
        "--workers",
        "2",
        "--model",
        f"copy={bundled_dir()}",
        "--max-batch",
        "16",
        "--engine",
        "numpy",
    ]
    assert main(argv) == 0
    (call,) = calls
    assert (call["app"], call["factory"], call["workers"]) == (
        "rnnlab.serve.app:app_from_environment",
        True,
        2,
    )
    app = app_from_environment()
    registry = app.state.registry
    assert registry.names() == ["tang-lstm", "copy"] and registry.max_rows == 16
    assert registry.engines == {"tang-lstm": "numpy", "copy": "numpy"}
    monkeypatch.delenv(ENVIRONMENT)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--model", "runs/x"], "NAME=RUN_DIR"),
        (["--model", "x=/no/such/run"], "not a run folder"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--port", "70000"], "--port must be between"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--max-batch", "0"], "--max-batch must be at least 1"),
        (["--max-queue", "-1"], "--max-queue must be at least 0"),
        (["--engine", "numpy", "--device", "cuda"], "CPU only"),
    ],
)
def test_bad_arguments_are_clear_errors(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: pytest.fail("uvicorn must not start"))
    assert main(["serve", *argv]) == 2
    assert words in capsys.readouterr().err


def test_other_commands_do_not_import_the_web_stack() -> None:
    """Building the parser (every command's startup) leaves FastAPI and uvicorn unimported."""
    assert imported_after("import rnnlab.cli\nrnnlab.cli.build_parser()", ("fastapi", "uvicorn")) == []
