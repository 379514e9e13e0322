"""Training on several processes: two gloo ranks under torchrun on the CPU against one process.

The launches are real (``python -m torch.distributed.run``), so each costs a few seconds of
interpreter start-up; the models are tiny. Every subprocess has a timeout.
"""

from __future__ import annotations

import contextlib
import io
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
from rnnlab.cli.options import worker_argv
from rnnlab.data.sampling import Batch, rank_block
from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from rnnlab.train import TrainConfig, evaluate_run, train_language_model
from rnnlab.train import distributed as ddp
from rnnlab.train.batches import RandomLengthStreams
from rnnlab.train.corpus import load_lm_corpus
from rnnlab.train.metrics import read_metrics
from rnnlab.train.objective import LanguageModelObjective
from tests.train._ddp_worker import train_forecaster, train_tagger
from tests.train._tiny import TINY_MODEL, write_tiny_corpus

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
            cache = ["--cache-dir", str(folder / "cache")]  # built by the 2 ranks, reused by one process
            command = _torchrun(
                "-m", "rnnlab", *_lm(corpus, base / "two", "--batch", "8", "--max-steps", "6", *cache)
            )
            launched = _run(command, cwd=base)
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                assert main(_lm(corpus, one, "--batch", "16", "--max-steps", "6", *cache)) == 0
            (folder / "stdout-one.txt").write_text(printed.getvalue(), encoding="utf-8")
            done.write_text(launched.stdout, encoding="utf-8")
    return {"base": base, "corpus": base / "tiny.txt", "two": base / "two", "one": one,
            "stdout": done.read_text(encoding="utf-8"),
            "stdout-one": (folder / "stdout-one.txt").read_text(encoding="utf-8")}  # fmt: skip


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
    record once, every log line printed once (the corpus cache's too; the single-process run made
    after it opens that cache)."""
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
    assert runs["stdout"].count("cache built") == 1 and "cache reused" in runs["stdout-one"]
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
    none) and validation one sequence; rank 1 creates no run folder; the token cache and the cached
    LM corpus are built once (by local rank 0) and opened by the other rank."""
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
    # The LM corpus as `rnnlab train` loads it: encoded by local rank 0 alone, opened by rank 1,
    # both holding exactly the in-memory encoding.
    # A task model (a tagger through rnnlab.tasks.train_task) into one shared folder: rank 0 alone
    # writes it; weights and validation (loss and the tag accuracy from summed counts) equal one process.
    single = train_tagger(tmp_path / "task-data-single", tmp_path / "task-single", batch_size=8)
    assert all(r["task_steps"] == single["task_steps"] == 6 for r in ranks)
    assert all(r["task_val_loss"] == pytest.approx(single["task_val_loss"], abs=1e-6) for r in ranks)
    assert (
        _max_difference(
            tmp_path / "task" / "model.safetensors", tmp_path / "task-single" / "model.safetensors"
        )
        < 1e-5
    )
    valid = [
        [r["metrics"] for r in read_metrics(run / "metrics.jsonl") if "metrics" in r]
        for run in (tmp_path / "task", tmp_path / "task-single")
    ]
    assert valid[0] and len(valid[0]) == len(valid[1])
    for got, want in zip(*valid, strict=True):
        assert got == pytest.approx(want, abs=1e-9)
    assert [r["corpus_reused"] for r in ranks] == [False, True]
    assert ranks[0]["corpus_manifest"] == ranks[1]["corpus_manifest"]
    reference = load_lm_corpus(tmp_path / "lines.txt", 0.05)
    lines = [[int(i) for i in line] for line in reference.train + reference.valid]
    assert all(r["corpus_lines"] == lines and r["corpus_vocab"] == reference.vocab.tokens for r in ranks)


# --------------------------------------------------------------------------------------------- in one process


