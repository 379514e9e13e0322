"""N-gram baselines of `rnnlab eval`: same split, vocabulary, targets and perplexity definition."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab.cli import main
from rnnlab.train import TrainConfig, train_language_model
from rnnlab.train.baselines import fit_ngram, ngram_rows, run_training_sequences
from rnnlab.train.batches import evaluation_batches
from rnnlab.train.corpus import read_lines, split_lines
from rnnlab.train.lm import eval_sequences, evaluate_run, load_run
from rnnlab.train.objective import LanguageModelObjective
from rnnlab.train.trainer import evaluate
from tests.train._tiny import TINY_MODEL


@pytest.fixture
def tiny_run(tiny_corpus: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    config = TrainConfig(max_steps=3, batch_size=4, bptt=12, device="cpu", seed=1)
    train_language_model(tiny_corpus, out, config, TINY_MODEL, progress=False)
    return out


def test_ngram_rows_count_exactly_the_neural_targets(tiny_run: Path, tiny_corpus: Path) -> None:
    """Every n-gram row counts as many targets as evaluate_run: each held-out character plus one <eos>
    per held-out line, for the held-out split and for a whole file."""
    _, valid = split_lines(read_lines(tiny_corpus), 0.05)
    expected = sum(len(s) for s in valid) + len(valid)
    neural, _ = evaluate_run(tiny_run, device="cpu")
    rows, _ = ngram_rows(tiny_run, orders=[1, 3], smoothings=["add-k", "mkn"])
    assert neural.tokens == expected
    assert [r.tokens for r in rows] == [expected] * 4
    neural_all, _ = evaluate_run(tiny_run, tiny_corpus, split="all", device="cpu")
    rows_all, _ = ngram_rows(tiny_run, tiny_corpus, orders=[2], smoothings=["kn"], split="all")
    assert neural_all.tokens == rows_all[0].tokens == sum(len(s) + 1 for s in read_lines(tiny_corpus))


def test_ngram_is_fitted_on_the_runs_training_split_and_vocabulary(tiny_run: Path, tiny_corpus: Path) -> None:
    """The n-gram's training lines are the run's training split (no held-out line among them) and its
    vocabulary size is the run's."""
    train, vocab = run_training_sequences(tiny_run)
    _, model_vocab, config = load_run(tiny_run)
    train_lines, valid_lines = split_lines(read_lines(tiny_corpus), config["data"]["valid_fraction"])
    assert len(train) == len(train_lines) == config["data"]["train_lines"]
    assert len(vocab) == len(model_vocab) == config["model"]["vocab_size"]
    decoded = {"".join(vocab.to_tokens([int(i) for i in s])) for s in train}
    assert decoded.isdisjoint(valid_lines)


def test_ngram_distributions_sum_to_one_over_the_run_vocabulary(tiny_run: Path) -> None:
    """For every context in the held-out lines (start contexts included), p(· | h) of each smoothing sums
    to 1 over the run's whole vocabulary."""
    train, vocab = run_training_sequences(tiny_run)
    config = load_run(tiny_run)[2]
    sequences, _ = eval_sequences(config, vocab, None, "valid")
    for smoothing in ("add-k", "kn", "mkn"):
        lm = fit_ngram(train, vocab, 3, smoothing, k=0.1)
        for seq in sequences[:5]:
            for i in range(len(seq) + 1):
                assert lm.distribution(seq[:i]).sum() == pytest.approx(1.0, abs=1e-9)


def test_uniform_models_have_perplexity_equal_to_vocabulary_size(tiny_run: Path) -> None:
    """A neural model with a zeroed decoder (uniform softmax) and a unigram add-k with a huge k both
    score perplexity V on the held-out split: the definition exp(mean NLL) over all V ids."""
    model, vocab, config = load_run(tiny_run)
    with torch.no_grad():
        model.decoder.weight.zero_()
        model.decoder.bias.zero_()
    sequences, _ = eval_sequences(config, vocab, None, "valid")
    ids = {"pad_id": vocab.pad_id, "bos_id": vocab.bos_id, "eos_id": vocab.eos_id}
    batches = evaluation_batches(TrainConfig.from_dict(config["train"]), sequences, **ids)
    meter = evaluate(LanguageModelObjective(model), batches, torch.device("cpu"))
    assert math.exp(meter.mean) == pytest.approx(len(vocab), rel=1e-5)
    rows, _ = ngram_rows(tiny_run, orders=[1], smoothings=["add-k"], add_k=[1e12])
    assert rows[0].perplexity == pytest.approx(len(vocab), rel=1e-5)


def test_eval_cli_prints_ngram_rows_beside_the_run(
    tiny_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rnnlab eval RUN --ngram 2 --smoothing kn,add-k --add-k 1,0.1` prints the run then 2 kn rows and
    4 add-k rows (parameters = stored n-grams > 0), and ends with the run's perplexity."""
    assert main(["eval", str(tiny_run), "--device", "cpu", "--ngram", "2", "--smoothing", "kn,add-k",
                 "--add-k", "1,0.1"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    names = [line[:24].strip() for line in lines if line[25:35].strip() == "ngram"]
    assert names == [
        "1-gram kn",
        "2-gram kn",
        "1-gram add-1",
        "2-gram add-1",
        "1-gram add-0.1",
        "2-gram add-0.1",
    ]
    run_row = next(line for line in lines if line.startswith("run "))
    assert lines[-1] == f"perplexity {float(run_row.split()[4]):.2f}"
    params = [int(line[35:47].replace(",", "")) for line in lines if line[25:35].strip() == "ngram"]
    assert all(p > 0 for p in params) and params[1] > params[0]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ngram", "7"], "1…5"),
        (["--ngram", "2", "--smoothing", "witten-bell"], "unknown smoothing"),
        (["--ngram", "2", "--add-k", "0"], "k > 0"),
        (["--ngram", "two"], "comma list"),
    ],
)
def test_bad_ngram_options_are_refused(
    tiny_run: Path, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Out-of-range orders, unknown smoothings, k ≤ 0 and unparsable lists exit 2 naming the problem."""
    assert main(["eval", str(tiny_run), "--device", "cpu", *flags]) == 2
    assert message in capsys.readouterr().err


def test_parse_orders_expands_a_single_n() -> None:
    """`--ngram 3` means orders 1, 2, 3; a comma list is taken as given."""
    from rnnlab.cli.eval import parse_orders

    assert parse_orders("3") == [1, 2, 3]
    assert parse_orders("2,5") == [2, 5]
    assert np.all(np.diff(parse_orders("5")) == 1)
