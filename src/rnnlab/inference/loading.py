"""Load a run folder or bundle for decoding, with the engine chosen for it: NumPy or torch.

    lm = load_lm("runs/my-poems")              # engine="auto": NumPy when it can, else torch
    lm.stepper, lm.vocab, lm.config, lm.engine # "numpy" or "torch"
    lm.notice                                  # one line saying why NumPy was not used, or None

A run folder (``rnnlab train``) or a bundle (``rnnlab bundle``) holds ``config.json``,
``vocab.json`` and ``model.safetensors`` (see :mod:`rnnlab.train.checkpoint`); the NumPy engine
reads them without importing torch. It runs plain RNN/GRU/LSTM language models on the CPU; a
model it cannot run (layer norm, another cell, a run without final weights, bfloat16 storage)
falls back to the torch engine, and ``notice`` says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from rnnlab.data.vocab import Vocab
from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.generate.stepper import Stepper

ENGINES: tuple[str, ...] = ("auto", "numpy", "torch")
# The run-folder layout of rnnlab.train.checkpoint.RunDir, read here without importing torch
# (a test checks that the two agree).
CONFIG_FILE, VOCAB_FILE, MODEL_FILE = "config.json", "vocab.json", "model.safetensors"


@dataclass
class LoadedLM:
    """A language model ready to decode."""

    stepper: Stepper
    vocab: Vocab
    config: dict[str, Any]  # the run's config.json
    engine: str  # "numpy" or "torch"
    notice: str | None = None  # why the NumPy engine was not used, when it was asked for


def read_config(folder: Path) -> dict[str, Any]:
    """A run's config.json; CheckpointError naming the file when it is missing or not a run config."""
    path = folder / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(
            f"{path} is missing: {folder} is not a run folder; pass a folder written by `rnnlab train`"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is corrupt or truncated ({err})") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{path} lacks the 'model' section; it is not a run config")
    return config


def read_tensors(path: Path) -> dict[str, NDArray[Any]]:
    """The tensors of a safetensors file as NumPy arrays, through safetensors' memory map.

    bfloat16 has no NumPy dtype, so such files raise CheckpointError (the torch engine reads them).
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            return {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({err}); it is corrupt or truncated"
        ) from None
    except TypeError as err:  # a dtype NumPy lacks (bfloat16)
        raise CheckpointError(f"{path}: {err}; the NumPy engine reads float16 and float32 weights") from None


def numpy_blocker(folder: Path, config: dict[str, Any]) -> str | None:
    """Why the NumPy engine cannot run this run, or None."""
    from rnnlab.inference.numpy_engine import numpy_unsupported

    reason = numpy_unsupported(config["model"])
    if reason is not None:
        return reason
    if not (folder / MODEL_FILE).is_file():
        return "the run has no final weights yet (model.safetensors)"
    if config.get("storage_dtype") == "bfloat16":
        return "bfloat16 weights"
    return None


def load_numpy_lm(folder: str | Path, config: dict[str, Any] | None = None) -> LoadedLM:
    """The NumPy engine for a run or bundle; CheckpointError when it cannot run it."""
    from rnnlab.inference.numpy_engine import NumpyLM

    folder = Path(folder)
    config = read_config(folder) if config is None else config
    reason = numpy_blocker(folder, config)
    if reason is not None:
        raise CheckpointError(f"the NumPy engine cannot run {folder} ({reason}); use engine='torch'")
    stepper = NumpyLM(config["model"], read_tensors(folder / MODEL_FILE))
    return LoadedLM(stepper, Vocab.load(folder / VOCAB_FILE), config, "numpy")


def load_torch_lm(folder: str | Path, device: str = "cpu") -> LoadedLM:
    """The torch engine: the run's RNNLM (any variant), final weights or the latest checkpoint."""
    import torch

    from rnnlab.inference.torch_engine import TorchStepper
    from rnnlab.train.lm import load_run

    model, vocab, config = load_run(folder)
    model.to(torch.device(device))
    return LoadedLM(TorchStepper(model), vocab, config, "torch")


def choose_engine(folder: str | Path, engine: str = "auto", device: str = "cpu") -> tuple[str, str | None]:
    """The engine that ``load_lm`` will use for ``folder`` ("numpy" or "torch") and its notice."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; options are {list(ENGINES)}")
    folder = Path(folder)
    if device != "cpu":
        if engine == "numpy":
            raise ConfigError(
                f"the NumPy engine runs on the CPU only; use --engine torch (or auto) for --device {device}"
            )
        return "torch", None
    if engine == "torch":
        return "torch", None
    reason = numpy_blocker(folder, read_config(folder))
    if reason is None:
        return "numpy", None
    return "torch", f"note: the NumPy engine cannot run {folder.name} ({reason}); using torch"


def load_lm(folder: str | Path, engine: str = "auto", device: str = "cpu") -> LoadedLM:
    """Load ``folder`` with ``engine`` ("auto", "numpy" or "torch"); see the module docstring.

    ``auto`` picks NumPy on the CPU when it can run the model, torch otherwise (and always on a
    GPU). ``numpy`` falls back to torch with a notice for a model it cannot run.
    """
    chosen, notice = choose_engine(folder, engine, device)
    if chosen == "numpy":
        return load_numpy_lm(folder)
    lm = load_torch_lm(folder, device)
    lm.notice = notice
    return lm
