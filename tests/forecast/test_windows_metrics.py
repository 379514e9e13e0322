"""Training windows (the trainer's BatchSource), the objective, baselines and errors by horizon."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.errors import CheckpointError
from rnnlab.forecast.baselines import naive_paths, seasonal_naive_paths
from rnnlab.forecast.metrics import horizon_errors, naive_scale, true_paths
from rnnlab.forecast.objective import ForecastObjective
from rnnlab.forecast.windows import training_windows, validation_sequence
from rnnlab.models.forecasters import ForecasterConfig, build_forecaster


def test_training_windows_never_score_past_the_training_part() -> None:
    """Every counted target index is < n_train and comes after the warm-up; y holds z at those indices."""
    z = np.arange(100, dtype=np.float64)
    batches = training_windows(z, 60, length=20, warmup=5, outputs=3, batch_size=8, seed=0)
    seen = 0
    for batch in batches:
        assert batch.x.shape[0] == 20 and batch.y.shape[2] == 3 and batch.reset_state
        targets = batch.y[batch.mask]
        assert targets.max() < 60
        assert not batch.mask[:5].any()
        # y[t, b, h] = x[t, b] + 1 + h for this ramp, where counted
        expect = (batch.x[:, :, None] + 1 + torch.arange(3)).expand_as(batch.y)
        torch.testing.assert_close(batch.y[batch.mask], expect[batch.mask])
        seen += batch.x.shape[1]
    assert seen == 40 and batches.epoch == 1


def test_window_order_resumes_exactly() -> None:
    """A source restored from state_dict mid-epoch yields the same remaining batches."""
    z = np.random.default_rng(0).normal(size=200)
    a = training_windows(z, 150, length=16, warmup=4, outputs=1, batch_size=10, seed=3)
    it = iter(a)
    next(it)
    state = a.state_dict()
    rest = [b.x for b in it]
    b = training_windows(z, 150, length=16, warmup=4, outputs=1, batch_size=10, seed=3)
    b.load_state_dict(state)
    for x, y in zip(rest, [batch.x for batch in b], strict=True):
        torch.testing.assert_close(x, y)


def test_window_state_from_other_settings_is_refused() -> None:
    """A saved position is meaningless for other windows: loading it names the difference."""
    z = np.random.default_rng(0).normal(size=200)
    state = training_windows(z, 150, length=16, warmup=4, outputs=1, batch_size=10, seed=3).state_dict()
    other = training_windows(z, 150, length=12, warmup=4, outputs=1, batch_size=10, seed=3)
    with pytest.raises(CheckpointError, match="length: saved 16, now 12"):
        other.load_state_dict(state)


def test_validation_scores_only_the_validation_part() -> None:
    """The validation sequence reads the whole past but counts targets in [n_train, n_fit) only."""
    z = np.arange(50, dtype=np.float64)
    (batch,) = list(validation_sequence(z, 30, 40, outputs=1))
    counted = batch.y[batch.mask]
    assert counted.min() == 30 and counted.max() == 39 and len(counted) == 10


def test_objective_is_summed_squared_error() -> None:
    """loss = Σ (ŷ − y)² over the mask, with |mask| as the count the trainer divides by."""
    model = build_forecaster(ForecasterConfig(kind="gru", hidden_size=4))
    z = np.random.default_rng(0).normal(size=40)
    batch = next(iter(training_windows(z, 40, length=10, warmup=3, outputs=1, batch_size=4, seed=0)))
    loss, n, _ = ForecastObjective(model).loss(batch, None)
    pred, _ = model(batch.x)
    assert n == int(batch.mask.sum()) == 4 * 7
    torch.testing.assert_close(loss, ((pred - batch.y) ** 2)[batch.mask].sum())


def test_mase_of_naive_on_its_own_scaling_is_one() -> None:
    """Scored on the training series itself, the one-step naive forecast has MASE exactly 1."""
    x = np.cumsum(np.random.default_rng(0).normal(size=80))
    origins = np.arange(0, 79)
    table = horizon_errors(true_paths(x, origins, 1), naive_paths(x, origins, 1), [1], naive_scale(x))
    assert table["1"]["mase"] == pytest.approx(1.0)
    assert table["1"]["n"] == 79


def test_seasonal_naive_is_exact_on_a_periodic_series() -> None:
    """On a series with period m, the seasonal-naive forecast has zero error at every horizon."""
    x = np.tile([1.0, 5.0, 2.0, 7.0], 10)
    origins = np.arange(3, 30)
    paths = seasonal_naive_paths(x, origins, 9, 4)
    np.testing.assert_array_equal(paths, true_paths(x, origins, 9))


def test_horizons_past_the_test_part_are_none() -> None:
    """A horizon no origin reaches is reported as None with n = 0, not as a number."""
    x = np.arange(10, dtype=np.float64)
    origins = np.array([6, 7, 8])
    table = horizon_errors(true_paths(x, origins, 3), naive_paths(x, origins, 3), [1, 3, 5], 1.0)
    assert table["1"]["n"] == 3 and table["3"]["n"] == 1 and table["5"]["mse"] is None
