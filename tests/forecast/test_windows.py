"""Training windows and validation passes (the trainer's batch sources), one series or many."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.errors import CheckpointError
from rnnlab.forecast.data import TimeSplit
from rnnlab.forecast.encoding import EncodedSeries
from rnnlab.forecast.windows import panel_validation, panel_windows, training_windows, validation_sequence


def test_training_windows_never_score_past_the_training_part() -> None:
    """Every counted target index is < n_train and comes after the warm-up; y holds z at those indices."""
    z = np.arange(100, dtype=np.float64)
    batches = training_windows(z, 60, length=20, warmup=5, outputs=3, batch_size=8, seed=0)
    seen = 0
    for batch in batches:
        assert batch.x.shape[0] == 20 and batch.y.shape[2:] == (3, 1) and batch.reset_state
        targets = batch.y[batch.mask]
        assert targets.max() < 60
        assert not batch.mask[:5].any()
        # y[t, b, h] = x[t, b] + 1 + h for this ramp, where counted
        expect = (batch.x + 1 + torch.arange(3)).unsqueeze(-1)
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


def _encoded(offset: float, n: int, n_train: int) -> EncodedSeries:
    """Columns: target = offset + t, one past covariate = −(offset + t), one lead column."""
    t = offset + np.arange(n, dtype=np.float64)
    return EncodedSeries(np.stack([t, -t, np.zeros(n)], axis=1), 2, TimeSplit(n_train, n_train + 5, n))


def test_many_series_windows_stay_inside_one_series_training_part() -> None:
    """No window crosses from one series into the next, every counted target (target and past
    covariate channels) lies in its own series' training part, and every window is drawn once."""
    series = [_encoded(0.0, 60, 40), _encoded(1000.0, 80, 55)]
    batches = panel_windows(series, length=12, warmup=3, outputs=2, batch_size=7, seed=1)
    count = 0
    for batch in batches:
        x, y, mask = batch.x.numpy(), batch.y.numpy(), batch.mask.numpy()
        assert x.shape[2] == 3 and y.shape[2:] == (2, 2)
        first = x[0, :, 0]
        assert np.all(np.diff(x[:, :, 0], axis=0) == 1)  # contiguous rows of one series
        own_end = np.where(first >= 1000, 1000 + 55, 40)[None, :, None]
        assert np.all(y[..., 0][mask[..., 0]] < np.broadcast_to(own_end, y[..., 0].shape)[mask[..., 0]])
        np.testing.assert_array_equal(y[..., 1][mask[..., 1]], -y[..., 0][mask[..., 1]])
        count += x.shape[1]
    assert count == (40 - 12) + (55 - 12)


def test_validation_passes_count_the_target_of_each_series_only() -> None:
    """One pass per series; only the target channel of its validation part counts."""
    series = [_encoded(0.0, 60, 40), _encoded(1000.0, 80, 55)]
    passes = panel_validation(series, outputs=1)
    assert passes is not None
    batches = list(passes)
    assert len(batches) == 2
    for batch, (lo, hi) in zip(batches, [(40, 45), (1055, 1060)], strict=True):
        assert not batch.mask[..., 1].any()
        counted = batch.y[..., 0][batch.mask[..., 0]]
        assert counted.min() == lo and counted.max() == hi - 1
