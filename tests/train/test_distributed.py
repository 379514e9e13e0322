"""Training on several processes: two gloo ranks under torchrun on the CPU against one process.

The launches are real (``python -m torch.distributed.run``), so each costs a few seconds of
interpreter start-up; the models are tiny. Every subprocess has a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
from filelock import FileLock
from safetensors.torch import load_file

from rnnlab.cli import main
from rnnlab.train import evaluate_run
from rnnlab.train.corpus import load_lm_corpus
from rnnlab.train.metrics import read_metrics
from tests.train._ddp_worker import train_forecaster
from tests.train._tiny import write_tiny_corpus

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed with gloo"
)

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = SRC.parent
LM = ["--seed", "3", "--embed", "8", "--hidden", "16", "--layers", "1", "--dropout", "0", "--bptt", "12",
      "--schedule", "none", "--eval-every", "3", "--log-every", "2", "--no-progress",
      "--device", "cpu"]  # fmt: skip
LAUNCH_TIMEOUT = 240  # seconds; a launch takes ~10 s on an idle 2-core machine


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    return {
        **env,
        "PYTHONPATH": os.pathsep.join([str(SRC), str(ROOT)]),
        "OMP_NUM_THREADS": "1",
        "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1",
    }


def _torchrun(*args: str | Path, restarts: int = 0) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
            f"--max-restarts={restarts}", *map(str, args)]  # fmt: skip


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=LAUNCH_TIMEOUT
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def _max_difference(a: Path, b: Path) -> float:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    return max(float((wa[k] - wb[k]).abs().max()) for k in wa)


def _lm(corpus: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--data", str(corpus), "--out", str(out), *LM, *extra]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One 2-rank torchrun run (per-rank batch 8) and one single-process run (batch 16), 6 updates each.

    Made once per session even under pytest-xdist: the workers share the folder above their own
    base folder, and a lock lets the first one build it.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / "ddp-runs"
    base, one, done = folder / "work", folder / "one", folder / "stdout.txt"
    with FileLock(str(root / "ddp-runs.lock")):
        if not done.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            base.mkdir(parents=True)
            corpus = write_tiny_corpus(base / "tiny.txt")
            command = _torchrun(
                "-m", "rnnlab", *_lm(corpus, base / "two", "--batch", "8", "--max-steps", "6")
            )
            launched = _run(command, cwd=base)
            assert main(_lm(corpus, one, "--batch", "16", "--max-steps", "6")) == 0
            done.write_text(launched.stdout, encoding="utf-8")
    return {"base": base, "corpus": base / "tiny.txt", "two": base / "two", "one": one,
            "stdout": done.read_text(encoding="utf-8")}  # fmt: skip


def test_two_ranks_end_with_the_single_process_weights(runs: dict[str, Any]) -> None:
    """torchrun 2 × batch 8 ends within 1e-5 of one process × batch 16 (float32, no dropout), and
    logs the same global training loss at every logged step."""
    assert _max_difference(runs["two"] / "model.safetensors", runs["one"] / "model.safetensors") < 1e-5
    losses = [
        {r["step"]: r["loss"] for r in read_metrics(runs[name] / "metrics.jsonl") if r["kind"] == "train"}
        for name in ("two", "one")
    ]
    assert losses[0].keys() == losses[1].keys() and len(losses[0]) >= 3
    assert all(abs(losses[0][s] - losses[1][s]) < 1e-5 for s in losses[0])


def test_only_rank_zero_writes(runs: dict[str, Any]) -> None:
    """One run folder with one copy of everything: no stray folder, no temporary file, every metrics
    record once, every log line printed once."""
    base, two = runs["base"], runs["two"]
    assert sorted(p.name for p in base.iterdir()) == ["tiny.txt", "two"]
    assert sorted(p.name for p in two.iterdir()) == [
        "checkpoints", "config.json", "metrics.jsonl", "model.safetensors", "vocab.json"]  # fmt: skip
    assert sorted(p.name for p in (two / "checkpoints").iterdir()) == ["best", "latest"]
    records = read_metrics(two / "metrics.jsonl")
    keys = [(r["kind"], r["step"], r.get("event")) for r in records]
    assert len(keys) == len(set(keys))
    assert sum(r["kind"] == "valid" for r in records) == 2  # steps 3 and 6
    assert runs["stdout"].count("training ended") == 1 and runs["stdout"].count("stopped: max_steps") == 1
    config = json.loads((two / "config.json").read_text())
    assert config["world_size"] == 2 and config["train"]["batch_size"] == 8
    state = json.loads((two / "checkpoints" / "latest" / "trainer_state.json").read_text())
    assert state["world_size"] == 2 and state["global_batch"] == 16


def test_validation_counts_every_held_out_target_once_over_the_ranks(runs: dict[str, Any]) -> None:
    """The 2-rank validation (each rank evaluating its columns, sums all-reduced) counts every
    held-out character and closing <eos> once and equals a single-process evaluation of the
    same weights in the same layout."""
    final = [r for r in read_metrics(runs["two"] / "metrics.jsonl") if r["kind"] == "valid"][-1]
    held_out = load_lm_corpus(runs["corpus"]).valid
    assert final["tokens"] == sum(len(line) + 1 for line in held_out)
    row, _ = evaluate_run(runs["two"], device="cpu")
    assert row.tokens == final["tokens"]
    assert row.mean_nll == pytest.approx(final["loss"], abs=1e-5)


def test_resume_on_another_number_of_ranks_continues_exactly(runs: dict[str, Any], tmp_path: Path) -> None:
    """The 2-rank run resumed in one process, and the 1-process run resumed on 2 ranks
    (`rnnlab train --nproc 2 --resume`), both end where an uninterrupted single process ends:
    same step, same global batch (16), same data order."""
    two, one = tmp_path / "two", tmp_path / "one"
    shutil.copytree(runs["two"], two)
    shutil.copytree(runs["one"], one)
    assert main(["train", "--resume", str(two), "--max-steps", "12", "--no-progress"]) == 0
    launched = _run([sys.executable, "-m", "rnnlab", "train", "--resume", str(one), "--max-steps", "12",
                     "--no-progress", "--nproc", "2"], cwd=tmp_path)  # fmt: skip
    assert "training on 2 ranks" in launched.stdout
    whole = tmp_path / "whole"
    assert main(_lm(runs["corpus"], whole, "--batch", "16", "--max-steps", "12")) == 0
    for run in (two, one):
        assert _max_difference(run / "model.safetensors", whole / "model.safetensors") < 1e-5
        events = [r for r in read_metrics(run / "metrics.jsonl") if r.get("event") == "resumed"]
        assert [(e["step"], e["world_size"]) for e in events] == [(6, 1 if run == two else 2)]
        state = json.loads((run / "checkpoints" / "latest" / "trainer_state.json").read_text())
        assert state["step"] == 12 and state["global_batch"] == 16


def test_the_generic_trainer_splits_any_objective(tmp_path: Path) -> None:
    """A forecaster (not a language model) through the Trainer on 2 ranks: weights and validation
    equal one process with the global batch, although the last batch has one column (rank 1 gets
    none) and validation one sequence; rank 1 creates no run folder; the token cache is built once
    (by local rank 0) and opened by the other rank."""
    _run(_torchrun(ROOT / "tests" / "train" / "_ddp_worker.py", tmp_path), cwd=tmp_path)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    reference, summary = train_forecaster(None, batch_size=8)
    state = reference.model.state_dict()
    weights = _weights(tmp_path / "weights.safetensors")
    assert max(float((state[k] - weights[k]).abs().max()) for k in weights) < 1e-5
    for got in ranks:
        assert got["steps"] == summary["steps"] and got["tokens_seen"] == summary["tokens_seen"]
        assert got["final_val_loss"] == pytest.approx(summary["final_val_loss"], abs=1e-6)
    assert (tmp_path / "run-rank0" / "checkpoints" / "latest").is_dir()
    assert not (tmp_path / "run-rank1").exists()
    assert [r["cache_reused"] for r in ranks] == [False, True]
    assert ranks[0]["cache_tokens"] == ranks[1]["cache_tokens"] == 500


# --------------------------------------------------------------------------------------------- failures


def _children(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return pids


def _worker(parent: int, rank: int, generation: int) -> int | None:
    """The pid of torchrun's worker of ``rank`` in restart ``generation``, if it runs."""
    for pid in _children(parent):
        try:
            env = dict(
                item.split("=", 1)
                for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
                if "=" in item
            )
        except OSError:
            continue
        if env.get("RANK") == str(rank) and env.get("TORCHELASTIC_RESTART_COUNT") == str(generation):
            return pid
    return None


