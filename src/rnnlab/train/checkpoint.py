"""Run folders and checkpoints: safetensors + JSON only (nothing that executes code on load), atomic.

A run folder::

    runs/NAME/
      config.json            {"model": RNNLMConfig, "train": TrainConfig, "data": {...}}
      vocab.json             the vocabulary the ids refer to
      metrics.jsonl          one record per log interval / evaluation / event
      model.safetensors      final weights (written when training ends)
      checkpoints/
        latest/              the most recent checkpoint
        best/                the one with the best validation loss so far
          model.safetensors  weights
          state.safetensors  optimizer tensors, RNG states, the carried recurrent state
          trainer_state.json step, epoch, best loss, sampler position, schedule, optimizer scalars,
                             python/numpy RNG, SHA-256 of both .safetensors files

**Atomicity.** A single file is written to a temporary name in its own folder, flushed to disk
and renamed over the target (``os.replace`` is atomic on POSIX and Windows). A checkpoint folder
is built completely under a temporary name, with ``trainer_state.json`` last, then swapped in:
``latest → .old-latest``, ``.tmp-latest → latest``, remove ``.old-latest``. A crash at any point
leaves either the previous or the new checkpoint complete; if it strikes between the two renames,
:func:`read_checkpoint` finds ``.old-latest`` and uses it. The checksums make a truncated or
corrupted file fail loudly instead of loading half a model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from rnnlab.errors import CheckpointError, ConfigError

CHECKPOINT_VERSION = 1
MODEL_FILE = "model.safetensors"
STATE_TENSORS_FILE = "state.safetensors"
STATE_FILE = "trainer_state.json"


# ---------------------------------------------------------------------------------------------
# Atomic single-file writes.


def _fsync_dir(folder: Path) -> None:
    """Persist a rename: on POSIX the directory entry lives in the folder's own inode."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False) + "\n"

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def atomic_save_tensors(
    path: Path, tensors: Mapping[str, Tensor], metadata: dict[str, str] | None = None
) -> None:
    contiguous = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(contiguous, str(tmp), metadata=metadata))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: Path, what: str) -> Any:
    """Parse a JSON file; missing or corrupt raises CheckpointError naming the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing: {what}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is corrupt or truncated ({err}): {what}") from None


# ---------------------------------------------------------------------------------------------
# Model weights (tied parameters stored once).


def model_tensors(model: nn.Module) -> dict[str, Tensor]:
    """The state dict with each shared tensor under its first name only (safetensors refuses aliases)."""
    seen: set[tuple[int, tuple[int, ...]]] = set()
    out: dict[str, Tensor] = {}
    for name, tensor in model.state_dict().items():
        key = (tensor.data_ptr(), tuple(tensor.shape))
        if tensor.numel() and key in seen:
            continue
        seen.add(key)
        out[name] = tensor
    return out


def save_weights(model: nn.Module, path: Path) -> None:
    """Write the model's weights atomically; refuses non-finite weights (never save a broken model)."""
    tensors = model_tensors(model)
    bad = [name for name, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise CheckpointError(
            f"refusing to write {path}: parameters {bad[:5]} hold NaN or inf; "
            "the last good checkpoint is kept"
        )
    atomic_save_tensors(path, tensors, metadata={"format": "pt"})


def load_tensors(path: Path, expected_sha: str | None = None) -> dict[str, Tensor]:
    """Read a safetensors file (no code runs); missing, corrupt or wrong checksum raises CheckpointError."""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing; the checkpoint is incomplete")
    if expected_sha is not None and sha256(path) != expected_sha:
        raise CheckpointError(
            f"{path} is corrupt or truncated: its SHA-256 does not match the one recorded in {STATE_FILE}; "
            "resume from the other checkpoint (best/latest) or start the run again"
        )
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({err}); it is corrupt or truncated"
        ) from None


def load_weights(
    model: nn.Module, path: Path, expected_sha: str | None = None, *, upcast: bool = False
) -> None:
    """Load weights into ``model``, checking names, shapes and dtypes first; mismatches name the file.

    ``upcast=True`` also accepts half-precision floats for float32 tensors (the bundled pretrained
    model is stored in float16 to stay small) and widens them on load.
    """
    tensors = load_tensors(path, expected_sha)
    expected = model_tensors(model)
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))

    def dtype_ok(stored: torch.dtype, wanted: torch.dtype) -> bool:
        widened = upcast and wanted == torch.float32 and stored in (torch.float16, torch.bfloat16)
        return stored == wanted or widened

    wrong = [
        f"{k}: file {tuple(tensors[k].shape)} {tensors[k].dtype}, model {tuple(v.shape)} {v.dtype}"
        for k, v in expected.items()
        if k in tensors and (tensors[k].shape != v.shape or not dtype_ok(tensors[k].dtype, v.dtype))
    ]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{path} does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}, "
            f"mismatched {wrong[:5]}; load it into a model built from the run's own config.json"
        )
    with torch.no_grad():
        for name, tensor in expected.items():
            tensor.copy_(tensors[name])


# ---------------------------------------------------------------------------------------------
# Optimizer and RNG state as tensors + JSON scalars.