def test_one_process_is_a_world_of_one() -> None:
    """Outside torchrun nothing is initialised and every collective is the identity."""
    world = ddp.init_world("cpu")
    assert (world.rank, world.size, world.is_main, world.distributed) == (0, 1, True, False)
    assert not dist.is_initialized()
    assert ddp.all_reduce_sum(world, [1.5, 2]) == [1.5, 2.0]
    assert ddp.all_gather(world, "x") == ["x"] and ddp.broadcast(world, 7) == 7
    assert ddp.build_once(world, lambda: 42) == 42
    assert ddp.gather_state(world, torch.ones(1, 3, 2)).shape == (1, 3, 2)


def test_a_rank_takes_its_columns_of_a_saved_state() -> None:
    """``local_state`` gives each rank the columns ``rank_block`` gives it in the batches, so the
    ranks' parts of an LSTM state (h, c) side by side are the saved state (7 columns, 3 ranks)."""
    h, c = torch.randn(2, 7, 4), torch.randn(2, 7, 4)
    parts = [ddp.local_state(ddp.World(rank=r, size=3), (h, c)) for r in range(3)]
    assert [p[0].shape[1] for p in parts] == [3, 2, 2]
    assert torch.equal(torch.cat([p[0] for p in parts], dim=1), h)
    assert torch.equal(torch.cat([p[1] for p in parts], dim=1), c)
    assert torch.equal(parts[1][1], c[:, rank_block(7, 1, 3)])


def test_a_rank_without_columns_still_reaches_every_parameter() -> None:
    """A rank whose share of a short batch is empty returns loss 0 over 0 targets whose backward
    gives every parameter a zero gradient (so DDP's all-reduce sees all of them) and keeps its state."""
    torch.manual_seed(0)
    model = RNNLM(RNNLMConfig(vocab_size=11, **TINY_MODEL))
    module = ddp.ObjectiveModule(LanguageModelObjective(model))
    empty = torch.zeros(5, 0, dtype=torch.int64)
    batch = Batch(x=empty, y=empty, mask=empty.bool(), reset_state=True)
    loss, n, state = module(batch, "kept")
    loss.backward()
    assert float(loss.detach()) == 0 and n == 0 and state == "kept"
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())


def test_sources_without_shard_are_refused_on_several_ranks() -> None:
    """A batch source that cannot serve one rank's columns is a ConfigError naming the way out;
    with one process it is used as it is."""
    source: Any = [1, 2, 3]
    assert ddp.shard_batches(source, ddp.World()) is source
    with pytest.raises(ConfigError, match=r"cannot be split between 2 ranks.*EpochSampler"):
        ddp.shard_batches(source, ddp.World(rank=1, size=2))


def test_a_sampler_that_ignores_its_rank_is_caught() -> None:
    """Each rank training on the whole batch would count the data W times: a batch wider than the
    rank's share (3 of 6 columns for rank 0 of 2) is a ConfigError pointing at ``_block``."""
    from rnnlab.data.sampling import SequentialSampler

    source = SequentialSampler(__import__("numpy").arange(500), 6, 10)
    whole = next(iter(source))
    share = next(iter(source.shard(0, 2)))
    world = ddp.World(rank=0, size=2)
    ddp.check_share(share, source, world)
    with pytest.raises(ConfigError, match=r"6 columns, more than its share \(3 of 6\).*_block"):
        ddp.check_share(whole, source, world)


def test_random_length_streams_split_between_ranks() -> None:
    """AWD-LSTM's random-length chunks: every rank draws the same lengths, and the ranks' rows side by
    side are the rows of one process with the global batch (6 rows over 4 ranks: 2, 2, 1, 1)."""
    stream = __import__("numpy").arange(700) % 50
    single = RandomLengthStreams(lambda e: stream, 700, 3, 9, seed=4)
    whole = list(single.shard(0, 1, batch_size=6))
    ranks = [list(single.shard(r, 4, batch_size=6)) for r in range(4)]
    for i, batch in enumerate(whole):
        joined = torch.cat([r[i].x for r in ranks], dim=1)
        assert torch.equal(joined, batch.x) and [r[i].width for r in ranks] == [2, 2, 1, 1]


