"""Series loading, CSV errors, time splits and the train-only normaliser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnlab.errors import ConfigError, DataError
from rnnlab.forecast.data import Normaliser, TimeSplit, load_series, read_csv_series, sine_series


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "series.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_sine_series_is_the_classic_one() -> None:
    """sine: 1000 values, sin(0.01 t) plus noise of standard deviation ≈ 0.2, reproducible by seed."""
    s = sine_series()
    assert s.values.shape == (1000,)
    residual = s.values - np.sin(0.01 * np.arange(1, 1001))
    assert 0.18 < residual.std() < 0.22
    np.testing.assert_array_equal(s.values, sine_series().values)


def test_csv_column_and_dates(tmp_path: Path) -> None:
    """The chosen column is read as floats, the date column as labels."""
    path = _csv(tmp_path, "day,a,b\n2020-01-01,1,10\n2020-01-02,2,20\n2020-01-03,3.5,30\n")
    s = read_csv_series(path, "b", date_column="day")
    np.testing.assert_array_equal(s.values, [10, 20, 30])
    assert s.times == ["2020-01-01", "2020-01-02", "2020-01-03"]


def test_missing_column_lists_available_columns(tmp_path: Path) -> None:
    """An unknown --column names the columns the file has."""
    path = _csv(tmp_path, "day,sales\n1,2\n")
    with pytest.raises(DataError, match=r"no column 'units'.*\['day', 'sales'\]"):
        read_csv_series(path, "units")


def test_ambiguous_column_asks_for_one(tmp_path: Path) -> None:
    """Without --column and with two numeric columns, the error asks for --column and lists them."""
    path = _csv(tmp_path, "a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match=r"--column.*\['a', 'b'\]"):
        read_csv_series(path)


def test_non_numeric_values_are_reported_with_lines(tmp_path: Path) -> None:
    """A non-numeric cell is an error naming its line (header = line 1) and its text."""
    path = _csv(tmp_path, "x\n1\n2\nabc\n4\n")
    with pytest.raises(DataError, match=r"non-numeric.*line 4: 'abc'"):
        read_csv_series(path, "x")


def test_missing_values_are_reported_with_row_numbers(tmp_path: Path) -> None:
    """Empty / NA cells are an error listing every line, not silently dropped or filled."""
    path = _csv(tmp_path, "x,y\n1,1\n,2\n3,3\nNA,4\n5,5\n")
    with pytest.raises(DataError, match=r"2 missing value\(s\) at line\(s\) 3, 5"):
        read_csv_series(path, "x")


@pytest.mark.parametrize("text", ["", "x\n", "\n\n"])
def test_empty_file_is_an_error(tmp_path: Path, text: str) -> None:
    """An empty file, or a header without rows, says so."""
    with pytest.raises(DataError, match=r"empty|no rows"):
        read_csv_series(_csv(tmp_path, text), "x")


def test_missing_file_and_unknown_builtin(tmp_path: Path) -> None:
    """A path that does not exist names the built-in series as the alternative."""
    with pytest.raises(DataError, match="sine"):
        load_series(tmp_path / "nope.csv")


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
