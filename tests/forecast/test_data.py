"""Series with covariates, time splits, the train-only normaliser, and per-series scaling."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import ConfigError, DataError
from rnnlab.forecast.data import Normaliser, Series, TimeSplit, series_from_columns
from rnnlab.forecast.datasets import sine_series
from rnnlab.forecast.encoding import SeriesScaler, input_matrix


def test_split_is_by_time_and_contiguous() -> None:
    """train < valid < test, contiguous, covering the series in order; fractions are checked."""
    s = TimeSplit.by_fraction(1000, 0.1, 0.2)
    assert (s.n_train, s.n_fit, s.n) == (700, 800, 1000)
    with pytest.raises(ConfigError):
        TimeSplit.by_fraction(1000, 0.1, 0.0)
    with pytest.raises(DataError):
        TimeSplit.by_fraction(12, 0.4, 0.4)


@pytest.mark.parametrize("difference", [False, True])
def test_normaliser_is_fitted_on_train_only(difference: bool) -> None:
    """Changing every value after the training part leaves μ and σ (and z on train) unchanged."""
    x = sine_series(200).values
    y = x.copy()
    y[150:] += 100.0
    a, b = Normaliser.fit(x, 150, difference=difference), Normaliser.fit(y, 150, difference=difference)
    assert (a.mean, a.std) == (b.mean, b.std)
    u = np.diff(x[:150]) if difference else x[:150]
    assert a.mean == pytest.approx(u.mean()) and a.std == pytest.approx(u.std())
    np.testing.assert_array_equal(a.encode(x)[:150], b.encode(y)[:150])


def test_difference_decode_inverts_encode() -> None:
    """Decoding the true differences after an origin gives back the true levels."""
    x = np.cumsum(np.random.default_rng(0).normal(size=50)) + 10
    norm = Normaliser.fit(x, 30, difference=True)
    z = norm.encode(x)
    origins = np.array([10, 20])
    paths = np.stack([z[o + 1 : o + 6] for o in origins])
    np.testing.assert_allclose(norm.decode(paths, x[origins]), np.stack([x[o + 1 : o + 6] for o in origins]))


def test_series_checks_covariate_shapes_and_names() -> None:
    """Covariates must be (N, one column per name); a covariate cannot be the target or named twice."""
    columns = {"y": np.arange(5.0), "a": np.ones(5), "b": np.zeros(5)}
    s = series_from_columns("t", columns, "y", past=["a"], future=["b"])
    assert s.past.shape == (5, 1) and s.future.shape == (5, 1) and s.has_covariates
    assert not s.without_covariates().has_covariates
    with pytest.raises(DataError, match=r"\(N=5, 2\)"):
        Series("t", np.arange(5.0), past=np.ones((5, 1)), past_names=["a", "b"])
    with pytest.raises(ConfigError, match="target"):
        series_from_columns("t", columns, "y", past=["y"])
    with pytest.raises(ConfigError, match="twice"):
        series_from_columns("t", columns, "y", past=["a"], future=["a"])
    with pytest.raises(DataError, match="available columns"):
        series_from_columns("t", columns, "y", past=["c"])


def test_covariates_are_scaled_on_the_training_part_only() -> None:
    """Each covariate gets its own mean/std from the training rows; later rows do not move them."""
    rng = np.random.default_rng(0)
    past = rng.normal(3.0, 2.0, size=(100, 1))
    changed = past.copy()
    changed[70:] += 50.0
    s1 = Series("a", rng.normal(size=100), past=past, past_names=["p"])
    s2 = Series("a", s1.values, past=changed, past_names=["p"])
    a, b = SeriesScaler.fit(s1, 70), SeriesScaler.fit(s2, 70)
    assert (a.past[0].mean, a.past[0].std) == (b.past[0].mean, b.past[0].std)
    assert a.past[0].mean == pytest.approx(past[:70].mean())


def test_input_matrix_layout() -> None:
    """X[t] = [z_t, p_t, f_{t+1}, f_{t+2}, s]; the last row repeats the last future value."""
    s = Series("a", np.arange(6.0), past=np.arange(6.0)[:, None] * 10, past_names=["p"],
               future=np.arange(6.0)[:, None] * 100, future_names=["f"])  # fmt: skip
    identity = SeriesScaler(Normaliser(0.0, 1.0), [Normaliser(0.0, 1.0)], [Normaliser(0.0, 1.0)])
    x = input_matrix(s, identity, leads=2, index=3)
    np.testing.assert_array_equal(x[2], [2, 20, 300, 400, 3])
    np.testing.assert_array_equal(x[5], [5, 50, 500, 500, 3])
    np.testing.assert_array_equal(input_matrix(s, identity, covariates=False), np.arange(6.0)[:, None])