def test_workers_get_the_command_line_without_the_launch_options() -> None:
    """`--nproc`/`--max-restarts` (any spelling argparse accepts) are the launcher's, not the workers'."""
    argv = [
        "train",
        "--data",
        "f.txt",
        "--nproc",
        "2",
        "--batch=8",
        "--max-restarts=1",
        "--npr",
        "3",
        "--seed",
        "1",
    ]
    assert worker_argv(argv) == ["train", "--data", "f.txt", "--batch=8", "--seed", "1"]


def test_resuming_keeps_the_global_batch_of_the_checkpoint(tiny_corpus: Path, tmp_path: Path) -> None:
    """A run whose config says per-rank batch 4 but whose checkpoint says global batch 8 (a 2-rank run)
    continues in one process with batch 8, bit for bit as an uninterrupted batch-8 run."""
    config = TrainConfig(batch_size=8, bptt=12, max_steps=4, eval_every=2, device="cpu", schedule="none")
    train_language_model(tiny_corpus, tmp_path / "run", config, TINY_MODEL, progress=False)
    path = tmp_path / "run" / "config.json"
    saved = json.loads(path.read_text())
    saved["train"]["batch_size"], saved["world_size"] = 4, 2
    path.write_text(json.dumps(saved))
    train_language_model(
        None, tmp_path / "run", resume=True, resume_overrides={"max_steps": 8}, progress=False
    )
    config.max_steps = 8
    train_language_model(tiny_corpus, tmp_path / "whole", config, TINY_MODEL, progress=False)
    a, b = (
        _weights(tmp_path / "run" / "model.safetensors"),
        _weights(tmp_path / "whole" / "model.safetensors"),
    )
    assert all(torch.equal(a[k], b[k]) for k in a)
    state = json.loads((tmp_path / "run" / "checkpoints" / "latest" / "trainer_state.json").read_text())
    assert (state["global_batch"], state["world_size"]) == (8, 1)


def test_a_global_batch_smaller_than_the_world_is_refused(tiny_corpus: Path, tmp_path: Path) -> None:
    """Resuming a global batch of 2 on 3 ranks would leave a rank idle forever: CheckpointError."""
    config = TrainConfig(batch_size=2, bptt=12, device="cpu")
    trainer = _lm_trainer(config, load_lm_corpus(tiny_corpus), tmp_path / "run")
    trainer.world = ddp.World(rank=0, size=3)
    with pytest.raises(CheckpointError, match=r"global batch has 2 columns, fewer than the 3 ranks"):
        trainer._use_global_batch(2)


def _lm_trainer(config: TrainConfig, corpus: Any, run: Path) -> Any:
    from rnnlab.train.batches import evaluation_batches, training_batches
    from rnnlab.train.trainer import Trainer

    ids = {"pad_id": corpus.vocab.pad_id, "bos_id": corpus.vocab.bos_id, "eos_id": corpus.vocab.eos_id}
    model = RNNLM(RNNLMConfig(vocab_size=len(corpus.vocab), **TINY_MODEL))
    return Trainer(
        LanguageModelObjective(model), config, training_batches(config, corpus.train, **ids),
        evaluation_batches(config, corpus.valid, **ids), run_dir=run, progress=False,
    )  # fmt: skip


def test_ranks_draw_their_own_dropout_streams() -> None:
    """Rank 0 keeps the run's seed; ranks 1, 2, … get seeds of their own."""
    seeds = [ddp.rank_seed(5, r) for r in range(1, 5)]
    assert len(set(seeds)) == 4 and ddp.rank_seed(6, 1) not in seeds
    assert all(0 <= s < 2**63 for s in seeds)


def test_asking_for_a_missing_gpu_is_a_config_error() -> None:
    """`--device cuda` without a visible GPU (or with too few for the local ranks) says what to do."""
    if torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"one process per GPU"):
            ddp.resolve_device("cuda", torch.cuda.device_count())
    else:
        with pytest.raises(ConfigError, match=r"no CUDA GPU is visible"):
            ddp.resolve_device("cuda")
    assert ddp.resolve_device("cpu", 3) == torch.device("cpu")


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