def _wait_for(what: str, check: Callable[[], Any], proc: subprocess.Popen[str], seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"torchrun ended (code {proc.returncode}) before {what}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _records(run: Path) -> list[dict[str, Any]]:
    return read_metrics(run / "metrics.jsonl") if (run / "metrics.jsonl").is_file() else []


@pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="finds the workers through /proc")
def test_a_killed_rank_restarts_the_job_then_ends_it_with_an_error(tmp_path: Path) -> None:
    """SIGKILL of rank 1: torchrun (--max-restarts 1) restarts both ranks, which continue from the
    latest checkpoint; a second SIGKILL, with no restart left, ends the job with an error instead of
    a hang. Resumed in one process, the run ends with the weights of an uninterrupted one."""
    corpus = write_tiny_corpus(tmp_path / "tiny.txt")
    run = tmp_path / "run"
    endless = ["--batch", "4", "--eval-every", "5", "--epochs", "1000", "--max-steps", "100000"]
    log = (tmp_path / "torchrun.log").open("w")
    command = _torchrun("-m", "rnnlab", *_lm(corpus, run, *endless), restarts=1)
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=_env(), stdout=log, stderr=subprocess.STDOUT, text=True
    )
    try:
        latest = run / "checkpoints" / "latest" / "trainer_state.json"
        _wait_for("the first checkpoint", latest.is_file, proc)
        os.kill(_wait_for("rank 1", lambda: _worker(proc.pid, 1, 0), proc), signal.SIGKILL)

        def resumed_and_training() -> bool:
            records = _records(run)
            starts = [i for i, r in enumerate(records) if r.get("event") == "resumed"]
            return bool(starts) and any(r["kind"] == "train" for r in records[starts[0] :])

        _wait_for("the restarted ranks to resume and train", resumed_and_training, proc)
        os.kill(_wait_for("rank 1, restarted", lambda: _worker(proc.pid, 1, 1), proc), signal.SIGKILL)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    output = (tmp_path / "torchrun.log").read_text()
    assert code != 0 and "SIGKILL" in output
    resumed = [r for r in _records(run) if r.get("event") == "resumed"]
    assert len(resumed) == 1 and resumed[0]["step"] % 5 == 0 and resumed[0]["step"] >= 5
    # A kill of the whole job loses at most the updates since the last checkpoint:
    state = json.loads((run / "checkpoints" / "latest" / "trainer_state.json").read_text())
    target = state["step"] + 3
    assert main(["train", "--resume", str(run), "--max-steps", str(target), "--no-progress"]) == 0
    whole = tmp_path / "whole"
    assert main(_lm(corpus, whole, "--batch", "8", "--eval-every", "5", "--epochs", "1000",
                    "--max-steps", str(target))) == 0  # fmt: skip
    assert _max_difference(run / "model.safetensors", whole / "model.safetensors") < 1e-5
