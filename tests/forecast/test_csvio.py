"""CSV files: one series (wide) with covariates, many series (long), and the row-numbered errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnlab.errors import ConfigError, DataError
from rnnlab.forecast.csvio import read_csv_series, read_long_csv


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "series.csv"
    path.write_text(text, encoding="utf-8")
    return path


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
    with pytest.raises(DataError, match="does not exist"):
        read_csv_series(tmp_path / "nope.csv")


def test_covariates_are_read_beside_the_target(tmp_path: Path) -> None:
    """--covariates and --future-covariates columns become the series' past and future blocks."""
    path = _csv(tmp_path, "day,y,a,b,c\n1,1,10,100,0\n2,2,20,200,1\n3,3,30,300,0\n")
    s = read_csv_series(path, "y", covariates=["a", "b"], future_covariates=["c"], date_column="day")
    np.testing.assert_array_equal(s.past, [[10, 100], [20, 200], [30, 300]])
    np.testing.assert_array_equal(s.future[:, 0], [0, 1, 0])
    assert s.past_names == ["a", "b"] and s.future_names == ["c"]


def test_bad_covariate_values_get_row_numbered_errors(tmp_path: Path) -> None:
    """A covariate with missing or non-numeric cells gets the same line-numbered error as the target."""
    path = _csv(tmp_path, "y,a,c\n1,1,0\n2,,1\n3,x,0\n4,NA,1\n")
    with pytest.raises(DataError, match=r"covariate column 'a' has 2 missing value\(s\) at line\(s\) 3, 5"):
        read_csv_series(path, "y", covariates=["a"])
    path = _csv(tmp_path, "y,a,c\n1,1,0\n2,2,1\n3,3,soon\n")
    with pytest.raises(DataError, match=r"covariate column 'c' has 1 non-numeric.*line 4: 'soon'"):
        read_csv_series(path, "y", future_covariates=["c"])
    with pytest.raises(DataError, match=r"no column 'q'.*\['y', 'a', 'c'\]"):
        read_csv_series(path, "y", covariates=["q"])
    with pytest.raises(ConfigError, match="target"):
        read_csv_series(path, "y", covariates=["y"])


LONG = """store,day,sales,price
a,1,10,1.0
b,1,50,2.0
a,2,11,1.1
b,2,52,2.1
a,3,12,1.2
b,3,54,2.2
c,1,7,0.5
"""


def test_long_format_splits_series_in_order_of_appearance(tmp_path: Path) -> None:
    """One series per id, in order of first appearance, each keeping its rows' order (interleaved is fine)."""
    panel = read_long_csv(_csv(tmp_path, LONG), "sales", "store", covariates=["price"], date_column="day")
    assert [s.key for s in panel] == ["a", "b", "c"]
    np.testing.assert_array_equal(panel[1].values, [50, 52, 54])
    np.testing.assert_array_equal(panel[0].past[:, 0], [1.0, 1.1, 1.2])
    assert panel[2].times == ["1"] and panel[0].name == "series:sales[a]"


def test_long_format_errors(tmp_path: Path) -> None:
    """Long-format mistakes are named with their lines: an unknown series column, empty ids, a repeated
    time within one series (a wide file read as long), a bad target cell, target = series column."""
    with pytest.raises(DataError, match=r"no series column \(--series-column\) 'shop'.*\['store'"):
        read_long_csv(_csv(tmp_path, LONG), "sales", "shop")
    with pytest.raises(DataError, match=r"series column 'store' is empty at line\(s\) 3"):
        read_long_csv(_csv(tmp_path, LONG.replace("b,1,50", ",1,50")), "sales", "store")
    with pytest.raises(DataError, match=r"series 'a' has time '1' twice \(lines 2 and 4\)"):
        read_long_csv(_csv(tmp_path, LONG.replace("a,2,11", "a,1,11")), "sales", "store", date_column="day")
    with pytest.raises(DataError, match=r"target column 'sales' has 1 non-numeric.*line 5: 'n/a'"):
        read_long_csv(_csv(tmp_path, LONG.replace("b,2,52", "b,2,n/a")), "sales", "store")
    with pytest.raises(DataError, match="both 'store'"):
        read_long_csv(_csv(tmp_path, LONG), "store", "store")
