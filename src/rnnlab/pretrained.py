"""The model that ships inside the package, and how any run becomes such a bundle.

A *bundle* is a run folder cut down to what generation needs: ``model.safetensors`` (final weights,
float16 by default to keep the wheel small), ``config.json`` (model and training configs, a data
summary without local paths, the final validation numbers) and ``vocab.json``, plus the run's
``metrics.jsonl`` so the training curve stays on record. ``load_run`` reads a bundle like any run.

The default poet is ``rnnlab/assets/tang-lstm``; ``scripts/train_default_poet.sh`` rebuilds it.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from rnnlab.errors import CheckpointError, ConfigError

DEFAULT_POET = "tang-lstm"
# The torch dtype of each name; torch is imported by make_bundle only, so that finding and
# describing the bundled model (every `rnnlab poem`) stays torch-free.
STORAGE_DTYPES: tuple[str, ...] = ("float16", "bfloat16", "float32")


def bundled_dir(name: str = DEFAULT_POET) -> Path:
    """Folder of a bundled model inside the installed package; CheckpointError when it is absent."""
    folder = Path(str(resources.files("rnnlab") / "assets" / name))
    if not (folder / "config.json").is_file():
        raise CheckpointError(
            f"the bundled model {name!r} is missing from this installation ({folder}); reinstall rnnlab, "
            "or pass --model RUN_DIR with a run of your own"
        )
    return folder


def final_validation(metrics_path: Path) -> dict[str, Any]:
    """The last validation record of a run's metrics log (empty when it has none)."""
    if not metrics_path.is_file():
        return {}
    from rnnlab.train.metrics import read_metrics

    valid = [r for r in read_metrics(metrics_path) if r.get("kind") == "valid"]
    if not valid:
        return {}
    last = valid[-1]
    return {k: last[k] for k in ("step", "epoch", "loss", "ppl", "bpc", "elapsed_s") if k in last}


def make_bundle(run_dir: str | Path, out: str | Path, dtype: str = "float16") -> Path:
    """Write the bundle of ``run_dir`` (its final weights) into ``out``; returns ``out``."""
    if dtype not in STORAGE_DTYPES:
        raise ConfigError(f"unknown storage dtype {dtype!r}; options are {sorted(STORAGE_DTYPES)}")
    import torch

    from rnnlab.train import checkpoint as ckpt

    storage = getattr(torch, dtype)
    run, dest = ckpt.RunDir(run_dir), ckpt.RunDir(out)
    config = run.read_config()
    if not run.model.is_file():
        raise CheckpointError(
            f"{run.model} is missing: the run has not finished; let it finish or resume it first"
        )
    tensors = ckpt.load_tensors(run.model)
    stored = {name: t.to(storage) if t.is_floating_point() else t for name, t in tensors.items()}
    data = dict(config.get("data", {}))
    if "path" in data:
        data["path"] = Path(data["path"]).name  # a local path means nothing on another machine
    summary = {
        **config,
        "data": data,
        "storage_dtype": dtype,
        "final_validation": final_validation(run.metrics),
    }
    dest.path.mkdir(parents=True, exist_ok=True)
    ckpt.atomic_save_tensors(dest.model, stored)
    ckpt.atomic_write_json(dest.config, summary)
    shutil.copyfile(run.vocab, dest.vocab)
    if run.metrics.is_file():
        shutil.copyfile(run.metrics, dest.metrics)
    return dest.path


def describe(folder: Path) -> str:
    """One line about a bundle or run: cell, size, data and validation perplexity."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    m = config["model"]
    # A bundle records its final validation; a run's is read from its metrics log.
    valid = config.get("final_validation") or final_validation(folder / "metrics.jsonl")
    ppl = f", validation perplexity {valid['ppl']:.1f}" if "ppl" in valid else ""
    if config.get("kind") == "seq2seq":
        directions = "bi" if m["bidirectional"] else "uni"
        encoder = f"{directions} {m['encoder_layers']}×{m['encoder_hidden_size']}"
        decoder = f"{m['decoder_layers']}×{m['hidden_size']}"
        shape = f"{m['cell'].upper()} encoder–decoder ({encoder} → {decoder}, attention {m['attention']})"
    else:
        shape = f"{m['num_layers']}×{m['hidden_size']} {m['cell'].upper()}"
    size = f"{config.get('parameters', 0):,} parameters, vocabulary {m['vocab_size']:,}"
    return f"{folder.name}: {shape}, {size}{ppl}"