def optimizer_parts(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors (``optim.{param}.{name}``) and JSON scalars."""
    state = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, Tensor):
                tensors[f"optim.{index}.{name}"] = value
            else:
                scalars.setdefault(str(index), {})[name] = value
    groups = [
        {k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in state["param_groups"]
    ]
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_state(tensors: Mapping[str, Tensor], data: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild the dict ``optimizer.load_state_dict`` takes from :func:`optimizer_parts`' output."""
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = tensor
    for index, entries in data["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in data["param_groups"]]
    return {"state": state, "param_groups": groups}


def rng_parts() -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Every random generator training touches: torch CPU/CUDA as tensors, numpy and python as JSON.

    A process trains on one GPU (the current device; ``cuda:LOCAL_RANK`` under torchrun), so only
    that device's generator is saved: asking for every device's would open a CUDA context on each
    GPU of the machine from each process.
    """
    tensors = {"rng.torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["rng.cuda.0"] = torch.cuda.get_rng_state()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    assert isinstance(keys, np.ndarray)
    version, internal, gauss = random.getstate()
    data = {
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss],
    }
    return tensors, data


def restore_rng(tensors: Mapping[str, Tensor], data: Mapping[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch_cpu"])
    if "rng.cuda.0" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda.0"])  # the current device's (see rng_parts)
    kind, keys, pos, has_gauss, cached = data["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = data["python"]
    random.setstate((version, tuple(internal), gauss))


def state_tensors(carry: Any) -> dict[str, Tensor]:
    """A carried recurrent state (None, a tensor, or a tuple of tensors) as named tensors."""
    if carry is None:
        return {}
    parts = carry if isinstance(carry, tuple) else (carry,)
    return {f"carry.{i}": t for i, t in enumerate(parts)}


def carried_state(tensors: Mapping[str, Tensor], device: torch.device) -> Any:
    parts = [tensors[k].to(device) for k in sorted(k for k in tensors if k.startswith("carry."))]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else tuple(parts)


# ---------------------------------------------------------------------------------------------
# Checkpoint folders.


def _siblings(folder: Path) -> tuple[Path, Path]:
    return folder.with_name(f".tmp-{folder.name}"), folder.with_name(f".old-{folder.name}")


def _swap_in(tmp: Path, folder: Path) -> None:
    """Replace ``folder`` by the complete ``tmp`` folder; see the module docstring for crash safety."""
    _, old = _siblings(folder)
    if old.exists() and folder.exists():
        shutil.rmtree(old)  # a leftover from an earlier crash after the swap finished
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    _fsync_dir(folder.parent)
    shutil.rmtree(old, ignore_errors=True)


def write_checkpoint(
    folder: Path, model: nn.Module, tensors: Mapping[str, Tensor], state: Mapping[str, Any]
) -> None:
    """Write weights, extra tensors and JSON state as one checkpoint folder, atomically."""
    tmp, _ = _siblings(folder)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        save_weights(model, tmp / MODEL_FILE)
        atomic_save_tensors(tmp / STATE_TENSORS_FILE, tensors)
        files = {name: sha256(tmp / name) for name in (MODEL_FILE, STATE_TENSORS_FILE)}
        atomic_write_json(tmp / STATE_FILE, {"version": CHECKPOINT_VERSION, "files": files, **state})
        _swap_in(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def copy_checkpoint(source: Path, folder: Path) -> None:
    """Make ``folder`` a copy of the complete checkpoint ``source`` (same atomic swap)."""
    tmp, _ = _siblings(folder)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(source, tmp)
        _swap_in(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def find_checkpoint(folder: Path) -> Path:
    """``folder``, or its ``.old-`` copy when a crash struck between the two renames of a swap."""
    if (folder / STATE_FILE).is_file():
        return folder
    _, old = _siblings(folder)
    if not folder.exists() and (old / STATE_FILE).is_file():
        return old
    return folder


def read_checkpoint(folder: Path, model: nn.Module) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Load a checkpoint's weights into ``model``; return its extra tensors and JSON state.

    Raises CheckpointError naming the file when anything is missing, truncated, corrupt or does
    not fit the model.
    """
    folder = find_checkpoint(folder)
    state = read_json(folder / STATE_FILE, "the checkpoint was never completed; use the other checkpoint")
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION or "files" not in state:
        raise CheckpointError(
            f"{folder / STATE_FILE} is not a version-{CHECKPOINT_VERSION} rnnlab checkpoint; "
            "resume with the rnnlab version that wrote it"
        )
    files = state["files"]
    load_weights(model, folder / MODEL_FILE, files.get(MODEL_FILE))
    tensors = load_tensors(folder / STATE_TENSORS_FILE, files.get(STATE_TENSORS_FILE))
    return tensors, state


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN/inf; store them as null."""
    return value if math.isfinite(value) else None


class RunDir:
    """The paths of a run folder (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def vocab(self) -> Path:
        return self.path / "vocab.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def model(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def latest(self) -> Path:
        return self.path / "checkpoints" / "latest"

    @property
    def best(self) -> Path:
        return self.path / "checkpoints" / "best"

    def read_config(self) -> dict[str, Any]:
        data = read_json(self.config, f"{self.path} is not a run folder written by `rnnlab train`")
        if not isinstance(data, dict) or not {"model", "train"} <= set(data):
            raise CheckpointError(
                f"{self.config} lacks the 'model' and 'train' sections; it is not a run config"
            )
        return data

    def has_checkpoint(self) -> bool:
        return (find_checkpoint(self.latest) / STATE_FILE).is_file()


def load_run_weights(run: RunDir, model: nn.Module, weights: str = "final") -> None:
    """Load a run's ``weights`` into ``model``: "final" (``model.safetensors``, float16 bundles
    widened; the latest checkpoint when the run has not finished), "best" or "latest"."""
    from rnnlab.train.config import WEIGHTS

    if weights not in WEIGHTS:
        raise ConfigError(f"unknown weights {weights!r}; options are {list(WEIGHTS)}")
    if weights == "final" and run.model.is_file():
        load_weights(model, run.model, upcast=True)
        return
    folder = find_checkpoint(run.best if weights == "best" else run.latest)
    if not (folder / STATE_FILE).is_file():
        raise CheckpointError(
            f"{run.path} has no {weights} weights yet: neither model.safetensors nor {folder}"
        )
    read_checkpoint(folder, model)
