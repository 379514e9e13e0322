"""The bundled poet, bundles of any run, and `rnnlab poem` / `rnnlab bundle` end to end."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import torch

from rnnlab.cli import main
from rnnlab.errors import CheckpointError
from rnnlab.generate.poems import PoemRequest
from rnnlab.poet import Poet
from rnnlab.pretrained import bundled_dir, make_bundle
from rnnlab.train import TrainConfig, load_run, train_language_model
from rnnlab.train.checkpoint import load_tensors

FIVE_CHAR_QUATRAIN = re.compile(r"^(\w{5}，\n\w{5}。\n){2}$")


def poems_of(output: str) -> list[str]:
    return [block for block in output.strip("\n").split("\n\n") if block]


@pytest.fixture(scope="module")
def poet() -> Poet:
    return Poet.load()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-update run on generated five-character couplets (punctuated like real poems)."""
    rng = random.Random(0)
    chars = "山水月风花春秋云雨天江人日夜"
    lines = []
    for _ in range(40):
        verse = ["".join(rng.choice(chars) for _ in range(5)) for _ in range(4)]
        lines.append(f"{verse[0]}，{verse[1]}。{verse[2]}，{verse[3]}。")
    root = tmp_path_factory.mktemp("poet")
    data = root / "poems.txt"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = TrainConfig(max_steps=2, batch_size=4, bptt=16, log_every=1, device="cpu")
    options = {"embed_size": 8, "hidden_size": 16, "num_layers": 1}
    train_language_model(data, root / "run", config, options, progress=False)
    return root / "run"


def test_bundled_poet_is_installed_and_small() -> None:
    """The package ships its default model, under 8 MiB, with its training record."""
    folder = bundled_dir()
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert size < 8 * 2**20
    assert {"model.safetensors", "config.json", "vocab.json", "metrics.jsonl"} <= {
        f.name for f in folder.iterdir()
    }


def test_bundled_poet_continues_a_first_line_in_form(poet: Poet) -> None:
    """A five-character first line gives five-character quatrains that begin with it."""
    poems = poet.write(PoemRequest(prefix="床前明月光", num=4, seed=0))
    assert len(poems) == 4
    for poem in poems:
        assert poem.startswith("床前明月光，")
        assert FIVE_CHAR_QUATRAIN.match(poem + "\n"), poem


def test_bundled_poet_writes_acrostics(poet: Poet) -> None:
    """Each line of an acrostic starts with the next character of the acrostic."""
    for poem in poet.write(PoemRequest(acrostic="深度学习", form="7x4", num=2, seed=1)):
        lines = poem.split("\n")
        assert [line[0] for line in lines] == list("深度学习")
        assert all(len(line) == 8 for line in lines)


def test_cli_poem_prints_poems_separated_by_blank_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """`rnnlab poem PREFIX --num N --seed S`: N poems, lines on their own, a blank line between."""
    assert main(["poem", "床前明月光", "--num", "3", "--seed", "5"]) == 0
    first = capsys.readouterr().out
    poems = poems_of(first)
    assert len(poems) == 3
    assert all(FIVE_CHAR_QUATRAIN.match(p + "\n") for p in poems)
    assert main(["poem", "床前明月光", "--num", "3", "--seed", "5"]) == 0
    assert capsys.readouterr().out == first, "a seed must make the output repeat"


def test_both_engines_write_the_same_poem(capsys: pytest.CaptureFixture[str]) -> None:
    """`--engine torch` and `--engine numpy` write the same poems for a seed with the bundled model."""
    outputs = []
    for engine in ("numpy", "torch"):
        assert main(["poem", "春眠", "--num", "2", "--seed", "3", "--engine", engine]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and len(poems_of(outputs[0])) == 2


def test_cli_poem_without_seed_varies(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --seed two calls give different poems (the tutorial's generator never did)."""
    outputs = set()
    for _ in range(2):
        assert main(["poem", "春风", "--num", "4"]) == 0
        outputs.add(capsys.readouterr().out)
    assert len(outputs) == 2


def test_cli_poem_names_unknown_characters(capsys: pytest.CaptureFixture[str]) -> None:
    """Characters outside the vocabulary are listed, exit status 2, no traceback."""
    assert main(["poem", "床前𠀀月光"]) == 2
    err = capsys.readouterr().err
    assert "𠀀" in err and "does not know" in err


def test_cli_poem_converts_traditional_characters(capsys: pytest.CaptureFixture[str]) -> None:
    """A traditional-script prompt is converted when that resolves it (風 → 风)."""
    assert main(["poem", "春風", "--seed", "2"]) == 0
    assert capsys.readouterr().out.startswith("春风")


def test_bundle_stores_float16_and_loads_as_the_run(tiny_run: Path, tmp_path: Path) -> None:
    """A bundle holds float16 weights that load into the float32 model as the run's weights rounded."""
    out = make_bundle(tiny_run, tmp_path / "bundle")
    stored = load_tensors(out / "model.safetensors")
    assert all(t.dtype == torch.float16 for t in stored.values() if t.is_floating_point())
    original, _, _ = load_run(tiny_run)
    loaded, vocab, config = load_run(out)
    assert "/" not in config["data"]["path"], "a bundle must not record local paths"
    for (name, a), b in zip(original.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert b.dtype == torch.float32, name
        assert torch.equal(a.half().float(), b), name
    assert len(vocab) == original.config.vocab_size


def test_cli_poem_uses_a_run_of_your_own(tiny_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--model RUN_DIR writes with that run's model; the form holds even for an untrained one."""
    assert main(["poem", "--model", str(tiny_run), "--acrostic", "山水春秋", "--seed", "0"]) == 0
    (poem,) = poems_of(capsys.readouterr().out)
    assert [line[0] for line in poem.split("\n")] == list("山水春秋")


def test_cli_bundle_writes_a_loadable_folder(
    tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rnnlab bundle RUN --out DIR` reports the size and the folder works with --model."""
    assert main(["bundle", str(tiny_run), "--out", str(tmp_path / "b")]) == 0
    assert "MiB" in capsys.readouterr().out
    assert Poet.load(tmp_path / "b").vocab is not None


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    """--model pointing nowhere names the folder and what to pass instead."""
    with pytest.raises(CheckpointError, match="no such run folder"):
        Poet.load(tmp_path / "nope")
