"""Checkpoints: lossless optimizer/RNG/weight round trips, atomic writes under a crash, loud corruption."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch

from rnnlab.errors import CheckpointError
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from rnnlab.train import checkpoint as ckpt


def _model(**kw: object) -> RNNLM:
    return RNNLM(RNNLMConfig(vocab_size=9, embed_size=6, hidden_size=6, num_layers=1, **kw))  # type: ignore[arg-type]


def _train_steps(model: RNNLM, optimizer: torch.optim.Optimizer, steps: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randint(0, 9, (5, 2), generator=gen)
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), x.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("name", ["adamw", "sgd-momentum"])
def test_optimizer_state_round_trip_continues_exactly(name: str, tmp_path: Path) -> None:
    """Saving optimizer state as safetensors + JSON and loading it into a fresh optimizer gives the same
    next updates, bit for bit, as the original optimizer object (the reference: no save at all)."""

    def make(model: RNNLM) -> torch.optim.Optimizer:
        if name == "adamw":
            return torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.8, 0.9))
        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    model = _model(dropout=0.0)
    optimizer = make(model)
    _train_steps(model, optimizer, 3, seed=1)
    tensors, data = ckpt.optimizer_parts(optimizer)
    ckpt.atomic_save_tensors(tmp_path / "o.safetensors", tensors)
    ckpt.atomic_write_json(tmp_path / "o.json", data)
    clone = copy.deepcopy(model)
    restored = make(clone)
    restored.load_state_dict(
        ckpt.optimizer_state(
            ckpt.load_tensors(tmp_path / "o.safetensors"), json.loads((tmp_path / "o.json").read_text())
        )
    )
    _train_steps(model, optimizer, 2, seed=2)
    _train_steps(clone, restored, 2, seed=2)
    for a, b in zip(model.parameters(), clone.parameters(), strict=True):
        assert torch.equal(a, b)


def test_rng_round_trip_replays_the_same_random_numbers() -> None:
    """After restoring the captured RNG state, torch, numpy and random produce the same draws again."""
    import random

    import numpy as np

    tensors, data = ckpt.rng_parts()
    first = (torch.rand(3), np.random.rand(2), random.random())
    ckpt.restore_rng(tensors, json.loads(json.dumps(data)))
    second = (torch.rand(3), np.random.rand(2), random.random())
    assert torch.equal(first[0], second[0])
    assert (first[1] == second[1]).all()
    assert first[2] == second[2]


def test_tied_weights_are_stored_once_and_reload(tmp_path: Path) -> None:
    """A tied embedding/decoder is saved under one name and both uses see the loaded values."""
    model = _model(tie_weights=True)
    ckpt.save_weights(model, tmp_path / "m.safetensors")
    assert "decoder.weight" not in ckpt.load_tensors(tmp_path / "m.safetensors")
    other = _model(tie_weights=True)
    ckpt.load_weights(other, tmp_path / "m.safetensors")
    assert torch.equal(other.decoder.weight, model.embedding.weight)  # type: ignore[union-attr]
    assert other.decoder.weight is other.embedding.weight  # type: ignore[union-attr]


def _write(folder: Path, model: RNNLM, step: int) -> None:
    ckpt.write_checkpoint(folder, model, {"x": torch.arange(3.0)}, {"step": step})


def test_a_crash_while_writing_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing a checkpoint dies half-way (the second file raises), the previous checkpoint is still
    complete, loads, and holds the old weights."""
    folder = tmp_path / "latest"
    model = _model()
    _write(folder, model, step=1)
    old = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    real_save = ckpt.save_file
    calls = []

    def crash_on_second(tensors: dict[str, torch.Tensor], filename: str, metadata: object = None) -> None:
        calls.append(filename)
        if len(calls) == 2:
            Path(filename).write_bytes(b"half a file")
            raise OSError("disk full")
        real_save(tensors, filename, metadata=metadata)  # type: ignore[arg-type]

    monkeypatch.setattr(ckpt, "save_file", crash_on_second)
    with pytest.raises(OSError, match="disk full"):
        _write(folder, model, step=2)
    monkeypatch.undo()
    fresh = _model()
    tensors, state = ckpt.read_checkpoint(folder, fresh)
    assert state["step"] == 1
    assert torch.equal(tensors["x"], torch.arange(3.0))
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, old[k])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]  # no temporary folders left behind


def test_a_crash_between_the_two_renames_is_recovered(tmp_path: Path) -> None:
    """When only `.old-latest` exists (crash after moving the old checkpoint aside), it is found and loads."""
    folder = tmp_path / "latest"
    model = _model()
    _write(folder, model, step=7)
    folder.rename(tmp_path / ".old-latest")
    _, state = ckpt.read_checkpoint(folder, _model())
    assert state["step"] == 7


def test_non_finite_weights_are_never_written(tmp_path: Path) -> None:
    """A model holding NaN is refused with CheckpointError and the good checkpoint stays as it was."""
    folder = tmp_path / "latest"
    model = _model()
    _write(folder, model, step=1)
    before = (folder / ckpt.MODEL_FILE).read_bytes()
    with torch.no_grad():
        model.decoder.bias[0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN or inf"):
        _write(folder, model, step=2)
    assert (folder / ckpt.MODEL_FILE).read_bytes() == before


def test_truncated_file_raises_checkpoint_error_naming_it(tmp_path: Path) -> None:
    """A truncated model.safetensors fails its checksum and the error names the file."""
    folder = tmp_path / "latest"
    _write(folder, _model(), step=1)
    path = folder / ckpt.MODEL_FILE
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(CheckpointError, match=r"model\.safetensors is corrupt or truncated"):
        ckpt.read_checkpoint(folder, _model())


def test_missing_state_file_and_mismatched_model_raise_checkpoint_error(tmp_path: Path) -> None:
    """No trainer_state.json means an unfinished checkpoint; a different model size names the shapes."""
    folder = tmp_path / "latest"
    _write(folder, _model(), step=1)
    bigger = RNNLM(RNNLMConfig(vocab_size=9, embed_size=6, hidden_size=8, num_layers=1))
    with pytest.raises(CheckpointError, match=r"does not match the model.*rnn\.weight_hh_l0"):
        ckpt.read_checkpoint(folder, bigger)
    (folder / ckpt.STATE_FILE).unlink()
    with pytest.raises(CheckpointError, match=r"trainer_state\.json is missing"):
        ckpt.read_checkpoint(folder, _model())


def test_garbage_safetensors_without_checksum_raises_checkpoint_error(tmp_path: Path) -> None:
    """A file that is not safetensors at all raises CheckpointError, never an opaque parser error."""
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x00" * 5)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        ckpt.load_weights(_model(), path)
