"""The NumPy engine against torch: same logits and states for every supported variant, fallbacks."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.inference import NumpyLM, load_lm, numpy_unsupported
from rnnlab.inference.loading import CONFIG_FILE, MODEL_FILE, VOCAB_FILE
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from rnnlab.train.checkpoint import RunDir, model_tensors
from tests.imports import imported_after
from tests.inference.engine_helpers import numpy_twin

V, E = 11, 6


def build(cell: str, layers: int, tied: bool, hidden: int = 8, **options: Any) -> RNNLM:
    torch.manual_seed(layers * 7 + len(cell) + int(tied))
    config = RNNLMConfig(
        vocab_size=V,
        cell=cell,
        embed_size=E,
        hidden_size=hidden,
        num_layers=layers,
        tie_weights=tied,
        dropout=0.3,
        layer_dropout=0.3,
        **options,
    )
    return RNNLM(config).eval()


def torch_state(state: Any) -> list[np.ndarray]:
    parts = state if isinstance(state, tuple) else (state,)
    return [p.detach().numpy() for p in parts]


def numpy_state(state: Any) -> list[np.ndarray]:
    """(L, N, H) per part, torch's layout, from the engine's per-layer tuples."""
    return [np.stack([layer[i] for layer in state]) for i in range(len(state[0]))]


VARIANTS = list(itertools.product(("rnn", "gru", "lstm"), (1, 2, 3), (False, True)))


@pytest.mark.parametrize(("cell", "layers", "tied"), VARIANTS)
def test_logits_and_states_match_torch(cell: str, layers: int, tied: bool) -> None:
    """Prefill over a context and steps after it give torch's logits and states within 1e-4 (float32);
    tied models have H ≠ E, so the projection H → E is exercised."""
    model = build(cell, layers, tied)
    engine = numpy_twin(model)
    ids = torch.randint(0, V, (5, 3))
    with torch.no_grad():
        logits, state = model(ids)
    np_logits, np_state = engine.prefill(ids.numpy(), None)
    np.testing.assert_allclose(np_logits, logits[-1].numpy(), atol=1e-4, rtol=0)
    for a, b in zip(numpy_state(np_state), torch_state(state), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=0)
    for _ in range(3):  # carried state, one token per row
        nxt = torch.randint(0, V, (3,))
        with torch.no_grad():
            logits, state = model(nxt[None, :], state)
        np_logits, np_state = engine.step(nxt.numpy(), np_state)
        np.testing.assert_allclose(np_logits, logits[0].numpy(), atol=1e-4, rtol=0)
    for a, b in zip(numpy_state(np_state), torch_state(state), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "options",
    [
        {"input": "onehot"},
        {"cell": "rnn", "nonlinearity": "relu"},
        {"tie_weights": True, "hidden_size": E},  # tied without projection (H = E)
        {"weight_drop": 0.5, "dropout_input": 0.2, "dropout_hidden": 0.2, "impl": "reference"},
    ],
)
def test_other_supported_variants_match_torch(options: dict[str, Any]) -> None:
    """One-hot input, relu RNN, tying without projection, and training-only options (off in eval)."""
    cell = options.pop("cell", "lstm")
    tied = options.pop("tie_weights", False)
    hidden = options.pop("hidden_size", 8)
    model = build(cell, 2, tied, hidden=hidden, **options)
    ids = torch.randint(0, V, (4, 2))
    with torch.no_grad():
        logits, _ = model(ids)
    np_logits, _ = numpy_twin(model).prefill(ids.numpy(), None)
    np.testing.assert_allclose(np_logits, logits[-1].numpy(), atol=1e-4, rtol=0)


def test_select_and_concat_keep_rows_apart() -> None:
    """Rows joined with concat step as they would alone; select reorders and repeats rows."""
    engine = numpy_twin(build("gru", 2, True))
    _, a = engine.prefill(np.array([[1], [2]]), None)
    _, b = engine.prefill(np.array([[3, 4], [5, 6]]), None)
    both, _ = engine.step(np.array([0, 1, 2]), engine.concat([a, b]))
    np.testing.assert_allclose(both[:1], engine.step(np.array([0]), a)[0], atol=1e-6)
    np.testing.assert_allclose(both[1:], engine.step(np.array([1, 2]), b)[0], atol=1e-6)
    again, _ = engine.step(np.array([2, 2]), engine.select(b, np.array([1, 1])))
    np.testing.assert_array_equal(again[0], again[1])


def test_variants_it_cannot_run_are_named() -> None:
    """Layer norm, unknown cells, bidirectional layers and unknown options in use are refused by name."""
    base = build("lstm", 1, False).config.to_dict()
    assert numpy_unsupported(base) is None
    assert "layer normalisation" in str(numpy_unsupported({**base, "layer_norm": True}))
    assert "mingru" in str(numpy_unsupported({**base, "cell": "mingru"}))
    assert "conv_frontend" in str(numpy_unsupported({**base, "conv_frontend": 3}))
    assert numpy_unsupported({**base, "conv_frontend": None}) is None, "an option that is off is fine"
    with pytest.raises(CheckpointError, match="layer normalisation"):
        NumpyLM({**base, "layer_norm": True}, {})


def test_unexpected_or_missing_weights_are_refused() -> None:
    """Weights of another architecture are not half-loaded: extra or missing tensors raise."""
    model = build("lstm", 1, False)
    tensors = {name: t.detach().numpy() for name, t in model_tensors(model).items()}
    with pytest.raises(CheckpointError, match="does not use"):
        NumpyLM(model.config.to_dict(), {**tensors, "rnn.layer_norms.ih_l0.weight": np.ones(32)})
    del tensors["decoder.bias"]
    with pytest.raises(CheckpointError, match=r"decoder\.bias"):
        NumpyLM(model.config.to_dict(), tensors)


def save_run(model: RNNLM, folder: Path) -> Path:
    """A bundle-like folder: config, a vocabulary of V tokens, float16 weights."""
    from safetensors.torch import save_file

    from rnnlab.data.vocab import Vocab

    folder.mkdir()
    (folder / CONFIG_FILE).write_text(json.dumps({"model": model.config.to_dict(), "train": {}}), "utf-8")
    Vocab.build([chr(0x4E00 + i) for i in range(V - 4)]).save(folder / VOCAB_FILE)
    save_file({k: v.half().contiguous() for k, v in model_tensors(model).items()}, str(folder / MODEL_FILE))
    return folder


def test_run_folders_load_in_either_engine_with_equal_logits(tmp_path: Path) -> None:
    """load_lm reads float16 weights into float32 for both engines; auto picks NumPy on the CPU."""
    folder = save_run(build("lstm", 2, True), tmp_path / "run")
    auto, torch_lm = load_lm(folder), load_lm(folder, engine="torch")
    assert (auto.engine, auto.notice, torch_lm.engine) == ("numpy", None, "torch")
    ids = np.array([[1, 2], [3, 4], [5, 6]])
    a, _ = auto.stepper.prefill(ids, None)
    b, _ = torch_lm.stepper.prefill(ids, None)
    np.testing.assert_allclose(a, b, atol=1e-4, rtol=0)
    assert len(auto.vocab) == V


def test_models_numpy_cannot_run_fall_back_to_torch_with_a_notice(tmp_path: Path) -> None:
    """A layer-norm LSTM asked for with auto or numpy loads in torch, and the notice says why."""
    folder = save_run(build("lstm", 1, False, layer_norm=True), tmp_path / "ln")
    for engine in ("auto", "numpy"):
        lm = load_lm(folder, engine=engine)
        assert lm.engine == "torch"
        assert lm.notice is not None and "layer normalisation" in lm.notice and "\n" not in lm.notice
    with pytest.raises(ConfigError, match="CPU only"):
        load_lm(folder, engine="numpy", device="cuda")
    with pytest.raises(ConfigError, match="options are"):
        load_lm(folder, engine="jax")


def test_file_names_are_the_run_folder_layout(tmp_path: Path) -> None:
    """The engine reads the files rnnlab.train.checkpoint.RunDir names (kept apart to stay torch-free)."""
    run = RunDir(tmp_path)
    assert (run.config.name, run.vocab.name, run.model.name) == (CONFIG_FILE, VOCAB_FILE, MODEL_FILE)


def test_the_engine_imports_neither_torch_nor_the_web_stack() -> None:
    """Loading the bundled model with the NumPy engine and stepping it leaves torch unimported."""
    code = (
        "import numpy as np\n"
        "from rnnlab.inference import load_lm\n"
        "from rnnlab.pretrained import bundled_dir\n"
        "lm = load_lm(bundled_dir())\n"
        "assert lm.engine == 'numpy'\n"
        "lm.stepper.prefill(np.array([[3], [4]]), None)"
    )
    assert imported_after(code) == []
